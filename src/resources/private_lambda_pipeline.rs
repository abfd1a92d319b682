//! `privatelink_private_lambda_pipeline`: a producer Lambda in private
//! subnets with no NAT sends to an SQS queue through the queue service's
//! Interface endpoint; a consumer Lambda takes the messages through an event
//! source mapping; failures go to a dead-letter queue.
//!
//! Parts and their order: dead-letter queue -> queue -> roles; producer
//! group -> endpoint group -> producer egress + endpoint; functions after
//! their role, group and the queue; the mapping after the consumer.
//! Delete runs it backwards, taking VPC functions out of the VPC first.

use std::collections::BTreeMap;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use futures::FutureExt;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::engine::{self, Step};
use crate::parts::code;
use crate::parts::event_source_mapping::{self as esm, Mapping, MappingSpec};
use crate::parts::function::{self, Function, FunctionSpec};
use crate::parts::queue::{self, Queue, QueueSpec, Redrive};
use crate::parts::role::{self, RoleSpec};
use crate::parts::security_group::{self as sg, Direction, Group, GroupSpec, Peer, Rule};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, EndpointSpec, Kind};
use crate::policy;
use crate::resources::{subnet_diagnostics, Planned, Resource, Timeouts};
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
/// Tag on each function naming its code's source (`dir:PATH` / `file:PATH`).
const SOURCE_TAG: &str = "privatelink:source";

