//! The planned state (unknowns, defaults, replace paths), the plan-time checks against AWS, and the warnings of a destroy plan.

use std::collections::{BTreeMap, BTreeSet};

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Attr, List, Set, Val};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Kind};
use crate::policy;
use crate::resources::composite::{Plan, PlanEnv};
use crate::resources::endpoint::{self, full_service_name, near_matches, short_service_name, vpc_has_gateway, Key};
use crate::resources::{checks, subnet_diagnostics, Going};

use super::config::{bundle_id, Bundle, EndpointBlock};
use super::ServiceEndpointBundle;
#[cfg(test)]
use crate::{model::Model, value::Value};

#[tonic::async_trait]
impl Plan for ServiceEndpointBundle {
    fn replace_paths(&self, prior: &Bundle, config: &Bundle) -> Vec<Path> {
        replace_paths(prior, config)
    }

    /// AWS's 50 tags per resource, counting the provider's default tags and
    /// the ownership tags on each endpoint and the group.
    fn limits(&self, env: &PlanEnv<'_>, config: &Bundle) -> Diagnostics {
        let mut d = Diagnostics::default();
        checks::check_tag_count(&mut d, env.default_tags, &config.tags, tags::OWNERSHIP_TAGS);
        d
    }

    fn plan(&self, env: &PlanEnv<'_>, prior: Option<&Bundle>, proposed: &Bundle, config: &Bundle) -> Result<Bundle, Diagnostics> {
        Ok(plan_bundle(env.region, env.default_tags, prior, proposed, config))
    }

    async fn settle_against_aws(
        &self,
        ctx: &Ctx,
        prior: Option<&Bundle>,
        config: &Bundle,
        planned: &mut Bundle,
    ) -> Result<Diagnostics, Diagnostic> {
        settle_inbound_only(ctx, prior, config, planned).await
    }

    async fn check_against_aws(&self, ctx: &Ctx, prior: Option<&Bundle>, planned: &Bundle) -> Result<Diagnostics, Diagnostic> {
        check_against_aws(ctx, prior, planned).await
    }

    async fn destroy_warnings(&self, ctx: &Ctx, prior: &Bundle) -> Diagnostics {
        destroy_warnings(ctx, prior).await
    }
}

/// The prior endpoint block with the same key, if any.
pub(super) fn prior_endpoint<'a>(prior: &'a Bundle, key: &Key, region: &str) -> Option<&'a EndpointBlock> {
    prior.endpoint.0.iter().find(|b| b.key(region) == *key)
}

/// The planned state as the protocol carries it (what the unit tests compare).
#[cfg(test)]
pub(super) fn plan_state(
    region: Option<&str>,
    default_tags: &Tags,
    prior: &Value,
    proposed: &Value,
    config: &Value,
) -> crate::resources::Planned {
    let prior = (!prior.is_null()).then(|| Bundle::decode(prior));
    let config = Bundle::decode(config);
    let requires_replace = prior.as_ref().map(|p| replace_paths(p, &config)).unwrap_or_default();
    let prior = if requires_replace.is_empty() { prior.as_ref() } else { None };
    let state = plan_bundle(region, default_tags, prior, &Bundle::decode(proposed), &config);
    crate::resources::Planned { state: state.encode(), requires_replace, warnings: crate::diag::Diagnostics::default() }
}

/// The attribute whose change replaces the bundle (the first one found).
pub(super) fn replace_paths(prior: &Bundle, config: &Bundle) -> Vec<Path> {
    [(&prior.vpc_id, &config.vpc_id), (&prior.name, &config.name)]
        .into_iter()
        .find(|(p, c)| p != c)
        .map(|(_, c)| c.path.clone())
        .into_iter()
        .collect()
}

