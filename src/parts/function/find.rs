//! Reading a function: GetFunction, mapped to `Function`.

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::FunctionConfiguration;

use super::{call_failed, sorted, Diagnostic, Function, FunctionSettings, PartResult, Tags, GET, NOT_FOUND, PART};
use crate::parts::has_code;

/// GetFunction (configuration and tags); `None` when there is no such function.
pub async fn find(lambda: &aws_sdk_lambda::Client, name: &str) -> PartResult<Option<Function>> {
    match lambda.get_function().function_name(name).send().await {
        Ok(out) => function_from_get(name, &out).map(Some),
        Err(e) if has_code(&e, &[NOT_FOUND]) => Ok(None),
        Err(e) => Err(call_failed(PART, GET, &e)),
    }
}

/// The function of a GetFunction answer. Tags Lambda could not read
/// (TagsError: no lambda:ListTags permission) are an error, not "no tags",
/// which would plan to add them all again.
pub(super) fn function_from_get(asked: &str, out: &GetFunctionOutput) -> PartResult<Function> {
    if let Some(e) = out.tags_error() {
        return Err(Diagnostic::error(
            format!("{PART}: {GET} failed"),
            format!("{GET} could not read the tags of {asked}: {}: {}", e.error_code(), e.message()),
        ));
    }
    let Some(config) = out.configuration() else {
        return Err(Diagnostic::error(format!("{PART}: {GET} failed"), format!("{GET} answered without a configuration for {asked}.")));
    };
    let tags = out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default();
    let mut f = function_from_config(asked, config, tags)?;
    // Only GetFunction has these: the image (its Code) and the reservation.
    f.image_uri = out.code().and_then(|c| c.image_uri()).map(str::to_string);
    f.settings.reserved_concurrency = out.concurrency().and_then(|c| c.reserved_concurrent_executions());
    Ok(f)
}

pub(super) fn function_from_config(asked: &str, c: &FunctionConfiguration, tags: Tags) -> PartResult<Function> {
    let Some(arn) = c.function_arn() else {
        return Err(Diagnostic::error(format!("{PART}: {GET} failed"), format!("{GET} answered without a FunctionArn for {asked}.")));
    };
    let vpc = c.vpc_config();
    Ok(Function {
        name: c.function_name().unwrap_or(asked).to_string(),
        arn: arn.to_string(),
        // Functions from before Lambda had states (2019) report none: they
        // are ready.
        state: c.state().map(|s| s.as_str().to_string()).unwrap_or_else(|| "Active".into()),
        state_reason: c.state_reason().map(str::to_string),
        state_reason_code: c.state_reason_code().map(|s| s.as_str().to_string()),
        last_update_status: c.last_update_status().map(|s| s.as_str().to_string()),
        last_update_status_reason: c.last_update_status_reason().map(str::to_string),
        last_update_status_reason_code: c.last_update_status_reason_code().map(|s| s.as_str().to_string()),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        handler: c.handler().unwrap_or_default().to_string(),
        runtime: c.runtime().map(|r| r.as_str().to_string()).unwrap_or_default(),
        // Lambda's defaults, should an answer leave them out.
        memory_size: c.memory_size().unwrap_or(128),
        timeout: c.timeout().unwrap_or(3),
        environment: c
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        role_arn: c.role().unwrap_or_default().to_string(),
        subnet_ids: sorted(vpc.map(|v| v.subnet_ids()).unwrap_or_default()),
        security_group_ids: sorted(vpc.map(|v| v.security_group_ids()).unwrap_or_default()),
        tags,
        settings: settings_from_config(c),
        package_type: c.package_type().map(|p| p.as_str().to_string()).unwrap_or_else(|| "Zip".into()),
        image_uri: None,
    })
}

/// The settings of a configuration, Lambda's defaults where an answer
/// leaves one out (functions from before a setting existed report none).
fn settings_from_config(c: &FunctionConfiguration) -> FunctionSettings {
    let default = FunctionSettings::default();
    FunctionSettings {
        description: c.description().unwrap_or_default().to_string(),
        architecture: c.architectures().first().map(|a| a.as_str().to_string()).unwrap_or(default.architecture),
        layers: c.layers().iter().filter_map(|l| l.arn()).map(str::to_string).collect(),
        ephemeral_storage: c.ephemeral_storage().map(|e| e.size()).unwrap_or(default.ephemeral_storage),
        tracing_mode: c.tracing_config().and_then(|t| t.mode()).map(|m| m.as_str().to_string()).unwrap_or(default.tracing_mode),
        // moto answers null where AWS leaves it out; an empty one is no key too.
        kms_key_arn: c.kms_key_arn().filter(|k| !k.is_empty()).map(str::to_string),
        reserved_concurrency: None,
    }
}