fn function_block(description: &'static str, consumer: bool) -> Block {
    let mut b = Block::new(description)
        .attr(attr(
            "source_dir",
            Type::String,
            Mode::Optional,
            "Directory with the function's code; the provider zips it deterministically and updates the function when its content changes.",
        ))
        .attr(attr("filename", Type::String, Mode::Optional, "A zip file with the function's code (instead of source_dir)."))
        .attr(attr(
            "source_code_hash",
            Type::String,
            Mode::Optional,
            "With filename: a hash that changes when the code changes (e.g. filebase64sha256). Without it, the file's content is hashed.",
        ))
        .attr(attr("handler", Type::String, Mode::Required, "Entry point, e.g. `index.handler`."))
        .attr(attr("runtime", Type::String, Mode::Required, "Lambda runtime, e.g. `python3.12`."))
        .attr(attr("memory_size", Type::Number, Mode::OptionalComputed, "MB, 128 to 10240 (default 128)."))
        .attr(attr("timeout", Type::Number, Mode::OptionalComputed, "Seconds, 1 to 900 (default 30)."))
        .attr(attr("environment", Type::map(Type::String), Mode::Optional, "Environment variables."))
        .attr(attr(
            "role_arn",
            Type::String,
            Mode::Optional,
            "Bring your own execution role; otherwise the pipeline creates a least-privilege one.",
        ))
        .attr(attr("code_sha256", Type::String, Mode::Computed, "Base64 SHA-256 of the deployed zip, as Lambda reports it."));
    if consumer {
        b = b.attr(attr(
            "in_vpc",
            Type::Bool,
            Mode::OptionalComputed,
            "Put the consumer in the pipeline's subnets too (default false: it runs outside the VPC, as it needs no private access).",
        ));
    } else {
        b = b
            .attr(attr(
                "queue_url_env_var",
                Type::String,
                Mode::OptionalComputed,
                "Environment variable that carries the queue URL (default QUEUE_URL).",
            ))
            .attr(attr(
                "security_group_ids",
                Type::set(Type::String),
                Mode::Optional,
                "Extra security groups for the producer, besides the one the pipeline makes.",
            ));
    }
    b
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(schema);

fn schema() -> Schema {
    let queue = Block::new("The queue and its dead-letter queue.")
        .attr(attr("fifo", Type::Bool, Mode::OptionalComputed, "FIFO queues (names end in .fifo). Changing it replaces the pipeline."))
        .attr(attr(
            "visibility_timeout_seconds",
            Type::Number,
            Mode::OptionalComputed,
            "At least the consumer's timeout; default six times the consumer's timeout plus the batching window (AWS's advice).",
        ))
        .attr(attr("message_retention_seconds", Type::Number, Mode::OptionalComputed, "60 to 1209600 (default 345600, 4 days)."))
        .attr(attr(
            "max_receive_count",
            Type::Number,
            Mode::OptionalComputed,
            "Receives before a message moves to the dead-letter queue, 1 to 1000 (default 4).",
        ))
        .attr(attr("dead_letter_retention_seconds", Type::Number, Mode::OptionalComputed, "60 to 1209600 (default 1209600, 14 days)."))
        .attr(attr(
            "kms_master_key_id",
            Type::String,
            Mode::Optional,
            "KMS key for server-side encryption; default SSE-SQS (SQS-managed keys).",
        ));
    let event_source = Block::new("The event source mapping from the queue to the consumer.")
        .attr(attr(
            "batch_size",
            Type::Number,
            Mode::OptionalComputed,
            "1 to 10 (FIFO, or no batching window), up to 10000 otherwise (default 10).",
        ))
        .attr(attr(
            "maximum_batching_window_seconds",
            Type::Number,
            Mode::OptionalComputed,
            "0 to 300 (default 0); not allowed for FIFO queues.",
        ))
        .attr(attr(
            "report_batch_item_failures",
            Type::Bool,
            Mode::OptionalComputed,
            "Let the consumer report partial batch failures (default true).",
        ))
        .attr(attr("maximum_concurrency", Type::Number, Mode::Optional, "2 to 1000 concurrent consumer invocations (default: no limit)."))
        .attr(attr("enabled", Type::Bool, Mode::OptionalComputed, "Whether the mapping polls (default true)."))
        .attr(attr("filter_patterns", Type::list(Type::String), Mode::Optional, "Event filter patterns (JSON), at most 5."));
    let endpoint = Block::new("The SQS Interface endpoint the producer reaches the queue through.")
        .attr(attr(
            "create",
            Type::Bool,
            Mode::OptionalComputed,
            "Make the endpoint (default: true unless endpoint_id is given), with its own group allowing TCP 443 only from the producer.",
        ))
        .attr(attr(
            "endpoint_id",
            Type::String,
            Mode::Optional,
            "Use this existing SQS endpoint instead (e.g. from a privatelink_service_endpoint_bundle).",
        ));
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
        .attr(attr("tags_all", Type::map(Type::String), Mode::Computed, "tags merged over the provider's default_tags."))
        .attr(attr("rule_drift", Type::list(Type::String), Mode::Computed, "How the security groups' rules differ from what the pipeline needs (changed outside Terraform); the next apply repairs them."));
    for (name, description) in COMPUTED {
        root = root.attr(attr(name, Type::String, Mode::Computed, description));
    }
    Schema::new(
        // Settings blocks are Group blocks: always in the state with their
        // effective values, whether the configuration writes them or not,
        // so an import plans no change either way.
        root.required_block("producer", function_block("The producer function, placed in the subnets.", false))
            .required_block("consumer", function_block("The consumer function, fed by the event source mapping.", true))
            .block("queue", Nesting::Group, queue)
            .block("event_source", Nesting::Group, event_source)
            .block("endpoint", Nesting::Group, endpoint)
            .block("timeouts", Nesting::Group, timeouts),
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
        d.push(
            Diagnostic::error(format!("Invalid {name}"), format!("{n} is not a whole number of {what} from {lo} to {hi}."))
                .at(at.then(name)),
        );
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
        if let Err(e) = validate::role_arn(arn) {
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
            if let Err(e) = validate::aws_id("sg", s) {
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
fn consumer_timeout(config: &Value) -> Option<i64> {
    match config.get("consumer").get("timeout") {
        Value::Null => Some(DEFAULT_TIMEOUT),
        v => number(v),
    }
}

/// The name prefixes every object's name: the longest derived one,
/// "<name>-consumer" for a role, must fit IAM's 64 characters with room.
fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty() && name.len() <= 40 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?}: 1 to 40 letters, digits, '-' or '_' (it prefixes function, queue and role names)."))
    }
}

fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(name) = config.get("name").as_str() {
        if let Err(e) = check_name(name) {
            d.push(Diagnostic::error("Invalid name", e).at(Path::attr("name")));
        }
    }
    if let Some(v) = config.get("vpc_id").as_str() {
        if let Err(e) = validate::aws_id("vpc", v) {
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

// ---------------------------------------------------------------- desired

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
enum CodeSource {
    Dir(std::path::PathBuf),
    File(std::path::PathBuf),
}

impl CodeSource {
    fn of(f: &Value) -> Option<CodeSource> {
        match (f.get("source_dir").as_str(), f.get("filename").as_str()) {
            (Some(d), _) => Some(CodeSource::Dir(d.into())),
            (None, Some(p)) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// Where the code came from, kept in a tag on the function so an import
    /// can write the same source back (nothing else in AWS records it).
    fn tag(&self) -> String {
        match self {
            CodeSource::Dir(d) => format!("dir:{}", d.display()),
            CodeSource::File(f) => format!("file:{}", f.display()),
        }
    }

    fn from_tag(tag: &str) -> Option<CodeSource> {
        match tag.split_once(':')? {
            ("dir", p) => Some(CodeSource::Dir(p.into())),
            ("file", p) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// The zip and its hash (Lambda's CodeSha256 for it).
    fn load(&self) -> Result<code::Code, String> {
        match self {
            CodeSource::Dir(d) => code::from_dir(d),
            CodeSource::File(f) => code::from_file(f),
        }
    }
}

#[derive(Debug, Clone)]
struct FunctionDesired {
    name: String,
    handler: String,
    runtime: String,
    memory: i32,
    timeout: i32,
    environment: BTreeMap<String, String>,
    role_arn: Option<String>,
    code: Option<CodeSource>,
    extra_groups: Vec<String>,
    in_vpc: bool,
}

impl FunctionDesired {
    fn from(f: &Value, name: String, producer: bool) -> FunctionDesired {
        FunctionDesired {
            name,
            handler: f.get("handler").as_str().unwrap_or("").into(),
            runtime: f.get("runtime").as_str().unwrap_or("").into(),
            memory: number(f.get("memory_size")).unwrap_or(DEFAULT_MEMORY) as i32,
            timeout: number(f.get("timeout")).unwrap_or(DEFAULT_TIMEOUT) as i32,
            environment: f.get("environment").string_map(),
            role_arn: f.get("role_arn").as_str().map(str::to_string),
            code: CodeSource::of(f),
            extra_groups: f.get("security_group_ids").strings(),
            in_vpc: producer || f.get("in_vpc").as_bool() == Some(true),
        }
    }
}

/// The pipeline as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
struct Desired {
    name: String,
    vpc_id: String,
    subnets: Vec<String>,
    tags_all: Tags,
    fifo: bool,
    visibility: i32,
    retention: i32,
    dlq_retention: i32,
    max_receive: i32,
    kms: Option<String>,
    mapping: MappingDesired,
    endpoint_id: Option<String>,
    queue_url_var: String,
    producer: FunctionDesired,
    consumer: FunctionDesired,
    timeouts: Timeouts,
}

#[derive(Debug, Clone)]
struct MappingDesired {
    batch_size: i32,
    window: i32,
    report_failures: bool,
    max_concurrency: Option<i32>,
    enabled: bool,
    filters: Vec<String>,
}

impl Desired {
    fn from(v: &Value) -> Desired {
        let name = v.get("name").as_str().unwrap_or("").to_string();
        let q = v.get("queue");
        let es = v.get("event_source");
        let consumer = FunctionDesired::from(v.get("consumer"), format!("{name}-consumer"), false);
        let window = number(es.get("maximum_batching_window_seconds")).unwrap_or(0) as i32;
        let visibility = number(q.get("visibility_timeout_seconds"))
            .unwrap_or_else(|| recommended_visibility(consumer.timeout as i64, window as i64)) as i32;
        Desired {
            vpc_id: v.get("vpc_id").as_str().unwrap_or("").into(),
            subnets: v.get("subnet_ids").strings(),
            tags_all: v.get("tags_all").string_map(),
            fifo: q.get("fifo").as_bool() == Some(true),
            visibility,
            retention: number(q.get("message_retention_seconds")).unwrap_or(DEFAULT_RETENTION) as i32,
            dlq_retention: number(q.get("dead_letter_retention_seconds")).unwrap_or(DEFAULT_DLQ_RETENTION) as i32,
            max_receive: number(q.get("max_receive_count")).unwrap_or(DEFAULT_MAX_RECEIVE) as i32,
            kms: q.get("kms_master_key_id").as_str().map(str::to_string),
            mapping: MappingDesired {
                batch_size: number(es.get("batch_size")).unwrap_or(DEFAULT_BATCH_SIZE) as i32,
                window,
                report_failures: es.get("report_batch_item_failures").as_bool().unwrap_or(true),
                max_concurrency: number(es.get("maximum_concurrency")).map(|n| n as i32),
                enabled: es.get("enabled").as_bool().unwrap_or(true),
                filters: es.get("filter_patterns").elements().iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
            },
            endpoint_id: v.get("endpoint").get("endpoint_id").as_str().map(str::to_string),
            queue_url_var: v.get("producer").get("queue_url_env_var").as_str().unwrap_or(DEFAULT_QUEUE_URL_VAR).into(),
            producer: FunctionDesired::from(v.get("producer"), format!("{name}-producer"), true),
            consumer,
            timeouts: Timeouts::from_value(v.get("timeouts")),
            name,
        }
    }

    fn owned(&self, part: &str) -> Tags {
        tags::with_ownership(&self.tags_all, &format!("pipeline/{}", self.name), part)
    }

    fn queue_name(&self, dead_letter: bool) -> String {
        let base = if dead_letter { format!("{}-dlq", self.name) } else { self.name.clone() };
        if self.fifo {
            format!("{base}.fifo")
        } else {
            base
        }
    }

    fn dlq_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.queue_name(true),
            fifo: self.fifo,
            visibility_timeout_seconds: self.visibility,
            message_retention_seconds: self.dlq_retention,
            kms_master_key_id: self.kms.clone(),
            redrive: None,
            tls_only: true,
            tags: self.owned("dead-letter-queue"),
        }
    }

    fn queue_spec(&self, dlq_arn: &str) -> QueueSpec {
        QueueSpec {
            name: self.queue_name(false),
            fifo: self.fifo,
            visibility_timeout_seconds: self.visibility,
            message_retention_seconds: self.retention,
            kms_master_key_id: self.kms.clone(),
            redrive: Some(Redrive { dead_letter_arn: dlq_arn.to_string(), max_receive_count: self.max_receive }),
            tls_only: true,
            tags: self.owned("queue"),
        }
    }

    fn role_spec(&self, f: &FunctionDesired, queue_arn: &str, region: &str, producer: bool) -> RoleSpec {
        let account = queue_arn.split(':').nth(4).unwrap_or("");
        let logs = policy::log_group_arn(region, account, &f.name);
        let doc = if producer { policy::producer(queue_arn, &logs, f.in_vpc) } else { policy::consumer(queue_arn, &logs, f.in_vpc) };
        RoleSpec {
            name: f.name.clone(),
            trust_policy: policy::lambda_trust(),
            inline_policies: [("pipeline".to_string(), doc)].into(),
            tags: self.owned(if producer { "producer-role" } else { "consumer-role" }),
        }
    }

    /// The producer's group: out on TCP 443 to the endpoint's groups only.
    fn producer_group_spec(&self, endpoint_groups: &[String]) -> GroupSpec {
        GroupSpec {
            name: format!("{}-producer", self.name),
            description: format!("Functions of pipeline {}: HTTPS to the SQS endpoint only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("producer-group"),
            rules: endpoint_groups
                .iter()
                .map(|g| Rule {
                    direction: Direction::Egress,
                    protocol: "tcp".into(),
                    from_port: 443,
                    to_port: 443,
                    peer: Peer::Group(g.clone()),
                    id: None,
                })
                .collect(),
        }
    }

    /// The endpoint's group: in on TCP 443 from the producer's group only.
    fn endpoint_group_spec(&self, producer_group: &str) -> GroupSpec {
        GroupSpec {
            name: format!("{}-endpoint", self.name),
            description: format!("SQS endpoint of pipeline {}: HTTPS from its functions only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("endpoint-group"),
            rules: vec![Rule::https_from(Peer::Group(producer_group.to_string()))],
        }
    }

    fn endpoint_spec(&self, region: &str, group: &str) -> EndpointSpec {
        EndpointSpec {
            vpc_id: self.vpc_id.clone(),
            service_name: format!("com.amazonaws.{region}.sqs"),
            kind: Kind::Interface,
            subnet_ids: self.subnets.clone(),
            route_table_ids: vec![],
            security_group_ids: vec![group.to_string()],
            private_dns_enabled: Some(true),
            policy: None,
            tags: self.owned("endpoint"),
            client_token: String::new(),
        }
    }

    fn function_spec(&self, f: &FunctionDesired, role_arn: &str, groups: &[String], queue_url: Option<&str>) -> FunctionSpec {
        let mut environment = f.environment.clone();
        if let Some(url) = queue_url {
            environment.insert(self.queue_url_var.clone(), url.to_string());
        }
        let mut security_group_ids: Vec<String> = if f.in_vpc { groups.iter().chain(&f.extra_groups).cloned().collect() } else { vec![] };
        security_group_ids.sort();
        FunctionSpec {
            name: f.name.clone(),
            role_arn: role_arn.to_string(),
            handler: f.handler.clone(),
            runtime: f.runtime.clone(),
            memory_size: f.memory,
            timeout: f.timeout,
            environment,
            subnet_ids: if f.in_vpc { self.subnets.clone() } else { vec![] },
            security_group_ids,
            tags: {
                let mut t = self.owned(if queue_url.is_some() { "producer" } else { "consumer" });
                if let Some(src) = f.code.as_ref().map(CodeSource::tag).filter(|v| v.len() <= 256) {
                    t.insert(SOURCE_TAG.into(), src);
                }
                t
            },
        }
    }

    fn mapping_spec(&self, queue_arn: &str) -> MappingSpec {
        MappingSpec {
            function_name: self.consumer.name.clone(),
            event_source_arn: queue_arn.to_string(),
            batch_size: self.mapping.batch_size,
            maximum_batching_window_seconds: self.mapping.window,
            report_batch_item_failures: self.mapping.report_failures,
            maximum_concurrency: self.mapping.max_concurrency,
            enabled: self.mapping.enabled,
            filter_patterns: self.mapping.filters.clone(),
        }
    }
}

// ---------------------------------------------------------------- plan

/// The planned state: config values, defaults where the schema computes
/// them, prior ids for parts that stay, unknown for parts apply will make.
fn plan_state(default_tags: &Tags, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
    let mut state = proposed.clone();
    let mut requires_replace = Vec::new();
    if !prior.is_null() {
        for a in ["name", "vpc_id"] {
            if prior.get(a) != config.get(a) {
                requires_replace.push(Path::attr(a));
            }
        }
        let fifo = |v: &Value| v.get("queue").get("fifo").as_bool() == Some(true);
        if fifo(prior) != fifo(config) {
            requires_replace.push(Path::attr("queue").then("fifo"));
        }
    }
    let replacing = !requires_replace.is_empty();
    static NULL: Value = Value::Null;
    let prior = if replacing { &NULL } else { prior };
    let Value::Object(fields) = &mut state else { return Ok(Planned { state, requires_replace }) };
    fields.insert("id".into(), config.get("name").clone());
    let tags = config.get("tags");
    fields.insert(
        "tags_all".into(),
        if tags.is_wholly_known() { Value::from_string_map(&tags::merged(default_tags, &tags.string_map())) } else { Value::Unknown },
    );
    let mut diags = Diagnostics::default();
    for (block, producer) in [("producer", true), ("consumer", false)] {
        let cfg = config.get(block);
        let mut f = match proposed.get(block) {
            Value::Object(m) => m.clone(),
            _ => continue,
        };
        f.insert("memory_size".into(), default_number(cfg.get("memory_size"), DEFAULT_MEMORY));
        f.insert("timeout".into(), default_number(cfg.get("timeout"), DEFAULT_TIMEOUT));
        if producer {
            let var = match cfg.get("queue_url_env_var") {
                Value::Null => Value::string(DEFAULT_QUEUE_URL_VAR),
                v => v.clone(),
            };
            f.insert("queue_url_env_var".into(), var);
        } else {
            let in_vpc = match cfg.get("in_vpc") {
                Value::Null => Value::Bool(false),
                v => v.clone(),
            };
            f.insert("in_vpc".into(), in_vpc);
        }
        // The code's hash, from the files now: a change is an update of
        // the function's code, known at plan.
        let hash = match (cfg.get("source_dir"), cfg.get("filename"), cfg.get("source_code_hash")) {
            (Value::Unknown, _, _) | (_, Value::Unknown, _) => Value::Unknown,
            _ => match CodeSource::of(cfg).map(|c| c.load()) {
                Some(Ok(code)) => Value::string(code.sha256),
                Some(Err(e)) => {
                    let attr = if cfg.get("source_dir").is_null() { "filename" } else { "source_dir" };
                    diags.push(Diagnostic::error("Cannot read the function's code", e).at(Path::attr(block).then(attr)));
                    Value::Unknown
                }
                None => Value::Unknown,
            },
        };
        f.insert("code_sha256".into(), hash);
        fields.insert(block.into(), Value::Object(f));
    }
    if diags.has_errors() {
        return Err(diags);
    }
    // Settings blocks show their effective values: what the configuration
    // says, else the default. Terraform proposes the prior (observed) value
    // for an unset optional+computed setting; planning the default instead
    // is what makes a setting changed behind Terraform's back a diff that
    // apply repairs.
    let mut basis = fields.clone();
    for block in ["queue", "event_source"] {
        basis.insert(block.into(), config.get(block).clone());
    }
    let effective = Desired::from(&Value::Object(basis));
    if let Some(Value::Object(q)) = fields.get_mut("queue") {
        let cfg = config.get("queue");
        let mut fill = |k: &str, v: Value| {
            if cfg.get(k).is_null() {
                q.insert(k.into(), v);
            }
        };
        fill("fifo", Value::Bool(effective.fifo));
        fill("visibility_timeout_seconds", Value::Number(effective.visibility as f64));
        fill("message_retention_seconds", Value::Number(effective.retention as f64));
        fill("max_receive_count", Value::Number(effective.max_receive as f64));
        fill("dead_letter_retention_seconds", Value::Number(effective.dlq_retention as f64));
    }
    if let Some(Value::Object(es)) = fields.get_mut("event_source") {
        let cfg = config.get("event_source");
        let mut fill = |k: &str, v: Value| {
            if cfg.get(k).is_null() {
                es.insert(k.into(), v);
            }
        };
        fill("batch_size", Value::Number(effective.mapping.batch_size as f64));
        fill("maximum_batching_window_seconds", Value::Number(effective.mapping.window as f64));
        fill("report_batch_item_failures", Value::Bool(effective.mapping.report_failures));
        fill("enabled", Value::Bool(effective.mapping.enabled));
    }
    if let Some(Value::Object(ep)) = fields.get_mut("endpoint") {
        if config.get("endpoint").get("create").is_null() {
            let reuse = config.get("endpoint").get("endpoint_id");
            ep.insert("create".into(), if reuse.is_unknown() { Value::Unknown } else { Value::Bool(reuse.is_null()) });
        }
    }
    // Ids of the parts: kept when the part exists and stays, unknown when
    // apply makes it; the endpoint's depend on the endpoint choice.
    let reuse_endpoint = config.get("endpoint").get("endpoint_id").clone();
    for (name, _) in COMPUTED {
        let kept = prior.get(name).clone();
        let planned = match name {
            "endpoint_id" if !reuse_endpoint.is_null() => reuse_endpoint.clone(),
            "endpoint_security_group_id" if !reuse_endpoint.is_null() => Value::Null,
            "producer_role_arn" if !config.get("producer").get("role_arn").is_null() => config.get("producer").get("role_arn").clone(),
            "consumer_role_arn" if !config.get("consumer").get("role_arn").is_null() => config.get("consumer").get("role_arn").clone(),
            _ if kept.as_str().is_some() => kept,
            _ => Value::Unknown,
        };
        fields.insert(name.into(), planned);
    }
    fields.insert("rule_drift".into(), Value::List(vec![]));
    Ok(Planned { state, requires_replace })
}

fn default_number(v: &Value, default: i64) -> Value {
    match v {
        Value::Null => Value::Number(default as f64),
        v => v.clone(),
    }
}

// ---------------------------------------------------------------- plan-time checks

/// Checks that need AWS, only for what is new or changed, so a plan with
/// no changes makes no calls.
async fn check_against_aws(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let ec2 = &ctx.aws.ec2;
    let region = ctx.aws.region.as_str();
    let (Some(vpc_id), subnets) = (planned.get("vpc_id").as_str(), planned.get("subnet_ids")) else { return Ok(d) };
    if subnets.is_wholly_known() && prior.get("subnet_ids") != subnets {
        let ids = subnets.strings();
        let found = vpc::subnets(ec2, &ids).await?;
        d.extend(Diagnostics(subnet_diagnostics(&found, vpc_id, region, &ids, &Path::attr("subnet_ids"))));
    }
    let sqs = format!("com.amazonaws.{region}.sqs");
    let at = Path::attr("endpoint").then("endpoint_id");
    match planned.get("endpoint").get("endpoint_id") {
        Value::String(id) if prior.get("endpoint").get("endpoint_id").as_str() != Some(id) => {
            match vpce::find_many(ec2, std::slice::from_ref(id)).await?.into_iter().find(|e| !e.is_gone()) {
                None => d.push(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {region}.")).at(at)),
                Some(e) if e.vpc_id != vpc_id => {
                    d.push(Diagnostic::error("Endpoint in another VPC", format!("{id} is in {}, not in {vpc_id}.", e.vpc_id)).at(at))
                }
                Some(e) if e.service_name != sqs || e.kind != Kind::Interface => d.push(
                    Diagnostic::error(
                        "Not an SQS Interface endpoint",
                        format!(
                            "{id} is a {} endpoint for {}; the producer needs an Interface endpoint for {sqs}.",
                            e.kind.as_str(),
                            e.service_name
                        ),
                    )
                    .at(at),
                ),
                _ => {}
            }
        }
        Value::Null if prior.get("endpoint_id").as_str().is_none() => {
            // The endpoint will be made: its private DNS needs the VPC's DNS
            // support and host names, and no other SQS endpoint may own it.
            match vpc::dns_attributes(ec2, vpc_id).await? {
                None => d.push(Diagnostic::error("VPC not found", format!("VPC {vpc_id} does not exist in {region}.")).at(Path::attr("vpc_id"))),
                Some((support, hostnames)) if !(support && hostnames) => d.push(
                    Diagnostic::error(
                        "The SQS endpoint's private DNS needs DNS support and DNS hostnames on the VPC",
                        format!("VPC {vpc_id} has enableDnsSupport={support} and enableDnsHostnames={hostnames}. Turn both on (aws_vpc: enable_dns_support = true, enable_dns_hostnames = true)."),
                    )
                    .at(Path::attr("vpc_id")),
                ),
                _ => {}
            }
            let owner = format!("pipeline/{}", planned.get("name").as_str().unwrap_or(""));
            let existing = vpce::find_for_service(ec2, vpc_id, &sqs).await?;
            if let Some(e) = existing.iter().find(|e| e.kind == Kind::Interface && e.tags.get(tags::OWNER_TAG) != Some(&owner)) {
                d.push(
                    Diagnostic::error(
                        "The VPC already has an SQS endpoint",
                        format!("{vpc_id} already has {} for SQS, which owns the private DNS name; use it: endpoint {{ endpoint_id = \"{}\" }}.", e.id, e.id),
                    )
                    .at(Path::attr("endpoint")),
                );
            }
        }
        _ => {}
    }
    Ok(d)
}

// ---------------------------------------------------------------- apply

/// What exists, as apply learns it. Every finished step writes here, so a
/// failure still returns everything that was made.
#[derive(Default, Clone)]
struct Record {
    dlq: Option<Queue>,
    queue: Option<Queue>,
    producer_role: Option<String>,
    consumer_role: Option<String>,
    producer_group: Option<Group>,
    endpoint_group: Option<Group>,
    endpoint: Option<Endpoint>,
    /// Groups of the endpoint the producer talks to (ours or a reused one).
    endpoint_groups: Vec<String>,
    producer: Option<Function>,
    consumer: Option<Function>,
    mapping: Option<Mapping>,
}

/// The state's ids of what the pipeline made.
struct Ids<'a>(&'a Value);

impl Ids<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).as_str().map(str::to_string)
    }
    /// A role the pipeline made (not one the user brought).
    fn own_role(&self, block: &str, attr: &str) -> Option<String> {
        if self.0.get(block).get("role_arn").is_null() {
            self.get(attr)
        } else {
            None
        }
    }
    fn own_endpoint(&self) -> bool {
        self.0.get("endpoint").get("endpoint_id").is_null()
    }
}

/// How much `observe` reads. Apply and destroy get what they may change
/// (a queue's tags with its settings); a refresh gets only what the state
/// shows, so a no-change plan costs one call per API object kind and no more
/// (issue 6's budget: at most 10).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Depth {
    Apply,
    Refresh,
}

/// Everything the prior state recorded, as it is now: independent reads,
/// sent together (both groups in one Describe).
async fn observe(ctx: &Ctx, prior: &Value, depth: Depth) -> Result<Record, Diagnostic> {
    let aws = &ctx.aws;
    let ids = Ids(prior);
    if prior.is_null() {
        return Ok(Record::default());
    }
    let name = prior.get("name").as_str().unwrap_or("");
    let queue = |url: Option<String>| async move {
        match (url, depth) {
            (None, _) => Ok(None),
            (Some(u), Depth::Apply) => queue::find(&aws.sqs, &u).await,
            (Some(u), Depth::Refresh) => queue::find_settings(&aws.sqs, &u).await,
        }
    };
    // Only the ARN: ensure_role reads the policies itself before changing them.
    let role = |own: Option<String>, who: &'static str| async move {
        match own {
            None => Ok(None),
            Some(_) => role::arn_of(&aws.iam, &format!("{name}-{who}")).await,
        }
    };
    let function = |recorded: Option<String>, who: &'static str| async move {
        match recorded {
            None => Ok(None),
            Some(_) => function::find(&aws.lambda, &format!("{name}-{who}")).await,
        }
    };
    let (producer_group_id, endpoint_group_id) = (ids.get("producer_security_group_id"), ids.get("endpoint_security_group_id"));
    let group_ids: Vec<String> = producer_group_id.iter().chain(endpoint_group_id.iter()).cloned().collect();
    let groups = sg::find_many(&aws.ec2, &group_ids);
    let endpoint = async {
        match ids.get("endpoint_id") {
            None => Ok(None),
            Some(e) => Ok(vpce::find_many(&aws.ec2, &[e]).await?.into_iter().find(|e| !e.is_gone())),
        }
    };
    let mapping = async {
        match ids.get("event_source_mapping_id") {
            None => Ok(None),
            Some(u) => esm::find(&aws.lambda, &u).await,
        }
    };
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
    ) = tokio::try_join!(
        n(queue(ids.get("dead_letter_queue_url"))),
        n(queue(ids.get("queue_url"))),
        n(role(ids.own_role("producer", "producer_role_arn"), "producer")),
        n(role(ids.own_role("consumer", "consumer_role_arn"), "consumer")),
        n(groups),
        n(endpoint),
        n(function(ids.get("producer_function_arn"), "producer")),
        n(function(ids.get("consumer_function_arn"), "consumer")),
        n(mapping),
    )?;
    crate::calls::log_concurrent_reads("read the pipeline", &[c1, c2, c3, c4, c5, c6, c7, c8, c9]);
    let group = |id: &Option<String>| id.as_ref().and_then(|id| groups.iter().find(|g| &g.id == id).cloned());
    Ok(Record {
        dlq,
        queue,
        producer_role,
        consumer_role,
        producer_group: group(&producer_group_id),
        endpoint_group: group(&endpoint_group_id),
        endpoint,
        producer,
        consumer,
        mapping,
        ..Record::default()
    })
}

fn stopped_or(outcome: Result<engine::Outcome, Diagnostic>) -> Diagnostics {
    match outcome {
        Ok(o) => Diagnostics(o.errors()),
        Err(stopped) => stopped.into(),
    }
}

async fn reconcile(ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
    let desired = Desired::from(planned);
    let timeout = if prior.is_null() { desired.timeouts.create } else { desired.timeouts.update };
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let record = Mutex::new(observed);
    let d = &desired;
    let rec = &record;
    let reuse = d.endpoint_id.is_some();
    let mut steps = vec![
        Step::new("dead-letter-queue", &[], ensure_dlq(ctx, d, rec).boxed()),
        Step::new("queue", &["dead-letter-queue"], ensure_queue(ctx, d, rec).boxed()),
        Step::new("producer-group", &[], ensure_producer_group(ctx, d, rec).boxed()),
        Step::new(
            "producer",
            &["producer-role", "producer-egress", "endpoint", "queue"],
            ensure_function(ctx, d, rec, true, timeout).boxed(),
        ),
        Step::new("consumer", &["consumer-role", "producer-egress"], ensure_function(ctx, d, rec, false, timeout).boxed()),
        Step::new("mapping", &["consumer", "queue"], ensure_mapping(ctx, d, rec, timeout).boxed()),
    ];
    if d.producer.role_arn.is_none() {
        steps.push(Step::new("producer-role", &["queue"], ensure_role(ctx, d, rec, true).boxed()));
    }
    if d.consumer.role_arn.is_none() {
        steps.push(Step::new("consumer-role", &["queue"], ensure_role(ctx, d, rec, false).boxed()));
    }
    if reuse {
        steps.push(Step::new("producer-egress", &["producer-group"], reused_endpoint_groups(ctx, d, rec).boxed()));
    } else {
        steps.push(Step::new("endpoint-group", &["producer-group"], ensure_endpoint_group(ctx, d, rec).boxed()));
        steps.push(Step::new("producer-egress", &["endpoint-group"], ensure_producer_egress(ctx, d, rec).boxed()));
        steps.push(Step::new("endpoint", &["endpoint-group"], ensure_endpoint(ctx, d, rec, timeout).boxed()));
    }
    // Parts the new configuration no longer wants (a role the user now
    // brings, an endpoint now reused) go once the functions moved off them.
    let ids = Ids(prior);
    let drop_producer_role = d.producer.role_arn.is_some() && ids.own_role("producer", "producer_role_arn").is_some();
    let drop_consumer_role = d.consumer.role_arn.is_some() && ids.own_role("consumer", "consumer_role_arn").is_some();
    if drop_producer_role {
        steps.push(Step::new("remove producer-role", &["producer"], remove_role(ctx, format!("{}-producer", d.name), rec, true).boxed()));
    }
    if drop_consumer_role {
        steps.push(Step::new("remove consumer-role", &["consumer"], remove_role(ctx, format!("{}-consumer", d.name), rec, false).boxed()));
    }
    if reuse && !prior.is_null() && ids.own_endpoint() {
        steps.push(Step::new("remove endpoint", &["producer"], remove_endpoint(ctx, rec, timeout).boxed()));
        steps.push(Step::new("remove endpoint-group", &["remove endpoint"], remove_endpoint_group(ctx, rec, timeout).boxed()));
    }
    let diags = stopped_or(ctx.run("applying the pipeline", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await);
    let record = record.into_inner().unwrap_or_else(|e| e.into_inner());
    (state_after(planned, &record, reuse), diags)
}

async fn ensure_dlq(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let known = rec.lock().unwrap().dlq.clone();
    let q = ensure_one_queue(ctx, &d.dlq_spec(), known).await?;
    rec.lock().unwrap().dlq = Some(q);
    Ok(())
}

async fn ensure_queue(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (known, dlq) = {
        let r = rec.lock().unwrap();
        (r.queue.clone(), r.dlq.as_ref().map(|q| q.arn.clone()).unwrap_or_default())
    };
    let q = ensure_one_queue(ctx, &d.queue_spec(&dlq), known).await?;
    rec.lock().unwrap().queue = Some(q);
    Ok(())
}

/// A queue brought to `spec`: the known one updated, or created (SQS's
/// create adopts a queue of that name).
async fn ensure_one_queue(ctx: &Ctx, spec: &QueueSpec, known: Option<Queue>) -> Result<Queue, Diagnostic> {
    let sqs = &ctx.aws.sqs;
    match known {
        Some(q) => {
            queue::update(sqs, &q, spec).await?;
            queue::find(sqs, &q.url)
                .await?
                .ok_or_else(|| Diagnostic::error("sqs queue: vanished", format!("{} disappeared while it was updated.", q.url)))
        }
        None => queue::create(sqs, spec).await,
    }
}

async fn ensure_role(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, producer: bool) -> Result<(), Diagnostic> {
    let iam = &ctx.aws.iam;
    let queue_arn = rec.lock().unwrap().queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default();
    let f = if producer { &d.producer } else { &d.consumer };
    let spec = d.role_spec(f, &queue_arn, &ctx.aws.region, producer);
    let role = match role::find(iam, &spec.name).await? {
        Some(current) => {
            role::update(iam, &current, &spec).await?;
            current.arn
        }
        None => role::create(iam, &spec).await?.arn,
    };
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer_role = Some(role);
    } else {
        r.consumer_role = Some(role);
    }
    Ok(())
}

async fn ensure_producer_group(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    // The egress rule names the endpoint's group, which may not exist yet:
    // keep what is known now, `producer-egress` completes it.
    let (known, targets) = {
        let r = rec.lock().unwrap();
        let targets: Vec<String> = r.endpoint_group.iter().map(|g| g.id.clone()).collect();
        (r.producer_group.clone(), targets)
    };
    let spec = d.producer_group_spec(&targets);
    let on_created = |id: &str| {
        rec.lock().unwrap().producer_group =
            Some(Group { id: id.to_string(), name: spec.name.clone(), vpc_id: d.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] });
    };
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    rec.lock().unwrap().producer_group = Some(g);
    Ok(())
}

