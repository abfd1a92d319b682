//! VPC endpoints (Interface and Gateway). Every change to one endpoint is
//! ONE ModifyVpcEndpoint call carrying all add and remove lists, because
//! parallel modifications of one endpoint race (OperationInProgress).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_ec2::error::SdkError;
use aws_sdk_ec2::operation::describe_vpc_endpoint_services::{DescribeVpcEndpointServicesError, DescribeVpcEndpointServicesOutput};
use aws_sdk_ec2::operation::describe_vpc_endpoints::DescribeVpcEndpointsError;
use aws_sdk_ec2::types::{Filter, ResourceType, ServiceDetail, ServiceType, UnsuccessfulItem, VpcEndpoint, VpcEndpointType};

use super::tags::{self, Tags};
use super::wait::{self, Poll};
use super::{ec2_filter, has_code, PartResult};
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
        private_dns_enabled: desired.private_dns_enabled.filter(|want| *want != current.private_dns_enabled),
    }
}

/// CreateVpcEndpoint with the client token and TagSpecifications; returns the id.
pub async fn create(ec2: &aws_sdk_ec2::Client, spec: &EndpointSpec) -> PartResult<String> {
    let mut req = ec2
        .create_vpc_endpoint()
        .vpc_id(&spec.vpc_id)
        .service_name(&spec.service_name)
        .vpc_endpoint_type(endpoint_type(spec.kind))
        .set_private_dns_enabled(spec.private_dns_enabled)
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

/// DescribeVpcEndpoints for many ids in ONE call (refresh batches). Ids
/// that no longer exist are simply absent from the answer (AWS answers
/// InvalidVpcEndpointId.NotFound for the whole call when one id is
/// unknown: then fall back to a `vpc-endpoint-id` filter, which does not
/// fail). Endpoints in state `deleted` are returned as observed.
pub async fn find_many(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Endpoint>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    match describe(ec2, ids, Vec::new()).await {
        Ok(found) => Ok(found),
        Err(e) if has_code(&e, &[ENDPOINT_ID_NOT_FOUND]) => find_many_by_filter(ec2, ids).await,
        Err(e) => Err(call_failed(PART, DESCRIBE, &e)),
    }
}

/// Endpoints of `vpc_id` for `service_name` that are not gone (is_gone).
pub async fn find_for_service(ec2: &aws_sdk_ec2::Client, vpc_id: &str, service_name: &str) -> PartResult<Vec<Endpoint>> {
    let filters = vec![ec2_filter("vpc-id", [vpc_id]), ec2_filter("service-name", [service_name])];
    let found = describe(ec2, &[], filters).await.map_err(|e| call_failed(PART, DESCRIBE, &e))?;
    Ok(found.into_iter().filter(|e| !e.is_gone()).collect())
}

/// Endpoints (not gone) carrying every tag of `tags`, in `vpc_id`.
pub async fn find_by_tags(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tags: &Tags) -> PartResult<Vec<Endpoint>> {
    let mut filters = vec![ec2_filter("vpc-id", [vpc_id])];
    filters.extend(tags.iter().map(|(k, v)| ec2_filter(&format!("tag:{k}"), [v.as_str()])));
    let found = describe(ec2, &[], filters).await.map_err(|e| call_failed(PART, DESCRIBE, &e))?;
    // Filter values are patterns (`*` and `?` are wildcards), so a tag
    // value containing them matches more than itself: check exactly here.
    Ok(found.into_iter().filter(|e| !e.is_gone() && carries_all(&e.tags, tags)).collect())
}

/// Endpoints (not gone) carrying every tag of `tags`, in any VPC of the
/// region: finding a composite's endpoints by its owner tag alone.
pub async fn find_by_tags_anywhere(ec2: &aws_sdk_ec2::Client, tags: &Tags) -> PartResult<Vec<Endpoint>> {
    let filters = tags.iter().map(|(k, v)| ec2_filter(&format!("tag:{k}"), [v.as_str()])).collect();
    let found = describe(ec2, &[], filters).await.map_err(|e| call_failed(PART, DESCRIBE, &e))?;
    // Exact check, as in find_by_tags (filter values are patterns).
    Ok(found.into_iter().filter(|e| !e.is_gone() && carries_all(&e.tags, tags)).collect())
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
        .set_private_dns_enabled(change.private_dns_enabled);
    // moto accepts but ignores PrivateDnsEnabled and ResetPolicy here; the
    // next refresh then shows the same change again, which is the truth.
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

/// Polls until the endpoint is `available` (or `pendingacceptance`, for
/// services that need the owner's acceptance), failing at once on
/// `failed`/`rejected`, and on timeout saying what it waited for.
pub async fn wait_available(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<Endpoint> {
    let what = format!("{PART} {id} to be available");
    wait::until(&what, timeout, Duration::from_millis(200), || async move {
        let found = find_many(ec2, &[id.to_string()]).await?;
        availability(id, found.into_iter().find(|e| e.id == id))
    })
    .await
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
    let what = format!("{PART} {} to be deleted", ids.join(", "));
    wait::until(&what, timeout, Duration::from_millis(500), || async move {
        let remaining = not_yet_deleted(&find_many(ec2, ids).await?);
        Ok(if remaining.is_empty() { Poll::Done(()) } else { Poll::Pending(remaining.join(", ")) })
    })
    .await
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
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let details: Vec<ServiceDetail> = match describe_services(ec2, Some(names.to_vec())).await {
        Ok(pages) => pages.iter().flat_map(|p| p.service_details().iter().cloned()).collect(),
        Err(e) if has_code(&e, &[SERVICE_NAME_INVALID]) => {
            let pages = describe_services(ec2, None).await.map_err(|e| call_failed(PART, DESCRIBE_SERVICES, &e))?;
            pages
                .iter()
                .flat_map(|p| p.service_details().iter())
                .filter(|d| d.service_name().is_some_and(|n| names.iter().any(|want| want == n)))
                .cloned()
                .collect()
        }
        Err(e) => return Err(call_failed(PART, DESCRIBE_SERVICES, &e)),
    };
    Ok(merge_services(&details))
}

/// Every service name offered in the region (for "did you mean" hints).
pub async fn all_service_names(ec2: &aws_sdk_ec2::Client) -> PartResult<Vec<String>> {
    let pages = describe_services(ec2, None).await.map_err(|e| call_failed(PART, DESCRIBE_SERVICES, &e))?;
    // A service offering both kinds (s3, dynamodb) is listed once per kind.
    let names: BTreeSet<String> = pages.iter().flat_map(|p| p.service_names().iter().cloned()).collect();
    Ok(names.into_iter().collect())
}

const CREATE: &str = "ec2:CreateVpcEndpoint";
const DESCRIBE: &str = "ec2:DescribeVpcEndpoints";
const MODIFY: &str = "ec2:ModifyVpcEndpoint";
const DELETE: &str = "ec2:DeleteVpcEndpoints";
const DESCRIBE_SERVICES: &str = "ec2:DescribeVpcEndpointServices";

/// DescribeVpcEndpoints' answer when one of the ids is unknown.
const ENDPOINT_ID_NOT_FOUND: &str = "InvalidVpcEndpointId.NotFound";
/// DeleteVpcEndpoints' per-id answer for an unknown endpoint (AWS uses
/// both spellings across calls).
const ENDPOINT_NOT_FOUND: &str = "InvalidVpcEndpoint.NotFound";
const SERVICE_NAME_INVALID: &str = "InvalidServiceName";

type DescribeError = SdkError<DescribeVpcEndpointsError>;
type DescribeServicesError = SdkError<DescribeVpcEndpointServicesError>;

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

/// Endpoint types this provider manages. Gateway Load Balancer, resource
/// and service-network endpoints are someone else's: `None`.
fn kind_from_ec2(t: Option<&VpcEndpointType>) -> Option<Kind> {
    match t {
        Some(VpcEndpointType::Interface) => Some(Kind::Interface),
        Some(VpcEndpointType::Gateway) => Some(Kind::Gateway),
        // CreateVpcEndpoint's default type; moto leaves the type out when
        // the request did.
        None => Some(Kind::Gateway),
        Some(_) => None,
    }
}

/// A list parameter, left out of the request when empty.
fn non_empty(list: &[String]) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.to_vec())
}

/// Every page of DescribeVpcEndpoints for `ids` and `filters` (either may
/// be empty), mapped to endpoints of the kinds this provider manages.
async fn describe(ec2: &aws_sdk_ec2::Client, ids: &[String], filters: Vec<Filter>) -> Result<Vec<Endpoint>, DescribeError> {
    let mut pages = ec2
        .describe_vpc_endpoints()
        .set_vpc_endpoint_ids(non_empty(ids))
        .set_filters((!filters.is_empty()).then_some(filters))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        found.extend(page?.vpc_endpoints().iter().filter_map(endpoint_from_ec2));
    }
    Ok(found)
}

