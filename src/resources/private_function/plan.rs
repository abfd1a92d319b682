//! The planned state (unknowns, defaults, replace paths), the plan-time
//! checks against AWS, and the warnings of a destroy plan.

use std::collections::BTreeMap;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{List, Map, Val};
use crate::parts::security_group::{self as sg, Direction, Peer};
use crate::parts::tags::Tags;
use crate::parts::vpc_endpoint::{Endpoint, Kind};
use crate::resources::composite::{Plan, PlanEnv};
use crate::resources::endpoint::{self, full_service_name, short_service_name};
use crate::resources::function::{self, role_extras, FunctionUse, TRACING_SERVICE};
use crate::resources::{check_subnets, checks, Going};

use super::config::{AccessBlock, Desired, PrivateFunction};
use super::PrivateFunctionResource;

#[tonic::async_trait]
impl Plan for PrivateFunctionResource {
    fn replace_paths(&self, prior: &PrivateFunction, config: &PrivateFunction) -> Vec<Path> {
        let mut out: Vec<Path> = [(&prior.name, &config.name), (&prior.vpc_id, &config.vpc_id)]
            .into_iter()
            .filter(|(before, after)| before != after)
            .map(|(_, after)| after.path.clone())
            .collect();
        // Lambda cannot change a function's package type (zip or image).
        let (before, after) = (&prior.function.image_uri, &config.function.image_uri);
        if !after.is_unknown() && before.is_null() != after.is_null() {
            out.push(after.path.clone());
        }
        out
    }

    /// AWS's limits that need the provider's configuration, checked without
    /// calling AWS: the tags every object will carry, the layers' region, the
    /// environment's size, and the role's inline policies with the user's
    /// statements.
    fn limits(&self, env: &PlanEnv<'_>, config: &PrivateFunction) -> Diagnostics {
        let mut d = Diagnostics::default();
        checks::check_tag_count(&mut d, env.default_tags, &config.tags, function::PROVIDER_TAGS);
        if let Some(region) = env.region {
            function::check_layer_regions(&mut d, &config.function, region);
        }
        function::check_environment_size(&mut d, &config.function.environment, None);
        let block = &config.function;
        if let (Some(statements), true) = (block.policy_statements.str(), block.role_arn.is_null()) {
            // The composite's own document as apply will write it, with the
            // longest ARNs the plan cannot know yet (a 14-character region).
            let region = env.region.unwrap_or("ap-southeast-1");
            let mut desired = Desired::from(config, region);
            desired.function.policy_statements = None;
            let logs = crate::policy::log_group_arn("aws", region, "123456789012", &desired.function.log_group_name());
            let own: usize = desired.role_spec(&logs).inline_policies.values().map(|doc| crate::policy::policy_size(doc)).sum();
            role_extras::check_policy_size(&mut d, statements, own, &block.policy_statements.path);
        }
        d
    }

    fn plan(
        &self,
        env: &PlanEnv<'_>,
        prior: Option<&PrivateFunction>,
        proposed: &PrivateFunction,
        config: &PrivateFunction,
    ) -> Result<PrivateFunction, Diagnostics> {
        plan_state(env.default_tags, prior, proposed, config)
    }

