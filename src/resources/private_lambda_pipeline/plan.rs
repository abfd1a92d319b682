//! The planned state (unknowns, defaults, replace paths), the plan-time checks against AWS, and the warnings of a destroy plan.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Attr, List, Val};
use crate::parts::kms_key;
use crate::parts::security_group as sg;
use crate::parts::tags::Tags;
use crate::parts::vpc_endpoint::Kind;
use crate::resources::composite::{Plan, PlanEnv};
use crate::resources::endpoint;
use crate::resources::function::{self, role_extras, FunctionRole};
use crate::resources::{check_subnets, checks, Going};

use super::config::{queue_url_bytes, Desired, Pipeline};
use super::PrivateLambdaPipeline;

#[tonic::async_trait]
impl Plan for PrivateLambdaPipeline {
    fn replace_paths(&self, prior: &Pipeline, config: &Pipeline) -> Vec<Path> {
        replace_paths(prior, config)
    }

    fn limits(&self, env: &PlanEnv<'_>, config: &Pipeline) -> Diagnostics {
        limits(env, config)
    }

    fn plan(&self, env: &PlanEnv<'_>, prior: Option<&Pipeline>, proposed: &Pipeline, config: &Pipeline) -> Result<Pipeline, Diagnostics> {
        plan_state(env.default_tags, prior, proposed, config)
    }

    async fn settle_against_aws(
        &self,
        ctx: &Ctx,
        _prior: Option<&Pipeline>,
        config: &Pipeline,
        planned: &mut Pipeline,
    ) -> Result<Diagnostics, Diagnostic> {
        settle_queue_key(ctx, config, planned).await
    }

    async fn check_against_aws(&self, ctx: &Ctx, prior: Option<&Pipeline>, planned: &Pipeline) -> Result<Diagnostics, Diagnostic> {
        check_against_aws(ctx, prior, planned).await
    }

    async fn destroy_warnings(&self, ctx: &Ctx, prior: &Pipeline) -> Diagnostics {
        destroy_warnings(ctx, prior).await
    }
}

/// AWS's limits that need the provider's configuration (its default tags,
/// its region), checked at plan without calling AWS: the tags every object
/// will carry, and the producer's environment with the queue's URL.
fn limits(env: &PlanEnv<'_>, config: &Pipeline) -> Diagnostics {
    let mut d = Diagnostics::default();
    checks::check_tag_count(&mut d, env.default_tags, &config.tags, function::PROVIDER_TAGS);
    if let Some(region) = env.region {
        for role in FunctionRole::ALL {
            function::check_layer_regions(&mut d, config.function(role), region);
        }
    }
    function::check_environment_size(&mut d, &config.consumer.environment, None);
    let url_var = config.producer.queue_url_env_var.str().unwrap_or(function::DEFAULT_QUEUE_URL_VAR);
    match (config.name.str(), &config.queue.fifo.val) {
        (Some(name), Val::Known(_) | Val::Null) => {
            let url = queue_url_bytes(name, config.queue.fifo.bool() == Some(true), env.region);
            function::check_environment_size(&mut d, &config.producer.environment, Some((url_var, url)));
        }
        // The URL's length waits for the name; the user's part counts now.
        _ => function::check_environment_size(&mut d, &config.producer.environment, Some((url_var, 0))),
    }
    check_role_policy_sizes(&mut d, env, config);
    d
}

/// Each role the pipeline makes, with the user's `policy_statements`,
/// against IAM's 10,240 characters for all its inline policies: the
/// pipeline's own document as apply will write it, with the longest ARNs
/// the plan cannot know yet (a 14-character region, the key's ARN).
fn check_role_policy_sizes(d: &mut Diagnostics, env: &PlanEnv<'_>, config: &Pipeline) {
    let desired = Desired::from(config);
    let region = env.region.unwrap_or("ap-southeast-1");
    let queue_arn = format!("arn:aws:sqs:{region}:123456789012:{}", desired.queue_name(false));
    let key = desired
        .kms
        .as_ref()
        .filter(|k| !kms_key::is_aws_managed_alias(k))
        .map(|_| format!("arn:aws:kms:{region}:123456789012:key/{}", "0".repeat(36)));
    for role in FunctionRole::ALL {
        let block = config.function(role);
        let (Some(statements), true) = (block.policy_statements.str(), block.role_arn.is_null()) else { continue };
        let mut f = desired.functions[role].clone();
        f.policy_statements = None;
        let spec = f.role_spec(&queue_arn, key.as_deref(), region, &desired.placement());
        let own: usize = spec.inline_policies.values().map(|doc| crate::policy::policy_size(doc)).sum();
        role_extras::check_policy_size(d, statements, own, &block.policy_statements.path);
    }
}

