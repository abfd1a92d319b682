//! Unit tests of the pure parts: configuration comparison, wait rounds,
//! retried errors, ownership, and mapping Lambda's answers.

use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::types::{
    EnvironmentResponse, FunctionConfiguration, LastUpdateStatus, State, StateReasonCode, TagsError, VpcConfigResponse,
};
use aws_smithy_types::error::ErrorMetadata;

use super::find::{function_from_config, function_from_get};
use super::wait::{retry_reason, settle};
use super::*;
use crate::parts::wait::Poll;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn spec() -> FunctionSpec {
    FunctionSpec {
        name: "orders-producer".into(),
        role_arn: "arn:aws:iam::123456789012:role/producer".into(),
        handler: "index.handler".into(),
        runtime: "python3.12".into(),
        memory_size: 128,
        timeout: 10,
        environment: map(&[("QUEUE_URL", "https://sqs/q")]),
        subnet_ids: strings(&["subnet-b", "subnet-a"]),
        security_group_ids: strings(&["sg-1"]),
        tags: map(&[(OWNER_TAG, "plp-1"), ("team", "core")]),
        settings: FunctionSettings::default(),
        image: false,
    }
}

fn observed() -> Function {
    Function {
        name: "orders-producer".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:orders-producer".into(),
        state: "Active".into(),
        state_reason: None,
        state_reason_code: None,
        last_update_status: Some("Successful".into()),
        last_update_status_reason: None,
        last_update_status_reason_code: None,
        code_sha256: "abc=".into(),
        handler: "index.handler".into(),
        runtime: "python3.12".into(),
        memory_size: 128,
        timeout: 10,
        environment: map(&[("QUEUE_URL", "https://sqs/q")]),
        role_arn: "arn:aws:iam::123456789012:role/producer".into(),
        subnet_ids: strings(&["subnet-a", "subnet-b"]),
        security_group_ids: strings(&["sg-1"]),
        tags: map(&[(OWNER_TAG, "plp-1"), ("team", "core")]),
        settings: FunctionSettings::default(),
        package_type: "Zip".into(),
        image_uri: None,
    }
}

// ---- config_changed ----

#[test]
fn same_config_in_another_order_is_unchanged() {
    assert!(!config_changed(&observed(), &spec()));
}

#[test]
fn each_setting_counts_as_a_change() {
    let edits: Vec<fn(&mut FunctionSpec)> = vec![
        |s| s.handler = "main.handler".into(),
        |s| s.runtime = "python3.13".into(),
        |s| s.memory_size = 256,
        |s| s.timeout = 30,
        |s| {
            s.environment.insert("DEBUG".into(), "1".into());
        },
        |s| s.environment.clear(),
        |s| s.role_arn = "arn:aws:iam::123456789012:role/other".into(),
        |s| {
            s.subnet_ids.pop();
        },
        |s| s.security_group_ids.push("sg-2".into()),
        |s| {
            s.subnet_ids.clear();
            s.security_group_ids.clear();
        },
        |s| s.settings.description = "orders".into(),
        |s| s.settings.layers = strings(&["arn:aws:lambda:us-east-1:123456789012:layer:libs:1"]),
        |s| s.settings.ephemeral_storage = 1024,
        |s| s.settings.tracing_mode = "Active".into(),
        |s| s.settings.kms_key_arn = Some("arn:aws:kms:us-east-1:123456789012:key/k".into()),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut s = spec();
        edit(&mut s);
        assert!(config_changed(&observed(), &s), "edit {i} was not seen as a change");
    }
}

#[test]
fn code_and_tags_are_not_configuration() {
    let mut current = observed();
    current.code_sha256 = "other=".into();
    current.tags.insert("extra".into(), "x".into());
    current.state = "Pending".into();
    // Both have calls of their own: UpdateFunctionCode, PutFunctionConcurrency.
    current.settings.architecture = "arm64".into();
    current.settings.reserved_concurrency = Some(5);
    assert!(!config_changed(&current, &spec()));
}

