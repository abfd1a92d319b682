//! Lambda event source mappings: a function polling a source (an SQS
//! queue) for batches. Lambda allows one mapping per function and queue,
//! so that pair is the mapping's identity: a create whose answer was lost
//! is found again by it and adopted, never duplicated.
//!
//! A mapping moves through Creating / Enabling / Updating / Disabling on
//! its own after every call, and refuses changes while it does
//! (ResourceInUseException): every call here is followed by a wait until
//! it settles in Enabled or Disabled.
//!
//! This file holds the types, the pure decisions (`changes`, `action`)
//! and the changes; `find` reads mappings, `wait` polls their state,
//! `patterns` compares filter patterns by meaning.

mod find;
mod patterns;
#[cfg(test)]
mod tests;
mod wait;

use std::time::{Duration, Instant};

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder;
use aws_sdk_lambda::operation::update_event_source_mapping::builders::UpdateEventSourceMappingFluentBuilder;
use aws_sdk_lambda::types::{Filter, FilterCriteria, FunctionResponseType, ScalingConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

pub use find::{find, find_for};
pub use patterns::same_filter_patterns;
pub use wait::wait_settled;
use wait::{state_with_reason, wait_deleted};

use super::wait::{self as polling, Poll};
use super::PartResult;
use crate::aws::call_failed;
use crate::diag::Diagnostic;

const PART: &str = "event source mapping";

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingSpec {
    /// Name or ARN of the consumer function.
    pub function_name: String,
    pub event_source_arn: String,
    pub batch_size: i32,
    /// 0 means no batching window (AWS's default).
    pub maximum_batching_window_seconds: i32,
    /// FunctionResponseTypes ["ReportBatchItemFailures"]: the function
    /// reports which messages of a batch failed instead of failing all.
    pub report_batch_item_failures: bool,
    /// ScalingConfig.MaximumConcurrency (2..=1000); None: no limit.
    pub maximum_concurrency: Option<i32>,
    pub enabled: bool,
    /// Event filter patterns, JSON documents.
    pub filter_patterns: Vec<String>,
}

/// A mapping as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    pub uuid: String,
    /// Creating | Enabling | Enabled | Disabling | Disabled | Updating | Deleting.
    pub state: String,
    /// StateTransitionReason: why the mapping is in its state.
    pub state_reason: Option<String>,
    pub function_arn: String,
    pub event_source_arn: String,
    pub batch_size: i32,
    pub maximum_batching_window_seconds: i32,
    pub report_batch_item_failures: bool,
    pub maximum_concurrency: Option<i32>,
    pub filter_patterns: Vec<String>,
}

/// What one UpdateEventSourceMapping call sends: `None` leaves a setting
/// as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    pub batch_size: Option<i32>,
    pub maximum_batching_window_seconds: Option<i32>,
    pub report_batch_item_failures: Option<bool>,
    /// `Some(None)` removes the limit.
    pub maximum_concurrency: Option<Option<i32>>,
    /// `Some(vec![])` removes every filter.
    pub filter_patterns: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl Update {
    pub fn is_empty(&self) -> bool {
        *self == Update::default()
    }
}

/// The update that brings `current` to `desired` (pure); None when they
/// agree. Filter patterns are compared by meaning (`same_filter_patterns`).
/// The function and the source are the mapping's identity, not settings:
/// a composite replaces the mapping when they change.
pub fn changes(current: &Mapping, desired: &MappingSpec) -> Option<Update> {
    let update = Update {
        batch_size: differs(current.batch_size, desired.batch_size),
        maximum_batching_window_seconds: differs(current.maximum_batching_window_seconds, desired.maximum_batching_window_seconds),
        report_batch_item_failures: differs(current.report_batch_item_failures, desired.report_batch_item_failures),
        maximum_concurrency: differs(current.maximum_concurrency, desired.maximum_concurrency),
        filter_patterns: (!same_filter_patterns(&current.filter_patterns, &desired.filter_patterns))
            .then(|| desired.filter_patterns.clone()),
        // A state that says neither on nor off (Creating, Updating) cannot
        // be compared: sending the wanted value is always right.
        enabled: match is_on(&current.state) {
            Some(on) if on == desired.enabled => None,
            _ => Some(desired.enabled),
        },
    };
    (!update.is_empty()).then_some(update)
}