/// The attributes whose change replaces the pipeline.
fn replace_paths(prior: &Pipeline, config: &Pipeline) -> Vec<Path> {
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
    // Lambda cannot change a function's package type (zip or image).
    for role in FunctionRole::ALL {
        let (before, after) = (&prior.function(role).image_uri, &config.function(role).image_uri);
        if !after.is_unknown() && before.is_null() != after.is_null() {
            out.push(after.path.clone());
        }
    }
    out
}

/// The planned state: config values, defaults where the schema computes
/// them, prior ids for parts that stay, unknown for parts apply will make.
/// `prior` is None for a create or a replace.
fn plan_state(default_tags: &Tags, prior: Option<&Pipeline>, proposed: &Pipeline, config: &Pipeline) -> Result<Pipeline, Diagnostics> {
    let mut s = proposed.clone();
    s.id.set(config.name.val.clone());
    s.tags_all.set(checks::plan_tags_all(default_tags, &config.tags));
    let mut diags = Diagnostics::default();
    function::plan(&mut s.producer, &config.producer, prior.map(|p| &*p.producer), FunctionRole::Producer, &mut diags);
    function::plan(&mut s.consumer, &config.consumer, prior.map(|p| &*p.consumer), FunctionRole::Consumer, &mut diags);
    function::plan_log_group(&mut s.producer, &config.producer, FunctionRole::Producer, &config.name.val);
    function::plan_log_group(&mut s.consumer, &config.consumer, FunctionRole::Consumer, &config.name.val);
    if diags.has_errors() {
        return Err(diags);
    }
    plan_settings(&mut s, config);
    plan_queue_key(&mut s, prior, config);
    plan_ids(&mut s, prior, config);
    s.rule_drift.set_known(List::default());
    Ok(s)
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
    fill(&mut q.delay_seconds, &cq.delay_seconds, eff.settings.delay_seconds as f64);
    fill(&mut q.receive_wait_time_seconds, &cq.receive_wait_time_seconds, eff.settings.receive_wait_time_seconds as f64);
    fill(&mut q.max_message_size, &cq.max_message_size, eff.settings.maximum_message_size as f64);
    // FIFO queues only: a standard queue has no such setting (validate
    // refuses it there), so it plans null.
    if cq.content_based_deduplication.is_null() {
        q.content_based_deduplication.set(match &cq.fifo.val {
            Val::Unknown => Val::Unknown,
            _ if eff.fifo => Val::Known(false),
            _ => Val::Null,
        });
    }
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

/// The queue key's ARN: none for SSE-SQS or an AWS-managed alias (no
/// lookup), the prior's when the configured key is the same and the prior
/// knows its ARN (no lookup on every plan), else unknown until
/// `settle_queue_key` asks KMS. A prior without the ARN (a state from
/// before the roles were granted the key) so plans the ARN as a change,
/// and its apply grants the roles the key.
fn plan_queue_key(s: &mut Pipeline, prior: Option<&Pipeline>, config: &Pipeline) {
    let configured = &config.queue.kms_master_key_id;
    let planned = match &configured.val {
        Val::Null => Val::Null,
        Val::Unknown => Val::Unknown,
        Val::Known(id) if kms_key::is_aws_managed_alias(id) => Val::Null,
        Val::Known(id) => match prior {
            Some(p) if p.queue.kms_master_key_id.str() == Some(id) && p.queue.kms_key_arn.str().is_some() => {
                p.queue.kms_key_arn.val.clone()
            }
            _ => Val::Unknown,
        },
    };
    s.queue.kms_key_arn.set(planned);
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
    for role in FunctionRole::ALL {
        let theirs = &config.function(role).role_arn;
        if !theirs.is_null() {
            s.role_arn_mut(role).set(theirs.val.clone());
        }
    }
}

// ---------------------------------------------------------------- plan-time checks

/// The customer-managed key's ARN, when plan left it unknown for a known
/// key: one kms:DescribeKey. A key or alias KMS does not know, a disabled
/// key or one SQS cannot encrypt with is an error at the attribute. An
/// AWS-managed key named otherwise than by its alias needs no rights.
async fn settle_queue_key(ctx: &Ctx, config: &Pipeline, planned: &mut Pipeline) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let (true, Some(id)) = (planned.queue.kms_key_arn.is_unknown(), config.queue.kms_master_key_id.str()) else { return Ok(d) };
    let at = config.queue.kms_master_key_id.path.clone();
    match kms_key::describe(&ctx.aws.kms, id).await? {
        None => d.push(
            Diagnostic::error(
                "Unknown KMS key",
                format!(
                    "KMS has no key or alias {id:?} in {} (kms:DescribeKey answered NotFoundException). Give an existing key's id, ARN, alias or alias ARN, or leave kms_master_key_id out for SSE-SQS.",
                    ctx.aws.region
                ),
            )
            .at(at),
        ),
        Some(key) => match kms_key::unusable_for_sqs(&key) {
            Some(why) => d.push(Diagnostic::error("KMS key cannot encrypt the queues", why).at(at)),
            None if key.customer_managed() => planned.queue.kms_key_arn.set_known(key.arn),
            None => planned.queue.kms_key_arn.set(Val::Null),
        },
    }
    Ok(d)
}