async fn ensure_endpoint_group(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (known, producer) = {
        let r = rec.lock().unwrap();
        (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone()).unwrap_or_default())
    };
    let spec = d.endpoint_group_spec(&producer);
    let on_created = |id: &str| {
        rec.lock().unwrap().endpoint_group =
            Some(Group { id: id.to_string(), name: spec.name.clone(), vpc_id: d.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] });
    };
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    let mut r = rec.lock().unwrap();
    r.endpoint_groups = vec![g.id.clone()];
    r.endpoint_group = Some(g);
    Ok(())
}

async fn ensure_producer_egress(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (group, targets) = {
        let r = rec.lock().unwrap();
        (r.producer_group.clone(), r.endpoint_groups.clone())
    };
    let Some(group) = group else { return Ok(()) };
    let spec = d.producer_group_spec(&targets);
    sg::reconcile_rules(&ctx.aws.ec2, &group.id, &group.rules, &spec.rules).await?;
    let fresh = sg::find(&ctx.aws.ec2, &group.id).await?;
    rec.lock().unwrap().producer_group = fresh;
    Ok(())
}

/// With a reused endpoint the producer may reach exactly its groups.
async fn reused_endpoint_groups(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let id = d.endpoint_id.clone().unwrap_or_default();
    let ep = vpce::find_many(&ctx.aws.ec2, std::slice::from_ref(&id)).await?.into_iter().find(|e| !e.is_gone()).ok_or_else(|| {
        Diagnostic::error("vpc endpoint: not found", format!("endpoint.endpoint_id {id} does not exist (or is deleted)."))
            .at(Path::attr("endpoint").then("endpoint_id"))
    })?;
    rec.lock().unwrap().endpoint_groups = ep.security_group_ids.clone();
    ensure_producer_egress(ctx, d, rec).await
}

