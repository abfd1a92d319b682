//! SQS message move tasks (dead-letter queue redrive) for the test proxy:
//! moto 5.2.5 has no StartMessageMoveTask, ListMessageMoveTasks or
//! CancelMessageMoveTask, so the AWS rules (`aws_rules::Rules::sqs_before`)
//! answer them here, and move REAL messages between moto's queues.
//!
//! Each task has a mover thread: it receives messages from the source
//! queue in moto, sends each to the destination (body and message
//! attributes kept; on FIFO queues the MessageGroupId, and a deduplication
//! id), deletes it from the source and counts it, at most
//! MaxNumberOfMessagesPerSecond per second. The mover asks moto directly
//! (`Upstream::json_outcome`, unsigned), never through the proxy, so its
//! calls are not in the proxy's count of the caller's calls (`Proxy::calls`
//! counts the requests that reach the proxy). `stop_all` (called when the
//! proxy is dropped, and on drop) stops every mover and waits for it.
//!
//! What AWS documents, and where:
//! - StartMessageMoveTask: the source must be a dead-letter queue of
//!   another SQS queue; without DestinationArn "the messages will be
//!   redriven back to their respective original source queues"; at most
//!   500 messages per second, and without a rate "the system will optimize
//!   the rate based on the queue message backlog size"; "Only one active
//!   message movement task is supported per queue at any given time."
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html>
//! - ListMessageMoveTasks: the most recent tasks, up to 10, MaxResults 1 by
//!   default. Its entries: ApproximateNumberOfMessagesToMove "obtained at
//!   the time of starting", DestinationArn and MaxNumberOfMessagesPerSecond
//!   only when given, FailureReason only when FAILED.
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasks.html>
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ListMessageMoveTasksResultEntry.html>
//! - CancelMessageMoveTask: "A message movement can only be cancelled when
//!   the current status is RUNNING."
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CancelMessageMoveTask.html>
//! - SQS Developer Guide, "Learn how to configure a dead-letter queue
//!   redrive": another destination only "if both queues are the same type.
//!   For example, if the dead-letter queue is a FIFO queue, the redrive
//!   destination queue must be a FIFO queue as well"; redriven messages are
//!   new messages (new message id).
//!   <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html>
//!
//! The API reference names the errors (ResourceNotFoundException "One or
//! more specified resources don't exist.", UnsupportedOperation, and the
//! common InvalidParameterValue "An invalid or out-of-range value was
//! supplied for the input parameter", CommonErrors.html) but not which
//! answers what, nor the messages. Where AWS's own answer is on record it
//! is used: LocalStack's move-task tests ran against AWS and recorded its
//! answers (localstack/localstack,
//! tests/aws/services/sqs/test_sqs_move_task.snapshot.json, January and
//! March 2024): the codes, HTTP statuses and messages marked "recorded"
//! below, the task handle's shape (base64 of `{"taskId","sourceArn"}`), a
//! TaskHandle only on RUNNING entries, and a moved count that may lag.
//! The others are marked "wording ours".
//!
//! moto quirks met here (moto 5.2.5):
//! - No move-task actions at all (StartMessageMoveTask answers a 500).
//! - A message moto moves to a dead-letter queue carries no
//!   DeadLetterQueueSourceArn, so the queue each message came from is not
//!   known; with no DestinationArn the proxy sends to the queue whose
//!   RedrivePolicy names the dead-letter queue (ListDeadLetterSourceQueues).
//! - GetQueueAttributes gives no FifoQueue for a standard queue (AWS
//!   neither): a queue is FIFO when it says so or its name ends in `.fifo`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value};

use super::aws_rules::{Call, Upstream, Verdict};

/// "The maximum value for messages per second is 500."
/// (StartMessageMoveTask, MaxNumberOfMessagesPerSecond).
pub const MAX_RATE: u32 = 500;

