//! Event filter patterns compared by meaning: the text Lambda stores
//! differs from what was sent in key order, whitespace and the order of
//! alternatives.

use std::collections::BTreeSet;

use serde_json::Value;

/// True when both lists hold the same patterns, whatever their order, key
/// order, whitespace, or the order of the alternatives inside a pattern.
pub fn same_filter_patterns(a: &[String], b: &[String]) -> bool {
    canonical_patterns(a) == canonical_patterns(b)
}

/// Patterns in canonical form, as a set: the filters of a mapping are
/// alternatives (a record passes when any matches), so their order and
/// repetition mean nothing.
fn canonical_patterns(patterns: &[String]) -> BTreeSet<String> {
    patterns.iter().map(|p| canonical_pattern(p)).collect()
}

/// A pattern's canonical text: keys sorted, and the alternatives of a
/// list sorted and deduplicated. A pattern that is not JSON (AWS would
/// reject it) compares by its trimmed text.
fn canonical_pattern(pattern: &str) -> String {
    match serde_json::from_str::<Value>(pattern) {
        Ok(v) => canonical_value(&v, false).to_string(),
        Err(_) => pattern.trim().to_string(),
    }
}

/// `ordered` marks the one list in filter syntax whose order is meaning:
/// `{"numeric": [">", 0, "<=", 5]}` pairs each operator with the number
/// after it. Every other list is a set of alternatives.
fn canonical_value(v: &Value, ordered: bool) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical_value(v, k == "numeric"))).collect())
        }
        Value::Array(list) if ordered => Value::Array(list.iter().map(|v| canonical_value(v, false)).collect()),
        Value::Array(list) => {
            let mut items: Vec<Value> = list.iter().map(|v| canonical_value(v, false)).collect();
            items.sort_by_key(|v| v.to_string());
            items.dedup();
            Value::Array(items)
        }
        other => other.clone(),
    }
}