/// The planned bundle: defaults, ids kept for what stays, unknown for what
/// apply makes or changes. `prior` is None for a create or a replace.
pub(super) fn plan_bundle(region: Option<&str>, default_tags: &Tags, prior: Option<&Bundle>, proposed: &Bundle, config: &Bundle) -> Bundle {
    let region_known = region.unwrap_or("");
    let mut s = proposed.clone();
    // Endpoint blocks: defaults from the bundle, computed values kept when
    // the endpoint is untouched, unknown where apply will change them.
    let mut keys = Vec::new();
    for (i, b) in s.endpoint.0.iter_mut().enumerate() {
        let cfg = config.endpoint.0.get(i).cloned().unwrap_or_default();
        let kind = cfg.kind();
        let key: Key = (full_service_name(b.service.str().unwrap_or(""), region_known), kind);
        let before = prior.and_then(|p| prior_endpoint(p, &key, region_known)).filter(|p| p.id.str().is_some());
        let gateway =
            Gateway { now: has_gateway(config, &key.0, region_known), before: prior.is_some_and(|p| has_gateway(p, &key.0, region_known)) };
        keys.push(key);
        plan_endpoint(region, config, &cfg, b, (kind, gateway), before);
    }
    let any_interface = keys.iter().any(|k| k.1 == Kind::Interface);
    s.id.set(match prior.and_then(|p| p.id.owned()) {
        Some(id) => Val::Known(id),
        None => match config.vpc_id.str() {
            Some(vpc) if region.is_some() && !config.name.is_unknown() && keys.iter().all(|k| !k.0.is_empty()) => {
                Val::Known(bundle_id(vpc, config.name.str(), &keys))
            }
            _ => Val::Unknown,
        },
    });
    s.tags_all.set(checks::plan_tags_all(default_tags, &config.tags));
    s.unexpected_rules.set_known(List::default());
    s.security_group_id.set(match (any_interface, prior.and_then(|p| p.security_group_id.owned())) {
        (false, _) => Val::Null,
        (true, Some(g)) => Val::Known(g),
        (true, None) => Val::Unknown,
    });
    plan_endpoint_groups(&mut s, &config.security_group_ids);
    s
}

/// Now that the group id is settled, each Interface endpoint's groups: the
/// managed one and the user's extra ones. A changed set changes the
/// endpoint, so its state is unknown.
fn plan_endpoint_groups(s: &mut Bundle, extra: &Attr<Set<String>>) {
    let group = s.security_group_id.val.clone();
    for b in s.endpoint.0.iter_mut() {
        let interface = b.kind.str() == Some("Interface");
        let groups = match (&group, interface && extra.is_wholly_known()) {
            _ if !interface => Val::Null,
            (Val::Known(g), true) => {
                let mut all = extra.strings();
                all.push(g.clone());
                all.sort();
                Val::Known(Set::of(&all))
            }
            _ => Val::Unknown,
        };
        if b.security_group_ids.val != groups && !b.id.is_unknown() && interface {
            b.state.set(Val::Unknown);
        }
        b.security_group_ids.set(groups);
    }
}

/// The configuration's value of an endpoint's own attribute, else the
/// bundle's when it `applies` to this type of endpoint, else null.
fn own_or_bundle(own: &Attr<Set<String>>, bundle: &Attr<Set<String>>, applies: bool) -> Val<Set<String>> {
    if !own.is_null() {
        own.val.clone()
    } else if applies {
        bundle.val.clone()
    } else {
        Val::Null
    }
}

/// Whether a bundle has a Gateway endpoint for an endpoint's service: in
/// the configuration planned (`now`) and in the prior state (`before`).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Gateway {
    pub(super) now: bool,
    pub(super) before: bool,
}

/// Whether `bundle` has a Gateway endpoint for `service` (full name).
pub(super) fn has_gateway(bundle: &Bundle, service: &str, region: &str) -> bool {
    bundle.endpoint.0.iter().any(|b| b.kind() == Kind::Gateway && b.key(region).0 == service)
}

