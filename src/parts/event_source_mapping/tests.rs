//! Unit tests of the pure parts: changes and actions, filter patterns,
//! mapping Lambda's answers, wait rounds and retried errors.

use aws_sdk_lambda::types::EventSourceMappingConfiguration;

use super::find::{mapping_from_config, pick};
use super::wait::settled;
use super::*;

const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:consumer";
const ONLY_PAID: &str = r#"{"body": {"status": ["paid"]}}"#;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn observed() -> Mapping {
    Mapping {
        uuid: "m-1".into(),
        state: "Enabled".into(),
        state_reason: Some("USER_INITIATED".into()),
        function_arn: FUNCTION_ARN.into(),
        event_source_arn: QUEUE.into(),
        batch_size: 10,
        maximum_batching_window_seconds: 0,
        report_batch_item_failures: true,
        maximum_concurrency: Some(5),
        filter_patterns: strings(&[ONLY_PAID]),
    }
}

fn wanted() -> MappingSpec {
    MappingSpec {
        function_name: "consumer".into(),
        event_source_arn: QUEUE.into(),
        batch_size: 10,
        maximum_batching_window_seconds: 0,
        report_batch_item_failures: true,
        maximum_concurrency: Some(5),
        enabled: true,
        filter_patterns: strings(&[r#"{"body":{"status":["paid"]}}"#]),
    }
}

// ---- changes ----

#[test]
fn same_mapping_needs_no_update() {
    assert_eq!(changes(&observed(), &wanted()), None);
}

#[test]
fn only_differing_settings_are_sent() {
    let mut want = wanted();
    want.batch_size = 50;
    want.maximum_batching_window_seconds = 5;
    assert_eq!(
        changes(&observed(), &want),
        Some(Update { batch_size: Some(50), maximum_batching_window_seconds: Some(5), ..Update::default() })
    );
}

#[test]
fn removals_are_explicit() {
    let mut want = wanted();
    want.report_batch_item_failures = false;
    want.maximum_concurrency = None;
    want.filter_patterns.clear();
    let update = changes(&observed(), &want).unwrap();
    assert_eq!(update.report_batch_item_failures, Some(false));
    assert_eq!(update.maximum_concurrency, Some(None));
    assert_eq!(update.filter_patterns, Some(vec![]));
    assert_eq!(update.batch_size, None);
    assert_eq!(update.enabled, None);
}

#[test]
fn additions_are_sent() {
    let mut cur = observed();
    cur.report_batch_item_failures = false;
    cur.maximum_concurrency = None;
    cur.filter_patterns.clear();
    let update = changes(&cur, &wanted()).unwrap();
    assert_eq!(update.report_batch_item_failures, Some(true));
    assert_eq!(update.maximum_concurrency, Some(Some(5)));
    assert_eq!(update.filter_patterns, Some(wanted().filter_patterns));
}

#[test]
fn enabled_follows_the_state() {
    let mut want = wanted();
    for (state, desired, send) in [
        ("Enabled", true, None),
        ("Enabling", true, None),
        ("Enabled", false, Some(false)),
        ("Enabling", false, Some(false)),
        ("Disabled", false, None),
        ("Disabling", false, None),
        ("Disabled", true, Some(true)),
        ("Disabling", true, Some(true)),
        // Not telling: the wanted value is sent.
        ("Creating", true, Some(true)),
        ("Updating", false, Some(false)),
    ] {
        want.enabled = desired;
        let cur = Mapping { state: state.into(), ..observed() };
        assert_eq!(changes(&cur, &want).and_then(|u| u.enabled), send, "{state} / enabled={desired}");
    }
}

#[test]
fn known_mapping_is_kept_updated_or_replaced() {
    assert_eq!(action(Some(observed()), &wanted()), Action::Keep(observed()));
    let mut bigger = wanted();
    bigger.batch_size = 50;
    assert_eq!(
        action(Some(observed()), &bigger),
        Action::Update { uuid: "m-1".into(), update: Update { batch_size: Some(50), ..Update::default() } }
    );
    let mut other_queue = wanted();
    other_queue.event_source_arn = "arn:aws:sqs:us-east-1:123456789012:orders-v2".into();
    assert_eq!(action(Some(observed()), &other_queue), Action::Create);
    assert_eq!(action(None, &wanted()), Action::Create);
}

#[test]
fn update_emptiness() {
    assert!(Update::default().is_empty());
    assert!(!Update { maximum_concurrency: Some(None), ..Update::default() }.is_empty());
    assert!(!Update { filter_patterns: Some(vec![]), ..Update::default() }.is_empty());
}

// ---- filter patterns ----

#[test]
fn patterns_compare_by_meaning() {
    let a = strings(&[r#"{"body":{"status":["paid","shipped"]},"attributes":{"ApproximateReceiveCount":["1"]}}"#, ONLY_PAID]);
    let b = strings(&[
        ONLY_PAID,
        "{ \"attributes\": {\"ApproximateReceiveCount\": [\"1\"]},\n  \"body\": {\"status\": [\"shipped\", \"paid\", \"paid\"]} }",
    ]);
    assert!(same_filter_patterns(&a, &b));
    assert!(same_filter_patterns(&[], &[]));
    // Repetition of a whole pattern adds no alternative.
    assert!(same_filter_patterns(&strings(&[ONLY_PAID, ONLY_PAID]), &strings(&[ONLY_PAID])));
}

#[test]
fn different_patterns_differ() {
    assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &strings(&[r#"{"body":{"status":["refunded"]}}"#])));
    assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &[]));
    // Filter syntax wants a list of alternatives; a bare string is a
    // different (invalid) pattern, not a way of writing the same one.
    assert!(!same_filter_patterns(&strings(&[ONLY_PAID]), &strings(&[r#"{"body":{"status":"paid"}}"#])));
}

#[test]
fn numeric_ranges_keep_their_order() {
    let a = strings(&[r#"{"body":{"price":[{"numeric":[">",0,"<=",5]}]}}"#]);
    let b = strings(&[r#"{"body":{"price":[{"numeric":[">",5,"<=",0]}]}}"#]);
    assert!(!same_filter_patterns(&a, &b));
    let c = strings(&[r#"{"body":{"price":[{"numeric":[">", 0, "<=", 5]}]}}"#]);
    assert!(same_filter_patterns(&a, &c));
}

#[test]
fn invalid_json_compares_as_text() {
    assert!(same_filter_patterns(&strings(&["{not json"]), &strings(&[" {not json "])));
    assert!(!same_filter_patterns(&strings(&["{not json"]), &strings(&["{not json either"])));
}

// ---- reading AWS's answer ----

#[test]
fn maps_a_listed_mapping() {
    let c = EventSourceMappingConfiguration::builder()
        .uuid("m-1")
        .state("Enabled")
        .state_transition_reason("USER_INITIATED")
        .function_arn(FUNCTION_ARN)
        .event_source_arn(QUEUE)
        .batch_size(10)
        .function_response_types(FunctionResponseType::ReportBatchItemFailures)
        .scaling_config(scaling_config(5))
        .filter_criteria(filter_criteria(&strings(&[ONLY_PAID])))
        .build();
    assert_eq!(mapping_from_config(&c), Some(observed()));
}

#[test]
fn absent_fields_take_aws_defaults() {
    let c = EventSourceMappingConfiguration::builder().uuid("m-2").state_transition_reason("").build();
    let m = mapping_from_config(&c).unwrap();
    assert_eq!(m.state, "Unknown");
    assert_eq!(m.state_reason, None);
    assert_eq!(m.maximum_batching_window_seconds, 0);
    assert!(!m.report_batch_item_failures);
    assert_eq!(m.maximum_concurrency, None);
    assert!(m.filter_patterns.is_empty());
    // An empty FilterCriteria (how a removal is stored) has no patterns.
    let c = EventSourceMappingConfiguration::builder().uuid("m-3").filter_criteria(FilterCriteria::builder().build()).build();
    assert!(mapping_from_config(&c).unwrap().filter_patterns.is_empty());
    assert_eq!(mapping_from_config(&EventSourceMappingConfiguration::builder().state("Enabled").build()), None);
}

#[test]
fn picks_the_live_mapping_of_the_source() {
    let deleting = Mapping { uuid: "old".into(), state: "Deleting".into(), ..observed() };
    let live = Mapping { uuid: "new".into(), state: "Creating".into(), ..observed() };
    let other = Mapping { uuid: "other".into(), event_source_arn: "arn:aws:sqs:us-east-1:123456789012:other".into(), ..observed() };
    assert_eq!(pick(vec![other.clone(), deleting.clone(), live], QUEUE).map(|m| m.uuid), Some("new".into()));
    assert_eq!(pick(vec![deleting], QUEUE).map(|m| m.uuid), Some("old".into()));
    assert_eq!(pick(vec![other], QUEUE), None);
}

// ---- waits and retries ----

#[test]
fn settles_in_enabled_or_disabled_only() {
    for state in ["Enabled", "Disabled"] {
        assert!(matches!(settled("m-1", Some(Mapping { state: state.into(), ..observed() })), Ok(Poll::Done(_))), "{state}");
    }
    for state in ["Creating", "Enabling", "Disabling", "Updating"] {
        let round = settled("m-1", Some(Mapping { state: state.into(), ..observed() }));
        assert!(matches!(&round, Ok(Poll::Pending(s)) if s == &format!("{state} (reason: USER_INITIATED)")), "{state}");
    }
    let Err(e) = settled("m-1", Some(Mapping { state: "Deleting".into(), ..observed() })) else { panic!("Deleting must fail") };
    assert!(e.summary.contains("m-1") && e.summary.contains("deleted"), "{e:?}");
    let Err(e) = settled("m-1", None) else { panic!("a missing mapping must fail") };
    assert!(e.summary.contains("m-1 disappeared"), "{e:?}");
}

#[tokio::test]
async fn a_stuck_mapping_times_out_naming_state_and_reason() {
    let stuck = Mapping { state: "Creating".into(), state_reason: Some("PROBLEM: queue not reachable".into()), ..observed() };
    let e = polling::until("event source mapping m-1 to settle", Duration::from_millis(20), Duration::from_millis(5), || {
        let stuck = stuck.clone();
        async move { settled("m-1", Some(stuck)) }
    })
    .await
    .unwrap_err();
    assert!(e.summary.contains("m-1"), "{e:?}");
    assert!(e.detail.contains("Creating (reason: PROBLEM: queue not reachable)"), "{e:?}");
}

#[test]
fn recognises_a_role_lambda_cannot_use_yet() {
    let msg = "The provided execution role does not have permissions to call ReceiveMessage on SQS";
    assert!(role_not_ready(Some("InvalidParameterValueException"), Some(msg)));
    assert!(!role_not_ready(Some("InvalidParameterValueException"), Some("BatchSize 20000 exceeds the max of 10000")));
    assert!(!role_not_ready(Some("AccessDeniedException"), Some(msg)));
    assert!(!role_not_ready(None, None));
}

#[test]
fn on_and_off_states() {
    assert_eq!(is_on("Enabled"), Some(true));
    assert_eq!(is_on("Enabling"), Some(true));
    assert_eq!(is_on("Disabled"), Some(false));
    assert_eq!(is_on("Disabling"), Some(false));
    assert_eq!(is_on("Creating"), None);
    assert_eq!(is_on("Deleting"), None);
}

#[test]
fn requests_carry_removals_as_empty_values() {
    let criteria = filter_criteria(&[]);
    assert!(criteria.filters().is_empty());
    assert_eq!(filter_criteria(&strings(&[ONLY_PAID])).filters().len(), 1);
    assert_eq!(scaling_config(7).maximum_concurrency(), Some(7));
}
