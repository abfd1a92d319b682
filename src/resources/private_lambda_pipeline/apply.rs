//! Apply: each step of the part graph with its work, on the record the
//! steps share; destroy runs the graph backwards. The frame around them
//! (observe first, the state afterwards, also on failure) is the
//! skeleton's (`composite`).

use futures::FutureExt;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Path};
use crate::engine::{self, Step};
use crate::model::Val;
use crate::parts::event_source_mapping::{self as esm, Mapping};
use crate::parts::kms_key;
use crate::parts::queue::{self, Queue};
use crate::parts::security_group::{self as sg, Group};
use crate::parts::vpc_endpoint::{self as vpce, Endpoint};
use crate::resources::composite::{Apply, Run, Steps};
use crate::resources::endpoint;
use crate::resources::function::{self, FunctionRecord, FunctionRole, PerRole};

use super::config::{Desired, Pipeline};
use super::steps::{apply_graph, destroy_graph, Op, Own, Part};
use super::PrivateLambdaPipeline;

/// What exists, as apply learns it. Every finished step writes here, so a
/// failure still returns everything that was made.
#[derive(Default, Clone)]
pub struct Record {
    pub(super) dlq: Option<Queue>,
    pub(super) queue: Option<Queue>,
    /// Each function and the role the pipeline made for it.
    pub(super) functions: PerRole<FunctionRecord>,
    pub(super) producer_group: Option<Group>,
    pub(super) endpoint_group: Option<Group>,
    pub(super) endpoint: Option<Endpoint>,
    /// Groups of the endpoint the producer talks to (ours or a reused one).
    pub(super) endpoint_groups: Vec<String>,
    pub(super) mapping: Option<Mapping>,
    /// The queue key's ARN when apply had to look it up (`key_to_resolve`).
    pub(super) kms_key_arn: Option<String>,
}

/// One run of the pipeline's steps.
type PipelineRun<'a> = Run<'a, PrivateLambdaPipeline>;

