//! Observe and refresh: every part as AWS has it now, so apply starts from
//! the truth and the plan shows what changed behind Terraform's back.

use std::collections::BTreeMap;

use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::model::{List, Val};
use crate::parts::security_group as sg;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint};
use crate::resources::checks;
use crate::resources::composite::{Depth, Read};
use crate::resources::endpoint::{self, short_service_name};
use crate::resources::function::{self, role_extras, FunctionRecord};

use super::apply::{egress_targets, fill_ids, reused_endpoints, Record};
use super::config::{Desired, PrivateFunction};
use super::PrivateFunctionResource;

#[tonic::async_trait]
impl Read for PrivateFunctionResource {
    async fn observe(&self, ctx: &Ctx, prior: Option<&PrivateFunction>, depth: Depth) -> Result<Record, Diagnostic> {
        let Some(prior) = prior else { return Ok(Record::default()) };
        observe(ctx, prior, depth).await
    }

    async fn read(&self, ctx: &Ctx, before: &PrivateFunction) -> Result<Option<PrivateFunction>, Diagnostic> {
        let mut r = observe(ctx, before, Depth::Refresh).await?;
        if r.is_empty() {
            return Ok(None);
        }
        let desired = Desired::from(before, &ctx.aws.region);
        let mut out = before.clone();
        if before.own_role().is_some() {
            out.role_arn.set(crate::model::Val::from_option(r.function.role.clone()));
        }
        if let Some(f) = &r.function.function {
            function::observed(&mut out.function, f, None);
        }
        function::observed_log_group(&mut out.function, r.function.log_group.as_ref());
        let extras = role_extras::observe(ctx, desired.name.clone(), before.function.role_arn.is_null(), &before.function).await?;
        role_extras::observed(&mut out.function, &extras);
        // The reused endpoints, for the egress they should have.
        r.reused = reused_endpoints(ctx, &desired).await?;
        let drift = drift(ctx, &desired, &r).await?;
        out.rule_drift.set_known(List::of(&drift));
        fill_ids(&mut out, &desired, &r);
        Ok(Some(out))
    }
}

async fn observe(ctx: &Ctx, prior: &PrivateFunction, depth: Depth) -> Result<Record, Diagnostic> {
    let name = prior.name.str().unwrap_or("").to_string();
    let made = prior.made_endpoints_by_key(&ctx.aws.region);
    let group_ids: Vec<String> = prior.security_group_id.owned().into_iter().chain(prior.endpoint_security_group_id.owned()).collect();
    let endpoint_ids: Vec<String> = made.values().cloned().collect();
    let endpoints = async {
        if endpoint_ids.is_empty() {
            return Ok(vec![]);
        }
        vpce::find_many(&ctx.aws.ec2, &endpoint_ids).await
    };
    let names = [name.clone()];
    use crate::calls::with_count as n;
    let ((role, c1), (found, c2), (groups, c3), (endpoints, c4), (log_groups, c5)) = tokio::try_join!(
        n(function::observe::role(ctx, name.clone(), prior.own_role().is_some())),
        n(function::observe::function(ctx, name.clone(), prior.function_arn.str().is_some())),
        n(sg::find_many(&ctx.aws.ec2, &group_ids)),
        n(endpoints),
        n(function::observe::log_groups(ctx, &name, &names, matches!(depth, Depth::Apply))),
    )?;
    crate::calls::log_concurrent_reads("read the private function", &[c1, c2, c3, c4, c5]);
    let group = |id: Option<String>| id.and_then(|id| groups.iter().find(|g| g.id == id).cloned());
    let live: Vec<Endpoint> = endpoints.into_iter().filter(|e| !e.is_gone()).collect();
    let log_group = log_groups.into_iter().find(|g| g.name == crate::parts::log_group::lambda_group_name(&name));
    Ok(Record {
        function: FunctionRecord { role, function: found, log_group },
        group: group(prior.security_group_id.owned()),
        endpoint_group: group(prior.endpoint_security_group_id.owned()),
        endpoints: made
            .into_iter()
            .filter_map(|(key, id)| Some((key, with_ensured_dns(live.iter().find(|e| e.id == id)?.clone()))))
            .collect(),
        reused: BTreeMap::new(),
    })
}

/// An endpoint with the inbound-only private DNS apply ensures (off, see
/// `Desired::endpoint_spec`) where AWS's answer does not say (moto never
/// reports DnsOptions); AWS reports it, and then its word stands.
fn with_ensured_dns(mut ep: Endpoint) -> Endpoint {
    let applies = endpoint::inbound_only_applies(Some(&ep.service_name), ep.kind, &Val::Known(ep.private_dns_enabled));
    if applies == Some(true) && ep.private_dns_only_for_inbound_resolver_endpoint.is_none() {
        ep.private_dns_only_for_inbound_resolver_endpoint = Some(false);
    }
    ep
}

impl Record {
    /// Nothing it makes exists: the whole resource is gone.
    pub(super) fn is_empty(&self) -> bool {
        self.function.function.is_none()
            && self.function.role.is_none()
            && self.function.log_group.is_none()
            && self.group.is_none()
            && self.endpoint_group.is_none()
            && self.endpoints.is_empty()
    }
}

/// How the groups' rules and its endpoints differ from what the function
/// needs, one line each (e.g. `function group: unexpected egress all to
/// 0.0.0.0/0`). Plan puts `[]` there, so a change by hand makes the next
/// plan an update, and that apply repairs it.
async fn drift(ctx: &Ctx, d: &Desired, r: &Record) -> Result<Vec<String>, Diagnostic> {
    let mut out = Vec::new();
    let endpoint_group = r.endpoint_group.as_ref().map(|g| g.id.clone());
    if let Some(g) = &r.group {
        let targets = egress_targets(ctx, d, endpoint_group.clone(), &r.reused).await?;
        out.extend(checks::rule_differences("function group", &g.rules, &d.function_group_spec(&targets).rules));
    }
    if let (Some(g), Some(function_group)) = (&r.endpoint_group, &r.group) {
        out.extend(checks::rule_differences("endpoint group", &g.rules, &d.endpoint_group_spec(Some(&function_group.id)).rules));
    }
    for (key, ep) in &r.endpoints {
        let Some(access) = d.access_for(key) else { continue };
        let spec = d.endpoint_spec(access, endpoint_group.as_deref(), &ep.route_table_ids);
        let change = vpce::diff(ep, &spec);
        if !change.is_empty() {
            out.push(format!("endpoint for {} ({}): {}", short_service_name(&key.0), ep.id, changed_settings(&change)));
        }
    }
    out.sort();
    Ok(out)
}

/// What an endpoint's change would set, in words.
fn changed_settings(c: &vpce::Change) -> String {
    let mut what = Vec::new();
    if !c.add_subnet_ids.is_empty() || !c.remove_subnet_ids.is_empty() {
        what.push("subnets");
    }
    if !c.add_security_group_ids.is_empty() || !c.remove_security_group_ids.is_empty() {
        what.push("security groups");
    }
    if c.policy.is_some() {
        what.push("policy");
    }
    if c.private_dns_enabled.is_some() || c.private_dns_only_for_inbound_resolver_endpoint.is_some() {
        what.push("private DNS");
    }
    let verb = if what.len() == 1 && what[0] != "subnets" && what[0] != "security groups" { "differs" } else { "differ" };
    format!("{} {verb} from the configuration", what.join(", "))
}
