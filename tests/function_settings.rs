//! The function block's settings over gRPC, against moto through the AWS
//! rules proxy: architectures, layers, reserved concurrency, ephemeral
//! storage, tracing, the environment's KMS key and the description, each
//! created, read back from AWS, changed in place, changed by hand (drift
//! shown at refresh, repaired by the next apply) and imported; code from
//! S3 and from a container image.
//!
//! moto quirks met (moto 5.2.5), each answered by the proxy as AWS does
//! (tests/common/aws_rules.rs): UpdateFunctionConfiguration drops
//! EphemeralStorage, TracingConfig and KMSKeyArn and UpdateFunctionCode
//! drops Architectures; GetFunction leaves out a reservation of 0; there
//! is no GetAccountSettings. moto also runs no image: an image URI in ECR
//! is accepted without the image (MOTO_LAMBDA_STUB_ECR's default), and its
//! CodeSha256 is the hex SHA-256 of the URI.

use crate::common;

use std::io::{Read, Write};

use common::driver::{canon, errors, is_unknown, show};
use common::pipeline::{function, Bed};
use common::{field, obj, s};
use rmpv::Value as V;

const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b";
const IMAGE: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders";

async fn bed() -> Bed {
    Bed::start(&[("team", "payments")]).await
}

fn code_dir(which: &str) -> String {
    common::root().join("examples/private-lambda-sqs").join(which).display().to_string()
}

fn strings(items: &[&str]) -> V {
    V::Array(items.iter().map(|i| s(i)).collect())
}

impl Bed {
    /// A layer version published in moto: its ARN.
    async fn layer(&self, name: &str) -> String {
        let zip = privatelink::parts::code::from_dir(std::path::Path::new(&code_dir("consumer"))).unwrap().zip;
        let content =
            aws_sdk_lambda::types::LayerVersionContentInput::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(zip)).build();
        let out = self.aws.lambda.publish_layer_version().layer_name(name).content(content).send().await.unwrap();
        out.layer_version_arn().unwrap().to_string()
    }

    async fn function(&self, name: &str) -> aws_sdk_lambda::operation::get_function::GetFunctionOutput {
        self.aws.lambda.get_function().function_name(name).send().await.unwrap()
    }
}

/// What AWS reports of a function's settings, in the block's terms.
fn settings_of(
    f: &aws_sdk_lambda::operation::get_function::GetFunctionOutput,
) -> (String, Vec<String>, i32, String, Option<String>, String, Option<i32>) {
    let c = f.configuration().unwrap();
    (
        c.architectures().iter().map(|a| a.as_str().to_string()).collect::<Vec<_>>().join(","),
        c.layers().iter().filter_map(|l| l.arn()).map(str::to_string).collect(),
        c.ephemeral_storage().map(|e| e.size()).unwrap_or_default(),
        c.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str().to_string()).unwrap_or_default(),
        c.kms_key_arn().filter(|k| !k.is_empty()).map(str::to_string),
        c.description().unwrap_or_default().to_string(),
        f.concurrency().and_then(|c| c.reserved_concurrent_executions()),
    )
}

