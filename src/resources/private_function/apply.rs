//! Apply: each step of the part graph with its work, on the record the
//! steps share; destroy runs the graph backwards. The frame around them
//! (observe first, the state afterwards, also on failure) is the
//! skeleton's (`composite`).

use std::collections::BTreeMap;

use futures::FutureExt;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Path};
use crate::engine::{self, Step};
use crate::model::{Map, Val};
use crate::parts::route_table;
use crate::parts::security_group::{self as sg, Group, Peer};
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};
use crate::resources::composite::{Apply, Run, Steps};
use crate::resources::endpoint::{self, Key};
use crate::resources::function::{self, FunctionRecord};

use super::config::{Desired, PrivateFunction};
use super::steps::{apply_graph, destroy_graph, Op, Own, Part};
use super::PrivateFunctionResource;

/// What exists, as apply learns it. Every finished step writes here, so a
/// failure still returns everything that was made.
#[derive(Default, Clone)]
pub struct Record {
    /// The function, the role it made for it and its log group.
    pub(super) function: FunctionRecord,
    pub(super) group: Option<Group>,
    pub(super) endpoint_group: Option<Group>,
    /// The endpoints it made, by service and type.
    pub(super) endpoints: BTreeMap<Key, Endpoint>,
    /// The endpoints it reuses, by service as written.
    pub(super) reused: BTreeMap<String, Endpoint>,
}

type FunctionRun<'a> = Run<'a, PrivateFunctionResource>;

/// What the configuration wants it to make.
pub(super) fn wanted(d: &Desired) -> Own {
    Own { role: d.function.own_role(), endpoints: d.own_endpoints().map(|a| a.key.clone()).collect() }
}

/// What a (non-null) state records it made, service names in `region`.
pub(super) fn recorded(state: &PrivateFunction, region: &str) -> Own {
    Own { role: state.own_role().is_some(), endpoints: state.made_endpoints_by_key(region).into_keys().collect() }
}

impl Apply for PrivateFunctionResource {
    fn apply_steps<'a>(&'a self, ctx: &'a Ctx, run: FunctionRun<'a>) -> Steps<'a, Self> {
        let d = run.desired;
        let region = ctx.aws.region.as_str();
        let graph = apply_graph(&wanted(d), run.prior.map(|p| recorded(p, region)).as_ref());
        let steps = graph.into_iter().map(move |(op, after)| {
            let work = match &op {
                Op::Ensure(Part::FunctionGroup) => ensure_function_group(ctx, run).boxed(),
                Op::Ensure(Part::EndpointGroup) => ensure_endpoint_group(ctx, run).boxed(),
                Op::Ensure(Part::EndpointIngress) => ensure_endpoint_ingress(ctx, run).boxed(),
                Op::Ensure(Part::FunctionEgress) => ensure_function_egress(ctx, run).boxed(),
                Op::Ensure(Part::Endpoint(key)) => ensure_endpoint(ctx, run, key.clone()).boxed(),
                Op::Ensure(Part::LogGroup) => ensure_log_group(ctx, run).boxed(),
                Op::Ensure(Part::Role) => ensure_role(ctx, run).boxed(),
                Op::Ensure(Part::Function) => ensure_function(ctx, run).boxed(),
                Op::Remove(Part::Endpoint(key)) => remove_endpoint(ctx, run, key.clone()).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, run).boxed(),
                Op::Remove(Part::Role) => remove_role(ctx, run).boxed(),
                Op::Remove(_) => engine::no_work_for(op.clone()),
            };
            let object = object(&op, d, run.record);
            Step::new(op, object, after, work)
        });
        steps.collect()
    }

    fn state_after(planned: &PrivateFunction, desired: &Desired, record: Record) -> PrivateFunction {
        let mut s = planned.clone();
        fill_ids(&mut s, desired, &record);
        s
    }

    fn destroy_steps<'a>(&'a self, ctx: &'a Ctx, run: FunctionRun<'a>) -> Steps<'a, Self> {
        let d = run.desired;
        let had = run.prior.map(|p| recorded(p, &ctx.aws.region)).unwrap_or_default();
        let steps = destroy_graph(&had).into_iter().map(move |(op, after)| {
            let work = match &op {
                Op::Remove(Part::Function) => remove_function(ctx, run).boxed(),
                Op::Remove(Part::LogGroup) => remove_log_group(ctx, run).boxed(),
                Op::Remove(Part::Role) => remove_role(ctx, run).boxed(),
                Op::Remove(Part::Endpoint(key)) => remove_endpoint(ctx, run, key.clone()).boxed(),
                Op::Remove(Part::FunctionEgress) => remove_function_egress(ctx, run).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, run).boxed(),
                Op::Remove(Part::FunctionGroup) => remove_function_group(ctx, run).boxed(),
                // Not steps of destroy: the ingress rule goes with its group.
                Op::Remove(Part::EndpointIngress) | Op::Ensure(_) => engine::no_work_for(op.clone()),
            };
            let object = object(&op, d, run.record);
            Step::new(op, object, after, work)
        });
        steps.collect()
    }

    /// What is still there, so the next destroy finishes the job.
    fn still_there(prior: &PrivateFunction, desired: &Desired, record: Record, _done: &[Op]) -> PrivateFunction {
        let mut s = prior.clone();
        fill_ids(&mut s, desired, &record);
        s
    }
}

