//! SQS queues (a pipeline's main queue and its dead-letter queue). A queue
//! is named, not numbered: CreateQueue of an existing name either returns
//! that queue (same attributes) or refuses (QueueAlreadyExists); both ways
//! `create` ends with the queue of that name brought to the spec, so a
//! create whose answer was lost is adopted, never duplicated.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_sqs::operation::create_queue::CreateQueueOutput;
use aws_sdk_sqs::types::QueueAttributeName;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use super::tags::{self, Tags};
use super::wait::{self, Poll};
use super::{has_code, PartResult};
use crate::aws::call_failed;
use crate::diag::Diagnostic;
use crate::policy;

const PART: &str = "sqs queue";

/// Attribute names this part manages.
pub const VISIBILITY_TIMEOUT: &str = "VisibilityTimeout";
pub const MESSAGE_RETENTION_PERIOD: &str = "MessageRetentionPeriod";
pub const FIFO_QUEUE: &str = "FifoQueue";
pub const SQS_MANAGED_SSE_ENABLED: &str = "SqsManagedSseEnabled";
pub const KMS_MASTER_KEY_ID: &str = "KmsMasterKeyId";
pub const REDRIVE_POLICY: &str = "RedrivePolicy";
pub const POLICY: &str = "Policy";
pub const QUEUE_ARN: &str = "QueueArn";
pub const DELAY_SECONDS: &str = "DelaySeconds";
pub const RECEIVE_WAIT_TIME_SECONDS: &str = "ReceiveMessageWaitTimeSeconds";
pub const MAXIMUM_MESSAGE_SIZE: &str = "MaximumMessageSize";
pub const CONTENT_BASED_DEDUPLICATION: &str = "ContentBasedDeduplication";
pub const APPROXIMATE_NUMBER_OF_MESSAGES: &str = "ApproximateNumberOfMessages";

/// Attributes that are cleared (set to "") when the spec no longer wants
/// them; the others always have a value.
const CLEARABLE: [&str; 3] = [REDRIVE_POLICY, POLICY, KMS_MASTER_KEY_ID];

/// "No such queue". The SDK reports SQS's query-compatible code (from the
/// x-amzn-query-error header); QueueDoesNotExist is the JSON protocol's own
/// name for it, seen when a server leaves that header out.
const QUEUE_MISSING: [&str; 2] = ["AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"];
/// CreateQueue of a name that exists with other attributes.
const NAME_TAKEN: [&str; 2] = ["QueueAlreadyExists", "QueueNameExists"];
/// CreateQueue of a name whose queue was deleted less than 60 s ago.
const DELETED_RECENTLY: [&str; 2] = ["AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently"];

/// AWS frees a deleted queue's name after 60 s; a little more for clocks.
const NAME_REUSE_WAIT: Duration = Duration::from_secs(70);
/// AWS asks to wait a second after CreateQueue before using the queue;
/// allow much more for a slow region before calling it a failure.
const PROPAGATION: Duration = Duration::from_secs(60);

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// Full name; ends in `.fifo` when `fifo`.
    pub name: String,
    /// Fixed at creation: AWS cannot turn a queue into a FIFO queue or back.
    pub fifo: bool,
    pub visibility_timeout_seconds: i32,
    pub message_retention_seconds: i32,
    /// `None` = SSE-SQS (SQS-owned keys, `SqsManagedSseEnabled=true`).
    pub kms_master_key_id: Option<String>,
    pub redrive: Option<Redrive>,
    /// Attach the queue policy that denies every call made without TLS.
    pub tls_only: bool,
    pub settings: QueueSettings,
    /// All tags to put on the queue (user tags + ownership).
    pub tags: Tags,
}

