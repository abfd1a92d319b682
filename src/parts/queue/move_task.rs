//! SQS message move tasks (dead-letter queue redrive): StartMessageMoveTask,
//! ListMessageMoveTasks and CancelMessageMoveTask, after the SQS API
//! reference. A task moves the messages of a dead-letter queue to a
//! destination, or back to the queues they came from; one task at a time
//! per source queue.
//! <https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html>

use super::{call_failed, PartResult};
use crate::diag::Diagnostic;

const PART: &str = "sqs message move task";

/// The highest `MaxNumberOfMessagesPerSecond` SQS takes (StartMessageMoveTask:
/// "The current maximum value is 500").
pub const MAX_RATE: i64 = 500;

/// ListMessageMoveTasks answers at most this many, most recent first.
const LISTED: i32 = 10;

/// A task's status, as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Completed,
    Cancelling,
    Cancelled,
    Failed,
}

impl Status {
    /// As SQS writes it (`RUNNING`), for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Completed => "COMPLETED",
            Status::Cancelling => "CANCELLING",
            Status::Cancelled => "CANCELLED",
            Status::Failed => "FAILED",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [Status::Running, Status::Completed, Status::Cancelling, Status::Cancelled, Status::Failed].into_iter().find(|t| t.as_str() == s)
    }
}

/// A move task as listed.
#[derive(Debug, Clone, PartialEq)]
pub struct MoveTask {
    /// Only while the task runs: SQS gives no handle for an ended task.
    pub handle: Option<String>,
    pub status: Status,
    pub source_arn: String,
    /// None: back to the queues the messages came from.
    pub destination_arn: Option<String>,
    pub moved: i64,
    /// How many the task set out to move.
    pub to_move: Option<i64>,
    pub failure_reason: Option<String>,
    /// Epoch milliseconds.
    pub started: i64,
}

impl MoveTask {
    /// `moved 120 of 500`, as a progress message says it.
    pub fn progress(&self) -> String {
        match self.to_move {
            Some(total) => format!("moved {} of {total}", self.moved),
            None => format!("moved {}", self.moved),
        }
    }

    /// Where the task sends the messages, for a message.
    pub fn destination(&self) -> String {
        self.destination_arn.clone().unwrap_or_else(|| "the queues they came from".into())
    }
}

/// What a task moves: from `source_arn` to `destination_arn` (None: back to
/// their source queues), at most `rate` messages a second (None: as fast as
/// SQS sees fit).
#[derive(Debug, Clone, PartialEq)]
pub struct MoveSpec {
    pub source_arn: String,
    pub destination_arn: Option<String>,
    pub rate: Option<i32>,
}

/// The most recent tasks of `source_arn`, most recent first.
pub async fn find_recent(sqs: &aws_sdk_sqs::Client, source_arn: &str) -> PartResult<Vec<MoveTask>> {
    let out = sqs
        .list_message_move_tasks()
        .source_arn(source_arn)
        .max_results(LISTED)
        .send()
        .await
        .map_err(|e| call_failed(PART, "sqs:ListMessageMoveTasks", &e))?;
    Ok(out
        .results()
        .iter()
        .filter_map(|r| {
            Some(MoveTask {
                handle: r.task_handle().filter(|h| !h.is_empty()).map(str::to_string),
                status: Status::parse(r.status()?)?,
                source_arn: r.source_arn().unwrap_or(source_arn).to_string(),
                destination_arn: r.destination_arn().filter(|d| !d.is_empty()).map(str::to_string),
                moved: r.approximate_number_of_messages_moved(),
                to_move: r.approximate_number_of_messages_to_move(),
                failure_reason: r.failure_reason().filter(|f| !f.is_empty()).map(str::to_string),
                started: r.started_timestamp(),
            })
        })
        .collect())
}

/// The task running on the source, if one is: SQS runs one at a time.
pub fn running(tasks: &[MoveTask]) -> Option<&MoveTask> {
    tasks.iter().find(|t| matches!(t.status, Status::Running | Status::Cancelling))
}

