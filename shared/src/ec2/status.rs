//! The status checks of launched copies (DescribeInstanceStatus), in the launcher's
//! words: EC2's `running`, `ok` and `impaired` become a [`CheckStatus`].

use aws_smithy_xml::decode::ScopedDecoder;

use super::{unreadable, xml, Ec2, Query};
use crate::cutover::CheckStatus;
use crate::error::AwsCallError;

/// Instance ids one DescribeInstanceStatus takes.
const IDS_PER_CALL: usize = 100;

/// One instance's state and status checks, in EC2's words and the launcher's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance_id: String,
    pub status: CheckStatus,
}

impl Ec2 {
    /// The status checks of `instance_ids`, 100 a call; an instance EC2 does not list
    /// is left out.
    pub async fn instance_statuses(
        &self,
        instance_ids: &[String],
    ) -> Result<Vec<InstanceStatus>, AwsCallError> {
        const ACTION: &str = "DescribeInstanceStatus";
        let mut statuses = Vec::with_capacity(instance_ids.len());
        for chunk in instance_ids.chunks(IDS_PER_CALL) {
            let query = Query::new(ACTION)
                .param("IncludeAllInstances", true)
                .list("InstanceId", chunk);
            let answer = self.call(query).await?;
            statuses.extend(parse_statuses(&answer).map_err(|e| unreadable(ACTION, e))?);
        }
        Ok(statuses)
    }
}

/// The `instanceStatusSet` of a DescribeInstanceStatus answer.
fn parse_statuses(xml: &str) -> Result<Vec<InstanceStatus>, String> {
    xml::items(xml, "instanceStatusSet", read_status).map(|(statuses, _)| statuses)
}

/// One `item`: the instance's id, its state's name and its two checks' statuses.
fn read_status(item: &mut ScopedDecoder<'_, '_>) -> Result<InstanceStatus, String> {
    let (mut id, mut state, mut system, mut instance) = (None, None, None, None);
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        match name.as_str() {
            "instanceId" => id = Some(xml::text(&mut field)?),
            "instanceState" => state = xml::child_text(&mut field, "name")?,
            "systemStatus" => system = xml::child_text(&mut field, "status")?,
            "instanceStatus" => instance = xml::child_text(&mut field, "status")?,
            _ => {}
        }
    }
    let instance_id = id.ok_or("an instanceStatusSet item without instanceId")?;
    let status = check_status(state.as_deref(), system.as_deref(), instance.as_deref());
    Ok(InstanceStatus {
        instance_id,
        status,
    })
}

/// EC2's words for an instance as the launcher's: running with both checks `ok` passes;
/// a check `impaired`, or an instance stopping or gone, fails; anything else (pending,
/// `initializing`, `insufficient-data`) is still to come.
fn check_status(state: Option<&str>, system: Option<&str>, instance: Option<&str>) -> CheckStatus {
    match state {
        Some("running") => {}
        Some("pending") | None => return CheckStatus::Pending,
        Some(other) => return CheckStatus::Failed(format!("the instance is {other}")),
    }
    for (check, status) in [("system", system), ("instance", instance)] {
        if status == Some("impaired") {
            return CheckStatus::Failed(format!("its {check} status check is impaired"));
        }
    }
    if system == Some("ok") && instance == Some("ok") {
        CheckStatus::Passed
    } else {
        CheckStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstanceStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>r-1</requestId>
  <instanceStatusSet>
    <item>
      <instanceId>i-0aaaaaaaaaaaaaaa1</instanceId>
      <availabilityZone>us-east-1a</availabilityZone>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>ok</status><details><item><name>reachability</name><status>passed</status></item></details></systemStatus>
      <instanceStatus><status>ok</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0bbbbbbbbbbbbbbb2</instanceId>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>ok</status></systemStatus>
      <instanceStatus><status>impaired</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0ccccccccccccccc3</instanceId>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus><status>initializing</status></systemStatus>
      <instanceStatus><status>initializing</status></instanceStatus>
    </item>
    <item>
      <instanceId>i-0ddddddddddddddd4</instanceId>
      <instanceState><code>48</code><name>terminated</name></instanceState>
      <systemStatus><status>not-applicable</status></systemStatus>
      <instanceStatus><status>not-applicable</status></instanceStatus>
    </item>
  </instanceStatusSet>
</DescribeInstanceStatusResponse>"#;

    #[test]
    fn status_checks_read_in_the_launchers_words() {
        let statuses = parse_statuses(ANSWER).expect("parses");
        let read: Vec<(&str, &CheckStatus)> = statuses
            .iter()
            .map(|s| (s.instance_id.as_str(), &s.status))
            .collect();
        assert_eq!(
            read,
            [
                ("i-0aaaaaaaaaaaaaaa1", &CheckStatus::Passed),
                (
                    "i-0bbbbbbbbbbbbbbb2",
                    &CheckStatus::Failed("its instance status check is impaired".into())
                ),
                ("i-0ccccccccccccccc3", &CheckStatus::Pending),
                (
                    "i-0ddddddddddddddd4",
                    &CheckStatus::Failed("the instance is terminated".into())
                ),
            ]
        );
        let nameless = ANSWER.replace("<instanceId>i-0aaaaaaaaaaaaaaa1</instanceId>", "");
        assert!(parse_statuses(&nameless)
            .unwrap_err()
            .contains("without instanceId"));
        assert!(parse_statuses("<not xml").is_err());
    }
}
