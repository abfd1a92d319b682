//! The pipeline's queues over gRPC against moto behind the AWS rules: a
//! customer-managed KMS key and the rights it takes (the rules refuse
//! SendMessage and ReceiveMessage to a role without them, as AWS does),
//! and the queue settings: each created, read back, changed in place,
//! drifted and repaired, imported with an empty plan.

use crate::common;

use common::driver::{canon, errors, path_of, show};
use common::pipeline::{function, Bed};
use common::{field, obj, s};
use privatelink::policy::evaluate::{decide_on, Decision};
use rmpv::Value as V;

async fn bed() -> Bed {
    Bed::start(&[]).await
}

impl Bed {
    fn with_queue(&self, queue: Vec<(&str, V)>) -> V {
        self.orders(function("producer", vec![]), function("consumer", vec![]), vec![("queue", obj(queue))])
    }

    /// The provider's AWS context acting as role `arn` (STS AssumeRole
    /// through the rules, which so learn the session's access key).
    async fn as_role(&self, arn: &str) -> privatelink::aws::Aws {
        let endpoints = ["sqs", "sts", "iam"].iter().map(|s| (s.to_string(), self.moto.url())).collect();
        privatelink::aws::Aws::connect(&privatelink::aws::ProviderConfig {
            region: Some("us-east-1".into()),
            access_key: Some("testing".into()),
            secret_key: Some("testing".into()),
            max_retries: Some(1),
            assume_role: Some(privatelink::aws::AssumeRole { role_arn: arn.into(), session_name: Some("test".into()), external_id: None }),
            endpoints,
            ..Default::default()
        })
        .await
        .expect("AWS context as the role")
    }

    fn queue_attribute(&self, attrs: &std::collections::HashMap<aws_sdk_sqs::types::QueueAttributeName, String>, name: &str) -> String {
        attrs.get(&aws_sdk_sqs::types::QueueAttributeName::from(name)).cloned().unwrap_or_default()
    }
}

fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

/// What the role's policy decides for `action` on `key`.
fn decides(doc: &str, action: &str, key: &str) -> Decision {
    decide_on(&[doc], action, key)
}

/// The AWS error code of a failed SDK call.
fn code_of<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &aws_sdk_sqs::error::SdkError<E>) -> String {
    aws_smithy_types::error::metadata::ProvideErrorMetadata::code(e).unwrap_or("").to_string()
}