/// What `ensure` does with the mapping the state recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// It reads the spec's source and agrees with the spec.
    Keep(Mapping),
    /// It reads the spec's source; this brings its settings to the spec.
    Update { uuid: String, update: Update },
    /// None is known, or the known one reads another source (the queue was
    /// replaced): the source is the mapping's identity, so a new one.
    Create,
}

/// The action that brings `known` to `spec` (pure).
pub fn action(known: Option<Mapping>, spec: &MappingSpec) -> Action {
    match known {
        Some(m) if m.event_source_arn == spec.event_source_arn => match changes(&m, spec) {
            Some(update) => Action::Update { uuid: m.uuid, update },
            None => Action::Keep(m),
        },
        _ => Action::Create,
    }
}

/// The mapping brought to `spec` from the `known` one (see `action`):
/// kept, updated, or created (`create` adopts the mapping of this function
/// and source when one exists).
pub async fn ensure(lambda: &aws_sdk_lambda::Client, spec: &MappingSpec, known: Option<Mapping>, timeout: Duration) -> PartResult<Mapping> {
    match action(known, spec) {
        Action::Keep(m) => Ok(m),
        Action::Update { uuid, update: u } => update(lambda, &uuid, &u, timeout).await,
        Action::Create => create(lambda, spec, timeout).await,
    }
}

/// Creates the mapping and waits until it settles. Adopts the mapping of
/// this function and source when one exists (an earlier create whose
/// answer was lost), bringing its settings to `spec`. Retries, within
/// `timeout`, while Lambda says the function's execution role may not read
/// the source yet: a role made seconds ago takes a while to reach Lambda.
pub async fn create(lambda: &aws_sdk_lambda::Client, spec: &MappingSpec, timeout: Duration) -> PartResult<Mapping> {
    let deadline = Instant::now() + timeout;
    // Looked up first, not only on ResourceConflictException: moto never
    // answers that conflict (it makes a second mapping), and on AWS the
    // lookup is one cheap call.
    if let Some(existing) = find_for(lambda, &spec.function_name, &spec.event_source_arn).await? {
        if existing.state != DELETING {
            return adopt(lambda, existing, spec, deadline).await;
        }
    }
    let what = format!("{PART} from {} to {} to be accepted by Lambda", spec.event_source_arn, spec.function_name);
    match polling::until(&what, left(deadline), Duration::from_secs(1), || try_create(lambda, spec)).await? {
        Created::New(uuid) => wait_settled(lambda, &uuid, left(deadline)).await,
        Created::Existing(existing) => adopt(lambda, existing, spec, deadline).await,
    }
}

/// One UpdateEventSourceMapping with everything in `update` (none when it
/// is empty), retried while the mapping is still changing; then waits
/// until it settles.
pub async fn update(lambda: &aws_sdk_lambda::Client, uuid: &str, update: &Update, timeout: Duration) -> PartResult<Mapping> {
    let deadline = Instant::now() + timeout;
    if !update.is_empty() {
        let what = format!("{PART} {uuid} to accept an update (it was still changing)");
        polling::until(&what, left(deadline), Duration::from_secs(1), || try_update(lambda, uuid, update)).await?;
    }
    wait_settled(lambda, uuid, left(deadline)).await
}

/// DeleteEventSourceMapping (already gone is fine), retried while the
/// mapping is still changing; then waits until Lambda no longer has it.
pub async fn delete(lambda: &aws_sdk_lambda::Client, uuid: &str, timeout: Duration) -> PartResult<()> {
    let deadline = Instant::now() + timeout;
    let what = format!("{PART} {uuid} to accept its deletion (it was still changing)");
    if polling::until(&what, left(deadline), Duration::from_secs(1), || try_delete(lambda, uuid)).await? == Deletion::AlreadyGone {
        return Ok(());
    }
    wait_deleted(lambda, uuid, left(deadline)).await
}

const CREATE: &str = "lambda:CreateEventSourceMapping";

const GET: &str = "lambda:GetEventSourceMapping";

const LIST: &str = "lambda:ListEventSourceMappings";

const UPDATE: &str = "lambda:UpdateEventSourceMapping";