async fn ensure_endpoint(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let (known, group) = {
        let r = rec.lock().unwrap();
        (r.endpoint.clone(), r.endpoint_group.as_ref().map(|g| g.id.clone()).unwrap_or_default())
    };
    let spec = d.endpoint_spec(&ctx.aws.region, &group);
    let on_created = |id: &str| tracing::info!(endpoint = %id, "sqs endpoint created");
    let ep = vpce::ensure(&ctx.aws.ec2, &spec, known, false, timeout, on_created).await?;
    rec.lock().unwrap().endpoint = Some(ep);
    Ok(())
}

async fn ensure_function(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, producer: bool, timeout: Duration) -> Result<(), Diagnostic> {
    let lambda = &ctx.aws.lambda;
    let f = if producer { &d.producer } else { &d.consumer };
    let block = if producer { "producer" } else { "consumer" };
    let code = f
        .code
        .as_ref()
        .ok_or_else(|| Diagnostic::error("No function code", "Give source_dir or filename.").at(Path::attr(block)))?
        .load()
        .map_err(|e| Diagnostic::error("Cannot read the function's code", e).at(Path::attr(block)))?;
    let (known, role, groups, queue_url) = {
        let r = rec.lock().unwrap();
        let known = if producer { r.producer.clone() } else { r.consumer.clone() };
        let role = f.role_arn.clone().or(if producer { r.producer_role.clone() } else { r.consumer_role.clone() }).unwrap_or_default();
        let groups: Vec<String> = r.producer_group.iter().map(|g| g.id.clone()).collect();
        (known, role, groups, r.queue.as_ref().map(|q| q.url.clone()))
    };
    let spec = d.function_spec(f, &role, &groups, if producer { queue_url.as_deref() } else { None });
    let current = match known {
        Some(c) => Some(c),
        None => function::find(lambda, &spec.name).await?,
    };
    let made = match current {
        Some(c) => function::update(lambda, &c, &spec, &code, timeout).await?,
        None => function::create(lambda, &spec, &code, timeout).await?,
    };
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer = Some(made);
    } else {
        r.consumer = Some(made);
    }
    Ok(())
}

