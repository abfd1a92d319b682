//! Refresh: every part as AWS has it now, so the plan shows what changed behind Terraform's back.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- read

pub(super) async fn read_state(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic> {
    let r = observe(ctx, state, Depth::Refresh).await?;
    let before = Pipeline::decode(state);
    if r.is_empty() {
        return Ok(Value::Null);
    }
    let mut out = Pipeline::decode(&state_after(state, &r, !before.own_endpoint()));
    // Roles the user brings are not ours to refresh.
    if before.own_role(true).is_some() {
        out.producer_role_arn.set(Val::from_option(r.producer_role.clone()));
    }
    if before.own_role(false).is_some() {
        out.consumer_role_arn.set(Val::from_option(r.consumer_role.clone()));
    }
    // Settings changed behind Terraform's back show up as a diff against
    // the configuration.
    let queue_var = before.producer.queue_url_env_var.owned().unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into());
    if let Some(f) = &r.producer {
        observed_function(&mut out.producer, f, Some(&queue_var));
    }
    if let Some(f) = &r.consumer {
        observed_function(&mut out.consumer, f, None);
    }
    // Defaults follow the functions as they are now (visibility from the
    // consumer's timeout).
    let drift = rule_drift(&Desired::from(&out), &r, before.own_endpoint());
    out.rule_drift.set_known(List::of(&drift));
    if let Some(m) = &r.mapping {
        observed_mapping(&mut out.event_source, m);
    }
    if let (Some(q), Some(dlq)) = (&r.queue, &r.dlq) {
        observed_queue(&mut out.queue, q, dlq);
    }
    out.endpoint.create.set_known(before.own_endpoint());
    Ok(out.encode())
}

impl Record {
    /// Nothing the pipeline makes exists: the whole pipeline is gone.
    pub(super) fn is_empty(&self) -> bool {
        self.queue.is_none()
            && self.dlq.is_none()
            && self.producer.is_none()
            && self.consumer.is_none()
            && self.mapping.is_none()
            && self.producer_group.is_none()
            && self.endpoint_group.is_none()
            && self.producer_role.is_none()
            && self.consumer_role.is_none()
    }
}

/// A function block with the function's settings as Lambda has them; the
/// queue URL the pipeline sets in the producer's environment is not the
/// user's.
fn observed_function(b: &mut FunctionBlock, f: &Function, queue_var: Option<&str>) {
    b.handler.set_known(f.handler.clone());
    b.runtime.set_known(f.runtime.clone());
    b.memory_size.set_known(f.memory_size as f64);
    b.timeout.set_known(f.timeout as f64);
    let mut env = f.environment.clone();
    if let Some(var) = queue_var {
        env.remove(var);
    }
    let keep_null = env.is_empty() && b.environment.is_null();
    b.environment.set(if keep_null { Val::Null } else { Val::Known(Map::of(&env)) });
}

/// How the groups' rules differ from what the pipeline needs, one line
/// each (e.g. `producer group: unexpected egress all from 0.0.0.0/0`).
/// Plan puts `[]` there, so a rule changed by hand makes the next plan an
/// update, and that apply repairs the rules.
pub(super) fn rule_drift(d: &Desired, r: &Record, own_endpoint: bool) -> Vec<String> {
    let mut out = Vec::new();
    let endpoint_groups = if own_endpoint {
        r.endpoint_group.as_ref().map(|g| vec![g.id.clone()])
    } else {
        r.endpoint.as_ref().map(|e| e.security_group_ids.clone())
    };
    if let (Some(g), Some(targets)) = (&r.producer_group, endpoint_groups) {
        out.extend(rule_differences("producer group", &g.rules, &d.producer_group_spec(&targets).rules));
    }
    if let (true, Some(g), Some(producer)) = (own_endpoint, &r.endpoint_group, &r.producer_group) {
        out.extend(rule_differences("endpoint group", &g.rules, &d.endpoint_group_spec(Some(&producer.id)).rules));
    }
    out.sort();
    out
}

pub(super) fn rule_differences(group: &str, observed: &[Rule], desired: &[Rule]) -> Vec<String> {
    let (unexpected, missing) = sg::plan_rule_changes(observed, desired);
    let unexpected = unexpected.into_iter().map(|r| format!("{group}: unexpected {}", r.describe()));
    unexpected.chain(missing.into_iter().map(|r| format!("{group}: missing {}", r.describe()))).collect()
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
pub(super) fn observed_mapping(b: &mut EventSourceBlock, m: &Mapping) {
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

pub(super) fn attr_number(q: &Queue, key: &str) -> Option<f64> {
    q.attributes.get(key).and_then(|v| v.parse::<f64>().ok())
}

/// The queue block with the queues' settings as SQS has them.
pub(super) fn observed_queue(b: &mut QueueBlock, q: &Queue, dlq: &Queue) {
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
    b.kms_master_key_id.set(Val::from_option(q.attributes.get(queue::KMS_MASTER_KEY_ID).filter(|k| !k.is_empty()).cloned()));
}