/// One endpoint block of the plan: its type, and whether the bundle has a
/// Gateway endpoint for its service. `before` is the same endpoint in the
/// prior state (same service and type, and it exists).
pub(super) fn plan_endpoint(
    region: Option<&str>,
    bundle: &Bundle,
    cfg: &EndpointBlock,
    b: &mut EndpointBlock,
    (kind, gateway): (Kind, Gateway),
    before: Option<&EndpointBlock>,
) {
    let interface = kind == Kind::Interface;
    b.kind.set_known(kind.as_str().to_string());
    b.private_dns_enabled.set(match &cfg.private_dns_enabled.val {
        Val::Null if interface => Val::Known(true),
        v => v.clone(),
    });
    b.private_dns_only_for_inbound_resolver_endpoint.set(plan_inbound_only(cfg, b, gateway, before));
    b.subnet_ids.set(own_or_bundle(&cfg.subnet_ids, &bundle.subnet_ids, interface));
    b.route_table_ids.set(own_or_bundle(&cfg.route_table_ids, &bundle.route_table_ids, !interface));
    // Keep the prior text of an equivalent policy: no diff for reformatting.
    b.policy.set(match (cfg.policy.str(), before.and_then(|p| p.policy.str())) {
        (Some(new), Some(old)) if policy::equivalent(new, old) => Val::Known(old.to_string()),
        _ => cfg.policy.val.clone(),
    });
    let service = cfg.service.str().unwrap_or("");
    b.service_name.set(region.map(|r| Val::Known(full_service_name(service, r))).unwrap_or(Val::Unknown));
    match before {
        Some(p) => keep_observed(b, p),
        None => {
            for a in [&mut b.id, &mut b.state] {
                a.set(Val::Unknown);
            }
            b.dns_names.set(Val::Unknown);
            b.network_interface_ids.set(Val::Unknown);
            b.prefix_list_id.set(if interface { Val::Null } else { Val::Unknown });
            b.security_group_ids.set(Val::Unknown);
        }
    }
}

/// `private_dns_only_for_inbound_resolver_endpoint` of a planned block `b`
/// (type, service and private DNS planned): null where it does not apply;
/// the configuration's value; else true next to an S3 Gateway endpoint of
/// the bundle (clients in the VPC then take the Gateway, which costs
/// nothing), false when the bundle's Gateway goes (the Interface endpoint
/// then serves the VPC), the prior value for an endpoint that stays.
/// Unknown for a new endpoint: the VPC may have a Gateway endpoint of its
/// own, which `settle_inbound_only` looks for at plan (and apply, if the VPC
/// was not known at plan).
pub(super) fn plan_inbound_only(cfg: &EndpointBlock, b: &EndpointBlock, gateway: Gateway, before: Option<&EndpointBlock>) -> Val<bool> {
    match b.inbound_only_applies() {
        Some(false) => return Val::Null,
        None => return Val::Unknown,
        Some(true) => {}
    }
    let prior = before.map(|p| &p.private_dns_only_for_inbound_resolver_endpoint.val);
    match &cfg.private_dns_only_for_inbound_resolver_endpoint.val {
        Val::Null if gateway.now => Val::Known(true),
        Val::Null if gateway.before => Val::Known(false),
        Val::Null => match prior {
            Some(Val::Known(v)) => Val::Known(*v),
            _ => Val::Unknown,
        },
        v => v.clone(),
    }
}

/// An endpoint that exists keeps what AWS reported, except what the
/// planned change alters.
fn keep_observed(b: &mut EndpointBlock, p: &EndpointBlock) {
    let placement_same = b.subnet_ids == p.subnet_ids && b.route_table_ids == p.route_table_ids;
    let dns_same = b.private_dns_enabled == p.private_dns_enabled
        && b.private_dns_only_for_inbound_resolver_endpoint == p.private_dns_only_for_inbound_resolver_endpoint;
    let untouched = placement_same && dns_same && b.policy == p.policy;
    b.id.set(p.id.val.clone());
    b.state.set(if untouched { p.state.val.clone() } else { Val::Unknown });
    b.dns_names.set(if placement_same && dns_same { p.dns_names.val.clone() } else { Val::Unknown });
    b.network_interface_ids.set(if placement_same { p.network_interface_ids.val.clone() } else { Val::Unknown });
    b.prefix_list_id.set(p.prefix_list_id.val.clone());
    b.security_group_ids.set(p.security_group_ids.val.clone());
}

/// What the plan-time checks look at: endpoints that are new or whose
/// placement or private DNS changes.
#[derive(Default)]
struct ToCheck {
    /// Endpoint index, its subnets, and whether they are the endpoint's own
    /// (else the bundle's `subnet_ids`).
    subnets: Vec<(usize, Vec<String>, bool)>,
    /// Endpoint index and its route tables.
    route_tables: Vec<(usize, Vec<String>)>,
    /// New endpoints: index, key, private DNS on.
    new: Vec<(usize, Key, bool)>,
    wants_private_dns: bool,
}

