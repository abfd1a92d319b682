//! Each function's CloudWatch Logs group, owned by the pipeline, over gRPC
//! against moto behind the AWS-rules proxy: made before its function with
//! its retention and tags, adopted when it exists already, drift (a
//! retention changed by hand, a group deleted by hand) shown at refresh and
//! repaired by the next apply, adopted by an import that then plans empty,
//! and deleted by destroy with nothing left.
//!
//! moto's quirks met here, none of which the tests lean on: its Lambda
//! makes `/aws/lambda/<function>` only when a function is invoked (as AWS
//! does on the first write), never when one is created, so a group found
//! after create is the pipeline's; it has no AssociateKmsKey or
//! DisassociateKmsKey, so a key is only tried at create (CreateLogGroup's
//! kmsKeyId), and it accepts any retention (the provider refuses the values
//! AWS refuses at validate, `faults`'s corpus).

use std::collections::BTreeMap;

use crate::common;

use common::census::Census;
use common::driver::{canon, errors, is_unknown, show};
use common::pipeline::{function, Bed};
use common::{field, obj, s};
use rmpv::Value as V;

const PRODUCER_GROUP: &str = "/aws/lambda/orders-producer";
const CONSUMER_GROUP: &str = "/aws/lambda/orders-consumer";

async fn bed() -> Bed {
    Bed::start(&[("team", "payments")]).await
}

impl Bed {
    /// The pipeline `orders`, its producer keeping logs for `retention`
    /// days (None: the default), the consumer's block given `consumer`.
    fn with_retention(&self, retention: Option<i64>, consumer: Vec<(&str, V)>) -> V {
        let producer = function("producer", retention.map(|d| vec![("log_retention_in_days", V::from(d))]).unwrap_or_default());
        self.orders(producer, function("consumer", consumer), vec![("tags", obj(vec![("service", s("orders"))]))])
    }

    /// Every log group of the pipeline's functions as moto has it.
    async fn groups(&self) -> BTreeMap<String, aws_sdk_cloudwatchlogs::types::LogGroup> {
        let listed = self.aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/orders-").send().await.unwrap();
        listed.log_groups().iter().map(|g| (g.log_group_name().unwrap().to_string(), g.clone())).collect()
    }

    async fn retention(&self, group: &str) -> Option<i32> {
        self.groups().await.get(group).unwrap_or_else(|| panic!("no group {group}")).retention_in_days()
    }

    async fn tags(&self, group: &str) -> BTreeMap<String, String> {
        let arn = format!("arn:aws:logs:us-east-1:123456789012:log-group:{group}");
        let out = self.aws.logs.list_tags_for_resource().resource_arn(arn).send().await.unwrap();
        out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }

    /// Destroys `state` and checks that nothing of the pipeline is left,
    /// log groups included.
    async fn destroy_leaving_nothing(&mut self, state: &V) {
        let (gone, diags) = self.tf.destroy(state).await;
        assert!(errors(&diags).is_empty(), "{}", show(&diags));
        assert_eq!(gone, V::Nil);
        let left = Census::take(&self.aws, &self.vpc).await.leftovers();
        assert_eq!(left, Census::default(), "left after destroy");
    }
}

fn block<'a>(state: &'a V, which: &str) -> &'a V {
    field(state, which)
}

fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

fn number(v: &V, k: &str) -> i64 {
    field(v, k)
        .as_i64()
        .or_else(|| field(v, k).as_f64().map(|f| f as i64))
        .unwrap_or_else(|| panic!("{k} is not a number: {:?}", field(v, k)))
}

