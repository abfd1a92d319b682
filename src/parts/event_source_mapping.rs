//! Lambda event source mappings: a function polling a source (an SQS
//! queue) for batches. Lambda allows one mapping per function and queue,
//! so that pair is the mapping's identity: a create whose answer was lost
//! is found again by it and adopted, never duplicated.
//!
//! A mapping moves through Creating / Enabling / Updating / Disabling on
//! its own after every call, and refuses changes while it does
//! (ResourceInUseException): every call here is followed by a wait until
//! it settles in Enabled or Disabled.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder;
use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::operation::update_event_source_mapping::builders::UpdateEventSourceMappingFluentBuilder;
use aws_sdk_lambda::types::{EventSourceMappingConfiguration, Filter, FilterCriteria, FunctionResponseType, ScalingConfig};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::wait::{self, Poll};
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

/// True when both lists hold the same patterns, whatever their order, key
/// order, whitespace, or the order of the alternatives inside a pattern.
pub fn same_filter_patterns(a: &[String], b: &[String]) -> bool {
    canonical_patterns(a) == canonical_patterns(b)
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
    match wait::until(&what, left(deadline), Duration::from_secs(1), || try_create(lambda, spec)).await? {
        Created::New(uuid) => wait_settled(lambda, &uuid, left(deadline)).await,
        Created::Existing(existing) => adopt(lambda, existing, spec, deadline).await,
    }
}

/// GetEventSourceMapping; `None` when there is no mapping `uuid`.
pub async fn find(lambda: &aws_sdk_lambda::Client, uuid: &str) -> PartResult<Option<Mapping>> {
    match lambda.get_event_source_mapping().uuid(uuid).send().await {
        Ok(out) => match mapping_from_get(&out) {
            Some(m) => Ok(Some(m)),
            None => Err(no_uuid(GET, uuid)),
        },
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(call_failed(PART, GET, &e)),
    }
}

/// The mapping of `function_name` (name or ARN) and `event_source_arn`,
/// from every page of ListEventSourceMappings. When a deleted mapping is
/// still listed beside a new one, the new one.
pub async fn find_for(lambda: &aws_sdk_lambda::Client, function_name: &str, event_source_arn: &str) -> PartResult<Option<Mapping>> {
    let mut pages =
        lambda.list_event_source_mappings().function_name(function_name).event_source_arn(event_source_arn).into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_failed(PART, LIST, &e))?;
        found.extend(page.event_source_mappings().iter().filter_map(mapping_from_config));
    }
    Ok(pick(found, event_source_arn))
}

/// Polls until the mapping is Enabled or Disabled. Fails at once when it
/// disappears or is being deleted; on timeout says the state it was stuck
/// in and AWS's StateTransitionReason.
pub async fn wait_settled(lambda: &aws_sdk_lambda::Client, uuid: &str, timeout: Duration) -> PartResult<Mapping> {
    let what = format!("{PART} {uuid} to settle in Enabled or Disabled");
    wait::until(&what, timeout, Duration::from_millis(500), || async move { settled(uuid, find(lambda, uuid).await?) }).await
}

/// One UpdateEventSourceMapping with everything in `update` (none when it
/// is empty), retried while the mapping is still changing; then waits
/// until it settles.
pub async fn update(lambda: &aws_sdk_lambda::Client, uuid: &str, update: &Update, timeout: Duration) -> PartResult<Mapping> {
    let deadline = Instant::now() + timeout;
    if !update.is_empty() {
        let what = format!("{PART} {uuid} to accept an update (it was still changing)");
        wait::until(&what, left(deadline), Duration::from_secs(1), || try_update(lambda, uuid, update)).await?;
    }
    wait_settled(lambda, uuid, left(deadline)).await
}