#[test]
fn which_package_is_new_code() {
    let zip = |sha: &str| Package::Zip(Code { zip: vec![], sha256: sha.into() });
    let (current, desired) = (observed(), spec());
    assert!(!zip("abc=").differs_from(&current, &desired));
    assert!(zip("def=").differs_from(&current, &desired));
    // An image: by its URI.
    let image = Package::Image { uri: "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1".into() };
    let mut running = observed();
    running.image_uri = Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1".into());
    assert!(!image.differs_from(&running, &desired));
    running.image_uri = Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:2".into());
    assert!(image.differs_from(&running, &desired));
    // S3 with the user's hash: by Lambda's CodeSha256.
    let s3 = |sha: Option<&str>| Package::S3 { bucket: "b".into(), key: "k.zip".into(), version: None, sha256: sha.map(str::to_string) };
    assert!(!s3(Some("abc=")).differs_from(&current, &desired));
    assert!(s3(Some("new=")).differs_from(&current, &desired));
    // S3 without it: by the source tag; no tag on the function is new code.
    let mut tagged = spec();
    tagged.tags.insert(SOURCE_TAG.into(), "s3:b/k.zip@2".into());
    let mut was = observed();
    assert!(s3(None).differs_from(&was, &tagged));
    was.tags.insert(SOURCE_TAG.into(), "s3:b/k.zip@1".into());
    assert!(s3(None).differs_from(&was, &tagged));
    was.tags.insert(SOURCE_TAG.into(), "s3:b/k.zip@2".into());
    assert!(!s3(None).differs_from(&was, &tagged));
}

#[test]
fn outside_vpc_keeps_everything_but_the_vpc_lists() {
    let detached = outside_vpc(&observed());
    assert!(detached.subnet_ids.is_empty() && detached.security_group_ids.is_empty());
    assert!(!detached.in_vpc());
    assert!(check_vpc_lists(&detached).is_ok());
    let mut unchanged = spec();
    unchanged.subnet_ids.clear();
    unchanged.security_group_ids.clear();
    assert_eq!(detached, unchanged);
}

// ---- settle ----

fn in_state(state: &str, update: Option<&str>) -> Function {
    let mut f = observed();
    f.state = state.into();
    f.last_update_status = update.map(str::to_string);
    f
}

fn pending_state(p: PartResult<Poll<Function>>) -> Option<String> {
    match p {
        Ok(Poll::Pending(s)) => Some(s),
        _ => None,
    }
}

#[test]
fn active_without_update_in_progress_is_settled() {
    for (state, update) in [("Active", None), ("Active", Some("Successful")), ("Inactive", None), ("ActiveNonInvocable", None)] {
        assert!(matches!(settle("f", Some(in_state(state, update)), true), Ok(Poll::Done(_))), "{state} {update:?}");
    }
}

#[test]
fn pending_and_in_progress_keep_waiting() {
    assert_eq!(pending_state(settle("f", Some(in_state("Pending", None)), false)).as_deref(), Some("Pending"));
    assert_eq!(
        pending_state(settle("f", Some(in_state("Active", Some("InProgress"))), true)).as_deref(),
        Some("Active, update InProgress")
    );
}

#[test]
fn failed_state_names_lambdas_reason() {
    let mut f = in_state("Failed", None);
    f.state_reason = Some("The subnet has no free IP addresses".into());
    f.state_reason_code = Some("SubnetOutOfIPAddresses".into());
    let Err(e) = settle("orders-producer", Some(f), false) else { panic!("Failed must fail") };
    assert!(e.summary.contains("orders-producer"), "{e:?}");
    assert!(e.detail.contains("no free IP addresses (SubnetOutOfIPAddresses)"), "{e:?}");
}

#[test]
fn a_failed_update_fails_only_the_wait_for_it() {
    let mut f = in_state("Active", Some("Failed"));
    f.last_update_status_reason = Some("bad zip".into());
    f.last_update_status_reason_code = Some("InvalidZipFileException".into());
    let Err(e) = settle("f", Some(f.clone()), true) else { panic!("a failed update must fail its wait") };
    assert!(e.detail.contains("bad zip (InvalidZipFileException)"), "{e:?}");
    assert!(matches!(settle("f", Some(f), false), Ok(Poll::Done(_))), "an old failed update leaves the function active");
}

#[test]
fn gone_or_deleting_ends_the_wait() {
    let Err(e) = settle("f", None, false) else { panic!() };
    assert!(e.summary.contains("disappeared"));
    let Err(e) = settle("f", Some(in_state("Deleting", None)), false) else { panic!() };
    assert!(e.summary.contains("being deleted"));
}

// ---- errors worth retrying ----

fn err(code: &str, message: &str) -> ErrorMetadata {
    ErrorMetadata::builder().code(code).message(message).build()
}

#[test]
fn iam_propagation_is_retried_everywhere() {
    let role = err("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.");
    let eni = err(
        "InvalidParameterValueException",
        "The provided execution role does not have permissions to call CreateNetworkInterface on EC2",
    );
    for e in [&role, &eni] {
        assert!(retry_reason(e, false).is_some_and(|r| r.contains("IAM changes take seconds")));
        assert!(retry_reason(e, true).is_some());
    }
    assert!(retry_reason(&err("InvalidParameterValueException", "Unzipped size must be smaller than 262144000 bytes"), true).is_none());
}