async fn ensure_mapping(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let lambda = &ctx.aws.lambda;
    let (known, queue_arn) = {
        let r = rec.lock().unwrap();
        (r.mapping.clone(), r.queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default())
    };
    let spec = d.mapping_spec(&queue_arn);
    let m = match known {
        Some(m) if m.event_source_arn == queue_arn => match esm::changes(&m, &spec) {
            Some(u) => esm::update(lambda, &m.uuid, &u, timeout).await?,
            None => m,
        },
        _ => esm::create(lambda, &spec, timeout).await?,
    };
    rec.lock().unwrap().mapping = Some(m);
    Ok(())
}

async fn remove_role(ctx: &Ctx, name: String, rec: &Mutex<Record>, producer: bool) -> Result<(), Diagnostic> {
    role::delete(&ctx.aws.iam, &name).await?;
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer_role = None;
    } else {
        r.consumer_role = None;
    }
    Ok(())
}

async fn remove_endpoint(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().endpoint.as_ref().map(|e| e.id.clone());
    if let Some(id) = id {
        vpce::delete(&ctx.aws.ec2, &[id], timeout).await?;
    }
    rec.lock().unwrap().endpoint = None;
    Ok(())
}

async fn remove_endpoint_group(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().endpoint_group.as_ref().map(|g| g.id.clone());
    if let Some(id) = id {
        sg::delete(&ctx.aws.ec2, &id, timeout).await?;
    }
    rec.lock().unwrap().endpoint_group = None;
    Ok(())
}

