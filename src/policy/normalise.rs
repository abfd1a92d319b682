//! The canonical form of a policy: equal canonical forms mean equal
//! policies.

use serde_json::{Map, Value};

/// Statement keys whose value is a set of strings: a scalar means a
/// one-element list, and order and duplicates carry no meaning.
const SET_KEYS: [&str; 4] = ["Action", "NotAction", "Resource", "NotResource"];

/// Statement keys that map a principal type (AWS, Service...) to a set.
const PRINCIPAL_KEYS: [&str; 2] = ["Principal", "NotPrincipal"];

/// The one statement of AWS's default policy, normalised.
pub(super) fn full_access_statement() -> Value {
    let doc = r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#;
    serde_json::from_str(doc).map(|v| normalise_statement(&v)).unwrap_or(Value::Null)
}

pub(super) fn parse_normalised(doc: &str) -> Option<Value> {
    let v: Value = serde_json::from_str(doc).ok()?;
    v.is_object().then(|| normalise(&v))
}

/// The canonical form of a policy: equal canonical forms mean equal
/// policies. Objects come out with sorted keys so that the canonical
/// form also serialises canonically (statements are sorted by that text).
/// `Version` is kept as written: a document without one is evaluated
/// under the 2008 language, so its absence is a difference.
pub(super) fn normalise(policy: &Value) -> Value {
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
