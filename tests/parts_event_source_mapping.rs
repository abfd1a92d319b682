//! The event source mapping part against a moto server: an SQS queue
//! feeding a Lambda function. Create, find, find_for, update, adopt on a
//! second create, delete (twice), and what happens to unknown mappings.

use crate::common;

use std::time::Duration;

use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::Blob;
use privatelink::aws::Aws;
use privatelink::parts::event_source_mapping::{self as esm, MappingSpec, Update};

const TIMEOUT: Duration = Duration::from_secs(30);
const UNKNOWN_UUID: &str = "00000000-0000-0000-0000-000000000000";
const ONLY_PAID: &str = r#"{"body":{"status":["paid"]}}"#;

const LAMBDA_TRUST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const HANDLER: &str = "def handler(event, context):\n    return {\"batchItemFailures\": []}\n";

/// The queue and the function consuming it, made directly with the SDK.
struct Fixture {
    function_name: String,
    queue_arn: String,
}

async fn fixture(aws: &Aws, name: &str) -> Fixture {
    let role = aws
        .iam
        .create_role()
        .role_name(format!("{name}-consumer"))
        .assume_role_policy_document(LAMBDA_TRUST)
        .send()
        .await
        .expect("iam:CreateRole");
    let role_arn = role.role().expect("CreateRole answered a role").arn().to_string();

    let queue = aws.sqs.create_queue().queue_name(name).send().await.expect("sqs:CreateQueue");
    let queue_url = queue.queue_url().expect("CreateQueue answered a URL");
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("sqs:GetQueueAttributes");
    let queue_arn = attrs.attributes().and_then(|a| a.get(&QueueAttributeName::QueueArn)).expect("the queue's QueueArn").clone();

    let function_name = format!("{name}-consumer");
    // The role was made a moment ago: Lambda cannot assume it until IAM has
    // propagated it (the rules proxy answers as AWS does), so retry as
    // every AWS tool does.
    common::while_propagating(|| {
        aws.lambda
            .create_function()
            .function_name(&function_name)
            .runtime(Runtime::Python312)
            .role(&role_arn)
            .handler("index.handler")
            .code(FunctionCode::builder().zip_file(Blob::new(stored_zip("index.py", HANDLER.as_bytes()))).build())
            .send()
    })
    .await
    .expect("lambda:CreateFunction");
    Fixture { function_name, queue_arn }
}

fn spec(f: &Fixture) -> MappingSpec {
    MappingSpec {
        function_name: f.function_name.clone(),
        event_source_arn: f.queue_arn.clone(),
        batch_size: 5,
        maximum_batching_window_seconds: 2,
        report_batch_item_failures: true,
        maximum_concurrency: Some(10),
        enabled: true,
        filter_patterns: vec![ONLY_PAID.to_string()],
    }
}

/// Every mapping Lambda lists for the function, straight from the SDK.
async fn mappings_of(aws: &Aws, function_name: &str) -> Vec<String> {
    let out = aws.lambda.list_event_source_mappings().function_name(function_name).send().await.expect("lambda:ListEventSourceMappings");
    out.event_source_mappings().iter().filter_map(|m| m.uuid()).map(str::to_string).collect()
}

