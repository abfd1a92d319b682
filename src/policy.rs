//! IAM / endpoint policy documents compared by meaning, not by text: two
//! documents that differ only in whitespace, key order, a one-element list
//! written as a scalar, or the order of Action/Resource/Principal lists
//! must not show as a diff.

/// Checks that `doc` is a JSON object with a `Statement`; `Err(why)`.
pub fn validate(doc: &str) -> Result<(), String> {
    todo!()
}

/// True when both parse and mean the same policy.
pub fn equivalent(a: &str, b: &str) -> bool {
    todo!()
}

/// True when `doc` is AWS's default endpoint policy: allow every principal
/// every action on every resource.
pub fn is_default_full_access(doc: &str) -> bool {
    todo!()
}