/// The group is made (CreateLogGroup, with the tags, then
/// PutRetentionPolicy) before its function, with the pipeline's tags and
/// ownership; the roles may write to it but not make groups; a no-change
/// refresh and plan are exact; destroy deletes both groups.
#[tokio::test]
async fn each_group_is_made_before_its_function_and_destroy_deletes_it() {
    let mut b = bed().await;
    // scripts/network.py made the function "app": moto's Lambda made no
    // log group for it (it makes one only when a function is invoked).
    let all = b.aws.logs.describe_log_groups().send().await.unwrap();
    assert!(all.log_groups().is_empty(), "moto made a log group on CreateFunction: {:?}", all.log_groups());
    b.moto.rules().keep_request_bodies();
    let config = b.with_retention(Some(14), vec![]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(str_of(block(&planned, "producer"), "log_group_name"), PRODUCER_GROUP, "the name is known at plan");
    assert_eq!(number(block(&planned, "producer"), "log_retention_in_days"), 14);
    assert_eq!(number(block(&planned, "consumer"), "log_retention_in_days"), 30, "the default");
    assert!(!is_unknown(field(block(&planned, "consumer"), "log_group_name")));
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(str_of(block(&state, "consumer"), "log_group_name"), CONSUMER_GROUP);

    // Each CreateLogGroup (the proxy counts CloudWatch Logs' JSON calls by
    // their X-Amz-Target) before its function's CreateFunction.
    let kept = b.moto.rules().kept();
    let at = |call: &str, key: &str, value: &str| {
        kept.iter()
            .position(|(c, body)| {
                c == call && serde_json::from_str::<serde_json::Value>(body).is_ok_and(|j| j[key].as_str() == Some(value))
            })
            .unwrap_or_else(|| panic!("no {call} with {key} {value}: {:?}", kept.iter().map(|(c, _)| c).collect::<Vec<_>>()))
    };
    for (group, function) in [(PRODUCER_GROUP, "orders-producer"), (CONSUMER_GROUP, "orders-consumer")] {
        let created = at("logs:CreateLogGroup", "logGroupName", group);
        let retention = at("logs:PutRetentionPolicy", "logGroupName", group);
        let function = at("lambda:POST /2015-03-31/functions", "FunctionName", function);
        assert!(
            created < retention && retention < function,
            "{group}: made at {created}, retention at {retention}, function at {function}"
        );
    }

    // As CloudWatch Logs has them.
    let groups = b.groups().await;
    assert_eq!(groups.keys().collect::<Vec<_>>(), [CONSUMER_GROUP, PRODUCER_GROUP]);
    assert_eq!(b.retention(PRODUCER_GROUP).await, Some(14));
    assert_eq!(b.retention(CONSUMER_GROUP).await, Some(30));
    let tags = b.tags(PRODUCER_GROUP).await;
    assert_eq!(tags.get("service").map(String::as_str), Some("orders"));
    assert_eq!(tags.get("team").map(String::as_str), Some("payments"), "the provider's default tags");
    assert_eq!(tags.get("privatelink:owner").map(String::as_str), Some("pipeline/orders"));
    assert_eq!(tags.get("privatelink:part").map(String::as_str), Some("producer-log-group"));

    // The roles write streams and events in their own group only.
    for role in ["orders-producer", "orders-consumer"] {
        let doc = b.aws.iam.get_role_policy().role_name(role).policy_name("pipeline").send().await.unwrap();
        let doc = privatelink::parts::role::decode_policy_document(doc.policy_document());
        assert!(!doc.contains("logs:CreateLogGroup"), "{doc}");
        assert!(doc.contains(&format!("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{role}:*")), "{doc}");
    }

    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read of untouched groups changes nothing");
    let (again, _) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert_eq!(canon(&again), canon(&refreshed), "an unchanged config plans no change");

    b.destroy_leaving_nothing(&refreshed).await;
    assert!(b.groups().await.is_empty());
}

/// A retention changed by hand shows at refresh and the next apply puts it
/// back; never-expire set by hand (the retention policy deleted) reads as
/// 0; a group deleted by hand shows with no name, is planned back and made
/// again. An import adopts the groups and, for a configuration that
/// writes the retention, plans no change.
#[tokio::test]
async fn drift_is_shown_and_repaired_and_import_adopts_the_groups() {
    let mut b = bed().await;
    let config = b.with_retention(Some(14), vec![]);
    let state = b.tf.converge(&V::Nil, &config).await;

    b.aws.logs.put_retention_policy().log_group_name(PRODUCER_GROUP).retention_in_days(1).send().await.unwrap();
    b.aws.logs.delete_retention_policy().log_group_name(CONSUMER_GROUP).send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    assert_eq!(number(block(&drifted, "producer"), "log_retention_in_days"), 1, "the retention set by hand");
    assert_eq!(number(block(&drifted, "consumer"), "log_retention_in_days"), 0, "never expire");
    let (planned, replace) = b.tf.plan(&drifted, &config).await.unwrap();
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(number(block(&planned, "producer"), "log_retention_in_days"), 14, "planned repair");
    assert_eq!(number(block(&planned, "consumer"), "log_retention_in_days"), 30, "planned repair to the default");
    let (state, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!((b.retention(PRODUCER_GROUP).await, b.retention(CONSUMER_GROUP).await), (Some(14), Some(30)));
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "converged");

    // Deleted by hand: made again, with its retention and tags.
    b.aws.logs.delete_log_group().log_group_name(CONSUMER_GROUP).send().await.unwrap();
    let drifted = b.tf.read(&refreshed).await;
    assert_eq!(field(block(&drifted, "consumer"), "log_group_name"), &V::Nil, "the group is gone");
    let (planned, _) = b.tf.plan(&drifted, &config).await.unwrap();
    assert_eq!(str_of(block(&planned, "consumer"), "log_group_name"), CONSUMER_GROUP, "planned back");
    let (state, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(b.retention(CONSUMER_GROUP).await, Some(30));
    assert_eq!(b.tags(CONSUMER_GROUP).await.get("privatelink:part").map(String::as_str), Some("consumer-log-group"));
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "converged");

    // Import by name finds the groups and their retention.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    assert_eq!(number(block(&imported, "producer"), "log_retention_in_days"), 14);
    assert_eq!(str_of(block(&imported, "producer"), "log_group_name"), PRODUCER_GROUP);
    let (planned, replace) = b.tf.plan(&imported, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");
    assert_eq!(canon(&imported), canon(&refreshed), "import finds what apply made");

    b.destroy_leaving_nothing(&refreshed).await;
}

/// A group of the function's name made before the pipeline (by Lambda on an
/// earlier run, or by hand) is adopted: CreateLogGroup answers
/// ResourceAlreadyExistsException, and the group is brought to the
/// configuration (retention, the pipeline's tags in place of its own) and
/// then deleted with the pipeline like one it made.
#[tokio::test]
async fn an_existing_group_is_adopted_not_refused() {
    let mut b = bed().await;
    b.aws.logs.create_log_group().log_group_name(CONSUMER_GROUP).tags("made-by", "hand").send().await.unwrap();
    b.moto.rules().reset_counts();
    let config = b.with_retention(None, vec![("log_retention_in_days", V::from(0))]);
    let state = b.tf.converge(&V::Nil, &config).await;
    let calls = b.moto.rules().calls();
    assert_eq!(calls.iter().filter(|c| *c == "logs:CreateLogGroup").count(), 2, "{calls:?}");
    assert_eq!(str_of(block(&state, "consumer"), "log_group_name"), CONSUMER_GROUP);
    assert_eq!(number(block(&state, "consumer"), "log_retention_in_days"), 0);
    assert_eq!(b.groups().await.len(), 2, "one group each, none made twice");
    assert_eq!(b.retention(CONSUMER_GROUP).await, None, "0: never expire, as the adopted group was");
    assert_eq!(b.retention(PRODUCER_GROUP).await, Some(30));
    let tags = b.tags(CONSUMER_GROUP).await;
    assert_eq!(tags.get("privatelink:owner").map(String::as_str), Some("pipeline/orders"), "{tags:?}");
    assert!(!tags.contains_key("made-by"), "the group carries the pipeline's tags now: {tags:?}");
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "converged");
    b.destroy_leaving_nothing(&refreshed).await;
}

/// A KMS key given at create goes to CreateLogGroup and reads back the
/// same, so the plan after it is empty.
#[tokio::test]
async fn a_kms_key_is_set_at_create() {
    let mut b = bed().await;
    let key = b.aws.kms.create_key().description("logs").send().await.unwrap();
    let key_arn = key.key_metadata().unwrap().arn().unwrap().to_string();
    let config = b.with_retention(None, vec![("log_kms_key_arn", s(&key_arn))]);
    let state = b.tf.converge(&V::Nil, &config).await;
    let groups = b.groups().await;
    assert_eq!(groups[CONSUMER_GROUP].kms_key_id(), Some(key_arn.as_str()));
    assert_eq!(groups[PRODUCER_GROUP].kms_key_id(), None);
    let refreshed = b.tf.read(&state).await;
    assert_eq!(str_of(block(&refreshed, "consumer"), "log_kms_key_arn"), key_arn);
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "converged");
    b.destroy_leaving_nothing(&refreshed).await;
}

