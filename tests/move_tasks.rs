//! SQS message move tasks (dead-letter queue redrive) through the AWS
//! rules proxy in front of a real moto (tests/common/move_tasks.rs): moto
//! 5.2.5 has no StartMessageMoveTask, ListMessageMoveTasks or
//! CancelMessageMoveTask, so the proxy answers them as SQS documents them
//! and moves real messages between moto's queues. Each test sends real
//! messages to a dead-letter queue, redrives them with aws-sdk-sqs, and
//! reads where they went.
//!
//! moto quirks met on the way (moto 5.2.5): no move-task actions at all;
//! messages it dead-letters carry no DeadLetterQueueSourceArn (so with no
//! destination the proxy sends to the one queue redriving into the
//! dead-letter queue, and refuses when there are several); no FifoQueue
//! attribute on a standard queue (as AWS).

use crate::common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_sqs::types::{
    ListMessageMoveTasksResultEntry as Entry, Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName as Attr,
};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::moto::Moto;
use common::move_tasks::{allowance, encode_handle};

/// A moto server and an SQS client through its AWS rules proxy
/// (`moto.url()`: the proxy goes, and its movers stop, before the server
/// is handed to the next test).
struct Bed {
    moto: Moto,
    sqs: aws_sdk_sqs::Client,
}

async fn bed() -> Bed {
    let moto = Moto::start();
    let sqs = common::aws(&moto.url()).await.sqs.clone();
    Bed { moto, sqs }
}

struct Queue {
    url: String,
    arn: String,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str, attributes: &[(Attr, String)]) -> Queue {
    let mut create = sqs.create_queue().queue_name(name);
    if name.ends_with(".fifo") {
        create = create.attributes(Attr::FifoQueue, "true");
    }
    for (k, v) in attributes {
        create = create.attributes(k.clone(), v);
    }
    let url = create.send().await.unwrap().queue_url().unwrap().to_string();
    let got = sqs.get_queue_attributes().queue_url(&url).attribute_names(Attr::QueueArn).send().await.unwrap();
    let arn = got.attributes().unwrap()[&Attr::QueueArn].clone();
    Queue { url, arn }
}

/// A dead-letter queue `{name}-dlq` and the queue `{name}` whose
/// RedrivePolicy names it (both FIFO when `fifo`).
async fn redriven(sqs: &aws_sdk_sqs::Client, name: &str, fifo: bool) -> (Queue, Queue) {
    let suffix = if fifo { ".fifo" } else { "" };
    let dlq = queue(sqs, &format!("{name}-dlq{suffix}"), &[]).await;
    let policy = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"3"}}"#, dlq.arn);
    let source = queue(sqs, &format!("{name}{suffix}"), &[(Attr::RedrivePolicy, policy)]).await;
    (source, dlq)
}

/// Sends `message-0`... to `q`, each with a String and a Binary attribute;
/// on a FIFO queue in groups `g0` and `g1`.
async fn fill(sqs: &aws_sdk_sqs::Client, q: &Queue, n: usize) {
    for i in 0..n {
        let mut send = sqs
            .send_message()
            .queue_url(&q.url)
            .message_body(format!("message-{i}"))
            .message_attributes("n", MessageAttributeValue::builder().data_type("String").string_value(i.to_string()).build().unwrap())
            .message_attributes(
                "blob",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(aws_smithy_types::Blob::new(vec![i as u8, 255]))
                    .build()
                    .unwrap(),
            );
        if q.url.ends_with(".fifo") {
            send = send.message_group_id(format!("g{}", i % 2)).message_deduplication_id(format!("d{i}"));
        }
        send.send().await.unwrap();
    }
}

/// ApproximateNumberOfMessages.
async fn visible(sqs: &aws_sdk_sqs::Client, q: &Queue) -> i64 {
    let got = sqs.get_queue_attributes().queue_url(&q.url).attribute_names(Attr::ApproximateNumberOfMessages).send().await.unwrap();
    got.attributes().unwrap()[&Attr::ApproximateNumberOfMessages].parse().unwrap()
}

/// Every visible message of `q`, received (not deleted) with its attributes.
async fn receive_all(sqs: &aws_sdk_sqs::Client, q: &Queue) -> Vec<Message> {
    let mut all = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(&q.url)
            .max_number_of_messages(10)
            .visibility_timeout(60)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        if got.messages().is_empty() {
            return all;
        }
        all.extend(got.messages().iter().cloned());
    }
}