/// The rate of a task started without one. AWS "will optimize the rate
/// based on the queue message backlog size" and gives no figure; the
/// proxy moves at the highest documented rate.
pub const SYSTEM_OPTIMIZED_RATE: u32 = MAX_RATE;

/// How long a received message stays invisible in the source while the
/// mover sends it on (it is deleted, or made visible again, right after).
const IN_FLIGHT_SECONDS: u64 = 30;

// ------------------------------------------------------------ pure logic

/// How many messages a task moving `rate` per second may have moved
/// `elapsed` after it started: the first at once, then one every 1/rate s.
pub fn allowance(rate: u32, elapsed: Duration) -> u64 {
    (elapsed.as_secs_f64() * f64::from(rate.max(1))).floor() as u64 + 1
}

/// How long a task moving `rate` per second, `elapsed` after it started,
/// waits before it may move its message number `moved` (counting from 0).
pub fn wait_before(rate: u32, elapsed: Duration, moved: u64) -> Duration {
    Duration::from_secs_f64(moved as f64 / f64::from(rate.max(1))).saturating_sub(elapsed)
}

/// The queue's name of an SQS queue ARN (`arn:aws:sqs:region:account:name`).
pub fn queue_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "sqs", region, account, name] if !region.is_empty() && !account.is_empty() && !name.is_empty() => Some(name),
        _ => None,
    }
}

/// Where a task sends its messages: the destination it was given, else
/// the one queue whose RedrivePolicy names the dead-letter queue. With
/// several such queues AWS sends each message back to the queue it came
/// from (its DeadLetterQueueSourceArn); moto does not record that, so the
/// proxy refuses rather than guess and send messages to a queue they never
/// left: a wrong guess would pass a test that AWS fails. Err: why not.
pub fn choose_destination(given: Option<&str>, sources: &[String]) -> Result<String, String> {
    match (given, sources) {
        (Some(url), _) => Ok(url.to_string()),
        (None, [one]) => Ok(one.clone()),
        (None, []) => Err("no queue names this queue in its RedrivePolicy".into()),
        (None, several) => Err(format!(
            "{} queues name this dead-letter queue in their RedrivePolicy, and moto keeps no DeadLetterQueueSourceArn on its messages: the test proxy cannot send each message back to the queue it came from; give a DestinationArn",
            several.len()
        )),
    }
}

/// The task handle AWS answers: base64 of `{"taskId":...,"sourceArn":...}`
/// (recorded: LocalStack's test decodes AWS's handles so).
pub fn encode_handle(task_id: &str, source_arn: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(json!({"taskId": task_id, "sourceArn": source_arn}).to_string())
}

/// (task id, source ARN) of a handle; None when it is not one.
pub fn decode_handle(handle: &str) -> Option<(String, String)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(handle.trim()).ok()?;
    let v: Value = serde_json::from_slice(&raw).ok()?;
    Some((v["taskId"].as_str()?.to_string(), v["sourceArn"].as_str()?.to_string()))
}

/// MaxNumberOfMessagesPerSecond as sent: None when absent, Err(refusal)
/// when not a whole number from 1 to 500.
pub fn rate_of(body: &Value) -> Result<Option<u32>, Verdict> {
    match body.get("MaxNumberOfMessagesPerSecond") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if (1..=i64::from(MAX_RATE)).contains(&n) => Ok(Some(n as u32)),
            // The limit is documented (StartMessageMoveTask); the code is
            // the common error for "an invalid or out-of-range value",
            // the wording ours, in SQS's "Value ... for parameter ..."
            // shape.
            _ => Err(invalid(format!(
                "Value {v} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: Must be between 1 and {MAX_RATE}, if provided."
            ))),
        },
    }
}

// ------------------------------------------------------------- refusals

fn invalid(message: impl Into<String>) -> Verdict {
    Verdict::refuse("sqs", 400, "InvalidParameterValue", message)
}

