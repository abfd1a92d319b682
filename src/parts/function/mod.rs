//! Lambda functions (unpublished `$LATEST` only; code as a zip, an S3
//! object or a container image): create, find, update code /
//! configuration / reserved concurrency / tags, delete, and the waits between.
//!
//! Lambda answers a create or an update at once and then works in the
//! background: `State` goes `Pending -> Active` after a create (minutes for
//! a function in a VPC, whose network interfaces are being made), and
//! `LastUpdateStatus` goes `InProgress -> Successful | Failed` after an
//! update. A second update sent meanwhile is refused with
//! ResourceConflictException; every call here retries that, and every
//! change waits for Lambda to finish before returning.
//!
//! This file holds the types and the changes; `find` reads a function,
//! `wait` polls its state and retries calls Lambda refuses for a passing
//! reason.

mod find;
#[cfg(test)]
mod tests;
mod wait;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, EphemeralStorage, FunctionCode, PackageType, Runtime, TracingConfig, TracingMode, VpcConfig,
};

pub use find::find;
pub use wait::wait_active;
use wait::{send_retrying, wait_deleted, wait_updated};

use super::code::Code;
use super::tags::{self, Tags, OWNER_TAG};
use super::{has_code, PartResult};
use crate::aws::call_failed;
use crate::diag::Diagnostic;

const PART: &str = "lambda function";

/// Tag on each function naming where its code came from (`dir:PATH`,
/// `file:PATH`, `s3:BUCKET/KEY[@VERSION]`, `image:URI`): nothing else in
/// AWS records it, and an S3 object's source is how a change of its code
/// is told apart without reading S3.
pub const SOURCE_TAG: &str = "privatelink:source";

/// A function's code as Lambda takes it.
#[derive(Debug, Clone, PartialEq)]
pub enum Package {
    /// A zip sent with the call, and its hash.
    Zip(Code),
    /// A zip Lambda reads from S3. `sha256`, when given (the user's
    /// `source_code_hash`), is compared with Lambda's CodeSha256; without
    /// it a change of bucket, key or version (the source tag) is a change
    /// of code.
    S3 { bucket: String, key: String, version: Option<String>, sha256: Option<String> },
    /// A container image in ECR.
    Image { uri: String },
}

impl From<Code> for Package {
    fn from(code: Code) -> Package {
        Package::Zip(code)
    }
}

impl Package {
    fn is_image(&self) -> bool {
        matches!(self, Package::Image { .. })
    }

    fn function_code(&self) -> FunctionCode {
        match self {
            Package::Zip(code) => FunctionCode::builder().zip_file(Blob::new(code.zip.clone())).build(),
            Package::S3 { bucket, key, version, .. } => {
                FunctionCode::builder().s3_bucket(bucket).s3_key(key).set_s3_object_version(version.clone()).build()
            }
            Package::Image { uri } => FunctionCode::builder().image_uri(uri).build(),
        }
    }

    /// Whether `current` runs other code than this package, with `desired`
    /// the spec (whose source tag says where the code comes from).
    fn differs_from(&self, current: &Function, desired: &FunctionSpec) -> bool {
        match self {
            Package::Zip(code) => current.code_sha256 != code.sha256,
            Package::Image { uri } => current.image_uri.as_deref() != Some(uri.as_str()),
            Package::S3 { sha256: Some(hash), .. } => &current.code_sha256 != hash,
            Package::S3 { sha256: None, .. } => {
                !current.tags.contains_key(SOURCE_TAG) || current.tags.get(SOURCE_TAG) != desired.tags.get(SOURCE_TAG)
            }
        }
    }
}

/// The settings of a function beyond its code, handler and placement, as
/// asked for and as observed; `Default` is Lambda's own defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionSettings {
    pub description: String,
    /// `x86_64` or `arm64`: set with the code (CreateFunction,
    /// UpdateFunctionCode), not with the configuration.
    pub architecture: String,
    /// Layer version ARNs, in the order Lambda extracts them.
    pub layers: Vec<String>,
    /// `/tmp`, MB, 512 to 10240.
    pub ephemeral_storage: i32,
    /// `PassThrough` or `Active`.
    pub tracing_mode: String,
    /// The key encrypting the environment; `None`: Lambda's own key.
    pub kms_key_arn: Option<String>,
    /// `None`: no reservation (the account's unreserved pool). Its own
    /// calls (PutFunctionConcurrency / DeleteFunctionConcurrency).
    pub reserved_concurrency: Option<i32>,
}

impl Default for FunctionSettings {
    fn default() -> FunctionSettings {
        FunctionSettings {
            description: String::new(),
            architecture: "x86_64".into(),
            layers: vec![],
            ephemeral_storage: 512,
            tracing_mode: "PassThrough".into(),
            kms_key_arn: None,
            reserved_concurrency: None,
        }
    }
}

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
    pub settings: FunctionSettings,
    /// A container image's function: no handler, runtime or layers.
    pub image: bool,
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
    pub settings: FunctionSettings,
    /// `Zip` or `Image`.
    pub package_type: String,
    /// A container image's function: the image it runs (GetFunction's Code).
    pub image_uri: Option<String>,
}

