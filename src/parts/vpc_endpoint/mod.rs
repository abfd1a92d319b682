//! VPC endpoints (Interface and Gateway). Every change to one endpoint is
//! ONE ModifyVpcEndpoint call carrying all add and remove lists, because
//! parallel modifications of one endpoint race (OperationInProgress).
//!
//! This file holds the types, the pure diff and the changes (create,
//! ensure, modify, delete); `find` reads endpoints, `wait` polls their
//! state, `services` lists what the region offers.

mod find;
mod services;
#[cfg(test)]
mod tests;
mod wait;

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsError;
use aws_sdk_ec2::types::{DnsOptionsSpecification, ResourceType, UnsuccessfulItem, VpcEndpointType};

pub use find::{find_by_tags, find_by_tags_anywhere, find_for_service, find_in_vpc, find_many, find_owned};
pub use services::{all_service_names, services, Service};
pub use wait::wait_available;
use wait::wait_deleted;

use super::tags::{self, Tags};
use super::PartResult;
use crate::aws::call_failed;
use crate::diag::Diagnostic;
use crate::policy;

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
    /// `DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint`: an Interface
    /// endpoint with private DNS on, of a service that also has Gateway
    /// endpoints (S3). `None` leaves DnsOptions out of the request, and is
    /// what every other endpoint must say: AWS refuses the option on Gateway
    /// endpoints, and AWS's own default for S3 (true) needs a Gateway
    /// endpoint in the VPC (see `dns_options`).
    pub private_dns_only_for_inbound_resolver_endpoint: Option<bool>,
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
    /// `DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint` as AWS reports
    /// it; `None` when the answer has no such field (moto never reports it).
    pub private_dns_only_for_inbound_resolver_endpoint: Option<bool>,
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
    /// Sent as DnsOptions.
    pub private_dns_only_for_inbound_resolver_endpoint: Option<bool>,
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
    let (add_subnet_ids, remove_subnet_ids) = set_changes(&current.subnet_ids, &desired.subnet_ids);
    let (add_route_table_ids, remove_route_table_ids) = set_changes(&current.route_table_ids, &desired.route_table_ids);
    let (add_security_group_ids, remove_security_group_ids) = set_changes(&current.security_group_ids, &desired.security_group_ids);
    Change {
        add_subnet_ids,
        remove_subnet_ids,
        add_route_table_ids,
        remove_route_table_ids,
        add_security_group_ids,
        remove_security_group_ids,
        policy: policy_change(current.policy.as_deref(), desired.policy.as_deref()),
        private_dns_enabled: private_dns_enabled(current, desired),
        private_dns_only_for_inbound_resolver_endpoint: inbound_only_change(current, desired),
    }
}

fn private_dns_enabled(current: &Endpoint, desired: &EndpointSpec) -> Option<bool> {
    desired.private_dns_enabled.filter(|want| *want != current.private_dns_enabled)
}

/// The S3 option to send. Turning private DNS on sends it whatever AWS
/// reports now: unsent, AWS applies its default (true) with private DNS
/// and refuses the call without an S3 Gateway in the VPC
/// (terraform-provider-aws #33689). Otherwise only a difference is sent,
/// and an unreported value (moto) counts as different.
fn inbound_only_change(current: &Endpoint, desired: &EndpointSpec) -> Option<bool> {
    let turning_on = private_dns_enabled(current, desired) == Some(true);
    inbound_only(desired).filter(|want| turning_on || current.private_dns_only_for_inbound_resolver_endpoint != Some(*want))
}

/// The spec's `private_dns_only_for_inbound_resolver_endpoint`, only where
/// AWS takes it: an Interface endpoint with private DNS on.
fn inbound_only(spec: &EndpointSpec) -> Option<bool> {
    let private_dns = spec.kind == Kind::Interface && spec.private_dns_enabled == Some(true);
    spec.private_dns_only_for_inbound_resolver_endpoint.filter(|_| private_dns)
}

