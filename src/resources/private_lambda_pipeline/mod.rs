//! `privatelink_private_lambda_pipeline`: a producer Lambda in private
//! subnets with no NAT sends to an SQS queue through the queue service's
//! Interface endpoint; a consumer Lambda takes the messages through an event
//! source mapping; failures go to a dead-letter queue.
//!
//! Parts and their order: dead-letter queue -> queue -> roles; producer
//! group -> endpoint group -> producer egress + endpoint; functions after
//! their role, group and the queue; the mapping after the consumer.
//! Delete runs it backwards, taking VPC functions out of the VPC first.
//! The two functions are two uses of the function block
//! (`resources::function`), the endpoint one of the endpoint block.

use std::time::Duration;

use crate::model::Attr;
use crate::resources::composite::Composite;
use crate::resources::function::{self, FunctionRole};
use crate::resources::Timeouts;
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};

// One file per phase, the same in every composite: config (the typed
// model of its values, the desired state and the parts' specs), validate
// (the configuration alone), plan (with the plan-time checks and a destroy
// plan's warnings), steps (the step graph), apply, read (observe and
// refresh) and import. Each phase file implements its phase trait of
// `composite`; this file keeps the schema and what the pipeline is.
mod apply;
mod config;
mod import;
mod list;
mod plan;
mod read;
mod steps;
mod validate;

use apply::Record;
use config::{Desired, Pipeline};
use steps::Part;
pub use validate::recommended_visibility;

pub const TYPE_NAME: &str = "privatelink_private_lambda_pipeline";

/// Whether `name` can be a pipeline's name (what the redrive action checks
/// of its `pipeline`): the error says what is valid.
pub fn check_pipeline_name(name: &str) -> Result<(), String> {
    validate::check_name(name, false)
}

/// The names pipeline `name`'s dead-letter queue has: standard, then FIFO.
pub fn dead_letter_queue_names(name: &str) -> [String; 2] {
    [config::queue_name(name, false, true), config::queue_name(name, true, true)]
}

/// The `timeouts` defaults: ten minutes to create or update, 45 to
/// delete. Deleting the producer's group waits until Lambda releases the
/// function's network interfaces, which users report taking 20 minutes and
/// more, up to about 45 (pulumi/pulumi-terraform-bridge#1652; the
/// aws_security_group docs of terraform-provider-aws say the same of Lambda
/// groups). A shorter default would fail an ordinary destroy on AWS.
pub const TIMEOUTS: Timeouts = Timeouts { delete: Duration::from_secs(45 * 60), ..Timeouts::DEFAULT };
pub const DEFAULT_RETENTION: i64 = 345_600;
pub const DEFAULT_DLQ_RETENTION: i64 = 1_209_600;
pub const DEFAULT_MAX_RECEIVE: i64 = 4;
pub const DEFAULT_BATCH_SIZE: i64 = 10;

fn queue_block() -> Block {
    Block::new("The queue and its dead-letter queue.")
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
            "KMS key for both queues' server-side encryption (key id, key ARN, alias or alias ARN); default SSE-SQS (SQS-managed keys). With a customer-managed key, the roles the pipeline makes may use that key: the producer's kms:GenerateDataKey and kms:Decrypt, the consumer's kms:Decrypt.",
        ))
        .attr(attr(
            "delay_seconds",
            Type::Number,
            Mode::OptionalComputed,
            "Seconds every new message stays hidden before its first delivery (SQS DelaySeconds), 0 to 900 (default 0).",
        ))
        .attr(attr(
            "receive_wait_time_seconds",
            Type::Number,
            Mode::OptionalComputed,
            "Long polling: how long a ReceiveMessage waits for a message (SQS ReceiveMessageWaitTimeSeconds), 0 to 20 (default 0).",
        ))
        .attr(attr(
            "max_message_size",
            Type::Number,
            Mode::OptionalComputed,
            "Largest message the queue takes, in bytes (SQS MaximumMessageSize), 1024 to 1048576 (default 1048576, 1 MiB); the dead-letter queue gets the same.",
        ))
        .attr(attr(
            "content_based_deduplication",
            Type::Bool,
            Mode::OptionalComputed,
            "FIFO queues only: deduplicate by a SHA-256 hash of the body when a message has no deduplication id (SQS ContentBasedDeduplication, default false).",
        ))
        .attr(attr(
            "kms_key_arn",
            Type::String,
            Mode::Computed,
            "ARN of the customer-managed key kms_master_key_id names, looked up at plan when kms_master_key_id changes; null for SSE-SQS and for the AWS-managed alias/aws/sqs.",
        ))
}

fn event_source_block() -> Block {
    Block::new("The event source mapping from the queue to the consumer.")
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
        .attr(attr("filter_patterns", Type::list(Type::String), Mode::Optional, "Event filter patterns (JSON), at most 5."))
}

fn endpoint_block() -> Block {
    Block::new("The SQS Interface endpoint the producer reaches the queue through.")
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
        ))
}