/// A retention CloudWatch Logs does not offer, or a key that is not a KMS
/// key ARN, is an error at validate naming the attribute and what is valid.
#[tokio::test]
async fn bad_log_settings_are_refused_at_validate() {
    let mut b = bed().await;
    let config = b.with_retention(Some(2), vec![("log_kms_key_arn", s("alias/logs"))]);
    let diags = b.tf.validate(&config).await;
    let errs = errors(&diags);
    let at = |path: &str| {
        errs.iter().find(|d| common::driver::path_of(d) == path).unwrap_or_else(|| panic!("no error at {path}: {}", show(&diags)))
    };
    assert!(at("producer.log_retention_in_days").detail.contains("1, 3, 5, 7, 14, 30"), "{}", show(&diags));
    assert!(at("consumer.log_kms_key_arn").detail.contains("arn:aws:kms:"), "{}", show(&diags));
}

/// The part on its own: `find` matches the exact name though
/// DescribeLogGroups lists by prefix; a create whose retention AWS refuses
/// fails naming the group, the call, AWS's code and the fix, and the next
/// `ensure` adopts the group it made; `delete` of a group already gone is
/// fine.
#[tokio::test]
async fn the_part_finds_exactly_adopts_and_names_the_group_in_its_errors() {
    use privatelink::parts::log_group::{self, LogGroupSpec};
    let moto = common::moto::Moto::start();
    let aws = common::aws(&moto.url()).await;
    let tags: BTreeMap<String, String> = [("privatelink:owner".to_string(), "pipeline/p".to_string())].into();
    aws.logs.create_log_group().log_group_name("/aws/lambda/p-producer2").send().await.unwrap();
    let spec = LogGroupSpec { name: "/aws/lambda/p-producer".into(), retention_in_days: Some(2), kms_key_id: None, tags: tags.clone() };
    assert_eq!(log_group::find(&aws.logs, &spec.name).await.unwrap(), None, "a longer name with the same prefix is another group");

    // The AWS rules refuse 2 days, as CloudWatch Logs does.
    let e = log_group::ensure(&aws.logs, &spec, None).await.unwrap_err();
    assert!(e.summary.contains("logs:PutRetentionPolicy") && e.summary.contains("/aws/lambda/p-producer"), "{e:?}");
    assert!(e.detail.contains("InvalidParameterException") && e.detail.contains("Use one of 1, 3, 5"), "{e:?}");
    let made = log_group::find(&aws.logs, &spec.name).await.unwrap().expect("CreateLogGroup had worked");
    assert_eq!(made.tags, tags);
    assert_eq!(made.arn, "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/p-producer");

    // The next ensure (no known group: as after a lost answer) adopts it.
    let fixed = LogGroupSpec { retention_in_days: Some(7), ..spec.clone() };
    let g = log_group::ensure(&aws.logs, &fixed, None).await.unwrap();
    assert_eq!((g.retention_in_days, &g.tags), (Some(7), &tags));
    assert_eq!(log_group::find(&aws.logs, &spec.name).await.unwrap().unwrap().retention_in_days, Some(7));

    log_group::delete(&aws.logs, &spec.name).await.unwrap();
    log_group::delete(&aws.logs, &spec.name).await.unwrap();
    assert_eq!(log_group::find(&aws.logs, &spec.name).await.unwrap(), None);
    assert!(log_group::find(&aws.logs, "/aws/lambda/p-producer2").await.unwrap().is_some(), "only the named group goes");
}
