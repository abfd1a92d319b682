//! VPC endpoints (Interface and Gateway). Every change to one endpoint is
//! ONE ModifyVpcEndpoint call carrying all add and remove lists, because
//! parallel modifications of one endpoint race (OperationInProgress).

use std::time::Duration;

use super::tags::Tags;
use super::PartResult;

const PART: &str = "vpc endpoint";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Interface,
    Gateway,
}

impl Kind {
    pub fn as_str(&self) -> &'static str {
        match self {
            Kind::Interface => "Interface",
            Kind::Gateway => "Gateway",
        }
    }
}

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSpec {
    pub vpc_id: String,
    /// Full name, `com.amazonaws.REGION.sqs`.
    pub service_name: String,
    pub kind: Kind,
    /// Interface only.
    pub subnet_ids: Vec<String>,
    /// Gateway only.
    pub route_table_ids: Vec<String>,
    /// Interface only.
    pub security_group_ids: Vec<String>,
    /// Interface only; `None` for Gateway.
    pub private_dns_enabled: Option<bool>,
    /// JSON; `None` means AWS's default full-access policy.
    pub policy: Option<String>,
    /// All tags (user tags + ownership).
    pub tags: Tags,
    /// Idempotency token for CreateVpcEndpoint (at most 64 ASCII chars).
    pub client_token: String,
}

/// An endpoint as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub id: String,
    pub vpc_id: String,
    pub service_name: String,
    pub kind: Kind,
    /// AWS's state, lower-cased: pendingacceptance, pending, available,
    /// deleting, deleted, rejected, failed, expired.
    pub state: String,
    pub subnet_ids: Vec<String>,
    pub route_table_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    pub private_dns_enabled: bool,
    pub policy: Option<String>,
    pub dns_names: Vec<String>,
    pub network_interface_ids: Vec<String>,
    /// Gateway endpoints: the service's prefix list (pl-...), when AWS reports it.
    pub prefix_list_id: Option<String>,
    pub tags: Tags,
}

impl Endpoint {
    /// deleting / deleted / rejected / failed / expired: no longer serving.
    pub fn is_gone(&self) -> bool {
        matches!(self.state.as_str(), "deleting" | "deleted" | "rejected" | "failed" | "expired")
    }
}

/// The policy part of a modification.
#[derive(Debug, Clone, PartialEq)]
pub enum PolicyChange {
    Set(String),
    /// Back to AWS's default full-access policy (ResetPolicy).
    Reset,
}

/// Everything one ModifyVpcEndpoint call changes. Lists are sorted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    pub add_subnet_ids: Vec<String>,
    pub remove_subnet_ids: Vec<String>,
    pub add_route_table_ids: Vec<String>,
    pub remove_route_table_ids: Vec<String>,
    pub add_security_group_ids: Vec<String>,
    pub remove_security_group_ids: Vec<String>,
    pub policy: Option<PolicyChange>,
    pub private_dns_enabled: Option<bool>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        *self == Change::default()
    }
}

/// The modification that brings `current` to `desired` (pure). Policies
/// are compared with `crate::policy::equivalent`; `desired.policy == None`
/// against a non-default current policy is a Reset. Tags are not part of
/// it (see `super::tags::update`).
pub fn diff(current: &Endpoint, desired: &EndpointSpec) -> Change {
    todo!()
}

/// CreateVpcEndpoint with the client token and TagSpecifications; returns the id.
pub async fn create(ec2: &aws_sdk_ec2::Client, spec: &EndpointSpec) -> PartResult<String> {
    todo!()
}

/// DescribeVpcEndpoints for many ids in ONE call (refresh batches). Ids
/// that no longer exist are simply absent from the answer (AWS answers
/// InvalidVpcEndpointId.NotFound for the whole call when one id is
/// unknown: then fall back to a `vpc-endpoint-id` filter, which does not
/// fail). Endpoints in state `deleted` are returned as observed.
pub async fn find_many(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Endpoint>> {
    todo!()
}

/// Endpoints of `vpc_id` for `service_name` that are not gone (is_gone).
pub async fn find_for_service(ec2: &aws_sdk_ec2::Client, vpc_id: &str, service_name: &str) -> PartResult<Vec<Endpoint>> {
    todo!()
}

/// Endpoints (not gone) carrying every tag of `tags`, in `vpc_id`.
pub async fn find_by_tags(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tags: &Tags) -> PartResult<Vec<Endpoint>> {
    todo!()
}

/// One ModifyVpcEndpoint with everything in `change`; no call when empty.
pub async fn modify(ec2: &aws_sdk_ec2::Client, id: &str, change: &Change) -> PartResult<()> {
    todo!()
}

/// Polls until the endpoint is `available` (or `pendingacceptance`, for
/// services that need the owner's acceptance), failing at once on
/// `failed`/`rejected`, and on timeout saying what it waited for.
pub async fn wait_available(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<Endpoint> {
    todo!()
}

/// DeleteVpcEndpoints for `ids` (one call; already gone is fine), then
/// waits until each is absent or `deleted`.
pub async fn delete(ec2: &aws_sdk_ec2::Client, ids: &[String], timeout: Duration) -> PartResult<()> {
    todo!()
}

/// A service offered to VPCs in this region.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub kinds: Vec<Kind>,
    pub private_dns_name: Option<String>,
}

/// DescribeVpcEndpointServices (all pages) for `names`; names AWS does
/// not offer are absent from the answer (AWS answers
/// InvalidServiceName for the whole call: then list all and filter).
pub async fn services(ec2: &aws_sdk_ec2::Client, names: &[String]) -> PartResult<Vec<Service>> {
    todo!()
}

/// Every service name offered in the region (for "did you mean" hints).
pub async fn all_service_names(ec2: &aws_sdk_ec2::Client) -> PartResult<Vec<String>> {
    todo!()
}