    /// Checks that need AWS, only for what is new or changed, so a plan
    /// with no changes makes no calls. `prior` is None for a create or a
    /// replace.
    async fn check_against_aws(
        &self,
        ctx: &Ctx,
        prior: Option<&PrivateFunction>,
        planned: &PrivateFunction,
    ) -> Result<Diagnostics, Diagnostic> {
        let mut d = Diagnostics::default();
        let Some(vpc_id) = planned.vpc_id.str() else { return Ok(d) };
        d.extend(check_subnets(ctx, prior.map(|p| &p.subnet_ids), &planned.subnet_ids, vpc_id).await?);
        let mut vpc_dns_checked = false;
        for (i, a) in planned.access.0.iter().enumerate() {
            let Some(service) = a.service.str() else { continue };
            let unchanged = prior
                .and_then(|p| prior_access(p, service))
                .is_some_and(|b| b.kind() == a.kind() && b.endpoint_id == a.endpoint_id && p_recorded(prior, service));
            if unchanged || a.endpoint_id.is_unknown() {
                continue;
            }
            let full = full_service_name(service, &ctx.aws.region);
            let at = Path::attr("access").index(i);
            match a.endpoint_id.str() {
                Some(id) => d.extend(check_reused(ctx, vpc_id, id, &full, a, planned, &at).await?),
                None => {
                    if a.kind() == Kind::Interface && !vpc_dns_checked {
                        vpc_dns_checked = true;
                        let summary = "An Interface endpoint's private DNS needs DNS support and DNS hostnames on the VPC";
                        d.extend(endpoint::check_vpc_dns(ctx, vpc_id, summary, "").await?.into_iter().collect());
                    }
                    d.extend(check_new_endpoint(ctx, vpc_id, &full, a.kind(), &planned.owner(), &at).await?);
                }
            }
        }
        let before = prior.map(|p| &*p.function);
        d.extend(function::check_reserved_concurrency(ctx, &planned.function, before).await?);
        let traced_here = planned.access.0.iter().any(|a| a.service.str().is_some_and(|s| short_service_name(s) == TRACING_SERVICE));
        if !traced_here {
            d.extend(function::check_tracing_path(ctx, &planned.function, before, vpc_id).await?);
        }
        Ok(d)
    }

    /// The endpoints it made go with it (reused ones stay). Other clients
    /// their group admits (e.g. another function put in its group) lose
    /// their private path to those services.
    async fn destroy_warnings(&self, ctx: &Ctx, prior: &PrivateFunction) -> Diagnostics {
        let (Some(group_id), Some(vpc_id)) = (prior.endpoint_security_group_id.str(), prior.vpc_id.str()) else {
            return Diagnostics::default();
        };
        let name = prior.name.str().unwrap_or("").to_string();
        let services = prior.made_endpoints().into_keys().map(|s| short_service_name(&s)).collect::<Vec<_>>().join(", ");
        let going = Going { what: format!("the endpoints of function {name}"), services, vpc_id };
        let admitted = match ctx.run("reading the endpoints' group", sg::find(&ctx.aws.ec2, group_id)).await {
            Ok(Some(g)) => endpoint::admitted_groups(&g),
            Ok(None) => return Diagnostics::default(),
            Err(e) => return going.unchecked(e).into(),
        };
        going.client_warnings(ctx, &admitted, |i| i.lambda_function().as_deref() == Some(name.as_str())).await
    }
}

/// The planned state: config values, defaults where the schema computes
/// them, prior ids for parts that stay, unknown for parts apply will make.
fn plan_state(
    default_tags: &Tags,
    prior: Option<&PrivateFunction>,
    proposed: &PrivateFunction,
    config: &PrivateFunction,
) -> Result<PrivateFunction, Diagnostics> {
    let mut s = proposed.clone();
    s.id.set(config.name.val.clone());
    s.tags_all.set(checks::plan_tags_all(default_tags, &config.tags));
    let mut diags = Diagnostics::default();
    function::plan(&mut s.function, &config.function, prior.map(|p| &*p.function), FunctionUse::Private, &mut diags);
    function::plan_log_group(&mut s.function, &config.function, FunctionUse::Private, &config.name.val);
    if diags.has_errors() {
        return Err(diags);
    }
    for (planned, cfg) in s.access.0.iter_mut().zip(&config.access.0) {
        if cfg.endpoint_type.is_null() {
            planned.endpoint_type.set_known("Interface".into());
        }
    }
    plan_ids(&mut s, prior, config);
    s.rule_drift.set_known(List::default());
    Ok(s)
}