impl Apply for PrivateLambdaPipeline {
    fn apply_steps<'a>(&'a self, ctx: &'a Ctx, run: PipelineRun<'a>) -> Steps<'a, Self> {
        let d = run.desired;
        let reuse = d.endpoint_id.is_some();
        let prior_endpoint = run.prior.and_then(|p| p.endpoint_id.owned());
        let graph = apply_graph(Own::wanted(d), run.prior.map(Own::recorded));
        let steps = graph.into_iter().map(|(op, after)| {
            let (part, endpoint) = match op {
                Op::Ensure(p) => (p, d.endpoint_id.as_deref().or(prior_endpoint.as_deref())),
                Op::Remove(p) => (p, prior_endpoint.as_deref()),
            };
            let work = match op {
                Op::Ensure(Part::DeadLetterQueue) => ensure_dlq(ctx, run).boxed(),
                Op::Ensure(Part::Queue) => ensure_queue(ctx, run).boxed(),
                Op::Ensure(Part::Role(role)) => ensure_role(ctx, run, role).boxed(),
                Op::Ensure(Part::ProducerGroup) => ensure_producer_group(ctx, run).boxed(),
                Op::Ensure(Part::EndpointGroup) => ensure_endpoint_group(ctx, run).boxed(),
                Op::Ensure(Part::ProducerEgress) if reuse => reused_endpoint_groups(ctx, run).boxed(),
                Op::Ensure(Part::ProducerEgress) => ensure_producer_egress(ctx, run).boxed(),
                Op::Ensure(Part::EndpointIngress) => ensure_endpoint_ingress(ctx, run).boxed(),
                Op::Ensure(Part::Endpoint) => ensure_endpoint(ctx, run).boxed(),
                Op::Ensure(Part::LogGroup(role)) => ensure_log_group(ctx, run, role).boxed(),
                Op::Ensure(Part::Function(role)) => ensure_function(ctx, run, role).boxed(),
                Op::Ensure(Part::Mapping) => ensure_mapping(ctx, run).boxed(),
                Op::Remove(Part::Role(role)) => remove_role(ctx, run, role).boxed(),
                Op::Remove(Part::Endpoint) => remove_endpoint(ctx, run).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, run).boxed(),
                Op::Remove(_) => engine::no_work_for(op),
            };
            Step::new(op, part.object(d, endpoint), after, work)
        });
        steps.collect()
    }

    fn state_after(planned: &Pipeline, desired: &Desired, record: Record) -> Pipeline {
        let mut s = planned.clone();
        if s.queue.kms_key_arn.is_unknown() {
            s.queue.kms_key_arn.set(Val::from_option(record.kms_key_arn.clone()));
        }
        fill_ids(&mut s, &record, desired.endpoint_id.is_some());
        s
    }

    fn destroy_steps<'a>(&'a self, ctx: &'a Ctx, run: PipelineRun<'a>) -> Steps<'a, Self> {
        let endpoint = run.prior.and_then(|p| p.endpoint_id.owned());
        let had = run.prior.map(Own::recorded).unwrap_or(Own::NOTHING);
        let steps = destroy_graph(had).into_iter().map(|(op, after)| {
            let work = match op {
                Op::Remove(Part::Mapping) => remove_mapping(ctx, run).boxed(),
                Op::Remove(Part::Function(role)) => remove_function(ctx, run, role).boxed(),
                Op::Remove(Part::LogGroup(role)) => remove_log_group(ctx, run, role).boxed(),
                Op::Remove(Part::Queue) => remove_queue(ctx, run, false).boxed(),
                Op::Remove(Part::DeadLetterQueue) => remove_queue(ctx, run, true).boxed(),
                Op::Remove(Part::ProducerGroup) => remove_producer_group(ctx, run).boxed(),
                Op::Remove(Part::Role(role)) => remove_role(ctx, run, role).boxed(),
                Op::Remove(Part::Endpoint) => remove_endpoint(ctx, run).boxed(),
                Op::Remove(Part::ProducerEgress) => remove_producer_egress(ctx, run).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, run).boxed(),
                // Not a step of destroy: the endpoint group's ingress rule goes
                // with that group, before the producer's group (destroy_graph).
                Op::Remove(Part::EndpointIngress) | Op::Ensure(_) => engine::no_work_for(op),
            };
            let (Op::Remove(part) | Op::Ensure(part)) = op;
            Step::new(op, part.object(run.desired, endpoint.as_deref()), after, work)
        });
        steps.collect()
    }

    /// What is still there, so the next destroy finishes the job.
    fn still_there(prior: &Pipeline, _desired: &Desired, record: Record, _done: &[Op]) -> Pipeline {
        let mut s = prior.clone();
        fill_ids(&mut s, &record, !prior.own_endpoint());
        s
    }
}

/// Every id of `s` from what exists now (`reuse`: the endpoint is not the
/// pipeline's, so its ids stay as planned).
pub(super) fn fill_ids(s: &mut Pipeline, r: &Record, reuse: bool) {
    let id = |v: Option<String>| Val::from_option(v);
    s.dead_letter_queue_url.set(id(r.dlq.as_ref().map(|q| q.url.clone())));
    s.dead_letter_queue_arn.set(id(r.dlq.as_ref().map(|q| q.arn.clone())));
    s.queue_url.set(id(r.queue.as_ref().map(|q| q.url.clone())));
    s.queue_arn.set(id(r.queue.as_ref().map(|q| q.arn.clone())));
    s.producer_security_group_id.set(id(r.producer_group.as_ref().map(|g| g.id.clone())));
    s.producer_function_arn.set(id(r.functions.producer.function.as_ref().map(|f| f.arn.clone())));
    s.consumer_function_arn.set(id(r.functions.consumer.function.as_ref().map(|f| f.arn.clone())));
    s.event_source_mapping_id.set(id(r.mapping.as_ref().map(|m| m.uuid.clone())));
    if !reuse {
        s.endpoint_id.set(id(r.endpoint.as_ref().map(|e| e.id.clone())));
        s.endpoint_security_group_id.set(id(r.endpoint_group.as_ref().map(|g| g.id.clone())));
    }
    for role in FunctionRole::ALL {
        let made = &r.functions[role];
        let attr = s.role_arn_mut(role);
        if attr.is_unknown() || made.role.is_some() {
            attr.set(id(made.role.clone()));
        }
        let block = match role {
            FunctionRole::Producer => &mut s.producer.0,
            FunctionRole::Consumer => &mut s.consumer.0,
        };
        match &made.function {
            Some(f) => block.code_sha256.set_known(f.code_sha256.clone()),
            None if block.code_sha256.is_unknown() => block.code_sha256.set(Val::Null),
            None => {}
        }
        // The group's name says it exists: none when it was not made (a
        // failed apply) or is gone, so the next plan makes it.
        block.log_group_name.set(id(made.log_group.as_ref().map(|g| g.name.clone())));
    }
}

