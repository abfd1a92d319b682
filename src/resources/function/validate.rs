//! The function block's checks of the configuration alone (no AWS call).

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Map};
use crate::parts::log_group;
use crate::resources::checks;

#[cfg(test)]
use super::FunctionRole;
use super::{FunctionBlock, ARCHITECTURES, DESCRIPTION_CHARS, EPHEMERAL_STORAGE_MB, MAX_LAYERS, RUNTIMES, TRACING_MODES};

/// Every mistake in one function block, each at its attribute.
pub fn validate(d: &mut Diagnostics, f: &FunctionBlock) {
    validate_code(d, f);
    validate_image(d, f);
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
    validate_settings(d, f);
    if let Some(Err(e)) = f.role_arn.str().map(crate::validate::role_arn) {
        d.push(Diagnostic::error("Invalid role ARN", e).at(f.role_arn.path.clone()));
    }
    validate_environment(d, &f.environment);
    validate_logs(d, f);
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

/// The log group's retention (CloudWatch Logs' values, or 0 for never)
/// and key (a KMS key ARN).
fn validate_logs(d: &mut Diagnostics, f: &FunctionBlock) {
    if let Some(n) = f.log_retention_in_days.number() {
        if n.fract() != 0.0 || !log_group::retention_allowed(n as i64) {
            d.push(
                Diagnostic::error(
                    "Invalid log_retention_in_days",
                    format!(
                        "{n} is not a retention CloudWatch Logs accepts: use one of {} days, or 0 to keep the events forever.",
                        log_group::days_list()
                    ),
                )
                .at(f.log_retention_in_days.path.clone()),
            );
        }
    }
    if let Some(Err(e)) = f.log_kms_key_arn.str().map(crate::validate::kms_key_arn) {
        d.push(Diagnostic::error("Invalid log_kms_key_arn", e).at(f.log_kms_key_arn.path.clone()));
    }
}

const SOURCES: &str =
    "Give exactly one of source_dir (a directory the provider zips), filename (a zip file), s3_bucket with s3_key (a zip in S3) or image_uri (a container image in ECR).";

/// Exactly one source of code; the attributes that go with one only with it.
fn validate_code(d: &mut Diagnostics, f: &FunctionBlock) {
    // s3_bucket and s3_key are one source; either one names it.
    let sources = [&f.source_dir, &f.filename, if f.s3_bucket.is_null() { &f.s3_key } else { &f.s3_bucket }, &f.image_uri];
    let given: Vec<_> = sources.iter().filter(|a| !a.is_null()).collect();
    if sources.iter().all(|a| !a.is_unknown()) && given.len() != 1 {
        let at = given.get(1).map(|a| &a.path).unwrap_or(&f.source_dir.path);
        d.push(Diagnostic::error("Function code", SOURCES).at(at.clone()));
    }
    for (a, other) in [(&f.s3_bucket, &f.s3_key), (&f.s3_key, &f.s3_bucket)] {
        if a.is_null() && !other.is_null() {
            d.push(Diagnostic::error("S3 code", "s3_bucket and s3_key go together: the bucket and the key of the zip.").at(a.path.clone()));
        }
    }
    if !f.s3_object_version.is_null() && f.s3_key.is_null() {
        d.push(
            Diagnostic::error("s3_object_version without s3_key", "s3_object_version is the version of the zip at s3_bucket/s3_key.")
                .at(f.s3_object_version.path.clone()),
        );
    }
    if !f.source_code_hash.is_null() && f.filename.is_null() && f.s3_key.is_null() {
        d.push(
            Diagnostic::error(
                "source_code_hash without filename or s3_key",
                "source_code_hash goes with filename or s3_key; with source_dir the provider hashes the directory itself, and an image is told by its URI.",
            )
            .at(f.source_code_hash.path.clone()),
        );
    }
}

/// An image brings its own handler and runtime and takes no layers; a zip
/// needs a handler and a runtime.
fn validate_image(d: &mut Diagnostics, f: &FunctionBlock) {
    if f.image_uri.is_unknown() {
        return;
    }
    if let Some(uri) = f.image_uri.str() {
        if !uri.contains(".dkr.ecr.") || !(uri.contains(':') || uri.contains('@')) {
            d.push(
                Diagnostic::error(
                    "Invalid image_uri",
                    format!("{uri:?}: Lambda runs images from Amazon ECR, named with a tag or a digest, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1.4."),
                )
                .at(f.image_uri.path.clone()),
            );
        }
        for (name, path, given) in [
            ("handler", &f.handler.path, !f.handler.is_null()),
            ("runtime", &f.runtime.path, !f.runtime.is_null()),
            ("layers", &f.layers.path, !f.layers.is_null()),
        ] {
            if given {
                d.push(
                    Diagnostic::error(
                        format!("{name} with image_uri"),
                        format!("A container image's function takes its entry point and runtime from the image (its CMD and base image), and Lambda refuses layers for it: remove {name}, or give a zip instead of image_uri."),
                    )
                    .at(path.clone()),
                );
            }
        }
    } else {
        for a in [&f.handler, &f.runtime] {
            if a.is_null() {
                d.push(
                    Diagnostic::error(
                        "Missing setting",
                        "A function from a zip needs handler and runtime, e.g. handler = \"index.handler\", runtime = \"python3.12\".",
                    )
                    .at(a.path.clone()),
                );
            }
        }
    }
}

/// The settings beyond code, memory and timeout, each at its attribute.
fn validate_settings(d: &mut Diagnostics, f: &FunctionBlock) {
    if let Some(list) = f.architectures.get() {
        let known: Vec<&String> = list.known().collect();
        if list.len() != 1 || known.iter().any(|a| !ARCHITECTURES.contains(&a.as_str())) {
            d.push(
                Diagnostic::error(
                    "Invalid architectures",
                    format!("Give one architecture: [\"x86_64\"] (the default) or [\"arm64\"]; got {known:?}."),
                )
                .at(f.architectures.path.clone()),
            );
        }
    }
    if let Some(list) = f.layers.get() {
        if list.len() > MAX_LAYERS {
            d.push(
                Diagnostic::error(
                    "Too many layers",
                    format!("{} layers; Lambda allows at most {MAX_LAYERS} per function. Merge some, or put their content in the function's package.", list.len()),
                )
                .at(f.layers.path.clone()),
            );
        }
        for (i, arn) in list.indexed() {
            if let Err(e) = crate::validate::layer_version_arn(arn) {
                d.push(Diagnostic::error("Invalid layer", e).at(f.layers.path.index(i)));
            }
        }
    }
    checks::check_range(d, &f.ephemeral_storage_size, EPHEMERAL_STORAGE_MB.0, EPHEMERAL_STORAGE_MB.1, "MB");
    checks::check_range(d, &f.reserved_concurrent_executions, 0, i32::MAX as i64, "concurrent executions");
    if let Some(m) = f.tracing_mode.str().filter(|m| !TRACING_MODES.contains(m)) {
        d.push(
            Diagnostic::error(
                "Invalid tracing_mode",
                format!("{m:?}: use \"PassThrough\" (the default) or \"Active\" (X-Ray traces sampled requests)."),
            )
            .at(f.tracing_mode.path.clone()),
        );
    }
    if let Some(Err(e)) = f.kms_key_arn.str().map(crate::validate::kms_key_arn) {
        d.push(Diagnostic::error("Invalid kms_key_arn", e).at(f.kms_key_arn.path.clone()));
    }
    if let Some(text) = f.description.str().filter(|t| t.chars().count() > DESCRIPTION_CHARS) {
        d.push(
            Diagnostic::error("Description too long", format!("{} characters; Lambda allows {DESCRIPTION_CHARS}.", text.chars().count()))
                .at(f.description.path.clone()),
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
    fn log_retention_and_key() {
        for (days, ok) in
            [(0.0, true), (1.0, true), (30.0, true), (3653.0, true), (2.0, false), (30.5, false), (-1.0, false), (4000.0, false)]
        {
            let mut f = block();
            f.log_retention_in_days.set_known(days);
            let at = errors_at(&f);
            assert_eq!(at.is_empty(), ok, "retention {days}");
            assert!(ok || at == ["producer.log_retention_in_days"], "{at:?}");
        }
        let mut f = block();
        f.log_kms_key_arn.set_known("alias/aws/logs".to_string());
        assert_eq!(errors_at(&f), ["producer.log_kms_key_arn"]);
        f.log_kms_key_arn.set_known("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_string());
        assert!(errors_at(&f).is_empty());
    }

    #[test]
    fn derived_names_are_the_function_and_its_role() {
        let names = FunctionRole::Consumer.derived_names("orders");
        assert_eq!(names[0].1, "orders-consumer");
        assert_eq!(names[1].1, "orders-consumer");
        assert_eq!((names[0].2, names[1].2), (64, 64));
    }
}
