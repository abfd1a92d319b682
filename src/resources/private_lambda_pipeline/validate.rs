//! Validation of the configuration alone (no AWS call), run at validate and again at plan.

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, List, Val};
use crate::parts::{kms_key, queue};
use crate::resources::checks;
use crate::resources::composite::Validate;
use crate::resources::function::{self, DEFAULT_TIMEOUT};

use super::config::{EndpointBlock, Pipeline};
use super::PrivateLambdaPipeline;

/// The configuration alone, run at validate and again at plan.
impl Validate for PrivateLambdaPipeline {
    fn validate(&self, c: &Pipeline) -> Diagnostics {
        let mut d = Diagnostics::default();
        // Unknown or FIFO: the longer `.fifo` names.
        let fifo = c.queue.fifo.bool() == Some(true) || c.queue.fifo.is_unknown();
        if let Some(Err(e)) = c.name.str().map(|n| check_name(n, fifo)) {
            d.push(Diagnostic::error("Invalid name", e).at(c.name.path.clone()));
        }
        checks::check_id(&mut d, "vpc", &c.vpc_id);
        if c.subnet_ids.is_wholly_known() && c.subnet_ids.strings().is_empty() {
            d.push(
                Diagnostic::error("No subnets", "The producer needs at least one private subnet (one per Availability Zone).")
                    .at(c.subnet_ids.path.clone()),
            );
        }
        checks::check_ids(&mut d, "subnet", &c.subnet_ids);
        checks::check_tags(&mut d, &c.tags);
        function::validate(&mut d, &c.producer);
        function::validate(&mut d, &c.consumer);
        d.extend(Diagnostics(c.timeouts.validate()));
        validate_queue_and_mapping(c, &mut d);
        validate_endpoint(&c.endpoint, &mut d);
        d
    }
}

fn validate_endpoint(ep: &EndpointBlock, d: &mut Diagnostics) {
    match (ep.create.bool(), &ep.endpoint_id.val) {
        (Some(true), Val::Known(_)) => d.push(
            Diagnostic::error(
                "Conflicting endpoint settings",
                "Either create = true (the pipeline makes the endpoint) or endpoint_id (use an existing one), not both.",
            )
            .at(ep.endpoint_id.path.clone()),
        ),
        (Some(false), Val::Null) => d.push(
            Diagnostic::error(
                "No endpoint",
                "With create = false, give endpoint_id: the producer has no NAT and reaches SQS only through an Interface endpoint.",
            )
            .at(ep.create.path.clone()),
        ),
        (_, Val::Known(id)) => {
            if let Err(e) = crate::validate::aws_id("vpce", id) {
                d.push(Diagnostic::error("Invalid endpoint id", e).at(ep.endpoint_id.path.clone()));
            }
        }
        _ => {}
    }
}

/// The consumer's timeout as planned (default when unset).
pub(super) fn consumer_timeout(c: &Pipeline) -> Option<i64> {
    match &c.consumer.timeout.val {
        Val::Null => Some(DEFAULT_TIMEOUT),
        _ => c.consumer.timeout.int(),
    }
}

/// The provider's own cap on `name`: tighter than AWS's limits on the names
/// derived from it (the longest, `<name>-consumer` for a function and its
/// role and `<name>-dlq.fifo` for a queue, allow 55), leaving room for
/// objects a later version may derive from it.
pub(super) const NAME_CHARS: usize = 40;

