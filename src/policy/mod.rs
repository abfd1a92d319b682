//! IAM / endpoint policy documents compared by meaning, not by text: two
//! documents that differ only in whitespace, key order, a one-element list
//! written as a scalar, or the order of Action/Resource/Principal lists
//! must not show as a diff.
//!
//! This file checks and inspects documents; `normalise` holds the
//! canonical form they are compared in, `documents` the documents this
//! provider writes.

mod documents;
pub mod evaluate;
mod normalise;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use documents::{
    access_statement, consumer, endpoint_access, lambda_trust, log_group_arn, policy_size, private_function, producer, queue_key,
    queue_tls_only, with_statements, write_traces, ROLE_INLINE_POLICY_CHARS, VPC_ENI_ACTIONS, XRAY_WRITE_ACTIONS,
};
use normalise::{full_access_statement, parse_normalised};

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

/// A string or list of strings as a list (anything else is skipped): a
/// statement's Action or Resource, as IAM takes either.
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(list) => list.iter().filter_map(|s| s.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    }
}
