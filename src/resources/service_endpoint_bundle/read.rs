//! Observe and refresh: the group and every endpoint as AWS has them now,
//! so apply starts from the truth and the plan shows what changed behind
//! Terraform's back.

use std::collections::BTreeMap;

use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::model::{List, Map, Set, Val};
use crate::parts::security_group::{self as sg, Group, Peer, Rule};
use crate::parts::tags;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};
use crate::policy;
use crate::resources::composite::{Depth, Read};

use super::apply::{fill_observed, recorded, sorted, with_prefix_lists, with_recorded_inbound_only, Record};
use super::config::{observed_set, Bundle, EndpointBlock};
use super::plan::prior_endpoint;
use super::ServiceEndpointBundle;

#[tonic::async_trait]
impl Read for ServiceEndpointBundle {
    /// Apply reads the group and the endpoints the prior state recorded;
    /// destroy needs only their ids, which the state has.
    async fn observe(&self, ctx: &Ctx, prior: Option<&Bundle>, depth: Depth) -> Result<Record, Diagnostic> {
        let region = &ctx.aws.region;
        let (group_id, eps) = prior.map(|p| recorded(p, region)).unwrap_or_default();
        if depth == Depth::Destroy {
            return Ok(Record { group_id, ..Default::default() });
        }
        let ids: Vec<String> = eps.values().cloned().collect();
        let (group, found) = observe(&ctx.aws.ec2, group_id.as_deref(), &ids, "read the bundle").await?;
        let mut r = Record { group_id: group.as_ref().map(|g| g.id.clone()), group, ..Default::default() };
        for (key, id) in &eps {
            if let Some(e) = found.iter().find(|e| &e.id == id && !e.is_gone()) {
                let before = prior.and_then(|p| prior_endpoint(p, key, region));
                r.endpoints.insert(key.clone(), with_recorded_inbound_only(e.clone(), before));
            }
        }
        Ok(r)
    }

    async fn read(&self, ctx: &Ctx, before: &Bundle) -> Result<Option<Bundle>, Diagnostic> {
        read_state(ctx, before).await
    }
}

/// The bundle's group (if it has one) and its endpoints as they are now:
/// independent reads, sent together.
async fn observe(
    ec2: &aws_sdk_ec2::Client,
    group_id: Option<&str>,
    endpoint_ids: &[String],
    phase: &str,
) -> Result<(Option<Group>, Vec<Endpoint>), Diagnostic> {
    use crate::calls::with_count as n;
    let group = async {
        match group_id {
            Some(g) => sg::find(ec2, g).await,
            None => Ok(None),
        }
    };
    let ((group, c1), (endpoints, c2)) = tokio::try_join!(n(group), n(vpce::find_many(ec2, endpoint_ids)))?;
    crate::calls::log_concurrent_reads(phase, &[c1, c2]);
    Ok((group, endpoints))
}

async fn read_state(ctx: &Ctx, before: &Bundle) -> Result<Option<Bundle>, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let (group_id, eps) = recorded(before, &ctx.aws.region);
    let ids: Vec<String> = eps.values().cloned().collect();
    let (group, found) = observe(ec2, group_id.as_deref(), &ids, "refresh the bundle").await?;
    let found = with_prefix_lists(ctx, found.into_iter().filter(|e| !e.is_gone()).collect()).await?;
    let live: BTreeMap<&String, &Endpoint> = found.iter().filter(|e| !e.is_gone()).map(|e| (&e.id, e)).collect();
    if group.is_none() && eps.values().all(|id| !live.contains_key(id)) {
        return Ok(None);
    }
    let mut out = before.clone();
    match &group {
        Some(g) => {
            let (groups, cidrs, unexpected) = classify_rules(&g.rules);
            out.allowed_security_group_ids.set(observed_set(&before.allowed_security_group_ids, &groups));
            out.allowed_cidr_blocks.set(observed_set(&before.allowed_cidr_blocks, &cidrs));
            out.unexpected_rules.set_known(List::of(&unexpected));
            out.tags_all.set_known(Map::of(&tags::without_ownership(&g.tags)));
        }
        None => out.security_group_id.set(Val::Null),
    }
    for b in out.endpoint.0.iter_mut() {
        match b.id.str().and_then(|id| live.get(&id.to_string()).copied()) {
            Some(ep) => refresh_endpoint(b, ep),
            None => {
                // Deleted behind Terraform's back: the plan shows it re-created.
                b.id.set(Val::Null);
                b.state.set_known("deleted".into());
            }
        }
    }
    if let (None, Some(ep)) = (&group, live.values().next()) {
        out.tags_all.set_known(Map::of(&tags::without_ownership(&ep.tags)));
    }
    Ok(Some(out))
}

/// Allowed client groups, allowed CIDRs, and every other rule (described).
pub(super) fn classify_rules(rules: &[Rule]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut groups, mut cidrs, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for r in rules {
        let https_in = r.direction == sg::Direction::Ingress && r.protocol == "tcp" && r.from_port == 443 && r.to_port == 443;
        match (&r.peer, https_in) {
            (Peer::Group(g), true) => groups.push(g.clone()),
            (Peer::Cidr(c), true) => cidrs.push(c.clone()),
            _ => other.push(r.describe()),
        }
    }
    groups.sort();
    cidrs.sort();
    other.sort();
    (groups, cidrs, other)
}

/// One endpoint block from the endpoint as it is now.
pub(super) fn refresh_endpoint(b: &mut EndpointBlock, ep: &Endpoint) {
    if ep.kind == Kind::Interface {
        b.subnet_ids.set_known(Set::of(&sorted(&ep.subnet_ids)));
        b.private_dns_enabled.set_known(ep.private_dns_enabled);
    } else {
        b.route_table_ids.set_known(Set::of(&sorted(&ep.route_table_ids)));
    }
    b.policy.set(match (&ep.policy, &b.policy.val) {
        (Some(now), Val::Known(before)) if policy::equivalent(now, before) => Val::Known(before.clone()),
        (Some(now), Val::Null) if policy::is_default_full_access(now) => Val::Null,
        (Some(now), _) => Val::Known(now.clone()),
        (None, _) => Val::Null,
    });
    fill_observed(b, ep);
}