/// The AWS object behind a step, for diagnostics.
fn object(op: &Op, d: &Desired, record: &crate::resources::record::StepRecord<Record>) -> String {
    let (Op::Ensure(part) | Op::Remove(part)) = op;
    let name = &d.name;
    match part {
        Part::Role => format!("IAM role {name}"),
        Part::LogGroup => format!("CloudWatch Logs log group {}", d.function.log_group_name()),
        Part::Function => format!("Lambda function {name}"),
        Part::FunctionGroup => format!("security group {}", super::config::function_group_name(name)),
        Part::EndpointGroup => format!("security group {}", super::config::endpoint_group_name(name)),
        Part::FunctionEgress => format!("egress rules of security group {}", super::config::function_group_name(name)),
        Part::EndpointIngress => format!("ingress rules of security group {}", super::config::endpoint_group_name(name)),
        Part::Endpoint(key) => {
            let short = endpoint::short_service_name(&key.0);
            match record.get(|r| r.endpoints.get(key).map(|e| e.id.clone())) {
                Some(id) => format!("{} endpoint for {short} ({id})", key.1.as_str()),
                None => format!("{} endpoint for {short}", key.1.as_str()),
            }
        }
    }
}

/// Every id of `s` from what exists now.
pub(super) fn fill_ids(s: &mut PrivateFunction, d: &Desired, r: &Record) {
    let id = |v: Option<String>| Val::from_option(v);
    s.function_arn.set(id(r.function.function.as_ref().map(|f| f.arn.clone())));
    s.security_group_id.set(id(r.group.as_ref().map(|g| g.id.clone())));
    s.endpoint_security_group_id.set(id(r.endpoint_group.as_ref().map(|g| g.id.clone())));
    if s.role_arn.is_unknown() || r.function.role.is_some() || s.function.role_arn.is_null() {
        s.role_arn.set(id(r.function.role.clone().or(d.function.role_arn.clone())));
    }
    let mut endpoints: BTreeMap<String, String> = BTreeMap::new();
    for a in &d.access {
        let found = match &a.reuse {
            Some(reused) => Some(reused.clone()),
            None => r.endpoints.get(&a.key).map(|e| e.id.clone()),
        };
        if let Some(found) = found {
            endpoints.insert(a.service.clone(), found);
        }
    }
    s.endpoints.set_known(Map::of(&endpoints));
    let block = &mut s.function.0;
    match &r.function.function {
        Some(f) => block.code_sha256.set_known(f.code_sha256.clone()),
        None if block.code_sha256.is_unknown() => block.code_sha256.set(Val::Null),
        None => {}
    }
    // The group's name says it exists: none when it was not made (a
    // failed apply) or is gone, so the next plan makes it.
    block.log_group_name.set(id(r.function.log_group.as_ref().map(|g| g.name.clone())));
}