/// How the queue delivers messages. SQS API reference, CreateQueue,
/// `Attributes`: DelaySeconds 0 to 900 (default 0),
/// ReceiveMessageWaitTimeSeconds 0 to 20 (default 0), MaximumMessageSize
/// 1,024 to 1,048,576 bytes (default 1,048,576: SQS raised both from 256 KiB
/// in 2025), ContentBasedDeduplication for FIFO queues only (default false).
/// <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html>
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSettings {
    pub delay_seconds: i32,
    pub receive_wait_time_seconds: i32,
    pub maximum_message_size: i32,
    /// Sent for FIFO queues only; SQS refuses it on a standard queue.
    pub content_based_deduplication: bool,
}

impl Default for QueueSettings {
    fn default() -> QueueSettings {
        QueueSettings {
            delay_seconds: 0,
            receive_wait_time_seconds: 0,
            maximum_message_size: MAX_MESSAGE_BYTES,
            content_based_deduplication: false,
        }
    }
}

/// SQS's largest message, and the default MaximumMessageSize (CreateQueue).
pub const MAX_MESSAGE_BYTES: i32 = 1_048_576;
/// SQS's smallest MaximumMessageSize.
pub const MIN_MESSAGE_SIZE_LIMIT: i32 = 1_024;

/// Where messages go after `max_receive_count` failed receives.
#[derive(Debug, Clone, PartialEq)]
pub struct Redrive {
    pub dead_letter_arn: String,
    pub max_receive_count: i32,
}

/// A queue as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Queue {
    pub url: String,
    pub arn: String,
    pub name: String,
    /// Every attribute GetQueueAttributes(All) answered, as AWS wrote it.
    pub attributes: BTreeMap<String, String>,
    pub tags: Tags,
}

/// The attributes `spec` asks for. `queue_arn` goes into the TLS-only
/// policy (the policy's Resource). FifoQueue is only honoured by
/// CreateQueue; `attribute_changes` never asks to change it.
pub fn desired_attributes(spec: &QueueSpec, queue_arn: &str) -> BTreeMap<String, String> {
    let mut wanted = BTreeMap::new();
    let mut set = |k: &str, v: String| wanted.insert(k.to_string(), v);
    set(VISIBILITY_TIMEOUT, spec.visibility_timeout_seconds.to_string());
    set(MESSAGE_RETENTION_PERIOD, spec.message_retention_seconds.to_string());
    if spec.fifo {
        set(FIFO_QUEUE, "true".into());
        set(CONTENT_BASED_DEDUPLICATION, spec.settings.content_based_deduplication.to_string());
    }
    set(DELAY_SECONDS, spec.settings.delay_seconds.to_string());
    set(RECEIVE_WAIT_TIME_SECONDS, spec.settings.receive_wait_time_seconds.to_string());
    set(MAXIMUM_MESSAGE_SIZE, spec.settings.maximum_message_size.to_string());
    match &spec.kms_master_key_id {
        None => {
            set(SQS_MANAGED_SSE_ENABLED, "true".into());
        }
        Some(key) => {
            // A queue has one kind of SSE; saying "false" makes a switch from
            // SSE-SQS to KMS one SetQueueAttributes.
            set(KMS_MASTER_KEY_ID, key.clone());
            set(SQS_MANAGED_SSE_ENABLED, "false".into());
        }
    }
    if let Some(r) = &spec.redrive {
        set(REDRIVE_POLICY, redrive_policy(r));
    }
    if spec.tls_only {
        set(POLICY, policy::queue_tls_only(queue_arn));
    }
    wanted
}

/// The queue's ARN from its URL: `https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`
/// (or an emulator's `http://host:port/ACCOUNT/NAME`). `None` when the URL
/// does not have that shape.
pub fn arn_from_url(url: &str, region: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let segments: Vec<&str> = parsed.path_segments()?.filter(|s| !s.is_empty()).collect();
    let [account, name] = segments.as_slice() else { return None };
    if region.is_empty() {
        return None;
    }
    Some(format!("arn:{}:sqs:{region}:{account}:{name}", partition(region)))
}

