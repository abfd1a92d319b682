//! Extra rights on the roles a pipeline makes, over gRPC against moto
//! behind the AWS rules: `policy_statements` (an inline policy of their own)
//! and `policy_arns` (exactly these managed policies), each created, read
//! back, changed in place, drifted and repaired, and imported with an empty
//! plan; refused at validate with `role_arn`.

use std::collections::BTreeSet;

use crate::common;

use common::driver::{canon, errors, path_of, show};
use common::pipeline::{function, Bed};
use common::{field, s};
use rmpv::Value as V;

const XRAY: &str = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess";
const INSIGHTS: &str = "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy";
const S3_READ: &str = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess";

async fn bed() -> Bed {
    Bed::start(&[]).await
}

fn arns(list: &[&str]) -> V {
    V::Array(list.iter().map(|a| s(a)).collect())
}

/// `[{Effect = "Allow", Action = actions, Resource = "arn:aws:s3:::reports/*"}]`, as jsonencode writes it.
fn statements(actions: &[&str]) -> String {
    serde_json::json!([{"Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::reports/*"}]).to_string()
}

impl Bed {
    fn with_rights(&self, producer: Vec<(&str, V)>, consumer: Vec<(&str, V)>) -> V {
        self.orders(function("producer", producer), function("consumer", consumer), vec![])
    }

    async fn attached(&self, role: &str) -> BTreeSet<String> {
        let out = self.aws.iam.list_attached_role_policies().role_name(role).send().await.unwrap();
        out.attached_policies().iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect()
    }

    /// The role's `policy_statements` inline policy, decoded; None without one.
    async fn statements_policy(&self, role: &str) -> Option<String> {
        let got = self.aws.iam.get_role_policy().role_name(role).policy_name("policy_statements").send().await.ok()?;
        Some(privatelink::parts::role::decode_policy_document(got.policy_document()))
    }
}

