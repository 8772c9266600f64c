"""EC2 probes through boto3, a real AWS client, for the EC2 stand-in's tests.

Runs the calls a migration backend makes on EC2 against one endpoint and prints, as
JSON, what each came to: its error code when refused, a few values when not, and for a
strict endpoint every XML element that the official EC2 model (botocore's) has no
member for. The same probes run against the stand-in and against moto's EC2, so the
test can compare the two implementations call by call.

Usage: ec2_probe.py ENDPOINT IDS_JSON [--strict]
IDS_JSON names what exists: {"subnet", "group", "template", "instance", "key"} and what
does not: {"missing_subnet", "missing_group", "missing_instance", "missing_template"};
`moto` instead has the probe make them in moto first. Results name those ids by their
keys (`<subnet>`), so two implementations' reports compare as they stand.
"""

import json
import sys
import xml.etree.ElementTree as ElementTree

import boto3
import botocore.exceptions

ENDPOINT = sys.argv[1]
STRICT = "--strict" in sys.argv
EC2 = boto3.client(
    "ec2",
    endpoint_url=ENDPOINT,
    region_name="us-east-1",
    aws_access_key_id="AKIDLOCAL",
    aws_secret_access_key="local-secret",
)
UNKNOWN = []


def made_in_moto():
    """What the stand-in's account holds, made in moto's EC2."""
    vpc = EC2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = EC2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = EC2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    EC2.create_key_pair(KeyName="ops")
    template = EC2.create_launch_template(
        LaunchTemplateName="mgn-web",
        LaunchTemplateData={
            "InstanceType": "t3.medium",
            "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": subnet, "Groups": [group]}],
        },
    )["LaunchTemplate"]["LaunchTemplateId"]
    image = EC2.describe_images()["Images"][0]["ImageId"]
    instance = EC2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.medium", SubnetId=subnet
    )["Instances"][0]["InstanceId"]
    return {
        "vpc": vpc, "subnet": subnet, "group": group, "template": template, "instance": instance,
        "key": "ops", "missing_subnet": "subnet-0123456789abcdef9",
        "missing_group": "sg-0123456789abcdef9", "missing_instance": "i-0123456789abcdef9",
        "missing_template": "lt-0123456789abcdef9",
    }


IDS = made_in_moto() if sys.argv[2] == "moto" else json.loads(sys.argv[2])


def named(value):
    """`value` with the ids it holds replaced by their names in IDS."""
    if isinstance(value, str):
        for key, known in IDS.items():
            if value == known:
                return f"<{key}>"
        return value
    if isinstance(value, (list, tuple)):
        return [named(v) for v in value]
    return value


def unknown_elements(shape, element, path):
    """Elements under `element` the model's `shape` does not name."""
    if shape.type_name == "structure":
        by_name = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        for child in element:
            tag = child.tag.split("}")[-1]
            member = by_name.get(tag)
            if member is None:
                UNKNOWN.append(f"{path}/{tag}")
            else:
                unknown_elements(member, child, f"{path}/{tag}")
    elif shape.type_name == "list":
        # A list's members are `item`s unless the model names them (`groupId`).
        expected = shape.member.serialization.get("name", "item")
        for child in element:
            if child.tag.split("}")[-1] != expected:
                UNKNOWN.append(f"{path}/{child.tag}")
            unknown_elements(shape.member, child, f"{path}/{expected}")


def check_shape(http_response, operation_name, **_):
    model = EC2.meta.service_model.operation_model(operation_name)
    if http_response.status_code != 200 or model.output_shape is None:
        return
    root = ElementTree.fromstring(http_response.content)
    skipped = [c for c in root if c.tag.split("}")[-1] != "requestId"]
    holder = ElementTree.Element("root")
    holder.extend(skipped)
    unknown_elements(model.output_shape, holder, operation_name)


if STRICT:
    EC2.meta.events.register(
        "after-call.ec2.*",
        lambda http_response, model, **kw: check_shape(http_response, model.name),
    )


def probe(name, call):
    try:
        result = call()
        return {"name": name, "code": None, "result": named(result)}
    except botocore.exceptions.ClientError as error:
        return {"name": name, "code": error.response["Error"]["Code"], "result": None}


def template_data(version):
    return version["LaunchTemplateData"]