/// What to send in SetQueueAttributes to bring `current` to `desired`:
/// only the attributes that differ in meaning. JSON attributes compare as
/// JSON (the Policy as a policy), and an attribute `desired` drops
/// (RedrivePolicy, Policy, KmsMasterKeyId) is cleared with "". FifoQueue
/// is never in the changes: it cannot change after creation.
pub fn attribute_changes(current: &BTreeMap<String, String>, desired: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut changes: BTreeMap<String, String> = desired
        .iter()
        .filter(|(k, _)| k.as_str() != FIFO_QUEUE)
        .filter(|(k, want)| !same_value(k, observed(current, k), want))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for k in CLEARABLE {
        if !desired.contains_key(k) && current.get(k).is_some_and(|v| !v.is_empty()) {
            changes.insert(k.to_string(), String::new());
        }
    }
    changes
}

/// CreateQueue with the spec's attributes and tags, then the queue policy
/// (it names the queue's ARN, known only once the queue exists) and any
/// attribute an existing queue of that name had otherwise. Waits out AWS's
/// 60 s ban on reusing a just-deleted queue's name.
pub async fn create(sqs: &aws_sdk_sqs::Client, spec: &QueueSpec) -> PartResult<Queue> {
    let url = create_or_find_url(sqs, spec).await?;
    let created = wait_visible(sqs, &url).await?;
    update(sqs, &created, spec).await?;
    find(sqs, &url).await?.ok_or_else(|| vanished(&url))
}

/// A queue brought to `spec`: the `known` one (what the state recorded and
/// still exists) updated and read again, else created (SQS's create adopts
/// a queue of that name, so no lookup by name is needed first).
pub async fn ensure(sqs: &aws_sdk_sqs::Client, spec: &QueueSpec, known: Option<Queue>) -> PartResult<Queue> {
    let Some(q) = known else { return create(sqs, spec).await };
    update(sqs, &q, spec).await?;
    find(sqs, &q.url).await?.ok_or_else(|| Diagnostic::error("sqs queue: vanished", format!("{} disappeared while it was updated.", q.url)))
}

/// GetQueueAttributes(All) + ListQueueTags; `None` when the queue does not
/// exist.
pub async fn find(sqs: &aws_sdk_sqs::Client, url: &str) -> PartResult<Option<Queue>> {
    let Some(mut queue) = find_settings(sqs, url).await? else { return Ok(None) };
    queue.tags = match sqs.list_queue_tags().queue_url(url).send().await {
        Ok(out) => out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
        // Deleted between the two calls.
        Err(e) if has_code(&e, &QUEUE_MISSING) => return Ok(None),
        Err(e) => return Err(call_failed(PART, "sqs:ListQueueTags", &e)),
    };
    Ok(Some(queue))
}

/// GetQueueAttributes(All) only: the queue's settings without its tags
/// (`tags` is left empty). For refreshes, which show settings but not the
/// queue's tags; never the input of `update`, which would re-tag.
pub async fn find_settings(sqs: &aws_sdk_sqs::Client, url: &str) -> PartResult<Option<Queue>> {
    let attributes = match sqs.get_queue_attributes().queue_url(url).attribute_names(QueueAttributeName::All).send().await {
        Ok(out) => attributes_from_sqs(out.attributes()),
        Err(e) if has_code(&e, &QUEUE_MISSING) => return Ok(None),
        Err(e) => return Err(call_failed(PART, "sqs:GetQueueAttributes", &e)),
    };
    let Some(arn) = attributes.get(QUEUE_ARN).filter(|a| !a.is_empty()).cloned() else {
        return Err(Diagnostic::error(
            format!("{PART}: sqs:GetQueueAttributes answered no QueueArn"),
            format!(
                "The attributes of {url} carry no QueueArn, so the queue cannot be referenced (redrive, policies, event source mappings)."
            ),
        ));
    };
    let name = arn.rsplit(':').next().unwrap_or_default().to_string();
    Ok(Some(Queue { url: url.to_string(), arn, name, attributes, tags: Tags::default() }))
}