async fn tasks(sqs: &aws_sdk_sqs::Client, source: &Queue, max: Option<i32>) -> Vec<Entry> {
    let mut list = sqs.list_message_move_tasks().source_arn(&source.arn);
    if let Some(m) = max {
        list = list.max_results(m);
    }
    list.send().await.unwrap().results().to_vec()
}

async fn latest(sqs: &aws_sdk_sqs::Client, source: &Queue) -> Entry {
    tasks(sqs, source, None).await.into_iter().next().expect("a task on the source")
}

/// The latest task once its status is `status` (10 s at most).
async fn once(sqs: &aws_sdk_sqs::Client, source: &Queue, status: &str) -> Entry {
    let start = Instant::now();
    loop {
        let t = latest(sqs, source).await;
        if t.status() == Some(status) {
            return t;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still {:?} after 10 s, not {status}: {t:?}", t.status());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The error code and message of a failed SDK call.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> (String, String) {
    let e = r.expect_err("AWS refuses this call");
    (e.code().unwrap_or("?").to_string(), e.message().unwrap_or("").to_string())
}

fn bodies(messages: &[Message]) -> Vec<String> {
    messages.iter().map(|m| m.body().unwrap().to_string()).collect()
}

/// No DestinationArn: every message goes back to the queue whose
/// RedrivePolicy names the dead-letter queue, body and attributes kept;
/// the task lists RUNNING with its handle, then COMPLETED without it. The
/// proxy's own SQS calls are not among the calls it counts.
#[tokio::test]
async fn a_redrive_without_destination_returns_every_message_to_its_source() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (source, dlq) = redriven(sqs, "orders", false).await;
    fill(sqs, &dlq, 5).await;

    let started = sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(10).send().await.unwrap();
    let handle = started.task_handle().unwrap().to_string();
    let running = latest(sqs, &dlq).await;
    assert_eq!(running.status(), Some("RUNNING"), "{running:?}");
    assert_eq!(running.task_handle(), Some(handle.as_str()));
    assert_eq!(running.source_arn(), Some(dlq.arn.as_str()));
    assert_eq!(running.destination_arn(), None, "no destination was given");
    assert_eq!(running.max_number_of_messages_per_second(), Some(10));
    assert_eq!(running.approximate_number_of_messages_to_move(), Some(5));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((now - running.started_timestamp()).abs() < 60_000, "StartedTimestamp in epoch ms: {}", running.started_timestamp());

    let done = once(sqs, &dlq, "COMPLETED").await;
    assert_eq!((done.approximate_number_of_messages_moved(), done.approximate_number_of_messages_to_move()), (5, Some(5)));
    assert_eq!(done.task_handle(), None, "a handle only while RUNNING");
    assert_eq!(visible(sqs, &dlq).await, 0);
    let back = receive_all(sqs, &source).await;
    let mut got = bodies(&back);
    got.sort();
    assert_eq!(got, (0..5).map(|i| format!("message-{i}")).collect::<Vec<_>>());
    for m in &back {
        let i: u8 = m.body().unwrap().trim_start_matches("message-").parse().unwrap();
        let attributes = m.message_attributes().unwrap();
        assert_eq!(attributes["n"].string_value(), Some(i.to_string().as_str()));
        assert_eq!(attributes["blob"].binary_value().map(|b| b.as_ref().to_vec()), Some(vec![i, 255]));
    }

    let calls = bed.moto.rules().calls();
    let count = |name: &str| calls.iter().filter(|c| c.as_str() == name).count();
    assert_eq!(count("sqs:SendMessage"), 5, "the test's sends only: {calls:?}");
    assert_eq!(count("sqs:StartMessageMoveTask"), 1);
    for mover in ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ListDeadLetterSourceQueues", "sqs:ChangeMessageVisibility"] {
        assert_eq!(count(mover), 0, "{mover} is the proxy's own call: {calls:?}");
    }
}

