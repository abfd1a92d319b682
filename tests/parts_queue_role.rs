//! The queue and role parts against a moto server: each test drives a part
//! as a composite would, counts the AWS calls it makes, and checks what
//! SQS / IAM end up holding.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use privatelink::aws::Aws;
use privatelink::parts::queue::{self, QueueSpec, Redrive};
use privatelink::parts::role::{self, RoleSpec};
use privatelink::parts::tags::Tags;
use privatelink::policy;
use serde_json::Value;

/// Records the name of every operation a client runs, in order.
#[derive(Debug, Clone, Default)]
struct Calls(Arc<Mutex<Vec<String>>>);

impl Calls {
    /// The calls since the last `take`.
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "call counter"
    }

    /// Once per call (not per attempt), once the operation's own config,
    /// which names it, is in the bag.
    fn read_before_serialization(
        &self,
        _ctx: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = cfg.load::<Metadata>().map(|m| m.name().to_string()).unwrap_or_else(|| "?".into());
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}

fn counted_sqs(aws: &Aws, calls: &Calls) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(aws.sqs.config().to_builder().interceptor(calls.clone()).build())
}

fn counted_iam(aws: &Aws, calls: &Calls) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::from_conf(aws.iam.config().to_builder().interceptor(calls.clone()).build())
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn queue_spec(name: &str) -> QueueSpec {
    QueueSpec {
        name: name.into(),
        fifo: false,
        visibility_timeout_seconds: 30,
        message_retention_seconds: 345_600,
        kms_master_key_id: None,
        redrive: None,
        tls_only: false,
        settings: queue::QueueSettings::default(),
        tags: tags(&[("privatelink:owner", "plp-orders"), ("privatelink:part", name), ("team", "payments")]),
    }
}

fn json(doc: &str) -> Value {
    serde_json::from_str(doc).unwrap_or_else(|e| panic!("not JSON ({e}): {doc}"))
}