/// Recorded: "The resource that you specified for the DestinationArn
/// parameter doesn't exist.", ResourceNotFoundException, HTTP 404 (and the
/// same for SourceArn, recorded for a task handle naming a missing source).
fn not_found(parameter: &str) -> Verdict {
    Verdict::refuse(
        "sqs",
        404,
        "ResourceNotFoundException",
        format!("The resource that you specified for the {parameter} parameter doesn't exist."),
    )
}

/// SQS's common MissingParameter (CommonErrors.html: "A required parameter
/// for the specified action is not supplied"); wording ours. The SDKs check
/// required members themselves, so only a hand-made request meets it.
fn missing(parameter: &str) -> Verdict {
    Verdict::refuse("sqs", 400, "MissingParameter", format!("The request must contain the parameter {parameter}."))
}

fn answer(v: Value) -> Verdict {
    Verdict::Answer(v.to_string())
}

// ---------------------------------------------------------------- tasks

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Cancelling => "CANCELLING",
            Status::Cancelled => "CANCELLED",
            Status::Failed => "FAILED",
        }
    }

    /// What keeps a second task off the source.
    fn active(self) -> bool {
        matches!(self, Status::Running | Status::Cancelling)
    }
}

#[derive(Debug)]
struct Progress {
    status: Status,
    moved: u64,
    failure: Option<String>,
}

struct Task {
    id: String,
    handle: String,
    source_arn: String,
    destination_arn: Option<String>,
    rate: Option<u32>,
    to_move: u64,
    /// Epoch milliseconds.
    started: u64,
    progress: Mutex<Progress>,
    /// Wakes a pacing mover: a cancel, or the proxy going away.
    wake: Condvar,
}

impl Task {
    /// Its ListMessageMoveTasks entry. TaskHandle only while RUNNING
    /// (recorded); DestinationArn and MaxNumberOfMessagesPerSecond only
    /// when given, FailureReason only when FAILED (result entry's page).
    fn entry(&self) -> Value {
        let p = self.progress.lock().unwrap();
        let mut e = json!({
            "Status": p.status.as_str(),
            "SourceArn": self.source_arn,
            "ApproximateNumberOfMessagesMoved": p.moved,
            "ApproximateNumberOfMessagesToMove": self.to_move,
            "StartedTimestamp": self.started,
        });
        if p.status == Status::Running {
            e["TaskHandle"] = Value::from(self.handle.clone());
        }
        if let Some(d) = &self.destination_arn {
            e["DestinationArn"] = Value::from(d.clone());
        }
        if let Some(r) = self.rate {
            e["MaxNumberOfMessagesPerSecond"] = Value::from(r);
        }
        if let (Status::Failed, Some(f)) = (p.status, &p.failure) {
            e["FailureReason"] = Value::from(f.clone());
        }
        e
    }

    fn moved(&self) -> u64 {
        self.progress.lock().unwrap().moved
    }

    fn stopping(&self, shutdown: &AtomicBool) -> bool {
        shutdown.load(Ordering::SeqCst) || self.progress.lock().unwrap().status != Status::Running
    }

    /// Sleeps `d` unless cancelled or shut down meanwhile; whether it was.
    fn sleep(&self, d: Duration, shutdown: &AtomicBool) -> bool {
        let p = self.progress.lock().unwrap();
        let (p, _) = self.wake.wait_timeout_while(p, d, |p| p.status == Status::Running && !shutdown.load(Ordering::SeqCst)).unwrap();
        p.status != Status::Running || shutdown.load(Ordering::SeqCst)
    }

    fn finish(&self, outcome: Outcome) {
        let mut p = self.progress.lock().unwrap();
        p.status = match (outcome, p.status) {
            (Outcome::Failed(reason), _) => {
                p.failure = Some(reason);
                Status::Failed
            }
            (_, Status::Cancelling) => Status::Cancelled,
            (Outcome::Done, _) => Status::Completed,
            // Shut down with the proxy: nobody asks any more.
            (Outcome::Stopped, s) => s,
        };
    }
}