def probes():
    t = IDS["template"]
    yield probe("versions", lambda: [
        (v["VersionNumber"], v["DefaultVersion"], template_data(v).get("InstanceType"))
        for v in EC2.describe_launch_template_versions(
            LaunchTemplateId=t, Versions=["$Default"])["LaunchTemplateVersions"]])
    yield probe("new version", lambda: EC2.create_launch_template_version(
        LaunchTemplateId=t, SourceVersion="1", VersionDescription="planned",
        LaunchTemplateData={
            "InstanceType": "t3.large",
            "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": IDS["subnet"], "Groups": [IDS["group"]]}],
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "app", "Value": "shop"}]}],
        })["LaunchTemplateVersion"]["VersionNumber"])
    yield probe("set default", lambda: EC2.modify_launch_template(
        LaunchTemplateId=t, DefaultVersion="2")["LaunchTemplate"]["DefaultVersionNumber"])
    yield probe("default now", lambda: [
        (v["VersionNumber"], template_data(v).get("InstanceType"),
         template_data(v)["NetworkInterfaces"][0].get("Groups"))
        for v in EC2.describe_launch_template_versions(
            LaunchTemplateId=t, Versions=["$Default"])["LaunchTemplateVersions"]])
    yield probe("latest", lambda: [v["VersionNumber"] for v in EC2.describe_launch_template_versions(
        LaunchTemplateId=t, Versions=["$Latest"])["LaunchTemplateVersions"]])
    yield probe("templates", lambda: [x["LatestVersionNumber"] for x in EC2.describe_launch_templates(
        LaunchTemplateIds=[t])["LaunchTemplates"]])
    yield probe("subnet", lambda: [(s["SubnetId"], s["VpcId"]) for s in EC2.describe_subnets(
        SubnetIds=[IDS["subnet"]])["Subnets"]])
    yield probe("group", lambda: [(g["GroupId"], g["VpcId"]) for g in EC2.describe_security_groups(
        GroupIds=[IDS["group"]])["SecurityGroups"]])
    yield probe("type", lambda: [(i["InstanceType"], i["VCpuInfo"]["DefaultVCpus"]) for i in
        EC2.describe_instance_types(InstanceTypes=["t3.large"])["InstanceTypes"]])
    yield probe("key", lambda: [k["KeyName"] for k in EC2.describe_key_pairs(
        KeyNames=[IDS["key"]])["KeyPairs"]])
    yield probe("instance", lambda: [
        (i["InstanceId"], i["State"]["Name"], i["SubnetId"]) for r in EC2.describe_instances(
            InstanceIds=[IDS["instance"]])["Reservations"] for i in r["Instances"]])
    yield probe("status", lambda: [
        (s["InstanceId"], s["InstanceState"]["Name"], s["InstanceStatus"]["Status"] in
         ("initializing", "ok", "impaired"))
        for s in EC2.describe_instance_status(
            InstanceIds=[IDS["instance"]], IncludeAllInstances=True)["InstanceStatuses"]])
    # Refusals: the codes EC2 answers with.
    yield probe("missing subnet", lambda: EC2.describe_subnets(SubnetIds=[IDS["missing_subnet"]]))
    yield probe("missing group", lambda: EC2.describe_security_groups(GroupIds=[IDS["missing_group"]]))
    yield probe("missing type", lambda: EC2.describe_instance_types(InstanceTypes=["x9.nothing"]))
    yield probe("missing key", lambda: EC2.describe_key_pairs(KeyNames=["no-such-key"]))
    yield probe("missing instance", lambda: EC2.describe_instances(InstanceIds=[IDS["missing_instance"]]))
    yield probe("missing version", lambda: EC2.describe_launch_template_versions(
        LaunchTemplateId=t, Versions=["99"]))
    yield probe("missing template", lambda: EC2.describe_launch_template_versions(
        LaunchTemplateId=IDS["missing_template"]))
    yield probe("default to missing version", lambda: EC2.modify_launch_template(
        LaunchTemplateId=t, DefaultVersion="99"))
    yield probe("dry run", lambda: EC2.describe_subnets(DryRun=True))


report = {"probes": list(probes()), "unknown_elements": UNKNOWN}
print(json.dumps(report))