/// DeleteEventSourceMapping (already gone is fine), retried while the
/// mapping is still changing; then waits until Lambda no longer has it.
pub async fn delete(lambda: &aws_sdk_lambda::Client, uuid: &str, timeout: Duration) -> PartResult<()> {
    let deadline = Instant::now() + timeout;
    let what = format!("{PART} {uuid} to accept its deletion (it was still changing)");
    if wait::until(&what, left(deadline), Duration::from_secs(1), || try_delete(lambda, uuid)).await? == Deletion::AlreadyGone {
        return Ok(());
    }
    let what = format!("{PART} {uuid} to be deleted");
    wait::until(&what, left(deadline), Duration::from_millis(500), || async move {
        Ok(match find(lambda, uuid).await? {
            None => Poll::Done(()),
            Some(m) => Poll::Pending(state_with_reason(&m)),
        })
    })
    .await
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

/// One round of wait_settled.
fn settled(uuid: &str, found: Option<Mapping>) -> PartResult<Poll<Mapping>> {
    let Some(m) = found else { return Err(disappeared(uuid, "to settle")) };
    match m.state.as_str() {
        ENABLED | DISABLED => Ok(Poll::Done(m)),
        DELETING => Err(Diagnostic::error(
            format!("{PART} {uuid} is being deleted"),
            format!(
                "{uuid} (from {} to {}) went to state Deleting while waiting for it to settle: it is being deleted outside Terraform.",
                m.event_source_arn, m.function_arn
            ),
        )),
        _ => Ok(Poll::Pending(state_with_reason(&m))),
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

/// `Creating (reason: ...)`, for what a wait last saw.
fn state_with_reason(m: &Mapping) -> String {
    match &m.state_reason {
        Some(reason) => format!("{} (reason: {reason})", m.state),
        None => m.state.clone(),
    }
}

/// The mapping of `event_source_arn` among those listed, preferring one
/// that is not being deleted.
fn pick(found: Vec<Mapping>, event_source_arn: &str) -> Option<Mapping> {
    let mut of_source: Vec<Mapping> = found.into_iter().filter(|m| m.event_source_arn == event_source_arn).collect();
    of_source.sort_by_key(|m| m.state == DELETING);
    of_source.into_iter().next()
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

fn patterns_of(criteria: Option<&FilterCriteria>) -> Vec<String> {
    criteria.map(|c| c.filters().iter().filter_map(|f| f.pattern()).map(str::to_string).collect()).unwrap_or_default()
}

/// Patterns in canonical form, as a set: the filters of a mapping are
/// alternatives (a record passes when any matches), so their order and
/// repetition mean nothing.
fn canonical_patterns(patterns: &[String]) -> BTreeSet<String> {
    patterns.iter().map(|p| canonical_pattern(p)).collect()
}

/// A pattern's canonical text: keys sorted, and the alternatives of a
/// list sorted and deduplicated. A pattern that is not JSON (AWS would
/// reject it) compares by its trimmed text.
fn canonical_pattern(pattern: &str) -> String {
    match serde_json::from_str::<Value>(pattern) {
        Ok(v) => canonical_value(&v, false).to_string(),
        Err(_) => pattern.trim().to_string(),
    }
}

/// `ordered` marks the one list in filter syntax whose order is meaning:
/// `{"numeric": [">", 0, "<=", 5]}` pairs each operator with the number
/// after it. Every other list is a set of alternatives.
fn canonical_value(v: &Value, ordered: bool) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), canonical_value(v, k == "numeric"))).collect())
        }
        Value::Array(list) if ordered => Value::Array(list.iter().map(|v| canonical_value(v, false)).collect()),
        Value::Array(list) => {
            let mut items: Vec<Value> = list.iter().map(|v| canonical_value(v, false)).collect();
            items.sort_by_key(|v| v.to_string());
            items.dedup();
            Value::Array(items)
        }
        other => other.clone(),
    }
}