enum Outcome {
    Done,
    Stopped,
    Failed(String),
}

/// A queue as moto describes it.
struct Queue {
    url: String,
    arn: String,
    fifo: bool,
    /// ApproximateNumberOfMessages.
    visible: u64,
}

/// The move tasks of one proxy.
pub struct MoveTasks {
    upstream: Arc<dyn Upstream>,
    /// Every task started, oldest first.
    tasks: Mutex<Vec<Arc<Task>>>,
    movers: Mutex<Vec<JoinHandle<()>>>,
    shutdown: Arc<AtomicBool>,
}

impl MoveTasks {
    pub fn new(upstream: Arc<dyn Upstream>) -> MoveTasks {
        MoveTasks { upstream, tasks: Mutex::new(Vec::new()), movers: Mutex::new(Vec::new()), shutdown: Arc::new(AtomicBool::new(false)) }
    }

    /// AWS's answer to a move-task call; None for any other call.
    pub fn before(&self, call: &Call) -> Option<Verdict> {
        let body = &call.json;
        Some(match call.action.as_str() {
            "StartMessageMoveTask" => self.start(body),
            "ListMessageMoveTasks" => self.list(body),
            "CancelMessageMoveTask" => self.cancel(body),
            _ => return None,
        })
    }

    /// Stops every mover now and waits for it; later tasks stop at once.
    pub fn stop_all(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        for task in self.tasks.lock().unwrap().iter() {
            let _guard = task.progress.lock().unwrap();
            task.wake.notify_all();
        }
        let movers: Vec<JoinHandle<()>> = self.movers.lock().unwrap().drain(..).collect();
        for m in movers {
            let _ = m.join();
        }
    }

    fn sqs(&self, target: &str, body: Value) -> Result<Value, String> {
        self.upstream.json_outcome("sqs", &format!("AmazonSQS.{target}"), &body)
    }

    /// The queue an ARN names, if moto has it (same name, same ARN).
    fn queue(&self, arn: &str) -> Option<Queue> {
        let name = queue_name(arn)?;
        let url = self.sqs("GetQueueUrl", json!({"QueueName": name})).ok()?["QueueUrl"].as_str()?.to_string();
        let attributes = self
            .sqs("GetQueueAttributes", json!({"QueueUrl": url, "AttributeNames": ["QueueArn", "FifoQueue", "ApproximateNumberOfMessages"]}))
            .ok()?;
        let a = &attributes["Attributes"];
        if a["QueueArn"].as_str() != Some(arn) {
            return None;
        }
        Some(Queue {
            url,
            arn: arn.to_string(),
            fifo: a["FifoQueue"].as_str() == Some("true") || name.ends_with(".fifo"),
            visible: a["ApproximateNumberOfMessages"].as_str().and_then(|n| n.parse().ok()).unwrap_or(0),
        })
    }

    /// The URLs of the queues whose RedrivePolicy names the queue at `url`.
    fn dead_letter_sources(&self, url: &str) -> Vec<String> {
        let listed = self.sqs("ListDeadLetterSourceQueues", json!({"QueueUrl": url})).unwrap_or(Value::Null);
        listed["queueUrls"].as_array().map(|a| a.iter().filter_map(|u| u.as_str().map(str::to_string)).collect()).unwrap_or_default()
    }

