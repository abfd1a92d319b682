//! Lambda functions (zip packages, unpublished `$LATEST` only): create,
//! find, update code / configuration / tags, delete, and the waits between.
//!
//! Lambda answers a create or an update at once and then works in the
//! background: `State` goes `Pending -> Active` after a create (minutes for
//! a function in a VPC, whose network interfaces are being made), and
//! `LastUpdateStatus` goes `InProgress -> Successful | Failed` after an
//! update. A second update sent meanwhile is refused with
//! ResourceConflictException; every call here retries that, and every
//! change waits for Lambda to finish before returning.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, FunctionConfiguration, PackageType, Runtime, VpcConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::code::Code;
use super::tags::{self, Tags, OWNER_TAG};
use super::wait::{self, Poll};
use super::{has_code, PartResult};
use crate::aws::call_failed;
use crate::diag::Diagnostic;

const PART: &str = "lambda function";

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSpec {
    pub name: String,
    /// The execution role Lambda assumes.
    pub role_arn: String,
    /// `index.handler`.
    pub handler: String,
    /// `python3.12`...
    pub runtime: String,
    /// MB, 128 to 10240.
    pub memory_size: i32,
    /// Seconds, 1 to 900.
    pub timeout: i32,
    pub environment: BTreeMap<String, String>,
    /// Both empty: not in a VPC. Both or neither: Lambda needs subnets and
    /// security groups together.
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// All tags (user tags + ownership).
    pub tags: Tags,
}

impl FunctionSpec {
    fn in_vpc(&self) -> bool {
        !self.subnet_ids.is_empty() || !self.security_group_ids.is_empty()
    }
}

/// A function (`$LATEST`) as observed. Lists are sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Function {
    pub name: String,
    pub arn: String,
    /// Pending | Active | Inactive | Failed (and the newer
    /// ActiveNonInvocable, Deactivating, Deactivated, Deleting).
    pub state: String,
    pub state_reason: Option<String>,
    pub state_reason_code: Option<String>,
    /// InProgress | Successful | Failed; absent before the first update.
    pub last_update_status: Option<String>,
    pub last_update_status_reason: Option<String>,
    pub last_update_status_reason_code: Option<String>,
    /// Base64 SHA-256 of the package, as `Code::sha256`.
    pub code_sha256: String,
    pub handler: String,
    pub runtime: String,
    pub memory_size: i32,
    pub timeout: i32,
    pub environment: BTreeMap<String, String>,
    pub role_arn: String,
    pub subnet_ids: Vec<String>,
    pub security_group_ids: Vec<String>,
    /// Every tag on the function, ownership tags included.
    pub tags: Tags,
}

/// Whether the configuration (not code, not tags) differs: handler,
/// runtime, memory, timeout, environment, role, subnets and groups (as sets).
pub fn config_changed(current: &Function, desired: &FunctionSpec) -> bool {
    current.handler != desired.handler
        || current.runtime != desired.runtime
        || current.memory_size != desired.memory_size
        || current.timeout != desired.timeout
        || current.environment != desired.environment
        || current.role_arn != desired.role_arn
        || sorted(&current.subnet_ids) != sorted(&desired.subnet_ids)
        || sorted(&current.security_group_ids) != sorted(&desired.security_group_ids)
}

/// CreateFunction (unpublished, with the spec's tags), then waits until it
/// is Active.
///
/// A role made seconds ago is not yet visible to Lambda (IAM is eventually
/// consistent): CreateFunction then fails with InvalidParameterValueException
/// ("cannot be assumed by Lambda", or for a VPC function "does not have
/// permissions to call CreateNetworkInterface"). Those are retried until
/// `timeout`, and the timeout says so.
///
/// A function of that name that already exists (ResourceConflictException:
/// typically this provider's own create whose answer was lost) is adopted
/// and brought to `spec` and `code` when it carries the same owner tag
/// (`privatelink:owner`) as `spec`; with another owner, or none where
/// `spec` has one, it is someone else's and the create fails naming it.
///
/// An error after CreateFunction was accepted (the function went to state
/// Failed, or the wait timed out) leaves the function in place: its name
/// is the caller's to record (`find` shows it) so that it is repaired or
/// deleted later, never leaked.
pub async fn create(lambda: &aws_sdk_lambda::Client, spec: &FunctionSpec, code: &Code, timeout: Duration) -> PartResult<Function> {
    check_vpc_lists(spec)?;
    let start = Instant::now();
    let what = format!("{PART} {} to be created with role {}", spec.name, spec.role_arn);
    let sent = send_retrying(&what, timeout, false, || create_request(lambda, spec, code).send()).await?;
    match sent {
        Ok(_) => wait_active(lambda, &spec.name, left(start, timeout)).await,
        Err(e) if has_code(&e, &[CONFLICT]) => adopt(lambda, spec, code, left(start, timeout)).await,
        Err(e) => Err(call_failed(PART, CREATE, &e)),
    }
}