/// GetQueueUrl, then `find`; `None` when no queue has that name.
pub async fn find_by_name(sqs: &aws_sdk_sqs::Client, name: &str) -> PartResult<Option<Queue>> {
    match url_of(sqs, name).await? {
        Some(url) => find(sqs, &url).await,
        None => Ok(None),
    }
}

/// GetQueueUrl, then `find_settings` (no tags, so no sqs:ListQueueTags);
/// `None` when no queue has that name.
pub async fn find_settings_by_name(sqs: &aws_sdk_sqs::Client, name: &str) -> PartResult<Option<Queue>> {
    match url_of(sqs, name).await? {
        Some(url) => find_settings(sqs, &url).await,
        None => Ok(None),
    }
}

/// Brings `current` to `desired`: one SetQueueAttributes with what
/// differs, then at most one UntagQueue and one TagQueue. No call when
/// nothing differs.
pub async fn update(sqs: &aws_sdk_sqs::Client, current: &Queue, desired: &QueueSpec) -> PartResult<()> {
    let wanted = desired_attributes(desired, &current.arn);
    let mut changes = attribute_changes(&current.attributes, &wanted);
    if !changes.is_empty() {
        // Moto quirk: its SetQueueAttributes drops the queue policy unless
        // the call carries one. Sending the unchanged policy along costs no
        // call and is a no-op on AWS, so the policy always rides along.
        if let Some(p) = wanted.get(POLICY) {
            changes.entry(POLICY.to_string()).or_insert_with(|| p.clone());
        }
        set_attributes(sqs, &current.url, changes).await?;
    }
    update_tags(sqs, &current.url, &current.tags, &desired.tags).await
}

/// DeleteQueue; a queue already gone is success. AWS deletes within 60 s
/// and refuses the name meanwhile, which `create` waits out.
pub async fn delete(sqs: &aws_sdk_sqs::Client, url: &str) -> PartResult<()> {
    match sqs.delete_queue().queue_url(url).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &QUEUE_MISSING) => Ok(()),
        Err(e) => Err(call_failed(PART, "sqs:DeleteQueue", &e)),
    }
}

/// How a CreateQueue call ended.
#[derive(Debug, PartialEq)]
enum Created {
    /// A new queue, or an existing one with the same attributes.
    Url(String),
    /// A queue of that name exists with other attributes.
    NameTaken,
}

/// CreateQueue (retried while the name is banned after a delete); the
/// queue of that name's URL whichever way it went.
async fn create_or_find_url(sqs: &aws_sdk_sqs::Client, spec: &QueueSpec) -> PartResult<String> {
    let attributes = create_attributes(spec);
    let tags: HashMap<String, String> = spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let what =
        format!("the name of queue {:?} to be free: AWS refuses a new queue with the name of one deleted less than 60 s ago", spec.name);
    let created = wait::until(&what, NAME_REUSE_WAIT, Duration::from_secs(2), || {
        let call = sqs
            .create_queue()
            .queue_name(&spec.name)
            .set_attributes(Some(attributes.clone()))
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send();
        async move { create_round(call.await) }
    })
    .await?;
    match created {
        Created::Url(url) => Ok(url),
        // Adopted: `create` brings its attributes and tags to the spec.
        Created::NameTaken => url_of(sqs, &spec.name).await?.ok_or_else(|| {
            Diagnostic::error(
                format!("{PART}: queue {:?} vanished while being adopted", spec.name),
                "sqs:CreateQueue answered that a queue of this name exists, then sqs:GetQueueUrl that it does not: \
                 something else is deleting it. Apply again once that has settled.",
            )
        }),
    }
}

/// The attributes CreateQueue carries: all but the policy, which names the
/// queue's ARN (its account is known only from the answer).
fn create_attributes(spec: &QueueSpec) -> HashMap<QueueAttributeName, String> {
    desired_attributes(spec, "").into_iter().filter(|(k, _)| k != POLICY).map(|(k, v)| (QueueAttributeName::from(k.as_str()), v)).collect()
}