/// The name prefixes every object's name. Besides the provider's cap of
/// [`NAME_CHARS`], each derived name is held to AWS's limit for its kind,
/// so the message can say which object a too-long name would break; and a
/// security group's name may not start with `sg-`. `fifo` is whether the
/// queues are (or may be) FIFO: `.fifo` lengthens their names.
pub(super) fn check_name(name: &str, fifo: bool) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!(
            "{name:?}: 1 to {NAME_CHARS} letters, digits, '-' or '_' (it prefixes function, queue, role and security group names)."
        ));
    }
    if name.starts_with("sg-") {
        return Err(format!(
            "{name:?} would name the security groups {name}-producer and {name}-endpoint, and EC2 refuses group names starting with \"sg-\"; choose another name."
        ));
    }
    let derived = super::config::derived_names(name, fifo);
    let too_long: Vec<String> = derived
        .iter()
        .filter(|(_, n, limit)| n.chars().count() > *limit)
        .map(|(what, n, limit)| format!("{what} {n:?} ({} characters; AWS allows {limit})", n.chars().count()))
        .collect();
    if !too_long.is_empty() {
        return Err(format!(
            "{name:?} ({} characters) makes names longer than AWS allows: {}. Use at most {NAME_CHARS} characters.",
            name.len(),
            too_long.join("; ")
        ));
    }
    if name.len() > NAME_CHARS {
        let (what, longest, limit) = derived.iter().max_by_key(|(_, n, limit)| n.len() * 1000 / limit).cloned().unwrap_or_default();
        return Err(format!(
            "{name:?} is {} characters; the provider allows {NAME_CHARS}, so that every name it derives stays well within AWS's limits (now the closest is {what} {longest:?}, {} of {limit} characters).",
            name.len(),
            longest.len()
        ));
    }
    Ok(())
}

fn validate_queue_and_mapping(c: &Pipeline, d: &mut Diagnostics) {
    let (q, es) = (&c.queue, &c.event_source);
    checks::check_range(d, &q.visibility_timeout_seconds, 0, 43_200, "seconds");
    checks::check_range(d, &q.message_retention_seconds, 60, 1_209_600, "seconds");
    checks::check_range(d, &q.dead_letter_retention_seconds, 60, 1_209_600, "seconds");
    checks::check_range(d, &q.max_receive_count, 1, 1000, "receives");
    checks::check_range(d, &es.maximum_batching_window_seconds, 0, 300, "seconds");
    checks::check_range(d, &es.maximum_concurrency, 2, 1000, "invocations");
    checks::check_range(d, &q.delay_seconds, 0, 900, "seconds");
    checks::check_range(d, &q.receive_wait_time_seconds, 0, 20, "seconds");
    checks::check_range(d, &q.max_message_size, queue::MIN_MESSAGE_SIZE_LIMIT as i64, queue::MAX_MESSAGE_BYTES as i64, "bytes");
    if !q.content_based_deduplication.is_null() && !q.fifo.is_unknown() && q.fifo.bool() != Some(true) {
        d.push(
            Diagnostic::error(
                "Content-based deduplication on a standard queue",
                "SQS deduplicates by content on FIFO queues only: set fifo = true, or remove content_based_deduplication.",
            )
            .at(q.content_based_deduplication.path.clone()),
        );
    }
    if let Some(Err(e)) = q.kms_master_key_id.str().map(kms_key::check_reference) {
        d.push(Diagnostic::error("Invalid KMS key", e).at(q.kms_master_key_id.path.clone()));
    }
    // A role the user brings is theirs to grant: say what it needs.
    if let Some(key) = q.kms_master_key_id.str().filter(|k| !kms_key::is_aws_managed_alias(k)) {
        for (block, needs) in [(&c.producer.role_arn, "kms:GenerateDataKey and kms:Decrypt"), (&c.consumer.role_arn, "kms:Decrypt")] {
            if !block.is_null() {
                d.push(
                    Diagnostic::warning(
                        "Your role needs the queue key's rights",
                        format!("The queues are encrypted with {key}; with your own role_arn, that role needs {needs} on the key, or AWS refuses its SQS calls (KMS.AccessDeniedException)."),
                    )
                    .at(block.path.clone()),
                );
            }
        }
    }
    let fifo = q.fifo.bool() == Some(true);
    let window = es.maximum_batching_window_seconds.int().unwrap_or(0);
    if fifo && window > 0 {
        d.push(
            Diagnostic::error(
                "Batching window on a FIFO queue",
                "Lambda does not allow maximum_batching_window_seconds for FIFO queues; remove it or use a standard queue.",
            )
            .at(es.maximum_batching_window_seconds.path.clone()),
        );
    }
    validate_batch_size(d, &es.batch_size, fifo, window);
    validate_filter_patterns(d, &es.filter_patterns);
    validate_visibility(d, &q.visibility_timeout_seconds, consumer_timeout(c), window);
}

