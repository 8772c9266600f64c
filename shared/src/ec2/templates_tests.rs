//! Reading a launch template version and writing a new one over it.

use super::*;
use std::collections::BTreeMap;

const VERSIONS: &str = r#"<DescribeLaunchTemplateVersionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r</requestId>
  <launchTemplateVersionSet>
    <item>
      <launchTemplateId>lt-0123456789abcdef0</launchTemplateId>
      <versionNumber>3</versionNumber>
      <defaultVersion>true</defaultVersion>
      <launchTemplateData>
        <instanceType>t3.medium</instanceType>
        <iamInstanceProfile><name>ssm</name></iamInstanceProfile>
        <networkInterfaceSet>
          <item>
            <deviceIndex>0</deviceIndex>
            <subnetId>subnet-a</subnetId>
            <groupSet><groupId>sg-a</groupId><groupId>sg-b</groupId></groupSet>
            <associatePublicIpAddress>false</associatePublicIpAddress>
            <deleteOnTermination>true</deleteOnTermination>
          </item>
        </networkInterfaceSet>
        <tagSpecificationSet>
          <item><resourceType>instance</resourceType><tagSet><item><key>Name</key><value>web-01</value></item></tagSet></item>
          <item><resourceType>volume</resourceType><tagSet><item><key>team</key><value>old</value></item></tagSet></item>
        </tagSpecificationSet>
      </launchTemplateData>
    </item>
  </launchTemplateVersionSet>
</DescribeLaunchTemplateVersionsResponse>"#;

fn held() -> HeldTemplate {
    let (mut versions, _) = xml::items(VERSIONS, "launchTemplateVersionSet", read_version).unwrap();
    HeldTemplate {
        template_id: "lt-0123456789abcdef0".into(),
        ..versions.pop().unwrap()
    }
}

#[test]
fn a_version_is_read_in_the_plans_words() {
    let held = held();
    assert_eq!(held.version, 3);
    assert_eq!(
        held.settings,
        TemplateSettings {
            instance_type: Some("t3.medium".into()),
            subnet: Some("subnet-a".into()),
            security_groups: vec!["sg-a".into(), "sg-b".into()],
            key_name: None,
            instance_profile: Some("ssm".into()),
            public_ip: Some(false),
            tags: BTreeMap::from([("Name".to_owned(), "web-01".to_owned())]),
        }
    );
    let bad = VERSIONS.replace("<versionNumber>3<", "<versionNumber>three<");
    assert!(xml::items(&bad, "launchTemplateVersionSet", read_version)
        .unwrap_err()
        .contains("`three`"));
}

#[test]
fn a_new_version_lays_the_plan_over_what_it_is_made_from() {
    let wanted = TemplateSettings {
        instance_type: Some("m5.large".into()),
        subnet: Some("subnet-b".into()),
        tags: BTreeMap::from([("team".to_owned(), "web".to_owned())]),
        ..TemplateSettings::default()
    };
    let body = version_query(&held(), &wanted, "sms-autopilot cutover", "tok-1").body;
    let params: Vec<&str> = body.split('&').collect();
    for expected in [
        "Action=CreateLaunchTemplateVersion",
        "LaunchTemplateId=lt-0123456789abcdef0",
        "SourceVersion=3",
        "VersionDescription=sms-autopilot+cutover",
        "ClientToken=tok-1",
        "LaunchTemplateData.InstanceType=m5.large",
        "LaunchTemplateData.NetworkInterface.1.DeviceIndex=0",
        "LaunchTemplateData.NetworkInterface.1.SubnetId=subnet-b",
        "LaunchTemplateData.NetworkInterface.1.AssociatePublicIpAddress=false",
        "LaunchTemplateData.NetworkInterface.1.DeleteOnTermination=true",
        "LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1=sg-a",
        "LaunchTemplateData.NetworkInterface.1.SecurityGroupId.2=sg-b",
        "LaunchTemplateData.TagSpecification.1.ResourceType=instance",
        "LaunchTemplateData.TagSpecification.1.Tag.1.Key=Name",
        "LaunchTemplateData.TagSpecification.1.Tag.2.Key=team",
        "LaunchTemplateData.TagSpecification.1.Tag.2.Value=web",
        "LaunchTemplateData.TagSpecification.2.ResourceType=volume",
        "LaunchTemplateData.TagSpecification.2.Tag.1.Value=old",
    ] {
        assert!(params.contains(&expected), "{expected} missing from {body}");
    }
    assert!(
        !body.contains("KeyName"),
        "what the plan leaves alone is not sent"
    );
    let only_type = TemplateSettings {
        instance_type: Some("m5.large".into()),
        ..TemplateSettings::default()
    };
    let body = version_query(&held(), &only_type, "d", "t").body;
    assert!(!body.contains("NetworkInterface") && !body.contains("TagSpecification"));
}

#[test]
fn a_created_versions_number_is_read() {
    let answer = "<CreateLaunchTemplateVersionResponse><requestId>r</requestId><launchTemplateVersion><launchTemplateId>lt-1</launchTemplateId><versionNumber>4</versionNumber></launchTemplateVersion></CreateLaunchTemplateVersionResponse>";
    let mut document = aws_smithy_xml::decode::Document::new(answer);
    assert_eq!(read_created(&mut document), Ok(Some(4)));
    let mut empty = aws_smithy_xml::decode::Document::new("<R/>");
    assert_eq!(read_created(&mut empty), Ok(None));
}
