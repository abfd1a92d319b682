//! Network ACLs of a VPC, read-only: the reachability data source checks
//! them both ways on both sides of a path. Composites never change them.

use super::{ec2_filter, PartResult};
use crate::aws::call_failed;

const PART: &str = "network ACL";

/// One entry of an ACL, as AWS evaluates it: in ascending `rule_number`,
/// the first entry matching the traffic decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub rule_number: i32,
    /// Outbound (true) or inbound.
    pub egress: bool,
    /// AWS's protocol number as a string: "-1" (all), "6" (TCP), "17"...
    pub protocol: String,
    /// Inclusive port range; None for protocols without ports (all ports).
    pub ports: Option<(i32, i32)>,
    /// IPv4 CIDR (IPv6 entries are left out: the paths checked are IPv4).
    pub cidr: String,
    pub allow: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    pub id: String,
    /// The VPC's default ACL applies to every subnet not associated with
    /// another one.
    pub is_default: bool,
    pub subnet_ids: Vec<String>,
    pub entries: Vec<Entry>,
}

/// DescribeNetworkAcls of `vpc_id`, in one call.
pub async fn in_vpc(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Vec<Acl>> {
    let found = ec2
        .describe_network_acls()
        .filters(ec2_filter("vpc-id", [vpc_id]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeNetworkAcls", &e))?;
    Ok(found.iter().filter_map(acl_from_ec2).collect())
}

fn acl_from_ec2(a: &aws_sdk_ec2::types::NetworkAcl) -> Option<Acl> {
    let entries = a
        .entries()
        .iter()
        .filter_map(|e| {
            Some(Entry {
                rule_number: e.rule_number()?,
                egress: e.egress().unwrap_or(false),
                protocol: e.protocol().unwrap_or("-1").to_string(),
                ports: e.port_range().map(|r| (r.from().unwrap_or(0), r.to().unwrap_or(65535))),
                cidr: e.cidr_block()?.to_string(),
                allow: e.rule_action().is_some_and(|r| r.as_str() == "allow"),
            })
        })
        .collect();
    Some(Acl {
        id: a.network_acl_id()?.to_string(),
        is_default: a.is_default().unwrap_or(false),
        subnet_ids: a.associations().iter().filter_map(|s| s.subnet_id().map(str::to_string)).collect(),
        entries,
    })
}
