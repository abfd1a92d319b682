//! The redrive: the checks of plan again (values may only now be known),
//! then one message move task, watched until it completes, progress told
//! as the count moves. A stop cancels the task before the invoke ends, so
//! no task runs on after Terraform gave up on it.

use std::sync::Mutex;
use std::time::Duration;

use crate::actions::Progress;
use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::parts::queue::move_task::{self, MoveSpec, MoveTask, Started, Status};
use crate::parts::wait::Poll;

use super::config::RedriveConfig;
use super::plan::{resolve, running_now, Resolved};
use super::validate::validate;

/// How often the task's progress is read (ListMessageMoveTasks).
const POLL: Duration = Duration::from_secs(1);
/// How long a cancel after a stop may take before the invoke gives up and
/// says the task may still run.
const CANCEL_LIMIT: Duration = Duration::from_secs(20);

pub(super) async fn invoke(ctx: &Ctx, c: &RedriveConfig, progress: &Progress) -> Diagnostics {
    let d = validate(c);
    if d.has_errors() {
        return d;
    }
    let Some(redrive) = c.redrive() else {
        return Diagnostic::error(
            "Unknown values",
            "The action's configuration still has values not known at invoke; this is a bug in Terraform or the configuration.",
        )
        .into();
    };
    let resolved = match ctx.run_all("checking the dead-letter queue", resolve(ctx, &redrive)).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    let sqs = &ctx.aws.sqs;
    let dlq = &resolved.dlq;
    let tasks = match ctx.run("listing the queue's message move tasks", move_task::find_recent(sqs, &dlq.arn)).await {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    if let Some(t) = move_task::running(&tasks) {
        return Diagnostic::error(
            "A message move task already runs on the dead-letter queue",
            format!(
                "{} SQS runs one task per queue at a time, and this action does not stop someone else's. Wait for it to end, or cancel it (aws sqs cancel-message-move-task --task-handle ...), then invoke again.",
                running_now(dlq, t)
            ),
        )
        .at(redrive.source.path())
        .into();
    }
    if dlq.waiting() == 0 {
        progress.say(format!("{} is empty: nothing to move", dlq.name));
        return Diagnostics::default();
    }
    let spec = MoveSpec { source_arn: dlq.arn.clone(), destination_arn: redrive.destination_arn.clone(), rate: redrive.rate };
    progress.say(starting(&resolved, &spec));
    // Not abandoned on a stop: a start whose answer is dropped would leave
    // a task running that nobody knows the handle of.
    let handle = match move_task::start(sqs, &spec).await {
        Ok(h) => h,
        Err(e) => return e.into(),
    };
    tracing::info!(task = %handle, source = %dlq.arn, "message move task started");
    let ours = Mutex::new(Started::new(handle, now_ms()));
    tokio::select! {
        done = watch(ctx, &dlq.arn, &ours, progress) => done,
        _ = ctx.cancel.cancelled() => cancel_after_stop(ctx, &dlq.arn, &ours).await,
    }
}

/// What the task is about to do, for the first progress message.
fn starting(r: &Resolved, spec: &MoveSpec) -> String {
    let to = r
        .destination
        .as_ref()
        .map(|q| q.name.clone())
        .or(spec.destination_arn.clone())
        .unwrap_or_else(|| "the queues they came from".into());
    let rate = spec.rate.map(|n| format!(", at most {n} a second")).unwrap_or_default();
    format!("moving about {} messages from {} to {to}{rate}", r.dlq.waiting(), r.dlq.name)
}

/// Reads the task until it completes, saying each new count.
async fn watch(ctx: &Ctx, source: &str, ours: &Mutex<Started>, progress: &Progress) -> Diagnostics {
    let mut said = String::new();
    loop {
        let tasks = match move_task::find_recent(&ctx.aws.sqs, source).await {
            Ok(t) => t,
            Err(e) => return e.into(),
        };
        let found = ours.lock().unwrap_or_else(|e| e.into_inner()).find(&tasks).cloned();
        match move_task::round(source, found.as_ref()) {
            Ok(Poll::Done(t)) => {
                progress.say(format!("{}: done", t.progress()));
                return Diagnostics::default();
            }
            Ok(Poll::Pending(now)) => {
                if now != said {
                    progress.say(now.clone());
                    said = now;
                }
            }
            Err(e) => return e.into(),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Terraform asked to stop: cancel the task and say how far it got, in
/// the completed event alone (no progress event after a stop: see
/// `Progress`). When the task ended by itself just before, say that
/// instead.
async fn cancel_after_stop(ctx: &Ctx, source: &str, ours: &Mutex<Started>) -> Diagnostics {
    let sqs = &ctx.aws.sqs;
    let handle = ours.lock().unwrap_or_else(|e| e.into_inner()).handle.clone();
    let handle = handle.as_str();
    let cancelled = tokio::time::timeout(CANCEL_LIMIT, move_task::cancel(sqs, handle)).await;
    let ended = |t: Option<&MoveTask>| t.filter(|t| t.status == Status::Completed).cloned();
    match cancelled {
        Ok(Ok(moved)) => {
            tracing::info!(task = %handle, moved, "message move task cancelled after a stop");
            Diagnostic::error(
                "Stopped",
                format!("Terraform asked the provider to stop: the message move task on {source} was cancelled after it moved {}. The rest stay in the dead-letter queue; invoke the action again to move them.", messages(moved)),
            )
            .into()
        }
        Ok(Err(e)) => {
            // Cancelling a task that has just completed fails: find out.
            let tasks = tokio::time::timeout(CANCEL_LIMIT, move_task::find_recent(sqs, source)).await.ok().and_then(Result::ok).unwrap_or_default();
            let found = ours.lock().unwrap_or_else(|e| e.into_inner()).find(&tasks).cloned();
            match ended(found.as_ref()) {
                Some(t) => {
                    tracing::info!(task = %handle, progress = %t.progress(), "message move task done before the stop");
                    Diagnostics::default()
                }
                None => Diagnostic::error(
                    "Stopped, and the move task could not be cancelled",
                    format!("Terraform asked the provider to stop, and cancelling message move task {handle} on {source} failed: {} The task may still be moving messages; see it in the SQS console or with aws sqs list-message-move-tasks --source-arn {source}.", e.detail),
                )
                .into(),
            }
        }
        Err(_) => Diagnostic::error(
            "Stopped, and the move task could not be cancelled",
            format!("Terraform asked the provider to stop; cancelling message move task {handle} on {source} got no answer in {} s. The task may still be moving messages; see it with aws sqs list-message-move-tasks --source-arn {source}.", CANCEL_LIMIT.as_secs()),
        )
        .into(),
    }
}

/// `1 message`, `5 messages`.
fn messages(n: i64) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}

/// Now, in epoch milliseconds, as SQS stamps a task's start.
fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
