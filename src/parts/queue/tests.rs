//! Unit tests of the pure parts: desired attributes and their changes,
//! ARNs from URLs, and CreateQueue's answers and waits.

use aws_sdk_sqs::operation::create_queue::CreateQueueError;
use aws_smithy_types::error::ErrorMetadata;

use super::*;

const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:orders-dlq";

fn spec() -> QueueSpec {
    QueueSpec {
        name: "orders".into(),
        fifo: false,
        visibility_timeout_seconds: 60,
        message_retention_seconds: 345600,
        kms_master_key_id: None,
        redrive: Some(Redrive { dead_letter_arn: DLQ.into(), max_receive_count: 4 }),
        tls_only: true,
        settings: QueueSettings::default(),
        tags: Tags::new(),
    }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn desired_attributes_say_everything_the_spec_says() {
    let a = desired_attributes(&spec(), ARN);
    assert_eq!(a[VISIBILITY_TIMEOUT], "60");
    assert_eq!(a[MESSAGE_RETENTION_PERIOD], "345600");
    assert_eq!(a[SQS_MANAGED_SSE_ENABLED], "true");
    assert!(!a.contains_key(KMS_MASTER_KEY_ID) && !a.contains_key(FIFO_QUEUE));
    let redrive: Value = serde_json::from_str(&a[REDRIVE_POLICY]).unwrap();
    assert_eq!(redrive, serde_json::json!({"deadLetterTargetArn": DLQ, "maxReceiveCount": 4}));
    assert!(policy::equivalent(&a[POLICY], &policy::queue_tls_only(ARN)));
}

#[test]
fn desired_attributes_for_kms_fifo_without_extras() {
    let s = QueueSpec {
        name: "orders.fifo".into(),
        fifo: true,
        kms_master_key_id: Some("alias/aws/sqs".into()),
        redrive: None,
        tls_only: false,
        ..spec()
    };
    let a = desired_attributes(&s, ARN);
    assert_eq!(a[FIFO_QUEUE], "true");
    assert_eq!(a[KMS_MASTER_KEY_ID], "alias/aws/sqs");
    assert_eq!(a[SQS_MANAGED_SSE_ENABLED], "false");
    assert!(!a.contains_key(REDRIVE_POLICY) && !a.contains_key(POLICY));
}

#[test]
fn create_attributes_leave_the_policy_for_later() {
    let a = create_attributes(&spec());
    assert!(!a.contains_key(&QueueAttributeName::Policy));
    assert_eq!(a[&QueueAttributeName::VisibilityTimeout], "60");
    assert!(a.contains_key(&QueueAttributeName::RedrivePolicy));
}

#[test]
fn arn_from_aws_and_emulator_urls() {
    assert_eq!(arn_from_url("https://sqs.us-east-1.amazonaws.com/123456789012/orders", "us-east-1").as_deref(), Some(ARN));
    assert_eq!(
        arn_from_url("http://127.0.0.1:5000/123456789012/orders.fifo", "eu-west-1").as_deref(),
        Some("arn:aws:sqs:eu-west-1:123456789012:orders.fifo")
    );
    assert_eq!(
        arn_from_url("https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q", "cn-north-1").as_deref(),
        Some("arn:aws-cn:sqs:cn-north-1:123456789012:q")
    );
    assert_eq!(arn_from_url("https://sqs.us-east-1.amazonaws.com/orders", "us-east-1"), None);
    assert_eq!(arn_from_url("https://sqs.us-east-1.amazonaws.com/1/2/3", "us-east-1"), None);
    assert_eq!(arn_from_url("not a url", "us-east-1"), None);
    assert_eq!(arn_from_url("https://sqs.us-east-1.amazonaws.com/1/q", ""), None);
}

/// What AWS answers for the queue `spec()` made, written its own way.
fn observed_as_created() -> BTreeMap<String, String> {
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Condition":{"Bool":{"aws:SecureTransport":["false"]}},"Resource":"arn:aws:sqs:us-east-1:123456789012:orders","Action":["sqs:*"],"Principal":{"AWS":"*"},"Effect":"Deny","Sid":"DenyWithoutTls"}]}"#;
    let mut m = map(&[
        (VISIBILITY_TIMEOUT, "60"),
        (MESSAGE_RETENTION_PERIOD, "345600"),
        (SQS_MANAGED_SSE_ENABLED, "true"),
        (QUEUE_ARN, ARN),
        ("ApproximateNumberOfMessages", "0"),
        (DELAY_SECONDS, "0"),
        (RECEIVE_WAIT_TIME_SECONDS, "0"),
        (MAXIMUM_MESSAGE_SIZE, "1048576"),
        (REDRIVE_POLICY, r#"{"maxReceiveCount":"4", "deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:orders-dlq"}"#),
    ]);
    m.insert(POLICY.into(), policy.into());
    m
}

#[test]
fn no_changes_when_equal_in_meaning() {
    assert!(attribute_changes(&observed_as_created(), &desired_attributes(&spec(), ARN)).is_empty());
}

#[test]
fn changes_carry_only_what_differs() {
    let mut s = spec();
    s.visibility_timeout_seconds = 90;
    s.redrive = Some(Redrive { dead_letter_arn: DLQ.into(), max_receive_count: 5 });
    let changes = attribute_changes(&observed_as_created(), &desired_attributes(&s, ARN));
    assert_eq!(changes.keys().collect::<Vec<_>>(), vec![REDRIVE_POLICY, VISIBILITY_TIMEOUT]);
    assert_eq!(changes[VISIBILITY_TIMEOUT], "90");
}

#[test]
fn dropped_redrive_policy_and_kms_are_cleared() {
    let mut current = observed_as_created();
    current.insert(KMS_MASTER_KEY_ID.into(), "alias/aws/sqs".into());
    current.insert(SQS_MANAGED_SSE_ENABLED.into(), "false".into());
    let mut s = spec();
    s.redrive = None;
    s.tls_only = false;
    let changes = attribute_changes(&current, &desired_attributes(&s, ARN));
    assert_eq!(changes, map(&[(KMS_MASTER_KEY_ID, ""), (POLICY, ""), (REDRIVE_POLICY, ""), (SQS_MANAGED_SSE_ENABLED, "true")]));
    // Nothing to clear when it is already unset.
    let bare = map(&[
        (VISIBILITY_TIMEOUT, "60"),
        (MESSAGE_RETENTION_PERIOD, "345600"),
        (SQS_MANAGED_SSE_ENABLED, "true"),
        (POLICY, ""),
        (DELAY_SECONDS, "0"),
        (RECEIVE_WAIT_TIME_SECONDS, "0"),
        (MAXIMUM_MESSAGE_SIZE, "1048576"),
    ]);
    assert!(attribute_changes(&bare, &desired_attributes(&s, ARN)).is_empty());
}

#[test]
fn fifo_never_changes() {
    let s = QueueSpec { fifo: true, ..spec() };
    let mut current = observed_as_created();
    current.insert(CONTENT_BASED_DEDUPLICATION.into(), "false".into());
    let changes = attribute_changes(&current, &desired_attributes(&s, ARN));
    assert!(changes.is_empty(), "{changes:?}");
}

#[test]
fn delivery_settings_are_sent_and_changed_in_place() {
    let mut s = spec();
    s.settings =
        QueueSettings { delay_seconds: 30, receive_wait_time_seconds: 20, maximum_message_size: 2048, content_based_deduplication: true };
    let a = desired_attributes(&s, ARN);
    assert_eq!((a[DELAY_SECONDS].as_str(), a[RECEIVE_WAIT_TIME_SECONDS].as_str(), a[MAXIMUM_MESSAGE_SIZE].as_str()), ("30", "20", "2048"));
    // Content-based deduplication exists on FIFO queues only.
    assert!(!a.contains_key(CONTENT_BASED_DEDUPLICATION));
    assert_eq!(desired_attributes(&QueueSpec { fifo: true, ..s.clone() }, ARN)[CONTENT_BASED_DEDUPLICATION], "true");
    let changes = attribute_changes(&observed_as_created(), &a);
    assert_eq!(changes, map(&[(DELAY_SECONDS, "30"), (MAXIMUM_MESSAGE_SIZE, "2048"), (RECEIVE_WAIT_TIME_SECONDS, "20")]));
}

#[test]
fn missing_sse_flag_means_off() {
    let mut current = observed_as_created();
    current.remove(SQS_MANAGED_SSE_ENABLED);
    let changes = attribute_changes(&current, &desired_attributes(&spec(), ARN));
    assert_eq!(changes, map(&[(SQS_MANAGED_SSE_ENABLED, "true")]));
    let kms = QueueSpec { kms_master_key_id: Some("k".into()), ..spec() };
    let changes = attribute_changes(&current, &desired_attributes(&kms, ARN));
    assert_eq!(changes, map(&[(KMS_MASTER_KEY_ID, "k")]));
}

#[test]
fn a_different_policy_or_unparsable_value_shows() {
    let mut current = observed_as_created();
    current.insert(POLICY.into(), policy::queue_tls_only("arn:aws:sqs:us-east-1:123456789012:other"));
    current.insert(REDRIVE_POLICY.into(), "not json".into());
    let changes = attribute_changes(&current, &desired_attributes(&spec(), ARN));
    assert_eq!(changes.keys().collect::<Vec<_>>(), vec![POLICY, REDRIVE_POLICY]);
}

fn create_error(code: &str) -> CreateQueueError {
    CreateQueueError::generic(ErrorMetadata::builder().code(code).message("says AWS").build())
}

#[test]
fn create_rounds_classify_the_answer() {
    let ok = CreateQueueOutput::builder().queue_url("https://sqs.us-east-1.amazonaws.com/1/q").build();
    assert!(matches!(create_round::<CreateQueueError>(Ok(ok)), Ok(Poll::Done(Created::Url(u))) if u.ends_with("/1/q")));
    assert!(create_round::<CreateQueueError>(Ok(CreateQueueOutput::builder().build())).is_err());
    assert!(matches!(create_round(Err(create_error("QueueAlreadyExists"))), Ok(Poll::Done(Created::NameTaken))));
    match create_round(Err(create_error("AWS.SimpleQueueService.QueueDeletedRecently"))) {
        Ok(Poll::Pending(state)) => assert!(state.contains("QueueDeletedRecently"), "{state}"),
        _ => panic!("a recently deleted name is a wait"),
    }
    let e = create_round(Err(create_error("AccessDenied"))).err().unwrap();
    assert!(e.summary.contains("sqs queue: sqs:CreateQueue") && e.detail.contains("AccessDenied"), "{e:?}");
}

#[tokio::test]
async fn a_name_that_stays_banned_times_out_saying_so() {
    let e = wait::until("the name of queue \"q\" to be free", Duration::from_millis(30), Duration::from_millis(5), || async {
        create_round(Err(create_error("AWS.SimpleQueueService.QueueDeletedRecently")))
    })
    .await
    .unwrap_err();
    assert!(e.summary.contains("\"q\" to be free") && e.detail.contains("QueueDeletedRecently"), "{e:?}");
}