/// StartMessageMoveTask: the new task's handle.
pub async fn start(sqs: &aws_sdk_sqs::Client, spec: &MoveSpec) -> PartResult<String> {
    let out = sqs
        .start_message_move_task()
        .source_arn(&spec.source_arn)
        .set_destination_arn(spec.destination_arn.clone())
        .set_max_number_of_messages_per_second(spec.rate)
        .send()
        .await
        .map_err(|e| call_failed(PART, "sqs:StartMessageMoveTask", &e))?;
    out.task_handle().filter(|h| !h.is_empty()).map(str::to_string).ok_or_else(|| {
        Diagnostic::error(
            format!("{PART}: sqs:StartMessageMoveTask answered no task handle"),
            format!("SQS started a task on {} but did not say which; it can be seen with ListMessageMoveTasks.", spec.source_arn),
        )
    })
}

/// CancelMessageMoveTask: how many messages the task had moved.
pub async fn cancel(sqs: &aws_sdk_sqs::Client, handle: &str) -> PartResult<i64> {
    let out =
        sqs.cancel_message_move_task().task_handle(handle).send().await.map_err(|e| call_failed(PART, "sqs:CancelMessageMoveTask", &e))?;
    Ok(out.approximate_number_of_messages_moved())
}

/// How far SQS's clock may be from ours, for telling our task from an
/// older one when SQS has never been seen running it (see `Started`).
const CLOCK_SLACK_MS: i64 = 5 * 60 * 1000;

/// The task this provider started, as far as it is known: its handle and,
/// once seen running, the start SQS stamped on it. SQS lists an ended task
/// without its handle, so that stamp is what finds it then.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub handle: String,
    stamped: Option<i64>,
    /// Our clock when it was started, less the slack.
    not_before: i64,
}

impl Started {
    /// Task `handle`, started at `now_ms` by our clock.
    pub fn new(handle: String, now_ms: i64) -> Started {
        Started { handle, stamped: None, not_before: now_ms - CLOCK_SLACK_MS }
    }

    /// Our task among `tasks` (most recent first): by its handle while it
    /// runs, remembering SQS's stamp; once ended, the task with that stamp.
    /// Ended before it was ever seen running, it is the most recent task:
    /// SQS runs one per queue at a time, and ours came last.
    pub fn find<'a>(&mut self, tasks: &'a [MoveTask]) -> Option<&'a MoveTask> {
        if let Some(t) = tasks.iter().find(|t| t.handle.as_deref() == Some(self.handle.as_str())) {
            self.stamped = Some(t.started);
            return Some(t);
        }
        match self.stamped {
            Some(stamp) => tasks.iter().find(|t| t.handle.is_none() && t.started == stamp),
            None => tasks.first().filter(|t| t.handle.is_none() && t.started >= self.not_before),
        }
    }
}