/// find_many's second try, when some id is unknown: a filter answers
/// with the endpoints that exist instead of failing.
async fn find_many_by_filter(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Endpoint>> {
    // One id per call: each answers the endpoint or NotFound. This is the
    // rare path (something was deleted), so N calls are acceptable; the
    // `vpc-endpoint-id` filter would be one call on AWS, but moto does not
    // implement it (HTML 500, which the SDK retries for a long time).
    let lookups = ids.iter().map(|id| async move {
        match describe(ec2, std::slice::from_ref(id), Vec::new()).await {
            Ok(found) => Ok(found),
            Err(e) if has_code(&e, &[ENDPOINT_ID_NOT_FOUND]) => Ok(Vec::new()),
            Err(e) => Err(call_failed(PART, DESCRIBE, &e)),
        }
    });
    let mut out = Vec::new();
    for found in futures::future::join_all(lookups).await {
        out.extend(found?);
    }
    Ok(out)
}

/// An endpoint as AWS describes it; `None` without an id or of a kind
/// this provider does not manage.
fn endpoint_from_ec2(e: &VpcEndpoint) -> Option<Endpoint> {
    let sorted = |list: &[String]| {
        let mut list = list.to_vec();
        list.sort();
        list
    };
    let mut security_group_ids: Vec<String> = e.groups().iter().filter_map(|g| g.group_id()).map(str::to_string).collect();
    security_group_ids.sort();
    Some(Endpoint {
        id: e.vpc_endpoint_id()?.to_string(),
        vpc_id: e.vpc_id().unwrap_or_default().to_string(),
        service_name: e.service_name().unwrap_or_default().to_string(),
        kind: kind_from_ec2(e.vpc_endpoint_type())?,
        state: e.state().map(|s| s.as_str().to_ascii_lowercase()).unwrap_or_else(|| "unknown".into()),
        subnet_ids: sorted(e.subnet_ids()),
        route_table_ids: sorted(e.route_table_ids()),
        security_group_ids,
        private_dns_enabled: e.private_dns_enabled().unwrap_or(false),
        policy: e.policy_document().map(str::to_string),
        dns_names: e.dns_entries().iter().filter_map(|d| d.dns_name()).map(str::to_string).collect(),
        network_interface_ids: sorted(e.network_interface_ids()),
        // DescribeVpcEndpoints does not report a gateway's prefix list;
        // the caller looks it up (DescribePrefixLists) when it needs it.
        prefix_list_id: None,
        tags: tags::from_ec2(e.tags()),
    })
}

fn carries_all(have: &Tags, want: &Tags) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}

