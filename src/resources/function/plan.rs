//! The function block's plan: defaults, the code's hash known at plan, and
//! the checks that need the provider's region or the account's settings.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, List, Val};

use super::{CodeSource, FunctionBlock, FunctionUse, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY, DEFAULT_QUEUE_URL_VAR, DEFAULT_TIMEOUT};
use crate::parts::function::{self as lambda_function, FunctionSettings};
use crate::parts::log_group;

/// A planned function block `f`: its defaults, and its code's hash. A
/// directory or a file is hashed now, so a change of the code is an update
/// known at plan; an S3 object or an image is not read: the hash is the
/// user's `source_code_hash`, or the prior one while the source stays, or
/// known after apply. What cannot be read is an error at the attribute
/// naming the code.
pub fn plan(
    f: &mut FunctionBlock,
    cfg: &FunctionBlock,
    prior: Option<&FunctionBlock>,
    usage: impl Into<FunctionUse>,
    diags: &mut Diagnostics,
) {
    let lambda = FunctionSettings::default();
    f.memory_size.set(default_to(&cfg.memory_size, DEFAULT_MEMORY as f64));
    f.timeout.set(default_to(&cfg.timeout, DEFAULT_TIMEOUT as f64));
    f.architectures.set(default_to(&cfg.architectures, List::of(&[lambda.architecture])));
    f.ephemeral_storage_size.set(default_to(&cfg.ephemeral_storage_size, lambda.ephemeral_storage as f64));
    f.tracing_mode.set(default_to(&cfg.tracing_mode, lambda.tracing_mode));
    match usage.into() {
        FunctionUse::Producer => f.queue_url_env_var.set(default_to(&cfg.queue_url_env_var, DEFAULT_QUEUE_URL_VAR.to_string())),
        FunctionUse::Consumer => f.in_vpc.set(default_to(&cfg.in_vpc, false)),
        FunctionUse::Private => {}
    }
    f.code_sha256.set(planned_hash(cfg, prior, diags));
}

fn planned_hash(cfg: &FunctionBlock, prior: Option<&FunctionBlock>, diags: &mut Diagnostics) -> Val<String> {
    let sources = [&cfg.source_dir, &cfg.filename, &cfg.s3_bucket, &cfg.s3_key, &cfg.s3_object_version, &cfg.image_uri];
    if sources.iter().any(|a| a.is_unknown()) || cfg.source_code_hash.is_unknown() {
        return Val::Unknown;
    }
    let Some(source) = CodeSource::of(cfg) else { return Val::Unknown };
    match source.load() {
        Some(Ok(code)) => Val::Known(code.sha256),
        Some(Err(e)) => {
            let at = if cfg.source_dir.is_null() { &cfg.filename.path } else { &cfg.source_dir.path };
            diags.push(Diagnostic::error("Cannot read the function's code", e).at(at.clone()));
            Val::Unknown
        }
        None => match (cfg.source_code_hash.owned(), prior) {
            (Some(hash), _) => Val::Known(hash),
            (None, Some(p)) if CodeSource::of(p) == Some(source) => p.code_sha256.val.clone(),
            _ => Val::Unknown,
        },
    }
}