/// One round of watching task `handle` on `source`: done (completed), still
/// moving (with its progress), or an error naming the queue, the state and
/// what to do.
pub fn round(source: &str, task: Option<&MoveTask>) -> PartResult<super::Poll<MoveTask>> {
    let Some(t) = task else {
        return Err(Diagnostic::error(
            format!("{PART} on {source} is not listed"),
            format!("ListMessageMoveTasks on {source} no longer lists the task that was started; check the queue in the SQS console (Dead-letter queue redrive) for what moved."),
        ));
    };
    match t.status {
        Status::Completed => Ok(super::Poll::Done(t.clone())),
        Status::Running => Ok(super::Poll::Pending(t.progress())),
        Status::Cancelling | Status::Cancelled => Err(Diagnostic::error(
            format!("The message move task on {source} was cancelled"),
            format!(
                "The task moving the messages of {source} to {} was cancelled outside Terraform after it {}. The messages not moved are still in {source}; invoke the action again to move them.",
                t.destination(),
                t.progress()
            ),
        )),
        Status::Failed => Err(Diagnostic::error(
            format!("The message move task on {source} failed"),
            format!(
                "SQS reports the task moving the messages of {source} to {} as FAILED after it {}: {}. The messages not moved are still in {source}; fix the cause (often a destination the caller may not send to, or one deleted), then invoke the action again.",
                t.destination(),
                t.progress(),
                t.failure_reason.as_deref().unwrap_or("no reason given")
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parts::wait::Poll;

    const SOURCE: &str = "arn:aws:sqs:eu-west-1:123456789012:orders-dlq";

    fn task(handle: Option<&str>, status: Status, moved: i64, started: i64) -> MoveTask {
        MoveTask {
            handle: handle.map(str::to_string),
            status,
            source_arn: SOURCE.into(),
            destination_arn: None,
            moved,
            to_move: Some(10),
            failure_reason: None,
            started,
        }
    }

    #[test]
    fn ours_is_found_by_handle_while_it_runs_then_by_the_start_sqs_stamped() {
        let older = task(None, Status::Completed, 3, 100);
        let running = task(Some("h1"), Status::Running, 4, 200);
        let mut ours = Started::new("h1".into(), 1_000_000);
        assert_eq!(ours.find(&[running.clone(), older.clone()]), Some(&running));
        let ended = task(None, Status::Completed, 10, 200);
        let later = task(Some("h2"), Status::Running, 1, 300);
        assert_eq!(ours.find(&[later, ended.clone(), older.clone()]), Some(&ended), "ended: by SQS's stamp, whatever our clock says");
    }

    #[test]
    fn ours_ended_before_it_was_seen_is_the_most_recent_task_unless_older_than_our_start() {
        let now = 10 * CLOCK_SLACK_MS;
        let just_ended = task(None, Status::Completed, 10, now + 3_000);
        assert_eq!(Started::new("h1".into(), now).find(std::slice::from_ref(&just_ended)), Some(&just_ended));
        // Our clock ahead of SQS's by a minute: still ours.
        let behind = task(None, Status::Completed, 10, now - 60_000);
        assert_eq!(Started::new("h1".into(), now).find(std::slice::from_ref(&behind)), Some(&behind));
        let long_ago = task(None, Status::Completed, 3, now - 2 * CLOCK_SLACK_MS);
        assert_eq!(Started::new("h1".into(), now).find(&[long_ago]), None, "a task from before ours is never taken for it");
    }

    #[test]
    fn a_round_moves_on_while_running_and_ends_on_completion() {
        assert!(matches!(round(SOURCE, Some(&task(Some("h"), Status::Running, 4, 1))), Ok(Poll::Pending(p)) if p == "moved 4 of 10"));
        assert!(matches!(round(SOURCE, Some(&task(None, Status::Completed, 10, 1))), Ok(Poll::Done(t)) if t.moved == 10));
    }

    #[test]
    fn a_failed_or_cancelled_task_is_an_error_naming_the_queue_and_the_way_on() {
        let mut failed = task(None, Status::Failed, 2, 1);
        failed.failure_reason = Some("AWS.SimpleQueueService.NonExistentQueue".into());
        let e = round(SOURCE, Some(&failed)).err().unwrap();
        assert!(
            e.detail.contains(SOURCE)
                && e.detail.contains("NonExistentQueue")
                && e.detail.contains("moved 2 of 10")
                && e.detail.contains("invoke the action again"),
            "{}",
            e.detail
        );
        let e = round(SOURCE, Some(&task(None, Status::Cancelled, 5, 1))).err().unwrap();
        assert!(e.summary.contains("cancelled") && e.detail.contains("outside Terraform"), "{e:?}");
        assert!(round(SOURCE, None).is_err());
    }

    #[test]
    fn only_a_running_or_cancelling_task_blocks_a_new_one() {
        assert!(running(&[task(None, Status::Completed, 1, 1), task(None, Status::Failed, 0, 0)]).is_none());
        assert!(running(&[task(Some("h"), Status::Cancelling, 1, 1)]).is_some());
    }
}