/// DnsOptions carrying PrivateDnsOnlyForInboundResolverEndpoint, or none.
/// AWS turns the option on by itself for an S3 Interface endpoint with
/// private DNS, and then refuses the create unless the VPC has an S3
/// Gateway endpoint ("To set PrivateDnsOnlyForInboundResolverEndpoint to
/// true, the VPC ... must have a Gateway endpoint for the service"), so
/// the composite always says which it wants for such an endpoint.
fn dns_options(value: Option<bool>) -> Option<DnsOptionsSpecification> {
    value.map(|v| DnsOptionsSpecification::builder().private_dns_only_for_inbound_resolver_endpoint(v).build())
}

/// CreateVpcEndpoint with the client token and TagSpecifications; returns the id.
pub async fn create(ec2: &aws_sdk_ec2::Client, spec: &EndpointSpec) -> PartResult<String> {
    let mut req = ec2
        .create_vpc_endpoint()
        .vpc_id(&spec.vpc_id)
        .service_name(&spec.service_name)
        .vpc_endpoint_type(endpoint_type(spec.kind))
        .set_private_dns_enabled(spec.private_dns_enabled)
        .set_dns_options(dns_options(inbound_only(spec)))
        .set_policy_document(spec.policy.clone());
    // Subnets and groups belong to Interface endpoints, route tables to
    // Gateway ones; AWS rejects the others' lists.
    req = match spec.kind {
        Kind::Interface => req.set_subnet_ids(non_empty(&spec.subnet_ids)).set_security_group_ids(non_empty(&spec.security_group_ids)),
        Kind::Gateway => req.set_route_table_ids(non_empty(&spec.route_table_ids)),
    };
    // AWS rejects an empty ClientToken and a TagSpecification without tags.
    if !spec.client_token.is_empty() {
        req = req.client_token(&spec.client_token);
    }
    if !spec.tags.is_empty() {
        req = req.tag_specifications(tags::specification(ResourceType::VpcEndpoint, &spec.tags));
    }
    let out = req.send().await.map_err(|e| call_failed(PART, CREATE, &e))?;
    match out.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()) {
        Some(id) => Ok(id.to_string()),
        None => Err(Diagnostic::error(
            format!("{PART}: {CREATE} failed"),
            format!("{CREATE} for {} in {} answered without an endpoint id.", spec.service_name, spec.vpc_id),
        )),
    }
}

/// Brings an endpoint to `spec` and waits until it is available: the
/// endpoint `known` (recorded and still there), else one carrying the
/// spec's ownership tags (a create whose answer was lost), else, with
/// `adopt_existing`, the VPC's endpoint for the service, else a new one.
/// An existing endpoint gets at most one ModifyVpcEndpoint and one tag
/// update. `on_created` gets a new endpoint's id before the wait.
pub async fn ensure(
    ec2: &aws_sdk_ec2::Client,
    spec: &EndpointSpec,
    known: Option<Endpoint>,
    adopt_existing: bool,
    timeout: Duration,
    on_created: impl FnOnce(&str),
) -> PartResult<Endpoint> {
    let current = match known {
        Some(e) => Some(e),
        None => adoptable(ec2, spec, adopt_existing).await?,
    };
    let id = match current {
        Some(cur) => {
            let change = diff(&cur, spec);
            if !change.is_empty() {
                tracing::info!(endpoint = %cur.id, ?change, "modifying endpoint");
                modify(ec2, &cur.id, &change).await?;
            }
            tags::update(ec2, PART, &cur.id, &cur.tags, &spec.tags).await?;
            cur.id
        }
        None => {
            let id = create(ec2, spec).await?;
            tracing::info!(endpoint = %id, service = %spec.service_name, "endpoint created");
            on_created(&id);
            id
        }
    };
    remove_twins(ec2, spec, &id, timeout).await?;
    wait_available(ec2, &id, timeout).await
}