/// MaxNumberOfMessagesPerSecond is kept: at 2 per second the first message
/// moves at once and the sixth 2.5 s later; at no time has the task moved
/// more than that pace allows.
#[tokio::test]
async fn a_rate_paces_the_moves() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (source, dlq) = redriven(sqs, "paced", false).await;
    fill(sqs, &dlq, 6).await;

    let t0 = Instant::now();
    sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(2).send().await.unwrap();
    let mut midway = false;
    let took = loop {
        let t = latest(sqs, &dlq).await;
        // The task started after t0: it has run at most this long.
        let elapsed = t0.elapsed();
        let moved = t.approximate_number_of_messages_moved() as u64;
        assert!(moved <= allowance(2, elapsed), "{moved} moved after {elapsed:?} at 2/s");
        midway |= moved > 0 && moved < 6;
        if t.status() == Some("COMPLETED") {
            assert_eq!(moved, 6);
            break elapsed;
        }
        assert!(elapsed < Duration::from_secs(10), "not done after {elapsed:?}: {t:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(took >= Duration::from_millis(2400), "6 messages at 2/s took {took:?}");
    assert!(midway, "the moves were seen under way, not all at once");
    assert_eq!(visible(sqs, &source).await, 6);
}

/// "Only one active message movement task is supported per queue at any
/// given time": a second start on a source with a RUNNING task is refused,
/// as AWS answers it; once the first is cancelled, a new one starts.
#[tokio::test]
async fn a_second_task_on_a_source_with_a_running_task_is_refused() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (_source, dlq) = redriven(sqs, "busy", false).await;
    let other = queue(sqs, "elsewhere", &[]).await;
    fill(sqs, &dlq, 3).await;

    let first = sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(1).send().await.unwrap();
    for second in [
        sqs.start_message_move_task().source_arn(&dlq.arn).send().await,
        sqs.start_message_move_task().source_arn(&dlq.arn).destination_arn(&other.arn).send().await,
    ] {
        let (code, message) = refusal(second);
        assert_eq!(code, "InvalidParameterValue");
        assert_eq!(message, "There is already a task running. Only one active task is allowed for a source queue arn at a given time.");
    }
    assert_eq!(tasks(sqs, &dlq, Some(10)).await.len(), 1, "the refused starts made no task");

    sqs.cancel_message_move_task().task_handle(first.task_handle().unwrap()).send().await.unwrap();
    once(sqs, &dlq, "CANCELLED").await;
    sqs.start_message_move_task().source_arn(&dlq.arn).destination_arn(&other.arn).send().await.expect("no task is active any more");
    let both = tasks(sqs, &dlq, Some(10)).await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[0].destination_arn(), Some(other.arn.as_str()), "most recent first");
    assert_eq!(both[1].status(), Some("CANCELLED"));
}

/// CancelMessageMoveTask stops the moves at once: fewer than all moved,
/// CANCELLED, the rest still (visible) in the dead-letter queue; only a
/// RUNNING task can be cancelled; unknown and malformed handles are
/// refused as AWS refuses them.
#[tokio::test]
async fn cancelling_stops_the_moves() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (_source, dlq) = redriven(sqs, "halted", false).await;
    let out = queue(sqs, "out", &[]).await;
    fill(sqs, &dlq, 8).await;

    let started = sqs
        .start_message_move_task()
        .source_arn(&dlq.arn)
        .destination_arn(&out.arn)
        .max_number_of_messages_per_second(2)
        .send()
        .await
        .unwrap();
    let handle = started.task_handle().unwrap().to_string();
    let t0 = Instant::now();
    while latest(sqs, &dlq).await.approximate_number_of_messages_moved() < 1 {
        assert!(t0.elapsed() < Duration::from_secs(10), "nothing moved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cancelled = sqs.cancel_message_move_task().task_handle(&handle).send().await.unwrap();
    assert!(cancelled.approximate_number_of_messages_moved() >= 1);
    let done = once(sqs, &dlq, "CANCELLED").await;
    let moved = done.approximate_number_of_messages_moved();
    assert!(moved < 8, "{moved} of 8 moved");
    assert_eq!(done.destination_arn(), Some(out.arn.as_str()));
    assert_eq!(done.task_handle(), None);

    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(latest(sqs, &dlq).await.approximate_number_of_messages_moved(), moved, "nothing moves after the cancel");
    assert_eq!(visible(sqs, &out).await, moved);
    assert_eq!(visible(sqs, &dlq).await, 8 - moved, "the rest is still in the dead-letter queue, visible");

    let (code, message) = refusal(sqs.cancel_message_move_task().task_handle(&handle).send().await);
    assert_eq!(code, "AWS.SimpleQueueService.UnsupportedOperation", "{message}");
    assert!(message.contains("RUNNING") && message.contains("CANCELLED"), "{message}");

    let unknown = encode_handle("10f57157-fc38-4da9-a113-4de7e12d05aa", &dlq.arn);
    let (code, message) = refusal(sqs.cancel_message_move_task().task_handle(unknown).send().await);
    assert_eq!((code.as_str(), message.as_str()), ("ResourceNotFoundException", "Task does not exist."));
    let gone = encode_handle("10f57157-fc38-4da9-a113-4de7e12d05aa", "arn:aws:sqs:us-east-1:123456789012:no-such-queue");
    let (code, message) = refusal(sqs.cancel_message_move_task().task_handle(gone).send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
    );
    let (code, message) = refusal(sqs.cancel_message_move_task().task_handle("foobared").send().await);
    assert_eq!((code.as_str(), message.as_str()), ("InvalidParameterValue", "Value for parameter TaskHandle is invalid."));
}

/// A destination deleted while the task runs: the task ends FAILED with
/// SQS's error as its FailureReason, as AWS answered LocalStack's test of
/// it (`AWS.SimpleQueueService.NonExistentQueue`), the rest left in the
/// dead-letter queue.
#[tokio::test]
async fn a_destination_deleted_while_moving_fails_the_task() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (_source, dlq) = redriven(sqs, "lost", false).await;
    let out = queue(sqs, "lost-out", &[]).await;
    fill(sqs, &dlq, 4).await;

    sqs.start_message_move_task().source_arn(&dlq.arn).destination_arn(&out.arn).max_number_of_messages_per_second(2).send().await.unwrap();
    sqs.delete_queue().queue_url(&out.url).send().await.unwrap();
    let failed = once(sqs, &dlq, "FAILED").await;
    assert_eq!(failed.failure_reason(), Some("AWS.SimpleQueueService.NonExistentQueue"));
    assert_eq!(failed.task_handle(), None);
    let moved = failed.approximate_number_of_messages_moved();
    assert_eq!(visible(sqs, &dlq).await, 4 - moved, "the message it could not send is visible again");
}