#[tokio::test]
async fn queue_with_dead_letter_queue_lifecycle() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let calls = Calls::default();
    let sqs = counted_sqs(&aws, &calls);

    // The dead-letter queue first: the main queue's redrive names its ARN.
    let dlq = queue::create(&sqs, &queue_spec("orders-dlq")).await.unwrap();
    assert_eq!(dlq.name, "orders-dlq");
    assert_eq!(dlq.attributes["SqsManagedSseEnabled"], "true");
    assert!(!dlq.attributes.contains_key("RedrivePolicy") && !dlq.attributes.contains_key("Policy"));

    let spec = QueueSpec {
        redrive: Some(Redrive { dead_letter_arn: dlq.arn.clone(), max_receive_count: 4 }),
        tls_only: true,
        ..queue_spec("orders")
    };
    calls.take();
    let created = queue::create(&sqs, &spec).await.unwrap();
    // The policy names the queue's ARN, so it follows CreateQueue.
    let made = calls.take();
    assert_eq!(made.iter().filter(|c| *c == "CreateQueue").count(), 1, "{made:?}");
    assert_eq!(made.iter().filter(|c| *c == "SetQueueAttributes").count(), 1, "{made:?}");

    let found = queue::find(&sqs, &created.url).await.unwrap().expect("the queue exists");
    assert_eq!(found, created);
    assert_eq!(found.name, "orders");
    assert_eq!(queue::arn_from_url(&found.url, &aws.region).as_deref(), Some(found.arn.as_str()));
    assert_eq!(found.attributes["VisibilityTimeout"], "30");
    assert_eq!(found.attributes["MessageRetentionPeriod"], "345600");
    assert_eq!(found.attributes["SqsManagedSseEnabled"], "true");
    assert!(policy::equivalent(&found.attributes["Policy"], &policy::queue_tls_only(&found.arn)), "{}", found.attributes["Policy"]);
    assert_eq!(json(&found.attributes["RedrivePolicy"])["deadLetterTargetArn"], dlq.arn.as_str());
    assert_eq!(json(&found.attributes["RedrivePolicy"])["maxReceiveCount"].to_string().trim_matches('"'), "4");
    assert_eq!(found.tags, spec.tags);
    assert!(queue::attribute_changes(&found.attributes, &queue::desired_attributes(&spec, &found.arn)).is_empty());

    // Update: one SetQueueAttributes, one UntagQueue, one TagQueue.
    let changed = QueueSpec {
        visibility_timeout_seconds: 90,
        tags: tags(&[("privatelink:owner", "plp-orders"), ("privatelink:part", "orders"), ("cost-center", "42")]),
        ..spec.clone()
    };
    calls.take();
    queue::update(&sqs, &found, &changed).await.unwrap();
    assert_eq!(calls.take(), names(&["SetQueueAttributes", "UntagQueue", "TagQueue"]));
    let updated = queue::find(&sqs, &found.url).await.unwrap().unwrap();
    assert_eq!(updated.attributes["VisibilityTimeout"], "90");
    assert!(policy::equivalent(&updated.attributes["Policy"], &policy::queue_tls_only(&updated.arn)), "the policy survives an update");
    assert_eq!(json(&updated.attributes["RedrivePolicy"])["deadLetterTargetArn"], dlq.arn.as_str());
    assert_eq!(updated.tags, changed.tags);
    assert!(queue::attribute_changes(&updated.attributes, &queue::desired_attributes(&changed, &updated.arn)).is_empty());

    // Nothing differs: no call.
    calls.take();
    queue::update(&sqs, &updated, &changed).await.unwrap();
    assert_eq!(calls.take(), Vec::<String>::new());

    // Create of the same name with other attributes adopts the queue and
    // brings it back to that spec.
    let adopted = queue::create(&sqs, &spec).await.unwrap();
    let made = calls.take();
    assert!(made.contains(&"GetQueueUrl".to_string()), "adopted by name: {made:?}");
    assert_eq!(adopted.url, found.url);
    assert_eq!(adopted.attributes["VisibilityTimeout"], "30");
    assert_eq!(adopted.tags, spec.tags);
    // Create of the same name with the same attributes is the same queue.
    let again = queue::create(&sqs, &spec).await.unwrap();
    assert_eq!(again.url, found.url);
    let listed = aws.sqs.list_queues().send().await.unwrap();
    assert_eq!(listed.queue_urls().len(), 2, "no duplicate: {:?}", listed.queue_urls());

    assert_eq!(queue::find_by_name(&sqs, "orders").await.unwrap().map(|q| q.url), Some(found.url.clone()));
    assert_eq!(queue::find_by_name(&sqs, "nothing-here").await.unwrap(), None);

    // Delete; a second delete of a gone queue is fine.
    for url in [&found.url, &dlq.url] {
        queue::delete(&sqs, url).await.unwrap();
        assert_eq!(queue::find(&sqs, url).await.unwrap(), None);
        queue::delete(&sqs, url).await.unwrap();
    }
    assert_eq!(queue::find_by_name(&sqs, "orders").await.unwrap(), None);
    assert!(aws.sqs.list_queues().send().await.unwrap().queue_urls().is_empty(), "nothing left");
}

#[tokio::test]
async fn fifo_queue_with_kms() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let sqs = aws.sqs.clone();

    let dlq_spec = QueueSpec { fifo: true, ..queue_spec("jobs-dlq.fifo") };
    let dlq = queue::create(&sqs, &dlq_spec).await.unwrap();
    let spec = QueueSpec {
        fifo: true,
        kms_master_key_id: Some("alias/aws/sqs".into()),
        redrive: Some(Redrive { dead_letter_arn: dlq.arn.clone(), max_receive_count: 2 }),
        tls_only: true,
        ..queue_spec("jobs.fifo")
    };
    let q = queue::create(&sqs, &spec).await.unwrap();
    assert!(q.url.ends_with("/jobs.fifo"), "{}", q.url);
    assert_eq!(q.attributes["FifoQueue"], "true");
    assert_eq!(q.attributes["KmsMasterKeyId"], "alias/aws/sqs");
    assert_eq!(q.attributes["SqsManagedSseEnabled"], "false");
    assert!(queue::attribute_changes(&q.attributes, &queue::desired_attributes(&spec, &q.arn)).is_empty());

    // Back to SSE-SQS, without the TLS policy and the redrive.
    let plain = QueueSpec { kms_master_key_id: None, redrive: None, tls_only: false, ..spec.clone() };
    queue::update(&sqs, &q, &plain).await.unwrap();
    let after = queue::find(&sqs, &q.url).await.unwrap().unwrap();
    assert_eq!(after.attributes["SqsManagedSseEnabled"], "true");
    for cleared in ["KmsMasterKeyId", "Policy", "RedrivePolicy"] {
        assert!(after.attributes.get(cleared).is_none_or(|v| v.is_empty()), "{cleared} is still {:?}", after.attributes.get(cleared));
    }
    assert!(queue::attribute_changes(&after.attributes, &queue::desired_attributes(&plain, &after.arn)).is_empty());

    queue::delete(&sqs, &q.url).await.unwrap();
    queue::delete(&sqs, &dlq.url).await.unwrap();
    assert_eq!(queue::find(&sqs, &q.url).await.unwrap(), None);
}

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:orders";

