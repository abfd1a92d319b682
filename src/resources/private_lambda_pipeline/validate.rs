//! Validation of the configuration alone (no AWS call), run at validate and again at plan.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- validate

pub(super) fn number(v: &Value) -> Option<i64> {
    v.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64)
}

/// A whole number attribute within `lo..=hi`, when known.
pub(super) fn check_range(d: &mut Diagnostics, block: &Value, at: &Path, name: &str, lo: i64, hi: i64, what: &str) {
    let v = block.get(name);
    let Some(n) = v.as_f64() else { return };
    if n.fract() != 0.0 || (n as i64) < lo || (n as i64) > hi {
        d.push(
            Diagnostic::error(format!("Invalid {name}"), format!("{n} is not a whole number of {what} from {lo} to {hi}."))
                .at(at.then(name)),
        );
    }
}

pub(super) fn validate_function(d: &mut Diagnostics, f: &Value, at: &Path) {
    let code = [f.get("source_dir"), f.get("filename")];
    let given = code.iter().filter(|v| !v.is_null()).count();
    if code.iter().all(|v| !v.is_unknown()) && given != 1 {
        d.push(
            Diagnostic::error("Function code", "Give exactly one of source_dir (a directory the provider zips) or filename (a zip file).")
                .at(at.then(if given == 0 { "source_dir" } else { "filename" })),
        );
    }
    if !f.get("source_code_hash").is_null() && f.get("filename").is_null() && !f.get("filename").is_unknown() {
        d.push(
            Diagnostic::error(
                "source_code_hash without filename",
                "source_code_hash goes with filename; with source_dir the provider hashes the directory itself.",
            )
            .at(at.then("source_code_hash")),
        );
    }
    if let Some(r) = f.get("runtime").as_str() {
        if !RUNTIMES.contains(&r) {
            d.push(
                Diagnostic::error(
                    "Unknown runtime",
                    format!("{r:?} is not a Lambda runtime for zip packages; use one of {}.", RUNTIMES.join(", ")),
                )
                .at(at.then("runtime")),
            );
        }
    }
    if let Some(h) = f.get("handler").as_str() {
        if h.is_empty() || h.len() > 128 || h.chars().any(char::is_whitespace) {
            d.push(
                Diagnostic::error("Invalid handler", format!("{h:?}: 1 to 128 characters without spaces, e.g. index.handler."))
                    .at(at.then("handler")),
            );
        }
    }
    check_range(d, f, at, "memory_size", 128, 10_240, "MB");
    check_range(d, f, at, "timeout", 1, 900, "seconds");
    if let Some(arn) = f.get("role_arn").as_str() {
        if let Err(e) = crate::validate::role_arn(arn) {
            d.push(Diagnostic::error("Invalid role ARN", e).at(at.then("role_arn")));
        }
    }
    for (k, _) in f.get("environment").string_map() {
        let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            d.push(
                Diagnostic::error("Invalid environment variable name", format!("{k:?}: letters, digits and _, starting with a letter."))
                    .at(at.then("environment").key(&k)),
            );
        } else if k.starts_with("AWS_") || k == "_HANDLER" {
            d.push(
                Diagnostic::error("Reserved environment variable", format!("{k} is set by Lambda itself and cannot be overridden."))
                    .at(at.then("environment").key(&k)),
            );
        }
    }
    for v in f.get("security_group_ids").elements() {
        if let Some(s) = v.as_str() {
            if let Err(e) = crate::validate::aws_id("sg", s) {
                d.push(Diagnostic::error("Invalid sg id", e).at(at.then("security_group_ids")));
            }
        }
    }
    if let Some(var) = f.get("queue_url_env_var").as_str() {
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.starts_with("AWS_") {
            d.push(
                Diagnostic::error("Invalid queue_url_env_var", format!("{var:?}: letters, digits and _, not starting with AWS_."))
                    .at(at.then("queue_url_env_var")),
            );
        }
    }
}

/// The consumer's timeout as planned (default when unset).
pub(super) fn consumer_timeout(config: &Value) -> Option<i64> {
    match config.get("consumer").get("timeout") {
        Value::Null => Some(DEFAULT_TIMEOUT),
        v => number(v),
    }
}

/// The name prefixes every object's name: the longest derived one,
/// "<name>-consumer" for a role, must fit IAM's 64 characters with room.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?}: 1 to 40 letters, digits, '-' or '_' (it prefixes function, queue and role names)."))
    }
}