/// Whether the configuration (not code, architecture, reserved
/// concurrency or tags) differs: handler, runtime, memory, timeout,
/// environment, role, subnets and groups (as sets), description, layers,
/// storage, tracing and the environment's key.
pub fn config_changed(current: &Function, desired: &FunctionSpec) -> bool {
    let (have, want) = (&current.settings, &desired.settings);
    have.description != want.description
        || have.layers != want.layers
        || have.ephemeral_storage != want.ephemeral_storage
        || have.tracing_mode != want.tracing_mode
        || have.kms_key_arn != want.kms_key_arn
        || current.handler != desired.handler
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
pub async fn create(lambda: &aws_sdk_lambda::Client, spec: &FunctionSpec, code: &Package, timeout: Duration) -> PartResult<Function> {
    check_vpc_lists(spec)?;
    let start = Instant::now();
    let what = format!("{PART} {} to be created with role {}", spec.name, spec.role_arn);
    let sent = send_retrying(&what, timeout, false, || create_request(lambda, spec, code).send()).await?;
    match sent {
        Ok(_) => {
            let made = wait_active(lambda, &spec.name, left(start, timeout)).await?;
            // A new function reserves nothing: only a reservation asked for costs a call.
            if spec.settings.reserved_concurrency.is_some() {
                set_concurrency(lambda, &made, spec.settings.reserved_concurrency).await?;
            }
            Ok(Function {
                settings: FunctionSettings { reserved_concurrency: spec.settings.reserved_concurrency, ..made.settings },
                ..made
            })
        }
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
    code: &Package,
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

/// UpdateFunctionCode with the package and the architecture (which
/// Lambda takes with the code, never with the configuration), then waits
/// for the update to finish (LastUpdateStatus Successful; Failed is an
/// error with Lambda's reason).
pub async fn update_code(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    code: &Package,
    architecture: &str,
    timeout: Duration,
) -> PartResult<Function> {
    let start = Instant::now();
    let what = format!("{PART} {name} to accept new code");
    let sent = send_retrying(&what, timeout, true, || {
        let call = lambda.update_function_code().function_name(name).architectures(Architecture::from(architecture)).publish(false);
        match code {
            Package::Zip(zip) => call.zip_file(Blob::new(zip.zip.clone())),
            Package::S3 { bucket, key, version, .. } => call.s3_bucket(bucket).s3_key(key).set_s3_object_version(version.clone()),
            Package::Image { uri } => call.image_uri(uri),
        }
        .send()
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
    let s = &spec.settings;
    let sent = send_retrying(&what, timeout, true, || {
        let call = lambda
            .update_function_configuration()
            .function_name(name)
            .role(&spec.role_arn)
            .memory_size(spec.memory_size)
            .timeout(spec.timeout)
            .description(&s.description)
            .ephemeral_storage(ephemeral_storage(s))
            .tracing_config(tracing_config(s))
            // An empty ARN goes back to Lambda's own key.
            .kms_key_arn(s.kms_key_arn.clone().unwrap_or_default())
            // Always sent: an empty map removes every variable.
            .environment(environment(&spec.environment))
            .vpc_config(vpc_config(spec));
        // An image's function has neither (its image says both), and
        // Lambda refuses layers for it.
        let call = if spec.image {
            call
        } else {
            // Always sent: an empty list removes every layer.
            call.handler(&spec.handler).runtime(Runtime::from(spec.runtime.as_str())).set_layers(Some(s.layers.clone()))
        };
        call.send()
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
    code: &Package,
    timeout: Duration,
) -> PartResult<Function> {
    let start = Instant::now();
    if code.differs_from(current, spec) || current.settings.architecture != spec.settings.architecture {
        update_code(lambda, &current.name, code, &spec.settings.architecture, left(start, timeout)).await?;
    }
    if config_changed(current, spec) {
        update_config(lambda, &current.name, spec, left(start, timeout)).await?;
    }
    if current.settings.reserved_concurrency != spec.settings.reserved_concurrency {
        set_concurrency(lambda, current, spec.settings.reserved_concurrency).await?;
    }
    update_tags(lambda, &current.arn, &current.tags, &spec.tags).await?;
    wait_active(lambda, &current.name, left(start, timeout)).await
}

/// The function's reserved concurrency brought to `wanted`:
/// PutFunctionConcurrency, or DeleteFunctionConcurrency to give the
/// reservation back to the account's unreserved pool. No wait: Lambda
/// applies it at once and the function stays Active.
pub async fn set_concurrency(lambda: &aws_sdk_lambda::Client, f: &Function, wanted: Option<i32>) -> PartResult<()> {
    match wanted {
        Some(n) => {
            lambda
                .put_function_concurrency()
                .function_name(&f.name)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .map_err(|e| call_failed(PART, PUT_CONCURRENCY, &e))?;
        }
        None => {
            lambda
                .delete_function_concurrency()
                .function_name(&f.name)
                .send()
                .await
                .map_err(|e| call_failed(PART, DELETE_CONCURRENCY, &e))?;
        }
    }
    Ok(())
}

/// DeleteFunction (an update in progress is waited out; already gone is
/// fine), then waits until GetFunction no longer finds it.
///
/// A function that was in a VPC leaves its network interfaces behind for a
/// while after this (AWS releases them in minutes, sometimes much longer:
/// terraform-provider-aws waits up to 45 minutes). Its security groups and
/// subnets cannot be deleted until then: the caller's security group
/// deletion must wait for them (retrying DependencyViolation), and
/// `remove` (what the pipeline's destroy uses) takes the function out of
/// its VPC before deleting it, so that AWS starts releasing them sooner.
pub async fn delete(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<()> {
    let start = Instant::now();
    let what = format!("{PART} {name} to accept being deleted");
    let sent = send_retrying(&what, timeout, true, || lambda.delete_function().function_name(name).send()).await?;
    match sent {
        Ok(_) => {}
        Err(e) if has_code(&e, &[NOT_FOUND]) => return Ok(()),
        Err(e) => return Err(call_failed(PART, DELETE, &e)),
    }
    wait_deleted(lambda, name, left(start, timeout)).await
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

/// The account's concurrency in this region (GetAccountSettings): its
/// limit and what no function reserves.
pub async fn account_concurrency(lambda: &aws_sdk_lambda::Client) -> PartResult<(i64, i64)> {
    let out = lambda.get_account_settings().send().await.map_err(|e| call_failed(PART, ACCOUNT_SETTINGS, &e))?;
    let limit = out.account_limit().ok_or_else(|| {
        Diagnostic::error(format!("{PART}: {ACCOUNT_SETTINGS} failed"), format!("{ACCOUNT_SETTINGS} answered without an AccountLimit."))
    })?;
    Ok((limit.concurrent_executions() as i64, limit.unreserved_concurrent_executions().unwrap_or(0) as i64))
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
        settings: f.settings.clone(),
        image: f.package_type == "Image",
    }
}

const CREATE: &str = "lambda:CreateFunction";

const GET: &str = "lambda:GetFunction";

const UPDATE_CODE: &str = "lambda:UpdateFunctionCode";

const UPDATE_CONFIG: &str = "lambda:UpdateFunctionConfiguration";

const DELETE: &str = "lambda:DeleteFunction";

const TAG: &str = "lambda:TagResource";

const ACCOUNT_SETTINGS: &str = "lambda:GetAccountSettings";

const PUT_CONCURRENCY: &str = "lambda:PutFunctionConcurrency";

const DELETE_CONCURRENCY: &str = "lambda:DeleteFunctionConcurrency";

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
    code: &Package,
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    let s = &spec.settings;
    let zip = !code.is_image();
    lambda
        .create_function()
        .function_name(&spec.name)
        .role(&spec.role_arn)
        .set_handler(zip.then(|| spec.handler.clone()))
        .set_runtime(zip.then(|| Runtime::from(spec.runtime.as_str())))
        .memory_size(spec.memory_size)
        .timeout(spec.timeout)
        .package_type(if zip { PackageType::Zip } else { PackageType::Image })
        .code(code.function_code())
        .architectures(Architecture::from(s.architecture.as_str()))
        .set_description((!s.description.is_empty()).then(|| s.description.clone()))
        .set_layers((!s.layers.is_empty()).then(|| s.layers.clone()))
        .ephemeral_storage(ephemeral_storage(s))
        .tracing_config(tracing_config(s))
        .set_kms_key_arn(s.kms_key_arn.clone())
        // Publishing would make a numbered version per change, each kept forever.
        .publish(false)
        .set_environment((!spec.environment.is_empty()).then(|| environment(&spec.environment)))
        .set_vpc_config(spec.in_vpc().then(|| vpc_config(spec)))
        .set_tags((!spec.tags.is_empty()).then(|| hash_map(&spec.tags)))
}

/// The create found the name taken: take the function over if it is ours.
async fn adopt(lambda: &aws_sdk_lambda::Client, spec: &FunctionSpec, code: &Package, timeout: Duration) -> PartResult<Function> {
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

fn ephemeral_storage(s: &FunctionSettings) -> EphemeralStorage {
    EphemeralStorage::builder().size(s.ephemeral_storage).build().expect("size is set")
}

fn tracing_config(s: &FunctionSettings) -> TracingConfig {
    TracingConfig::builder().mode(TracingMode::from(s.tracing_mode.as_str())).build()
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
