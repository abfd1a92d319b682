//! The planned state (unknowns, defaults, replace paths), the plan-time checks against AWS, and the warnings of a destroy plan.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- plan

/// The attributes whose change replaces the pipeline.
pub(super) fn replace_paths(prior: &Pipeline, config: &Pipeline) -> Vec<Path> {
    let mut out = Vec::new();
    for a in [&config.name, &config.vpc_id] {
        let before = if a.path == config.name.path { &prior.name } else { &prior.vpc_id };
        if before != a {
            out.push(a.path.clone());
        }
    }
    let fifo = |p: &Pipeline| p.queue.fifo.bool() == Some(true);
    if fifo(prior) != fifo(config) {
        out.push(config.queue.fifo.path.clone());
    }
    out
}

/// The planned state: config values, defaults where the schema computes
/// them, prior ids for parts that stay, unknown for parts apply will make.
/// `prior` is None for a create or a replace.
pub(super) fn plan_state(
    default_tags: &Tags,
    prior: Option<&Pipeline>,
    proposed: &Pipeline,
    config: &Pipeline,
) -> Result<Pipeline, Diagnostics> {
    let mut s = proposed.clone();
    s.id.set(config.name.val.clone());
    s.tags_all.set(checks::plan_tags_all(default_tags, &config.tags));
    let mut diags = Diagnostics::default();
    plan_function(&mut s.producer, &config.producer, true, &mut diags);
    plan_function(&mut s.consumer, &config.consumer, false, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    plan_settings(&mut s, config);
    plan_ids(&mut s, prior, config);
    s.rule_drift.set_known(List::default());
    Ok(s)
}

/// A function block's defaults, and its code's hash from the files now:
/// a change is an update of the function's code, known at plan.
fn plan_function(f: &mut FunctionBlock, cfg: &FunctionBlock, producer: bool, diags: &mut Diagnostics) {
    f.memory_size.set(default_to(&cfg.memory_size, DEFAULT_MEMORY as f64));
    f.timeout.set(default_to(&cfg.timeout, DEFAULT_TIMEOUT as f64));
    if producer {
        f.queue_url_env_var.set(default_to(&cfg.queue_url_env_var, DEFAULT_QUEUE_URL_VAR.to_string()));
    } else {
        f.in_vpc.set(default_to(&cfg.in_vpc, false));
    }
    let hash = if cfg.source_dir.is_unknown() || cfg.filename.is_unknown() {
        Val::Unknown
    } else {
        match CodeSource::of(cfg).map(|c| c.load()) {
            Some(Ok(code)) => Val::Known(code.sha256),
            Some(Err(e)) => {
                let at = if cfg.source_dir.is_null() { &cfg.filename.path } else { &cfg.source_dir.path };
                diags.push(Diagnostic::error("Cannot read the function's code", e).at(at.clone()));
                Val::Unknown
            }
            None => Val::Unknown,
        }
    };
    f.code_sha256.set(hash);
}

/// The configuration's value, or `default` when it leaves it unset.
fn default_to<T: Clone>(cfg: &Attr<T>, default: T) -> Val<T> {
    match &cfg.val {
        Val::Null => Val::Known(default),
        v => v.clone(),
    }
}

/// `planned` becomes `value` where the configuration leaves it unset.
fn fill<T>(planned: &mut Attr<T>, cfg: &Attr<T>, value: T) {
    if cfg.val.is_null() {
        planned.val = Val::Known(value);
    }
}

/// Settings blocks show their effective values: what the configuration
/// says, else the default. Terraform proposes the prior (observed) value
/// for an unset optional+computed setting; planning the default instead is
/// what makes a setting changed behind Terraform's back a diff that apply
/// repairs.
fn plan_settings(s: &mut Pipeline, config: &Pipeline) {
    let mut basis = s.clone();
    basis.queue = config.queue.clone();
    basis.event_source = config.event_source.clone();
    let eff = Desired::from(&basis);
    let (q, cq) = (&mut s.queue, &config.queue);
    fill(&mut q.fifo, &cq.fifo, eff.fifo);
    fill(&mut q.visibility_timeout_seconds, &cq.visibility_timeout_seconds, eff.visibility as f64);
    fill(&mut q.message_retention_seconds, &cq.message_retention_seconds, eff.retention as f64);
    fill(&mut q.max_receive_count, &cq.max_receive_count, eff.max_receive as f64);
    fill(&mut q.dead_letter_retention_seconds, &cq.dead_letter_retention_seconds, eff.dlq_retention as f64);
    let (es, ces) = (&mut s.event_source, &config.event_source);
    fill(&mut es.batch_size, &ces.batch_size, eff.mapping.batch_size as f64);
    fill(&mut es.maximum_batching_window_seconds, &ces.maximum_batching_window_seconds, eff.mapping.window as f64);
    fill(&mut es.report_batch_item_failures, &ces.report_batch_item_failures, eff.mapping.report_failures);
    fill(&mut es.enabled, &ces.enabled, eff.mapping.enabled);
    if config.endpoint.create.is_null() {
        let reuse = &config.endpoint.endpoint_id;
        s.endpoint.create.set(if reuse.is_unknown() { Val::Unknown } else { Val::Known(reuse.is_null()) });
    }
}

/// Ids of the parts: kept when the part exists and stays, unknown when
/// apply makes it; the endpoint's depend on the endpoint choice, the roles'
/// on whether the user brings them.
fn plan_ids(s: &mut Pipeline, prior: Option<&Pipeline>, config: &Pipeline) {
    let kept: Vec<Val<String>> = match prior {
        Some(p) => p.ids().iter().map(|a| a.owned().map(Val::Known).unwrap_or(Val::Unknown)).collect(),
        None => vec![Val::Unknown; 12],
    };
    for (a, k) in s.ids_mut().into_iter().zip(kept) {
        a.set(k);
    }
    let reuse = &config.endpoint.endpoint_id;
    if !reuse.is_null() {
        s.endpoint_id.set(reuse.val.clone());
        s.endpoint_security_group_id.set(Val::Null);
    }
    if !config.producer.role_arn.is_null() {
        s.producer_role_arn.set(config.producer.role_arn.val.clone());
    }
    if !config.consumer.role_arn.is_null() {
        s.consumer_role_arn.set(config.consumer.role_arn.val.clone());
    }
}

// ---------------------------------------------------------------- plan-time checks

/// Checks that need AWS, only for what is new or changed, so a plan with
/// no changes makes no calls. `prior` is None for a create or a replace.
pub(super) async fn check_against_aws(ctx: &Ctx, prior: Option<&Pipeline>, planned: &Pipeline) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(vpc_id) = planned.vpc_id.str() else { return Ok(d) };
    if planned.subnet_ids.is_wholly_known() && prior.is_none_or(|p| p.subnet_ids != planned.subnet_ids) {
        let ids = planned.subnet_ids.strings();
        let found = vpc::subnets(&ctx.aws.ec2, &ids).await?;
        d.extend(Diagnostics(subnet_diagnostics(&found, vpc_id, &ctx.aws.region, &ids, &planned.subnet_ids.path)));
    }
    let reuse = &planned.endpoint.endpoint_id;
    match &reuse.val {
        Val::Known(id) if prior.is_none_or(|p| p.endpoint.endpoint_id.str() != Some(id)) => {
            d.extend(check_reused_endpoint(ctx, vpc_id, id, &reuse.path).await?.into_iter().collect());
        }
        Val::Null if prior.is_none_or(|p| p.endpoint_id.str().is_none()) => d.extend(check_new_endpoint(ctx, vpc_id, planned).await?),
        _ => {}
    }
    Ok(d)
}

