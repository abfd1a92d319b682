//! The provider's actions driven over gRPC as Terraform 1.14+ drives them:
//! ValidateActionConfig, PlanAction, and InvokeAction's stream of progress
//! events ending in one completed event. Every diagnostic passes
//! `driver::for_people`. Also the SQS side of a redrive test: messages put
//! in a queue, counted, and the queue's message move tasks listed.

use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{ListMessageMoveTasksResultEntry as Task, QueueAttributeName as Attr};
use rmpv::Value as V;
use tonic::transport::Channel;

use privatelink::proto::tfplugin6 as pb;
use privatelink::proto::tfplugin6::provider_client::ProviderClient;

use super::driver::{for_people, show};
use super::{msgpack, obj};

/// The redrive action's type.
pub const REDRIVE: &str = "privatelink_dead_letter_redrive";

/// The redrive's attributes, in the schema's order.
const ATTRIBUTES: [&str; 4] = ["pipeline", "source_arn", "destination_arn", "max_messages_per_second"];

/// The action's configuration as Terraform sends it: every attribute,
/// null unless set here.
pub fn redrive(set: Vec<(&str, V)>) -> V {
    for (k, _) in &set {
        assert!(ATTRIBUTES.contains(k), "{k} is no attribute of {REDRIVE}");
    }
    obj(ATTRIBUTES.iter().map(|k| (*k, set.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or(V::Nil))).collect())
}

fn dv(v: &V) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: msgpack(v.clone()), json: vec![] })
}

pub async fn validate(client: &mut ProviderClient<Channel>, config: &V) -> Vec<pb::Diagnostic> {
    let r = client
        .validate_action_config(pb::validate_action_config::Request { type_name: REDRIVE.into(), config: dv(config) })
        .await
        .expect("ValidateActionConfig answered");
    for_people(r.into_inner().diagnostics)
}

pub async fn plan(client: &mut ProviderClient<Channel>, config: &V) -> Vec<pb::Diagnostic> {
    let r = client
        .plan_action(pb::plan_action::Request { action_type: REDRIVE.into(), config: dv(config), client_capabilities: None })
        .await
        .expect("PlanAction answered")
        .into_inner();
    assert!(r.deferred.is_none(), "the redrive is never deferred: {:?}", r.deferred);
    for_people(r.diagnostics)
}

/// InvokeAction's event stream, not read yet.
pub async fn start(client: &mut ProviderClient<Channel>, config: &V) -> tonic::Streaming<pb::invoke_action::Event> {
    client
        .invoke_action(pb::invoke_action::Request { action_type: REDRIVE.into(), config: dv(config), client_capabilities: None })
        .await
        .expect("InvokeAction answered")
        .into_inner()
}

/// What an invoke told, as Terraform reads it.
#[derive(Debug, Default)]
pub struct Told {
    /// The progress messages, in order.
    pub progress: Vec<String>,
    /// The completed event's diagnostics; None until it came.
    pub completed: Option<Vec<pb::Diagnostic>>,
}

impl Told {
    /// The completed event's diagnostics, after asserting it came last
    /// and has no error.
    pub fn completed_ok(&self) -> &[pb::Diagnostic] {
        let d = self.completed.as_deref().unwrap_or_else(|| panic!("no completed event; progress: {:?}", self.progress));
        assert!(super::driver::errors(d).is_empty(), "the action failed:\n{}\nprogress: {:?}", show(d), self.progress);
        d
    }

    /// The completed event's errors (it must have come, with one at least).
    pub fn completed_errors(&self) -> Vec<&pb::Diagnostic> {
        let d = self.completed.as_deref().unwrap_or_else(|| panic!("no completed event; progress: {:?}", self.progress));
        let e = super::driver::errors(d);
        assert!(!e.is_empty(), "the action completed without an error; progress: {:?}", self.progress);
        e
    }
}

