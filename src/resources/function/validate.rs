//! The function block's checks of the configuration alone (no AWS call).

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Map};
use crate::resources::checks;

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