/// Other endpoints carrying the same ownership tags as `keep`: made by a
/// create whose answer was lost and that was sent again (AWS's ClientToken
/// prevents that within its window; an emulator or an expired token does
/// not). They are deleted so nothing of ours is left behind.
async fn remove_twins(ec2: &aws_sdk_ec2::Client, spec: &EndpointSpec, keep: &str, timeout: Duration) -> PartResult<()> {
    let owned: Tags = spec.tags.iter().filter(|(k, _)| k.starts_with("privatelink:")).map(|(k, v)| (k.clone(), v.clone())).collect();
    if owned.is_empty() {
        return Ok(());
    }
    let twins: Vec<String> = find_by_tags(ec2, &spec.vpc_id, &owned).await?.into_iter().map(|e| e.id).filter(|id| id != keep).collect();
    if !twins.is_empty() {
        tracing::warn!(keep = %keep, twins = ?twins, "deleting duplicate endpoints of the same part");
        delete(ec2, &twins, timeout).await?;
    }
    Ok(())
}

async fn adoptable(ec2: &aws_sdk_ec2::Client, spec: &EndpointSpec, adopt_existing: bool) -> PartResult<Option<Endpoint>> {
    let owned: Tags = spec.tags.iter().filter(|(k, _)| k.starts_with("privatelink:")).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !owned.is_empty() {
        if let Some(e) = find_by_tags(ec2, &spec.vpc_id, &owned).await?.into_iter().next() {
            tracing::info!(endpoint = %e.id, "adopting an endpoint found by its ownership tags");
            return Ok(Some(e));
        }
    }
    if adopt_existing {
        let found = find_for_service(ec2, &spec.vpc_id, &spec.service_name).await?;
        if let Some(e) = found.into_iter().find(|e| e.kind == spec.kind) {
            tracing::info!(endpoint = %e.id, "adopt_existing: taking over the VPC's endpoint for the service");
            return Ok(Some(e));
        }
    }
    Ok(None)
}

/// One ModifyVpcEndpoint with everything in `change`; no call when empty.
pub async fn modify(ec2: &aws_sdk_ec2::Client, id: &str, change: &Change) -> PartResult<()> {
    if change.is_empty() {
        return Ok(());
    }
    let mut req = ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(id)
        .set_add_subnet_ids(non_empty(&change.add_subnet_ids))
        .set_remove_subnet_ids(non_empty(&change.remove_subnet_ids))
        .set_add_route_table_ids(non_empty(&change.add_route_table_ids))
        .set_remove_route_table_ids(non_empty(&change.remove_route_table_ids))
        .set_add_security_group_ids(non_empty(&change.add_security_group_ids))
        .set_remove_security_group_ids(non_empty(&change.remove_security_group_ids))
        .set_private_dns_enabled(change.private_dns_enabled)
        .set_dns_options(dns_options(change.private_dns_only_for_inbound_resolver_endpoint));
    // moto accepts but ignores PrivateDnsEnabled and ResetPolicy here; the
    // next refresh then shows the same change again, which is the truth.
    // It ignores DnsOptions too, and never reports them.
    req = match &change.policy {
        Some(PolicyChange::Set(doc)) => req.policy_document(doc),
        Some(PolicyChange::Reset) => req.reset_policy(true),
        None => req,
    };
    let out = req.send().await.map_err(|e| call_failed(PART, MODIFY, &e))?;
    if out.r#return() == Some(false) {
        return Err(Diagnostic::error(
            format!("{PART}: {MODIFY} failed"),
            format!("{MODIFY} answered Return=false for {id}: AWS did not apply the change."),
        ));
    }
    Ok(())
}