/// Get and List answer with the same fields in different types.
macro_rules! mapping_from {
    ($name:ident, $ty:ty) => {
        /// The mapping as Lambda describes it; `None` without a UUID.
        /// Absent numbers take AWS's meaning of absent: moto leaves out
        /// MaximumBatchingWindowInSeconds when it was never set, AWS
        /// reports 0 for the same mapping.
        fn $name(c: &$ty) -> Option<Mapping> {
            Some(Mapping {
                uuid: c.uuid()?.to_string(),
                state: c.state().unwrap_or("Unknown").to_string(),
                state_reason: c.state_transition_reason().filter(|r| !r.is_empty()).map(str::to_string),
                function_arn: c.function_arn().unwrap_or_default().to_string(),
                event_source_arn: c.event_source_arn().unwrap_or_default().to_string(),
                batch_size: c.batch_size().unwrap_or_default(),
                maximum_batching_window_seconds: c.maximum_batching_window_in_seconds().unwrap_or(0),
                report_batch_item_failures: c.function_response_types().contains(&FunctionResponseType::ReportBatchItemFailures),
                maximum_concurrency: c.scaling_config().and_then(|s| s.maximum_concurrency()),
                filter_patterns: patterns_of(c.filter_criteria()),
            })
        }
    };
}

mapping_from!(mapping_from_get, GetEventSourceMappingOutput);
mapping_from!(mapping_from_config, EventSourceMappingConfiguration);

#[cfg(test)]
mod tests {
    use super::*;

