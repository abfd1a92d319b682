//! The function block as a refresh and an import see it.

use crate::model::{List, Map, Set, Val};
use crate::parts::function::Function;
use crate::parts::log_group::{self, LogGroup};
use crate::parts::queue::Queue;

use super::{CodeSource, FunctionBlock, FunctionUse, DEFAULT_QUEUE_URL_VAR, SOURCE_TAG};

/// A function block with the function's settings as Lambda has them; the
/// queue URL a composite sets in the environment (`queue_var`) is not the
/// user's.
pub fn observed(b: &mut FunctionBlock, f: &Function, queue_var: Option<&str>) {
    let image = f.package_type == "Image";
    // An image's function has neither: they stay as configured (null).
    if !image {
        b.handler.set_known(f.handler.clone());
        b.runtime.set_known(f.runtime.clone());
    }
    if image && !b.image_uri.is_null() {
        b.image_uri.set(Val::from_option(f.image_uri.clone()));
    }
    observed_settings(b, f);
    b.memory_size.set_known(f.memory_size as f64);
    b.timeout.set_known(f.timeout as f64);
    let mut env = f.environment.clone();
    if let Some(var) = queue_var {
        env.remove(var);
    }
    let keep_null = env.is_empty() && b.environment.is_null();
    b.environment.set(if keep_null { Val::Null } else { Val::Known(Map::of(&env)) });
}

/// The settings beyond the code; the optional ones Lambda reports at their
/// default (no description, no layers, no reservation, no key) stay null
/// when the configuration leaves them unset, so no diff shows.
fn observed_settings(b: &mut FunctionBlock, f: &Function) {
    let s = &f.settings;
    b.architectures.set_known(List::of(std::slice::from_ref(&s.architecture)));
    b.ephemeral_storage_size.set_known(s.ephemeral_storage as f64);
    b.tracing_mode.set_known(s.tracing_mode.clone());
    b.description.set(if s.description.is_empty() && b.description.is_null() { Val::Null } else { Val::Known(s.description.clone()) });
    b.layers.set(if s.layers.is_empty() && b.layers.is_null() { Val::Null } else { Val::Known(List::of(&s.layers)) });
    b.kms_key_arn.set(Val::from_option(s.kms_key_arn.clone()));
    b.reserved_concurrent_executions.set(Val::from_option(s.reserved_concurrency.map(f64::from)));
}

/// A function block with its log group as CloudWatch Logs has it: the
/// retention (0 for never expire) and key, so a change by hand shows as a
/// diff; no name when the group is gone, so the plan makes it again.
pub fn observed_log_group(b: &mut FunctionBlock, g: Option<&LogGroup>) {
    match g {
        Some(g) => {
            b.log_group_name.set_known(g.name.clone());
            b.log_retention_in_days.set_known(g.retention_in_days.map_or(0.0, f64::from));
            b.log_kms_key_arn.set(Val::from_option(g.kms_key_id.clone()));
        }
        None => b.log_group_name.set(Val::Null),
    }
}

/// What an import of a function in the composite's subnets knows besides
/// the function: the queue it sends to (a producer's) and the group the
/// composite made for it.
#[derive(Clone, Copy, Default)]
pub struct ProducerFound<'a> {
    pub queue: Option<&'a Queue>,
    pub group: Option<&'a str>,
}

/// A function block as an import sees it: where the code came from (the
/// source tag), the role when it is not the composite's own, and for a
/// producer the queue URL variable and the groups the user added.
pub fn imported(f: &Function, usage: impl Into<FunctionUse>, producer: ProducerFound<'_>) -> FunctionBlock {
    let mut b = FunctionBlock::default();
    match f.tags.get(SOURCE_TAG).and_then(|t| CodeSource::from_tag(t)) {
        Some(CodeSource::Dir(d)) => b.source_dir.set_known(d.display().to_string()),
        Some(CodeSource::File(p)) => b.filename.set_known(p.display().to_string()),
        Some(CodeSource::S3 { bucket, key, version }) => {
            b.s3_bucket.set_known(bucket);
            b.s3_key.set_known(key);
            b.s3_object_version.set(Val::from_option(version));
        }
        // The image Lambda runs, rather than the tag's.
        Some(CodeSource::Image(_)) | None => {}
    }
    if f.package_type == "Image" {
        b.image_uri.set(Val::from_option(f.image_uri.clone()));
    }
    // A zip from a file or S3 carries the user's hash of it, which when
    // right is Lambda's own: so an import of a configuration that writes
    // it plans no change, and one that differs plans new code.
    if !b.filename.is_null() || !b.s3_key.is_null() {
        b.source_code_hash.set_known(f.code_sha256.clone());
    }
    observed_settings(&mut b, f);
    if f.package_type != "Image" {
        b.handler.set_known(f.handler.clone());
        b.runtime.set_known(f.runtime.clone());
    }
    // The refresh after the import reads the group's settings, or finds none.
    b.log_group_name.set_known(log_group::lambda_group_name(&f.name));
    let own_role = f.role_arn.ends_with(&format!(":role/{}", f.name));
    b.role_arn.set(if own_role { Val::Null } else { Val::Known(f.role_arn.clone()) });
    // Unknown: the read that completes the import looks at the role
    // (`role_extras::observe`).
    if own_role {
        b.policy_statements.set(Val::Unknown);
        b.policy_arns.set(Val::Unknown);
    }
    let extra_groups = |b: &mut FunctionBlock| {
        let extra: Vec<String> = f.security_group_ids.iter().filter(|g| Some(g.as_str()) != producer.group).cloned().collect();
        b.security_group_ids.set(if extra.is_empty() { Val::Null } else { Val::Known(Set::of(&extra)) });
    };
    match usage.into() {
        FunctionUse::Producer => {
            let var = producer.queue.and_then(|q| f.environment.iter().find(|(_, v)| **v == q.url).map(|(k, _)| k.clone()));
            b.queue_url_env_var.set_known(var.unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()));
            extra_groups(&mut b);
        }
        FunctionUse::Private => extra_groups(&mut b),
        FunctionUse::Consumer => b.in_vpc.set_known(!f.subnet_ids.is_empty()),
    }
    b
}