/// Only a dead-letter queue of an SQS queue can be a source; sources and
/// destinations must exist; rates run from 1 to 500; with several queues
/// redriving into one dead-letter queue and no destination, the proxy
/// refuses (moto does not record each message's source queue).
#[tokio::test]
async fn sources_destinations_and_rates_are_checked() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (_source, dlq) = redriven(sqs, "checked", false).await;
    let plain = queue(sqs, "plain", &[]).await;

    let (code, message) = refusal(sqs.start_message_move_task().source_arn(&plain.arn).send().await);
    assert_eq!((code.as_str(), message.as_str()), ("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue."));

    let missing = "arn:aws:sqs:us-east-1:123456789012:missing";
    let (code, message) = refusal(sqs.start_message_move_task().source_arn(missing).send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.")
    );
    let (code, message) =
        refusal(sqs.start_message_move_task().source_arn(&dlq.arn).destination_arn(format!("{}doesntexist", plain.arn)).send().await);
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.")
    );
    let (code, _) = refusal(sqs.list_message_move_tasks().source_arn(missing).send().await);
    assert_eq!(code, "ResourceNotFoundException");

    for rate in [0, 501, -1] {
        let (code, message) =
            refusal(sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(rate).send().await);
        assert_eq!(code, "InvalidParameterValue", "rate {rate}");
        assert!(message.contains("MaxNumberOfMessagesPerSecond"), "{message}");
    }
    assert!(tasks(sqs, &dlq, Some(10)).await.is_empty(), "refused starts make no task");
    sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(500).send().await.expect("500 is the maximum");

    let fifo = queue(sqs, "typed.fifo", &[]).await;
    let (_s, dlq2) = redriven(sqs, "typed-standard", false).await;
    let (code, message) = refusal(sqs.start_message_move_task().source_arn(&dlq2.arn).destination_arn(&fifo.arn).send().await);
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("same type"), "{message}");

    let policy = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"3"}}"#, dlq2.arn);
    queue(sqs, "typed-standard-2", &[(Attr::RedrivePolicy, policy)]).await;
    fill(sqs, &dlq2, 1).await;
    let (code, message) = refusal(sqs.start_message_move_task().source_arn(&dlq2.arn).send().await);
    assert_eq!(code, "AWS.SimpleQueueService.UnsupportedOperation");
    assert!(message.contains("2 queues") && message.contains("DestinationArn"), "{message}");
    sqs.start_message_move_task().source_arn(&dlq2.arn).destination_arn(&plain.arn).send().await.expect("a destination given");
    once(sqs, &dlq2, "COMPLETED").await;
    assert_eq!(visible(sqs, &plain).await, 1);
}