/// Reads one event; None when the stream ended.
pub async fn next(stream: &mut tonic::Streaming<pb::invoke_action::Event>, told: &mut Told) -> Option<()> {
    use pb::invoke_action::event::Type;
    let event = stream.message().await.expect("the invoke stream carries events, not an error")?;
    assert!(told.completed.is_none(), "an event after the completed event: {event:?}");
    match event.r#type.expect("an event of a type") {
        Type::Progress(p) => told.progress.push(p.message),
        Type::Completed(c) => told.completed = Some(for_people(c.diagnostics)),
    }
    Some(())
}

/// Reads the stream to its end (`limit` at most): the completed event
/// must be its last.
pub async fn finish(stream: &mut tonic::Streaming<pb::invoke_action::Event>, told: &mut Told, limit: Duration) {
    let end = tokio::time::timeout(limit, async { while next(stream, told).await.is_some() {} }).await;
    assert!(end.is_ok(), "the invoke did not end within {limit:?}; progress: {:?}", told.progress);
    assert!(told.completed.is_some(), "the stream ended without a completed event; progress: {:?}", told.progress);
}

/// Invoke and read everything it tells.
pub async fn invoke(client: &mut ProviderClient<Channel>, config: &V, limit: Duration) -> Told {
    let mut stream = start(client, config).await;
    let mut told = Told::default();
    finish(&mut stream, &mut told, limit).await;
    told
}

/// N of "... was cancelled after it moved N messages" (the Stopped error).
pub fn said_moved(detail: &str) -> i64 {
    let after = detail.split("after it moved ").nth(1).unwrap_or_else(|| panic!("no moved count in {detail:?}"));
    after.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no moved count in {detail:?}"))
}

/// ApproximateNumberOfMessages of the queue at `url`.
pub async fn waiting(sqs: &aws_sdk_sqs::Client, url: &str) -> i64 {
    let got = sqs.get_queue_attributes().queue_url(url).attribute_names(Attr::ApproximateNumberOfMessages).send().await.unwrap();
    got.attributes().unwrap()[&Attr::ApproximateNumberOfMessages].parse().unwrap()
}

/// Sends `n` messages (`message-0`...) straight to the queue at `url`
/// (on a FIFO queue, in one group, each with its deduplication id).
pub async fn send(sqs: &aws_sdk_sqs::Client, url: &str, n: usize) {
    for i in 0..n {
        let mut m = sqs.send_message().queue_url(url).message_body(format!("message-{i}"));
        if url.ends_with(".fifo") {
            m = m.message_group_id("g").message_deduplication_id(format!("d{i}"));
        }
        m.send().await.unwrap();
    }
}

/// The queue's URL and ARN.
pub async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs.get_queue_url().queue_name(name).send().await.unwrap_or_else(|e| panic!("no queue {name}: {e:?}"));
    let url = url.queue_url().unwrap().to_string();
    let got = sqs.get_queue_attributes().queue_url(&url).attribute_names(Attr::QueueArn).send().await.unwrap();
    let arn = got.attributes().unwrap()[&Attr::QueueArn].clone();
    (url, arn)
}

/// The most recent move tasks of the queue `arn` (ten at most), most
/// recent first.
pub async fn tasks(sqs: &aws_sdk_sqs::Client, arn: &str) -> Vec<Task> {
    sqs.list_message_move_tasks().source_arn(arn).max_results(10).send().await.unwrap().results().to_vec()
}

/// The tasks of `arn` once none is RUNNING or CANCELLING any more (`limit` at most).
pub async fn settled(sqs: &aws_sdk_sqs::Client, arn: &str, limit: Duration) -> Vec<Task> {
    let start = Instant::now();
    loop {
        let t = tasks(sqs, arn).await;
        if !t.iter().any(|t| matches!(t.status(), Some("RUNNING" | "CANCELLING"))) {
            return t;
        }
        assert!(start.elapsed() < limit, "a task still runs after {limit:?}: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