fn validate_batch_size(d: &mut Diagnostics, batch_size: &Attr<f64>, fifo: bool, window: i64) {
    let max_batch = if fifo || window == 0 { 10 } else { 10_000 };
    let why = if fifo {
        "a FIFO queue"
    } else if window == 0 {
        "no batching window"
    } else {
        "a standard queue with a batching window"
    };
    if let Some(n) = batch_size.number() {
        if n.fract() != 0.0 || n < 1.0 || n as i64 > max_batch {
            d.push(
                Diagnostic::error("Invalid batch_size", format!("{n}: with {why} the batch size is 1 to {max_batch}."))
                    .at(batch_size.path.clone()),
            );
        }
    }
}

fn validate_filter_patterns(d: &mut Diagnostics, patterns: &Attr<List<String>>) {
    let Some(list) = patterns.get() else { return };
    if list.len() > 5 {
        d.push(
            Diagnostic::error("Too many filter patterns", "Lambda takes at most 5 filter patterns per mapping.").at(patterns.path.clone()),
        );
    }
    for (i, s) in list.indexed() {
        if serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).is_err() {
            d.push(
                Diagnostic::error(
                    "Invalid filter pattern",
                    format!("{s:?} is not a JSON object such as {{\"body\":{{\"type\":[\"order\"]}}}}."),
                )
                .at(patterns.path.index(i)),
            );
        }
    }
}

/// SQS hides a message for the visibility timeout while the consumer works
/// on it; shorter than the function's timeout and Lambda refuses the
/// mapping (minutes into an apply), so say it now.
fn validate_visibility(d: &mut Diagnostics, visibility: &Attr<f64>, consumer_timeout: Option<i64>, window: i64) {
    let (Some(vis), Some(fn_timeout)) = (visibility.int(), consumer_timeout) else { return };
    let advice = recommended_visibility(fn_timeout, window);
    if vis < fn_timeout {
        d.push(
            Diagnostic::error(
                "Visibility timeout shorter than the consumer's timeout",
                format!(
                    "The queue's visibility_timeout_seconds ({vis}) must be at least the consumer's timeout ({fn_timeout}); AWS advises six times the timeout plus the batching window: {advice}."
                ),
            )
            .at(visibility.path.clone()),
        );
    } else if vis < advice {
        d.push(
            Diagnostic::warning(
                "Visibility timeout below AWS's advice",
                format!(
                    "{vis} seconds works, but with retries a message may be processed twice; AWS advises six times the consumer's timeout plus the batching window: {advice}."
                ),
            )
            .at(visibility.path.clone()),
        );
    }
}

/// AWS's advice for an SQS event source: six times the function's timeout
/// plus the batching window. Also the default when unset.
pub fn recommended_visibility(function_timeout: i64, window: i64) -> i64 {
    (6 * function_timeout + window).min(43_200)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_within_the_cap_fit_every_derived_limit() {
        let name = "n".repeat(NAME_CHARS);
        assert_eq!(check_name(&name, true), Ok(()));
        for (what, n, limit) in super::super::config::derived_names(&name, true) {
            assert!(n.len() <= limit, "{what} {n}");
        }
    }

    #[test]
    fn too_long_names_say_which_object_and_limit() {
        // 41 to 55 characters: within AWS's limits, over the provider's cap.
        let e = check_name(&"n".repeat(41), true).unwrap_err();
        assert!(e.contains("allows 40") && e.contains("50 of 64"), "{e}");
        // 56: the function and role names pass 64.
        let e = check_name(&"n".repeat(56), false).unwrap_err();
        assert!(e.contains("consumer Lambda function") && e.contains("65 characters; AWS allows 64"), "{e}");
        assert!(!e.contains("queue"), "{e}");
        // 72 with FIFO: the dead-letter queue's 81 characters pass SQS's 80.
        let e = check_name(&"q".repeat(72), true).unwrap_err();
        assert!(e.contains("the dead-letter queue") && e.contains("81 characters; AWS allows 80"), "{e}");
        assert!(!e.contains("the SQS queue"), "{e}");
        let e = check_name(&"q".repeat(81), false).unwrap_err();
        assert!(e.contains("the SQS queue \"") && e.contains("AWS allows 80"), "{e}");
    }

    #[test]
    fn names_keep_aws_character_rules() {
        assert!(check_name("", false).is_err());
        assert!(check_name("orders.v2", false).is_err());
        assert!(check_name("sg-orders", false).unwrap_err().contains("sg-"));
        assert_eq!(check_name("orders_v2-eu", false), Ok(()));
    }
}
