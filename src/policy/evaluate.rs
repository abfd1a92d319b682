//! Whether a policy lets an action through, as IAM decides it for the
//! parts an endpoint policy can express without knowing the request: an
//! explicit Deny wins, else an Allow is needed, else the action is
//! implicitly denied. Used by the reachability data source, and by the
//! tests' AWS rules for a role's own (identity) policies on one resource
//! (`decide_on`).
//!
//! What is not evaluated, and how it is taken: `Resource` / `NotResource`
//! (the request's resource is not known; a statement is taken to apply to
//! it), `Condition` (taken to hold), and a `Principal` other than `*` or
//! `{"AWS": "*"}` (it applies only when it names the caller given, if any).

use serde_json::Value;

/// The outcome for one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allowed,
    /// Denied by the statement with this Sid (or `#index` without one).
    Denied(String),
    /// No statement allows it.
    NotAllowed,
}

/// The decision of policy `doc` for `action` (e.g. `sqs:SendMessage`)
/// called by `caller` (a role ARN, when known). A document that does not
/// parse allows nothing.
pub fn decide(doc: &str, action: &str, caller: Option<&str>) -> Decision {
    let Ok(policy) = serde_json::from_str::<Value>(doc) else { return Decision::NotAllowed };
    let statements: Vec<&Value> = match &policy["Statement"] {
        Value::Array(list) => list.iter().collect(),
        s @ Value::Object(_) => vec![s],
        _ => vec![],
    };
    let applying: Vec<(usize, &Value)> =
        statements.into_iter().enumerate().filter(|(_, s)| covers_action(s, action) && covers_principal(s, caller)).collect();
    verdict(&applying)
}

/// What the statements that apply (with their index) decide: an explicit
/// Deny wins, then any Allow; none of either is not allowed.
fn verdict(applying: &[(usize, &Value)]) -> Decision {
    let effect = |s: &Value| s["Effect"].as_str().unwrap_or("").to_ascii_lowercase();
    if let Some((i, s)) = applying.iter().find(|(_, s)| effect(s) == "deny") {
        return Decision::Denied(s["Sid"].as_str().map(str::to_string).unwrap_or_else(|| format!("#{i}")));
    }
    if applying.iter().any(|(_, s)| effect(s) == "allow") {
        Decision::Allowed
    } else {
        Decision::NotAllowed
    }
}

/// The decision of a role's identity policies `docs`, all of them together,
/// for `action` on `resource` (an ARN): as `decide`, but each statement
/// applies only when its `Resource` matches (or its `NotResource` does
/// not). ARN matching is case-sensitive, with `*` and `?` as in actions.
/// `Condition` is taken to hold; `Principal` does not appear in identity
/// policies.
pub fn decide_on(docs: &[&str], action: &str, resource: &str) -> Decision {
    let statements: Vec<Value> = docs
        .iter()
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .flat_map(|p| match &p["Statement"] {
            Value::Array(list) => list.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => vec![],
        })
        .collect();
    let applying: Vec<(usize, &Value)> =
        statements.iter().enumerate().filter(|(_, s)| covers_action(s, action) && covers_resource(s, resource)).collect();
    verdict(&applying)
}