/// Checks that need AWS, only for what is new or changed, so a plan with
/// no changes makes no calls. `prior` is None for a create or a replace.
async fn check_against_aws(ctx: &Ctx, prior: Option<&Pipeline>, planned: &Pipeline) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(vpc_id) = planned.vpc_id.str() else { return Ok(d) };
    d.extend(check_subnets(ctx, prior.map(|p| &p.subnet_ids), &planned.subnet_ids, vpc_id).await?);
    let reuse = &planned.endpoint.endpoint_id;
    match &reuse.val {
        Val::Known(id) if prior.is_none_or(|p| p.endpoint.endpoint_id.str() != Some(id)) => {
            let sqs = endpoint::sqs(&ctx.aws.region);
            d.extend(endpoint::check_reused(ctx, vpc_id, id, &sqs, "the producer", &reuse.path).await?.into_iter().collect());
        }
        Val::Null if prior.is_none_or(|p| p.endpoint_id.str().is_none()) => d.extend(check_new_endpoint(ctx, vpc_id, planned).await?),
        _ => {}
    }
    for role in FunctionRole::ALL {
        let before = prior.map(|p| p.function(role));
        d.extend(function::check_reserved_concurrency(ctx, planned.function(role), before).await?);
        if in_vpc(planned, role) {
            d.extend(function::check_tracing_path(ctx, planned.function(role), before, vpc_id).await?);
        }
    }
    Ok(d)
}

/// Whether the planned function runs in the pipeline's subnets.
fn in_vpc(planned: &Pipeline, role: FunctionRole) -> bool {
    role == FunctionRole::Producer || planned.consumer.in_vpc.bool() == Some(true)
}

