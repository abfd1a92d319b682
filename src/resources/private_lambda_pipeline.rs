//! `privatelink_private_lambda_pipeline`: a producer Lambda in private
//! subnets with no NAT sends to an SQS queue through the queue service's
//! Interface endpoint; a consumer Lambda takes the messages through an event
//! source mapping; failures go to a dead-letter queue.
//!
//! Work in progress (issue 4): schema, validation and the pure plan rules
//! are here; apply, read and import come with the parts they drive. The
//! resource is not registered with the provider until they exist.
#![allow(dead_code)]

use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::resources::Timeouts;
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};
use crate::validate;
use crate::value::Value;

pub const TYPE_NAME: &str = "privatelink_private_lambda_pipeline";

/// Runtimes Lambda accepts for new functions (zip packages).
pub const RUNTIMES: [&str; 16] = [
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.2",
    "ruby3.3",
    "provided.al2",
    "provided.al2023",
];

pub const DEFAULT_MEMORY: i64 = 128;
pub const DEFAULT_TIMEOUT: i64 = 30;
pub const DEFAULT_QUEUE_URL_VAR: &str = "QUEUE_URL";
pub const DEFAULT_RETENTION: i64 = 345_600;
pub const DEFAULT_DLQ_RETENTION: i64 = 1_209_600;
pub const DEFAULT_MAX_RECEIVE: i64 = 4;
pub const DEFAULT_BATCH_SIZE: i64 = 10;

fn function_block(description: &'static str, consumer: bool) -> Block {
    let mut b = Block::new(description)
        .attr(attr("source_dir", Type::String, Mode::Optional, "Directory with the function's code; the provider zips it deterministically and updates the function when its content changes."))
        .attr(attr("filename", Type::String, Mode::Optional, "A zip file with the function's code (instead of source_dir)."))
        .attr(attr("source_code_hash", Type::String, Mode::Optional, "With filename: a hash that changes when the code changes (e.g. filebase64sha256). Without it, the file's content is hashed."))
        .attr(attr("handler", Type::String, Mode::Required, "Entry point, e.g. `index.handler`."))
        .attr(attr("runtime", Type::String, Mode::Required, "Lambda runtime, e.g. `python3.12`."))
        .attr(attr("memory_size", Type::Number, Mode::OptionalComputed, "MB, 128 to 10240 (default 128)."))
        .attr(attr("timeout", Type::Number, Mode::OptionalComputed, "Seconds, 1 to 900 (default 30)."))
        .attr(attr("environment", Type::map(Type::String), Mode::Optional, "Environment variables."))
        .attr(attr("role_arn", Type::String, Mode::Optional, "Bring your own execution role; otherwise the pipeline creates a least-privilege one."))
        .attr(attr("code_sha256", Type::String, Mode::Computed, "Base64 SHA-256 of the deployed zip, as Lambda reports it."));
    if consumer {
        b = b.attr(attr("in_vpc", Type::Bool, Mode::OptionalComputed, "Put the consumer in the pipeline's subnets too (default false: it runs outside the VPC, as it needs no private access)."));
    } else {
        b = b
            .attr(attr("queue_url_env_var", Type::String, Mode::OptionalComputed, "Environment variable that carries the queue URL (default QUEUE_URL)."))
            .attr(attr("security_group_ids", Type::set(Type::String), Mode::Optional, "Extra security groups for the producer, besides the one the pipeline makes."));
    }
    b
}