/// Ids: kept when the part stays, unknown when apply makes it; the role's
/// is the user's when they bring one, the endpoints' group's null when no
/// access makes an Interface endpoint.
fn plan_ids(s: &mut PrivateFunction, prior: Option<&PrivateFunction>, config: &PrivateFunction) {
    let kept: Vec<Val<String>> = match prior {
        Some(p) => p.ids().iter().map(|a| a.owned().map(Val::Known).unwrap_or(Val::Unknown)).collect(),
        None => vec![Val::Unknown; 4],
    };
    for (a, k) in s.ids_mut().into_iter().zip(kept) {
        a.set(k);
    }
    if !config.function.role_arn.is_null() {
        s.role_arn.set(config.function.role_arn.val.clone());
    } else if prior.is_some_and(|p| !p.function.role_arn.is_null()) {
        s.role_arn.set(Val::Unknown);
    }
    let own_interface = |a: &AccessBlock| a.endpoint_id.is_null() && a.kind() == Kind::Interface;
    if config.access.0.iter().all(|a| !a.endpoint_id.is_unknown() && !a.endpoint_type.is_unknown() && !own_interface(a)) {
        s.endpoint_security_group_id.set(Val::Null);
    }
    s.endpoints.set(planned_endpoints(prior, config));
}

/// The endpoint of each access: the reused one, or the one the prior made
/// for the same service and type; unknown as a whole while any is to be made.
fn planned_endpoints(prior: Option<&PrivateFunction>, config: &PrivateFunction) -> Val<Map<String>> {
    let made = prior.map(PrivateFunction::made_endpoints).unwrap_or_default();
    let mut out = BTreeMap::new();
    for a in &config.access.0 {
        let Some(service) = a.service.str() else { return Val::Unknown };
        let id = match &a.endpoint_id.val {
            Val::Known(id) => id.clone(),
            Val::Unknown => return Val::Unknown,
            Val::Null => {
                let same_kind =
                    prior.and_then(|p| prior_access(p, service)).is_some_and(|b| b.kind() == a.kind() && b.endpoint_id.is_null());
                match (made.get(service), same_kind) {
                    (Some(id), true) => id.clone(),
                    _ => return Val::Unknown,
                }
            }
        };
        out.insert(service.to_string(), id);
    }
    Val::Known(Map::of(&out))
}

fn prior_access<'a>(p: &'a PrivateFunction, service: &str) -> Option<&'a AccessBlock> {
    p.access.0.iter().find(|a| a.service.str() == Some(service))
}

// ---------------------------------------------------------------- plan-time checks

/// Whether the prior state has an endpoint for `service` (so it was checked).
fn p_recorded(prior: Option<&PrivateFunction>, service: &str) -> bool {
    prior.is_some_and(|p| p.endpoints.entries().contains_key(service))
}

/// An endpoint it will make: no other endpoint of the service may stand in
/// its way. An Interface endpoint's private DNS name belongs to one
/// endpoint per VPC; a second Gateway endpoint would route the same prefix
/// list on the same tables; and an S3 Interface endpoint with private DNS
/// next to the VPC's S3 Gateway would take the S3 traffic of everything
/// else in the VPC. Each says how to use the endpoint there instead.
async fn check_new_endpoint(ctx: &Ctx, vpc_id: &str, full: &str, kind: Kind, owner: &str, at: &Path) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let short = short_service_name(full);
    let existing = crate::parts::vpc_endpoint::find_for_service(&ctx.aws.ec2, vpc_id, full).await?;
    let others: Vec<&Endpoint> =
        existing.iter().filter(|e| !e.is_gone() && e.tags.get(crate::parts::tags::OWNER_TAG).map(String::as_str) != Some(owner)).collect();
    let reuse = |e: &Endpoint| {
        format!(
            "use it instead: access {{ service = \"{short}\", endpoint_id = \"{}\", endpoint_type = \"{}\", ... }}",
            e.id,
            e.kind.as_str()
        )
    };
    let problem = match kind {
        Kind::Interface => others.iter().find(|e| e.kind == Kind::Interface).map(|e| {
            (
                format!("The VPC already has an {short} Interface endpoint"),
                format!("{vpc_id} already has {} for {short}, which owns the service's private DNS name; {}.", e.id, reuse(e)),
            )
        }),
        Kind::Gateway => None,
    }
    .or_else(|| {
        let gateway = others.iter().find(|e| e.kind == Kind::Gateway)?;
        Some(match kind {
            Kind::Gateway => (
                format!("The VPC already has an {short} Gateway endpoint"),
                format!("{vpc_id} already has {} for {short}; a second one would route the same prefix list; {}.", gateway.id, reuse(gateway)),
            ),
            Kind::Interface => (
                format!("The VPC's {short} traffic goes through a Gateway endpoint"),
                format!(
                    "{vpc_id} has the Gateway endpoint {} for {short}. An Interface endpoint with private DNS would take every {short} call in the VPC, and admit only this function; {}.",
                    gateway.id,
                    reuse(gateway)
                ),
            ),
        })
    });
    if let Some((summary, detail)) = problem {
        d.push(Diagnostic::error(summary, detail).at(at.then("service")));
    }
    Ok(d)
}