/// The endpoint will be made: its private DNS needs the VPC's DNS support
/// and host names, and no other SQS endpoint may own the name.
async fn check_new_endpoint(ctx: &Ctx, vpc_id: &str, planned: &Pipeline) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let summary = "The SQS endpoint's private DNS needs DNS support and DNS hostnames on the VPC";
    d.extend(endpoint::check_vpc_dns(ctx, vpc_id, summary, "").await?.into_iter().collect());
    let sqs = endpoint::sqs(&ctx.aws.region);
    if let Some(e) = endpoint::dns_owner(ctx, vpc_id, &sqs, Kind::Interface, Some(&planned.owner())).await? {
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

/// Destroy plan: the pipeline's own SQS endpoint goes with it (a reused
/// one stays: nothing to check). Clients it admits, network interfaces in
/// a group its endpoint group lets in other than the pipeline's own
/// functions (e.g. another function put in the producer's group), lose
/// their private path to SQS.
async fn destroy_warnings(ctx: &Ctx, prior: &Pipeline) -> Diagnostics {
    let (true, Some(group_id), Some(vpc_id)) = (prior.own_endpoint(), prior.endpoint_security_group_id.str(), prior.vpc_id.str()) else {
        return Diagnostics::default();
    };
    let name = prior.name.str().unwrap_or("");
    let going = Going { what: format!("the SQS endpoint of pipeline {name}"), services: "SQS".into(), vpc_id };
    let admitted = match ctx.run("reading the endpoint's group", sg::find(&ctx.aws.ec2, group_id)).await {
        Ok(Some(g)) => endpoint::admitted_groups(&g),
        Ok(None) => return Diagnostics::default(),
        Err(e) => return going.unchecked(e).into(),
    };
    let own = FunctionRole::ALL.map(|role| role.function_name(name));
    going.client_warnings(ctx, &admitted, |i| i.lambda_function().is_some_and(|f| own.contains(&f))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::value::Value;

    fn with_key(key: Value, arn: Value) -> Pipeline {
        Pipeline::decode(&Value::object(vec![
            ("name", Value::string("orders")),
            ("queue", Value::object(vec![("kms_master_key_id", key), ("kms_key_arn", arn)])),
        ]))
    }

    fn planned_arn(prior: Option<&Pipeline>, config: &Pipeline) -> Val<String> {
        let mut s = config.clone();
        plan_queue_key(&mut s, prior, config);
        s.queue.kms_key_arn.val
    }

    #[test]
    fn the_queue_key_is_looked_up_only_when_it_changes_and_is_customer_managed() {
        let arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let alias = || Value::string("alias/orders");
        // SSE-SQS and the AWS-managed key: nothing to look up.
        assert_eq!(planned_arn(None, &with_key(Value::Null, Value::Null)), Val::Null);
        assert_eq!(planned_arn(None, &with_key(Value::string("alias/aws/sqs"), Value::Null)), Val::Null);
        // A customer key, new: unknown until settled against KMS.
        assert_eq!(planned_arn(None, &with_key(alias(), Value::Null)), Val::Unknown);
        assert_eq!(planned_arn(None, &with_key(Value::Unknown, Value::Null)), Val::Unknown);
        // The same key as the state: the state's ARN, no call.
        let prior = with_key(alias(), Value::string(arn));
        assert_eq!(planned_arn(Some(&prior), &with_key(alias(), Value::Null)), Val::Known(arn.to_string()));
        // Another key: looked up again.
        assert_eq!(planned_arn(Some(&prior), &with_key(Value::string("alias/other"), Value::Null)), Val::Unknown);
        // A state from before the roles were granted the key: looked up, so the ARN plans as a change.
        let before = with_key(alias(), Value::Null);
        assert_eq!(planned_arn(Some(&before), &with_key(alias(), Value::Null)), Val::Unknown);
    }

    #[test]
    fn moving_a_function_between_a_zip_and_an_image_replaces_the_pipeline() {
        let with = |image: Option<&str>| {
            let producer = match image {
                Some(uri) => Value::object(vec![("image_uri", Value::string(uri))]),
                None => Value::object(vec![("source_dir", Value::string("producer"))]),
            };
            Pipeline::decode(&Value::object(vec![("name", Value::string("orders")), ("producer", producer)]))
        };
        let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1";
        let paths = |a: &Pipeline, b: &Pipeline| replace_paths(a, b).iter().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(paths(&with(None), &with(Some(image))), ["producer.image_uri"]);
        assert_eq!(paths(&with(Some(image)), &with(None)), ["producer.image_uri"]);
        assert!(
            paths(&with(Some(image)), &with(Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:2"))).is_empty(),
            "a new image is new code"
        );
        assert!(paths(&with(None), &with(None)).is_empty());
    }
}