pub(super) fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(name) = config.get("name").as_str() {
        if let Err(e) = check_name(name) {
            d.push(Diagnostic::error("Invalid name", e).at(Path::attr("name")));
        }
    }
    if let Some(v) = config.get("vpc_id").as_str() {
        if let Err(e) = crate::validate::aws_id("vpc", v) {
            d.push(Diagnostic::error("Invalid vpc id", e).at(Path::attr("vpc_id")));
        }
    }
    let subnets = config.get("subnet_ids");
    if subnets.is_wholly_known() && subnets.elements().is_empty() {
        d.push(
            Diagnostic::error("No subnets", "The producer needs at least one private subnet (one per Availability Zone).")
                .at(Path::attr("subnet_ids")),
        );
    }
    for v in subnets.elements() {
        if let Some(s) = v.as_str() {
            if let Err(e) = crate::validate::aws_id("subnet", s) {
                d.push(Diagnostic::error("Invalid subnet id", e).at(Path::attr("subnet_ids")));
            }
        }
    }
    for (k, v) in config.get("tags").string_map() {
        if let Err(e) = crate::validate::tag(&k, &v) {
            d.push(Diagnostic::error("Invalid tag", e).at(Path::attr("tags").key(&k)));
        }
    }
    validate_function(&mut d, config.get("producer"), &Path::attr("producer"));
    validate_function(&mut d, config.get("consumer"), &Path::attr("consumer"));
    for diag in Timeouts::validate(config.get("timeouts"), &Path::attr("timeouts")) {
        d.push(diag);
    }
    validate_queue_and_mapping(config, &mut d);
    let ep = config.get("endpoint");
    let create = ep.get("create").as_bool();
    match (create, ep.get("endpoint_id")) {
        (Some(true), Value::String(_)) => d.push(
            Diagnostic::error(
                "Conflicting endpoint settings",
                "Either create = true (the pipeline makes the endpoint) or endpoint_id (use an existing one), not both.",
            )
            .at(Path::attr("endpoint").then("endpoint_id")),
        ),
        (Some(false), Value::Null) => d.push(
            Diagnostic::error(
                "No endpoint",
                "With create = false, give endpoint_id: the producer has no NAT and reaches SQS only through an Interface endpoint.",
            )
            .at(Path::attr("endpoint").then("create")),
        ),
        (_, Value::String(id)) => {
            if let Err(e) = crate::validate::aws_id("vpce", id) {
                d.push(Diagnostic::error("Invalid endpoint id", e).at(Path::attr("endpoint").then("endpoint_id")));
            }
        }
        _ => {}
    }
    d
}

pub(super) fn validate_queue_and_mapping(config: &Value, d: &mut Diagnostics) {
    let q = config.get("queue");
    let es = config.get("event_source");
    let qp = Path::attr("queue");
    let ep = Path::attr("event_source");
    check_range(d, q, &qp, "visibility_timeout_seconds", 0, 43_200, "seconds");
    check_range(d, q, &qp, "message_retention_seconds", 60, 1_209_600, "seconds");
    check_range(d, q, &qp, "dead_letter_retention_seconds", 60, 1_209_600, "seconds");
    check_range(d, q, &qp, "max_receive_count", 1, 1000, "receives");
    check_range(d, es, &ep, "maximum_batching_window_seconds", 0, 300, "seconds");
    check_range(d, es, &ep, "maximum_concurrency", 2, 1000, "invocations");
    let fifo = q.get("fifo").as_bool() == Some(true);
    let window = number(es.get("maximum_batching_window_seconds")).unwrap_or(0);
    if fifo && window > 0 {
        d.push(
            Diagnostic::error(
                "Batching window on a FIFO queue",
                "Lambda does not allow maximum_batching_window_seconds for FIFO queues; remove it or use a standard queue.",
            )
            .at(ep.then("maximum_batching_window_seconds")),
        );
    }
    let max_batch = if fifo || window == 0 { 10 } else { 10_000 };
    let why = if fifo {
        "a FIFO queue"
    } else if window == 0 {
        "no batching window"
    } else {
        "a standard queue with a batching window"
    };
    if let Some(n) = es.get("batch_size").as_f64() {
        if n.fract() != 0.0 || n < 1.0 || n as i64 > max_batch {
            d.push(
                Diagnostic::error("Invalid batch_size", format!("{n}: with {why} the batch size is 1 to {max_batch}."))
                    .at(ep.then("batch_size")),
            );
        }
    }
    let patterns = es.get("filter_patterns").elements();
    if patterns.len() > 5 {
        d.push(
            Diagnostic::error("Too many filter patterns", "Lambda takes at most 5 filter patterns per mapping.")
                .at(ep.then("filter_patterns")),
        );
    }
    for (i, p) in patterns.iter().enumerate() {
        if let Some(s) = p.as_str() {
            if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).is_err() {
                d.push(
                    Diagnostic::error(
                        "Invalid filter pattern",
                        format!("{s:?} is not a JSON object such as {{\"body\":{{\"type\":[\"order\"]}}}}."),
                    )
                    .at(ep.then("filter_patterns").index(i)),
                );
            }
        }
    }
    // SQS hides a message for the visibility timeout while the consumer
    // works on it; shorter than the function's timeout and Lambda refuses
    // the mapping (minutes into an apply), so say it now.
    if let (Some(vis), Some(fn_timeout)) = (number(q.get("visibility_timeout_seconds")), consumer_timeout(config)) {
        if vis < fn_timeout {
            d.push(
                Diagnostic::error(
                    "Visibility timeout shorter than the consumer's timeout",
                    format!(
                        "The queue's visibility_timeout_seconds ({vis}) must be at least the consumer's timeout ({fn_timeout}); AWS advises six times the timeout plus the batching window: {}.",
                        recommended_visibility(fn_timeout, window)
                    ),
                )
                .at(qp.then("visibility_timeout_seconds")),
            );
        } else if vis < recommended_visibility(fn_timeout, window) {
            d.push(
                Diagnostic::warning(
                    "Visibility timeout below AWS's advice",
                    format!(
                        "{vis} seconds works, but with retries a message may be processed twice; AWS advises six times the consumer's timeout plus the batching window: {}.",
                        recommended_visibility(fn_timeout, window)
                    ),
                )
                .at(qp.then("visibility_timeout_seconds")),
            );
        }
    }
}

/// AWS's advice for an SQS event source: six times the function's timeout
/// plus the batching window. Also the default when unset.
pub fn recommended_visibility(function_timeout: i64, window: i64) -> i64 {
    (6 * function_timeout + window).min(43_200)
}
