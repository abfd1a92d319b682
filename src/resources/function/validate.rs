//! The function block's checks of the configuration alone (no AWS call).

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Map};
use crate::resources::checks;

#[cfg(test)]
use super::FunctionRole;
use super::{FunctionBlock, RUNTIMES};

/// Every mistake in one function block, each at its attribute.
pub fn validate(d: &mut Diagnostics, f: &FunctionBlock) {
    validate_code(d, f);
    if let Some(r) = f.runtime.str().filter(|r| !RUNTIMES.contains(r)) {
        d.push(
            Diagnostic::error(
                "Unknown runtime",
                format!("{r:?} is not a Lambda runtime for zip packages; use one of {}.", RUNTIMES.join(", ")),
            )
            .at(f.runtime.path.clone()),
        );
    }
    if let Some(h) = f.handler.str().filter(|h| h.is_empty() || h.len() > 128 || h.chars().any(char::is_whitespace)) {
        d.push(
            Diagnostic::error("Invalid handler", format!("{h:?}: 1 to 128 characters without spaces, e.g. index.handler."))
                .at(f.handler.path.clone()),
        );
    }
    checks::check_range(d, &f.memory_size, 128, 10_240, "MB");
    checks::check_range(d, &f.timeout, 1, 900, "seconds");
    if let Some(Err(e)) = f.role_arn.str().map(crate::validate::role_arn) {
        d.push(Diagnostic::error("Invalid role ARN", e).at(f.role_arn.path.clone()));
    }
    validate_environment(d, &f.environment);
    super::role_extras::validate(d, f);
    checks::check_ids(d, "sg", &f.security_group_ids);
    if let Some(var) = f.queue_url_env_var.str() {
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || var.starts_with("AWS_") {
            d.push(
                Diagnostic::error("Invalid queue_url_env_var", format!("{var:?}: letters, digits and _, not starting with AWS_."))
                    .at(f.queue_url_env_var.path.clone()),
            );
        }
    }
}

fn validate_code(d: &mut Diagnostics, f: &FunctionBlock) {
    let code = [&f.source_dir, &f.filename];
    let given = code.iter().filter(|a| !a.is_null()).count();
    if code.iter().all(|a| !a.is_unknown()) && given != 1 {
        let at = if given == 0 { &f.source_dir.path } else { &f.filename.path };
        d.push(
            Diagnostic::error("Function code", "Give exactly one of source_dir (a directory the provider zips) or filename (a zip file).")
                .at(at.clone()),
        );
    }
    if !f.source_code_hash.is_null() && f.filename.is_null() {
        d.push(
            Diagnostic::error(
                "source_code_hash without filename",
                "source_code_hash goes with filename; with source_dir the provider hashes the directory itself.",
            )
            .at(f.source_code_hash.path.clone()),
        );
    }
}

/// Lambda's limit on a function's environment: "Total size of environment
/// variables: 4 KB", the bytes of every key and value together.
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const ENVIRONMENT_BYTES: usize = 4096;

/// The function's environment against Lambda's 4 KB: the known keys and
/// values of `env` (UTF-8 bytes), plus `added`, a variable the composite
/// sets itself (name, and the most bytes its value can take), which Lambda
/// counts too. An error at the environment.
pub fn check_environment_size(d: &mut Diagnostics, env: &Attr<Map<String>>, added: Option<(&str, usize)>) {
    let mine = env.entries();
    let own: usize = mine.iter().filter(|(k, _)| added.is_none_or(|(a, _)| a != k.as_str())).map(|(k, v)| k.len() + v.len()).sum();
    let extra = added.map(|(k, v)| k.len() + v).unwrap_or(0);
    if own + extra > ENVIRONMENT_BYTES {
        let with = match added {
            Some((k, v)) => format!(", and {extra} for {k}, which the pipeline sets to the queue's URL (up to {v} bytes)"),
            None => String::new(),
        };
        d.push(
            Diagnostic::error(
                "Environment too large",
                format!(
                    "The environment's keys and values take {own} bytes{with}: {} in all. Lambda allows {ENVIRONMENT_BYTES} bytes (4 KB) for all of a function's environment variables together; keep them under it, or move large values to SSM Parameter Store or Secrets Manager.",
                    own + extra
                ),
            )
            .at(env.path.clone()),
        );
    }
}