fn role_spec(name: &str) -> RoleSpec {
    let logs = policy::log_group_arn("aws", "us-east-1", "123456789012", &format!("/aws/lambda/{name}"));
    let extra = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:GetQueueUrl","Resource":"arn:aws:sqs:us-east-1:123456789012:orders"}]}"#;
    RoleSpec {
        name: name.into(),
        trust_policy: policy::lambda_trust(),
        inline_policies: [("queue".to_string(), policy::producer(QUEUE_ARN, &logs, true)), ("extra".to_string(), extra.to_string())].into(),
        managed_policy_arns: Default::default(),
        tags: tags(&[("privatelink:owner", "plp-orders"), ("privatelink:part", "producer-role"), ("team", "payments")]),
    }
}

fn assert_equivalent_policies(found: &BTreeMap<String, String>, wanted: &BTreeMap<String, String>) {
    assert_eq!(found.keys().collect::<Vec<_>>(), wanted.keys().collect::<Vec<_>>());
    for (name, doc) in wanted {
        assert!(policy::equivalent(&found[name], doc), "policy {name}: found {} wanted {doc}", found[name]);
    }
}

#[tokio::test]
async fn role_lifecycle() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let calls = Calls::default();
    let iam = counted_iam(&aws, &calls);

    let spec = role_spec("orders-producer");
    let created = role::create(&iam, &spec).await.unwrap();
    let made = calls.take();
    assert_eq!(made.iter().filter(|c| *c == "CreateRole").count(), 1, "{made:?}");
    assert_eq!(made.iter().filter(|c| *c == "PutRolePolicy").count(), 2, "{made:?}");

    let found = role::find(&iam, "orders-producer").await.unwrap().expect("the role exists");
    assert_eq!(found, created);
    assert!(found.arn.ends_with(":role/orders-producer"), "{}", found.arn);
    // Decoded: plain JSON meaning what was put.
    json(&found.trust_policy);
    assert!(policy::equivalent(&found.trust_policy, &spec.trust_policy), "{}", found.trust_policy);
    assert_equivalent_policies(&found.inline_policies, &spec.inline_policies);
    assert!(found.managed_policy_arns.is_empty());
    assert_eq!(found.tags, spec.tags);

    // Nothing differs: no call.
    calls.take();
    role::update(&iam, &found, &spec).await.unwrap();
    assert_eq!(calls.take(), Vec::<String>::new());

    // One policy changes, one goes, tags change; the trust stays.
    let logs = policy::log_group_arn("aws", "us-east-1", "123456789012", "/aws/lambda/orders-producer");
    let changed = RoleSpec {
        inline_policies: [("queue".to_string(), policy::consumer(QUEUE_ARN, &logs, true))].into(),
        tags: tags(&[("privatelink:owner", "plp-orders"), ("privatelink:part", "producer-role"), ("cost-center", "42")]),
        ..spec.clone()
    };
    role::update(&iam, &found, &changed).await.unwrap();
    assert_eq!(calls.take(), names(&["PutRolePolicy", "DeleteRolePolicy", "UntagRole", "TagRole"]));
    let updated = role::find(&iam, "orders-producer").await.unwrap().unwrap();
    assert_equivalent_policies(&updated.inline_policies, &changed.inline_policies);
    assert_eq!(updated.tags, changed.tags);

    // A trust change is one UpdateAssumeRolePolicy.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","edgelambda.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
    let retrusted = RoleSpec { trust_policy: trust.into(), ..changed.clone() };
    calls.take();
    role::update(&iam, &updated, &retrusted).await.unwrap();
    assert_eq!(calls.take(), names(&["UpdateAssumeRolePolicy"]));
    let updated = role::find(&iam, "orders-producer").await.unwrap().unwrap();
    assert!(policy::equivalent(&updated.trust_policy, trust), "{}", updated.trust_policy);

    // A managed policy attached behind the part's back shows, and the
    // next update detaches it while attaching the ones the spec names.
    let managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";
    aws.iam.attach_role_policy().role_name("orders-producer").policy_arn(managed).send().await.unwrap();
    let drifted = role::find(&iam, "orders-producer").await.unwrap().unwrap();
    assert_eq!(drifted.managed_policy_arns, names(&[managed]));
    let xray = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess";
    let with_managed = RoleSpec { managed_policy_arns: [xray.to_string()].into(), ..retrusted.clone() };
    calls.take();
    role::update(&iam, &drifted, &with_managed).await.unwrap();
    assert_eq!(calls.take(), names(&["AttachRolePolicy", "DetachRolePolicy"]));
    let exact = role::find(&iam, "orders-producer").await.unwrap().unwrap();
    assert_eq!(exact.managed_policy_arns, names(&[xray]));
    assert_eq!(role::managed_policies(&iam, "orders-producer").await.unwrap(), Some(names(&[xray])));

    role::delete(&iam, "orders-producer").await.unwrap();
    assert_eq!(role::find(&iam, "orders-producer").await.unwrap(), None);
    role::delete(&iam, "orders-producer").await.unwrap();
}