fn schema() -> Schema {
    let queue = Block::new("The queue and its dead-letter queue.")
        .attr(attr("fifo", Type::Bool, Mode::Optional, "FIFO queues (names end in .fifo). Changing it replaces the pipeline."))
        .attr(attr("visibility_timeout_seconds", Type::Number, Mode::Optional, "At least the consumer's timeout; default six times the consumer's timeout plus the batching window (AWS's advice)."))
        .attr(attr("message_retention_seconds", Type::Number, Mode::Optional, "60 to 1209600 (default 345600, 4 days)."))
        .attr(attr("max_receive_count", Type::Number, Mode::Optional, "Receives before a message moves to the dead-letter queue, 1 to 1000 (default 4)."))
        .attr(attr("dead_letter_retention_seconds", Type::Number, Mode::Optional, "60 to 1209600 (default 1209600, 14 days)."))
        .attr(attr("kms_master_key_id", Type::String, Mode::Optional, "KMS key for server-side encryption; default SSE-SQS (SQS-managed keys)."));
    let event_source = Block::new("The event source mapping from the queue to the consumer.")
        .attr(attr("batch_size", Type::Number, Mode::Optional, "1 to 10 (FIFO, or no batching window), up to 10000 otherwise (default 10)."))
        .attr(attr("maximum_batching_window_seconds", Type::Number, Mode::Optional, "0 to 300 (default 0); not allowed for FIFO queues."))
        .attr(attr("report_batch_item_failures", Type::Bool, Mode::Optional, "Let the consumer report partial batch failures (default true)."))
        .attr(attr("maximum_concurrency", Type::Number, Mode::Optional, "2 to 1000 concurrent consumer invocations (default: no limit)."))
        .attr(attr("enabled", Type::Bool, Mode::Optional, "Whether the mapping polls (default true)."))
        .attr(attr("filter_patterns", Type::list(Type::String), Mode::Optional, "Event filter patterns (JSON), at most 5."));
    let endpoint = Block::new("The SQS Interface endpoint the producer reaches the queue through.")
        .attr(attr("create", Type::Bool, Mode::Optional, "Make the endpoint (default true), with its own group allowing TCP 443 only from the producer."))
        .attr(attr("endpoint_id", Type::String, Mode::Optional, "Use this existing SQS endpoint instead (e.g. from a privatelink_service_endpoint_bundle)."));
    let timeouts = Block::new("How long create, update and delete may take (default 10m each).")
        .attr(attr("create", Type::String, Mode::Optional, "e.g. `15m`."))
        .attr(attr("update", Type::String, Mode::Optional, "e.g. `10m`."))
        .attr(attr("delete", Type::String, Mode::Optional, "e.g. `45m` (VPC functions release their network interfaces slowly)."));
    let mut root = Block::new("A private producer Lambda (no NAT) -> SQS through an Interface endpoint -> a consumer Lambda on an event source mapping, with a dead-letter queue, security groups and least-privilege roles.")
        .attr(attr("id", Type::String, Mode::Computed, "The pipeline's name."))
        .attr(attr("name", Type::String, Mode::Required, "Prefix of every object's name. Changing it replaces the pipeline."))
        .attr(attr("vpc_id", Type::String, Mode::Required, "The VPC. Changing it replaces the pipeline."))
        .attr(attr("subnet_ids", Type::set(Type::String), Mode::Required, "Private subnets of the producer (and of the endpoint), one per Availability Zone."))
        .attr(attr("tags", Type::map(Type::String), Mode::Optional, "Tags for every object, over the provider's default_tags."))
        .attr(attr("tags_all", Type::map(Type::String), Mode::Computed, "tags merged over the provider's default_tags."));
    for (name, description) in COMPUTED {
        root = root.attr(attr(name, Type::String, Mode::Computed, description));
    }
    Schema::new(
        root.block_at_least("producer", Nesting::Single, 1, function_block("The producer function, placed in the subnets.", false))
            .block_at_least("consumer", Nesting::Single, 1, function_block("The consumer function, fed by the event source mapping.", true))
            .block("queue", Nesting::Single, queue)
            .block("event_source", Nesting::Single, event_source)
            .block("endpoint", Nesting::Single, endpoint)
            .block("timeouts", Nesting::Single, timeouts),
    )
}

/// The ids of what the pipeline made, all computed.
const COMPUTED: [(&str, &str); 12] = [
    ("queue_url", "URL of the queue."),
    ("queue_arn", "ARN of the queue."),
    ("dead_letter_queue_url", "URL of the dead-letter queue."),
    ("dead_letter_queue_arn", "ARN of the dead-letter queue."),
    ("producer_function_arn", "ARN of the producer function."),
    ("consumer_function_arn", "ARN of the consumer function."),
    ("event_source_mapping_id", "UUID of the event source mapping."),
    ("producer_security_group_id", "The producer's security group (egress TCP 443 to the endpoint only)."),
    ("endpoint_id", "The SQS Interface endpoint used."),
    ("endpoint_security_group_id", "The endpoint's group, when the pipeline made the endpoint."),
    ("producer_role_arn", "The producer's execution role."),
    ("consumer_role_arn", "The consumer's execution role."),
];

