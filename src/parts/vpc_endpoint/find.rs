//! Reading endpoints: DescribeVpcEndpoints by id, by service or by tags,
//! and AWS's answer mapped to `Endpoint`.

use aws_sdk_ec2::types::{Filter, VpcEndpoint, VpcEndpointType};

use super::{call_failed, non_empty, DescribeError, Endpoint, Kind, PartResult, Tags, DESCRIBE, ENDPOINT_ID_NOT_FOUND, PART};
use crate::parts::tags::{Owned, OWNER_TAG};
use crate::parts::{ec2_filter, has_code, tags};

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

/// Endpoints of `vpc_id` for `service_name` that are not gone (is_gone).
pub async fn find_for_service(ec2: &aws_sdk_ec2::Client, vpc_id: &str, service_name: &str) -> PartResult<Vec<Endpoint>> {
    let filters = vec![ec2_filter("vpc-id", [vpc_id]), ec2_filter("service-name", [service_name])];
    let found = describe(ec2, &[], filters).await.map_err(|e| call_failed(PART, DESCRIBE, &e))?;
    Ok(found.into_iter().filter(|e| !e.is_gone()).collect())
}

/// Every endpoint of `vpc_id`, gone ones included (their state says so).
pub async fn find_in_vpc(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Vec<Endpoint>> {
    describe(ec2, &[], vec![ec2_filter("vpc-id", [vpc_id])]).await.map_err(|e| call_failed(PART, DESCRIBE, &e))
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

/// Every endpoint (not gone) carrying an owner tag, in `vpc_id` or (None)
/// in every VPC of the region.
pub async fn find_owned(ec2: &aws_sdk_ec2::Client, vpc_id: Option<&str>) -> PartResult<Vec<Owned>> {
    let mut filters = vec![ec2_filter("tag-key", [OWNER_TAG])];
    filters.extend(vpc_id.map(|v| ec2_filter("vpc-id", [v])));
    let found = describe(ec2, &[], filters).await.map_err(|e| call_failed(PART, DESCRIBE, &e))?;
    Ok(found.iter().filter(|e| !e.is_gone()).filter_map(|e| Owned::from_tags(PART, &e.id, "", &e.vpc_id, &e.tags)).collect())
}

/// An endpoint as AWS describes it; `None` without an id or of a kind
/// this provider does not manage.
pub(super) fn endpoint_from_ec2(e: &VpcEndpoint) -> Option<Endpoint> {
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
        private_dns_only_for_inbound_resolver_endpoint: e.dns_options().and_then(|d| d.private_dns_only_for_inbound_resolver_endpoint()),
        policy: e.policy_document().map(str::to_string),
        dns_names: e.dns_entries().iter().filter_map(|d| d.dns_name()).map(str::to_string).collect(),
        network_interface_ids: sorted(e.network_interface_ids()),
        // DescribeVpcEndpoints does not report a gateway's prefix list;
        // the caller looks it up (DescribePrefixLists) when it needs it.
        prefix_list_id: None,
        tags: tags::from_ec2(e.tags()),
    })
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

pub(super) fn carries_all(have: &Tags, want: &Tags) -> bool {
    want.iter().all(|(k, v)| have.get(k) == Some(v))
}