/// One CreateQueue answer as a round of the name-reuse wait.
fn create_round<E: ProvideErrorMetadata + std::error::Error + 'static>(answer: Result<CreateQueueOutput, E>) -> PartResult<Poll<Created>> {
    match answer {
        Ok(out) => match out.queue_url().filter(|u| !u.is_empty()) {
            Some(url) => Ok(Poll::Done(Created::Url(url.to_string()))),
            None => Err(Diagnostic::error(
                format!("{PART}: sqs:CreateQueue answered no queue URL"),
                "AWS's answer carried no QueueUrl; the queue may exist and will be adopted by name on the next apply.",
            )),
        },
        Err(e) if has_code(&e, &NAME_TAKEN) => Ok(Poll::Done(Created::NameTaken)),
        Err(e) if has_code(&e, &DELETED_RECENTLY) => Ok(Poll::Pending(format!(
            "{}: {}",
            e.code().unwrap_or("QueueDeletedRecently"),
            e.message().unwrap_or("a queue of this name was deleted less than 60 s ago")
        ))),
        Err(e) => Err(call_failed(PART, "sqs:CreateQueue", &e)),
    }
}

/// GetQueueUrl; `None` when no queue has that name.
async fn url_of(sqs: &aws_sdk_sqs::Client, name: &str) -> PartResult<Option<String>> {
    match sqs.get_queue_url().queue_name(name).send().await {
        Ok(out) => Ok(out.queue_url().filter(|u| !u.is_empty()).map(str::to_string)),
        Err(e) if has_code(&e, &QUEUE_MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "sqs:GetQueueUrl", &e)),
    }
}

/// The queue of `arn` (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`), found
/// by name in that account with GetQueueUrl and read with `find_settings`;
/// `None` when it does not exist. The region is the client's: SQS serves
/// each region's queues at its own endpoint.
pub async fn find_by_arn(sqs: &aws_sdk_sqs::Client, arn: &str) -> PartResult<Option<Queue>> {
    let mut parts = arn.splitn(6, ':').skip(4);
    let (Some(account), Some(name)) = (parts.next(), parts.next()) else {
        return Err(Diagnostic::error(
            format!("{PART}: not a queue ARN"),
            format!("{arn:?} is not an SQS queue ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)."),
        ));
    };
    let url = match sqs.get_queue_url().queue_name(name).queue_owner_aws_account_id(account).send().await {
        Ok(out) => out.queue_url().filter(|u| !u.is_empty()).map(str::to_string),
        Err(e) if has_code(&e, &QUEUE_MISSING) => None,
        Err(e) => return Err(call_failed(PART, "sqs:GetQueueUrl", &e)),
    };
    match url {
        Some(url) => find_settings(sqs, &url).await,
        None => Ok(None),
    }
}

/// The URLs of the queues whose RedrivePolicy names the queue at `url` as
/// their dead-letter queue (ListDeadLetterSourceQueues, every page).
pub async fn dead_letter_sources(sqs: &aws_sdk_sqs::Client, url: &str) -> PartResult<Vec<String>> {
    let mut pages = sqs.list_dead_letter_source_queues().queue_url(url).into_paginator().send();
    let mut urls = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_failed(PART, "sqs:ListDeadLetterSourceQueues", &e))?;
        urls.extend(page.queue_urls().iter().cloned());
    }
    Ok(urls)
}

impl Queue {
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }

    /// ApproximateNumberOfMessages: the messages waiting to be received.
    pub fn waiting(&self) -> i64 {
        self.attributes.get(APPROXIMATE_NUMBER_OF_MESSAGES).and_then(|n| n.parse().ok()).unwrap_or(0)
    }
}