#[tokio::test]
async fn a_customer_key_gives_both_roles_its_rights_and_the_aws_key_none() {
    let mut b = bed().await;
    let key = b.aws.kms.create_key().description("orders queue").send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    let key_id = key.key_metadata().unwrap().key_id().to_string();
    b.aws.kms.create_alias().alias_name("alias/orders-queue").target_key_id(&key_id).send().await.unwrap();

    // Plan resolves the alias to the key's ARN and shows it.
    let config = b.with_queue(vec![("kms_master_key_id", s("alias/orders-queue"))]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(str_of(field(&planned, "queue"), "kms_key_arn"), key_arn, "the key's ARN is known at plan");
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(str_of(field(&state, "queue"), "kms_key_arn"), key_arn);

    // Both queues use the key; the roles may use it as their use needs, on that key only.
    for url in [str_of(&state, "queue_url"), str_of(&state, "dead_letter_queue_url")] {
        let attrs = b.aws.sqs.get_queue_attributes().queue_url(url).attribute_names("All".into()).send().await.unwrap();
        assert_eq!(b.queue_attribute(attrs.attributes().unwrap(), "KmsMasterKeyId"), "alias/orders-queue", "{url}");
    }
    let producer = b.role_policy("orders-producer").await;
    let consumer = b.role_policy("orders-consumer").await;
    for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
        assert_eq!(decides(&producer, action, &key_arn), Decision::Allowed, "producer {action}");
        assert_eq!(decides(&producer, action, "arn:aws:kms:us-east-1:123456789012:key/other"), Decision::NotAllowed);
    }
    assert_eq!(decides(&consumer, "kms:Decrypt", &key_arn), Decision::Allowed);
    assert_eq!(decides(&consumer, "kms:GenerateDataKey", &key_arn), Decision::NotAllowed, "the consumer only decrypts");

    // As the roles themselves: the producer sends, the consumer receives.
    let queue_url = str_of(&state, "queue_url").to_string();
    let as_producer = b.as_role(str_of(&state, "producer_role_arn")).await;
    as_producer.sqs.send_message().queue_url(&queue_url).message_body("order 1").send().await.expect("the producer may send");
    let as_consumer = b.as_role(str_of(&state, "consumer_role_arn")).await;
    as_consumer.sqs.receive_message().queue_url(&queue_url).send().await.expect("the consumer may receive");

    // A role without the key's rights is refused as AWS refuses it.
    let trust = privatelink::policy::lambda_trust();
    let bare = b.aws.iam.create_role().role_name("no-key-rights").assume_role_policy_document(trust).send().await.unwrap();
    let bare_arn = bare.role().unwrap().arn().to_string();
    let sqs_only =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}]}"#;
    b.aws.iam.put_role_policy().role_name("no-key-rights").policy_name("sqs").policy_document(sqs_only).send().await.unwrap();
    let as_bare = b.as_role(&bare_arn).await;
    let sent = as_bare.sqs.send_message().queue_url(&queue_url).message_body("x").send().await.unwrap_err();
    assert_eq!(code_of(&sent), "KMS.AccessDeniedException", "{sent:?}");
    let received = as_bare.sqs.receive_message().queue_url(&queue_url).send().await.unwrap_err();
    assert_eq!(code_of(&received), "KMS.AccessDeniedException", "{received:?}");

    // Refresh and plan of the same configuration: no change, and no KMS call.
    b.moto.rules().reset_counts();
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state));
    let (again, _) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert_eq!(canon(&again), canon(&refreshed), "an unchanged key plans no change");
    let kms_calls: Vec<String> = b.moto.rules().calls().into_iter().filter(|c| c.starts_with("kms:")).collect();
    assert!(kms_calls.is_empty(), "{kms_calls:?}");

    // A state from before the roles were granted the key (no kms_key_arn, roles without
    // the rights): the plan looks the key up and shows its ARN, the apply grants it.
    let mut older = state.clone();
    if let V::Map(fields) = &mut older {
        for (k, v) in fields.iter_mut() {
            if let (Some("queue"), V::Map(q)) = (k.as_str(), v) {
                for (qk, qv) in q.iter_mut() {
                    if qk.as_str() == Some("kms_key_arn") {
                        *qv = V::Nil;
                    }
                }
            }
        }
    }
    let without_key = {
        let mut v: serde_json::Value = serde_json::from_str(&producer).unwrap();
        v["Statement"].as_array_mut().unwrap().retain(|s| !s.to_string().contains("kms:"));
        v.to_string()
    };
    b.aws.iam.put_role_policy().role_name("orders-producer").policy_name("pipeline").policy_document(&without_key).send().await.unwrap();
    let older = b.tf.read(&older).await;
    assert_eq!(field(field(&older, "queue"), "kms_key_arn"), &V::Nil, "a refresh keeps the state's (no) ARN");
    let (planned, _) = b.tf.plan(&older, &config).await.unwrap();
    assert_eq!(str_of(field(&planned, "queue"), "kms_key_arn"), key_arn, "the ARN plans as a change");
    let (upgraded, diags) = b.tf.apply(&older, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(canon(&upgraded), canon(&state));
    assert_eq!(decides(&b.role_policy("orders-producer").await, "kms:GenerateDataKey", &key_arn), Decision::Allowed, "granted again");

    // Import: the key's ARN is looked up once, and the plan is empty.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(str_of(field(&imported, "queue"), "kms_key_arn"), key_arn);
    let (planned, _) = b.tf.plan(&imported, &config).await.unwrap();
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");

    // Drift: the queue switched to the AWS-managed key by hand shows and is repaired.
    b.aws.sqs.set_queue_attributes().queue_url(&queue_url).attributes("KmsMasterKeyId".into(), "alias/aws/sqs").send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    assert_eq!(str_of(field(&drifted, "queue"), "kms_master_key_id"), "alias/aws/sqs");
    assert_eq!(field(field(&drifted, "queue"), "kms_key_arn"), &V::Nil);
    let repaired = b.plan_apply(&drifted, &config).await;
    assert_eq!(str_of(field(&repaired, "queue"), "kms_key_arn"), key_arn);
    let attrs = b.aws.sqs.get_queue_attributes().queue_url(&queue_url).attribute_names("All".into()).send().await.unwrap();
    assert_eq!(b.queue_attribute(attrs.attributes().unwrap(), "KmsMasterKeyId"), "alias/orders-queue");

    // In place to the AWS-managed key: no key rights, no lookup, and sending still works.
    let aws_key = b.with_queue(vec![("kms_master_key_id", s("alias/aws/sqs"))]);
    b.moto.rules().reset_counts();
    let (planned, _) = b.tf.plan(&repaired, &aws_key).await.unwrap();
    assert_eq!(field(field(&planned, "queue"), "kms_key_arn"), &V::Nil);
    assert!(!b.moto.rules().calls().iter().any(|c| c.starts_with("kms:")), "alias/aws/sqs costs no call");
    let (state, diags) = b.tf.apply(&repaired, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    for role in ["orders-producer", "orders-consumer"] {
        let doc = b.role_policy(role).await;
        assert!(!doc.contains("kms:"), "{role}: {doc}");
    }
    as_bare.sqs.send_message().queue_url(&queue_url).message_body("x").send().await.expect("the AWS-managed key needs no rights");
    as_producer.sqs.send_message().queue_url(&queue_url).message_body("order 2").send().await.expect("the producer may send");

    // An unknown key is refused at plan, at the attribute.
    let unknown = b.with_queue(vec![("kms_master_key_id", s("alias/no-such-key"))]);
    let d = b.tf.plan(&state, &unknown).await.unwrap_err();
    let at: Vec<String> = errors(&d).iter().map(|d| path_of(d)).collect();
    assert_eq!(at, ["queue.kms_master_key_id"], "{}", show(&d));
    assert!(show(&d).contains("alias/no-such-key"), "{}", show(&d));

    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

/// The queue block's delivery settings as SQS has them.
async fn settings_in_aws(b: &Bed, url: &str) -> (String, String, String, String) {
    let attrs = b.aws.sqs.get_queue_attributes().queue_url(url).attribute_names("All".into()).send().await.unwrap();
    let a = attrs.attributes().unwrap();
    (
        b.queue_attribute(a, "DelaySeconds"),
        b.queue_attribute(a, "ReceiveMessageWaitTimeSeconds"),
        b.queue_attribute(a, "MaximumMessageSize"),
        b.queue_attribute(a, "ContentBasedDeduplication"),
    )
}

fn num(v: &V, k: &str) -> i64 {
    field(v, k).as_f64().map(|f| f as i64).or_else(|| field(v, k).as_i64()).unwrap_or_else(|| panic!("{k}: {:?}", field(v, k)))
}

#[tokio::test]
async fn queue_delivery_settings_are_made_changed_repaired_and_imported() {
    let mut b = bed().await;
    // Unset: SQS's defaults, shown in the plan.
    let defaults = b.with_queue(vec![]);
    let (planned, _) = b.tf.plan(&V::Nil, &defaults).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let q = field(&planned, "queue");
    assert_eq!((num(q, "delay_seconds"), num(q, "receive_wait_time_seconds"), num(q, "max_message_size")), (0, 0, 1_048_576));
    assert_eq!(field(q, "content_based_deduplication"), &V::Nil, "a standard queue has no deduplication setting");

    let settings = |delay: i64, wait: i64, size: i64| {
        vec![("delay_seconds", V::from(delay)), ("receive_wait_time_seconds", V::from(wait)), ("max_message_size", V::from(size))]
    };
    let config = b.with_queue(settings(5, 10, 2048));
    let state = b.plan_apply(&V::Nil, &config).await;
    let url = str_of(&state, "queue_url").to_string();
    assert_eq!(settings_in_aws(&b, &url).await.0, "5");
    let (delay, wait, size, _) = settings_in_aws(&b, &url).await;
    assert_eq!((delay.as_str(), wait.as_str(), size.as_str()), ("5", "10", "2048"));
    let dlq = settings_in_aws(&b, str_of(&state, "dead_letter_queue_url")).await;
    assert_eq!((dlq.0.as_str(), dlq.2.as_str()), ("0", "2048"), "the dead-letter queue takes the same message size");
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read back as written");
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "no change");

    // In place: the same queue, new settings.
    let changed = b.with_queue(settings(0, 20, 4096));
    let state = b.plan_apply(&refreshed, &changed).await;
    assert_eq!(str_of(&state, "queue_url"), url, "changed in place");
    let (delay, wait, size, _) = settings_in_aws(&b, &url).await;
    assert_eq!((delay.as_str(), wait.as_str(), size.as_str()), ("0", "20", "4096"));

    // Drift: changed by hand, shown at refresh, repaired by the next apply.
    let by_hand = [("DelaySeconds", "60"), ("ReceiveMessageWaitTimeSeconds", "1"), ("MaximumMessageSize", "1024")];
    for (k, v) in by_hand {
        b.aws.sqs.set_queue_attributes().queue_url(&url).attributes(k.into(), v).send().await.unwrap();
    }
    let drifted = b.tf.read(&state).await;
    let q = field(&drifted, "queue");
    assert_eq!((num(q, "delay_seconds"), num(q, "receive_wait_time_seconds"), num(q, "max_message_size")), (60, 1, 1024));
    let (planned, _) = b.tf.plan(&drifted, &changed).await.unwrap();
    assert_eq!(num(field(&planned, "queue"), "delay_seconds"), 0, "planned repair");
    let (repaired, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let (delay, wait, size, _) = settings_in_aws(&b, &url).await;
    assert_eq!((delay.as_str(), wait.as_str(), size.as_str()), ("0", "20", "4096"));

    // Import with the configuration that wrote them: an empty plan.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (planned, _) = b.tf.plan(&imported, &changed).await.unwrap();
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");
    assert_eq!(canon(&imported), canon(&b.tf.read(&repaired).await));

    let (gone, diags) = b.tf.destroy(&repaired).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

#[tokio::test]
async fn fifo_content_based_deduplication_is_made_changed_repaired_and_imported() {
    let mut b = bed().await;
    let fifo = |dedup: Option<bool>| {
        let mut q = vec![("fifo", V::Boolean(true))];
        q.extend(dedup.map(|d| ("content_based_deduplication", V::Boolean(d))));
        q
    };
    // Unset on a FIFO queue: SQS's default, false.
    let (planned, _) = b.tf.plan(&V::Nil, &b.with_queue(fifo(None))).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(field(field(&planned, "queue"), "content_based_deduplication"), &V::Boolean(false));

    let on = b.with_queue(fifo(Some(true)));
    let state = b.plan_apply(&V::Nil, &on).await;
    let url = str_of(&state, "queue_url").to_string();
    assert!(url.ends_with(".fifo"), "{url}");
    assert_eq!(settings_in_aws(&b, &url).await.3, "true");
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read back as written");

    let off = b.with_queue(fifo(Some(false)));
    let state = b.plan_apply(&refreshed, &off).await;
    assert_eq!(str_of(&state, "queue_url"), url, "changed in place");
    assert_eq!(settings_in_aws(&b, &url).await.3, "false");

    b.aws.sqs.set_queue_attributes().queue_url(&url).attributes("ContentBasedDeduplication".into(), "true").send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    assert_eq!(field(field(&drifted, "queue"), "content_based_deduplication"), &V::Boolean(true));
    let repaired = b.plan_apply(&drifted, &off).await;
    assert_eq!(settings_in_aws(&b, &url).await.3, "false");

    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (planned, _) = b.tf.plan(&imported, &off).await.unwrap();
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");

    // On a standard queue the setting is refused at validate.
    let standard = b.with_queue(vec![("content_based_deduplication", V::Boolean(true))]);
    let at: Vec<String> = errors(&b.tf.validate(&standard).await).iter().map(|d| path_of(d)).collect();
    assert_eq!(at, ["queue.content_based_deduplication"]);

    let (gone, diags) = b.tf.destroy(&repaired).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}