#[tokio::test]
async fn each_setting_is_made_read_back_changed_drifted_repaired_and_imported() {
    let mut b = bed().await;
    let (libs, otel) = (b.layer("libs").await, b.layer("otel").await);
    let first = b.orders(
        function(
            "producer",
            vec![
                ("architectures", strings(&["arm64"])),
                ("layers", strings(&[&libs])),
                ("reserved_concurrent_executions", V::from(5)),
                ("ephemeral_storage_size", V::from(1024)),
                ("tracing_mode", s("Active")),
                ("kms_key_arn", s(KEY)),
                ("description", s("Sends orders")),
            ],
        ),
        function("consumer", vec![]),
        vec![],
    );
    // The VPC has no X-Ray endpoint: Active tracing there is warned about.
    let plan = b.tf.plan_with_identity(&V::Nil, None, &first).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let warning = plan.diagnostics.iter().find(|d| d.summary.contains("X-Ray")).unwrap_or_else(|| panic!("{}", show(&plan.diagnostics)));
    assert_eq!(common::driver::path_of(warning), "producer.tracing_mode");
    assert!(warning.detail.contains("com.amazonaws.us-east-1.xray"), "{}", warning.detail);
    let consumer = field(&plan.state, "consumer");
    assert_eq!(field(consumer, "architectures"), &strings(&["x86_64"]), "Lambda's defaults are planned");
    assert_eq!(
        (field(consumer, "ephemeral_storage_size").as_f64(), field(consumer, "tracing_mode").as_str()),
        (Some(512.0), Some("PassThrough"))
    );
    let state = b.plan_apply(&V::Nil, &first).await;

    assert_eq!(
        settings_of(&b.function("orders-producer").await),
        ("arm64".into(), vec![libs.clone()], 1024, "Active".into(), Some(KEY.into()), "Sends orders".into(), Some(5))
    );
    assert_eq!(
        settings_of(&b.function("orders-consumer").await),
        ("x86_64".into(), vec![], 512, "PassThrough".into(), None, String::new(), None)
    );
    let producer_policy = b.role_policy("orders-producer").await;
    assert!(producer_policy.contains("xray:PutTraceSegments"), "Active tracing needs X-Ray's write rights: {producer_policy}");
    assert!(!b.role_policy("orders-consumer").await.contains("xray:"), "the consumer does not trace");
    let state = b.converged(&state, &first).await;

    // Every setting changed in place: one function, the same ARN.
    let second = b.orders(
        function(
            "producer",
            vec![
                ("architectures", strings(&["x86_64"])),
                ("layers", strings(&[&otel, &libs])),
                ("reserved_concurrent_executions", V::from(0)),
                ("ephemeral_storage_size", V::from(2048)),
                ("tracing_mode", s("PassThrough")),
                ("description", s("Sends orders to the queue")),
            ],
        ),
        function("consumer", vec![("reserved_concurrent_executions", V::from(10))]),
        vec![],
    );
    let arn = field(&state, "producer_function_arn").clone();
    let state = b.plan_apply(&state, &second).await;
    assert_eq!(field(&state, "producer_function_arn"), &arn);
    assert_eq!(
        settings_of(&b.function("orders-producer").await),
        ("x86_64".into(), vec![otel.clone(), libs.clone()], 2048, "PassThrough".into(), None, "Sends orders to the queue".into(), Some(0)),
        "a reservation of 0 is kept, not removed"
    );
    assert_eq!(settings_of(&b.function("orders-consumer").await).6, Some(10));
    assert!(!b.role_policy("orders-producer").await.contains("xray:"), "no tracing, no X-Ray rights");
    let state = b.converged(&state, &second).await;

    // Changed by hand: a refresh shows it, the plan puts it back.
    let lambda = &b.aws.lambda;
    let storage = aws_sdk_lambda::types::EphemeralStorage::builder().size(4096).build().unwrap();
    let tracing = aws_sdk_lambda::types::TracingConfig::builder().mode(aws_sdk_lambda::types::TracingMode::Active).build();
    common::retrying(&["ResourceConflictException"], || {
        lambda
            .update_function_configuration()
            .function_name("orders-producer")
            .ephemeral_storage(storage.clone())
            .tracing_config(tracing.clone())
            .description("by hand")
            .send()
    })
    .await
    .unwrap();
    lambda.delete_function_concurrency().function_name("orders-consumer").send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    let (p, c) = (field(&drifted, "producer"), field(&drifted, "consumer"));
    assert_eq!((field(p, "ephemeral_storage_size").as_f64(), field(p, "tracing_mode").as_str()), (Some(4096.0), Some("Active")));
    assert_eq!(field(p, "description").as_str(), Some("by hand"));
    assert!(field(c, "reserved_concurrent_executions").is_nil(), "the reservation removed by hand reads as none");
    let (planned, _) = b.tf.plan(&drifted, &second).await.unwrap();
    assert_ne!(canon(&planned), canon(&drifted), "the drift is a diff");
    let repaired = b.plan_apply(&drifted, &second).await;
    assert_eq!(settings_of(&b.function("orders-producer").await).2, 2048);
    assert_eq!(settings_of(&b.function("orders-consumer").await).6, Some(10));
    let state = b.converged(&repaired, &second).await;

    // An import of a configuration that writes them plans no change.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    let (planned, replace) = b.tf.plan(&imported, &second).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");

    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert!(gone.is_nil());
}

#[tokio::test]
async fn a_reservation_the_account_cannot_spare_is_refused_at_plan() {
    let mut b = bed().await;
    // AWS keeps 100 of the account's 1,000 unreserved.
    let config =
        b.orders(function("producer", vec![("reserved_concurrent_executions", V::from(901))]), function("consumer", vec![]), vec![]);
    let d = b.tf.plan(&V::Nil, &config).await.unwrap_err();
    let e = errors(&d)[0];
    assert_eq!(common::driver::path_of(e), "producer.reserved_concurrent_executions");
    assert!(e.detail.contains("reserve at most 900"), "{}", e.detail);
    let ok = b.orders(function("producer", vec![("reserved_concurrent_executions", V::from(900))]), function("consumer", vec![]), vec![]);
    let state = b.plan_apply(&V::Nil, &ok).await;
    // What it holds counts as its own: raising it to 900 again is fine,
    // but the consumer cannot take one more.
    let more = b.orders(
        function("producer", vec![("reserved_concurrent_executions", V::from(900))]),
        function("consumer", vec![("reserved_concurrent_executions", V::from(1))]),
        vec![],
    );
    let d = b.tf.plan(&state, &more).await.unwrap_err();
    assert_eq!(common::driver::path_of(errors(&d)[0]), "consumer.reserved_concurrent_executions", "{}", show(&d));
    b.tf.destroy(&state).await;
}

