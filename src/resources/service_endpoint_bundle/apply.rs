//! Apply: the security group, then the endpoints along the part graph;
//! destroy runs it backwards. The frame around the steps (observe first,
//! the state afterwards, also on failure) is the skeleton's (`composite`).

use std::collections::{BTreeMap, BTreeSet};

use futures::FutureExt;

use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::engine::{self, Step};
use crate::model::{List, Set, Val};
use crate::parts::security_group as sg;
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};
use crate::resources::client_token;
use crate::resources::composite::{Apply, Run, Steps};
use crate::resources::endpoint::{self, vpc_has_gateway, DesiredEndpoint, Key};

use super::config::{Bundle, Desired, EndpointBlock};
use super::steps::{graph, Op, Part, Shape};
use super::ServiceEndpointBundle;

/// What exists, as apply learns it; each finished step writes here so a
/// failure still returns everything that was made.
#[derive(Default)]
pub struct Record {
    pub(super) group_id: Option<String>,
    pub(super) group: Option<sg::Group>,
    pub(super) endpoints: BTreeMap<Key, Endpoint>,
    /// Ids created whose endpoint could not be observed yet.
    pub(super) pending: BTreeMap<Key, String>,
}

/// Recorded parts of a state: its group and its endpoints' ids by key.
pub(super) fn recorded(state: &Bundle, region: &str) -> (Option<String>, BTreeMap<Key, String>) {
    let eps = state.endpoint.0.iter().filter_map(|b| Some((b.key(region), b.id.owned()?))).collect();
    (state.security_group_id.owned(), eps)
}

/// One run of the bundle's steps.
type BundleRun<'a> = Run<'a, ServiceEndpointBundle>;

impl Apply for ServiceEndpointBundle {
    fn apply_steps<'a>(&'a self, ctx: &'a Ctx, run: BundleRun<'a>) -> Steps<'a, Self> {
        let desired = run.desired;
        let (prior_group, prior_eps) = run.prior.map(|p| recorded(p, &ctx.aws.region)).unwrap_or_default();
        let wanted: BTreeMap<&Key, &DesiredEndpoint> = desired.endpoints.iter().map(|e| (&e.key, e)).collect();
        let wanted_keys: Vec<Key> = desired.endpoints.iter().map(|e| e.key.clone()).collect();
        let prior_keys: Vec<Key> = prior_eps.keys().cloned().collect();
        let shape = Shape::apply(desired.needs_group(), &wanted_keys, &prior_keys, prior_group.is_some());
        let group_name = desired.group_spec().name;
        let steps = graph(&shape).into_iter().map(|(op, after)| {
            let (work, object) = match &op {
                Op::Ensure(p @ Part::Group) => (ensure_group(ctx, run).boxed(), p.object(Some(&group_name))),
                Op::Ensure(p @ Part::Endpoint(key)) => match wanted.get(key) {
                    Some(&e) => (ensure_endpoint(ctx, run, e).boxed(), p.object(prior_eps.get(key).map(String::as_str))),
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Endpoint(key)) => match prior_eps.get(key) {
                    Some(id) => (remove_endpoint(ctx, run, key.clone(), id.clone()).boxed(), p.object(Some(id))),
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Group) => (remove_group(ctx, run).boxed(), p.object(prior_group.as_deref())),
            };
            Step::new(op, object, after, work)
        });
        steps.collect()
    }

    /// The plan, with every computed value filled from what was observed,
    /// and the ids of whatever exists even if a step failed.
    fn state_after(planned: &Bundle, desired: &Desired, record: Record) -> Bundle {
        let mut state = planned.clone();
        state.id.set_known(desired.id.clone());
        state.security_group_id.set(Val::from_option(record.group_id.clone()));
        state.unexpected_rules.set_known(List::default());
        for (b, e) in state.endpoint.0.iter_mut().zip(&desired.endpoints) {
            match record.endpoints.get(&e.key) {
                Some(ep) => fill_observed(b, ep),
                None => not_observed(b, record.pending.get(&e.key).cloned()),
            }
        }
        state
    }

    fn destroy_steps<'a>(&'a self, ctx: &'a Ctx, run: BundleRun<'a>) -> Steps<'a, Self> {
        let (group, eps) = run.prior.map(|p| recorded(p, &ctx.aws.region)).unwrap_or_default();
        let shape = Shape::destroy(&eps.keys().cloned().collect::<Vec<_>>(), group.is_some());
        let steps = graph(&shape).into_iter().map(|(op, after)| {
            let (work, object) = match &op {
                Op::Remove(p @ Part::Endpoint(key)) => match eps.get(key) {
                    Some(id) => (remove_endpoint(ctx, run, key.clone(), id.clone()).boxed(), p.object(Some(id))),
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Group) => (remove_group(ctx, run).boxed(), p.object(group.as_deref())),
                Op::Ensure(p) => (engine::no_work_for(op.clone()), p.object(None)),
            };
            Step::new(op, object, after, work)
        });
        steps.collect()
    }

    /// The prior state without what the destroy removed: the group once
    /// gone, each endpoint whose removal finished.
    fn still_there(prior: &Bundle, desired: &Desired, _record: Record, done: &[Op]) -> Bundle {
        let mut state = prior.clone();
        if done.contains(&Op::Remove(Part::Group)) {
            state.security_group_id.set(Val::Null);
        }
        // The desired endpoints of the prior are its blocks, in order, keyed.
        for (b, e) in state.endpoint.0.iter_mut().zip(&desired.endpoints) {
            if done.contains(&Op::Remove(Part::Endpoint(e.key.clone()))) {
                b.id.set(Val::Null);
                b.state.set_known("deleted".into());
            }
        }
        state
    }
}

