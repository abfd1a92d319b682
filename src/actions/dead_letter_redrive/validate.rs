//! Checks of the configuration alone: no AWS call. Unknown values wait for
//! plan or invoke.

use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::parts::queue::move_task::MAX_RATE;
use crate::resources::private_lambda_pipeline::check_pipeline_name;
use crate::validate::sqs_queue_arn;

use super::config::RedriveConfig;

/// Where SQS says a redrive's two queues must be of one type.
pub(super) const SAME_TYPE_RULE: &str = "SQS moves messages only between queues of one type: \"if the dead-letter queue is a FIFO queue, the redrive destination queue must be a FIFO queue as well\" (Amazon SQS Developer Guide, \"Learn how to configure a dead-letter queue redrive\", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-dead-letter-queue-redrive.html).";

pub(super) fn validate(c: &RedriveConfig) -> Diagnostics {
    let mut d = Diagnostics::default();
    let pipeline = Path::attr("pipeline");
    let source = Path::attr("source_arn");
    let destination = Path::attr("destination_arn");
    match (c.pipeline.is_null(), c.source_arn.is_null()) {
        (false, false) => d.push(
            Diagnostic::error(
                "Two dead-letter queues named",
                "Give pipeline (a pipeline's name: its dead-letter queue) or source_arn (a dead-letter queue's ARN), not both.",
            )
            .at(pipeline.clone()),
        ),
        (true, true) => d.push(Diagnostic::error(
            "No dead-letter queue named",
            "Give pipeline (a privatelink_private_lambda_pipeline's name: its dead-letter queue is redriven) or source_arn (the ARN of any dead-letter queue).",
        )),
        _ => {}
    }
    if let Some(name) = c.pipeline.str() {
        if let Err(e) = check_pipeline_name(name) {
            d.push(Diagnostic::error("Invalid pipeline", format!("pipeline is a pipeline's name: {e}")).at(pipeline));
        }
    }
    if let Some(arn) = c.source_arn.str() {
        if let Err(e) = sqs_queue_arn(arn) {
            d.push(Diagnostic::error("Invalid source_arn", e).at(source));
        }
    }
    if let Some(arn) = c.destination_arn.str() {
        if let Err(e) = sqs_queue_arn(arn) {
            d.push(Diagnostic::error("Invalid destination_arn", e).at(destination.clone()));
        } else if c.source_arn.str() == Some(arn) {
            d.push(
                Diagnostic::error(
                    "The destination is the dead-letter queue",
                    format!("destination_arn is source_arn ({arn}): the messages would stay where they are. Leave destination_arn out to send them back to the queues they came from."),
                )
                .at(destination.clone()),
            );
        } else if let Some(src) = c.source_arn.str().filter(|s| sqs_queue_arn(s).is_ok()) {
            if let Some(why) = type_mismatch(src, arn) {
                d.push(Diagnostic::error("Queues of two types", why).at(destination));
            }
        }
    }
    if let Some(rate) = c.max_messages_per_second.number() {
        if rate.fract() != 0.0 || !(1.0..=MAX_RATE as f64).contains(&rate) {
            d.push(
                Diagnostic::error(
                    "Invalid max_messages_per_second",
                    format!("max_messages_per_second is {rate}; SQS moves 1 to {MAX_RATE} messages a second (StartMessageMoveTask, MaxNumberOfMessagesPerSecond): give a whole number in that range, or leave it out to let SQS choose."),
                )
                .at(Path::attr("max_messages_per_second")),
            );
        }
    }
    d
}

/// Why a redrive from `source` to `destination` (queue ARNs or names) is
/// refused for their types, if it is.
pub(super) fn type_mismatch(source: &str, destination: &str) -> Option<String> {
    let fifo = |q: &str| q.ends_with(".fifo");
    let kind = |q: &str| if fifo(q) { "a FIFO queue" } else { "a standard queue" };
    (fifo(source) != fifo(destination)).then(|| {
        format!(
            "The dead-letter queue {source} is {} and destination_arn {destination} is {}. {SAME_TYPE_RULE}",
            kind(source),
            kind(destination)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::value::Value;

    const DLQ: &str = "arn:aws:sqs:eu-west-1:123456789012:orders-dlq";
    const FIFO_DLQ: &str = "arn:aws:sqs:eu-west-1:123456789012:orders-dlq.fifo";

    fn config(pairs: &[(&str, Value)]) -> RedriveConfig {
        RedriveConfig::decode(&Value::object(pairs.iter().cloned()))
    }

    fn paths(c: &RedriveConfig) -> Vec<String> {
        validate(c).0.iter().map(|d| d.path.as_ref().and_then(|p| p.last_attr()).unwrap_or_else(|| "(block)".into())).collect()
    }

    #[test]
    fn one_source_is_needed_and_only_one() {
        assert_eq!(paths(&config(&[])), ["(block)"]);
        assert_eq!(paths(&config(&[("pipeline", Value::string("orders")), ("source_arn", Value::string(DLQ))])), ["pipeline"]);
        assert!(paths(&config(&[("pipeline", Value::string("orders"))])).is_empty());
        assert!(paths(&config(&[("source_arn", Value::string(DLQ))])).is_empty());
    }

    #[test]
    fn unknown_values_wait_for_plan() {
        assert!(paths(&config(&[("source_arn", Value::Unknown), ("max_messages_per_second", Value::Unknown)])).is_empty());
    }

    #[test]
    fn bad_names_arns_and_rates_are_refused_at_their_attribute() {
        assert_eq!(paths(&config(&[("pipeline", Value::string("no spaces"))])), ["pipeline"]);
        assert_eq!(paths(&config(&[("source_arn", Value::string("arn:aws:sns:eu-west-1:123456789012:t"))])), ["source_arn"]);
        assert_eq!(
            paths(&config(&[("source_arn", Value::string(DLQ)), ("destination_arn", Value::string("orders"))])),
            ["destination_arn"]
        );
        for bad in [0.0, 501.0, 2.5, -1.0] {
            assert_eq!(
                paths(&config(&[("source_arn", Value::string(DLQ)), ("max_messages_per_second", Value::Number(bad))])),
                ["max_messages_per_second"],
                "{bad}"
            );
        }
        for good in [1.0, 500.0] {
            assert!(paths(&config(&[("source_arn", Value::string(DLQ)), ("max_messages_per_second", Value::Number(good))])).is_empty());
        }
    }

    #[test]
    fn the_destination_is_another_queue_of_the_same_type() {
        assert_eq!(paths(&config(&[("source_arn", Value::string(DLQ)), ("destination_arn", Value::string(DLQ))])), ["destination_arn"]);
        let fifo_to_standard = config(&[
            ("source_arn", Value::string(FIFO_DLQ)),
            ("destination_arn", Value::string("arn:aws:sqs:eu-west-1:123456789012:orders")),
        ]);
        let d = validate(&fifo_to_standard);
        assert!(d.0[0].detail.contains("FIFO") && d.0[0].detail.contains("sqs-configure-dead-letter-queue-redrive"), "{:?}", d.0);
        let fifo_to_fifo = config(&[
            ("source_arn", Value::string(FIFO_DLQ)),
            ("destination_arn", Value::string("arn:aws:sqs:eu-west-1:123456789012:orders.fifo")),
        ]);
        assert!(paths(&fifo_to_fifo).is_empty());
    }
}