fn covers_resource(statement: &Value, resource: &str) -> bool {
    let arn_matches = |p: &str| wildcard(&p.chars().collect::<Vec<_>>(), &resource.chars().collect::<Vec<_>>());
    if !statement["Resource"].is_null() {
        strings(&statement["Resource"]).into_iter().any(arn_matches)
    } else if !statement["NotResource"].is_null() {
        !strings(&statement["NotResource"]).into_iter().any(arn_matches)
    } else {
        false
    }
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn covers_action(statement: &Value, action: &str) -> bool {
    if !statement["Action"].is_null() {
        strings(&statement["Action"]).iter().any(|p| matches(p, action))
    } else if !statement["NotAction"].is_null() {
        !strings(&statement["NotAction"]).iter().any(|p| matches(p, action))
    } else {
        false
    }
}

fn covers_principal(statement: &Value, caller: Option<&str>) -> bool {
    let named = |p: &Value| -> Vec<String> {
        match p {
            Value::String(s) => vec![s.clone()],
            Value::Object(m) => m.get("AWS").map(|v| strings(v).into_iter().map(str::to_string).collect()).unwrap_or_default(),
            _ => vec![],
        }
    };
    match (&statement["Principal"], &statement["NotPrincipal"]) {
        // Endpoint policies name their principal; without one, take the
        // statement as applying (as IAM does for identity policies).
        (Value::Null, Value::Null) => true,
        (p, Value::Null) => named(p).iter().any(|n| n == "*" || caller.is_some_and(|c| n == c)),
        (_, np) => !named(np).iter().any(|n| n == "*" || caller.is_some_and(|c| n == c)),
    }
}

/// IAM's action matching: case-insensitive, `*` any run of characters,
/// `?` any one.
pub fn matches(pattern: &str, action: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let a: Vec<char> = action.to_ascii_lowercase().chars().collect();
    wildcard(&p, &a)
}

/// `*` any run of characters, `?` any one, everything else as it is.
fn wildcard(p: &[char], a: &[char]) -> bool {
    match (p.first(), a.first()) {
        (None, None) => true,
        (Some('*'), _) => wildcard(&p[1..], a) || (!a.is_empty() && wildcard(p, &a[1..])),
        (Some('?'), Some(_)) => wildcard(&p[1..], &a[1..]),
        (Some(x), Some(y)) => x == y && wildcard(&p[1..], &a[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(matches("sqs:*", "sqs:SendMessage"));
        assert!(matches("SQS:send*", "sqs:SendMessage"));
        assert!(matches("*", "s3:GetObject"));
        assert!(matches("s3:Get?bject", "s3:GetObject"));
        assert!(!matches("s3:Get?bject", "s3:GetObjects"));
        assert!(!matches("sqs:Receive*", "sqs:SendMessage"));
        assert!(!matches("sqs:SendMessage", "sqs:SendMessageBatch"));
    }

    #[test]
    fn an_explicit_deny_wins_over_an_allow() {
        let doc = r#"{"Statement":[
            {"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},
            {"Sid":"NoSend","Effect":"Deny","Principal":{"AWS":"*"},"Action":["sqs:Send*"],"Resource":"*"}]}"#;
        assert_eq!(decide(doc, "sqs:SendMessage", None), Decision::Denied("NoSend".into()));
        assert_eq!(decide(doc, "sqs:ReceiveMessage", None), Decision::Allowed);
    }

    #[test]
    fn without_an_allow_an_action_is_not_allowed() {
        let doc = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#;
        assert_eq!(decide(doc, "s3:GetObject", None), Decision::Allowed);
        assert_eq!(decide(doc, "s3:PutObject", None), Decision::NotAllowed);
        assert_eq!(decide("not json", "s3:GetObject", None), Decision::NotAllowed);
        // NotAction allows everything else.
        let doc = r#"{"Statement":[{"Effect":"Allow","Principal":"*","NotAction":"s3:Delete*","Resource":"*"}]}"#;
        assert_eq!(decide(doc, "s3:GetObject", None), Decision::Allowed);
        assert_eq!(decide(doc, "s3:DeleteObject", None), Decision::NotAllowed);
    }

    #[test]
    fn a_named_principal_applies_only_to_that_caller() {
        let role = "arn:aws:iam::123456789012:role/orders-producer";
        let doc =
            format!(r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":["{role}"]}},"Action":"sqs:SendMessage","Resource":"*"}}]}}"#);
        assert_eq!(decide(&doc, "sqs:SendMessage", Some(role)), Decision::Allowed);
        assert_eq!(decide(&doc, "sqs:SendMessage", Some("arn:aws:iam::123456789012:role/other")), Decision::NotAllowed);
        assert_eq!(decide(&doc, "sqs:SendMessage", None), Decision::NotAllowed);
    }

    #[test]
    fn identity_policies_decide_on_the_resource_named() {
        let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let send =
            r#"{"Statement":[{"Effect":"Allow","Action":["sqs:SendMessage"],"Resource":"arn:aws:sqs:us-east-1:123456789012:orders"}]}"#;
        let kms = format!(r#"{{"Statement":{{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"{key}"}}}}"#);
        assert_eq!(decide_on(&[send], "kms:Decrypt", key), Decision::NotAllowed);
        assert_eq!(decide_on(&[send, &kms], "kms:Decrypt", key), Decision::Allowed);
        assert_eq!(decide_on(&[send, &kms], "kms:Decrypt", "arn:aws:kms:us-east-1:123456789012:key/other"), Decision::NotAllowed);
        let any_key = r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"arn:aws:kms:*:123456789012:key/*"}]}"#;
        assert_eq!(decide_on(&[any_key], "kms:GenerateDataKey", key), Decision::Allowed);
        // ARNs match case-sensitively; a Deny anywhere wins; NotResource.
        assert_eq!(decide_on(&[any_key], "kms:Decrypt", &key.to_uppercase()), Decision::NotAllowed);
        let deny = format!(r#"{{"Statement":[{{"Sid":"NoKeys","Effect":"Deny","Action":"kms:Decrypt","Resource":"{key}"}}]}}"#);
        assert_eq!(decide_on(&[any_key, &deny], "kms:Decrypt", key), Decision::Denied("NoKeys".into()));
        let not_resource = r#"{"Statement":[{"Effect":"Allow","Action":"kms:Decrypt","NotResource":"arn:aws:kms:*:*:key/other"}]}"#;
        assert_eq!(decide_on(&[not_resource], "kms:Decrypt", key), Decision::Allowed);
    }
}