/// A group first made with what is known (`on_created` records it at once,
/// so a failure later still returns it).
fn made_group(spec: &sg::GroupSpec, id: &str) -> Group {
    Group { id: id.to_string(), name: spec.name.clone(), vpc_id: spec.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] }
}

async fn ensure_function_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    // The egress may name groups and prefix lists not known yet:
    // `function-egress` completes it; a new group starts with no rule.
    let known = run.record.get(|r| r.group.clone());
    let targets = known.as_ref().map(egress_peers).unwrap_or_default();
    let spec = run.desired.function_group_spec(&targets);
    let on_created = |id: &str| run.record.set(|r| r.group = Some(made_group(&spec, id)));
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    run.record.set(|r| r.group = Some(g));
    Ok(())
}

/// The peers a group's egress names now (kept while the egress step has
/// not run, so ensuring the group does not revoke what that step will keep).
fn egress_peers(g: &Group) -> Vec<Peer> {
    let wanted = |r: &&sg::Rule| r.direction == sg::Direction::Egress && r.protocol == "tcp" && r.from_port == 443 && r.to_port == 443;
    g.rules.iter().filter(wanted).map(|r| r.peer.clone()).filter(|p| !matches!(p, Peer::Cidr(_))).collect()
}

async fn ensure_endpoint_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let (known, function_group) = run.record.get(|r| (r.endpoint_group.clone(), r.group.as_ref().map(|g| g.id.clone())));
    let spec = run.desired.endpoint_group_spec(function_group.as_deref());
    let on_created = |id: &str| run.record.set(|r| r.endpoint_group = Some(made_group(&spec, id)));
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    run.record.set(|r| r.endpoint_group = Some(g));
    Ok(())
}

async fn ensure_endpoint_ingress(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let (group, function_group) = run.record.get(|r| (r.endpoint_group.clone(), r.group.as_ref().map(|g| g.id.clone())));
    let Some(group) = group else { return Ok(()) };
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &run.desired.endpoint_group_spec(function_group.as_deref()).rules).await?;
    run.record.set(|r| r.endpoint_group = Some(done));
    Ok(())
}

/// The function's egress: TCP 443 to the endpoints' group, to each reused
/// Interface endpoint's groups, and to each Gateway service's prefix list.
async fn ensure_function_egress(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let reused = find_reused(ctx, run.desired).await?;
    run.record.set(|r| r.reused = reused.clone());
    let Some(group) = run.record.get(|r| r.group.clone()) else { return Ok(()) };
    let endpoint_group = run.record.get(|r| r.endpoint_group.as_ref().map(|g| g.id.clone()));
    let peers = egress_targets(ctx, run.desired, endpoint_group, &reused).await?;
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &run.desired.function_group_spec(&peers).rules).await?;
    run.record.set(|r| r.group = Some(done));
    Ok(())
}

/// The endpoints the accesses reuse, as they are now (gone ones left
/// out), by service as written: one DescribeVpcEndpoints for all.
pub(super) async fn reused_endpoints(ctx: &Ctx, d: &Desired) -> Result<BTreeMap<String, Endpoint>, Diagnostic> {
    let ids: Vec<String> = d.access.iter().filter_map(|a| a.reuse.clone()).collect();
    let found = vpce::find_many(&ctx.aws.ec2, &ids).await?;
    let live = |id: &String| found.iter().find(|e| &e.id == id && !e.is_gone()).cloned();
    Ok(d.access.iter().filter_map(|a| Some((a.service.clone(), live(a.reuse.as_ref()?)?))).collect())
}

/// The reused endpoints for apply: each must exist.
async fn find_reused(ctx: &Ctx, d: &Desired) -> Result<BTreeMap<String, Endpoint>, Diagnostic> {
    let found = reused_endpoints(ctx, d).await?;
    let missing = d.access.iter().enumerate().find(|(_, a)| a.reuse.is_some() && !found.contains_key(&a.service));
    if let Some((i, a)) = missing {
        let id = a.reuse.as_deref().unwrap_or_default();
        return Err(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {}.", ctx.aws.region))
            .at(Path::attr("access").index(i).then("endpoint_id")));
    }
    Ok(found)
}