/// The function named `spec.name` brought to `spec` and `code`: the `known`
/// one (what the state recorded and still exists), else the one of that
/// name (found by it: Lambda names are unique per region), updated; else a
/// new one (`create`, which adopts a function of that name made meanwhile).
pub async fn ensure(
    lambda: &aws_sdk_lambda::Client,
    spec: &FunctionSpec,
    code: &Code,
    known: Option<Function>,
    timeout: Duration,
) -> PartResult<Function> {
    let current = match known {
        Some(c) => Some(c),
        None => find(lambda, &spec.name).await?,
    };
    match current {
        Some(c) => update(lambda, &c, spec, code, timeout).await,
        None => create(lambda, spec, code, timeout).await,
    }
}

/// GetFunction (configuration and tags); `None` when there is no such function.
pub async fn find(lambda: &aws_sdk_lambda::Client, name: &str) -> PartResult<Option<Function>> {
    match lambda.get_function().function_name(name).send().await {
        Ok(out) => function_from_get(name, &out).map(Some),
        Err(e) if has_code(&e, &[NOT_FOUND]) => Ok(None),
        Err(e) => Err(call_failed(PART, GET, &e)),
    }
}

/// Polls until the function is Active (or Inactive: idle, Lambda wakes it
/// on the next invoke) with no update in progress. Fails at once on state
/// Failed with Lambda's reason, or when the function disappears.
pub async fn wait_active(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<Function> {
    let what = format!("{PART} {name} to be active");
    wait::until(&what, timeout, Duration::from_secs(1), || async move { settle(name, find(lambda, name).await?, false) }).await
}

/// UpdateFunctionCode with the package, then waits for the update to
/// finish (LastUpdateStatus Successful; Failed is an error with Lambda's reason).
pub async fn update_code(lambda: &aws_sdk_lambda::Client, name: &str, code: &Code, timeout: Duration) -> PartResult<Function> {
    let start = Instant::now();
    let what = format!("{PART} {name} to accept new code");
    let sent = send_retrying(&what, timeout, true, || {
        lambda.update_function_code().function_name(name).zip_file(Blob::new(code.zip.clone())).publish(false).send()
    })
    .await?;
    sent.map_err(|e| call_failed(PART, UPDATE_CODE, &e))?;
    wait_updated(lambda, name, left(start, timeout)).await
}

/// UpdateFunctionConfiguration with everything of `spec` but the name and
/// tags, then waits for the update to finish. The VPC lists are always
/// sent: empty lists take the function out of its VPC.
pub async fn update_config(lambda: &aws_sdk_lambda::Client, name: &str, spec: &FunctionSpec, timeout: Duration) -> PartResult<Function> {
    check_vpc_lists(spec)?;
    let start = Instant::now();
    let what = format!("{PART} {name} to accept a configuration change");
    // A changed role can be as new as a created one: IAM errors are retried too.
    let sent = send_retrying(&what, timeout, true, || {
        lambda
            .update_function_configuration()
            .function_name(name)
            .role(&spec.role_arn)
            .handler(&spec.handler)
            .runtime(Runtime::from(spec.runtime.as_str()))
            .memory_size(spec.memory_size)
            .timeout(spec.timeout)
            // Always sent: an empty map removes every variable.
            .environment(environment(&spec.environment))
            .vpc_config(vpc_config(spec))
            .send()
    })
    .await?;
    sent.map_err(|e| call_failed(PART, UPDATE_CONFIG, &e))?;
    wait_updated(lambda, name, left(start, timeout)).await
}

/// Brings the function's tags from `current` to `desired` with at most one
/// UntagResource and one TagResource call on `arn`. Tags under `aws:` are
/// AWS's own (CloudFormation's...) and cannot be removed: they are left.
pub async fn update_tags(lambda: &aws_sdk_lambda::Client, arn: &str, current: &Tags, desired: &Tags) -> PartResult<()> {
    let (remove, add) = tags::tag_changes(current, desired);
    let remove: Vec<String> = remove.into_iter().filter(|k| !k.starts_with("aws:")).collect();
    if !remove.is_empty() {
        lambda.untag_resource().resource(arn).set_tag_keys(Some(remove)).send().await.map_err(|e| call_failed(PART, UNTAG, &e))?;
    }
    if !add.is_empty() {
        lambda.tag_resource().resource(arn).set_tags(Some(hash_map(&add))).send().await.map_err(|e| call_failed(PART, TAG, &e))?;
    }
    Ok(())
}

/// Brings an existing function to `spec` and `code`: code, configuration
/// and tags, each only when it differs; returns it as it is afterwards.
pub async fn update(
    lambda: &aws_sdk_lambda::Client,
    current: &Function,
    spec: &FunctionSpec,
    code: &Code,
    timeout: Duration,
) -> PartResult<Function> {
    let start = Instant::now();
    if current.code_sha256 != code.sha256 {
        update_code(lambda, &current.name, code, left(start, timeout)).await?;
    }
    if config_changed(current, spec) {
        update_config(lambda, &current.name, spec, left(start, timeout)).await?;
    }
    update_tags(lambda, &current.arn, &current.tags, &spec.tags).await?;
    wait_active(lambda, &current.name, left(start, timeout)).await
}

/// DeleteFunction (an update in progress is waited out; already gone is
/// fine), then waits until GetFunction no longer finds it.
///
/// A function that was in a VPC leaves its network interfaces behind for a
/// while after this (AWS releases them in minutes, sometimes much longer:
/// terraform-provider-aws waits up to 45 minutes). Its security groups and
/// subnets cannot be deleted until then: the caller's security group
/// deletion must wait for them (retrying DependencyViolation), or the
/// caller can move the function onto other groups with `update_config`
/// before deleting it (the pipeline's destroy does: README, "Design").
pub async fn delete(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<()> {
    let start = Instant::now();
    let what = format!("{PART} {name} to accept being deleted");
    let sent = send_retrying(&what, timeout, true, || lambda.delete_function().function_name(name).send()).await?;
    match sent {
        Ok(_) => {}
        Err(e) if has_code(&e, &[NOT_FOUND]) => return Ok(()),
        Err(e) => return Err(call_failed(PART, DELETE, &e)),
    }
    let what = format!("{PART} {name} to be deleted");
    wait::until(&what, left(start, timeout), Duration::from_millis(500), || async move {
        Ok(match find(lambda, name).await? {
            None => Poll::Done(()),
            Some(f) => Poll::Pending(f.state),
        })
    })
    .await
}

/// Deletes `f`. A function in a VPC is first taken out of it (its
/// configuration as it is, with empty VPC lists) so Lambda starts
/// releasing its network interfaces, which otherwise hold its security
/// groups for a long time after the delete; then `delete`.
pub async fn remove(lambda: &aws_sdk_lambda::Client, f: &Function, timeout: Duration) -> PartResult<()> {
    if !f.subnet_ids.is_empty() {
        tracing::info!(function = %f.name, "detaching the function from the VPC before deleting it");
        update_config(lambda, &f.name, &outside_vpc(f), timeout).await?;
    }
    delete(lambda, &f.name, timeout).await
}

/// `f`'s configuration as observed, outside any VPC (pure): what `remove`
/// sends to detach it.
pub fn outside_vpc(f: &Function) -> FunctionSpec {
    FunctionSpec {
        name: f.name.clone(),
        role_arn: f.role_arn.clone(),
        handler: f.handler.clone(),
        runtime: f.runtime.clone(),
        memory_size: f.memory_size,
        timeout: f.timeout,
        environment: f.environment.clone(),
        subnet_ids: vec![],
        security_group_ids: vec![],
        tags: f.tags.clone(),
    }
}

const CREATE: &str = "lambda:CreateFunction";
const GET: &str = "lambda:GetFunction";
const UPDATE_CODE: &str = "lambda:UpdateFunctionCode";
const UPDATE_CONFIG: &str = "lambda:UpdateFunctionConfiguration";
const DELETE: &str = "lambda:DeleteFunction";
const TAG: &str = "lambda:TagResource";
const UNTAG: &str = "lambda:UntagResource";

const NOT_FOUND: &str = "ResourceNotFoundException";
/// The name is taken (CreateFunction), or an update is in progress (the rest).
const CONFLICT: &str = "ResourceConflictException";
const INVALID_PARAMETER: &str = "InvalidParameterValueException";

/// InvalidParameterValueException messages that mean "IAM has not caught
/// up yet" (or, in a VPC, EC2 is busy), not a wrong request.
const NOT_YET: [&str; 3] = ["cannot be assumed by Lambda", "does not have permissions to call", "throttled by EC2"];

fn create_request(
    lambda: &aws_sdk_lambda::Client,
    spec: &FunctionSpec,
    code: &Code,
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    lambda
        .create_function()
        .function_name(&spec.name)
        .role(&spec.role_arn)
        .handler(&spec.handler)
        .runtime(Runtime::from(spec.runtime.as_str()))
        .memory_size(spec.memory_size)
        .timeout(spec.timeout)
        .package_type(PackageType::Zip)
        .code(FunctionCode::builder().zip_file(Blob::new(code.zip.clone())).build())
        // Publishing would make a numbered version per change, each kept forever.
        .publish(false)
        .set_environment((!spec.environment.is_empty()).then(|| environment(&spec.environment)))
        .set_vpc_config(spec.in_vpc().then(|| vpc_config(spec)))
        .set_tags((!spec.tags.is_empty()).then(|| hash_map(&spec.tags)))
}

/// The create found the name taken: take the function over if it is ours.
async fn adopt(lambda: &aws_sdk_lambda::Client, spec: &FunctionSpec, code: &Code, timeout: Duration) -> PartResult<Function> {
    let Some(existing) = find(lambda, &spec.name).await? else {
        return Err(Diagnostic::error(
            format!("{PART}: {CREATE} failed"),
            format!(
                "{CREATE} answered {CONFLICT} for {} (the name is taken), but {GET} then found no such function: it was deleted meanwhile. Apply again.",
                spec.name
            ),
        ));
    };
    check_owner(&existing, spec)?;
    update(lambda, &existing, spec, code, timeout).await
}

/// Refuses a function that another owner's tags claim (see `create`).
fn check_owner(existing: &Function, spec: &FunctionSpec) -> PartResult<()> {
    let theirs = existing.tags.get(OWNER_TAG);
    let ours = spec.tags.get(OWNER_TAG);
    if theirs == ours {
        return Ok(());
    }
    let theirs = theirs.map(|o| format!("belongs to {o:?} (its {OWNER_TAG} tag)")).unwrap_or_else(|| format!("has no {OWNER_TAG} tag"));
    Err(Diagnostic::error(
        format!("{PART} {} already exists", spec.name),
        format!(
            "A Lambda function named {} already exists ({}) and {theirs}, so it is not taken over. Choose another name, or delete or import that function.",
            spec.name, existing.arn
        ),
    ))
}

/// Sends a request until it is not refused for a passing reason (see
/// `retry_reason`), within `timeout`; returns the last answer. A timeout
/// says what was waited for and the last refusal.
async fn send_retrying<T, E, F, Fut>(what: &str, timeout: Duration, conflict_is_busy: bool, mut send: F) -> PartResult<Result<T, E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata,
{
    wait::until(what, timeout, Duration::from_secs(1), || {
        let sent = send();
        async move {
            let answer = sent.await;
            Ok(match answer.as_ref().err().and_then(|e| retry_reason(e, conflict_is_busy)) {
                Some(reason) => Poll::Pending(reason),
                None => Poll::Done(answer),
            })
        }
    })
    .await
}

/// Why a refused call is worth sending again, or `None` when it is not:
/// IAM still propagating a role (always), and an update in progress
/// (ResourceConflictException, except on create where it means "exists").
fn retry_reason<E: ProvideErrorMetadata>(err: &E, conflict_is_busy: bool) -> Option<String> {
    let code = err.code()?;
    let message = err.message().unwrap_or("");
    if code == INVALID_PARAMETER && NOT_YET.iter().any(|m| message.contains(m)) {
        return Some(format!(
            "{code}: {message} (IAM changes take seconds to reach Lambda; if this persists, check the role's trust policy for lambda.amazonaws.com and, for a function in a VPC, its ec2:CreateNetworkInterface permission)"
        ));
    }
    if code == CONFLICT && conflict_is_busy {
        return Some(format!("{code}: {message}"));
    }
    None
}

/// Polls after an update until LastUpdateStatus is no longer InProgress.
async fn wait_updated(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<Function> {
    let what = format!("{PART} {name} to finish updating");
    wait::until(&what, timeout, Duration::from_secs(1), || async move { settle(name, find(lambda, name).await?, true) }).await
}

/// One round of a wait: the function settled, still changing, or never
/// going to settle. `after_update`: a Failed last update is this wait's
/// failure (otherwise it is an old one, and the function still serves).
fn settle(name: &str, found: Option<Function>, after_update: bool) -> PartResult<Poll<Function>> {
    let Some(f) = found else {
        return Err(Diagnostic::error(
            format!("{PART} {name} disappeared"),
            format!("{GET} no longer finds {name} while waiting for it: it was deleted outside Terraform."),
        ));
    };
    if f.state == "Failed" {
        return Err(Diagnostic::error(
            format!("{PART} {name} failed"),
            format!("Lambda put {name} in state Failed: {}.", reason(&f.state_reason, &f.state_reason_code)),
        ));
    }
    if f.state == "Deleting" {
        return Err(Diagnostic::error(
            format!("{PART} {name} is being deleted"),
            format!("{name} went to state Deleting while waiting for it: it is being deleted outside Terraform."),
        ));
    }
    match f.last_update_status.as_deref() {
        Some("InProgress") => return Ok(Poll::Pending(format!("{}, update InProgress", f.state))),
        Some("Failed") if after_update => {
            return Err(Diagnostic::error(
                format!("{PART} {name}: update failed"),
                format!(
                    "Lambda could not apply the update to {name}: {}. The function keeps running its previous code and configuration.",
                    reason(&f.last_update_status_reason, &f.last_update_status_reason_code)
                ),
            ))
        }
        _ => {}
    }
    Ok(match f.state.as_str() {
        "Active" | "ActiveNonInvocable" | "Inactive" => Poll::Done(f),
        _ => Poll::Pending(f.state),
    })
}

/// Lambda's reason and reason code, as one phrase.
fn reason(text: &Option<String>, code: &Option<String>) -> String {
    match (text, code) {
        (Some(t), Some(c)) => format!("{t} ({c})"),
        (Some(t), None) => t.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => "Lambda gave no reason".into(),
    }
}

/// The function of a GetFunction answer. Tags Lambda could not read
/// (TagsError: no lambda:ListTags permission) are an error, not "no tags",
/// which would plan to add them all again.
fn function_from_get(asked: &str, out: &GetFunctionOutput) -> PartResult<Function> {
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
    function_from_config(asked, config, tags)
}

fn function_from_config(asked: &str, c: &FunctionConfiguration, tags: Tags) -> PartResult<Function> {
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
    })
}

/// Lambda wants subnets and security groups together.
fn check_vpc_lists(spec: &FunctionSpec) -> PartResult<()> {
    if spec.subnet_ids.is_empty() != spec.security_group_ids.is_empty() {
        let (given, missing) = if spec.subnet_ids.is_empty() { ("security groups", "subnets") } else { ("subnets", "security groups") };
        return Err(Diagnostic::error(
            format!("{PART} {}: incomplete VPC configuration", spec.name),
            format!("{} has {given} but no {missing}: a function in a VPC needs both, and one outside a VPC neither.", spec.name),
        ));
    }
    Ok(())
}

fn vpc_config(spec: &FunctionSpec) -> VpcConfig {
    VpcConfig::builder()
        .set_subnet_ids(Some(sorted(&spec.subnet_ids)))
        .set_security_group_ids(Some(sorted(&spec.security_group_ids)))
        .build()
}

fn environment(vars: &BTreeMap<String, String>) -> Environment {
    Environment::builder().set_variables(Some(hash_map(vars))).build()
}

fn hash_map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn sorted(list: &[String]) -> Vec<String> {
    let mut list = list.to_vec();
    list.sort();
    list.dedup();
    list
}

/// What is left of `timeout` since `start` (zero once spent: a wait then
/// still looks once before timing out).
fn left(start: Instant, timeout: Duration) -> Duration {
    timeout.saturating_sub(start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_lambda::types::{EnvironmentResponse, LastUpdateStatus, State, StateReasonCode, TagsError, VpcConfigResponse};
    use aws_smithy_types::error::ErrorMetadata;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn spec() -> FunctionSpec {
        FunctionSpec {
            name: "orders-producer".into(),
            role_arn: "arn:aws:iam::123456789012:role/producer".into(),
            handler: "index.handler".into(),
            runtime: "python3.12".into(),
            memory_size: 128,
            timeout: 10,
            environment: map(&[("QUEUE_URL", "https://sqs/q")]),
            subnet_ids: strings(&["subnet-b", "subnet-a"]),
            security_group_ids: strings(&["sg-1"]),
            tags: map(&[(OWNER_TAG, "plp-1"), ("team", "core")]),
        }
    }

    fn observed() -> Function {
        Function {
            name: "orders-producer".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:orders-producer".into(),
            state: "Active".into(),
            state_reason: None,
            state_reason_code: None,
            last_update_status: Some("Successful".into()),
            last_update_status_reason: None,
            last_update_status_reason_code: None,
            code_sha256: "abc=".into(),
            handler: "index.handler".into(),
            runtime: "python3.12".into(),
            memory_size: 128,
            timeout: 10,
            environment: map(&[("QUEUE_URL", "https://sqs/q")]),
            role_arn: "arn:aws:iam::123456789012:role/producer".into(),
            subnet_ids: strings(&["subnet-a", "subnet-b"]),
            security_group_ids: strings(&["sg-1"]),
            tags: map(&[(OWNER_TAG, "plp-1"), ("team", "core")]),
        }
    }

    // ---- config_changed ----

    #[test]
    fn same_config_in_another_order_is_unchanged() {
        assert!(!config_changed(&observed(), &spec()));
    }

    #[test]
    fn each_setting_counts_as_a_change() {
        let edits: Vec<fn(&mut FunctionSpec)> = vec![
            |s| s.handler = "main.handler".into(),
            |s| s.runtime = "python3.13".into(),
            |s| s.memory_size = 256,
            |s| s.timeout = 30,
            |s| {
                s.environment.insert("DEBUG".into(), "1".into());
            },
            |s| s.environment.clear(),
            |s| s.role_arn = "arn:aws:iam::123456789012:role/other".into(),
            |s| {
                s.subnet_ids.pop();
            },
            |s| s.security_group_ids.push("sg-2".into()),
            |s| {
                s.subnet_ids.clear();
                s.security_group_ids.clear();
            },
        ];
        for (i, edit) in edits.iter().enumerate() {
            let mut s = spec();
            edit(&mut s);
            assert!(config_changed(&observed(), &s), "edit {i} was not seen as a change");
        }
    }

    #[test]
    fn code_and_tags_are_not_configuration() {
        let mut current = observed();
        current.code_sha256 = "other=".into();
        current.tags.insert("extra".into(), "x".into());
        current.state = "Pending".into();
        assert!(!config_changed(&current, &spec()));
    }

    #[test]
    fn outside_vpc_keeps_everything_but_the_vpc_lists() {
        let detached = outside_vpc(&observed());
        assert!(detached.subnet_ids.is_empty() && detached.security_group_ids.is_empty());
        assert!(!detached.in_vpc());
        assert!(check_vpc_lists(&detached).is_ok());
        let mut unchanged = spec();
        unchanged.subnet_ids.clear();
        unchanged.security_group_ids.clear();
        assert_eq!(detached, unchanged);
    }

    // ---- settle ----

    fn in_state(state: &str, update: Option<&str>) -> Function {
        let mut f = observed();
        f.state = state.into();
        f.last_update_status = update.map(str::to_string);
        f
    }

    fn pending_state(p: PartResult<Poll<Function>>) -> Option<String> {
        match p {
            Ok(Poll::Pending(s)) => Some(s),
            _ => None,
        }
    }

    #[test]
    fn active_without_update_in_progress_is_settled() {
        for (state, update) in [("Active", None), ("Active", Some("Successful")), ("Inactive", None), ("ActiveNonInvocable", None)] {
            assert!(matches!(settle("f", Some(in_state(state, update)), true), Ok(Poll::Done(_))), "{state} {update:?}");
        }
    }

    #[test]
    fn pending_and_in_progress_keep_waiting() {
        assert_eq!(pending_state(settle("f", Some(in_state("Pending", None)), false)).as_deref(), Some("Pending"));
        assert_eq!(
            pending_state(settle("f", Some(in_state("Active", Some("InProgress"))), true)).as_deref(),
            Some("Active, update InProgress")
        );
    }

    #[test]
    fn failed_state_names_lambdas_reason() {
        let mut f = in_state("Failed", None);
        f.state_reason = Some("The subnet has no free IP addresses".into());
        f.state_reason_code = Some("SubnetOutOfIPAddresses".into());
        let Err(e) = settle("orders-producer", Some(f), false) else { panic!("Failed must fail") };
        assert!(e.summary.contains("orders-producer"), "{e:?}");
        assert!(e.detail.contains("no free IP addresses (SubnetOutOfIPAddresses)"), "{e:?}");
    }

    #[test]
    fn a_failed_update_fails_only_the_wait_for_it() {
        let mut f = in_state("Active", Some("Failed"));
        f.last_update_status_reason = Some("bad zip".into());
        f.last_update_status_reason_code = Some("InvalidZipFileException".into());
        let Err(e) = settle("f", Some(f.clone()), true) else { panic!("a failed update must fail its wait") };
        assert!(e.detail.contains("bad zip (InvalidZipFileException)"), "{e:?}");
        assert!(matches!(settle("f", Some(f), false), Ok(Poll::Done(_))), "an old failed update leaves the function active");
    }

    #[test]
    fn gone_or_deleting_ends_the_wait() {
        let Err(e) = settle("f", None, false) else { panic!() };
        assert!(e.summary.contains("disappeared"));
        let Err(e) = settle("f", Some(in_state("Deleting", None)), false) else { panic!() };
        assert!(e.summary.contains("being deleted"));
    }

    // ---- errors worth retrying ----

    fn err(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[test]
    fn iam_propagation_is_retried_everywhere() {
        let role = err("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.");
        let eni = err(
            "InvalidParameterValueException",
            "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
        );
        for e in [&role, &eni] {
            assert!(retry_reason(e, false).is_some_and(|r| r.contains("IAM changes take seconds")));
            assert!(retry_reason(e, true).is_some());
        }
        assert!(retry_reason(&err("InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes"), true).is_none());
    }

    #[test]
    fn conflict_is_busy_except_on_create() {
        let busy = err("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress");
        assert!(retry_reason(&busy, true).is_some_and(|r| r.contains("update is in progress")));
        assert!(retry_reason(&busy, false).is_none());
        assert!(retry_reason(&err("AccessDeniedException", "no"), true).is_none());
    }

    // ---- ownership ----

    #[test]
    fn only_a_function_with_our_owner_tag_is_adopted() {
        assert!(check_owner(&observed(), &spec()).is_ok());
        let mut theirs = observed();
        theirs.tags.insert(OWNER_TAG.into(), "plp-2".into());
        let e = check_owner(&theirs, &spec()).unwrap_err();
        assert!(e.detail.contains("\"plp-2\"") && e.detail.contains(&theirs.arn), "{e:?}");
        let mut untagged = observed();
        untagged.tags.clear();
        assert!(check_owner(&untagged, &spec()).unwrap_err().detail.contains("has no privatelink:owner tag"));
        let mut unowned_spec = spec();
        unowned_spec.tags.clear();
        assert!(check_owner(&untagged, &unowned_spec).is_ok());
    }

    #[test]
    fn vpc_lists_go_together() {
        assert!(check_vpc_lists(&spec()).is_ok());
        let mut s = spec();
        s.subnet_ids.clear();
        s.security_group_ids.clear();
        assert!(check_vpc_lists(&s).is_ok());
        s.security_group_ids.push("sg-1".into());
        let e = check_vpc_lists(&s).unwrap_err();
        assert!(e.detail.contains("has security groups but no subnets"), "{e:?}");
    }

    // ---- mapping ----

    fn configuration() -> FunctionConfiguration {
        FunctionConfiguration::builder()
            .function_name("orders-producer")
            .function_arn("arn:aws:lambda:us-east-1:123456789012:function:orders-producer")
            .state(State::Failed)
            .state_reason("no ENI")
            .state_reason_code(StateReasonCode::EniLimitExceeded)
            .last_update_status(LastUpdateStatus::Successful)
            .code_sha256("abc=")
            .handler("index.handler")
            .runtime(Runtime::Python312)
            .memory_size(256)
            .timeout(10)
            .role("arn:aws:iam::123456789012:role/producer")
            .environment(EnvironmentResponse::builder().variables("B", "2").variables("A", "1").build())
            .vpc_config(
                VpcConfigResponse::builder()
                    .subnet_ids("subnet-b")
                    .subnet_ids("subnet-a")
                    .security_group_ids("sg-1")
                    .vpc_id("vpc-1")
                    .build(),
            )
            .build()
    }

    #[test]
    fn configuration_maps_to_a_function_with_sorted_lists() {
        let out = GetFunctionOutput::builder().configuration(configuration()).tags("team", "core").build();
        let f = function_from_get("orders-producer", &out).unwrap();
        assert_eq!(f.state, "Failed");
        assert_eq!(f.state_reason_code.as_deref(), Some("EniLimitExceeded"));
        assert_eq!(f.runtime, "python3.12");
        assert_eq!(f.memory_size, 256);
        assert_eq!(f.environment, map(&[("A", "1"), ("B", "2")]));
        assert_eq!(f.subnet_ids, strings(&["subnet-a", "subnet-b"]));
        assert_eq!(f.tags, map(&[("team", "core")]));
    }

    #[test]
    fn missing_arn_or_unreadable_tags_are_errors() {
        let out = GetFunctionOutput::builder().configuration(FunctionConfiguration::builder().function_name("f").build()).build();
        assert!(function_from_get("f", &out).unwrap_err().detail.contains("FunctionArn"));
        let out = GetFunctionOutput::builder()
            .configuration(configuration())
            .tags_error(TagsError::builder().error_code("AccessDeniedException").message("no lambda:ListTags").build().unwrap())
            .build();
        assert!(function_from_get("f", &out).unwrap_err().detail.contains("no lambda:ListTags"));
    }

    #[test]
    fn outside_a_vpc_the_lists_are_empty_and_no_state_means_active() {
        let c = FunctionConfiguration::builder().function_name("f").function_arn("arn:f").build();
        let f = function_from_config("f", &c, Tags::new()).unwrap();
        assert!(f.subnet_ids.is_empty() && f.security_group_ids.is_empty());
        assert_eq!(f.state, "Active");
        assert_eq!((f.memory_size, f.timeout), (128, 3));
    }

    #[test]
    fn vpc_config_sends_sorted_lists_even_when_empty() {
        let mut s = spec();
        let v = vpc_config(&s);
        assert_eq!(v.subnet_ids(), strings(&["subnet-a", "subnet-b"]).as_slice());
        s.subnet_ids.clear();
        s.security_group_ids.clear();
        let v = vpc_config(&s);
        assert_eq!(v.subnet_ids, Some(vec![]));
        assert_eq!(v.security_group_ids, Some(vec![]));
    }
}
