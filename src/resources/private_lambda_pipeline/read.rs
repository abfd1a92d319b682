//! Observe and refresh: every part as AWS has it now, so apply starts from
//! the truth and the plan shows what changed behind Terraform's back.

use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::model::{List, Val};
use crate::parts::event_source_mapping::{self as esm, Mapping};
use crate::parts::kms_key;
use crate::parts::queue::{self, Queue};
use crate::parts::security_group as sg;
use crate::resources::checks;
use crate::resources::composite::{Depth, Read};
use crate::resources::endpoint;
use crate::resources::function::{self, role_extras, FunctionRecord, FunctionRole, PerRole};

use super::apply::{fill_ids, Record};
use super::config::{Desired, EventSourceBlock, Pipeline, QueueBlock};
use super::PrivateLambdaPipeline;

#[tonic::async_trait]
impl Read for PrivateLambdaPipeline {
    /// Everything the prior state recorded, as it is now: independent
    /// reads, sent together (both groups in one Describe). A refresh reads
    /// a queue's settings only, apply and destroy its tags too.
    async fn observe(&self, ctx: &Ctx, prior: Option<&Pipeline>, depth: Depth) -> Result<Record, Diagnostic> {
        let Some(prior) = prior else { return Ok(Record::default()) };
        observe(ctx, prior, depth).await
    }

    async fn read(&self, ctx: &Ctx, before: &Pipeline) -> Result<Option<Pipeline>, Diagnostic> {
        let r = observe(ctx, before, Depth::Refresh).await?;
        if r.is_empty() {
            return Ok(None);
        }
        let mut out = before.clone();
        fill_ids(&mut out, &r, !before.own_endpoint());
        // Roles the user brings are not ours to refresh.
        for role in FunctionRole::ALL {
            if before.own_role(role).is_some() {
                out.role_arn_mut(role).set(Val::from_option(r.functions[role].role.clone()));
            }
        }
        // Settings changed behind Terraform's back show up as a diff against
        // the configuration.
        let queue_var = before.producer.queue_url_env_var.owned().unwrap_or_else(|| function::DEFAULT_QUEUE_URL_VAR.into());
        if let Some(f) = &r.functions.producer.function {
            function::observed(&mut out.producer, f, Some(&queue_var));
        }
        if let Some(f) = &r.functions.consumer.function {
            function::observed(&mut out.consumer, f, None);
        }
        function::observed_log_group(&mut out.producer, r.functions.producer.log_group.as_ref());
        function::observed_log_group(&mut out.consumer, r.functions.consumer.log_group.as_ref());
        // The extra rights on the roles the pipeline made, where set.
        let extras = |role: FunctionRole| {
            let block = before.function(role);
            role_extras::observe(ctx, role.function_name(before.name.str().unwrap_or("")), block.role_arn.is_null(), block)
        };
        let (producer_extras, consumer_extras) = tokio::try_join!(extras(FunctionRole::Producer), extras(FunctionRole::Consumer))?;
        role_extras::observed(&mut out.producer, &producer_extras);
        role_extras::observed(&mut out.consumer, &consumer_extras);
        // Defaults follow the functions as they are now (visibility from the
        // consumer's timeout).
        let drift = rule_drift(&Desired::from(&out), &r, before.own_endpoint());
        out.rule_drift.set_known(List::of(&drift));
        if let Some(m) = &r.mapping {
            observed_mapping(&mut out.event_source, m);
        }
        if let (Some(q), Some(dlq)) = (&r.queue, &r.dlq) {
            observed_queue(&mut out.queue, q, dlq);
            observed_queue_key(ctx, before, &mut out).await?;
        }
        out.endpoint.create.set_known(before.own_endpoint());
        Ok(Some(out))
    }
}