async fn ensure_group(ctx: &Ctx, run: BundleRun<'_>) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.group.clone());
    let on_created = |id: &str| run.record.set(|r| r.group_id = Some(id.to_string()));
    let group = sg::ensure(&ctx.aws.ec2, &run.desired.group_spec(), known, on_created).await?;
    run.record.set(|r| {
        r.group_id = Some(group.id.clone());
        r.group = Some(group);
    });
    Ok(())
}

async fn ensure_endpoint(ctx: &Ctx, run: BundleRun<'_>, e: &DesiredEndpoint) -> Result<(), Diagnostic> {
    let desired = run.desired;
    let group_id = run.record.get(|r| r.group_id.clone());
    let e = &settle_inbound_only_at_apply(ctx, desired, e).await?;
    let token = client_token(&desired.id, &format!("{}/{}", e.key.0, e.key.1.as_str()));
    let spec = desired.endpoint_spec(e, group_id.as_deref(), token);
    let known = run.record.get(|r| r.endpoints.get(&e.key).cloned());
    let on_created = |id: &str| {
        run.record.set(|r| r.pending.insert(e.key.clone(), id.to_string()));
    };
    let mut ep = vpce::ensure(&ctx.aws.ec2, &spec, known, desired.adopt_existing, run.timeout, on_created).await?;
    // What was just ensured, where AWS's answer does not say (moto never
    // reports DnsOptions); AWS reports it and then its word stands.
    ep.private_dns_only_for_inbound_resolver_endpoint =
        ep.private_dns_only_for_inbound_resolver_endpoint.or(spec.private_dns_only_for_inbound_resolver_endpoint);
    let ep = with_prefix_lists(ctx, vec![ep]).await?.remove(0);
    run.record.set(|r| {
        r.pending.remove(&e.key);
        r.endpoints.insert(e.key.clone(), ep);
    });
    Ok(())
}

/// The endpoint with inbound-only private DNS settled: the plan could not
/// settle it when the VPC was unknown then (`plan_inbound_only`). True next
/// to an S3 Gateway endpoint of the bundle (made before this one, see
/// `graph`) or of the VPC, else false.
async fn settle_inbound_only_at_apply(ctx: &Ctx, desired: &Desired, e: &DesiredEndpoint) -> Result<DesiredEndpoint, Diagnostic> {
    let mut e = e.clone();
    if e.inbound_only_applies && e.inbound_only.is_none() {
        let gateway = desired.has_gateway(&e.key.0) || vpc_has_gateway(ctx, &desired.vpc_id, &e.key.0).await?;
        e.inbound_only = Some(gateway);
    }
    Ok(e)
}

/// An endpoint observed, with the inbound-only private DNS its state
/// recorded when AWS's answer does not say (moto never reports DnsOptions),
/// so an unchanged value sends no ModifyVpcEndpoint.
pub(super) fn with_recorded_inbound_only(mut ep: Endpoint, state: Option<&EndpointBlock>) -> Endpoint {
    if ep.private_dns_only_for_inbound_resolver_endpoint.is_none() {
        ep.private_dns_only_for_inbound_resolver_endpoint = state.and_then(|b| b.private_dns_only_for_inbound_resolver_endpoint.bool());
    }
    ep
}