fn to_check(prior: Option<&Bundle>, planned: &Bundle, region: &str) -> ToCheck {
    let mut c = ToCheck::default();
    for (i, b) in planned.endpoint.0.iter().enumerate() {
        let key = b.key(region);
        let before = prior.and_then(|p| prior_endpoint(p, &key, region));
        let is_new = before.is_none_or(|p| p.id.str().is_none());
        if key.1 == Kind::Interface {
            let subnets = &b.subnet_ids;
            if subnets.is_wholly_known() && (is_new || before.is_some_and(|p| p.subnet_ids != *subnets)) {
                let own = b.subnet_ids != planned.subnet_ids || planned.subnet_ids.is_null();
                c.subnets.push((i, subnets.strings(), own));
            }
            let dns_on = b.private_dns_enabled.bool() == Some(true);
            let dns_was = before.and_then(|p| p.private_dns_enabled.bool()) == Some(true);
            c.wants_private_dns |= dns_on && (is_new || !dns_was);
            if is_new {
                c.new.push((i, key, dns_on));
            }
        } else {
            let rts = &b.route_table_ids;
            if rts.is_wholly_known() && (is_new || before.is_some_and(|p| p.route_table_ids != *rts)) {
                c.route_tables.push((i, rts.strings()));
            }
            if is_new {
                c.new.push((i, key, false));
            }
        }
    }
    c
}

/// Checks that need AWS, made only for what is new or changed so a plan
/// with no changes makes no calls. `prior` is what the checks compare
/// with (see `composite::prior_for_checks`).
async fn check_against_aws(ctx: &Ctx, prior: Option<&Bundle>, planned: &Bundle) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(vpc_id) = planned.vpc_id.str() else { return Ok(d) };
    let c = to_check(prior, planned, &ctx.aws.region);
    if !c.subnets.is_empty() {
        d.extend(check_subnets(ctx, vpc_id, &c.subnets, planned).await?);
    }
    if !c.route_tables.is_empty() {
        d.extend(check_route_tables(ctx, vpc_id, &c.route_tables, planned).await?);
    }
    if c.wants_private_dns {
        let remedy = ", or set private_dns_enabled = false on the endpoint and use its DNS names";
        let summary = "Private DNS needs DNS support and DNS hostnames on the VPC";
        d.extend(endpoint::check_vpc_dns(ctx, vpc_id, summary, remedy).await?.into_iter().collect());
    }
    if !c.new.is_empty() {
        d.extend(check_services(ctx, &c.new, planned).await?);
        d.extend(check_dns_owners(ctx, vpc_id, &c.new, planned).await?);
    }
    Ok(d)
}

/// Why plan asks AWS about an endpoint's inbound-only private DNS.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum InboundOnlyLookup {
    /// Left unknown by `plan_inbound_only`: true if the VPC has an S3
    /// Gateway endpoint, else false.
    Settle,
    /// `true`, new or changed, without an S3 Gateway endpoint in the bundle:
    /// the VPC must have one.
    Check,
}

/// What plan must ask AWS about planned block `b` (`cfg`: its
/// configuration; `before`: the endpoint in the prior state), if anything.
pub(super) fn inbound_only_lookup(
    b: &EndpointBlock,
    cfg: &EndpointBlock,
    before: Option<&EndpointBlock>,
    gateway_in_bundle: bool,
) -> Option<InboundOnlyLookup> {
    if b.inbound_only_applies() != Some(true) {
        return None;
    }
    let was_on = before.and_then(|p| p.private_dns_only_for_inbound_resolver_endpoint.bool()) == Some(true);
    match b.private_dns_only_for_inbound_resolver_endpoint.val {
        Val::Unknown if !cfg.private_dns_only_for_inbound_resolver_endpoint.is_unknown() => Some(InboundOnlyLookup::Settle),
        Val::Known(true) if !gateway_in_bundle && !was_on => Some(InboundOnlyLookup::Check),
        _ => None,
    }
}

