//! Facts about the user's network that composites check at plan time:
//! which AZ and VPC each subnet is in, whether the VPC resolves private
//! DNS. Read-only: composites never create or change these.

use super::PartResult;

const PART: &str = "network";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    pub availability_zone: String,
}

/// DescribeSubnets for `ids` in one call. Subnets that do not exist are
/// left out of the answer (the caller names them), not an error.
pub async fn subnets(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Subnet>> {
    todo!()
}

/// Route table ids of `ids` that exist, with their VPC: (id, vpc_id).
pub async fn route_tables(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<(String, String)>> {
    todo!()
}

/// Security group ids of `ids` that exist, with their VPC: (id, vpc_id).
pub async fn security_groups(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<(String, String)>> {
    todo!()
}

/// (enableDnsSupport, enableDnsHostnames) of a VPC; `None` when the VPC
/// does not exist.
pub async fn dns_attributes(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Option<(bool, bool)>> {
    todo!()
}
