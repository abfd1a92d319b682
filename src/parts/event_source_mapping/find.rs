//! Reading mappings: GetEventSourceMapping by UUID, ListEventSourceMappings
//! by function and source, and Lambda's answers mapped to `Mapping`.

use aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput;
use aws_sdk_lambda::types::{EventSourceMappingConfiguration, FilterCriteria, FunctionResponseType};

use super::{call_failed, is_not_found, no_uuid, Mapping, PartResult, DELETING, GET, LIST, PART};

/// GetEventSourceMapping; `None` when there is no mapping `uuid`.
pub async fn find(lambda: &aws_sdk_lambda::Client, uuid: &str) -> PartResult<Option<Mapping>> {
    match lambda.get_event_source_mapping().uuid(uuid).send().await {
        Ok(out) => match mapping_from_get(&out) {
            Some(m) => Ok(Some(m)),
            None => Err(no_uuid(GET, uuid)),
        },
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(call_failed(PART, GET, &e)),
    }
}

/// The mapping of `function_name` (name or ARN) and `event_source_arn`,
/// from every page of ListEventSourceMappings. When a deleted mapping is
/// still listed beside a new one, the new one.
pub async fn find_for(lambda: &aws_sdk_lambda::Client, function_name: &str, event_source_arn: &str) -> PartResult<Option<Mapping>> {
    let mut pages =
        lambda.list_event_source_mappings().function_name(function_name).event_source_arn(event_source_arn).into_paginator().send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| call_failed(PART, LIST, &e))?;
        found.extend(page.event_source_mappings().iter().filter_map(mapping_from_config));
    }
    Ok(pick(found, event_source_arn))
}

/// The mapping of `event_source_arn` among those listed, preferring one
/// that is not being deleted.
pub(super) fn pick(found: Vec<Mapping>, event_source_arn: &str) -> Option<Mapping> {
    let mut of_source: Vec<Mapping> = found.into_iter().filter(|m| m.event_source_arn == event_source_arn).collect();
    of_source.sort_by_key(|m| m.state == DELETING);
    of_source.into_iter().next()
}

fn patterns_of(criteria: Option<&FilterCriteria>) -> Vec<String> {
    criteria.map(|c| c.filters().iter().filter_map(|f| f.pattern()).map(str::to_string).collect()).unwrap_or_default()
}

/// Get and List answer with the same fields in different types.
macro_rules! mapping_from {
    ($name:ident, $ty:ty) => {
        /// The mapping as Lambda describes it; `None` without a UUID.
        /// Absent numbers take AWS's meaning of absent: moto leaves out
        /// MaximumBatchingWindowInSeconds when it was never set, AWS
        /// reports 0 for the same mapping.
        pub(super) fn $name(c: &$ty) -> Option<Mapping> {
            Some(Mapping {
                uuid: c.uuid()?.to_string(),
                state: c.state().unwrap_or("Unknown").to_string(),
                state_reason: c.state_transition_reason().filter(|r| !r.is_empty()).map(str::to_string),
                function_arn: c.function_arn().unwrap_or_default().to_string(),
                event_source_arn: c.event_source_arn().unwrap_or_default().to_string(),
                batch_size: c.batch_size().unwrap_or_default(),
                maximum_batching_window_seconds: c.maximum_batching_window_in_seconds().unwrap_or(0),
                report_batch_item_failures: c.function_response_types().contains(&FunctionResponseType::ReportBatchItemFailures),
                maximum_concurrency: c.scaling_config().and_then(|s| s.maximum_concurrency()),
                filter_patterns: patterns_of(c.filter_criteria()),
            })
        }
    };
}

mapping_from!(mapping_from_get, GetEventSourceMappingOutput);

mapping_from!(mapping_from_config, EventSourceMappingConfiguration);