fn set_of(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn policy_statements_and_arns_are_made_changed_repaired_and_imported() {
    let mut b = bed().await;
    let read_only = statements(&["s3:GetObject"]);
    let config = b.with_rights(
        vec![("policy_statements", s(&read_only)), ("policy_arns", arns(&[XRAY]))],
        vec![("policy_arns", arns(&[XRAY, INSIGHTS]))],
    );
    let state = b.plan_apply(&V::Nil, &config).await;

    // In IAM: the statements in an inline policy of their own, the managed policies attached.
    let doc = b.statements_policy("orders-producer").await.expect("the producer's statements policy");
    let wanted = format!(r#"{{"Version":"2012-10-17","Statement":{read_only}}}"#);
    assert!(privatelink::policy::equivalent(&doc, &wanted), "{doc}");
    assert!(b.statements_policy("orders-consumer").await.is_none());
    assert_eq!(b.attached("orders-producer").await, set_of(&[XRAY]));
    assert_eq!(b.attached("orders-consumer").await, set_of(&[XRAY, INSIGHTS]));
    // The pipeline's own policy is still there, unchanged.
    assert!(b.aws.iam.get_role_policy().role_name("orders-producer").policy_name("pipeline").send().await.is_ok());

    // Read back as written; the same configuration plans no change.
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read back as written");
    assert_eq!(canon(&b.tf.plan(&refreshed, &config).await.unwrap().0), canon(&refreshed), "no change");

    // In place: more statements, another managed policy, one dropped.
    let list_too = statements(&["s3:GetObject", "s3:ListBucket"]);
    let changed = b.with_rights(
        vec![("policy_statements", s(&list_too)), ("policy_arns", arns(&[S3_READ]))],
        vec![("policy_arns", arns(&[INSIGHTS]))],
    );
    let state = b.plan_apply(&refreshed, &changed).await;
    assert_eq!(field(&state, "producer_role_arn"), field(&refreshed, "producer_role_arn"), "the same role");
    let doc = b.statements_policy("orders-producer").await.unwrap();
    assert!(doc.contains("s3:ListBucket"), "{doc}");
    assert_eq!(b.attached("orders-producer").await, set_of(&[S3_READ]));
    assert_eq!(b.attached("orders-consumer").await, set_of(&[INSIGHTS]));

    // Drift: a policy attached by hand and the statements deleted by hand show, and are repaired.
    let admin = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    b.aws.iam.attach_role_policy().role_name("orders-consumer").policy_arn(admin).send().await.unwrap();
    b.aws.iam.delete_role_policy().role_name("orders-producer").policy_name("policy_statements").send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    assert_eq!(field(field(&drifted, "producer"), "policy_statements"), &V::Nil);
    let consumer_arns: BTreeSet<String> = field(field(&drifted, "consumer"), "policy_arns")
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    assert_eq!(consumer_arns, set_of(&[INSIGHTS, admin]), "the policy attached by hand shows");
    let repaired = b.plan_apply(&drifted, &changed).await;
    assert_eq!(b.attached("orders-consumer").await, set_of(&[INSIGHTS]), "detached again");
    assert!(b.statements_policy("orders-producer").await.is_some_and(|d| d.contains("s3:ListBucket")), "put back");
    let again = b.tf.read(&repaired).await;
    assert_eq!(canon(&b.tf.plan(&again, &changed).await.unwrap().0), canon(&again), "converged");

    // Import with the configuration that wrote them: an empty plan.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (planned, _) = b.tf.plan(&imported, &changed).await.unwrap();
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");

    // Removed from the configuration: the statements policy goes, the managed policies are detached.
    let plain = b.with_rights(vec![], vec![]);
    let state = b.plan_apply(&again, &plain).await;
    assert!(b.statements_policy("orders-producer").await.is_none());
    assert!(b.attached("orders-producer").await.is_empty() && b.attached("orders-consumer").await.is_empty());
    // And an import without them plans empty too.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (planned, _) = b.tf.plan(&imported, &plain).await.unwrap();
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");

    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

#[tokio::test]
async fn extra_rights_are_refused_with_the_users_own_role_and_when_malformed() {
    let mut b = bed().await;
    let own_role = ("role_arn", s("arn:aws:iam::123456789012:role/mine"));
    let with_role = b.with_rights(
        vec![own_role.clone(), ("policy_statements", s(&statements(&["s3:GetObject"])))],
        vec![own_role, ("policy_arns", arns(&[XRAY]))],
    );
    let mut at: Vec<String> = errors(&b.tf.validate(&with_role).await).iter().map(|d| path_of(d)).collect();
    at.sort();
    assert_eq!(at, ["consumer.policy_arns", "producer.policy_statements"]);

    let principal = serde_json::json!([{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]).to_string();
    let d = b.tf.validate(&b.with_rights(vec![("policy_statements", s(&principal))], vec![])).await;
    assert_eq!(errors(&d).iter().map(|d| path_of(d)).collect::<Vec<_>>(), ["producer.policy_statements"]);
    assert!(show(&d).contains("Principal"), "{}", show(&d));
    let d = b.tf.validate(&b.with_rights(vec![], vec![("policy_arns", arns(&["AdministratorAccess"]))])).await;
    assert_eq!(errors(&d).iter().map(|d| path_of(d)).collect::<Vec<_>>(), ["consumer.policy_arns"]);

    // Over IAM's 10,240 characters with the pipeline's own policy: at plan, before any call.
    let many: Vec<serde_json::Value> = (0..120)
        .map(|i| serde_json::json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::bucket-{i:04}/reports/*")}))
        .collect();
    let big = b.with_rights(vec![("policy_statements", s(&serde_json::Value::Array(many).to_string()))], vec![]);
    let d = b.tf.plan(&V::Nil, &big).await.unwrap_err();
    assert_eq!(errors(&d).iter().map(|d| path_of(d)).collect::<Vec<_>>(), ["producer.policy_statements"], "{}", show(&d));
    assert!(show(&d).contains("10240"), "{}", show(&d));
}

/// A managed policy IAM does not know passes validate (only IAM can say)
/// and fails the apply; the role made meanwhile stays in the state, and the
/// destroy of the failed pipeline removes it: nothing is left.
#[tokio::test]
async fn a_role_refused_a_policy_is_kept_in_state_and_destroyed() {
    let mut b = bed().await;
    let config = b.with_rights(vec![("policy_arns", arns(&["arn:aws:iam::123456789012:policy/no-such-policy"]))], vec![]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    let failed = show(&diags);
    assert!(failed.contains("iam:AttachRolePolicy") && failed.contains("no-such-policy"), "{failed}");
    assert!(field(&state, "producer_role_arn").as_str().is_some_and(|a| a.ends_with(":role/orders-producer")), "the role is in the state");
    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    let roles = b.aws.iam.list_roles().send().await.unwrap();
    let left: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).filter(|n| n.starts_with("orders-")).collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