    fn start(&self, body: &Value) -> Verdict {
        let Some(source_arn) = body["SourceArn"].as_str().filter(|s| !s.is_empty()) else { return missing("SourceArn") };
        let rate = match rate_of(body) {
            Ok(r) => r,
            Err(v) => return v,
        };
        let destination_arn = body["DestinationArn"].as_str().filter(|s| !s.is_empty());
        let Some(source) = self.queue(source_arn) else { return not_found("SourceArn") };
        let sources = self.dead_letter_sources(&source.url);
        if sources.is_empty() {
            // Recorded: InvalidParameterValue, HTTP 400.
            return invalid("Source queue must be configured as a Dead Letter Queue.");
        }
        let destination = match destination_arn {
            Some(arn) => {
                let Some(d) = self.queue(arn) else { return not_found("DestinationArn") };
                if d.fifo != source.fifo {
                    // Developer Guide: both queues the same type. The code
                    // is the one AWS answers its other StartMessageMoveTask
                    // parameter checks with (recorded); wording ours.
                    return invalid(format!(
                        "The source queue and the destination queue must be of the same type: {} is a {} queue, {} a {} queue.",
                        source.arn,
                        kind(source.fifo),
                        d.arn,
                        kind(d.fifo)
                    ));
                }
                Some(d.url)
            }
            None => None,
        };
        let destination_url = match choose_destination(destination.as_deref(), &sources) {
            Ok(url) => url,
            // The proxy's own limit (see `choose_destination`), answered
            // as an operation SQS does not support; wording ours.
            Err(why) => return Verdict::refuse("sqs", 400, "UnsupportedOperation", why),
        };
        let mut tasks = self.tasks.lock().unwrap();
        if tasks.iter().any(|t| t.source_arn == source.arn && t.progress.lock().unwrap().status.active()) {
            // Recorded: InvalidParameterValue, HTTP 400.
            return invalid("There is already a task running. Only one active task is allowed for a source queue arn at a given time.");
        }
        let id = task_id();
        let to_move = source.visible;
        let task = Arc::new(Task {
            handle: encode_handle(&id, &source.arn),
            id,
            source_arn: source.arn.clone(),
            destination_arn: destination_arn.map(str::to_string),
            rate,
            to_move,
            started: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
            // Nothing to move: done at once, without a mover.
            progress: Mutex::new(Progress {
                status: if to_move == 0 { Status::Completed } else { Status::Running },
                moved: 0,
                failure: None,
            }),
            wake: Condvar::new(),
        });
        tasks.push(task.clone());
        if to_move > 0 {
            let mover = Mover {
                task: task.clone(),
                upstream: self.upstream.clone(),
                shutdown: self.shutdown.clone(),
                source_url: source.url,
                destination_url,
                fifo: source.fifo,
            };
            self.movers.lock().unwrap().push(std::thread::spawn(move || mover.run()));
        }
        answer(json!({"TaskHandle": task.handle}))
    }

    fn list(&self, body: &Value) -> Verdict {
        let Some(source_arn) = body["SourceArn"].as_str().filter(|s| !s.is_empty()) else { return missing("SourceArn") };
        let max = match body.get("MaxResults") {
            None | Some(Value::Null) => 1,
            Some(v) => match v.as_i64() {
                Some(n) if (1..=10).contains(&n) => n as usize,
                // "The upper limit is 10" (ListMessageMoveTasks); wording ours.
                _ => {
                    return invalid(format!(
                        "Value {v} for parameter MaxResults is invalid. Reason: Must be between 1 and 10, if provided."
                    ))
                }
            },
        };
        let Some(source) = self.queue(source_arn) else { return not_found("SourceArn") };
        let tasks = self.tasks.lock().unwrap();
        let results: Vec<Value> = tasks.iter().rev().filter(|t| t.source_arn == source.arn).take(max).map(|t| t.entry()).collect();
        answer(json!({"Results": results}))
    }