/// One round of wait_available: done, still coming up, or never going to
/// be available.
fn availability(id: &str, found: Option<Endpoint>) -> PartResult<Poll<Endpoint>> {
    let Some(e) = found else {
        return Err(Diagnostic::error(
            format!("{PART} {id} disappeared"),
            format!("{id} is no longer listed by {DESCRIBE} while waiting for it to become available: it was deleted outside Terraform."),
        ));
    };
    match e.state.as_str() {
        "available" | "pendingacceptance" => Ok(Poll::Done(e)),
        "failed" | "rejected" => Err(Diagnostic::error(
            format!("{PART} {id} for {} is {}", e.service_name, e.state),
            format!(
                "AWS put endpoint {id} for {} in {} in state {:?}. {}",
                e.service_name,
                e.vpc_id,
                e.state,
                if e.state == "rejected" {
                    "The service's owner rejected the connection."
                } else {
                    "Check the endpoint in the AWS console for the reason (for example a subnet in an Availability Zone the service does not support, or a private DNS name already in use in the VPC)."
                }
            ),
        )),
        _ if e.is_gone() => Err(Diagnostic::error(
            format!("{PART} {id} is {}", e.state),
            format!(
                "{id} for {} went to state {:?} while waiting for it to become available: it is being deleted outside Terraform.",
                e.service_name, e.state
            ),
        )),
        _ => Ok(Poll::Pending(e.state)),
    }
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

/// Endpoints still listed in a state other than `deleted`, as `id (state)`.
/// Real AWS stops listing an endpoint soon after deletion; moto keeps
/// listing it in state `deleted`.
fn not_yet_deleted(found: &[Endpoint]) -> Vec<String> {
    found.iter().filter(|e| e.state != "deleted").map(|e| format!("{} ({})", e.id, e.state)).collect()
}

/// Every page of DescribeVpcEndpointServices, for `names` or for all.
async fn describe_services(
    ec2: &aws_sdk_ec2::Client,
    names: Option<Vec<String>>,
) -> Result<Vec<DescribeVpcEndpointServicesOutput>, DescribeServicesError> {
    let mut pages = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = ec2.describe_vpc_endpoint_services().set_service_names(names.clone()).set_next_token(token.clone()).send().await?;
        let next = page.next_token().filter(|t| !t.is_empty()).map(str::to_string);
        pages.push(page);
        // A token equal to the one just sent would loop forever.
        if next.is_none() || next == token {
            return Ok(pages);
        }
        token = next;
    }
}

