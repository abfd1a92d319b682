//! IAM / endpoint policy documents compared by meaning, not by text: two
//! documents that differ only in whitespace, key order, a one-element list
//! written as a scalar, or the order of Action/Resource/Principal lists
//! must not show as a diff.

use serde_json::{Map, Value};

/// Statement keys whose value is a set of strings: a scalar means a
/// one-element list, and order and duplicates carry no meaning.
const SET_KEYS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

/// Statement keys that map a principal type (AWS, Service...) to a set.
const PRINCIPAL_KEYS: [&str; 2] = ["Principal", "NotPrincipal"];

/// Checks that `doc` is a JSON object with a `Statement`; `Err(why)`.
pub fn validate(doc: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(doc).map_err(|e| format!("not valid JSON: {e}"))?;
    let Some(obj) = v.as_object() else {
        return Err(format!("a policy is a JSON object, not {}", kind_of(&v)));
    };
    match obj.get("Statement") {
        None => Err("the policy has no \"Statement\"".into()),
        Some(Value::Object(_)) => Ok(()),
        Some(Value::Array(list)) if list.is_empty() => Err("\"Statement\" is an empty list".into()),
        Some(Value::Array(list)) => match list.iter().position(|s| !s.is_object()) {
            Some(i) => Err(format!("\"Statement\"[{i}] is {}, not an object", kind_of(&list[i]))),
            None => Ok(()),
        },
        Some(other) => Err(format!("\"Statement\" is {}, not an object or a list of objects", kind_of(other))),
    }
}