    fn cancel(&self, body: &Value) -> Verdict {
        let Some(handle) = body["TaskHandle"].as_str().filter(|s| !s.is_empty()) else { return missing("TaskHandle") };
        // Recorded: InvalidParameterValue, HTTP 400.
        let Some((id, source_arn)) = decode_handle(handle) else { return invalid("Value for parameter TaskHandle is invalid.") };
        if self.queue(&source_arn).is_none() {
            return not_found("SourceArn");
        }
        let task = self.tasks.lock().unwrap().iter().find(|t| t.id == id && t.source_arn == source_arn).cloned();
        // Recorded: ResourceNotFoundException, HTTP 404.
        let Some(task) = task else { return Verdict::refuse("sqs", 404, "ResourceNotFoundException", "Task does not exist.") };
        let mut p = task.progress.lock().unwrap();
        if p.status != Status::Running {
            // "can only be cancelled when the current status is RUNNING"
            // (CancelMessageMoveTask); UnsupportedOperation is one of its
            // documented errors; wording ours.
            return Verdict::refuse(
                "sqs",
                400,
                "UnsupportedOperation",
                format!("Only a message movement task with status RUNNING can be cancelled; this task is {}.", p.status.as_str()),
            );
        }
        p.status = Status::Cancelling;
        task.wake.notify_all();
        answer(json!({"ApproximateNumberOfMessagesMoved": p.moved}))
    }
}

impl Drop for MoveTasks {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn kind(fifo: bool) -> &'static str {
    if fifo {
        "FIFO"
    } else {
        "standard"
    }
}