#[tokio::test]
async fn role_create_adopts_an_existing_role() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;

    // A role of that name made elsewhere (or by a create whose answer was
    // lost): another trust, a stray inline policy, no tags.
    let stray_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    aws.iam.create_role().role_name("orders-consumer").assume_role_policy_document(stray_trust).send().await.unwrap();
    aws.iam
        .put_role_policy()
        .role_name("orders-consumer")
        .policy_name("stray")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();

    let spec = role_spec("orders-consumer");
    let adopted = role::create(&aws.iam, &spec).await.unwrap();
    assert!(policy::equivalent(&adopted.trust_policy, &spec.trust_policy), "{}", adopted.trust_policy);
    assert_equivalent_policies(&adopted.inline_policies, &spec.inline_policies);
    assert_eq!(adopted.tags, spec.tags);
    let roles = aws.iam.list_roles().send().await.unwrap();
    assert_eq!(roles.roles().iter().filter(|r| r.role_name() == "orders-consumer").count(), 1);

    role::delete(&aws.iam, "orders-consumer").await.unwrap();
    assert_eq!(role::find(&aws.iam, "orders-consumer").await.unwrap(), None);
}

/// A queue name is banned for 60 s after its delete (AWS: QueueDeletedRecently;
/// the rules proxy answers so, for 2 s in CI; moto alone creates it at
/// once): a pipeline destroyed and made again at once gets its queue back
/// when the ban ends, because `create` waits it out instead of failing.
#[tokio::test]
async fn a_queue_made_again_right_after_its_delete_waits_out_the_ban() {
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let first = queue::create(&aws.sqs, &queue_spec("again")).await.unwrap();
    queue::delete(&aws.sqs, &first.url).await.unwrap();
    let refused = aws.sqs.create_queue().queue_name("again").send().await;
    assert!(format!("{refused:?}").contains("QueueDeletedRecently"), "AWS's ban is in force: {refused:?}");
    let second = queue::create(&aws.sqs, &queue_spec("again")).await.unwrap();
    assert_eq!(second.name, "again");
}