/// An endpoint to reuse: it exists, in the VPC, for the access's service
/// and of its type; an Interface one should admit the function (its group,
/// or one of function.security_group_ids): a warning naming the fix when
/// none of its groups does.
async fn check_reused(
    ctx: &Ctx,
    vpc_id: &str,
    id: &str,
    full: &str,
    a: &AccessBlock,
    planned: &PrivateFunction,
    at: &Path,
) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let short = short_service_name(full);
    let here = at.then("endpoint_id");
    let Some(e) = endpoint::find_live(ctx, id).await? else {
        d.push(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {}.", ctx.aws.region)).at(here));
        return Ok(d);
    };
    if e.vpc_id != vpc_id {
        d.push(Diagnostic::error("Endpoint in another VPC", format!("{id} is in {}, not in {vpc_id}.", e.vpc_id)).at(here));
    } else if e.service_name != full {
        d.push(
            Diagnostic::error(format!("Not an {short} endpoint"), format!("{id} is an endpoint for {}, not for {full}.", e.service_name))
                .at(here),
        );
    } else if e.kind != a.kind() {
        d.push(
            Diagnostic::error(
                "Endpoint of another type",
                format!("{id} is a {} endpoint: set endpoint_type = \"{}\" in this access block.", e.kind.as_str(), e.kind.as_str()),
            )
            .at(at.then("endpoint_type")),
        );
    } else if e.kind == Kind::Interface {
        d.extend(check_admitted(ctx, &e, planned, &here).await?);
    }
    Ok(d)
}

/// A reused Interface endpoint's groups let the function in on TCP 443:
/// its own group or one of the user's extra groups, or any address (a
/// CIDR rule). When they do not, the function's calls would time out: an
/// error with the fix once its group exists (the endpoint can admit it
/// now); before the create, a warning, as the group to admit is made by
/// this apply (unless an extra group the endpoint admits is given).
async fn check_admitted(ctx: &Ctx, e: &Endpoint, planned: &PrivateFunction, at: &Path) -> Result<Diagnostics, Diagnostic> {
    let mut clients: Vec<String> = planned.function.security_group_ids.strings();
    clients.extend(planned.security_group_id.owned());
    let groups = sg::find_many(&ctx.aws.ec2, &e.security_group_ids).await?;
    let admits = groups.iter().flat_map(|g| &g.rules).any(|r| {
        r.direction == Direction::Ingress
            && (r.protocol == "-1" || (r.protocol == "tcp" && r.from_port <= 443 && r.to_port >= 443))
            && match &r.peer {
                Peer::Group(g) => clients.contains(g),
                Peer::Cidr(_) => true,
                Peer::PrefixList(_) => false,
            }
    });
    let mut d = Diagnostics::default();
    if !admits {
        let whom = match planned.security_group_id.str() {
            Some(g) => format!("the function's group {g}"),
            None => "the function's group (made by this apply)".to_string(),
        };
        let mut problem = Diagnostic::error(
            "The reused endpoint does not admit the function",
            format!(
                "No group of {} ({}) allows TCP 443 in from {whom} or from function.security_group_ids, so the function's calls to it would time out. Admit one of them there (a privatelink_service_endpoint_bundle: allowed_security_group_ids), or add a group the endpoint admits to function.security_group_ids.",
                e.id,
                e.security_group_ids.join(", ")
            ),
        )
        .at(at.clone());
        if planned.security_group_id.str().is_none() {
            problem.severity = crate::diag::Severity::Warning;
        }
        d.push(problem);
    }
    Ok(d)
}