/// Inbound-only private DNS at plan, with AWS (see `InboundOnlyLookup`):
/// one look at the VPC per service, only for endpoints that need it, so a
/// plan with no change makes no call.
async fn settle_inbound_only(ctx: &Ctx, prior: Option<&Bundle>, config: &Bundle, planned: &mut Bundle) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(vpc_id) = planned.vpc_id.owned() else { return Ok(d) };
    let region = ctx.aws.region.clone();
    let in_bundle: Vec<bool> = planned.endpoint.0.iter().map(|b| has_gateway(planned, &b.key(&region).0, &region)).collect();
    let mut vpc_gateways: BTreeMap<String, bool> = BTreeMap::new();
    for (i, b) in planned.endpoint.0.iter_mut().enumerate() {
        let key = b.key(&region);
        let before = prior.and_then(|p| prior_endpoint(p, &key, &region)).filter(|p| p.id.str().is_some());
        let cfg = config.endpoint.0.get(i).cloned().unwrap_or_default();
        let Some(lookup) = inbound_only_lookup(b, &cfg, before, in_bundle[i]) else { continue };
        let has = match vpc_gateways.get(&key.0) {
            Some(has) => *has,
            None => {
                let has = vpc_has_gateway(ctx, &vpc_id, &key.0).await?;
                vpc_gateways.insert(key.0.clone(), has);
                has
            }
        };
        match lookup {
            InboundOnlyLookup::Settle => b.private_dns_only_for_inbound_resolver_endpoint.set_known(has),
            InboundOnlyLookup::Check if !has => {
                d.push(no_gateway_for_inbound_only(&vpc_id, &key.0).at(b.private_dns_only_for_inbound_resolver_endpoint.path.clone()))
            }
            InboundOnlyLookup::Check => {}
        }
    }
    Ok(d)
}

fn no_gateway_for_inbound_only(vpc_id: &str, service: &str) -> Diagnostic {
    Diagnostic::error(
        "Inbound-only private DNS needs an S3 Gateway endpoint",
        format!(
            "private_dns_only_for_inbound_resolver_endpoint = true needs a Gateway endpoint for {service} in {vpc_id}, and the VPC has none: AWS would refuse the endpoint. Either add endpoint {{ service = \"s3\", type = \"Gateway\" }} to this bundle (clients in the VPC then reach S3 through it, and only inbound Resolver traffic uses this Interface endpoint), or set private_dns_only_for_inbound_resolver_endpoint = false, or leave it out, so this Interface endpoint serves the VPC too."
        ),
    )
}

/// The subnets exist, are in the VPC, one per Availability Zone.
async fn check_subnets(
    ctx: &Ctx,
    vpc_id: &str,
    checks: &[(usize, Vec<String>, bool)],
    planned: &Bundle,
) -> Result<Diagnostics, Diagnostic> {
    let all: BTreeSet<String> = checks.iter().flat_map(|(_, s, _)| s.iter().cloned()).collect();
    let found = vpc::subnets(&ctx.aws.ec2, &all.into_iter().collect::<Vec<_>>()).await?;
    let mut d = Diagnostics::default();
    for (i, ids, own) in checks {
        let path = if *own { planned.endpoint.0[*i].subnet_ids.path.clone() } else { planned.subnet_ids.path.clone() };
        d.extend(Diagnostics(subnet_diagnostics(&found, vpc_id, &ctx.aws.region, ids, &path)));
    }
    Ok(d)
}

/// The route tables exist and are in the VPC.
async fn check_route_tables(ctx: &Ctx, vpc_id: &str, checks: &[(usize, Vec<String>)], planned: &Bundle) -> Result<Diagnostics, Diagnostic> {
    let region = ctx.aws.region.as_str();
    let all: BTreeSet<String> = checks.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
    let found = vpc::route_tables(&ctx.aws.ec2, &all.into_iter().collect::<Vec<_>>()).await?;
    let mut d = Diagnostics::default();
    for (i, ids) in checks {
        for rid in ids {
            let problem = match found.iter().find(|(id, _)| id == rid) {
                None => Some(format!("Route table {rid} does not exist in {region}.")),
                Some((_, v)) if v != vpc_id => Some(format!("Route table {rid} is in {v}, not in {vpc_id}.")),
                _ => None,
            };
            if let Some(p) = problem {
                d.push(Diagnostic::error("Route table not usable", p).at(planned.endpoint.0[*i].route_table_ids.path.clone()));
            }
        }
    }
    Ok(d)
}