async fn ensure_dlq(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.dlq.clone());
    let q = queue::ensure(&ctx.aws.sqs, &run.desired.dlq_spec(), known).await?;
    run.record.set(|r| r.dlq = Some(q));
    Ok(())
}

async fn ensure_queue(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let (known, dlq) = run.record.get(|r| (r.queue.clone(), r.dlq.as_ref().map(|q| q.arn.clone()).unwrap_or_default()));
    let q = queue::ensure(&ctx.aws.sqs, &run.desired.queue_spec(&dlq), known).await?;
    run.record.set(|r| r.queue = Some(q));
    Ok(())
}

/// The function's own role, allowed what its use needs on the queue.
async fn ensure_role(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    let d = run.desired;
    let queue_arn = run.record.get(|r| r.queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default());
    let key = match (&d.kms_key_arn, d.key_to_resolve()) {
        (Some(arn), _) => Some(arn.clone()),
        (None, Some(id)) => queue_key_at_apply(ctx, run, id).await?,
        (None, None) => None,
    };
    let spec = d.functions[role].role_spec(&queue_arn, key.as_deref(), &ctx.aws.region, &d.placement());
    let arn = match function::ensure_role(ctx, &spec).await {
        Ok(arn) => arn,
        Err(e) => {
            // Made, but refused a policy (a managed policy that does not
            // exist, a statement IAM finds malformed): recorded all the
            // same, so the state keeps it and a destroy removes it.
            if let Ok(Some(arn)) = function::observe::role(ctx, spec.name.clone(), true).await {
                run.record.set(|r| r.functions[role].role = Some(arn));
            }
            return Err(e);
        }
    };
    run.record.set(|r| r.functions[role].role = Some(arn));
    Ok(())
}

/// The queue key's ARN when the plan could not look it up (planned before
/// the provider was configured): kms:DescribeKey now, once per apply.
async fn queue_key_at_apply(ctx: &Ctx, run: PipelineRun<'_>, id: &str) -> Result<Option<String>, Diagnostic> {
    if let Some(arn) = run.record.get(|r| r.kms_key_arn.clone()) {
        return Ok(Some(arn));
    }
    let key = kms_key::describe(&ctx.aws.kms, id).await?.ok_or_else(|| {
        Diagnostic::error("Unknown KMS key", format!("KMS has no key or alias {id:?} (kms:DescribeKey answered NotFoundException)."))
            .at(Path::attr("queue").then("kms_master_key_id"))
    })?;
    let arn = key.customer_managed().then_some(key.arn);
    run.record.set(|r| r.kms_key_arn = arn.clone());
    Ok(arn)
}

/// A group first made with what is known (`on_created` records it at once,
/// so a failure later still returns it).
fn made_group(spec: &sg::GroupSpec, id: &str) -> Group {
    Group { id: id.to_string(), name: spec.name.clone(), vpc_id: spec.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] }
}