/// `find` until the new queue answers.
async fn wait_visible(sqs: &aws_sdk_sqs::Client, url: &str) -> PartResult<Queue> {
    let what = format!("queue {url} to be visible after creation");
    wait::until(&what, PROPAGATION, Duration::from_millis(500), || async move {
        Ok(match find(sqs, url).await? {
            Some(q) => Poll::Done(q),
            None => Poll::Pending("not found yet".into()),
        })
    })
    .await
}

async fn set_attributes(sqs: &aws_sdk_sqs::Client, url: &str, changes: BTreeMap<String, String>) -> PartResult<()> {
    let attributes = changes.into_iter().map(|(k, v)| (QueueAttributeName::from(k.as_str()), v)).collect();
    sqs.set_queue_attributes()
        .queue_url(url)
        .set_attributes(Some(attributes))
        .send()
        .await
        .map_err(|e| call_failed(PART, "sqs:SetQueueAttributes", &e))?;
    Ok(())
}

/// At most one UntagQueue and one TagQueue. Keys under `aws:` belong to AWS
/// (CloudFormation's, for instance) and cannot be removed by anyone else.
async fn update_tags(sqs: &aws_sdk_sqs::Client, url: &str, current: &Tags, desired: &Tags) -> PartResult<()> {
    let (remove, add) = tags::tag_changes(current, desired);
    let remove: Vec<String> = remove.into_iter().filter(|k| !k.starts_with("aws:")).collect();
    if !remove.is_empty() {
        sqs.untag_queue().queue_url(url).set_tag_keys(Some(remove)).send().await.map_err(|e| call_failed(PART, "sqs:UntagQueue", &e))?;
    }
    if !add.is_empty() {
        sqs.tag_queue()
            .queue_url(url)
            .set_tags(Some(add.into_iter().collect()))
            .send()
            .await
            .map_err(|e| call_failed(PART, "sqs:TagQueue", &e))?;
    }
    Ok(())
}

fn attributes_from_sqs(attributes: Option<&HashMap<QueueAttributeName, String>>) -> BTreeMap<String, String> {
    attributes.map(|m| m.iter().map(|(k, v)| (k.as_str().to_string(), v.clone())).collect()).unwrap_or_default()
}

/// The redrive policy as SQS takes it (maxReceiveCount a number).
fn redrive_policy(r: &Redrive) -> String {
    serde_json::json!({"deadLetterTargetArn": r.dead_letter_arn, "maxReceiveCount": r.max_receive_count}).to_string()
}

/// An attribute's observed value. A queue that reports no
/// SqsManagedSseEnabled (older queues, some emulators) does not have it on.
fn observed<'a>(current: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    match current.get(key) {
        Some(v) => Some(v.as_str()),
        None if key == SQS_MANAGED_SSE_ENABLED => Some("false"),
        None => None,
    }
}

/// Equal in meaning: policies as policies, the redrive policy as JSON,
/// anything else as text.
fn same_value(key: &str, have: Option<&str>, want: &str) -> bool {
    let Some(have) = have else { return false };
    if have == want {
        return true;
    }
    match key {
        POLICY => policy::equivalent(have, want),
        REDRIVE_POLICY => match (redrive_meaning(have), redrive_meaning(want)) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

/// A redrive policy as JSON with maxReceiveCount a number: SQS has been
/// seen answering it as a string ("4") for a policy set with a number.
fn redrive_meaning(doc: &str) -> Option<Value> {
    let mut v: Value = serde_json::from_str(doc).ok()?;
    if let Some(count) = v.get_mut("maxReceiveCount") {
        if let Some(n) = count.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
            *count = Value::from(n);
        }
    }
    Some(v)
}

/// The ARN partition of a region.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn vanished(url: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{PART}: queue {url} vanished right after it was created"),
        "The queue answered while being set up, then sqs:GetQueueAttributes said it does not exist: something else deleted it.",
    )
}

pub mod move_task;

#[cfg(test)]
mod tests;