/// True when both parse and mean the same policy.
pub fn equivalent(a: &str, b: &str) -> bool {
    match (parse_normalised(a), parse_normalised(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// True when `doc` is AWS's default endpoint policy: allow every principal
/// every action on every resource.
pub fn is_default_full_access(doc: &str) -> bool {
    let Some(policy) = parse_normalised(doc) else { return false };
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list,
        _ => return false,
    };
    let [statement] = statements.as_slice() else { return false };
    let Some(statement) = statement.as_object() else { return false };
    // A Sid names a statement without changing what it allows.
    let meaningful: Map<String, Value> =
        statement.iter().filter(|(k, _)| k.as_str() != "Sid").map(|(k, v)| (k.clone(), v.clone())).collect();
    Value::Object(meaningful) == full_access_statement()
}

/// The one statement of AWS's default policy, normalised.
fn full_access_statement() -> Value {
    let doc = r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
    serde_json::from_str(doc).map(|v| normalise_statement(&v)).unwrap_or(Value::Null)
}

fn parse_normalised(doc: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(doc).ok()?;
    v.is_object().then(|| normalise(&v))
}

/// The canonical form of a policy: equal canonical forms mean equal
/// policies. Objects come out with sorted keys so that the canonical
/// form also serialises canonically (statements are sorted by that text).
/// `Version` is kept as written: a document without one is evaluated
/// under the 2008 language, so its absence is a difference.
fn normalise(policy: &Value) -> Value {
    let Value::Object(obj) = policy else { return sorted_keys(policy) };
    let out = obj
        .iter()
        .map(|(k, v)| {
            let v = if k == "Statement" { normalise_statements(v) } else { sorted_keys(v) };
            (k.clone(), v)
        })
        .collect();
    sorted_keys(&Value::Object(out))
}

/// A single statement object means a one-element list; order does not matter.
fn normalise_statements(v: &Value) -> Value {
    let list = match v {
        Value::Array(list) => list.iter().map(normalise_statement).collect(),
        other => vec![normalise_statement(other)],
    };
    sorted_by_text(list, false)
}

fn normalise_statement(statement: &Value) -> Value {
    let Value::Object(obj) = statement else { return sorted_keys(statement) };
    let out = obj
        .iter()
        .map(|(k, v)| {
            let v = if SET_KEYS.contains(&k.as_str()) {
                as_set(v)
            } else if PRINCIPAL_KEYS.contains(&k.as_str()) {
                normalise_principal(v)
            } else if k == "Condition" {
                normalise_condition(v)
            } else {
                sorted_keys(v)
            };
            (k.clone(), v)
        })
        .collect();
    sorted_keys(&Value::Object(out))
}

/// `"*"` is shorthand for `{"AWS": "*"}` (everyone); every principal list
/// is a set.
fn normalise_principal(v: &Value) -> Value {
    match v {
        Value::String(s) if s == "*" => Value::Object(Map::from_iter([("AWS".to_string(), as_set(v))])),
        Value::Object(types) => sorted_keys(&Value::Object(types.iter().map(|(k, v)| (k.clone(), as_set(v))).collect())),
        other => sorted_keys(other),
    }
}

/// `{"StringEquals": {"aws:SourceVpc": "vpc-1"}}`: each condition key's
/// values are a set.
fn normalise_condition(v: &Value) -> Value {
    let Value::Object(operators) = v else { return sorted_keys(v) };
    let out = operators
        .iter()
        .map(|(op, keys)| {
            let keys = match keys {
                Value::Object(keys) => Value::Object(keys.iter().map(|(k, v)| (k.clone(), as_set(v))).collect()),
                other => other.clone(),
            };
            (op.clone(), sorted_keys(&keys))
        })
        .collect();
    sorted_keys(&Value::Object(out))
}

/// A scalar or list as a sorted list without duplicates.
fn as_set(v: &Value) -> Value {
    let list = match v {
        Value::Array(list) => list.iter().map(sorted_keys).collect(),
        other => vec![sorted_keys(other)],
    };
    sorted_by_text(list, true)
}

/// Sorts values by their canonical text (their keys must already be
/// sorted), optionally dropping duplicates.
fn sorted_by_text(list: Vec<Value>, dedup: bool) -> Value {
    let mut keyed: Vec<(String, Value)> = list.into_iter().map(|v| (v.to_string(), v)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if dedup {
        keyed.dedup_by(|a, b| a.0 == b.0);
    }
    Value::Array(keyed.into_iter().map(|(_, v)| v).collect())
}

/// A copy with every object's keys in sorted order. serde_json keeps
/// insertion order here (feature preserve_order), which would make the
/// text of equal objects differ.
fn sorted_keys(v: &Value) -> Value {
    match v {
        Value::Object(obj) => {
            let mut entries: Vec<(&String, &Value)> = obj.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted_keys(v))).collect())
        }
        Value::Array(list) => Value::Array(list.iter().map(sorted_keys).collect()),
        other => other.clone(),
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

// ---- builders: the documents this provider writes ----

/// The policy language every document below is written in.
const VERSION: &str = "2012-10-17";

/// What a Lambda function in a VPC must be allowed to do to its network
/// interfaces. AWS requires `"Resource": "*"` for these: the ENIs do not
/// exist yet when the permission is checked (AWSLambdaVPCAccessExecutionRole
/// grants them the same way), so they are the only wildcard-resource actions
/// the pipeline's roles carry.
pub const VPC_ENI_ACTIONS: [&str; 5] = [
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
];

/// Trust policy: the Lambda service may assume the role (and nobody else).
pub fn lambda_trust() -> String {
    document(vec![serde_json::json!({
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    })])
}

/// Queue policy that refuses every call on the queue made without TLS.
/// A Deny, so it adds no access: who may call the queue is still decided by
/// the callers' own IAM policies.
pub fn queue_tls_only(queue_arn: &str) -> String {
    document(vec![serde_json::json!({
        "Sid": "DenyWithoutTls",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sqs:*",
        "Resource": queue_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })])
}

/// The producer function's permissions: send to its one queue, write its
/// own logs, and (in a VPC) manage its network interfaces. The network
/// interface actions are on Resource `"*"` because AWS requires it for them
/// (see [`VPC_ENI_ACTIONS`]); everything else names its one resource.
pub fn producer(queue_arn: &str, log_group_arn: &str, in_vpc: bool) -> String {
    let send = allow("SendToQueue", &["sqs:SendMessage", "sqs:GetQueueUrl"], queue_arn);
    function_role(send, log_group_arn, in_vpc)
}

/// The consumer function's permissions: what the event source mapping does
/// on its behalf on the one queue (receive, delete, look at attributes,
/// extend visibility), its own logs, and (in a VPC) its network interfaces,
/// on Resource `"*"` as AWS requires for those (see [`VPC_ENI_ACTIONS`]).
pub fn consumer(queue_arn: &str, log_group_arn: &str, in_vpc: bool) -> String {
    let receive = allow(
        "ReceiveFromQueue",
        &["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
        queue_arn,
    );
    function_role(receive, log_group_arn, in_vpc)
}

/// The actions of every statement whose Resource is `"*"` (alone or in a
/// list), sorted and without duplicates; NotAction statements show as
/// `NotAction:<action>` so they cannot hide. Empty for a document that does
/// not parse (callers validate documents separately).
pub fn wildcard_resources(doc: &str) -> Vec<String> {
    let Ok(policy) = serde_json::from_str::<Value>(doc) else { return Vec::new() };
    let statements = match policy.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Vec::new(),
    };
    let mut actions: Vec<String> = statements
        .iter()
        .filter(|s| s.get("Resource").is_some_and(|r| strings(r).iter().any(|r| r == "*")))
        .flat_map(|s| {
            let allowed = s.get("Action").map(strings).unwrap_or_default();
            let except = s.get("NotAction").map(strings).unwrap_or_default();
            allowed.into_iter().chain(except.into_iter().map(|a| format!("NotAction:{a}")))
        })
        .collect();
    actions.sort();
    actions.dedup();
    actions
}

/// The log group Lambda writes a function's logs to.
pub fn log_group_arn(region: &str, account: &str, function_name: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:log-group:/aws/lambda/{function_name}")
}

/// One function's role policy: its queue statement, its logs, and the ENI
/// statement when it runs in a VPC.
fn function_role(queue_statement: Value, log_group_arn: &str, in_vpc: bool) -> String {
    let mut statements = vec![
        queue_statement,
        // Lambda creates the group on first write when it does not exist.
        allow("CreateLogGroup", &["logs:CreateLogGroup"], log_group_arn),
        // Streams and events live under the group: `<group arn>:*`.
        allow("WriteLogs", &["logs:CreateLogStream", "logs:PutLogEvents"], &format!("{log_group_arn}:*")),
    ];
    if in_vpc {
        statements.push(allow("ManageVpcNetworkInterfaces", &VPC_ENI_ACTIONS, "*"));
    }
    document(statements)
}

fn allow(sid: &str, actions: &[&str], resource: &str) -> Value {
    serde_json::json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource})
}