const DELETE: &str = "lambda:DeleteEventSourceMapping";

const NOT_FOUND: &str = "ResourceNotFoundException";

/// The mapping is still changing (Creating, Updating...).
const IN_USE: &str = "ResourceInUseException";

/// A mapping of this function and source exists already.
const CONFLICT: &str = "ResourceConflictException";

const INVALID_PARAMETER: &str = "InvalidParameterValueException";

const ENABLED: &str = "Enabled";

const DISABLED: &str = "Disabled";

const DELETING: &str = "Deleting";

/// What a create attempt ended with.
enum Created {
    New(String),
    Existing(Mapping),
}

#[derive(Debug, PartialEq)]
enum Deletion {
    Started,
    AlreadyGone,
}

/// Brings a found mapping to `spec` once it is done changing.
async fn adopt(lambda: &aws_sdk_lambda::Client, existing: Mapping, spec: &MappingSpec, deadline: Instant) -> PartResult<Mapping> {
    let settled = wait_settled(lambda, &existing.uuid, left(deadline)).await?;
    match changes(&settled, spec) {
        Some(u) => update(lambda, &settled.uuid, &u, left(deadline)).await,
        None => Ok(settled),
    }
}

/// One CreateEventSourceMapping: done with the new uuid or with the
/// existing mapping to adopt, pending while the role is not yet allowed
/// to read the source (or a conflicting mapping is still being deleted).
async fn try_create(lambda: &aws_sdk_lambda::Client, spec: &MappingSpec) -> PartResult<Poll<Created>> {
    let err = match create_request(lambda, spec).send().await {
        Ok(out) => {
            return match out.uuid() {
                Some(uuid) => Ok(Poll::Done(Created::New(uuid.to_string()))),
                None => Err(no_uuid(CREATE, &spec.event_source_arn)),
            }
        }
        Err(e) => e,
    };
    if role_not_ready(err.code(), err.message()) {
        return Ok(Poll::Pending(format!("the function's execution role may not read the source yet ({})", code_and_message(&err))));
    }
    if err.code() != Some(CONFLICT) {
        return Err(call_failed(PART, CREATE, &err));
    }
    Ok(match find_for(lambda, &spec.function_name, &spec.event_source_arn).await? {
        Some(m) if m.state != DELETING => Poll::Done(Created::Existing(m)),
        Some(m) => Poll::Pending(format!("the earlier mapping {} of this function and source is still being deleted", m.uuid)),
        None => Poll::Pending(code_and_message(&err)),
    })
}

fn create_request(lambda: &aws_sdk_lambda::Client, spec: &MappingSpec) -> CreateEventSourceMappingFluentBuilder {
    lambda
        .create_event_source_mapping()
        .function_name(&spec.function_name)
        .event_source_arn(&spec.event_source_arn)
        .batch_size(spec.batch_size)
        // 0 is the default, and FIFO queues reject the setting altogether.
        .set_maximum_batching_window_in_seconds((spec.maximum_batching_window_seconds > 0).then_some(spec.maximum_batching_window_seconds))
        .enabled(spec.enabled)
        .set_function_response_types(spec.report_batch_item_failures.then(response_types_reporting_failures))
        .set_scaling_config(spec.maximum_concurrency.map(scaling_config))
        .set_filter_criteria((!spec.filter_patterns.is_empty()).then(|| filter_criteria(&spec.filter_patterns)))
}

/// One UpdateEventSourceMapping: pending while the mapping is still
/// changing.
async fn try_update(lambda: &aws_sdk_lambda::Client, uuid: &str, update: &Update) -> PartResult<Poll<()>> {
    match update_request(lambda, uuid, update).send().await {
        Ok(_) => Ok(Poll::Done(())),
        Err(e) if e.code() == Some(IN_USE) => Ok(Poll::Pending(code_and_message(&e))),
        Err(e) if is_not_found(&e) => Err(disappeared(uuid, "to be updated")),
        Err(e) => Err(call_failed(PART, UPDATE, &e)),
    }
}

