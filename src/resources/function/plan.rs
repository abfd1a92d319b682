//! The function block's plan: defaults, and the code's hash known at plan.

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Val};

use crate::parts::log_group;

use super::{CodeSource, FunctionBlock, FunctionRole, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY, DEFAULT_QUEUE_URL_VAR, DEFAULT_TIMEOUT};

/// A planned function block `f`: its defaults, and its code's hash from
/// the files now, so a change of the code is an update known at plan.
/// What cannot be read is an error at the attribute naming the code.
pub fn plan(f: &mut FunctionBlock, cfg: &FunctionBlock, role: FunctionRole, diags: &mut Diagnostics) {
    f.memory_size.set(default_to(&cfg.memory_size, DEFAULT_MEMORY as f64));
    f.timeout.set(default_to(&cfg.timeout, DEFAULT_TIMEOUT as f64));
    match role {
        FunctionRole::Producer => f.queue_url_env_var.set(default_to(&cfg.queue_url_env_var, DEFAULT_QUEUE_URL_VAR.to_string())),
        FunctionRole::Consumer => f.in_vpc.set(default_to(&cfg.in_vpc, false)),
    }
    let hash = if cfg.source_dir.is_unknown() || cfg.filename.is_unknown() {
        Val::Unknown
    } else {
        match CodeSource::of(cfg).map(|c| c.load()) {
            Some(Ok(code)) => Val::Known(code.sha256),
            Some(Err(e)) => {
                let at = if cfg.source_dir.is_null() { &cfg.filename.path } else { &cfg.source_dir.path };
                diags.push(Diagnostic::error("Cannot read the function's code", e).at(at.clone()));
                Val::Unknown
            }
            None => Val::Unknown,
        }
    };
    f.code_sha256.set(hash);
}

/// The planned log group of the function in `role` of a composite named
/// `prefix` (unknown while the name is): its name, known at plan, and the
/// retention, the default when the configuration leaves it unset. Planning
/// the default (not the observed value Terraform proposes) is what makes a
/// retention changed by hand a diff that apply repairs; and a group deleted
/// by hand, which a refresh shows with no name, plans its name back.
pub fn plan_log_group(f: &mut FunctionBlock, cfg: &FunctionBlock, role: FunctionRole, prefix: &Val<String>) {
    f.log_retention_in_days.set(default_to(&cfg.log_retention_in_days, DEFAULT_LOG_RETENTION_DAYS as f64));
    f.log_group_name.set(match prefix {
        Val::Known(p) => Val::Known(log_group::lambda_group_name(&role.function_name(p))),
        _ => Val::Unknown,
    });
}

/// The configuration's value, or `default` when it leaves it unset.
fn default_to<T: Clone>(cfg: &Attr<T>, default: T) -> Val<T> {
    match &cfg.val {
        Val::Null => Val::Known(default),
        v => v.clone(),
    }
}
