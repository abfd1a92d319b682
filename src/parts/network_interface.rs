//! Network interfaces in the user's VPC, read-only: who sits behind a
//! security group (Lambda functions, EC2 instances, anything else with an
//! interface), so a composite can say who loses its private path to a
//! service when the endpoints that admit that group are destroyed.

use std::collections::BTreeMap;
use std::fmt;

use super::{ec2_filter, PartResult};
use crate::aws::call_failed;

const PART: &str = "network interface";

/// Lambda names the interfaces it makes in a VPC
/// `AWS Lambda VPC ENI-<function name>-<uuid>`.
const LAMBDA_DESCRIPTION: &str = "AWS Lambda VPC ENI-";

/// An interface as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub id: String,
    /// AWS's InterfaceType: `interface`, `lambda`, `vpc_endpoint`, ...
    pub interface_type: String,
    pub description: String,
    /// The instance it is attached to, if any.
    pub instance_id: Option<String>,
    pub group_ids: Vec<String>,
}

/// Who an interface serves, as the user knows it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum User {
    Function(String),
    Instance(String),
    /// Anything else (a container task, a load balancer, a hand-made
    /// interface): its own id is all there is to name it by.
    Other(String),
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            User::Function(name) => write!(f, "Lambda function {name}"),
            User::Instance(id) => write!(f, "EC2 instance {id}"),
            User::Other(id) => write!(f, "network interface {id}"),
        }
    }
}

impl Interface {
    /// The Lambda function this interface was made for, from the name
    /// Lambda writes in its description.
    pub fn lambda_function(&self) -> Option<String> {
        let rest = self.description.strip_prefix(LAMBDA_DESCRIPTION)?;
        Some(without_uuid_suffix(rest).to_string()).filter(|n| !n.is_empty())
    }

    /// An endpoint's own interface (it carries the endpoint's groups; it is
    /// not a client of them).
    pub fn is_endpoint(&self) -> bool {
        self.interface_type == "vpc_endpoint"
    }

    pub fn user(&self) -> User {
        if let Some(name) = self.lambda_function() {
            return User::Function(name);
        }
        match &self.instance_id {
            Some(i) => User::Instance(i.clone()),
            None => User::Other(self.id.clone()),
        }
    }
}

/// `orders-worker-6f1c...-...` -> `orders-worker`: the trailing
/// `-<uuid>` (8-4-4-4-12 hex digits) Lambda appends, when there is one.
fn without_uuid_suffix(s: &str) -> &str {
    const UUID_LEN: usize = 36;
    if s.len() <= UUID_LEN || !s.is_char_boundary(s.len() - UUID_LEN - 1) {
        return s;
    }
    let (head, tail) = s.split_at(s.len() - UUID_LEN - 1);
    let groups: Vec<&str> = tail[1..].split('-').collect();
    let uuid = tail.starts_with('-')
        && groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.chars().all(|c| c.is_ascii_hexdigit()));
    if uuid {
        head
    } else {
        s
    }
}

/// The interfaces in `vpc_id` that carry any of `group_ids`; no call when
/// there is no group. One DescribeNetworkInterfaces per group, sent
/// together: AWS ORs the values of one `group-id` filter, but moto treats
/// several values as a set to compare, so one value per call is the form
/// both answer alike. An interface in several of the groups is listed once.
pub async fn find_by_groups(ec2: &aws_sdk_ec2::Client, vpc_id: &str, group_ids: &[String]) -> PartResult<Vec<Interface>> {
    let calls = group_ids.iter().map(|g| in_group(ec2, vpc_id, g));
    let mut found: BTreeMap<String, Interface> = BTreeMap::new();
    for interfaces in futures::future::try_join_all(calls).await? {
        found.extend(interfaces.into_iter().map(|i| (i.id.clone(), i)));
    }
    Ok(found.into_values().collect())
}

/// The network interfaces that carry group `group_id`, in any VPC: what
/// holds a group AWS refuses to delete.
pub async fn holding_group(ec2: &aws_sdk_ec2::Client, group_id: &str) -> PartResult<Vec<Interface>> {
    described(ec2, vec![ec2_filter("group-id", [group_id])]).await
}

async fn in_group(ec2: &aws_sdk_ec2::Client, vpc_id: &str, group_id: &str) -> PartResult<Vec<Interface>> {
    described(ec2, vec![ec2_filter("vpc-id", [vpc_id]), ec2_filter("group-id", [group_id])]).await
}

/// DescribeNetworkInterfaces with `filters`, every page.
async fn described(ec2: &aws_sdk_ec2::Client, filters: Vec<aws_sdk_ec2::types::Filter>) -> PartResult<Vec<Interface>> {
    let found = ec2
        .describe_network_interfaces()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeNetworkInterfaces", &e))?;
    Ok(found.iter().filter_map(from_ec2).collect())
}

fn from_ec2(n: &aws_sdk_ec2::types::NetworkInterface) -> Option<Interface> {
    Some(Interface {
        id: n.network_interface_id()?.to_string(),
        interface_type: n.interface_type().map(|t| t.as_str().to_string()).unwrap_or_default(),
        description: n.description().unwrap_or_default().to_string(),
        instance_id: n.attachment().and_then(|a| a.instance_id()).map(str::to_string),
        group_ids: n.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eni(kind: &str, description: &str, instance: Option<&str>) -> Interface {
        Interface {
            id: "eni-0123456789abcdef0".into(),
            interface_type: kind.into(),
            description: description.into(),
            instance_id: instance.map(str::to_string),
            group_ids: vec!["sg-1".into()],
        }
    }

    #[test]
    fn lambda_interfaces_name_their_function() {
        let i = eni("lambda", "AWS Lambda VPC ENI-orders-worker-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b", None);
        assert_eq!(i.user(), User::Function("orders-worker".into()));
        assert_eq!(i.user().to_string(), "Lambda function orders-worker");
        // No uuid after the name: the whole rest is the name.
        assert_eq!(eni("lambda", "AWS Lambda VPC ENI-billing", None).lambda_function().as_deref(), Some("billing"));
        // Hyphenated names keep their hyphens; a non-uuid tail stays.
        assert_eq!(eni("lambda", "AWS Lambda VPC ENI-a-b-c-d-e-f", None).lambda_function().as_deref(), Some("a-b-c-d-e-f"));
    }

    #[test]
    fn instances_and_other_interfaces() {
        assert_eq!(eni("interface", "Primary network interface", Some("i-0abc")).user(), User::Instance("i-0abc".into()));
        assert_eq!(eni("interface", "", None).user(), User::Other("eni-0123456789abcdef0".into()));
        // A Lambda interface without Lambda's description is named by its id.
        assert_eq!(eni("lambda", "", None).user(), User::Other("eni-0123456789abcdef0".into()));
        assert!(eni("vpc_endpoint", "VPC Endpoint Interface vpce-1", None).is_endpoint());
    }

    #[test]
    fn uuid_suffix_only_when_it_is_one() {
        assert_eq!(without_uuid_suffix("f-00000000-0000-0000-0000-000000000000"), "f");
        assert_eq!(without_uuid_suffix("f-00000000-0000-0000-0000-00000000000z"), "f-00000000-0000-0000-0000-00000000000z");
        assert_eq!(without_uuid_suffix("short"), "short");
    }
}