async fn ensure_producer_group(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    // The egress rule names the endpoint's group, which may not exist yet:
    // keep what is known now, `producer-egress` completes it.
    let (known, targets) =
        run.record.get(|r| (r.producer_group.clone(), r.endpoint_group.iter().map(|g| g.id.clone()).collect::<Vec<_>>()));
    let spec = run.desired.producer_group_spec(&targets);
    let on_created = |id: &str| run.record.set(|r| r.producer_group = Some(made_group(&spec, id)));
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    run.record.set(|r| r.producer_group = Some(g));
    Ok(())
}

async fn ensure_endpoint_group(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    // The ingress rule names the producer's group, which may not exist yet:
    // keep what is known now, `endpoint-ingress` completes it.
    let (known, producer) = run.record.get(|r| (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone())));
    let spec = run.desired.endpoint_group_spec(producer.as_deref());
    let on_created = |id: &str| run.record.set(|r| r.endpoint_group = Some(made_group(&spec, id)));
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    run.record.set(|r| {
        r.endpoint_groups = vec![g.id.clone()];
        r.endpoint_group = Some(g);
    });
    Ok(())
}

async fn ensure_producer_egress(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let (group, targets) = run.record.get(|r| (r.producer_group.clone(), r.endpoint_groups.clone()));
    let Some(group) = group else { return Ok(()) };
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &run.desired.producer_group_spec(&targets).rules).await?;
    run.record.set(|r| r.producer_group = Some(done));
    Ok(())
}

async fn ensure_endpoint_ingress(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let (group, producer) = run.record.get(|r| (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone())));
    let Some(group) = group else { return Ok(()) };
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &run.desired.endpoint_group_spec(producer.as_deref()).rules).await?;
    run.record.set(|r| r.endpoint_group = Some(done));
    Ok(())
}

/// With a reused endpoint the producer may reach exactly its groups.
async fn reused_endpoint_groups(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let id = run.desired.endpoint_id.clone().unwrap_or_default();
    let ep = endpoint::find_live(ctx, &id).await?.ok_or_else(|| {
        Diagnostic::error("vpc endpoint: not found", format!("endpoint.endpoint_id {id} does not exist (or is deleted)."))
            .at(Path::attr("endpoint").then("endpoint_id"))
    })?;
    run.record.set(|r| r.endpoint_groups = ep.security_group_ids.clone());
    ensure_producer_egress(ctx, run).await
}

async fn ensure_endpoint(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let (known, group) = run.record.get(|r| (r.endpoint.clone(), r.endpoint_group.as_ref().map(|g| g.id.clone()).unwrap_or_default()));
    let spec = run.desired.endpoint_spec(&ctx.aws.region, &group);
    let on_created = |id: &str| tracing::info!(endpoint = %id, "sqs endpoint created");
    let ep = vpce::ensure(&ctx.aws.ec2, &spec, known, false, run.timeout, on_created).await?;
    run.record.set(|r| r.endpoint = Some(ep));
    Ok(())
}

/// A function with its role (the user's or the pipeline's), in the
/// producer's group when in the VPC, the queue's URL in the producer's
/// environment.
async fn ensure_function(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    let f = &run.desired.functions[role];
    let (known, role_arn, groups, queue_url) = run.record.get(|r| {
        let made = &r.functions[role];
        let groups: Vec<String> = r.producer_group.iter().map(|g| g.id.clone()).collect();
        (
            made.function.clone(),
            f.role_arn.clone().or(made.role.clone()).unwrap_or_default(),
            groups,
            r.queue.as_ref().map(|q| q.url.clone()),
        )
    });
    let spec = f.spec(&role_arn, &groups, queue_url.as_deref(), &run.desired.placement());
    let made = function::ensure(ctx, f, &spec, known, run.timeout).await?;
    run.record.set(|r| r.functions[role].function = Some(made));
    Ok(())
}