/// Where the function's egress goes, sorted: see `ensure_function_egress`.
pub(super) async fn egress_targets(
    ctx: &Ctx,
    d: &Desired,
    endpoint_group: Option<String>,
    reused: &BTreeMap<String, Endpoint>,
) -> Result<Vec<Peer>, Diagnostic> {
    let mut peers: Vec<Peer> = Vec::new();
    if d.needs_endpoint_group() {
        peers.extend(endpoint_group.map(Peer::Group));
    }
    let mut gateways: Vec<String> = Vec::new();
    for a in &d.access {
        match (&a.reuse, reused.get(&a.service)) {
            (Some(_), Some(ep)) if ep.kind == Kind::Interface => peers.extend(ep.security_group_ids.iter().cloned().map(Peer::Group)),
            (Some(_), Some(ep)) => gateways.push(ep.service_name.clone()),
            (Some(_), None) => {}
            (None, _) if a.kind() == Kind::Gateway => gateways.push(a.key.0.clone()),
            (None, _) => {}
        }
    }
    if !gateways.is_empty() {
        let lists = vpc::prefix_lists(&ctx.aws.ec2, &gateways).await?;
        for service in &gateways {
            let list = lists.iter().find(|(n, _)| n == service).map(|(_, id)| id.clone()).ok_or_else(|| {
                Diagnostic::error(
                    "No prefix list for a Gateway service",
                    format!(
                        "ec2:DescribePrefixLists has no prefix list for {service} in {}, so the function's group cannot allow HTTPS to it.",
                        ctx.aws.region
                    ),
                )
            })?;
            peers.push(Peer::PrefixList(list));
        }
    }
    peers.sort();
    peers.dedup();
    Ok(peers)
}

/// One endpoint of an access: Interface behind the endpoints' group, or
/// Gateway on the subnets' route tables.
async fn ensure_endpoint(ctx: &Ctx, run: FunctionRun<'_>, key: Key) -> Result<(), Diagnostic> {
    let d = run.desired;
    let Some(access) = d.access_for(&key) else { return Ok(()) };
    let (known, group) = run.record.get(|r| (r.endpoints.get(&key).cloned(), r.endpoint_group.as_ref().map(|g| g.id.clone())));
    let tables = match key.1 {
        Kind::Gateway => subnet_route_tables(ctx, d).await?,
        Kind::Interface => vec![],
    };
    let spec = d.endpoint_spec(access, group.as_deref(), &tables);
    let on_created = |id: &str| tracing::info!(endpoint = %id, service = %access.service, "endpoint created");
    let mut ep = vpce::ensure(&ctx.aws.ec2, &spec, known, false, run.timeout, on_created).await?;
    // What was just ensured, where AWS's answer does not say (moto never
    // reports DnsOptions); AWS reports it and then its word stands.
    ep.private_dns_only_for_inbound_resolver_endpoint =
        ep.private_dns_only_for_inbound_resolver_endpoint.or(spec.private_dns_only_for_inbound_resolver_endpoint);
    run.record.set(|r| r.endpoints.insert(key, ep));
    Ok(())
}

/// The route tables that serve the subnets: each subnet's own table, or
/// the VPC's main table for a subnet associated with none.
async fn subnet_route_tables(ctx: &Ctx, d: &Desired) -> Result<Vec<String>, Diagnostic> {
    let tables = route_table::in_vpc(&ctx.aws.ec2, &d.vpc_id).await?;
    Ok(tables_of(&tables, &d.subnets))
}