/// The planned log group of the function in `role` of a composite named
/// `prefix` (unknown while the name is): its name, known at plan, and the
/// retention, the default when the configuration leaves it unset. Planning
/// the default (not the observed value Terraform proposes) is what makes a
/// retention changed by hand a diff that apply repairs; and a group deleted
/// by hand, which a refresh shows with no name, plans its name back.
pub fn plan_log_group(f: &mut FunctionBlock, cfg: &FunctionBlock, usage: impl Into<FunctionUse>, prefix: &Val<String>) {
    let usage = usage.into();
    f.log_retention_in_days.set(default_to(&cfg.log_retention_in_days, DEFAULT_LOG_RETENTION_DAYS as f64));
    f.log_group_name.set(match prefix {
        Val::Known(p) => Val::Known(log_group::lambda_group_name(&usage.function_name(p))),
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

/// Each layer in the provider's `region`: Lambda refuses a layer of
/// another region. From the ARNs alone, no call.
pub fn check_layer_regions(d: &mut Diagnostics, f: &FunctionBlock, region: &str) {
    for (i, arn) in f.layers.get().iter().flat_map(|l| l.0.indexed()) {
        let Some(layer_region) = arn.split(':').nth(3) else { continue };
        if layer_region != region {
            d.push(
                Diagnostic::error(
                    "Layer in another region",
                    format!(
                        "{arn} is in {layer_region}; a function in {region} can only use layers of {region}: publish the layer there too."
                    ),
                )
                .at(f.layers.path.index(i)),
            );
        }
    }
}

/// What AWS keeps out of reach of reservations: "Lambda reserves 100
/// units of concurrency for functions that don't reserve it".
/// <https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html>
pub const UNRESERVED_MINIMUM: i64 = 100;

/// A new reserved concurrency against the account (GetAccountSettings,
/// only when the reservation changes): what is unreserved now, plus what
/// this function holds already, less what it asks for, must leave AWS's
/// 100. An error at the attribute; a warning when the account's settings
/// cannot be read (the apply would still fail clearly).
pub async fn check_reserved_concurrency(ctx: &Ctx, f: &FunctionBlock, prior: Option<&FunctionBlock>) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let Some(wanted) = f.reserved_concurrent_executions.int() else { return Ok(d) };
    if prior.is_some_and(|p| p.reserved_concurrent_executions.int() == Some(wanted)) {
        return Ok(d);
    }
    let at = f.reserved_concurrent_executions.path.clone();
    match lambda_function::account_concurrency(&ctx.aws.lambda).await {
        Ok((limit, unreserved)) => {
            if let Some(problem) = reservation_problem(limit, unreserved, held_now(prior), wanted) {
                d.push(Diagnostic::error("Reserved concurrency too high", problem).at(at));
            }
        }
        Err(e) => d.push(
            Diagnostic::warning(
                "Reserved concurrency not checked",
                format!("The account's concurrency could not be read, so {wanted} was not checked against it: {}", e.detail),
            )
            .at(at),
        ),
    }
    Ok(d)
}

/// What the function reserves now, as the prior state (refreshed) says.
fn held_now(prior: Option<&FunctionBlock>) -> i64 {
    prior.and_then(|p| p.reserved_concurrent_executions.int()).unwrap_or(0)
}

/// The reservation's problem, if any (pure): `unreserved` is the account's
/// unreserved concurrency now, `held` what this function reserves now.
pub fn reservation_problem(limit: i64, unreserved: i64, held: i64, wanted: i64) -> Option<String> {
    let most = unreserved + held - UNRESERVED_MINIMUM;
    // Reserving none takes nothing from the others.
    (wanted > 0 && wanted > most).then(|| {
        format!(
            "{wanted} would leave the account (concurrency limit {limit}, {unreserved} unreserved now) less than the {UNRESERVED_MINIMUM} AWS keeps unreserved for other functions; reserve at most {}, or ask AWS for a higher concurrency quota.",
            most.max(0)
        )
    })
}

/// The service `Active` tracing sends to. Lambda runs the X-Ray daemon in
/// the function's own environment for each sampled request, and the
/// daemon relays the segments to the X-Ray API
/// (<https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html>,
/// <https://docs.aws.amazon.com/xray/latest/devguide/xray-daemon.html>):
/// from a private subnet with no NAT that takes an Interface endpoint for
/// X-Ray (<https://docs.aws.amazon.com/xray/latest/devguide/xray-security-vpc-endpoint.html>).
pub const TRACING_SERVICE: &str = "xray";

/// A function in `vpc_id` with `Active` tracing (new, or newly Active)
/// needs an X-Ray endpoint in the VPC, or its traces are lost: a warning
/// at `tracing_mode` when the VPC has none (one DescribeVpcEndpoints).
pub async fn check_tracing_path(
    ctx: &Ctx,
    f: &FunctionBlock,
    prior: Option<&FunctionBlock>,
    vpc_id: &str,
) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let active = |b: &FunctionBlock| b.tracing_mode.str() == Some("Active");
    if !active(f) || prior.is_some_and(active) {
        return Ok(d);
    }
    let service = crate::resources::endpoint::full_service_name(TRACING_SERVICE, &ctx.aws.region);
    let found = crate::parts::vpc_endpoint::find_for_service(&ctx.aws.ec2, vpc_id, &service).await?;
    if !found.iter().any(|e| e.kind == crate::parts::vpc_endpoint::Kind::Interface) {
        d.push(
            Diagnostic::warning(
                "Traces will not reach X-Ray",
                format!(
                    "With tracing_mode = \"Active\" Lambda sends the function's traces to X-Ray from inside {vpc_id}, which has no Interface endpoint for {service}; with no NAT they are dropped. Add one, e.g. endpoint {{ service = \"xray\" }} in a privatelink_service_endpoint_bundle admitting the function's security group; the privatelink_reachability data source checks the path."
                ),
            )
            .at(f.tracing_mode.path.clone()),
        );
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reservation_leaves_100_unreserved() {
        // A fresh account: 1000, all unreserved.
        assert_eq!(reservation_problem(1000, 1000, 0, 900), None);
        assert!(reservation_problem(1000, 1000, 0, 901).unwrap().contains("reserve at most 900"));
        // What the function holds already comes back to it.
        assert_eq!(reservation_problem(1000, 100, 50, 50), None);
        assert!(reservation_problem(1000, 100, 50, 51).is_some());
        // A new account with a limit of 10 cannot reserve anything, but
        // may stop a function with 0.
        assert!(reservation_problem(10, 10, 0, 1).unwrap().contains("reserve at most 0"));
        assert_eq!(reservation_problem(10, 10, 0, 0), None);
    }
}