/// A fresh task id shaped as AWS's (a UUID).
fn task_id() -> String {
    use sha2::{Digest, Sha256};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let digest = Sha256::digest(format!("{}:{n}:{nanos}", std::process::id()));
    let h: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-4{}-a{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

// ---------------------------------------------------------------- mover

/// One task's background work.
struct Mover {
    task: Arc<Task>,
    upstream: Arc<dyn Upstream>,
    shutdown: Arc<AtomicBool>,
    source_url: String,
    destination_url: String,
    fifo: bool,
}

impl Mover {
    fn run(self) {
        let outcome = self.moving();
        self.task.finish(outcome);
    }

    fn sqs(&self, target: &str, body: Value) -> Result<Value, String> {
        self.upstream.json_outcome("sqs", &format!("AmazonSQS.{target}"), &body)
    }

    fn moving(&self) -> Outcome {
        let rate = self.task.rate.unwrap_or(SYSTEM_OPTIMIZED_RATE);
        let started = Instant::now();
        loop {
            if self.task.stopping(&self.shutdown) {
                return Outcome::Stopped;
            }
            let moved = self.task.moved();
            if moved >= self.task.to_move {
                return Outcome::Done;
            }
            let wait = wait_before(rate, started.elapsed(), moved);
            if !wait.is_zero() {
                if self.task.sleep(wait, &self.shutdown) {
                    return Outcome::Stopped;
                }
                continue;
            }
            let batch = allowance(rate, started.elapsed()).saturating_sub(moved).clamp(1, 10).min(self.task.to_move - moved);
            let received = match self.sqs(
                "ReceiveMessage",
                json!({
                    "QueueUrl": self.source_url,
                    "MaxNumberOfMessages": batch,
                    "WaitTimeSeconds": 0,
                    "VisibilityTimeout": IN_FLIGHT_SECONDS,
                    "MessageAttributeNames": ["All"],
                    "MessageSystemAttributeNames": ["All"],
                }),
            ) {
                Ok(r) => r,
                Err(code) => return Outcome::Failed(code),
            };
            let messages = received["Messages"].as_array().cloned().unwrap_or_default();
            // The source is empty (of visible messages): nothing left to move.
            if messages.is_empty() {
                return Outcome::Done;
            }
            for (i, m) in messages.iter().enumerate() {
                if self.task.stopping(&self.shutdown) {
                    self.release(&messages[i..]);
                    return Outcome::Stopped;
                }
                if let Err(code) = self.move_one(m) {
                    self.release(&messages[i..]);
                    return Outcome::Failed(code);
                }
                self.task.progress.lock().unwrap().moved += 1;
            }
        }
    }

    /// Sends `m` on, then deletes it from the source.
    fn move_one(&self, m: &Value) -> Result<(), String> {
        let mut send = json!({"QueueUrl": self.destination_url, "MessageBody": m["Body"]});
        if m["MessageAttributes"].as_object().is_some_and(|a| !a.is_empty()) {
            send["MessageAttributes"] = m["MessageAttributes"].clone();
        }
        if self.fifo {
            send["MessageGroupId"] = m["Attributes"]["MessageGroupId"].clone();
            // A redriven message is a new message (Developer Guide), and
            // SQS itself replaces a FIFO message's deduplication id with
            // its message id when it dead-letters it (same page): the
            // message id here, so that neither the destination's recent
            // deduplication ids nor another redriven message drop it.
            send["MessageDeduplicationId"] = m["MessageId"].clone();
        }
        self.sqs("SendMessage", send)?;
        self.sqs("DeleteMessage", json!({"QueueUrl": self.source_url, "ReceiptHandle": m["ReceiptHandle"]}))?;
        Ok(())
    }

    /// Makes messages received but not moved visible in the source again.
    fn release(&self, messages: &[Value]) {
        for m in messages {
            let _ = self.sqs(
                "ChangeMessageVisibility",
                json!({"QueueUrl": self.source_url, "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn move_tasks_pace_the_first_message_at_once_then_one_every_1_over_rate_seconds() {
        assert_eq!(allowance(2, ms(0)), 1);
        assert_eq!(allowance(2, ms(499)), 1);
        assert_eq!(allowance(2, ms(500)), 2);
        assert_eq!(allowance(2, ms(2500)), 6);
        assert_eq!(allowance(500, ms(1000)), 501);
        assert_eq!(wait_before(2, ms(0), 0), ms(0));
        assert_eq!(wait_before(2, ms(0), 1), ms(500));
        assert_eq!(wait_before(2, ms(300), 1), ms(200));
        assert_eq!(wait_before(2, ms(900), 1), ms(0));
        // Six messages at 2/s: the last is due 2.5 s after the start.
        assert_eq!(wait_before(2, ms(0), 5), ms(2500));
        // Never a division by zero, whatever the caller passed.
        assert_eq!(allowance(0, ms(1000)), 2);
    }

    #[test]
    fn move_tasks_go_to_the_given_destination_or_the_one_source_queue() {
        let one = vec!["http://m/1/source".to_string()];
        let two = vec!["http://m/1/a".to_string(), "http://m/1/b".to_string()];
        assert_eq!(choose_destination(Some("http://m/1/dest"), &two).unwrap(), "http://m/1/dest");
        assert_eq!(choose_destination(None, &one).unwrap(), "http://m/1/source");
        let why = choose_destination(None, &two).unwrap_err();
        assert!(why.contains("2 queues") && why.contains("DeadLetterQueueSourceArn"), "{why}");
        assert!(choose_destination(None, &[]).is_err());
    }

    #[test]
    fn move_tasks_handles_are_base64_json_of_the_task_and_its_source() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:dlq";
        let handle = encode_handle("10f57157-fc38-4da9-a113-4de7e12d05dd", arn);
        assert_eq!(decode_handle(&handle), Some(("10f57157-fc38-4da9-a113-4de7e12d05dd".to_string(), arn.to_string())));
        assert_eq!(decode_handle("foobared"), None);
        assert_eq!(decode_handle(&base64::engine::general_purpose::STANDARD.encode("{\"taskId\":1}")), None);
        let id = task_id();
        assert_eq!(id.len(), 36, "{id}");
        assert_ne!(id, task_id());
    }

    #[test]
    fn move_tasks_rates_are_whole_numbers_from_1_to_500() {
        assert_eq!(rate_of(&json!({})).unwrap(), None);
        assert_eq!(rate_of(&json!({"MaxNumberOfMessagesPerSecond": 1})).unwrap(), Some(1));
        assert_eq!(rate_of(&json!({"MaxNumberOfMessagesPerSecond": 500})).unwrap(), Some(500));
        for bad in [json!(0), json!(501), json!(-3), json!("7"), json!(2.5)] {
            let refusal = rate_of(&json!({"MaxNumberOfMessagesPerSecond": bad})).unwrap_err();
            assert_eq!(refusal.code(), Some("InvalidParameterValue"), "{bad}");
        }
    }

    #[test]
    fn move_tasks_refusals_carry_the_query_codes_aws_sends() {
        let http = |v: Verdict| match v {
            Verdict::Refuse(r) => String::from_utf8(r.http()).unwrap(),
            other => panic!("{other:?}"),
        };
        let missing = http(not_found("SourceArn"));
        assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"), "{missing}");
        assert!(missing.contains("x-amzn-query-error: ResourceNotFoundException;Sender"), "{missing}");
        let bad = http(invalid("Value for parameter TaskHandle is invalid."));
        assert!(bad.contains("x-amzn-query-error: InvalidParameterValue;Sender"), "{bad}");
        let unsupported = http(Verdict::refuse("sqs", 400, "UnsupportedOperation", "no"));
        assert!(unsupported.contains("x-amzn-query-error: AWS.SimpleQueueService.UnsupportedOperation;Sender"), "{unsupported}");
    }

    #[test]
    fn move_tasks_read_queue_names_from_sqs_arns_only() {
        assert_eq!(queue_name("arn:aws:sqs:us-east-1:123456789012:jobs.fifo"), Some("jobs.fifo"));
        assert_eq!(queue_name("arn:aws:sns:us-east-1:123456789012:jobs"), None);
        assert_eq!(queue_name("jobs"), None);
        assert_eq!(queue_name("arn:aws:sqs:us-east-1:123456789012:"), None);
    }

    fn task(status: Status, destination: Option<&str>, rate: Option<u32>) -> Task {
        Task {
            id: "t".into(),
            handle: "h".into(),
            source_arn: "arn:aws:sqs:us-east-1:1:dlq".into(),
            destination_arn: destination.map(str::to_string),
            rate,
            to_move: 4,
            started: 1_700_000_000_000,
            progress: Mutex::new(Progress { status, moved: 2, failure: Some("AWS.SimpleQueueService.NonExistentQueue".into()) }),
            wake: Condvar::new(),
        }
    }

    #[test]
    fn move_tasks_list_entries_show_the_handle_only_while_running_and_options_only_when_given() {
        let running = task(Status::Running, Some("arn:aws:sqs:us-east-1:1:d"), Some(3)).entry();
        assert_eq!(running["TaskHandle"], "h");
        assert_eq!(running["Status"], "RUNNING");
        assert_eq!(running["DestinationArn"], "arn:aws:sqs:us-east-1:1:d");
        assert_eq!(running["MaxNumberOfMessagesPerSecond"], 3);
        assert_eq!(
            (running["ApproximateNumberOfMessagesMoved"].as_u64(), running["ApproximateNumberOfMessagesToMove"].as_u64()),
            (Some(2), Some(4))
        );
        assert!(running.get("FailureReason").is_none());
        let done = task(Status::Completed, None, None).entry();
        for absent in ["TaskHandle", "DestinationArn", "MaxNumberOfMessagesPerSecond", "FailureReason"] {
            assert!(done.get(absent).is_none(), "{absent} in {done}");
        }
        let failed = task(Status::Failed, None, None).entry();
        assert_eq!(failed["FailureReason"], "AWS.SimpleQueueService.NonExistentQueue");
    }

    #[test]
    fn move_tasks_end_cancelled_once_cancelling_and_failed_with_a_reason() {
        let t = task(Status::Cancelling, None, None);
        t.finish(Outcome::Done);
        assert_eq!(t.progress.lock().unwrap().status, Status::Cancelled);
        let t = task(Status::Running, None, None);
        t.finish(Outcome::Done);
        assert_eq!(t.progress.lock().unwrap().status, Status::Completed);
        let t = task(Status::Running, None, None);
        t.finish(Outcome::Failed("AWS.SimpleQueueService.NonExistentQueue".into()));
        assert_eq!(t.progress.lock().unwrap().status, Status::Failed);
    }
}
