//! Refresh: every part as AWS has it now, so the plan shows what changed behind Terraform's back.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- read

pub(super) async fn read_state(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic> {
    let r = observe(ctx, state, Depth::Refresh).await?;
    let ids = Ids(state);
    let nothing = r.queue.is_none()
        && r.dlq.is_none()
        && r.producer.is_none()
        && r.consumer.is_none()
        && r.mapping.is_none()
        && r.producer_group.is_none()
        && r.endpoint_group.is_none()
        && r.producer_role.is_none()
        && r.consumer_role.is_none();
    if nothing {
        return Ok(Value::Null);
    }
    let mut out = state_after(state, &r, !ids.own_endpoint());
    let Value::Object(fields) = &mut out else { return Ok(out) };
    // Roles the user brings are not ours to refresh.
    for (block, attr) in [("producer", "producer_role_arn"), ("consumer", "consumer_role_arn")] {
        if ids.own_role(block, attr).is_some() {
            let role = if block == "producer" { &r.producer_role } else { &r.consumer_role };
            fields.insert(attr.into(), Value::opt_string(role.clone()));
        }
    }
    // Settings changed behind Terraform's back show up as a diff against
    // the configuration.
    let queue_var = state.get("producer").get("queue_url_env_var").as_str().unwrap_or(DEFAULT_QUEUE_URL_VAR).to_string();
    for (block, f) in [("producer", &r.producer), ("consumer", &r.consumer)] {
        let (Some(f), Some(Value::Object(b))) = (f, fields.get_mut(block)) else { continue };
        b.insert("handler".into(), Value::string(f.handler.clone()));
        b.insert("runtime".into(), Value::string(f.runtime.clone()));
        b.insert("memory_size".into(), Value::Number(f.memory_size as f64));
        b.insert("timeout".into(), Value::Number(f.timeout as f64));
        let mut env = f.environment.clone();
        if block == "producer" {
            env.remove(&queue_var);
        }
        let before = b.get("environment").cloned().unwrap_or(Value::Null);
        b.insert("environment".into(), if env.is_empty() && before.is_null() { Value::Null } else { Value::from_string_map(&env) });
    }
    // Defaults follow the functions as they are now (visibility from the
    // consumer's timeout).
    let d = Desired::from(&Value::Object(fields.clone()));
    let drift = rule_drift(&d, &r, ids.own_endpoint());
    fields.insert("rule_drift".into(), Value::List(drift.into_iter().map(Value::string).collect()));
    if let Some(m) = &r.mapping {
        let mut observed = observed_mapping(m);
        // Equal JSON written another way is the same filter.
        let written = state.get("event_source").get("filter_patterns");
        if same_json_list(written, &m.filter_patterns) {
            observed.retain(|(k, _)| *k != "filter_patterns");
        }
        write_block(fields, "event_source", &observed);
    }
    if let (Some(q), Some(dlq)) = (&r.queue, &r.dlq) {
        write_block(fields, "queue", &observed_queue(q, dlq));
    }
    write_block(fields, "endpoint", &[("create", Value::Bool(ids.own_endpoint()))]);
    Ok(out)
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
        out.extend(rule_differences("endpoint group", &g.rules, &d.endpoint_group_spec(&producer.id).rules));
    }
    out.sort();
    out
}

pub(super) fn rule_differences(group: &str, observed: &[Rule], desired: &[Rule]) -> Vec<String> {
    let (unexpected, missing) = sg::plan_rule_changes(observed, desired);
    let unexpected = unexpected.into_iter().map(|r| format!("{group}: unexpected {}", r.describe()));
    unexpected.chain(missing.into_iter().map(|r| format!("{group}: missing {}", r.describe()))).collect()
}

/// A settings block with what AWS has, over what the state had. The
/// block is a Group block, so it is always there: an import shows every
/// setting, and a setting changed by hand differs from the plan.
pub(super) fn write_block(fields: &mut BTreeMap<String, Value>, block: &str, observed: &[(&str, Value)]) {
    let mut b = match fields.remove(block) {
        Some(Value::Object(o)) => o,
        _ => BTreeMap::new(),
    };
    for (k, v) in observed {
        b.insert(k.to_string(), v.clone());
    }
    fields.insert(block.into(), Value::Object(b));
}

/// Whether `written` (a list of JSON strings in the state) says the same as
/// `observed`, element by element, as JSON values.
pub(super) fn same_json_list(written: &Value, observed: &[String]) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let written = written.elements();
    written.len() == observed.len()
        && written.iter().zip(observed).all(|(w, o)| w.as_str().and_then(parse).is_some_and(|w| Some(w) == parse(o)))
}

pub(super) fn observed_mapping(m: &Mapping) -> Vec<(&'static str, Value)> {
    vec![
        ("batch_size", Value::Number(m.batch_size as f64)),
        ("maximum_batching_window_seconds", Value::Number(m.maximum_batching_window_seconds as f64)),
        ("report_batch_item_failures", Value::Bool(m.report_batch_item_failures)),
        ("enabled", Value::Bool(matches!(m.state.as_str(), "Enabled" | "Enabling"))),
        ("maximum_concurrency", m.maximum_concurrency.map(|n| Value::Number(n as f64)).unwrap_or(Value::Null)),
        (
            "filter_patterns",
            if m.filter_patterns.is_empty() {
                Value::Null
            } else {
                Value::List(m.filter_patterns.iter().cloned().map(Value::string).collect())
            },
        ),
    ]
}

pub(super) fn attr_number(q: &Queue, key: &str) -> Option<f64> {
    q.attributes.get(key).and_then(|v| v.parse::<f64>().ok())
}

pub(super) fn observed_queue(q: &Queue, dlq: &Queue) -> Vec<(&'static str, Value)> {
    let mut out = vec![("fifo", Value::Bool(q.name.ends_with(".fifo")))];
    let num = |v: Option<f64>| v.map(Value::Number).unwrap_or(Value::Null);
    out.push(("visibility_timeout_seconds", num(attr_number(q, queue::VISIBILITY_TIMEOUT))));
    out.push(("message_retention_seconds", num(attr_number(q, queue::MESSAGE_RETENTION_PERIOD))));
    out.push(("dead_letter_retention_seconds", num(attr_number(dlq, queue::MESSAGE_RETENTION_PERIOD))));
    let max_receive =
        q.attributes.get(queue::REDRIVE_POLICY).and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()).and_then(|r| {
            match &r["maxReceiveCount"] {
                serde_json::Value::Number(n) => n.as_f64(),
                serde_json::Value::String(s) => s.parse().ok(),
                _ => None,
            }
        });
    out.push(("max_receive_count", num(max_receive)));
    out.push(("kms_master_key_id", Value::opt_string(q.attributes.get(queue::KMS_MASTER_KEY_ID).filter(|k| !k.is_empty()).cloned())));
    out
}
