//! What the account holds of the subnets, security groups, instance types and key pairs
//! a plan's launch templates name, asked once per planner run. Subnets and groups are
//! asked by filter (an id the account lacks is then simply not listed, where asking by
//! id would fail the whole call), 200 values a filter; without `MaxResults` EC2 answers
//! every match at once, so a `nextToken` would mean a partial answer and is refused.
//! Instance types and key pairs are asked one by one (a plan names a few), their
//! NotFound code read as "the account lacks it".

use aws_smithy_xml::decode::ScopedDecoder;

use super::{unreadable, xml, Ec2, Query};
use crate::error::AwsCallError;
use crate::plan::launch_template::{AccountQuestions, Ec2Account};

/// Values one filter takes.
const VALUES_PER_FILTER: usize = 200;

impl Ec2 {
    /// The answers to `questions`.
    pub async fn account(&self, questions: &AccountQuestions) -> Result<Ec2Account, AwsCallError> {
        let mut account = Ec2Account::default();
        let subnets: Vec<String> = questions.subnets.iter().cloned().collect();
        for chunk in subnets.chunks(VALUES_PER_FILTER) {
            let found = self
                .filtered(
                    "DescribeSubnets",
                    "subnet-id",
                    chunk,
                    "subnetSet",
                    "subnetId",
                )
                .await?;
            account.subnets.extend(found);
        }
        let groups: Vec<String> = questions.security_groups.iter().cloned().collect();
        for chunk in groups.chunks(VALUES_PER_FILTER) {
            let found = self
                .filtered(
                    "DescribeSecurityGroups",
                    "group-id",
                    chunk,
                    "securityGroupInfo",
                    "groupId",
                )
                .await?;
            account.security_groups.extend(found);
        }
        for instance_type in &questions.instance_types {
            let query = Query::new("DescribeInstanceTypes").param("InstanceType.1", instance_type);
            if self.lists(query, "InvalidInstanceType").await? {
                account.instance_types.insert(instance_type.clone());
            }
        }
        for key in &questions.key_pairs {
            let query = Query::new("DescribeKeyPairs").param("KeyName.1", key);
            if self.lists(query, "InvalidKeyPair.NotFound").await? {
                account.key_pairs.insert(key.clone());
            }
        }
        Ok(account)
    }

    /// `(id, vpc)` of each item of `set` whose `filter` is one of `values`.
    async fn filtered(
        &self,
        action: &'static str,
        filter: &str,
        values: &[String],
        set: &str,
        id_field: &'static str,
    ) -> Result<Vec<(String, String)>, AwsCallError> {
        let query = Query::new(action)
            .param("Filter.1.Name", filter)
            .list("Filter.1.Value", values);
        let answer = self.call(query).await?;
        let read = |item: &mut ScopedDecoder<'_, '_>| id_and_vpc(item, id_field);
        let (found, next) = xml::items(&answer, set, read).map_err(|e| unreadable(action, e))?;
        if next.is_some() {
            return Err(unreadable(action, "a partial answer (nextToken)".into()));
        }
        Ok(found)
    }

    /// Whether `query` names something the account has: its answer lists it, or fails
    /// with `not_found`.
    async fn lists(&self, query: Query, not_found: &str) -> Result<bool, AwsCallError> {
        match self.call(query).await {
            Ok(_) => Ok(true),
            Err(error) if error.kind.name() == not_found => Ok(false),
            Err(error) => Err(error),
        }
    }
}

fn id_and_vpc(
    item: &mut ScopedDecoder<'_, '_>,
    id_field: &str,
) -> Result<(String, String), String> {
    let (mut id, mut vpc) = (None, None);
    while let Some(mut field) = item.next_tag() {
        let name = field.start_el().local().to_owned();
        if name == id_field {
            id = Some(xml::text(&mut field)?);
        } else if name == "vpcId" {
            vpc = Some(xml::text(&mut field)?);
        }
    }
    match (id, vpc) {
        (Some(id), Some(vpc)) => Ok((id, vpc)),
        _ => Err(format!("an item without {id_field} or vpcId")),
    }
}