/// The state after apply: the plan with every id from what exists now.
fn state_after(planned: &Value, r: &Record, reuse: bool) -> Value {
    let mut state = planned.clone();
    let Value::Object(fields) = &mut state else { return state };
    let mut set = |k: &str, v: Option<String>| {
        fields.insert(k.to_string(), Value::opt_string(v));
    };
    set("dead_letter_queue_url", r.dlq.as_ref().map(|q| q.url.clone()));
    set("dead_letter_queue_arn", r.dlq.as_ref().map(|q| q.arn.clone()));
    set("queue_url", r.queue.as_ref().map(|q| q.url.clone()));
    set("queue_arn", r.queue.as_ref().map(|q| q.arn.clone()));
    set("producer_security_group_id", r.producer_group.as_ref().map(|g| g.id.clone()));
    set("producer_function_arn", r.producer.as_ref().map(|f| f.arn.clone()));
    set("consumer_function_arn", r.consumer.as_ref().map(|f| f.arn.clone()));
    set("event_source_mapping_id", r.mapping.as_ref().map(|m| m.uuid.clone()));
    if !reuse {
        set("endpoint_id", r.endpoint.as_ref().map(|e| e.id.clone()));
        set("endpoint_security_group_id", r.endpoint_group.as_ref().map(|g| g.id.clone()));
    }
    for (attr, role) in [("producer_role_arn", &r.producer_role), ("consumer_role_arn", &r.consumer_role)] {
        if fields.get(attr).is_some_and(Value::is_unknown) || role.is_some() {
            fields.insert(attr.into(), Value::opt_string(role.clone()));
        }
    }
    for (block, f) in [("producer", &r.producer), ("consumer", &r.consumer)] {
        if let Some(Value::Object(b)) = fields.get_mut(block) {
            if let Some(f) = f {
                b.insert("code_sha256".into(), Value::string(f.code_sha256.clone()));
            } else if b.get("code_sha256").is_some_and(Value::is_unknown) {
                b.insert("code_sha256".into(), Value::Null);
            }
        }
    }
    state
}

async fn destroy(ctx: &Ctx, prior: &Value) -> (Value, Diagnostics) {
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let timeout = Timeouts::from_value(prior.get("timeouts")).delete;
    let ids = Ids(prior);
    let name = prior.get("name").as_str().unwrap_or("").to_string();
    let rec = Mutex::new(observed);
    let rec = &rec;
    let mut steps = vec![
        Step::new("remove mapping", &[], remove_mapping(ctx, rec, timeout).boxed()),
        Step::new("remove consumer", &["remove mapping"], remove_function(ctx, rec, false, timeout).boxed()),
        Step::new("remove producer", &[], remove_function(ctx, rec, true, timeout).boxed()),
        Step::new("remove queue", &["remove mapping", "remove producer"], remove_queue(ctx, rec, false).boxed()),
        Step::new("remove dead-letter-queue", &["remove queue"], remove_queue(ctx, rec, true).boxed()),
        Step::new(
            "remove producer-group",
            &["remove producer", "remove consumer", "remove endpoint-group"],
            remove_producer_group(ctx, rec, timeout).boxed(),
        ),
    ];
    if ids.own_role("producer", "producer_role_arn").is_some() {
        steps.push(Step::new(
            "remove producer-role",
            &["remove producer"],
            remove_role(ctx, format!("{name}-producer"), rec, true).boxed(),
        ));
    }
    if ids.own_role("consumer", "consumer_role_arn").is_some() {
        steps.push(Step::new(
            "remove consumer-role",
            &["remove consumer"],
            remove_role(ctx, format!("{name}-consumer"), rec, false).boxed(),
        ));
    }
    if ids.own_endpoint() {
        steps.push(Step::new("remove endpoint", &["remove producer", "remove consumer"], remove_endpoint(ctx, rec, timeout).boxed()));
        // A group named in another group's rule cannot be deleted: the
        // producer's egress rule goes first.
        steps.push(Step::new("remove producer-egress", &["remove producer", "remove consumer"], remove_producer_egress(ctx, rec).boxed()));
        steps.push(Step::new(
            "remove endpoint-group",
            &["remove endpoint", "remove producer-egress"],
            remove_endpoint_group(ctx, rec, timeout).boxed(),
        ));
    }
    let diags = stopped_or(ctx.run("destroying the pipeline", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await);
    if !diags.has_errors() {
        return (Value::Null, diags);
    }
    // Keep what is still there, so the next destroy finishes the job.
    let r = rec.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (state_after(prior, &r, !ids.own_endpoint()), diags)
}

async fn remove_mapping(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let uuid = rec.lock().unwrap().mapping.as_ref().map(|m| m.uuid.clone());
    if let Some(u) = uuid {
        esm::delete(&ctx.aws.lambda, &u, timeout).await?;
    }
    rec.lock().unwrap().mapping = None;
    Ok(())
}

/// A VPC function is first taken out of the VPC so Lambda starts releasing
/// its network interfaces, which otherwise hold its security group for a
/// long time after the delete; then it is deleted.
async fn remove_function(ctx: &Ctx, rec: &Mutex<Record>, producer: bool, timeout: Duration) -> Result<(), Diagnostic> {
    let lambda = &ctx.aws.lambda;
    let f = {
        let r = rec.lock().unwrap();
        if producer {
            r.producer.clone()
        } else {
            r.consumer.clone()
        }
    };
    if let Some(f) = f {
        if !f.subnet_ids.is_empty() {
            tracing::info!(function = %f.name, "detaching the function from the VPC before deleting it");
            let spec = FunctionSpec {
                name: f.name.clone(),
                role_arn: f.role_arn.clone(),
                handler: f.handler.clone(),
                runtime: f.runtime.clone(),
                memory_size: f.memory_size,
                timeout: f.timeout,
                environment: f.environment.clone(),
                subnet_ids: vec![],
                security_group_ids: vec![],
                tags: f.tags.clone(),
            };
            function::update_config(lambda, &f.name, &spec, timeout).await?;
        }
        function::delete(lambda, &f.name, timeout).await?;
    }
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer = None;
    } else {
        r.consumer = None;
    }
    Ok(())
}