    const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
    const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:consumer";
    const ONLY_PAID: &str = r#"{"body": {"status": ["paid"]}}"#;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn observed() -> Mapping {
        Mapping {
            uuid: "m-1".into(),
            state: "Enabled".into(),
            state_reason: Some("USER_INITIATED".into()),
            function_arn: FUNCTION_ARN.into(),
            event_source_arn: QUEUE.into(),
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            report_batch_item_failures: true,
            maximum_concurrency: Some(5),
            filter_patterns: strings(&[ONLY_PAID]),
        }
    }

    fn wanted() -> MappingSpec {
        MappingSpec {
            function_name: "consumer".into(),
            event_source_arn: QUEUE.into(),
            batch_size: 10,
            maximum_batching_window_seconds: 0,
            report_batch_item_failures: true,
            maximum_concurrency: Some(5),
            enabled: true,
            filter_patterns: strings(&[r#"{"body":{"status":["paid"]}}"#]),
        }
    }

    // ---- changes ----

    #[test]
    fn same_mapping_needs_no_update() {
        assert_eq!(changes(&observed(), &wanted()), None);
    }

    #[test]
    fn only_differing_settings_are_sent() {
        let mut want = wanted();
        want.batch_size = 50;
        want.maximum_batching_window_seconds = 5;
        assert_eq!(
            changes(&observed(), &want),
            Some(Update { batch_size: Some(50), maximum_batching_window_seconds: Some(5), ..Update::default() })
        );
    }

    #[test]
    fn removals_are_explicit() {
        let mut want = wanted();
        want.report_batch_item_failures = false;
        want.maximum_concurrency = None;
        want.filter_patterns.clear();
        let update = changes(&observed(), &want).unwrap();
        assert_eq!(update.report_batch_item_failures, Some(false));
        assert_eq!(update.maximum_concurrency, Some(None));
        assert_eq!(update.filter_patterns, Some(vec![]));
        assert_eq!(update.batch_size, None);
        assert_eq!(update.enabled, None);
    }

    #[test]
    fn additions_are_sent() {
        let mut cur = observed();
        cur.report_batch_item_failures = false;
        cur.maximum_concurrency = None;
        cur.filter_patterns.clear();
        let update = changes(&cur, &wanted()).unwrap();
        assert_eq!(update.report_batch_item_failures, Some(true));
        assert_eq!(update.maximum_concurrency, Some(Some(5)));
        assert_eq!(update.filter_patterns, Some(wanted().filter_patterns));
    }

    #[test]
    fn enabled_follows_the_state() {
        let mut want = wanted();
        for (state, desired, send) in [
            ("Enabled", true, None),
            ("Enabling", true, None),
            ("Enabled", false, Some(false)),
            ("Enabling", false, Some(false)),
            ("Disabled", false, None),
            ("Disabling", false, None),
            ("Disabled", true, Some(true)),
            ("Disabling", true, Some(true)),
            // Not telling: the wanted value is sent.
            ("Creating", true, Some(true)),
            ("Updating", false, Some(false)),
        ] {
            want.enabled = desired;
            let cur = Mapping { state: state.into(), ..observed() };
            assert_eq!(changes(&cur, &want).and_then(|u| u.enabled), send, "{state} / enabled={desired}");
        }
    }

    #[test]
    fn known_mapping_is_kept_updated_or_replaced() {
        assert_eq!(action(Some(observed()), &wanted()), Action::Keep(observed()));
        let mut bigger = wanted();
        bigger.batch_size = 50;
        assert_eq!(
            action(Some(observed()), &bigger),
            Action::Update { uuid: "m-1".into(), update: Update { batch_size: Some(50), ..Update::default() } }
        );
        let mut other_queue = wanted();
        other_queue.event_source_arn = "arn:aws:sqs:us-east-1:123456789012:orders-v2".into();
        assert_eq!(action(Some(observed()), &other_queue), Action::Create);
        assert_eq!(action(None, &wanted()), Action::Create);
    }

    #[test]
    fn update_emptiness() {
        assert!(Update::default().is_empty());
        assert!(!Update { maximum_concurrency: Some(None), ..Update::default() }.is_empty());
        assert!(!Update { filter_patterns: Some(vec![]), ..Update::default() }.is_empty());
    }

    // ---- filter patterns ----

    #[test]
    fn patterns_compare_by_meaning() {
        let a = strings(&[r#"{"body":{"status":["paid","shipped"]},"attributes":{"ApproximateReceiveCount":["1"]}}"#, ONLY_PAID]);
        let b = strings(&[
            ONLY_PAID,
            "{ \"attributes\": {\"ApproximateReceiveCount\": [\"1\"]},\n  \"body\": {\"status\": [\"shipped\", \"paid\", \"paid\"]} }",
        ]);
        assert!(same_filter_patterns(&a, &b));
        assert!(same_filter_patterns(&[], &[]));
        // Repetition of a whole pattern adds no alternative.
        assert!(same_filter_patterns(&strings(&[ONLY_PAID, ONLY_PAID]), &strings(&[ONLY_PAID])));
    }

    #[test]
    fn different_patterns_differ() {
        assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &strings(&[r#"{"body":{"status":["refunded"]}}"#])));
        assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &[]));
        // Filter syntax wants a list of alternatives; a bare string is a
        // different (invalid) pattern, not a way of writing the same one.
        assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &strings(&[r#"{"body":{"status":"paid"}}"#])));
    }

    #[test]
    fn numeric_ranges_keep_their_order() {
        let a = strings(&[r#"{"body":{"price":[{"numeric":[">",0,"<=",5]}]}}"#]);
        let b = strings(&[r#"{"body":{"price":[{"numeric":[">",5,"<=",0]}]}}"#]);
        assert!(!same_filter_patterns(&a, &b));
        let c = strings(&[r#"{"body":{"price":[{"numeric":[">", 0, "<=", 5]}]}}"#]);
        assert!(same_filter_patterns(&a, &c));
    }

    #[test]
    fn invalid_json_compares_as_text() {
        assert!(same_filter_patterns(&strings(&["{not json"]), &strings(&[" {not json "])));
        assert!(!same_filter_patterns(&strings(&["{not json"]), &strings(&["{not json either"])));
    }

    // ---- reading AWS's answer ----

    #[test]
    fn maps_a_listed_mapping() {
        let c = EventSourceMappingConfiguration::builder()
            .uuid("m-1")
            .state("Enabled")
            .state_transition_reason("USER_INITIATED")
            .function_arn(FUNCTION_ARN)
            .event_source_arn(QUEUE)
            .batch_size(10)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
            .scaling_config(scaling_config(5))
            .filter_criteria(filter_criteria(&strings(&[ONLY_PAID])))
            .build();
        assert_eq!(mapping_from_config(&c), Some(observed()));
    }

    #[test]
    fn absent_fields_take_aws_defaults() {
        let c = EventSourceMappingConfiguration::builder().uuid("m-2").state_transition_reason("").build();
        let m = mapping_from_config(&c).unwrap();
        assert_eq!(m.state, "Unknown");
        assert_eq!(m.state_reason, None);
        assert_eq!(m.maximum_batching_window_seconds, 0);
        assert!(!m.report_batch_item_failures);
        assert_eq!(m.maximum_concurrency, None);
        assert!(m.filter_patterns.is_empty());
        // An empty FilterCriteria (how a removal is stored) has no patterns.
        let c = EventSourceMappingConfiguration::builder().uuid("m-3").filter_criteria(FilterCriteria::builder().build()).build();
        assert!(mapping_from_config(&c).unwrap().filter_patterns.is_empty());
        assert_eq!(mapping_from_config(&EventSourceMappingConfiguration::builder().state("Enabled").build()), None);
    }

    #[test]
    fn picks_the_live_mapping_of_the_source() {
        let deleting = Mapping { uuid: "old".into(), state: "Deleting".into(), ..observed() };
        let live = Mapping { uuid: "new".into(), state: "Creating".into(), ..observed() };
        let other = Mapping { uuid: "other".into(), event_source_arn: "arn:aws:sqs:us-east-1:123456789012:other".into(), ..observed() };
        assert_eq!(pick(vec![other.clone(), deleting.clone(), live], QUEUE).map(|m| m.uuid), Some("new".into()));
        assert_eq!(pick(vec![deleting], QUEUE).map(|m| m.uuid), Some("old".into()));
        assert_eq!(pick(vec![other], QUEUE), None);
    }

    // ---- waits and retries ----

    #[test]
    fn settles_in_enabled_or_disabled_only() {
        for state in ["Enabled", "Disabled"] {
            assert!(matches!(settled("m-1", Some(Mapping { state: state.into(), ..observed() })), Ok(Poll::Done(_))), "{state}");
        }
        for state in ["Creating", "Enabling", "Disabling", "Updating"] {
            let round = settled("m-1", Some(Mapping { state: state.into(), ..observed() }));
            assert!(matches!(&round, Ok(Poll::Pending(s)) if s == &format!("{state} (reason: USER_INITIATED)")), "{state}");
        }
        let Err(e) = settled("m-1", Some(Mapping { state: "Deleting".into(), ..observed() })) else { panic!("Deleting must fail") };
        assert!(e.summary.contains("m-1") && e.summary.contains("deleted"), "{e:?}");
        let Err(e) = settled("m-1", None) else { panic!("a missing mapping must fail") };
        assert!(e.summary.contains("m-1 disappeared"), "{e:?}");
    }

    #[tokio::test]
    async fn a_stuck_mapping_times_out_naming_state_and_reason() {
        let stuck = Mapping { state: "Creating".into(), state_reason: Some("PROBLEM: queue not reachable".into()), ..observed() };
        let e = wait::until("event source mapping m-1 to settle", Duration::from_millis(20), Duration::from_millis(5), || {
            let stuck = stuck.clone();
            async move { settled("m-1", Some(stuck)) }
        })
        .await
        .unwrap_err();
        assert!(e.summary.contains("m-1"), "{e:?}");
        assert!(e.detail.contains("Creating (reason: PROBLEM: queue not reachable)"), "{e:?}");
    }

    #[test]
    fn recognises_a_role_lambda_cannot_use_yet() {
        let msg = "The provided execution role does not have permissions to call ReceiveMessage on SQS";
        assert!(role_not_ready(Some("InvalidParameterValueException"), Some(msg)));
        assert!(!role_not_ready(Some("InvalidParameterValueException"), Some("BatchSize 20000 exceeds the max of 10000")));
        assert!(!role_not_ready(Some("AccessDeniedException"), Some(msg)));
        assert!(!role_not_ready(None, None));
    }

    #[test]
    fn on_and_off_states() {
        assert_eq!(is_on("Enabled"), Some(true));
        assert_eq!(is_on("Enabling"), Some(true));
        assert_eq!(is_on("Disabled"), Some(false));
        assert_eq!(is_on("Disabling"), Some(false));
        assert_eq!(is_on("Creating"), None);
        assert_eq!(is_on("Deleting"), None);
    }

    #[test]
    fn requests_carry_removals_as_empty_values() {
        let criteria = filter_criteria(&[]);
        assert!(criteria.filters().is_empty());
        assert_eq!(filter_criteria(&strings(&[ONLY_PAID])).filters().len(), 1);
        assert_eq!(scaling_config(7).maximum_concurrency(), Some(7));
    }
}