// ---------------------------------------------------------------- validate

fn number(v: &Value) -> Option<i64> {
    v.as_f64().filter(|n| n.fract() == 0.0).map(|n| n as i64)
}

/// A whole number attribute within `lo..=hi`, when known.
fn check_range(d: &mut Diagnostics, block: &Value, at: &Path, name: &str, lo: i64, hi: i64, what: &str) {
    let v = block.get(name);
    let Some(n) = v.as_f64() else { return };
    if n.fract() != 0.0 || (n as i64) < lo || (n as i64) > hi {
        d.push(Diagnostic::error(format!("Invalid {name}"), format!("{n} is not a whole number of {what} from {lo} to {hi}.")).at(at.then(name)));
    }
}

fn validate_function(d: &mut Diagnostics, f: &Value, at: &Path) {
    let code = [f.get("source_dir"), f.get("filename")];
    let given = code.iter().filter(|v| !v.is_null()).count();
    if code.iter().all(|v| !v.is_unknown()) && given != 1 {
        d.push(
            Diagnostic::error("Function code", "Give exactly one of source_dir (a directory the provider zips) or filename (a zip file).")
                .at(at.then(if given == 0 { "source_dir" } else { "filename" })),
        );
    }
    if !f.get("source_code_hash").is_null() && f.get("filename").is_null() && !f.get("filename").is_unknown() {
        d.push(Diagnostic::error("source_code_hash without filename", "source_code_hash goes with filename; with source_dir the provider hashes the directory itself.").at(at.then("source_code_hash")));
    }
    if let Some(r) = f.get("runtime").as_str() {
        if !RUNTIMES.contains(&r) {
            d.push(Diagnostic::error("Unknown runtime", format!("{r:?} is not a Lambda runtime for zip packages; use one of {}.", RUNTIMES.join(", "))).at(at.then("runtime")));
        }
    }
    if let Some(h) = f.get("handler").as_str() {
        if h.is_empty() || h.len() > 128 || h.chars().any(char::is_whitespace) {
            d.push(Diagnostic::error("Invalid handler", format!("{h:?}: 1 to 128 characters without spaces, e.g. index.handler.")).at(at.then("handler")));
        }
    }
    check_range(d, f, at, "memory_size", 128, 10_240, "MB");
    check_range(d, f, at, "timeout", 1, 900, "seconds");
    if let Some(arn) = f.get("role_arn").as_str() {
        if let Err(e) = validate::role_arn(arn) {
            d.push(Diagnostic::error("Invalid role ARN", e).at(at.then("role_arn")));
        }
    }
    for (k, _) in f.get("environment").string_map() {
        let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            d.push(Diagnostic::error("Invalid environment variable name", format!("{k:?}: letters, digits and _, starting with a letter.")).at(at.then("environment").key(&k)));
        } else if k.starts_with("AWS_") || k == "_HANDLER" {
            d.push(Diagnostic::error("Reserved environment variable", format!("{k} is set by Lambda itself and cannot be overridden.")).at(at.then("environment").key(&k)));
        }
    }
    for v in f.get("security_group_ids").elements() {
        if let Some(s) = v.as_str() {
            if let Err(e) = validate::aws_id("sg", s) {
                d.push(Diagnostic::error("Invalid sg id", e).at(at.then("security_group_ids")));
            }
        }
    }
    if let Some(var) = f.get("queue_url_env_var").as_str() {
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.starts_with("AWS_") {
            d.push(Diagnostic::error("Invalid queue_url_env_var", format!("{var:?}: letters, digits and _, not starting with AWS_.")).at(at.then("queue_url_env_var")));
        }
    }
}

/// The consumer's timeout as planned (default when unset).
fn consumer_timeout(config: &Value) -> Option<i64> {
    match config.get("consumer").get("timeout") {
        Value::Null => Some(DEFAULT_TIMEOUT),
        v => number(v),
    }
}

fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(name) = config.get("name").as_str() {
        // The longest derived name, "<name>-producer-role" / "<name>-dlq.fifo",
        // must fit IAM's 64 characters.
        let ok = !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !ok {
            d.push(Diagnostic::error("Invalid name", format!("{name:?}: 1 to 40 letters, digits, '-' or '_' (it prefixes function, queue and role names).")).at(Path::attr("name")));
        }
    }
    if let Some(v) = config.get("vpc_id").as_str() {
        if let Err(e) = validate::aws_id("vpc", v) {
            d.push(Diagnostic::error("Invalid vpc id", e).at(Path::attr("vpc_id")));
        }
    }
    let subnets = config.get("subnet_ids");
    if subnets.is_wholly_known() && subnets.elements().is_empty() {
        d.push(Diagnostic::error("No subnets", "The producer needs at least one private subnet (one per Availability Zone).").at(Path::attr("subnet_ids")));
    }
    for v in subnets.elements() {
        if let Some(s) = v.as_str() {
            if let Err(e) = validate::aws_id("subnet", s) {
                d.push(Diagnostic::error("Invalid subnet id", e).at(Path::attr("subnet_ids")));
            }
        }
    }
    for (k, v) in config.get("tags").string_map() {
        if let Err(e) = validate::tag(&k, &v) {
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
            Diagnostic::error("Conflicting endpoint settings", "Either create = true (the pipeline makes the endpoint) or endpoint_id (use an existing one), not both.")
                .at(Path::attr("endpoint").then("endpoint_id")),
        ),
        (Some(false), Value::Null) => d.push(
            Diagnostic::error("No endpoint", "With create = false, give endpoint_id: the producer has no NAT and reaches SQS only through an Interface endpoint.")
                .at(Path::attr("endpoint").then("create")),
        ),
        (_, Value::String(id)) => {
            if let Err(e) = validate::aws_id("vpce", id) {
                d.push(Diagnostic::error("Invalid endpoint id", e).at(Path::attr("endpoint").then("endpoint_id")));
            }
        }
        _ => {}
    }
    d
}