async fn observe(ctx: &Ctx, prior: &Pipeline, depth: Depth) -> Result<Record, Diagnostic> {
    let aws = &ctx.aws;
    let name = prior.name.str().unwrap_or("");
    let queue = |url: Option<String>| async move {
        match (url, depth) {
            (None, _) => Ok(None),
            (Some(u), Depth::Apply | Depth::Destroy) => queue::find(&aws.sqs, &u).await,
            (Some(u), Depth::Refresh) => queue::find_settings(&aws.sqs, &u).await,
        }
    };
    let role = |role: FunctionRole| function::observe::role(ctx, role.function_name(name), prior.own_role(role).is_some());
    let function =
        |role: FunctionRole| function::observe::function(ctx, role.function_name(name), prior.function_arn(role).str().is_some());
    let (producer_group_id, endpoint_group_id) = (prior.producer_security_group_id.owned(), prior.endpoint_security_group_id.owned());
    let group_ids: Vec<String> = producer_group_id.iter().chain(endpoint_group_id.iter()).cloned().collect();
    let groups = sg::find_many(&aws.ec2, &group_ids);
    let endpoint = async {
        match prior.endpoint_id.str() {
            None => Ok(None),
            Some(e) => endpoint::find_live(ctx, e).await,
        }
    };
    let mapping = async {
        match prior.event_source_mapping_id.owned() {
            None => Ok(None),
            Some(u) => esm::find(&aws.lambda, &u).await,
        }
    };
    // Both functions' log groups in one listing (`/aws/lambda/<name>-`);
    // apply compares their tags too.
    let (function_names, prefix) = (FunctionRole::ALL.map(|role| role.function_name(name)), format!("{name}-"));
    let log_groups = function::observe::log_groups(ctx, &prefix, &function_names, matches!(depth, Depth::Apply));
    use crate::calls::with_count as n;
    let (
        (dlq, c1),
        (queue, c2),
        (producer_role, c3),
        (consumer_role, c4),
        (groups, c5),
        (endpoint, c6),
        (producer, c7),
        (consumer, c8),
        (mapping, c9),
        (log_groups, c10),
    ) = tokio::try_join!(
        n(queue(prior.dead_letter_queue_url.owned())),
        n(queue(prior.queue_url.owned())),
        n(role(FunctionRole::Producer)),
        n(role(FunctionRole::Consumer)),
        n(groups),
        n(endpoint),
        n(function(FunctionRole::Producer)),
        n(function(FunctionRole::Consumer)),
        n(mapping),
        n(log_groups),
    )?;
    crate::calls::log_concurrent_reads("read the pipeline", &[c1, c2, c3, c4, c5, c6, c7, c8, c9, c10]);
    let log_group = |role: FunctionRole| {
        let want = crate::parts::log_group::lambda_group_name(&role.function_name(name));
        log_groups.iter().find(|g| g.name == want).cloned()
    };
    let group = |id: &Option<String>| id.as_ref().and_then(|id| groups.iter().find(|g| &g.id == id).cloned());
    Ok(Record {
        dlq,
        queue,
        functions: PerRole {
            producer: FunctionRecord { role: producer_role, function: producer, log_group: log_group(FunctionRole::Producer) },
            consumer: FunctionRecord { role: consumer_role, function: consumer, log_group: log_group(FunctionRole::Consumer) },
        },
        producer_group: group(&producer_group_id),
        endpoint_group: group(&endpoint_group_id),
        endpoint,
        mapping,
        ..Record::default()
    })
}

impl Record {
    /// Nothing the pipeline makes exists: the whole pipeline is gone.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_none()
            && self.dlq.is_none()
            && self.functions.producer.function.is_none()
            && self.functions.consumer.function.is_none()
            && self.mapping.is_none()
            && self.producer_group.is_none()
            && self.endpoint_group.is_none()
            && self.functions.producer.role.is_none()
            && self.functions.consumer.role.is_none()
            && self.functions.producer.log_group.is_none()
            && self.functions.consumer.log_group.is_none()
    }
}

/// How the groups' rules differ from what the pipeline needs, one line
/// each (e.g. `producer group: unexpected egress all to 0.0.0.0/0`).
/// Plan puts `[]` there, so a rule changed by hand makes the next plan an
/// update, and that apply repairs the rules.
fn rule_drift(d: &Desired, r: &Record, own_endpoint: bool) -> Vec<String> {
    let mut out = Vec::new();
    let endpoint_groups = if own_endpoint {
        r.endpoint_group.as_ref().map(|g| vec![g.id.clone()])
    } else {
        r.endpoint.as_ref().map(|e| e.security_group_ids.clone())
    };
    if let (Some(g), Some(targets)) = (&r.producer_group, endpoint_groups) {
        out.extend(checks::rule_differences("producer group", &g.rules, &d.producer_group_spec(&targets).rules));
    }
    if let (true, Some(g), Some(producer)) = (own_endpoint, &r.endpoint_group, &r.producer_group) {
        out.extend(checks::rule_differences("endpoint group", &g.rules, &d.endpoint_group_spec(Some(&producer.id)).rules));
    }
    out.sort();
    out
}

