//! Facts about the user's network that composites check at plan time:
//! which AZ and VPC each subnet is in, whether the VPC resolves private
//! DNS. Read-only: composites never create or change these.

use aws_sdk_ec2::types::VpcAttributeName;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{ec2_filter, PartResult};
use crate::aws::call_failed;

const PART: &str = "network";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    /// Its IPv4 CIDR block.
    pub cidr_block: String,
}

/// DescribeSubnets for `ids` in one call. Subnets that do not exist are
/// left out of the answer (the caller names them), not an error.
pub async fn subnets(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Subnet>> {
    // No ids, no call: an empty filter would not mean "none".
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // A `subnet-id` filter rather than SubnetIds: SubnetIds fails the whole
    // call (InvalidSubnetID.NotFound) on one unknown id, a filter just
    // leaves it out.
    describe_subnets(ec2, ec2_filter("subnet-id", ids.iter().map(String::as_str))).await
}

/// Every subnet of `vpc_id`, in one call.
pub async fn subnets_in_vpc(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Vec<Subnet>> {
    describe_subnets(ec2, ec2_filter("vpc-id", [vpc_id])).await
}

async fn describe_subnets(ec2: &aws_sdk_ec2::Client, filter: aws_sdk_ec2::types::Filter) -> PartResult<Vec<Subnet>> {
    let found = ec2
        .describe_subnets()
        .filters(filter)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeSubnets", &e))?;
    Ok(found
        .iter()
        .filter_map(|s| {
            Some(Subnet {
                id: s.subnet_id()?.to_string(),
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                cidr_block: s.cidr_block().unwrap_or_default().to_string(),
            })
        })
        .collect())
}

/// Route table ids of `ids` that exist, with their VPC: (id, vpc_id).
pub async fn route_tables(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Filter, not RouteTableIds, for the same reason as in `subnets`.
    let found = ec2
        .describe_route_tables()
        .filters(ec2_filter("route-table-id", ids.iter().map(String::as_str)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeRouteTables", &e))?;
    Ok(found.iter().filter_map(|t| id_and_vpc(t.route_table_id(), t.vpc_id())).collect())
}

/// Security group ids of `ids` that exist, with their VPC: (id, vpc_id).
pub async fn security_groups(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Filter, not GroupIds, for the same reason as in `subnets`.
    let found = ec2
        .describe_security_groups()
        .filters(ec2_filter("group-id", ids.iter().map(String::as_str)))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeSecurityGroups", &e))?;
    Ok(found.iter().filter_map(|g| id_and_vpc(g.group_id(), g.vpc_id())).collect())
}

/// The AWS-managed prefix list of each service (what a Gateway endpoint's
/// routes point at): (service name, pl- id), one call for all names.
/// AWS does not put it on the endpoint itself.
pub async fn prefix_lists(ec2: &aws_sdk_ec2::Client, service_names: &[String]) -> PartResult<Vec<(String, String)>> {
    if service_names.is_empty() {
        return Ok(Vec::new());
    }
    let out = ec2
        .describe_prefix_lists()
        .filters(ec2_filter("prefix-list-name", service_names.iter().map(String::as_str)))
        .send()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribePrefixLists", &e))?;
    Ok(out.prefix_lists().iter().filter_map(|p| Some((p.prefix_list_name()?.to_string(), p.prefix_list_id()?.to_string()))).collect())
}

/// (enableDnsSupport, enableDnsHostnames) of a VPC; `None` when the VPC
/// does not exist.
pub async fn dns_attributes(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Option<(bool, bool)>> {
    let Some(support) = vpc_flag(ec2, vpc_id, VpcAttributeName::EnableDnsSupport).await? else {
        return Ok(None);
    };
    let Some(hostnames) = vpc_flag(ec2, vpc_id, VpcAttributeName::EnableDnsHostnames).await? else {
        return Ok(None);
    };
    Ok(Some((support, hostnames)))
}

/// One boolean attribute of a VPC (DescribeVpcAttribute answers one per
/// call); `None` when the VPC does not exist.
async fn vpc_flag(ec2: &aws_sdk_ec2::Client, vpc_id: &str, attribute: VpcAttributeName) -> PartResult<Option<bool>> {
    let out = match ec2.describe_vpc_attribute().vpc_id(vpc_id).attribute(attribute.clone()).send().await {
        Ok(out) => out,
        Err(e) if e.code() == Some("InvalidVpcID.NotFound") => return Ok(None),
        Err(e) => return Err(call_failed(PART, "ec2:DescribeVpcAttribute", &e)),
    };
    let value = match attribute {
        VpcAttributeName::EnableDnsSupport => out.enable_dns_support(),
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => None,
    };
    // An answer without the value reads as "off": the check that uses it
    // then tells the user to turn the setting on, which is harmless.
    Ok(Some(value.and_then(|v| v.value()).unwrap_or(false)))
}

fn id_and_vpc(id: Option<&str>, vpc_id: Option<&str>) -> Option<(String, String)> {
    Some((id?.to_string(), vpc_id.unwrap_or_default().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_carries_every_id() {
        let ids = ["subnet-1".to_string(), "subnet-2".to_string()];
        let f = ec2_filter("subnet-id", ids.iter().map(String::as_str));
        assert_eq!(f.name(), Some("subnet-id"));
        assert_eq!(f.values(), ["subnet-1", "subnet-2"]);
    }

    #[test]
    fn objects_without_an_id_are_left_out() {
        assert_eq!(id_and_vpc(None, Some("vpc-1")), None);
        assert_eq!(id_and_vpc(Some("rtb-1"), None), Some(("rtb-1".into(), String::new())));
    }
}