/// moto's S3 (path-style, unsigned as moto allows): a bucket and an object.
fn put_s3(moto_url: &str, path: &str, body: &[u8]) {
    let port = moto_url.rsplit(':').next().unwrap();
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes()).unwrap();
    conn.write_all(body).unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "PUT {path}: {answer}");
}

#[tokio::test]
async fn code_from_s3_and_from_a_container_image() {
    let mut b = bed().await;
    let zip_of = |dir: &str| privatelink::parts::code::from_dir(std::path::Path::new(dir)).unwrap();
    let v1 = zip_of(&code_dir("producer"));
    let changed = tempfile::tempdir().unwrap();
    std::fs::copy(std::path::Path::new(&code_dir("producer")).join("index.py"), changed.path().join("index.py")).unwrap();
    std::fs::write(changed.path().join("VERSION"), "2\n").unwrap();
    let v2 = zip_of(&changed.path().display().to_string());
    put_s3(&b.moto.url(), "/artifacts", b"");
    put_s3(&b.moto.url(), "/artifacts/orders/v1.zip", &v1.zip);
    put_s3(&b.moto.url(), "/artifacts/orders/v2.zip", &v2.zip);
    let from_s3 = |key: &str, hash: Option<&str>| {
        let mut f = vec![("s3_bucket", s("artifacts")), ("s3_key", s(key)), ("handler", s("index.handler")), ("runtime", s("python3.12"))];
        if let Some(h) = hash {
            f.push(("source_code_hash", s(h)));
        }
        obj(f)
    };
    let image = |tag: &str| obj(vec![("image_uri", s(&format!("{IMAGE}:{tag}")))]);

    let first = b.orders(from_s3("orders/v1.zip", None), image("1"), vec![]);
    let (planned, _) = b.tf.plan(&V::Nil, &first).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(is_unknown(field(field(&planned, "producer"), "code_sha256")), "S3 is not read at plan");
    let state = b.plan_apply(&V::Nil, &first).await;
    let producer = b.function("orders-producer").await;
    assert_eq!(producer.configuration().unwrap().code_sha256(), Some(v1.sha256.as_str()), "Lambda took the object's zip");
    assert_eq!(field(field(&state, "producer"), "code_sha256").as_str(), Some(v1.sha256.as_str()));
    let consumer = b.function("orders-consumer").await;
    assert_eq!(consumer.configuration().unwrap().package_type().map(|p| p.as_str()), Some("Image"));
    assert_eq!(consumer.code().and_then(|c| c.image_uri()), Some(format!("{IMAGE}:1").as_str()));
    assert!(field(field(&state, "consumer"), "handler").is_nil(), "an image's function has no handler");
    let state = b.converged(&state, &first).await;

    // A new key and a new image tag: code updates, shown at plan.
    let second = b.orders(from_s3("orders/v2.zip", None), image("2"), vec![]);
    let (planned, replace) = b.tf.plan(&state, &second).await.unwrap();
    assert!(replace.is_empty(), "{replace:?}");
    assert!(is_unknown(field(field(&planned, "producer"), "code_sha256")), "new S3 code: its hash is known after apply");
    assert!(is_unknown(field(field(&planned, "consumer"), "code_sha256")), "a new image: its digest is known after apply");
    let state = b.plan_apply(&state, &second).await;
    assert_eq!(b.function("orders-producer").await.configuration().unwrap().code_sha256(), Some(v2.sha256.as_str()));
    assert_eq!(b.function("orders-consumer").await.code().and_then(|c| c.image_uri()), Some(format!("{IMAGE}:2").as_str()));
    let state = b.converged(&state, &second).await;

    // The same object with the user's hash of it: known at plan, no change.
    let hashed = b.orders(from_s3("orders/v2.zip", Some(&v2.sha256)), image("2"), vec![]);
    let (planned, _) = b.tf.plan(&state, &hashed).await.unwrap();
    assert_eq!(field(field(&planned, "producer"), "code_sha256").as_str(), Some(v2.sha256.as_str()));
    let state = b.plan_apply(&state, &hashed).await;
    let state = b.converged(&state, &hashed).await;

    // Import writes the same sources back.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    let (planned, _) = b.tf.plan(&imported, &hashed).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");
    let (_, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
}