/// Whether `written` (JSON strings in the state) says the same as
/// `observed`, element by element, as JSON values.
pub(super) fn same_json_list(written: &[String], observed: &[String]) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    written.len() == observed.len() && written.iter().zip(observed).all(|(w, o)| parse(w).is_some_and(|w| Some(w) == parse(o)))
}

/// The event_source block with the mapping's settings as Lambda has them.
/// The block is a Group block, so it is always there: an import shows
/// every setting, and a setting changed by hand differs from the plan.
fn observed_mapping(b: &mut EventSourceBlock, m: &Mapping) {
    b.batch_size.set_known(m.batch_size as f64);
    b.maximum_batching_window_seconds.set_known(m.maximum_batching_window_seconds as f64);
    b.report_batch_item_failures.set_known(m.report_batch_item_failures);
    b.enabled.set_known(matches!(m.state.as_str(), "Enabled" | "Enabling"));
    b.maximum_concurrency.set(Val::from_option(m.maximum_concurrency.map(|n| n as f64)));
    // Equal JSON written another way is the same filter.
    let written = b.filter_patterns.get().map(|l| l.known().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let unchanged = !b.filter_patterns.is_unknown() && same_json_list(&written, &m.filter_patterns);
    if !unchanged {
        b.filter_patterns.set(if m.filter_patterns.is_empty() { Val::Null } else { Val::Known(List::of(&m.filter_patterns)) });
    }
}

/// The ARN of the queue's customer-managed key: the state's when the
/// queue's key is the one it recorded (no call on an ordinary refresh; a
/// state without one, from before the roles were granted the key, keeps
/// none, so the plan looks it up and the apply grants it), else looked up
/// (an import, a key changed by hand): one kms:DescribeKey. A key KMS no
/// longer knows has no ARN.
async fn observed_queue_key(ctx: &Ctx, before: &Pipeline, out: &mut Pipeline) -> Result<(), Diagnostic> {
    let arn = match out.queue.kms_master_key_id.str() {
        None => None,
        Some(id) if kms_key::is_aws_managed_alias(id) => None,
        Some(id) if before.queue.kms_master_key_id.str() == Some(id) => before.queue.kms_key_arn.owned(),
        Some(id) => kms_key::describe(&ctx.aws.kms, id).await?.filter(|k| k.customer_managed()).map(|k| k.arn),
    };
    out.queue.kms_key_arn.set(Val::from_option(arn));
    Ok(())
}

fn attr_number(q: &Queue, key: &str) -> Option<f64> {
    q.attributes.get(key).and_then(|v| v.parse::<f64>().ok())
}

/// The queue block with the queues' settings as SQS has them.
fn observed_queue(b: &mut QueueBlock, q: &Queue, dlq: &Queue) {
    b.fifo.set_known(q.name.ends_with(".fifo"));
    b.visibility_timeout_seconds.set(Val::from_option(attr_number(q, queue::VISIBILITY_TIMEOUT)));
    b.message_retention_seconds.set(Val::from_option(attr_number(q, queue::MESSAGE_RETENTION_PERIOD)));
    b.dead_letter_retention_seconds.set(Val::from_option(attr_number(dlq, queue::MESSAGE_RETENTION_PERIOD)));
    let max_receive =
        q.attributes.get(queue::REDRIVE_POLICY).and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()).and_then(|r| {
            match &r["maxReceiveCount"] {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            }
        });
    b.max_receive_count.set(Val::from_option(max_receive));
    b.delay_seconds.set(Val::from_option(attr_number(q, queue::DELAY_SECONDS)));
    b.receive_wait_time_seconds.set(Val::from_option(attr_number(q, queue::RECEIVE_WAIT_TIME_SECONDS)));
    b.max_message_size.set(Val::from_option(attr_number(q, queue::MAXIMUM_MESSAGE_SIZE)));
    // A standard queue has no such setting (some answers say "false" anyway).
    let dedup = q.attributes.get(queue::CONTENT_BASED_DEDUPLICATION).map(|v| v.eq_ignore_ascii_case("true"));
    b.content_based_deduplication.set(Val::from_option(if q.name.ends_with(".fifo") { dedup.or(Some(false)) } else { None }));
    b.kms_master_key_id.set(Val::from_option(q.attributes.get(queue::KMS_MASTER_KEY_ID).filter(|k| !k.is_empty()).cloned()));
}