async fn remove_endpoint(ctx: &Ctx, run: BundleRun<'_>, key: Key, id: String) -> Result<(), Diagnostic> {
    endpoint::remove(ctx, &id, run.timeout).await?;
    tracing::info!(endpoint = %id, "endpoint deleted");
    run.record.set(|r| r.endpoints.remove(&key));
    Ok(())
}

async fn remove_group(ctx: &Ctx, run: BundleRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.group_id.clone()) {
        sg::delete(&ctx.aws.ec2, &id, run.timeout).await?;
        tracing::info!(group = %id, "security group deleted");
    }
    run.record.set(|r| {
        r.group_id = None;
        r.group = None;
    });
    Ok(())
}

/// An endpoint not (yet) available: a created id is kept so it is not lost.
fn not_observed(b: &mut EndpointBlock, id: Option<String>) {
    let made = id.is_some();
    b.id.set(Val::from_option(id));
    let clear = |unknown: bool| !made || unknown;
    if clear(b.state.is_unknown()) {
        b.state.set(Val::Null);
    }
    if clear(b.dns_names.is_unknown()) {
        b.dns_names.set(Val::Null);
    }
    if clear(b.network_interface_ids.is_unknown()) {
        b.network_interface_ids.set(Val::Null);
    }
    if clear(b.prefix_list_id.is_unknown()) {
        b.prefix_list_id.set(Val::Null);
    }
    if clear(b.security_group_ids.is_unknown()) {
        b.security_group_ids.set(Val::Null);
    }
    if b.private_dns_only_for_inbound_resolver_endpoint.is_unknown() {
        b.private_dns_only_for_inbound_resolver_endpoint.set(Val::Null);
    }
    if made {
        b.state.set_known("pending".into());
    }
}

/// Gateway endpoints get their service's prefix list, which AWS reports
/// only through DescribePrefixLists (one call for all of them).
pub(super) async fn with_prefix_lists(ctx: &Ctx, mut eps: Vec<Endpoint>) -> Result<Vec<Endpoint>, Diagnostic> {
    let names: BTreeSet<String> =
        eps.iter().filter(|e| e.kind == Kind::Gateway && e.prefix_list_id.is_none()).map(|e| e.service_name.clone()).collect();
    if names.is_empty() {
        return Ok(eps);
    }
    let lists = vpc::prefix_lists(&ctx.aws.ec2, &names.into_iter().collect::<Vec<_>>()).await?;
    for e in eps.iter_mut().filter(|e| e.kind == Kind::Gateway && e.prefix_list_id.is_none()) {
        e.prefix_list_id = lists.iter().find(|(n, _)| *n == e.service_name).map(|(_, id)| id.clone());
    }
    Ok(eps)
}

/// The computed attributes of one endpoint block from the endpoint seen.
pub(super) fn fill_observed(b: &mut EndpointBlock, ep: &Endpoint) {
    let interface = ep.kind == Kind::Interface;
    b.id.set_known(ep.id.clone());
    b.service_name.set_known(ep.service_name.clone());
    b.state.set_known(ep.state.clone());
    b.dns_names.set_known(List::of(&ep.dns_names));
    b.network_interface_ids.set_known(Set::of(&sorted(&ep.network_interface_ids)));
    b.prefix_list_id.set(if interface { Val::Null } else { Val::from_option(ep.prefix_list_id.clone()) });
    // Where it applies: AWS's value; when AWS does not report it (moto
    // never does), the block keeps what it had (what apply ensured, what the
    // state recorded; nothing for an import). Never weakened to fit moto.
    let applies = b.inbound_only_applies();
    let inbound_only = &mut b.private_dns_only_for_inbound_resolver_endpoint;
    match (applies, ep.private_dns_only_for_inbound_resolver_endpoint) {
        (Some(true), Some(v)) => inbound_only.set_known(v),
        (Some(true), None) => {}
        _ => inbound_only.set(Val::Null),
    }
    b.security_group_ids.set(if interface { Val::Known(Set::of(&sorted(&ep.security_group_ids))) } else { Val::Null });
}

pub(super) fn sorted(v: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = v.iter().cloned().collect();
    s.into_iter().collect()
}