async fn remove_queue(ctx: &Ctx, rec: &Mutex<Record>, dead_letter: bool) -> Result<(), Diagnostic> {
    let url = {
        let r = rec.lock().unwrap();
        if dead_letter {
            r.dlq.as_ref().map(|q| q.url.clone())
        } else {
            r.queue.as_ref().map(|q| q.url.clone())
        }
    };
    if let Some(u) = url {
        queue::delete(&ctx.aws.sqs, &u).await?;
    }
    let mut r = rec.lock().unwrap();
    if dead_letter {
        r.dlq = None;
    } else {
        r.queue = None;
    }
    Ok(())
}

async fn remove_producer_egress(ctx: &Ctx, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let group = rec.lock().unwrap().producer_group.clone();
    if let Some(g) = group {
        sg::reconcile_rules(&ctx.aws.ec2, &g.id, &g.rules, &[]).await?;
        rec.lock().unwrap().producer_group = sg::find(&ctx.aws.ec2, &g.id).await?;
    }
    Ok(())
}

async fn remove_producer_group(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().producer_group.as_ref().map(|g| g.id.clone());
    if let Some(id) = id {
        sg::delete(&ctx.aws.ec2, &id, timeout).await?;
    }
    rec.lock().unwrap().producer_group = None;
    Ok(())
}

// ---------------------------------------------------------------- read

