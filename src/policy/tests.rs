//! Unit tests: comparison by meaning, validation, the documents written
//! and what they allow on every resource.

use super::normalise::normalise;
use super::*;

const AWS_DEFAULT: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;

const QUEUE_POLICY: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Send", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:root"]},
         "Action": ["sqs:SendMessage", "sqs:GetQueueUrl"], "Resource": "arn:aws:sqs:us-east-1:123456789012:q",
         "Condition": {"StringEquals": {"aws:SourceVpc": ["vpc-1", "vpc-2"]}}},
        {"Sid": "Deny", "Effect": "Deny", "Principal": "*", "NotAction": "sqs:*", "NotResource": ["arn:aws:sqs:*:*:*"]}
    ]
}"#;

// ---- validate ----

#[test]
fn validate_accepts_statement_object_or_list() {
    assert_eq!(validate(AWS_DEFAULT), Ok(()));
    assert_eq!(validate(QUEUE_POLICY), Ok(()));
    assert_eq!(validate(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#), Ok(()));
}

#[test]
fn validate_reports_json_errors_with_position() {
    let e = validate("{\"Statement\": [\n  {\"Effect\": \"Allow\",}\n]}").unwrap_err();
    assert!(e.starts_with("not valid JSON"), "{e}");
    assert!(e.contains("line 2"), "{e}");
    assert!(e.contains("column"), "{e}");
}

#[test]
fn validate_rejects_non_objects() {
    assert!(validate("[]").unwrap_err().contains("not a list"));
    assert!(validate("\"x\"").unwrap_err().contains("not a string"));
    assert!(validate("").unwrap_err().starts_with("not valid JSON"));
}

#[test]
fn validate_requires_a_non_empty_statement() {
    assert!(validate(r#"{"Version":"2012-10-17"}"#).unwrap_err().contains("no \"Statement\""));
    assert!(validate(r#"{"Statement":[]}"#).unwrap_err().contains("empty"));
    assert!(validate(r#"{"Statement":"Allow"}"#).unwrap_err().contains("a string"));
    assert!(validate(r#"{"Statement":[{"Effect":"Allow"}, 3]}"#).unwrap_err().contains("[1] is a number"));
    // Key names are case-sensitive in IAM.
    assert!(validate(r#"{"statement":[{"Effect":"Allow"}]}"#).is_err());
}

// ---- equivalent ----

#[test]
fn whitespace_and_key_order_do_not_matter() {
    let reordered = r#"{ "Statement" : [ { "Resource":"*", "Action":"*", "Principal":"*", "Effect":"Allow" } ], "Version":"2008-10-17" }"#;
    assert!(equivalent(AWS_DEFAULT, reordered));
    assert!(equivalent(reordered, AWS_DEFAULT));
}

#[test]
fn scalar_equals_one_element_list() {
    let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sqs:SendMessage","Resource":"arn:q","NotResource":"arn:r","NotAction":"s3:*"}]}"#;
    let b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sqs:SendMessage"],"Resource":["arn:q"],"NotResource":["arn:r"],"NotAction":["s3:*"]}]}"#;
    assert!(equivalent(a, b));
}

#[test]
fn list_order_and_duplicates_do_not_matter() {
    let a = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:b","arn:a"]},"Action":["sqs:B","sqs:A","sqs:A"],"Resource":["r2","r1"]}]}"#;
    let b = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:a","arn:b","arn:a"]},"Action":["sqs:A","sqs:B"],"Resource":["r1","r2","r2"]}]}"#;
    assert!(equivalent(a, b));
}

#[test]
fn statement_object_equals_one_element_list_and_order_does_not_matter() {
    let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    let listed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    assert!(equivalent(one, listed));

    let ab = r#"{"Statement":[{"Sid":"A","Effect":"Allow","Action":"a:*","Resource":"*"},{"Sid":"B","Effect":"Deny","Action":"b:*","Resource":"*"}]}"#;
    let ba = r#"{"Statement":[{"Resource":"*","Action":"b:*","Effect":"Deny","Sid":"B"},{"Effect":"Allow","Sid":"A","Resource":["*"],"Action":["a:*"]}]}"#;
    assert!(equivalent(ab, ba));
}

#[test]
fn star_principal_equals_aws_star() {
    let star = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
    let aws = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*","Resource":"*"}]}"#;
    let aws_list = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":"*","Resource":"*"}]}"#;
    assert!(equivalent(star, aws));
    assert!(equivalent(star, aws_list));
    let not_star = r#"{"Statement":[{"Effect":"Deny","NotPrincipal":"*","Action":"*","Resource":"*"}]}"#;
    let not_aws = r#"{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}]}"#;
    assert!(equivalent(not_star, not_aws));
}

#[test]
fn condition_values_are_sets() {
    let a = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":["vpc-2","vpc-1"],"aws:PrincipalAccount":"1"},"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    let b = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":["true"]},"StringEquals":{"aws:PrincipalAccount":["1"],"aws:SourceVpc":["vpc-1","vpc-2"]}}}]}"#;
    assert!(equivalent(a, b));
    let c = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpc":["vpc-1"],"aws:PrincipalAccount":"1"},"Bool":{"aws:SecureTransport":"true"}}}]}"#;
    assert!(!equivalent(a, c));
}

#[test]
fn whole_realistic_policy_reformatted() {
    let reformatted = r#"{"Statement":[
        {"Effect":"Deny","Sid":"Deny","NotResource":"arn:aws:sqs:*:*:*","NotAction":["sqs:*"],"Principal":{"AWS":"*"}},
        {"Resource":["arn:aws:sqs:us-east-1:123456789012:q"],"Condition":{"StringEquals":{"aws:SourceVpc":["vpc-2","vpc-1"]}},
         "Action":["sqs:GetQueueUrl","sqs:SendMessage"],"Effect":"Allow","Sid":"Send",
         "Principal":{"AWS":["arn:aws:iam::210987654321:root","arn:aws:iam::123456789012:root"]}}],
        "Version":"2012-10-17"}"#;
    assert!(equivalent(QUEUE_POLICY, reformatted));
}

#[test]
fn real_differences_show() {
    let base =
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#;
    let variants = [
        // another action
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"}]}"#,
        // an extra action
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}]}"#,
        // Deny instead of Allow
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // another Sid
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"T","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // no Sid
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // no Version: evaluated under the old policy language
        r#"{"Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // another Version
        r#"{"Version":"2008-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // NotAction is not Action
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","NotAction":"sqs:SendMessage","Resource":"*"}]}"#,
        // a narrower principal
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sqs:SendMessage","Resource":"*"}]}"#,
        // a condition
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}"#,
        // a second statement
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
    ];
    for v in variants {
        assert!(!equivalent(base, v), "should differ: {v}");
        assert!(!equivalent(v, base), "should differ: {v}");
    }
}

#[test]
fn values_are_case_sensitive() {
    let a = r#"{"Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;
    let b = r#"{"Statement":[{"Effect":"allow","Action":"sqs:SendMessage","Resource":"*"}]}"#;
    assert!(!equivalent(a, b));
}

#[test]
fn unparsable_documents_are_never_equivalent() {
    assert!(!equivalent("{", "{"));
    assert!(!equivalent("not json", AWS_DEFAULT));
    assert!(!equivalent(AWS_DEFAULT, ""));
    assert!(!equivalent("[1]", "[1]"));
}

#[test]
fn normalise_is_canonical_text() {
    let a: Value =
        serde_json::from_str(r#"{"Statement":{"Resource":"*","Action":["b","a"],"Effect":"Allow"},"Version":"2012-10-17"}"#).unwrap();
    assert_eq!(
        normalise(&a).to_string(),
        r#"{"Statement":[{"Action":["a","b"],"Effect":"Allow","Resource":["*"]}],"Version":"2012-10-17"}"#
    );
}

// ---- is_default_full_access ----

#[test]
fn aws_default_is_full_access() {
    assert!(is_default_full_access(AWS_DEFAULT));
    // moto writes it with spaces (Python's json.dumps)
    assert!(is_default_full_access(
        r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}"#
    ));
}

#[test]
fn full_access_variants() {
    for doc in [
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["*"],"Resource":["*"]}}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Sid":"Everything","Effect":"Allow","Principal":{"AWS":["*"]},"Action":"*","Resource":"*"}]}"#,
    ] {
        assert!(is_default_full_access(doc), "{doc}");
    }
}

#[test]
fn restricted_policies_are_not_full_access() {
    for doc in [
        r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"arn:aws:sqs:*:*:*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"*"},"Action":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"1"}}}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"},{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
        r#"{"Statement":[]}"#,
        r#"{"Version":"2008-10-17"}"#,
        "not json",
        "[]",
    ] {
        assert!(!is_default_full_access(doc), "{doc}");
    }
}

// ---- builders ----

const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
const LOGS: &str = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/orders-producer";

fn statements(doc: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(doc).unwrap();
    assert_eq!(v["Version"], "2012-10-17", "{doc}");
    v["Statement"].as_array().unwrap().clone()
}

/// (actions, resources) of the statement with this Sid.
fn grants(doc: &str, sid: &str) -> (Vec<String>, Vec<String>) {
    let s = statements(doc).into_iter().find(|s| s["Sid"] == sid).unwrap_or_else(|| panic!("no {sid} in {doc}"));
    assert_eq!(s["Effect"], "Allow");
    (strings(&s["Action"]), strings(&s["Resource"]))
}

fn owned(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn lambda_trust_lets_only_lambda_assume() {
    let doc = lambda_trust();
    assert_eq!(validate(&doc), Ok(()));
    let expected = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com"]},"Action":["sts:AssumeRole"]}}"#;
    assert!(equivalent(&doc, expected), "{doc}");
}

#[test]
fn queue_tls_only_denies_plain_http_on_the_queue() {
    let doc = queue_tls_only(QUEUE);
    assert_eq!(validate(&doc), Ok(()));
    let [s] = statements(&doc).try_into().unwrap();
    assert_eq!(s["Effect"], "Deny");
    assert_eq!(s["Principal"], "*");
    assert_eq!(s["Action"], "sqs:*");
    assert_eq!(s["Resource"], QUEUE);
    assert_eq!(s["Condition"], serde_json::json!({"Bool": {"aws:SecureTransport": "false"}}));
}

#[test]
fn producer_sends_to_its_queue_and_writes_its_logs() {
    let doc = producer(QUEUE, LOGS, false);
    assert_eq!(validate(&doc), Ok(()));
    assert_eq!(grants(&doc, "SendToQueue"), (owned(&["sqs:SendMessage", "sqs:GetQueueUrl"]), owned(&[QUEUE])));
    assert_eq!(grants(&doc, "WriteLogs"), (owned(&["logs:CreateLogStream", "logs:PutLogEvents"]), vec![format!("{LOGS}:*")]));
    assert_eq!(statements(&doc).len(), 2, "nothing else: {doc}");
}

#[test]
fn consumer_receives_from_its_queue_and_writes_its_logs() {
    let doc = consumer(QUEUE, LOGS, false);
    assert_eq!(validate(&doc), Ok(()));
    let receive = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"];
    assert_eq!(grants(&doc, "ReceiveFromQueue"), (owned(&receive), owned(&[QUEUE])));
    assert_eq!(grants(&doc, "WriteLogs").1, vec![format!("{LOGS}:*")]);
    assert_eq!(statements(&doc).len(), 2, "nothing else: {doc}");
    // The consumer cannot send, the producer cannot receive.
    assert!(!doc.contains("sqs:SendMessage"));
    assert!(!producer(QUEUE, LOGS, true).contains("sqs:ReceiveMessage"));
}

#[test]
fn in_a_vpc_only_the_eni_actions_have_a_wildcard_resource() {
    let mut eni = owned(&VPC_ENI_ACTIONS);
    eni.sort();
    for doc in [producer(QUEUE, LOGS, true), consumer(QUEUE, LOGS, true)] {
        assert_eq!(wildcard_resources(&doc), eni, "{doc}");
        assert_eq!(grants(&doc, "ManageVpcNetworkInterfaces").1, owned(&["*"]));
    }
    for doc in [producer(QUEUE, LOGS, false), consumer(QUEUE, LOGS, false)] {
        assert!(wildcard_resources(&doc).is_empty(), "{doc}");
        assert!(!doc.contains("ec2:"), "{doc}");
    }
}

#[test]
fn wildcard_resources_finds_stars_in_lists_and_not_actions() {
    let doc = r#"{"Statement":[
        {"Effect":"Allow","Action":["s3:GetObject","s3:GetObject"],"Resource":["arn:aws:s3:::b/*","*"]},
        {"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:1:q"},
        {"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#;
    assert_eq!(wildcard_resources(doc), owned(&["NotAction:iam:*", "s3:GetObject"]));
    let single = r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
    assert_eq!(wildcard_resources(single), owned(&["*"]));
    assert!(wildcard_resources("not json").is_empty());
}

#[test]
fn log_group_arn_is_lambdas_group_in_its_partition() {
    assert_eq!(
        log_group_arn("aws", "eu-west-1", "123456789012", "/aws/lambda/orders-consumer"),
        "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-consumer"
    );
    assert_eq!(
        log_group_arn("aws-cn", "cn-north-1", "123456789012", "/aws/lambda/f"),
        "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/f"
    );
}

/// The composite makes each function's log group (with its retention):
/// no role may make one, which would never expire and outlive it. They
/// only write streams and events in their own group.
#[test]
fn no_role_may_create_a_log_group() {
    for in_vpc in [false, true] {
        for doc in [producer(QUEUE, LOGS, in_vpc), consumer(QUEUE, LOGS, in_vpc)] {
            assert!(!doc.contains("logs:CreateLogGroup"), "{doc}");
            let logs: Vec<(Vec<String>, Vec<String>)> = statements(&doc)
                .iter()
                .filter(|s| s["Action"].to_string().contains("logs:"))
                .map(|s| (strings_of(&s["Action"]), strings_of(&s["Resource"])))
                .collect();
            assert_eq!(logs, vec![(owned(&["logs:CreateLogStream", "logs:PutLogEvents"]), vec![format!("{LOGS}:*")])], "{doc}");
        }
    }
}

fn strings_of(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(l) => l.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => vec![],
    }
}

// ---- IAM's size limit ----

/// The roles' policies grow only with the queue's ARN and the function's
/// log group ARN, i.e. with the region, the account and the pipeline's name
/// (capped at 40 characters; 55 is the most any AWS limit on a derived name
/// would allow). Filter patterns, environment and tags never enter them. So
/// the largest policy a configuration can produce is a FIFO pipeline with
/// the longest name, in a VPC, in a long region: far under IAM's 10,240.
#[test]
fn the_largest_role_policy_stays_under_iams_limit() {
    let name = "n".repeat(55);
    let region = "ap-southeast-14";
    let queue = format!("arn:aws:sqs:{region}:123456789012:{name}.fifo");
    let largest = [true, false]
        .into_iter()
        .flat_map(|in_vpc| {
            let consumer = format!("{name}-consumer");
            let producer = format!("{name}-producer");
            [
                documents::producer(
                    &queue,
                    &documents::log_group_arn("aws-us-gov", region, "123456789012", &format!("/aws/lambda/{producer}")),
                    in_vpc,
                ),
                documents::consumer(
                    &queue,
                    &documents::log_group_arn("aws-us-gov", region, "123456789012", &format!("/aws/lambda/{consumer}")),
                    in_vpc,
                ),
            ]
        })
        .map(|d| documents::policy_size(&d))
        .max()
        .unwrap();
    assert!(largest < documents::ROLE_INLINE_POLICY_CHARS / 5, "{largest} characters");
    assert_eq!(documents::policy_size(" { \"a\" :\n 1 } "), 7);
}