pub(super) fn tables_of(tables: &[route_table::Table], subnets: &[String]) -> Vec<String> {
    let main = tables.iter().find(|t| t.main).map(|t| t.id.clone());
    let mut out: Vec<String> = subnets
        .iter()
        .filter_map(|s| tables.iter().find(|t| t.subnet_ids.contains(s)).map(|t| t.id.clone()).or_else(|| main.clone()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The function's log group, before the function and its role.
async fn ensure_log_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.function.log_group.clone());
    let spec = run.desired.function.log_group_spec(&run.desired.placement());
    let g = function::ensure_log_group(ctx, &spec, known).await?;
    run.record.set(|r| r.function.log_group = Some(g));
    Ok(())
}

/// Its own role: the policy names the log group, so it comes after it.
async fn ensure_role(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let logs = run.record.get(|r| r.function.log_group.as_ref().map(|g| g.arn.clone())).unwrap_or_default();
    let spec = run.desired.role_spec(&logs);
    let arn = match function::ensure_role(ctx, &spec).await {
        Ok(arn) => arn,
        Err(e) => {
            // Made, but refused a policy: recorded all the same, so the
            // state keeps it and a destroy removes it.
            if let Ok(Some(arn)) = function::observe::role(ctx, spec.name.clone(), true).await {
                run.record.set(|r| r.function.role = Some(arn));
            }
            return Err(e);
        }
    };
    run.record.set(|r| r.function.role = Some(arn));
    Ok(())
}

/// The function in its group (and the user's extra groups), with its role.
async fn ensure_function(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let f = &run.desired.function;
    let (known, role_arn, groups) = run.record.get(|r| {
        (
            r.function.function.clone(),
            f.role_arn.clone().or(r.function.role.clone()).unwrap_or_default(),
            r.group.iter().map(|g| g.id.clone()).collect::<Vec<_>>(),
        )
    });
    let spec = f.spec(&role_arn, &groups, None, &run.desired.placement());
    let made = function::ensure(ctx, f, &spec, known, run.timeout).await?;
    run.record.set(|r| r.function.function = Some(made));
    Ok(())
}

async fn remove_function(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.function.function.clone());
    function::remove(ctx, known, run.timeout).await?;
    run.record.set(|r| r.function.function = None);
    Ok(())
}

async fn remove_log_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    if let Some(name) = run.record.get(|r| r.function.log_group.as_ref().map(|g| g.name.clone())) {
        function::remove_log_group(ctx, &name).await?;
    }
    run.record.set(|r| r.function.log_group = None);
    Ok(())
}

async fn remove_role(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    function::remove_role(ctx, &run.desired.name).await?;
    run.record.set(|r| r.function.role = None);
    Ok(())
}

async fn remove_endpoint(ctx: &Ctx, run: FunctionRun<'_>, key: Key) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.endpoints.get(&key).map(|e| e.id.clone())) {
        endpoint::remove(ctx, &id, run.timeout).await?;
    }
    run.record.set(|r| r.endpoints.remove(&key));
    Ok(())
}

async fn remove_function_egress(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    if let Some(g) = run.record.get(|r| r.group.clone()) {
        sg::reconcile_rules(&ctx.aws.ec2, &g.id, &g.rules, &[]).await?;
        let now = sg::find(&ctx.aws.ec2, &g.id).await?;
        run.record.set(|r| r.group = now);
    }
    Ok(())
}

async fn remove_endpoint_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.endpoint_group.as_ref().map(|g| g.id.clone())) {
        sg::delete(&ctx.aws.ec2, &id, run.timeout).await?;
    }
    run.record.set(|r| r.endpoint_group = None);
    Ok(())
}

async fn remove_function_group(ctx: &Ctx, run: FunctionRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.group.as_ref().map(|g| g.id.clone())) {
        sg::delete(&ctx.aws.ec2, &id, run.timeout).await?;
    }
    run.record.set(|r| r.group = None);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::route_table::Table;

    fn table(id: &str, main: bool, subnets: &[&str]) -> Table {
        Table { id: id.into(), main, subnet_ids: subnets.iter().map(|s| s.to_string()).collect(), routes: vec![] }
    }

    #[test]
    fn a_gateway_goes_on_each_subnets_table_or_the_main_one() {
        let tables = [table("rtb-main", true, &[]), table("rtb-a", false, &["subnet-a"]), table("rtb-b", false, &["subnet-b"])];
        let subnets = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(tables_of(&tables, &subnets(&["subnet-a", "subnet-b"])), ["rtb-a", "rtb-b"]);
        assert_eq!(tables_of(&tables, &subnets(&["subnet-a", "subnet-c"])), ["rtb-a", "rtb-main"]);
        assert_eq!(tables_of(&tables, &subnets(&["subnet-a", "subnet-a"])), ["rtb-a"]);
    }
}