async fn read_state(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic> {
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
fn rule_drift(d: &Desired, r: &Record, own_endpoint: bool) -> Vec<String> {
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

fn rule_differences(group: &str, observed: &[Rule], desired: &[Rule]) -> Vec<String> {
    let (unexpected, missing) = sg::plan_rule_changes(observed, desired);
    let unexpected = unexpected.into_iter().map(|r| format!("{group}: unexpected {}", r.describe()));
    unexpected.chain(missing.into_iter().map(|r| format!("{group}: missing {}", r.describe()))).collect()
}

/// A settings block with what AWS has, over what the state had. The
/// block is a Group block, so it is always there: an import shows every
/// setting, and a setting changed by hand differs from the plan.
fn write_block(fields: &mut BTreeMap<String, Value>, block: &str, observed: &[(&str, Value)]) {
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
fn same_json_list(written: &Value, observed: &[String]) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    let written = written.elements();
    written.len() == observed.len()
        && written.iter().zip(observed).all(|(w, o)| w.as_str().and_then(parse).is_some_and(|w| Some(w) == parse(o)))
}

fn observed_mapping(m: &Mapping) -> Vec<(&'static str, Value)> {
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

fn attr_number(q: &Queue, key: &str) -> Option<f64> {
    q.attributes.get(key).and_then(|v| v.parse::<f64>().ok())
}

fn observed_queue(q: &Queue, dlq: &Queue) -> Vec<(&'static str, Value)> {
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

// ---------------------------------------------------------------- import

/// A state `read_state` can complete, found from the pipeline's name: the
/// objects are named after it and tagged with it.
async fn import_state(ctx: &Ctx, name: &str) -> Result<Value, Diagnostic> {
    let aws = &ctx.aws;
    let bad = |why: String| Diagnostic::error("Cannot import the pipeline", why);
    check_name(name).map_err(|e| bad(format!("{e} Import with the pipeline's `name`, e.g. terraform import ADDRESS orders")))?;
    let producer = function::find(&aws.lambda, &format!("{name}-producer")).await?;
    let consumer = function::find(&aws.lambda, &format!("{name}-consumer")).await?;
    let (Some(producer), Some(consumer)) = (producer, consumer) else {
        return Err(bad(format!("No functions {name}-producer and {name}-consumer in {}: is {name:?} the pipeline's name?", aws.region)));
    };
    let mut queue = queue::find_by_name(&aws.sqs, name).await?;
    if queue.is_none() {
        queue = queue::find_by_name(&aws.sqs, &format!("{name}.fifo")).await?;
    }
    let fifo = queue.as_ref().is_some_and(|q| q.name.ends_with(".fifo"));
    let dlq = queue::find_by_name(&aws.sqs, &format!("{name}-dlq{}", if fifo { ".fifo" } else { "" })).await?;
    let subnets = producer.subnet_ids.clone();
    // The function's VpcConfig names its VPC, but moto always answers
    // vpc-123abc there; the subnets' own VPC is right on both.
    let vpc_id = vpc::subnets(&aws.ec2, &subnets)
        .await?
        .first()
        .map(|s| s.vpc_id.clone())
        .ok_or_else(|| bad(format!("{name}-producer is in no subnet of this account")))?;
    let owner = format!("pipeline/{name}");
    let tagged = |part: &str| {
        let mut t = Tags::new();
        t.insert(tags::OWNER_TAG.into(), owner.clone());
        t.insert(tags::PART_TAG.into(), part.into());
        t
    };
    let producer_group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("producer-group")).await?.into_iter().next();
    let endpoint_group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("endpoint-group")).await?.into_iter().next();
    let endpoint = vpce::find_by_tags(&aws.ec2, &vpc_id, &tagged("endpoint")).await?.into_iter().next();
    let reused = match (&endpoint, &producer_group) {
        (Some(_), _) | (None, None) => None,
        // The producer's egress names the groups of the endpoint it uses.
        (None, Some(g)) => {
            let targets: Vec<String> = sg::find(&aws.ec2, g)
                .await?
                .map(|g| {
                    g.rules
                        .iter()
                        .filter_map(|r| match &r.peer {
                            Peer::Group(x) => Some(x.clone()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            let sqs = vpce::find_for_service(&aws.ec2, &vpc_id, &format!("com.amazonaws.{}.sqs", aws.region)).await?;
            sqs.into_iter().find(|e| e.security_group_ids.iter().any(|x| targets.contains(x))).map(|e| e.id)
        }
    };
    let mapping = match &queue {
        Some(q) => esm::find_for(&aws.lambda, &consumer.name, &q.arn).await?,
        None => None,
    };
    let own_role = |f: &Function, role: &str| f.role_arn.ends_with(&format!(":role/{role}"));
    let function_block = |f: &Function, is_producer: bool| {
        let source = f.tags.get(SOURCE_TAG).and_then(|t| CodeSource::from_tag(t));
        let mut b: BTreeMap<String, Value> = BTreeMap::new();
        b.insert(
            "source_dir".into(),
            Value::opt_string(match &source {
                Some(CodeSource::Dir(d)) => Some(d.display().to_string()),
                _ => None,
            }),
        );
        b.insert(
            "filename".into(),
            Value::opt_string(match &source {
                Some(CodeSource::File(p)) => Some(p.display().to_string()),
                _ => None,
            }),
        );
        b.insert("role_arn".into(), if own_role(f, &f.name) { Value::Null } else { Value::string(f.role_arn.clone()) });
        if is_producer {
            let var = queue.as_ref().and_then(|q| f.environment.iter().find(|(_, v)| **v == q.url).map(|(k, _)| k.clone()));
            b.insert("queue_url_env_var".into(), Value::string(var.unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into())));
            let ours: Vec<&String> = producer_group.iter().collect();
            let extra: Vec<String> = f.security_group_ids.iter().filter(|g| !ours.contains(g)).cloned().collect();
            b.insert("security_group_ids".into(), if extra.is_empty() { Value::Null } else { Value::string_set(&extra) });
        } else {
            b.insert("in_vpc".into(), Value::Bool(!f.subnet_ids.is_empty()));
        }
        Value::Object(b)
    };
    let user_tags = tags::without_ownership(&producer.tags);
    let own_tags: Tags =
        user_tags.iter().filter(|(k, v)| aws.default_tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut state: BTreeMap<String, Value> = BTreeMap::new();
    state.insert("id".into(), Value::string(name));
    state.insert("name".into(), Value::string(name));
    state.insert("vpc_id".into(), Value::string(vpc_id));
    state.insert("subnet_ids".into(), Value::string_set(&subnets));
    state.insert("tags".into(), if own_tags.is_empty() { Value::Null } else { Value::from_string_map(&own_tags) });
    state.insert("tags_all".into(), Value::from_string_map(&user_tags));
    state.insert("producer".into(), function_block(&producer, true));
    state.insert("consumer".into(), function_block(&consumer, false));
    if fifo {
        state.insert("queue".into(), Value::object([("fifo", Value::Bool(true))]));
    }
    state.insert(
        "endpoint".into(),
        Value::object([("create", Value::Bool(reused.is_none())), ("endpoint_id", Value::opt_string(reused.clone()))]),
    );
    let ids: [(&str, Option<String>); 12] = [
        ("queue_url", queue.as_ref().map(|q| q.url.clone())),
        ("queue_arn", queue.as_ref().map(|q| q.arn.clone())),
        ("dead_letter_queue_url", dlq.as_ref().map(|q| q.url.clone())),
        ("dead_letter_queue_arn", dlq.as_ref().map(|q| q.arn.clone())),
        ("producer_function_arn", Some(producer.arn.clone())),
        ("consumer_function_arn", Some(consumer.arn.clone())),
        ("event_source_mapping_id", mapping.map(|m| m.uuid)),
        ("producer_security_group_id", producer_group),
        ("endpoint_id", endpoint.map(|e| e.id).or(reused)),
        ("endpoint_security_group_id", endpoint_group),
        ("producer_role_arn", Some(producer.role_arn.clone())),
        ("consumer_role_arn", Some(consumer.role_arn.clone())),
    ];
    for (k, v) in ids {
        state.insert(k.into(), Value::opt_string(v));
    }
    Ok(Value::Object(state))
}

// ---------------------------------------------------------------- identity

/// The pipeline's identity: its name, which every object's name and owner
/// tag derive from and which replaces the pipeline when changed, and the
/// region (one name per region).
fn identity_schema() -> crate::identity::IdentitySchema {
    use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
    IdentitySchema::new(vec![
        IdentityAttribute::required("name", "The pipeline's `name`."),
        IdentityAttribute::optional(REGION, "The pipeline's region; default the provider's."),
    ])
}

fn identity_of(state: &Value, region: &str) -> Value {
    Value::object([("name", state.get("name").clone()), (crate::identity::REGION, Value::string(region))])
}

/// Import by identity is import by name.
fn import_id_of(identity: &Value) -> Result<String, Diagnostics> {
    let name = identity.get("name").as_str().unwrap_or("");
    check_name(name).map_err(|e| Diagnostic::error("Invalid import identity", format!("identity.name: {e}")))?;
    Ok(name.to_string())
}

/// Destroy plan: the pipeline's own SQS endpoint goes with it (a reused
/// one stays: nothing to check). Clients it admits, network interfaces in
/// a group its endpoint group lets in other than the pipeline's own
/// functions (e.g. another function put in the producer's group), lose
/// their private path to SQS.
async fn destroy_warnings(ctx: &Ctx, prior: &Value) -> Diagnostics {
    let ids = Ids(prior);
    let (true, Some(group_id), Some(vpc_id)) = (ids.own_endpoint(), ids.get("endpoint_security_group_id"), prior.get("vpc_id").as_str())
    else {
        return Diagnostics::default();
    };
    let name = prior.get("name").as_str().unwrap_or("");
    let going = crate::resources::Going { what: format!("the SQS endpoint of pipeline {name}"), services: "SQS".into(), vpc_id };
    let admitted = match ctx.run("reading the endpoint's group", sg::find(&ctx.aws.ec2, &group_id)).await {
        Ok(Some(g)) => admitted_groups(&g),
        Ok(None) => return Diagnostics::default(),
        Err(e) => return going.unchecked(e).into(),
    };
    let own = [format!("{name}-producer"), format!("{name}-consumer")];
    going.client_warnings(ctx, &admitted, |i| i.lambda_function().is_some_and(|f| own.contains(&f))).await
}

/// The groups a group lets in (ingress rules naming a group).
fn admitted_groups(g: &Group) -> Vec<String> {
    let groups = g.rules.iter().filter(|r| r.direction == Direction::Ingress).filter_map(|r| match &r.peer {
        Peer::Group(id) => Some(id.clone()),
        _ => None,
    });
    groups.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}

// ---------------------------------------------------------------- resource

pub struct PrivateLambdaPipeline;

#[tonic::async_trait]
impl Resource for PrivateLambdaPipeline {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        SCHEMA.clone()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(config)
    }

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
        let diags = validate_config(config);
        if diags.has_errors() {
            return Err(diags);
        }
        let default_tags = ctx.map(|c| c.aws.default_tags.clone()).unwrap_or_default();
        let [prior, proposed, config] = [prior, proposed, config].map(|v| SCHEMA.block.with_groups(v.clone()));
        let (prior, config) = (&prior, &config);
        let planned = plan_state(&default_tags, prior, &proposed, config)?;
        if let Some(ctx) = ctx {
            let prior = if planned.requires_replace.is_empty() { prior } else { &Value::Null };
            let diags = ctx.run("checking the network at plan", check_against_aws(ctx, prior, &planned.state)).await?;
            if diags.has_errors() {
                return Err(diags);
            }
        }
        Ok(planned)
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        if planned.is_null() {
            destroy(ctx, prior).await
        } else {
            reconcile(ctx, prior, planned).await
        }
    }

    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics> {
        let fresh = ctx.run("refreshing the pipeline", read_state(ctx, state)).await?;
        Ok(SCHEMA.block.with_groups(fresh))
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = ctx.run("importing the pipeline", import_state(ctx, id)).await?;
        let fresh = ctx.run("reading the imported pipeline", read_state(ctx, &state)).await?;
        Ok(SCHEMA.block.with_groups(fresh))
    }

    fn identity_schema(&self) -> crate::identity::IdentitySchema {
        identity_schema()
    }

    fn identity(&self, state: &Value, region: &str) -> Value {
        identity_of(state, region)
    }

    async fn import_id(&self, _ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        import_id_of(identity)
    }

    async fn plan_destroy(&self, ctx: &Ctx, prior: &Value) -> Diagnostics {
        destroy_warnings(ctx, prior).await
    }
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
        d.0.iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default())
            .collect()
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
        let c =
            config(vec![("consumer", function(vec![("timeout", n(120))])), ("queue", obj(vec![("visibility_timeout_seconds", n(60))]))]);
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
        let c = config(vec![
            ("consumer", function(vec![("timeout", Value::Unknown)])),
            ("queue", obj(vec![("visibility_timeout_seconds", n(10))])),
        ]);
        assert!(paths(&validate_config(&c)).is_empty());
    }
}