fn validate_environment(d: &mut Diagnostics, env: &Attr<Map<String>>) {
    for (k, _) in env.entries() {
        let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            d.push(
                Diagnostic::error("Invalid environment variable name", format!("{k:?}: letters, digits and _, starting with a letter."))
                    .at(env.path.key(&k)),
            );
        } else if k.starts_with("AWS_") || k == "_HANDLER" {
            d.push(
                Diagnostic::error("Reserved environment variable", format!("{k} is set by Lambda itself and cannot be overridden."))
                    .at(env.path.key(&k)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Path;
    use crate::model::{Model, Val};

    fn block() -> FunctionBlock {
        let mut f = FunctionBlock::decode_at(&crate::value::Value::Null, &Path::attr("producer"));
        f.source_dir.set_known("dir".to_string());
        f.handler.set_known("index.handler".to_string());
        f.runtime.set_known("python3.12".to_string());
        f
    }

    fn errors_at(f: &FunctionBlock) -> Vec<String> {
        let mut d = Diagnostics::default();
        validate(&mut d, f);
        d.0.iter().map(|d| d.path.as_ref().map(ToString::to_string).unwrap_or_default()).collect()
    }

    #[test]
    fn memory_and_timeout_ranges() {
        for (memory, ok) in [(127.0, false), (128.0, true), (10_240.0, true), (10_241.0, false), (512.5, false)] {
            let mut f = block();
            f.memory_size.set_known(memory);
            assert_eq!(errors_at(&f).is_empty(), ok, "memory {memory}");
        }
        for (timeout, ok) in [(0.0, false), (1.0, true), (900.0, true), (901.0, false)] {
            let mut f = block();
            f.timeout.set_known(timeout);
            let at = errors_at(&f);
            assert_eq!(at.is_empty(), ok, "timeout {timeout}");
            assert!(ok || at == ["producer.timeout"], "{at:?}");
        }
    }

    fn env(pairs: &[(&str, String)]) -> Attr<Map<String>> {
        let m = pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        Attr { val: Val::Known(Map::of(&m)), path: Path::attr("producer").then("environment") }
    }

    #[test]
    fn environment_is_4_kb_of_keys_and_values() {
        let size = |e: &Attr<Map<String>>, added| {
            let mut d = Diagnostics::default();
            check_environment_size(&mut d, e, added);
            d
        };
        // "BIG" and 4093 bytes: exactly 4096.
        assert!(size(&env(&[("BIG", "x".repeat(4093))]), None).0.is_empty());
        let d = size(&env(&[("BIG", "x".repeat(4094))]), None);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "producer.environment");
        assert!(d.0[0].detail.contains("4097 in all"), "{}", d.0[0].detail);
        // Bytes, not characters: 2048 "é" are 4096 bytes.
        assert_eq!(size(&env(&[("E", "é".repeat(2048))]), None).0.len(), 1);
        // What the composite adds counts, in place of a same-named variable.
        assert_eq!(size(&env(&[("BIG", "x".repeat(4000))]), Some(("QUEUE_URL", 100))).0.len(), 1);
        assert!(size(&env(&[("QUEUE_URL", "x".repeat(4000))]), Some(("QUEUE_URL", 100))).0.is_empty());
        assert!(size(&env(&[]), Some(("QUEUE_URL", 100))).0.is_empty());
    }

    #[test]
    fn derived_names_are_the_function_and_its_role() {
        let names = FunctionRole::Consumer.derived_names("orders");
        assert_eq!(names[0].1, "orders-consumer");
        assert_eq!(names[1].1, "orders-consumer");
        assert_eq!((names[0].2, names[1].2), (64, 64));
    }
}