/// Each new endpoint's service is offered in the region, as that type.
async fn check_services(ctx: &Ctx, new: &[(usize, Key, bool)], planned: &Bundle) -> Result<Diagnostics, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let names: Vec<String> = new.iter().map(|(_, k, _)| k.0.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let offered = vpce::services(ec2, &names).await?;
    let mut all_names: Option<Vec<String>> = None;
    let mut d = Diagnostics::default();
    for (i, key, _) in new {
        let b = &planned.endpoint.0[*i];
        match offered.iter().find(|s| s.name == key.0) {
            None => {
                if all_names.is_none() {
                    all_names = Some(vpce::all_service_names(ec2).await?);
                }
                let near = near_matches(&key.0, all_names.as_deref().unwrap_or_default());
                let hint = if near.is_empty() { String::new() } else { format!(" Did you mean {}?", near.join(", ")) };
                d.push(
                    Diagnostic::error("Unknown service", format!("{} offers no VPC endpoint service {:?}.{hint}", ctx.aws.region, key.0))
                        .at(b.service.path.clone()),
                );
            }
            Some(s) if !s.kinds.is_empty() && !s.kinds.contains(&key.1) => d.push(
                Diagnostic::error(
                    "Endpoint type not offered",
                    format!("{} is offered as {} only.", key.0, s.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" and ")),
                )
                .at(b.kind.path.clone()),
            ),
            _ => {}
        }
    }
    Ok(d)
}

/// Only one endpoint per service and VPC can own the private DNS name: a
/// new one with private DNS next to another's is an error, unless the
/// bundle adopts existing endpoints.
async fn check_dns_owners(ctx: &Ctx, vpc_id: &str, new: &[(usize, Key, bool)], planned: &Bundle) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    if planned.adopt_existing.bool() == Some(true) {
        return Ok(d);
    }
    let id = planned.id.str();
    for (i, key, _) in new.iter().filter(|(_, _, dns_on)| *dns_on) {
        if let Some(e) = endpoint::dns_owner(ctx, vpc_id, &key.0, key.1, id).await? {
            d.push(
                Diagnostic::error(
                    "An endpoint for this service already exists in the VPC",
                    format!(
                        "{} already has {} for {}; a second one cannot own the private DNS name. Set adopt_existing = true to take it over, or remove it, or set private_dns_enabled = false here.",
                        vpc_id, e.id, key.0
                    ),
                )
                .at(planned.endpoint.0[*i].service.path.clone()),
            );
        }
    }
    Ok(d)
}

/// Destroy plan: clients that the bundle's Interface endpoints admit by
/// security group, still with a network interface in the VPC, lose their
/// private path to those services. Gateway endpoints admit by route table
/// and CIDR clients have no name: neither is checked.
async fn destroy_warnings(ctx: &Ctx, prior: &Bundle) -> Diagnostics {
    let interface: Vec<&EndpointBlock> = prior.endpoint.0.iter().filter(|b| b.kind() == Kind::Interface && b.id.str().is_some()).collect();
    let (Some(vpc_id), false) = (prior.vpc_id.str(), interface.is_empty()) else { return Diagnostics::default() };
    let services: Vec<String> = interface.iter().map(|b| short_service_name(b.service.str().unwrap_or(""))).collect();
    let id = prior.id.str().unwrap_or("");
    let bundle = match prior.name.str() {
        Some(name) => format!("{name} ({id})"),
        None => id.to_string(),
    };
    let going = Going { what: format!("the Interface endpoints of bundle {bundle}"), services: services.join(", "), vpc_id };
    let own: BTreeSet<String> = interface.iter().flat_map(|b| b.network_interface_ids.strings()).collect();
    going.client_warnings(ctx, &prior.allowed_security_group_ids.strings(), |i| own.contains(&i.id)).await
}