fn update_request(lambda: &aws_sdk_lambda::Client, uuid: &str, update: &Update) -> UpdateEventSourceMappingFluentBuilder {
    lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .set_batch_size(update.batch_size)
        .set_maximum_batching_window_in_seconds(update.maximum_batching_window_seconds)
        .set_enabled(update.enabled)
        // Removals are sent as empty values: AWS leaves a setting that is
        // absent from the request as it was.
        .set_function_response_types(update.report_batch_item_failures.map(|on| {
            if on {
                response_types_reporting_failures()
            } else {
                Vec::new()
            }
        }))
        .set_scaling_config(update.maximum_concurrency.map(|limit| match limit {
            Some(n) => scaling_config(n),
            None => ScalingConfig::builder().build(),
        }))
        .set_filter_criteria(update.filter_patterns.as_deref().map(filter_criteria))
}

/// One DeleteEventSourceMapping: pending while the mapping is still
/// changing, unless it turns out to be gone or already being deleted.
async fn try_delete(lambda: &aws_sdk_lambda::Client, uuid: &str) -> PartResult<Poll<Deletion>> {
    match lambda.delete_event_source_mapping().uuid(uuid).send().await {
        Ok(_) => Ok(Poll::Done(Deletion::Started)),
        Err(e) if is_not_found(&e) => Ok(Poll::Done(Deletion::AlreadyGone)),
        Err(e) if e.code() == Some(IN_USE) => Ok(match find(lambda, uuid).await? {
            None => Poll::Done(Deletion::AlreadyGone),
            Some(m) if m.state == DELETING => Poll::Done(Deletion::Started),
            Some(m) => Poll::Pending(format!("{} ({})", state_with_reason(&m), code_and_message(&e))),
        }),
        Err(e) => Err(call_failed(PART, DELETE, &e)),
    }
}

/// On (Enabled, Enabling), off (Disabled, Disabling), or not telling.
fn is_on(state: &str) -> Option<bool> {
    match state {
        ENABLED | "Enabling" => Some(true),
        DISABLED | "Disabling" => Some(false),
        _ => None,
    }
}

/// Lambda's answer while IAM has not yet told it that the function's role
/// may read the source: "The provided execution role does not have
/// permissions to call ReceiveMessage on SQS".
fn role_not_ready(code: Option<&str>, message: Option<&str>) -> bool {
    let message = message.unwrap_or_default().to_ascii_lowercase();
    code == Some(INVALID_PARAMETER) && message.contains("execution role") && message.contains("permission")
}

/// A mapping is gone when Lambda says ResourceNotFoundException. moto
/// answers a plain 404 without an error code for Update and Delete of an
/// unknown uuid; no other Lambda answer to these calls is a 404.
fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    match err.code() {
        Some(code) => code == NOT_FOUND,
        None => err.raw_response().is_some_and(|r| r.status().as_u16() == 404),
    }
}

fn code_and_message<E: ProvideErrorMetadata>(err: &E) -> String {
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => "no error code".to_string(),
    }
}

fn disappeared(uuid: &str, waiting: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{PART} {uuid} disappeared"),
        format!("Lambda no longer has mapping {uuid} while waiting for it {waiting}: it was deleted outside Terraform."),
    )
}

fn no_uuid(call: &str, what: &str) -> Diagnostic {
    Diagnostic::error(format!("{PART}: {call} failed"), format!("{call} for {what} answered without a mapping UUID."))
}

fn differs<T: PartialEq + Copy>(current: T, desired: T) -> Option<T> {
    (current != desired).then_some(desired)
}

/// Time left until `deadline` (zero once it has passed: a wait then looks
/// once more before it gives up).
fn left(deadline: Instant) -> Duration {
    deadline.saturating_duration_since(Instant::now())
}

fn response_types_reporting_failures() -> Vec<FunctionResponseType> {
    vec![FunctionResponseType::ReportBatchItemFailures]
}

fn scaling_config(maximum_concurrency: i32) -> ScalingConfig {
    ScalingConfig::builder().maximum_concurrency(maximum_concurrency).build()
}

/// FilterCriteria with one Filter per pattern; none for an empty list,
/// which is how an update removes every filter.
fn filter_criteria(patterns: &[String]) -> FilterCriteria {
    let filters = patterns.iter().map(|p| Filter::builder().pattern(p).build()).collect::<Vec<_>>();
    FilterCriteria::builder().set_filters((!filters.is_empty()).then_some(filters)).build()
}