#[tokio::test]
async fn mapping_lifecycle() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let f = fixture(&aws, "orders").await;
    let lambda = &aws.lambda;

    // create: every setting shows, and the mapping settles Enabled
    let want = spec(&f);
    let created = esm::create(lambda, &want, TIMEOUT).await.unwrap();
    assert_eq!(created.state, "Enabled");
    let found = esm::find(lambda, &created.uuid).await.unwrap().expect("the new mapping");
    assert_eq!(found, created);
    assert_eq!(found.event_source_arn, f.queue_arn);
    assert!(found.function_arn.ends_with(&format!(":function:{}", f.function_name)), "{}", found.function_arn);
    assert_eq!(found.batch_size, 5);
    assert_eq!(found.maximum_batching_window_seconds, 2);
    assert!(found.report_batch_item_failures);
    assert_eq!(found.maximum_concurrency, Some(10));
    assert_eq!(found.filter_patterns, vec![ONLY_PAID.to_string()]);
    assert_eq!(esm::changes(&found, &want), None);

    // update: a bigger batch, switched off
    let mut bigger_off = want.clone();
    bigger_off.batch_size = 20;
    bigger_off.enabled = false;
    let update = esm::changes(&found, &bigger_off).expect("batch size and enabled differ");
    assert_eq!(update, Update { batch_size: Some(20), enabled: Some(false), ..Update::default() });
    let updated = esm::update(lambda, &found.uuid, &update, TIMEOUT).await.unwrap();
    assert_eq!(updated.state, "Disabled");
    let found = esm::find(lambda, &created.uuid).await.unwrap().expect("the updated mapping");
    assert_eq!((found.batch_size, found.state.as_str()), (20, "Disabled"));
    assert_eq!(found.maximum_concurrency, Some(10), "settings not in the update stay");
    assert_eq!(esm::changes(&found, &bigger_off), None);

    // find_for: the mapping of this function and queue
    let for_pair = esm::find_for(lambda, &f.function_name, &f.queue_arn).await.unwrap().expect("found by function and queue");
    assert_eq!(for_pair.uuid, created.uuid);

    // create again for the same pair: the mapping is adopted and brought
    // back to the spec, no second one is made
    let adopted = esm::create(lambda, &want, TIMEOUT).await.unwrap();
    assert_eq!(adopted.uuid, created.uuid);
    assert_eq!((adopted.batch_size, adopted.state.as_str()), (5, "Enabled"));
    assert_eq!(mappings_of(&aws, &f.function_name).await, vec![created.uuid.clone()]);

    // delete, then it is gone; a second delete is fine
    esm::delete(lambda, &created.uuid, TIMEOUT).await.unwrap();
    assert_eq!(esm::find(lambda, &created.uuid).await.unwrap(), None);
    assert_eq!(esm::find_for(lambda, &f.function_name, &f.queue_arn).await.unwrap(), None);
    assert!(mappings_of(&aws, &f.function_name).await.is_empty());
    esm::delete(lambda, &created.uuid, TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn settings_can_be_removed_and_added_back() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let f = fixture(&aws, "refunds").await;
    let lambda = &aws.lambda;

    let want = spec(&f);
    let created = esm::create(lambda, &want, TIMEOUT).await.unwrap();

    let mut plain = want.clone();
    plain.report_batch_item_failures = false;
    plain.maximum_concurrency = None;
    plain.filter_patterns.clear();
    let update = esm::changes(&created, &plain).expect("three settings removed");
    let updated = esm::update(lambda, &created.uuid, &update, TIMEOUT).await.unwrap();
    assert!(!updated.report_batch_item_failures);
    assert_eq!(updated.maximum_concurrency, None);
    assert!(updated.filter_patterns.is_empty(), "{:?}", updated.filter_patterns);
    assert_eq!(esm::changes(&updated, &plain), None);

    // The same pattern written differently is no change; adding it back is.
    let mut with_filter = plain.clone();
    with_filter.filter_patterns = vec![ONLY_PAID.to_string()];
    let update = esm::changes(&updated, &with_filter).expect("a filter added");
    assert_eq!(update, Update { filter_patterns: Some(vec![ONLY_PAID.to_string()]), ..Update::default() });
    let updated = esm::update(lambda, &created.uuid, &update, TIMEOUT).await.unwrap();
    with_filter.filter_patterns = vec!["{ \"body\": { \"status\": [ \"paid\" ] } }".to_string()];
    assert_eq!(esm::changes(&updated, &with_filter), None);

    // An empty update sends nothing and answers the settled mapping.
    assert_eq!(esm::update(lambda, &created.uuid, &Update::default(), TIMEOUT).await.unwrap(), updated);

    esm::delete(lambda, &created.uuid, TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn unknown_mappings_and_bad_input() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let f = fixture(&aws, "audit").await;
    let lambda = &aws.lambda;

    assert_eq!(esm::find(lambda, UNKNOWN_UUID).await.unwrap(), None);
    assert_eq!(esm::find_for(lambda, &f.function_name, &f.queue_arn).await.unwrap(), None);
    esm::delete(lambda, UNKNOWN_UUID, TIMEOUT).await.unwrap();

    let e = esm::wait_settled(lambda, UNKNOWN_UUID, TIMEOUT).await.unwrap_err();
    assert!(e.summary.contains(UNKNOWN_UUID) && e.summary.contains("disappeared"), "{e:?}");
    let e = esm::update(lambda, UNKNOWN_UUID, &Update { batch_size: Some(7), ..Update::default() }, TIMEOUT).await.unwrap_err();
    assert!(e.summary.contains(UNKNOWN_UUID) && e.summary.contains("disappeared"), "{e:?}");

    // AWS errors name the part, the call and the code.
    let mut missing_function = spec(&f);
    missing_function.function_name = "no-such-function".into();
    let e = esm::create(lambda, &missing_function, TIMEOUT).await.unwrap_err();
    assert_eq!(e.summary, "event source mapping: lambda:CreateEventSourceMapping failed", "{e:?}");
    assert!(e.detail.contains("ResourceNotFoundException"), "{e:?}");
    // (A batch size above the queue's maximum would be the other refusal to
    // try, but moto answers it with an HTML 500 instead of
    // InvalidParameterValueException.)
    assert!(mappings_of(&aws, &f.function_name).await.is_empty(), "a refused create leaves nothing");
}

#[test]
fn crc32_is_the_zip_one() {
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

/// A zip archive holding one file, stored without compression: enough for
/// CreateFunction, and no zip library needed.
fn stored_zip(name: &str, data: &[u8]) -> Vec<u8> {
    const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
    let crc = crc32(data);
    let size = u32::try_from(data.len()).expect("a small file");
    let name_len = u16::try_from(name.len()).expect("a short name");
    // Fields shared by the local header and the central directory entry:
    // version needed, flags, method (0 = stored), time, date, crc, sizes, name length.
    let mut common = Vec::new();
    common.extend(20u16.to_le_bytes());
    common.extend(0u16.to_le_bytes());
    common.extend(0u16.to_le_bytes());
    common.extend(0u16.to_le_bytes());
    common.extend(DOS_DATE_1980_01_01.to_le_bytes());
    common.extend(crc.to_le_bytes());
    common.extend(size.to_le_bytes());
    common.extend(size.to_le_bytes());
    common.extend(name_len.to_le_bytes());

    let mut zip = Vec::new();
    zip.extend(0x0403_4b50u32.to_le_bytes());
    zip.extend(&common);
    zip.extend(0u16.to_le_bytes()); // extra field length
    zip.extend(name.as_bytes());
    zip.extend(data);

    let directory_offset = u32::try_from(zip.len()).expect("a small archive");
    let mut directory = Vec::new();
    directory.extend(0x0201_4b50u32.to_le_bytes());
    directory.extend(20u16.to_le_bytes()); // version made by
    directory.extend(&common);
    directory.extend(0u16.to_le_bytes()); // extra field length
    directory.extend(0u16.to_le_bytes()); // comment length
    directory.extend(0u16.to_le_bytes()); // disk number
    directory.extend(0u16.to_le_bytes()); // internal attributes
    directory.extend(0u32.to_le_bytes()); // external attributes
    directory.extend(0u32.to_le_bytes()); // offset of the local header
    directory.extend(name.as_bytes());
    let directory_size = u32::try_from(directory.len()).expect("a small directory");
    zip.extend(directory);

    zip.extend(0x0605_4b50u32.to_le_bytes()); // end of central directory
    zip.extend(0u16.to_le_bytes()); // this disk
    zip.extend(0u16.to_le_bytes()); // disk of the directory
    zip.extend(1u16.to_le_bytes()); // entries on this disk
    zip.extend(1u16.to_le_bytes()); // entries in all
    zip.extend(directory_size.to_le_bytes());
    zip.extend(directory_offset.to_le_bytes());
    zip.extend(0u16.to_le_bytes()); // comment length
    zip
}

/// CRC-32 (IEEE, reflected), bit by bit: speed does not matter here.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}
