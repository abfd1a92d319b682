//! `privatelink_dead_letter_redrive`: moves the messages of a dead-letter
//! queue back to the queues they came from (or to `destination_arn`) with
//! one SQS message move task, reporting progress until it completes.
//! `terraform apply -invoke=action.privatelink_dead_letter_redrive.NAME`,
//! or a resource's `action_trigger` (after a consumer's fix is deployed).
//!
//! The checks run as early as their values are known: the configuration
//! alone at validate, the queues against SQS at plan (the source is a
//! dead-letter queue of some queue, both ends of one type), all again at
//! invoke. The invoke refuses while another task runs on the queue, and a
//! stop (Ctrl-C) cancels the task it started.

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::model::Model;
use crate::schema::{attr, Block, Mode, Schema, Type};
use crate::value::Value;

use super::{Action, Progress};

mod config;
mod invoke;
mod plan;
mod validate;

pub const TYPE_NAME: &str = "privatelink_dead_letter_redrive";

pub struct DeadLetterRedrive;

#[tonic::async_trait]
impl Action for DeadLetterRedrive {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("Moves the messages of a dead-letter queue back to the queues they came from, or to another queue, with one SQS message move task.")
                .attr(attr(
                    "pipeline",
                    Type::String,
                    Mode::Optional,
                    "The `name` of a `privatelink_private_lambda_pipeline`: redrive its dead-letter queue. Give this or `source_arn`.",
                ))
                .attr(attr(
                    "source_arn",
                    Type::String,
                    Mode::Optional,
                    "ARN of the dead-letter queue to redrive (any queue that is the dead-letter queue of an SQS queue). Give this or `pipeline`.",
                ))
                .attr(attr(
                    "destination_arn",
                    Type::String,
                    Mode::Optional,
                    "ARN of the queue to move the messages to, of the same type as the dead-letter queue (FIFO or standard). Default: back to the queues each message came from.",
                ))
                .attr(attr(
                    "max_messages_per_second",
                    Type::Number,
                    Mode::Optional,
                    "At most this many messages a second, 1 to 500. Default: as fast as SQS sees fit.",
                )),
        )
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate::validate(&config::RedriveConfig::decode(config))
    }

    async fn plan(&self, ctx: Option<&Ctx>, config: &Value) -> Diagnostics {
        plan::plan(ctx, &config::RedriveConfig::decode(config)).await
    }

    async fn invoke(&self, ctx: &Ctx, config: &Value, progress: &Progress) -> Diagnostics {
        invoke::invoke(ctx, &config::RedriveConfig::decode(config), progress).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attribute_mismatch;

    #[test]
    fn the_config_model_names_the_schemas_attributes() {
        assert_eq!(attribute_mismatch::<config::RedriveConfig>(&DeadLetterRedrive.schema().block), Vec::<String>::new());
    }
}