fn schema() -> Schema {
    let timeouts = crate::resources::timeouts_schema(
        "How long create, update and delete may take (default 10m, 10m and 45m: a destroy waits for Lambda to release the producer's network interfaces).",
        [
        "e.g. `15m`.",
        "e.g. `10m`.",
        "e.g. `60m` (VPC functions release their network interfaces slowly).",
        ],
    );
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
        root.required_block("producer", function::schema(FunctionRole::Producer, "The producer function, placed in the subnets."))
            .required_block("consumer", function::schema(FunctionRole::Consumer, "The consumer function, fed by the event source mapping."))
            .block("queue", Nesting::Group, queue_block())
            .block("event_source", Nesting::Group, event_source_block())
            .block("endpoint", Nesting::Group, endpoint_block())
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

// ---------------------------------------------------------------- resource

pub struct PrivateLambdaPipeline;

impl Composite for PrivateLambdaPipeline {
    type Model = Pipeline;
    type Desired = Desired;
    type Record = Record;
    type Part = Part;
    const TYPE_NAME: &'static str = TYPE_NAME;
    const NOUN: &'static str = "the pipeline";
    const IMPORT_READS: bool = true;

    fn schema(&self) -> Schema {
        schema()
    }

    fn vpc_id(m: &Pipeline) -> &Attr<String> {
        &m.vpc_id
    }

    fn desired(m: &Pipeline, _region: &str) -> Desired {
        Desired::from(m)
    }

    fn timeouts(m: &Pipeline) -> Timeouts {
        m.timeouts.limits(TIMEOUTS)
    }
}

#[cfg(test)]
mod tests {
    use super::config::{EndpointBlock, EventSourceBlock, QueueBlock};
    use super::*;
    use crate::diag::Diagnostics;
    use crate::model::{self, Model};
    use crate::resources::composite::Validate;
    use crate::resources::function::FunctionBlock;
    use crate::resources::TimeoutsBlock;
    use crate::value::Value;

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
    fn validate_config(v: &Value) -> Diagnostics {
        PrivateLambdaPipeline.validate(&Pipeline::decode(v))
    }
    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter()
            .filter(|d| d.severity == crate::diag::Severity::Error)
            .map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default())
            .collect()
    }

    #[test]
    fn the_models_name_the_schemas_attributes() {
        let s = schema();
        assert_eq!(model::attribute_mismatch::<Pipeline>(&s.block), Vec::<String>::new());
        for role in FunctionRole::ALL {
            let b = &s.block.nested(role.name()).unwrap().block;
            let mismatch = model::attribute_mismatch::<FunctionBlock>(b);
            let others: Vec<String> = role.other_attributes().iter().map(|a| format!("{a}: in the model, not in the schema")).collect();
            assert_eq!(mismatch, others, "{role:?}");
        }
        for (name, check) in [
            ("queue", model::attribute_mismatch::<QueueBlock> as fn(&Block) -> Vec<String>),
            ("event_source", model::attribute_mismatch::<EventSourceBlock>),
            ("endpoint", model::attribute_mismatch::<EndpointBlock>),
            ("timeouts", model::attribute_mismatch::<TimeoutsBlock>),
        ] {
            assert_eq!(check(&s.block.nested(name).unwrap().block), Vec::<String>::new(), "{name}");
        }
        // The ids come in COMPUTED's order.
        let ids: Vec<String> = Pipeline::decode(&Value::Null).ids().iter().map(|a| a.path.to_string()).collect();
        assert_eq!(ids, COMPUTED.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>());
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
    fn delete_waits_45_minutes_by_default_for_lambdas_network_interfaces() {
        let minute = |m: u64| Duration::from_secs(m * 60);
        let d = PrivateLambdaPipeline::timeouts(&Pipeline::decode(&config(vec![])));
        assert_eq!((d.create, d.update, d.delete), (minute(10), minute(10), minute(45)));
        let d = PrivateLambdaPipeline::timeouts(&Pipeline::decode(&config(vec![(
            "timeouts",
            obj(vec![("delete", s("90m")), ("create", s("5m"))]),
        )])));
        assert_eq!((d.create, d.update, d.delete), (minute(5), minute(10), minute(90)));
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
    fn queue_settings_keep_sqs_ranges_and_dedup_is_for_fifo() {
        let c = config(vec![(
            "queue",
            obj(vec![
                ("delay_seconds", n(901)),
                ("receive_wait_time_seconds", n(21)),
                ("max_message_size", n(1023)),
                ("content_based_deduplication", Value::Bool(true)),
                ("kms_master_key_id", s("orders-key")),
            ]),
        )]);
        let mut p = paths(&validate_config(&c));
        p.sort();
        assert_eq!(
            p,
            [
                "queue.content_based_deduplication",
                "queue.delay_seconds",
                "queue.kms_master_key_id",
                "queue.max_message_size",
                "queue.receive_wait_time_seconds"
            ]
        );
        let c = config(vec![(
            "queue",
            obj(vec![
                ("fifo", Value::Bool(true)),
                ("delay_seconds", n(900)),
                ("receive_wait_time_seconds", n(20)),
                ("max_message_size", n(1_048_576)),
                ("content_based_deduplication", Value::Bool(false)),
                ("kms_master_key_id", s("alias/orders")),
            ]),
        )]);
        assert!(paths(&validate_config(&c)).is_empty());
        // With a role of the user's, a warning says what it needs on the key.
        let c = config(vec![
            ("producer", function(vec![("role_arn", s("arn:aws:iam::123456789012:role/mine"))])),
            ("queue", obj(vec![("kms_master_key_id", s("alias/orders"))])),
        ]);
        let d = validate_config(&c);
        assert!(paths(&d).is_empty());
        assert!(
            d.0.iter().any(|w| w.path.as_ref().map(|p| p.to_string()).as_deref() == Some("producer.role_arn")
                && w.detail.contains("kms:GenerateDataKey")),
            "{d:?}"
        );
        // Unknown FIFO: decided at plan.
        let c = config(vec![("queue", obj(vec![("fifo", Value::Unknown), ("content_based_deduplication", Value::Bool(true))]))]);
        assert!(paths(&validate_config(&c)).is_empty());
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