/// The function's log group, before the function: its retention, key and
/// the pipeline's tags; one that exists already is adopted.
async fn ensure_log_group(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.functions[role].log_group.clone());
    let spec = run.desired.functions[role].log_group_spec(&run.desired.placement());
    let g = function::ensure_log_group(ctx, &spec, known).await?;
    run.record.set(|r| r.functions[role].log_group = Some(g));
    Ok(())
}

async fn ensure_mapping(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    let (known, queue_arn) = run.record.get(|r| (r.mapping.clone(), r.queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default()));
    let m = esm::ensure(&ctx.aws.lambda, &run.desired.mapping_spec(&queue_arn), known, run.timeout).await?;
    run.record.set(|r| r.mapping = Some(m));
    Ok(())
}

async fn remove_role(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    function::remove_role(ctx, &run.desired.functions[role].name).await?;
    run.record.set(|r| r.functions[role].role = None);
    Ok(())
}

async fn remove_endpoint(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.endpoint.as_ref().map(|e| e.id.clone())) {
        endpoint::remove(ctx, &id, run.timeout).await?;
    }
    run.record.set(|r| r.endpoint = None);
    Ok(())
}

async fn remove_endpoint_group(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.endpoint_group.as_ref().map(|g| g.id.clone())) {
        sg::delete(&ctx.aws.ec2, &id, run.timeout).await?;
    }
    run.record.set(|r| r.endpoint_group = None);
    Ok(())
}

async fn remove_mapping(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    if let Some(u) = run.record.get(|r| r.mapping.as_ref().map(|m| m.uuid.clone())) {
        esm::delete(&ctx.aws.lambda, &u, run.timeout).await?;
    }
    run.record.set(|r| r.mapping = None);
    Ok(())
}

async fn remove_function(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    let known = run.record.get(|r| r.functions[role].function.clone());
    function::remove(ctx, known, run.timeout).await?;
    run.record.set(|r| r.functions[role].function = None);
    Ok(())
}

/// The function's log group, once the function is gone; by its name, so a
/// group Lambda made before the pipeline owned it goes too.
async fn remove_log_group(ctx: &Ctx, run: PipelineRun<'_>, role: FunctionRole) -> Result<(), Diagnostic> {
    if let Some(name) = run.record.get(|r| r.functions[role].log_group.as_ref().map(|g| g.name.clone())) {
        function::remove_log_group(ctx, &name).await?;
    }
    run.record.set(|r| r.functions[role].log_group = None);
    Ok(())
}

async fn remove_queue(ctx: &Ctx, run: PipelineRun<'_>, dead_letter: bool) -> Result<(), Diagnostic> {
    let url = run.record.set(|r| queue_slot(r, dead_letter).as_ref().map(|q| q.url.clone()));
    if let Some(u) = url {
        queue::delete(&ctx.aws.sqs, &u).await?;
    }
    run.record.set(|r| *queue_slot(r, dead_letter) = None);
    Ok(())
}

fn queue_slot(r: &mut Record, dead_letter: bool) -> &mut Option<Queue> {
    if dead_letter {
        &mut r.dlq
    } else {
        &mut r.queue
    }
}

async fn remove_producer_egress(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    if let Some(g) = run.record.get(|r| r.producer_group.clone()) {
        sg::reconcile_rules(&ctx.aws.ec2, &g.id, &g.rules, &[]).await?;
        let now = sg::find(&ctx.aws.ec2, &g.id).await?;
        run.record.set(|r| r.producer_group = now);
    }
    Ok(())
}

async fn remove_producer_group(ctx: &Ctx, run: PipelineRun<'_>) -> Result<(), Diagnostic> {
    if let Some(id) = run.record.get(|r| r.producer_group.as_ref().map(|g| g.id.clone())) {
        sg::delete(&ctx.aws.ec2, &id, run.timeout).await?;
    }
    run.record.set(|r| r.producer_group = None);
    Ok(())
}