/// One Service per name: AWS lists a service once per kind it offers
/// (s3 as Interface and as Gateway).
fn merge_services(details: &[ServiceDetail]) -> Vec<Service> {
    let mut by_name: BTreeMap<&str, Service> = BTreeMap::new();
    for d in details {
        let Some(name) = d.service_name() else { continue };
        let service = by_name.entry(name).or_insert_with(|| Service { name: name.to_string(), kinds: Vec::new(), private_dns_name: None });
        service.kinds.extend(d.service_type().iter().filter_map(|t| service_kind(t.service_type())));
        service.kinds.sort();
        service.kinds.dedup();
        if service.private_dns_name.is_none() {
            service.private_dns_name = d.private_dns_name().map(str::to_string);
        }
    }
    by_name.into_values().collect()
}

fn service_kind(t: Option<&ServiceType>) -> Option<Kind> {
    match t? {
        ServiceType::Interface => Some(Kind::Interface),
        ServiceType::Gateway => Some(Kind::Gateway),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{DnsEntry, SecurityGroupIdentifier, ServiceTypeDetail, State, Tag, UnsuccessfulItemError};

    const DEFAULT_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    const SQS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn observed() -> Endpoint {
        Endpoint {
            id: "vpce-1".into(),
            vpc_id: "vpc-1".into(),
            service_name: "com.amazonaws.us-east-1.sqs".into(),
            kind: Kind::Interface,
            state: "available".into(),
            subnet_ids: strings(&["subnet-a", "subnet-b"]),
            route_table_ids: vec![],
            security_group_ids: strings(&["sg-1"]),
            private_dns_enabled: true,
            policy: Some(DEFAULT_POLICY.into()),
            dns_names: vec![],
            network_interface_ids: vec![],
            prefix_list_id: None,
            tags: Tags::new(),
        }
    }

    fn wanted() -> EndpointSpec {
        EndpointSpec {
            vpc_id: "vpc-1".into(),
            service_name: "com.amazonaws.us-east-1.sqs".into(),
            kind: Kind::Interface,
            subnet_ids: strings(&["subnet-b", "subnet-a"]),
            route_table_ids: vec![],
            security_group_ids: strings(&["sg-1"]),
            private_dns_enabled: Some(true),
            policy: None,
            tags: Tags::new(),
            client_token: "token".into(),
        }
    }

    // ---- diff ----

    #[test]
    fn same_endpoint_needs_no_change() {
        let change = diff(&observed(), &wanted());
        assert!(change.is_empty(), "{change:?}");
    }

    #[test]
    fn list_changes_are_sorted_adds_and_removes() {
        let mut want = wanted();
        want.subnet_ids = strings(&["subnet-d", "subnet-b", "subnet-c"]);
        want.security_group_ids = strings(&["sg-3", "sg-2"]);
        let change = diff(&observed(), &want);
        assert_eq!(change.add_subnet_ids, strings(&["subnet-c", "subnet-d"]));
        assert_eq!(change.remove_subnet_ids, strings(&["subnet-a"]));
        assert_eq!(change.add_security_group_ids, strings(&["sg-2", "sg-3"]));
        assert_eq!(change.remove_security_group_ids, strings(&["sg-1"]));
        assert!(change.add_route_table_ids.is_empty() && change.remove_route_table_ids.is_empty());
        assert_eq!(change.policy, None);
        assert_eq!(change.private_dns_enabled, None);
    }

    #[test]
    fn route_table_changes_for_gateways() {
        let mut cur = observed();
        cur.kind = Kind::Gateway;
        cur.subnet_ids.clear();
        cur.security_group_ids.clear();
        cur.route_table_ids = strings(&["rtb-1", "rtb-2"]);
        let mut want = wanted();
        want.kind = Kind::Gateway;
        want.subnet_ids.clear();
        want.security_group_ids.clear();
        want.private_dns_enabled = None;
        want.route_table_ids = strings(&["rtb-3", "rtb-1", "rtb-3"]);
        let change = diff(&cur, &want);
        assert_eq!(change.add_route_table_ids, strings(&["rtb-3"]));
        assert_eq!(change.remove_route_table_ids, strings(&["rtb-2"]));
        assert!(change.add_subnet_ids.is_empty() && change.remove_subnet_ids.is_empty());
        // None: whatever AWS reports for a gateway is left alone.
        assert_eq!(change.private_dns_enabled, None);
    }

    #[test]
    fn no_policy_wanted_resets_only_a_non_default_policy() {
        let mut cur = observed();
        cur.policy = Some(SQS_ONLY.into());
        assert_eq!(diff(&cur, &wanted()).policy, Some(PolicyChange::Reset));
        // Reformatted default: nothing to do.
        cur.policy =
            Some(r#"{"Statement":{"Resource":"*","Action":"*","Principal":{"AWS":"*"},"Effect":"Allow"},"Version":"2008-10-17"}"#.into());
        assert_eq!(diff(&cur, &wanted()).policy, None);
        cur.policy = None;
        assert_eq!(diff(&cur, &wanted()).policy, None);
    }

    #[test]
    fn wanted_policy_is_set_unless_equivalent() {
        let mut want = wanted();
        want.policy = Some(SQS_ONLY.into());
        // current is the default
        assert_eq!(diff(&observed(), &want).policy, Some(PolicyChange::Set(SQS_ONLY.into())));
        // current unknown
        let mut cur = observed();
        cur.policy = None;
        assert_eq!(diff(&cur, &want).policy, Some(PolicyChange::Set(SQS_ONLY.into())));
        // current means the same, written differently
        cur.policy = Some(
            r#"{"Statement":[{"Resource":["*"],"Action":["sqs:*"],"Principal":{"AWS":["*"]},"Effect":"Allow"}],"Version":"2012-10-17"}"#
                .into(),
        );
        assert_eq!(diff(&cur, &want).policy, None);
    }

    #[test]
    fn private_dns_only_when_asked_and_different() {
        let mut want = wanted();
        want.private_dns_enabled = Some(false);
        assert_eq!(diff(&observed(), &want).private_dns_enabled, Some(false));
        want.private_dns_enabled = None;
        assert_eq!(diff(&observed(), &want).private_dns_enabled, None);
        let mut cur = observed();
        cur.private_dns_enabled = false;
        want.private_dns_enabled = Some(false);
        assert_eq!(diff(&cur, &want).private_dns_enabled, None);
    }

    #[test]
    fn tags_are_not_part_of_the_diff() {
        let mut want = wanted();
        want.tags.insert("team".into(), "a".into());
        assert!(diff(&observed(), &want).is_empty());
    }

    // ---- mapping AWS's answer ----

    fn ec2_endpoint() -> aws_sdk_ec2::types::builders::VpcEndpointBuilder {
        VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .vpc_id("vpc-1")
            .service_name("com.amazonaws.us-east-1.sqs")
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .state(State::PendingAcceptance)
            .subnet_ids("subnet-b")
            .subnet_ids("subnet-a")
            .groups(SecurityGroupIdentifier::builder().group_id("sg-2").group_name("two").build())
            .groups(SecurityGroupIdentifier::builder().group_id("sg-1").build())
            .network_interface_ids("eni-1")
            .dns_entries(DnsEntry::builder().dns_name("vpce-1.sqs.us-east-1.vpce.amazonaws.com").hosted_zone_id("Z1").build())
            .private_dns_enabled(true)
            .policy_document(DEFAULT_POLICY)
            .tags(Tag::builder().key("team").value("a").build())
    }

    #[test]
    fn maps_an_interface_endpoint() {
        let e = endpoint_from_ec2(&ec2_endpoint().build()).unwrap();
        assert_eq!(e.id, "vpce-1");
        assert_eq!(e.kind, Kind::Interface);
        assert_eq!(e.state, "pendingacceptance");
        assert_eq!(e.subnet_ids, strings(&["subnet-a", "subnet-b"]));
        assert_eq!(e.security_group_ids, strings(&["sg-1", "sg-2"]));
        assert_eq!(e.network_interface_ids, strings(&["eni-1"]));
        assert_eq!(e.dns_names, strings(&["vpce-1.sqs.us-east-1.vpce.amazonaws.com"]));
        assert!(e.private_dns_enabled);
        assert_eq!(e.policy.as_deref(), Some(DEFAULT_POLICY));
        assert_eq!(e.tags.get("team").map(String::as_str), Some("a"));
        assert_eq!(e.prefix_list_id, None);
    }

    #[test]
    fn maps_states_as_lower_case_and_tolerates_missing_fields() {
        let e = endpoint_from_ec2(&VpcEndpoint::builder().vpc_endpoint_id("vpce-2").state(State::from("available")).build()).unwrap();
        assert_eq!(e.state, "available");
        assert_eq!(e.kind, Kind::Gateway);
        assert!(!e.private_dns_enabled);
        assert_eq!(e.policy, None);
        assert!(e.subnet_ids.is_empty());
    }

    #[test]
    fn skips_endpoints_without_id_or_of_other_kinds() {
        assert_eq!(endpoint_from_ec2(&ec2_endpoint().set_vpc_endpoint_id(None).build()), None);
        assert_eq!(endpoint_from_ec2(&ec2_endpoint().vpc_endpoint_type(VpcEndpointType::GatewayLoadBalancer).build()), None);
    }

    #[test]
    fn gone_states() {
        let mut e = observed();
        for (state, gone) in [
            ("available", false),
            ("pending", false),
            ("pendingacceptance", false),
            ("deleting", true),
            ("deleted", true),
            ("failed", true),
            ("rejected", true),
            ("expired", true),
        ] {
            e.state = state.into();
            assert_eq!(e.is_gone(), gone, "{state}");
        }
    }

    #[test]
    fn tag_match_is_exact() {
        let have: Tags = [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())].into();
        assert!(carries_all(&have, &Tags::new()));
        assert!(carries_all(&have, &[("a".to_string(), "1".to_string())].into()));
        assert!(!carries_all(&have, &[("a".to_string(), "*".to_string())].into()));
        assert!(!carries_all(&have, &[("c".to_string(), "1".to_string())].into()));
    }

    // ---- waits ----

    fn in_state(state: &str) -> Endpoint {
        Endpoint { state: state.into(), ..observed() }
    }

    #[test]
    fn availability_rounds() {
        assert!(matches!(availability("vpce-1", Some(in_state("available"))), Ok(Poll::Done(_))));
        assert!(matches!(availability("vpce-1", Some(in_state("pendingacceptance"))), Ok(Poll::Done(_))));
        assert!(matches!(availability("vpce-1", Some(in_state("pending"))), Ok(Poll::Pending(s)) if s == "pending"));
        for state in ["failed", "rejected"] {
            let Err(e) = availability("vpce-1", Some(in_state(state))) else { panic!("{state} must fail at once") };
            assert!(
                e.summary.contains("vpce-1") && e.summary.contains("com.amazonaws.us-east-1.sqs") && e.summary.contains(state),
                "{e:?}"
            );
        }
        for state in ["deleting", "deleted"] {
            let Err(e) = availability("vpce-1", Some(in_state(state))) else { panic!("{state} must fail at once") };
            assert!(e.summary.contains(state), "{e:?}");
        }
        let Err(e) = availability("vpce-1", None) else { panic!("a missing endpoint must fail") };
        assert!(e.summary.contains("vpce-1 disappeared"), "{e:?}");
    }

    #[test]
    fn deleted_or_absent_counts_as_deleted() {
        let mut deleting = in_state("deleting");
        deleting.id = "vpce-2".into();
        assert!(not_yet_deleted(&[]).is_empty());
        assert!(not_yet_deleted(&[in_state("deleted")]).is_empty());
        assert_eq!(not_yet_deleted(&[in_state("deleted"), deleting]), strings(&["vpce-2 (deleting)"]));
    }

    fn unsuccessful(id: &str, code: &str) -> UnsuccessfulItem {
        UnsuccessfulItem::builder().resource_id(id).error(UnsuccessfulItemError::builder().code(code).message("why").build()).build()
    }

    #[test]
    fn already_gone_is_not_a_delete_failure() {
        let items = [
            unsuccessful("vpce-1", "InvalidVpcEndpoint.NotFound"),
            unsuccessful("vpce-2", "InvalidVpcEndpointId.NotFound"),
            unsuccessful("vpce-3", "OperationInProgress"),
        ];
        assert_eq!(delete_failures(&items), strings(&["vpce-3 (OperationInProgress: why)"]));
        assert!(delete_failures(&[]).is_empty());
    }

    // ---- services ----

    fn detail(name: &str, kind: ServiceType, dns: Option<&str>) -> ServiceDetail {
        ServiceDetail::builder()
            .service_name(name)
            .service_type(ServiceTypeDetail::builder().service_type(kind).build())
            .set_private_dns_name(dns.map(str::to_string))
            .build()
    }

    #[test]
    fn services_listed_per_kind_are_merged() {
        let merged = merge_services(&[
            detail("com.amazonaws.us-east-1.sqs", ServiceType::Interface, Some("sqs.us-east-1.amazonaws.com")),
            detail("com.amazonaws.us-east-1.s3", ServiceType::Interface, None),
            detail("com.amazonaws.us-east-1.s3", ServiceType::Gateway, Some("s3.us-east-1.amazonaws.com")),
            detail("com.amazonaws.us-east-1.s3", ServiceType::Gateway, None),
            detail("com.amazonaws.vpce.us-east-1.vpce-svc-1", ServiceType::GatewayLoadBalancer, None),
        ]);
        assert_eq!(
            merged,
            vec![
                Service {
                    name: "com.amazonaws.us-east-1.s3".into(),
                    kinds: vec![Kind::Interface, Kind::Gateway],
                    private_dns_name: Some("s3.us-east-1.amazonaws.com".into())
                },
                Service {
                    name: "com.amazonaws.us-east-1.sqs".into(),
                    kinds: vec![Kind::Interface],
                    private_dns_name: Some("sqs.us-east-1.amazonaws.com".into())
                },
                Service { name: "com.amazonaws.vpce.us-east-1.vpce-svc-1".into(), kinds: vec![], private_dns_name: None },
            ]
        );
    }

    #[test]
    fn kind_names() {
        assert_eq!(Kind::Interface.as_str(), "Interface");
        assert_eq!(Kind::Gateway.as_str(), "Gateway");
        assert_eq!(endpoint_type(Kind::Gateway), VpcEndpointType::Gateway);
        assert_eq!(endpoint_type(Kind::Interface), VpcEndpointType::Interface);
    }
}