fn document(statements: Vec<Value>) -> String {
    serde_json::json!({"Version": VERSION, "Statement": statements}).to_string()
}

/// A string or list of strings as a list (anything else is skipped).
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
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
        let reordered =
            r#"{ "Statement" : [ { "Resource":"*", "Action":"*", "Principal":"*", "Effect":"Allow" } ], "Version":"2008-10-17" }"#;
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
        let base = r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#;
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
        assert_eq!(grants(&doc, "CreateLogGroup"), (owned(&["logs:CreateLogGroup"]), owned(&[LOGS])));
        assert_eq!(grants(&doc, "WriteLogs"), (owned(&["logs:CreateLogStream", "logs:PutLogEvents"]), vec![format!("{LOGS}:*")]));
        assert_eq!(statements(&doc).len(), 3, "nothing else: {doc}");
    }

    #[test]
    fn consumer_receives_from_its_queue_and_writes_its_logs() {
        let doc = consumer(QUEUE, LOGS, false);
        assert_eq!(validate(&doc), Ok(()));
        let receive = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"];
        assert_eq!(grants(&doc, "ReceiveFromQueue"), (owned(&receive), owned(&[QUEUE])));
        assert_eq!(grants(&doc, "CreateLogGroup").1, owned(&[LOGS]));
        assert_eq!(grants(&doc, "WriteLogs").1, vec![format!("{LOGS}:*")]);
        assert_eq!(statements(&doc).len(), 3, "nothing else: {doc}");
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
    fn log_group_arn_is_lambdas_group() {
        assert_eq!(
            log_group_arn("eu-west-1", "123456789012", "orders-consumer"),
            "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/orders-consumer"
        );
    }
}