/// A FIFO dead-letter queue redrives into FIFO queues only (SQS Developer
/// Guide: both queues the same type); its messages keep their group and
/// their order within it.
#[tokio::test]
async fn a_fifo_dead_letter_queue_moves_to_a_fifo_queue_only() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (source, dlq) = redriven(sqs, "ordered", true).await;
    let standard = queue(sqs, "standard", &[]).await;
    fill(sqs, &dlq, 6).await;

    let (code, message) = refusal(sqs.start_message_move_task().source_arn(&dlq.arn).destination_arn(&standard.arn).send().await);
    assert_eq!(code, "InvalidParameterValue");
    assert!(message.contains("same type") && message.contains("FIFO"), "{message}");

    sqs.start_message_move_task().source_arn(&dlq.arn).send().await.expect("back to the FIFO source");
    let done = once(sqs, &dlq, "COMPLETED").await;
    assert_eq!(done.approximate_number_of_messages_moved(), 6);
    let back = receive_all(sqs, &source).await;
    assert_eq!(back.len(), 6, "{:?}", bodies(&back));
    for group in ["g0", "g1"] {
        let in_group: Vec<String> = back
            .iter()
            .filter(|m| m.attributes().and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId)).map(String::as_str) == Some(group))
            .map(|m| m.body().unwrap().to_string())
            .collect();
        let first = if group == "g0" { 0 } else { 1 };
        assert_eq!(in_group, (first..6).step_by(2).map(|i| format!("message-{i}")).collect::<Vec<_>>(), "group {group}");
    }
}

/// An empty dead-letter queue: the task completes at once with nothing to
/// move. ListMessageMoveTasks gives the most recent first, one unless
/// MaxResults (1 to 10) asks for more.
#[tokio::test]
async fn an_empty_dead_letter_queue_completes_at_once() {
    let bed = bed().await;
    let sqs = &bed.sqs;
    let (_source, dlq) = redriven(sqs, "empty", false).await;

    sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(7).send().await.unwrap();
    let t = latest(sqs, &dlq).await;
    assert_eq!(t.status(), Some("COMPLETED"), "{t:?}");
    assert_eq!((t.approximate_number_of_messages_moved(), t.approximate_number_of_messages_to_move()), (0, Some(0)));
    assert_eq!(t.task_handle(), None);

    sqs.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(9).send().await.expect("the first is done");
    let rates = |entries: Vec<Entry>| entries.iter().map(|e| e.max_number_of_messages_per_second().unwrap()).collect::<Vec<_>>();
    assert_eq!(rates(tasks(sqs, &dlq, None).await), vec![9]);
    assert_eq!(rates(tasks(sqs, &dlq, Some(10)).await), vec![9, 7]);
    for bad in [0, 11] {
        let (code, _) = refusal(sqs.list_message_move_tasks().source_arn(&dlq.arn).max_results(bad).send().await);
        assert_eq!(code, "InvalidParameterValue", "MaxResults {bad}");
    }
}

/// Dropping the proxy stops its movers at once: nothing moves afterwards.
#[tokio::test]
async fn dropping_the_proxy_stops_its_movers() {
    let bed = bed().await;
    let (sqs, own) = (&bed.sqs, common::proxy::Proxy::aws_rules(bed.moto.port));
    let through_own = common::aws(&own.url()).await.sqs.clone();
    let (source, dlq) = redriven(sqs, "orphaned", false).await;
    fill(sqs, &dlq, 6).await;

    through_own.start_message_move_task().source_arn(&dlq.arn).max_number_of_messages_per_second(2).send().await.unwrap();
    let t0 = Instant::now();
    while visible(sqs, &source).await < 1 {
        assert!(t0.elapsed() < Duration::from_secs(10), "nothing moved");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(own);
    let (moved, left) = (visible(sqs, &source).await, visible(sqs, &dlq).await);
    assert!(moved < 6, "{moved}");
    assert_eq!(moved + left, 6, "no message in flight once the proxy is gone");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!((visible(sqs, &source).await, visible(sqs, &dlq).await), (moved, left), "nothing moved after the drop");
}