#[test]
fn conflict_is_busy_except_on_create() {
    let busy = err("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress");
    assert!(retry_reason(&busy, true).is_some_and(|r| r.contains("update is in progress")));
    assert!(retry_reason(&busy, false).is_none());
    assert!(retry_reason(&err("AccessDeniedException", "no"), true).is_none());
}

// ---- ownership ----

#[test]
fn only_a_function_with_our_owner_tag_is_adopted() {
    assert!(check_owner(&observed(), &spec()).is_ok());
    let mut theirs = observed();
    theirs.tags.insert(OWNER_TAG.into(), "plp-2".into());
    let e = check_owner(&theirs, &spec()).unwrap_err();
    assert!(e.detail.contains("\"plp-2\"") && e.detail.contains(&theirs.arn), "{e:?}");
    let mut untagged = observed();
    untagged.tags.clear();
    assert!(check_owner(&untagged, &spec()).unwrap_err().detail.contains("has no privatelink:owner tag"));
    let mut unowned_spec = spec();
    unowned_spec.tags.clear();
    assert!(check_owner(&untagged, &unowned_spec).is_ok());
}

#[test]
fn vpc_lists_go_together() {
    assert!(check_vpc_lists(&spec()).is_ok());
    let mut s = spec();
    s.subnet_ids.clear();
    s.security_group_ids.clear();
    assert!(check_vpc_lists(&s).is_ok());
    s.security_group_ids.push("sg-1".into());
    let e = check_vpc_lists(&s).unwrap_err();
    assert!(e.detail.contains("has security groups but no subnets"), "{e:?}");
}

// ---- mapping ----

fn configuration() -> FunctionConfiguration {
    FunctionConfiguration::builder()
        .function_name("orders-producer")
        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:orders-producer")
        .state(State::Failed)
        .state_reason("no ENI")
        .state_reason_code(StateReasonCode::EniLimitExceeded)
        .last_update_status(LastUpdateStatus::Successful)
        .code_sha256("abc=")
        .handler("index.handler")
        .runtime(Runtime::Python312)
        .memory_size(256)
        .timeout(10)
        .role("arn:aws:iam::123456789012:role/producer")
        .environment(EnvironmentResponse::builder().variables("B", "2").variables("A", "1").build())
        .vpc_config(
            VpcConfigResponse::builder().subnet_ids("subnet-b").subnet_ids("subnet-a").security_group_ids("sg-1").vpc_id("vpc-1").build(),
        )
        .build()
}

#[test]
fn configuration_maps_to_a_function_with_sorted_lists() {
    let out = GetFunctionOutput::builder().configuration(configuration()).tags("team", "core").build();
    let f = function_from_get("orders-producer", &out).unwrap();
    assert_eq!(f.state, "Failed");
    assert_eq!(f.state_reason_code.as_deref(), Some("EniLimitExceeded"));
    assert_eq!(f.runtime, "python3.12");
    assert_eq!(f.memory_size, 256);
    assert_eq!(f.environment, map(&[("A", "1"), ("B", "2")]));
    assert_eq!(f.subnet_ids, strings(&["subnet-a", "subnet-b"]));
    assert_eq!(f.tags, map(&[("team", "core")]));
}

#[test]
fn missing_arn_or_unreadable_tags_are_errors() {
    let out = GetFunctionOutput::builder().configuration(FunctionConfiguration::builder().function_name("f").build()).build();
    assert!(function_from_get("f", &out).unwrap_err().detail.contains("FunctionArn"));
    let out = GetFunctionOutput::builder()
        .configuration(configuration())
        .tags_error(TagsError::builder().error_code("AccessDeniedException").message("no lambda:ListTags").build().unwrap())
        .build();
    assert!(function_from_get("f", &out).unwrap_err().detail.contains("no lambda:ListTags"));
}

#[test]
fn outside_a_vpc_the_lists_are_empty_and_no_state_means_active() {
    let c = FunctionConfiguration::builder().function_name("f").function_arn("arn:f").build();
    let f = function_from_config("f", &c, Tags::new()).unwrap();
    assert!(f.subnet_ids.is_empty() && f.security_group_ids.is_empty());
    assert_eq!(f.state, "Active");
    assert_eq!((f.memory_size, f.timeout), (128, 3));
}

#[test]
fn vpc_config_sends_sorted_lists_even_when_empty() {
    let mut s = spec();
    let v = vpc_config(&s);
    assert_eq!(v.subnet_ids(), strings(&["subnet-a", "subnet-b"]).as_slice());
    s.subnet_ids.clear();
    s.security_group_ids.clear();
    let v = vpc_config(&s);
    assert_eq!(v.subnet_ids, Some(vec![]));
    assert_eq!(v.security_group_ids, Some(vec![]));
}