/// DeleteVpcEndpoints for `ids` (one call; already gone is fine), then
/// waits until each is absent or `deleted`.
pub async fn delete(ec2: &aws_sdk_ec2::Client, ids: &[String], timeout: Duration) -> PartResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let problem = match ec2.delete_vpc_endpoints().set_vpc_endpoint_ids(Some(ids.to_vec())).send().await {
        Ok(out) => {
            let failures = delete_failures(out.unsuccessful());
            (!failures.is_empty())
                .then(|| Diagnostic::error(format!("{PART}: {DELETE} failed"), format!("{DELETE} did not delete {}.", failures.join("; "))))
        }
        Err(e) => Some(call_failed(PART, DELETE, &e)),
    };
    if let Some(problem) = problem {
        // A delete sent again after its answer was lost can fail although
        // the first one worked: AWS then reports the endpoint not found, and
        // moto fails on the gateway route the first delete already removed
        // (InvalidRoute.NotFound). What is already on its way out is done;
        // only endpoints still standing make this an error.
        let standing: Vec<String> = find_many(ec2, ids).await?.iter().filter(|e| !e.is_gone()).map(|e| e.id.clone()).collect();
        if !standing.is_empty() {
            return Err(problem);
        }
        tracing::debug!(endpoints = %ids.join(", "), error = %problem.summary, "delete answered an error, but the endpoints are already going");
    }
    wait_deleted(ec2, ids, timeout).await
}

const CREATE: &str = "ec2:CreateVpcEndpoint";

const DESCRIBE: &str = "ec2:DescribeVpcEndpoints";

const MODIFY: &str = "ec2:ModifyVpcEndpoint";

const DELETE: &str = "ec2:DeleteVpcEndpoints";

/// DescribeVpcEndpoints' answer when one of the ids is unknown.
const ENDPOINT_ID_NOT_FOUND: &str = "InvalidVpcEndpointId.NotFound";

/// DeleteVpcEndpoints' per-id answer for an unknown endpoint (AWS uses
/// both spellings across calls).
const ENDPOINT_NOT_FOUND: &str = "InvalidVpcEndpoint.NotFound";

type DescribeError = SdkError<DescribeVpcEndpointsError>;

/// Ids to add and to remove (both sorted) to turn `current` into `desired`.
fn set_changes(current: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let current: BTreeSet<&String> = current.iter().collect();
    let desired: BTreeSet<&String> = desired.iter().collect();
    let add = desired.difference(&current).map(|s| s.to_string()).collect();
    let remove = current.difference(&desired).map(|s| s.to_string()).collect();
    (add, remove)
}

/// No desired policy means AWS's default: only a non-default current
/// policy needs a Reset. A desired policy is set unless the current one
/// means the same (AWS reformats the document it stores).
fn policy_change(current: Option<&str>, desired: Option<&str>) -> Option<PolicyChange> {
    match (current, desired) {
        (Some(cur), None) if !policy::is_default_full_access(cur) => Some(PolicyChange::Reset),
        (None, Some(want)) => Some(PolicyChange::Set(want.to_string())),
        (Some(cur), Some(want)) if !policy::equivalent(cur, want) => Some(PolicyChange::Set(want.to_string())),
        _ => None,
    }
}

fn endpoint_type(kind: Kind) -> VpcEndpointType {
    match kind {
        Kind::Interface => VpcEndpointType::Interface,
        Kind::Gateway => VpcEndpointType::Gateway,
    }
}

/// A list parameter, left out of the request when empty.
fn non_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// DeleteVpcEndpoints' unsuccessful items that are real failures
/// (already gone is what delete wants), as `id (Code: message)`.
fn delete_failures(items: &[UnsuccessfulItem]) -> Vec<String> {
    items
        .iter()
        .filter_map(|item| {
            let id = item.resource_id().unwrap_or("an endpoint");
            let code = item.error().and_then(|e| e.code()).unwrap_or("unknown error");
            if [ENDPOINT_NOT_FOUND, ENDPOINT_ID_NOT_FOUND].contains(&code) {
                return None;
            }
            Some(match item.error().and_then(|e| e.message()) {
                Some(msg) => format!("{id} ({code}: {msg})"),
                None => format!("{id} ({code})"),
            })
        })
        .collect()
}
