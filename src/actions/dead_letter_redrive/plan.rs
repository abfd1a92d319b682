//! The checks against SQS, at plan and again at invoke: the dead-letter
//! queue exists and is one (some queue's RedrivePolicy names it), and the
//! destination exists and is of its type.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::parts::queue::{self, move_task, Queue};
use crate::resources::private_lambda_pipeline::dead_letter_queue_names;
use crate::validate::arn_region;

use super::config::{Redrive, RedriveConfig, Source};
use super::validate::{type_mismatch, validate};

/// The queues of a redrive, as SQS has them.
pub(super) struct Resolved {
    pub dlq: Queue,
    /// The destination when one is given and in the provider's region.
    pub destination: Option<Queue>,
}

pub(super) async fn plan(ctx: Option<&Ctx>, c: &RedriveConfig) -> Diagnostics {
    let d = validate(c);
    let (Some(ctx), Some(redrive), false) = (ctx, c.redrive(), d.has_errors()) else { return d };
    let resolved = match ctx.run_all("checking the dead-letter queue", resolve(ctx, &redrive)).await {
        Ok(r) => r,
        Err(e) => return e,
    };
    // A task running now may be over by the time the action runs: a
    // warning here, the refusal at invoke.
    match ctx.run("listing the queue's message move tasks", move_task::find_recent(&ctx.aws.sqs, &resolved.dlq.arn)).await {
        Ok(tasks) => match move_task::running(&tasks) {
            Some(t) => Diagnostics(vec![Diagnostic::warning(
                "A message move task runs on the dead-letter queue",
                format!(
                    "{} The action refuses to start a second one while it runs (SQS runs one task per queue at a time).",
                    running_now(&resolved.dlq, t)
                ),
            )
            .at(redrive.source.path())]),
            None => d,
        },
        // Only a warning could come of it: the invoke lists the tasks
        // again and says then what stops it.
        Err(e) => Diagnostic::warning("Could not check for a running message move task", e.detail).into(),
    }
}

/// What the task running on `dlq` is doing, for a message.
pub(super) fn running_now(dlq: &Queue, t: &move_task::MoveTask) -> String {
    format!(
        "Task {} on {} is {}: it has {}, to {}.",
        t.handle.as_deref().unwrap_or("(no handle)"),
        dlq.arn,
        t.status.as_str(),
        t.progress(),
        t.destination()
    )
}

/// The redrive's queues found, and checked, in SQS.
pub(super) async fn resolve(ctx: &Ctx, r: &Redrive) -> Result<Resolved, Diagnostics> {
    let at = r.source.path();
    let dlq = source_queue(ctx, &r.source).await.map_err(|e| e.at(at.clone()))?;
    let sources = queue::dead_letter_sources(&ctx.aws.sqs, &dlq.url).await?;
    if sources.is_empty() {
        return Err(Diagnostic::error(
            "Not a dead-letter queue",
            format!(
                "{} is the dead-letter queue of no queue: no queue's RedrivePolicy names it (ListDeadLetterSourceQueues lists none). SQS moves messages only out of a queue that is the dead-letter queue of other SQS queues (StartMessageMoveTask, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html). Name the dead-letter queue itself, or set this queue as one in its source queue's redrive policy.",
                dlq.arn
            ),
        )
        .at(at)
        .into());
    }
    let destination = match r.destination_arn.as_deref() {
        Some(arn) => destination_queue(ctx, &dlq, arn).await.map_err(|e| e.at(Path::attr("destination_arn")))?,
        None => None,
    };
    Ok(Resolved { dlq, destination })
}

/// The dead-letter queue named by the configuration.
async fn source_queue(ctx: &Ctx, source: &Source) -> Result<Queue, Diagnostic> {
    let region = ctx.aws.region.as_str();
    match source {
        Source::Pipeline(name) => {
            let names = dead_letter_queue_names(name);
            for n in &names {
                // Its settings alone: the action reads no tags.
                if let Some(q) = queue::find_settings_by_name(&ctx.aws.sqs, n).await? {
                    return Ok(q);
                }
            }
            Err(Diagnostic::error(
                "No such pipeline",
                format!("No pipeline {name:?} in {region}: neither of its dead-letter queues, {} or {}, exists. pipeline is a privatelink_private_lambda_pipeline's name.", names[0], names[1]),
            ))
        }
        Source::Queue(arn) => {
            if arn_region(arn) != region {
                return Err(other_region("source_arn", arn, region));
            }
            queue::find_by_arn(&ctx.aws.sqs, arn).await?.ok_or_else(|| {
                Diagnostic::error("No such queue", format!("source_arn {arn}: no such queue in {region} (GetQueueUrl found none)."))
            })
        }
    }
}

/// The destination, checked when it is in the provider's region (one in
/// another region is SQS's to judge at start).
async fn destination_queue(ctx: &Ctx, dlq: &Queue, arn: &str) -> Result<Option<Queue>, Diagnostic> {
    if arn == dlq.arn {
        return Err(Diagnostic::error(
            "The destination is the dead-letter queue",
            format!("destination_arn is the dead-letter queue itself ({arn}): the messages would stay where they are. Leave destination_arn out to send them back to the queues they came from."),
        ));
    }
    if let Some(why) = type_mismatch(&dlq.arn, arn) {
        return Err(Diagnostic::error("Queues of two types", why));
    }
    let region = ctx.aws.region.as_str();
    if arn_region(arn) != region {
        return Ok(None);
    }
    match queue::find_by_arn(&ctx.aws.sqs, arn).await? {
        Some(q) => Ok(Some(q)),
        None => {
            Err(Diagnostic::error("No such queue", format!("destination_arn {arn}: no such queue in {region} (GetQueueUrl found none).")))
        }
    }
}

fn other_region(attribute: &str, arn: &str, region: &str) -> Diagnostic {
    Diagnostic::error(
        "Queue in another region",
        format!(
            "{attribute} {arn} is a queue in {}; this provider calls SQS in {region}, and SQS starts a queue's move task only in the queue's own region. Use a provider configured for {} (an aliased provider block, `provider = privatelink.ALIAS` on the action).",
            arn_region(arn),
            arn_region(arn)
        ),
    )
}