/// The endpoint to reuse exists, is in the VPC and is SQS's Interface endpoint.
async fn check_reused_endpoint(ctx: &Ctx, vpc_id: &str, id: &str, at: &Path) -> Result<Option<Diagnostic>, Diagnostic> {
    let region = ctx.aws.region.as_str();
    let sqs = format!("com.amazonaws.{region}.sqs");
    let found = vpce::find_many(&ctx.aws.ec2, &[id.to_string()]).await?.into_iter().find(|e| !e.is_gone());
    let problem = match found {
        None => Some(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {region}."))),
        Some(e) if e.vpc_id != vpc_id => {
            Some(Diagnostic::error("Endpoint in another VPC", format!("{id} is in {}, not in {vpc_id}.", e.vpc_id)))
        }
        Some(e) if e.service_name != sqs || e.kind != Kind::Interface => Some(Diagnostic::error(
            "Not an SQS Interface endpoint",
            format!("{id} is a {} endpoint for {}; the producer needs an Interface endpoint for {sqs}.", e.kind.as_str(), e.service_name),
        )),
        _ => None,
    };
    Ok(problem.map(|p| p.at(at.clone())))
}

/// The endpoint will be made: its private DNS needs the VPC's DNS support
/// and host names, and no other SQS endpoint may own the name.
async fn check_new_endpoint(ctx: &Ctx, vpc_id: &str, planned: &Pipeline) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let summary = "The SQS endpoint's private DNS needs DNS support and DNS hostnames on the VPC";
    d.extend(checks::check_vpc_dns(ctx, vpc_id, summary, "").await?.into_iter().collect());
    let sqs = format!("com.amazonaws.{}.sqs", ctx.aws.region);
    if let Some(e) = checks::dns_owner(ctx, vpc_id, &sqs, Kind::Interface, Some(&planned.owner())).await? {
        d.push(
            Diagnostic::error(
                "The VPC already has an SQS endpoint",
                format!(
                    "{vpc_id} already has {} for SQS, which owns the private DNS name; use it: endpoint {{ endpoint_id = \"{}\" }}.",
                    e.id, e.id
                ),
            )
            .at(Path::attr("endpoint")),
        );
    }
    Ok(d)
}
