"""Makes, in moto's EC2, an account the core's EC2 client is tried on: two VPCs with a
subnet and a security group each, a key pair and a launch template in the first
network. Prints the ids as JSON.

Usage: ec2_moto_account.py ENDPOINT
"""

import json
import sys

import boto3

EC2 = boto3.client(
    "ec2",
    endpoint_url=sys.argv[1],
    region_name="us-east-1",
    aws_access_key_id="AKIDLOCAL",
    aws_secret_access_key="local-secret",
)


def network(cidr):
    vpc = EC2.create_vpc(CidrBlock=f"{cidr}.0.0/16")["Vpc"]["VpcId"]
    subnet = EC2.create_subnet(VpcId=vpc, CidrBlock=f"{cidr}.1.0/24")["Subnet"]["SubnetId"]
    group = EC2.create_security_group(GroupName=f"app-{cidr}", Description="app", VpcId=vpc)
    return vpc, subnet, group["GroupId"]


vpc_a, subnet_a, group_a = network("10.1")
vpc_b, subnet_b, group_b = network("10.2")
EC2.create_key_pair(KeyName="ops")
template = EC2.create_launch_template(
    LaunchTemplateName="mgn-web",
    LaunchTemplateData={
        "InstanceType": "t3.medium",
        "NetworkInterfaces": [{"DeviceIndex": 0, "SubnetId": subnet_a, "Groups": [group_a]}],
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}]}
        ],
    },
)["LaunchTemplate"]["LaunchTemplateId"]
print(json.dumps({
    "vpc_a": vpc_a, "subnet_a": subnet_a, "group_a": group_a,
    "vpc_b": vpc_b, "subnet_b": subnet_b, "group_b": group_b,
    "template": template,
}))