fn validate_queue_and_mapping(config: &Value, d: &mut Diagnostics) {
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
        d.push(Diagnostic::error("Batching window on a FIFO queue", "Lambda does not allow maximum_batching_window_seconds for FIFO queues; remove it or use a standard queue.").at(ep.then("maximum_batching_window_seconds")));
    }
    let max_batch = if fifo || window == 0 { 10 } else { 10_000 };
    let why = if fifo { "a FIFO queue" } else if window == 0 { "no batching window" } else { "a standard queue with a batching window" };
    if let Some(n) = es.get("batch_size").as_f64() {
        if n.fract() != 0.0 || n < 1.0 || n as i64 > max_batch {
            d.push(Diagnostic::error("Invalid batch_size", format!("{n}: with {why} the batch size is 1 to {max_batch}.")).at(ep.then("batch_size")));
        }
    }
    let patterns = es.get("filter_patterns").elements();
    if patterns.len() > 5 {
        d.push(Diagnostic::error("Too many filter patterns", "Lambda takes at most 5 filter patterns per mapping.").at(ep.then("filter_patterns")));
    }
    for (i, p) in patterns.iter().enumerate() {
        if let Some(s) = p.as_str() {
            if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).is_err() {
                d.push(Diagnostic::error("Invalid filter pattern", format!("{s:?} is not a JSON object such as {{\"body\":{{\"type\":[\"order\"]}}}}.")).at(ep.then("filter_patterns").index(i)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::string(v)
    }
    fn n(v: i64) -> Value {
        Value::Number(v as f64)
    }
    fn obj(fields: Vec<(&str, Value)>) -> Value {
        Value::object(fields)
    }
    fn function(extra: Vec<(&str, Value)>) -> Value {
        let mut f = vec![("source_dir", s("./src")), ("handler", s("index.handler")), ("runtime", s("python3.12"))];
        f.extend(extra);
        obj(f)
    }
    fn config(extra: Vec<(&str, Value)>) -> Value {
        let mut f = vec![
            ("name", s("orders")),
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("subnet_ids", Value::Set(vec![s("subnet-0123456789abcdef0")])),
            ("producer", function(vec![])),
            ("consumer", function(vec![])),
        ];
        f.extend(extra);
        obj(f)
    }
    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().filter(|d| d.severity == crate::diag::Severity::Error).map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default()).collect()
    }

    #[test]
    fn schema_has_every_computed_id() {
        let s = schema();
        for (name, _) in COMPUTED {
            assert!(s.block.attribute(name).is_some(), "{name}");
        }
        assert_eq!(s.block.nested("producer").unwrap().min_items, 1);
    }

    #[test]
    fn a_minimal_config_is_valid() {
        assert!(paths(&validate_config(&config(vec![]))).is_empty());
    }

    #[test]
    fn visibility_shorter_than_the_consumer_timeout_is_an_error() {
        let c = config(vec![
            ("consumer", function(vec![("timeout", n(120))])),
            ("queue", obj(vec![("visibility_timeout_seconds", n(60))])),
        ]);
        let d = validate_config(&c);
        assert_eq!(paths(&d), vec!["queue.visibility_timeout_seconds"]);
        assert!(d.0[0].detail.contains("720"), "{}", d.0[0].detail);
        // Enough but below the advice: a warning only.
        let c = config(vec![("consumer", function(vec![("timeout", n(60))])), ("queue", obj(vec![("visibility_timeout_seconds", n(90))]))]);
        let d = validate_config(&c);
        assert!(paths(&d).is_empty());
        assert_eq!(d.0.len(), 1);
    }

    #[test]
    fn fifo_rules() {
        let c = config(vec![
            ("queue", obj(vec![("fifo", Value::Bool(true))])),
            ("event_source", obj(vec![("maximum_batching_window_seconds", n(5)), ("batch_size", n(100))])),
        ]);
        let p = paths(&validate_config(&c));
        assert!(p.contains(&"event_source.maximum_batching_window_seconds".to_string()), "{p:?}");
        assert!(p.contains(&"event_source.batch_size".to_string()), "{p:?}");
        // Standard queue with a window: large batches are fine.
        let c = config(vec![("event_source", obj(vec![("maximum_batching_window_seconds", n(5)), ("batch_size", n(100))]))]);
        assert!(paths(&validate_config(&c)).is_empty());
    }

    #[test]
    fn function_mistakes_name_the_attribute() {
        let c = config(vec![
            (
                "producer",
                obj(vec![
                    ("source_dir", s("./a")),
                    ("filename", s("a.zip")),
                    ("handler", s("index.handler")),
                    ("runtime", s("python2.7")),
                    ("memory_size", n(64)),
                    ("timeout", n(901)),
                    ("environment", Value::Map([("AWS_REGION".to_string(), s("x")), ("1BAD".to_string(), s("y"))].into())),
                ]),
            ),
            ("consumer", obj(vec![("handler", s("index.handler")), ("runtime", s("python3.12")), ("role_arn", s("admin"))])),
            ("endpoint", obj(vec![("create", Value::Bool(true)), ("endpoint_id", s("vpce-0123456789abcdef0"))])),
            ("subnet_ids", Value::Set(vec![])),
            ("name", s("has space")),
        ]);
        let p = paths(&validate_config(&c));
        for want in [
            "name",
            "subnet_ids",
            "producer.filename",
            "producer.runtime",
            "producer.memory_size",
            "producer.timeout",
            "producer.environment[\"AWS_REGION\"]",
            "producer.environment[\"1BAD\"]",
            "consumer.source_dir",
            "consumer.role_arn",
            "endpoint.endpoint_id",
        ] {
            assert!(p.iter().any(|x| x == want), "no error at {want}: {p:?}");
        }
    }

    #[test]
    fn filter_patterns_must_be_json_objects() {
        let c = config(vec![("event_source", obj(vec![("filter_patterns", Value::List(vec![s("{\"body\":{}}"), s("nope")]))]))]);
        assert_eq!(paths(&validate_config(&c)), vec!["event_source.filter_patterns[1]"]);
    }

    #[test]
    fn unknown_values_wait() {
        let c = config(vec![("consumer", function(vec![("timeout", Value::Unknown)])), ("queue", obj(vec![("visibility_timeout_seconds", n(10))]))]);
        assert!(paths(&validate_config(&c)).is_empty());
    }
}
