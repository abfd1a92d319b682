//! CloudWatch Logs log groups: the group a Lambda function writes to,
//! `/aws/lambda/<function>`, made by the composite before the function so
//! that it has a retention, the composite's tags and (optionally) a KMS key,
//! and deleted after the function.
//!
//! A group is named: CreateLogGroup of an existing name answers
//! ResourceAlreadyExistsException, and `ensure` then adopts that group (made
//! by Lambda on an earlier run, or by hand) and brings it to the spec, so a
//! create whose answer was lost is never duplicated.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::LogGroup as SdkLogGroup;

use super::tags::{self, Tags};
use super::wait::{self, Poll};
use super::{has_code, PartResult};
use crate::aws::call_failed;
use crate::diag::Diagnostic;

const PART: &str = "log group";

const MISSING: [&str; 1] = ["ResourceNotFoundException"];
const NAME_TAKEN: [&str; 1] = ["ResourceAlreadyExistsException"];

/// How long a group just created may take to be listed by DescribeLogGroups.
const PROPAGATION: Duration = Duration::from_secs(30);

/// The retentions CloudWatch Logs accepts, in days (PutRetentionPolicy's
/// `retentionInDays`: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120,
/// 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and 3653").
/// Never expiring is not one of them: it is DeleteRetentionPolicy.
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>
pub const RETENTION_DAYS: [i32; 22] =
    [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// The name of the group Lambda writes function `function`'s logs to.
pub fn lambda_group_name(function: &str) -> String {
    format!("/aws/lambda/{function}")
}

/// Whether `days` is a retention CloudWatch Logs accepts; 0 stands for
/// "never expire" (no retention policy).
pub fn retention_allowed(days: i64) -> bool {
    days == 0 || RETENTION_DAYS.iter().any(|d| i64::from(*d) == days)
}

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroupSpec {
    pub name: String,
    /// Days; `None`: the events never expire.
    pub retention_in_days: Option<i32>,
    /// ARN of the KMS key the group's events are encrypted with; `None`:
    /// CloudWatch Logs' own encryption.
    pub kms_key_id: Option<String>,
    /// All tags to put on the group (user tags + ownership).
    pub tags: Tags,
}

/// A log group as observed.
#[derive(Debug, Clone, PartialEq)]
pub struct LogGroup {
    pub name: String,
    /// The group's ARN without the trailing `:*` (what TagResource takes).
    pub arn: String,
    pub retention_in_days: Option<i32>,
    pub kms_key_id: Option<String>,
    /// Empty when read without its tags (`find_many` with `with_tags` off).
    pub tags: Tags,
}

/// The groups of `names` that exist, from one listing of the groups whose
/// names start with `prefix` (every name must start with it), each matched
/// by its exact name. With `with_tags`, one ListTagsForResource per group
/// found. A group that goes between the two calls is left out.
pub async fn find_many(
    logs: &aws_sdk_cloudwatchlogs::Client,
    prefix: &str,
    names: &[String],
    with_tags: bool,
) -> PartResult<Vec<LogGroup>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let listed: Vec<SdkLogGroup> = logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "logs:DescribeLogGroups", &e))?;
    let mut out = Vec::new();
    for g in listed.iter().filter(|g| g.log_group_name().is_some_and(|n| names.iter().any(|want| want == n))) {
        let Some(mut group) = from_sdk(g) else { continue };
        if with_tags {
            match group_tags(logs, &group.arn).await? {
                Some(t) => group.tags = t,
                None => continue,
            }
        }
        out.push(group);
    }
    Ok(out)
}

/// The group named exactly `name`, with its tags; `None` when it does not
/// exist. DescribeLogGroups matches by prefix, so `/aws/lambda/a` also lists
/// `/aws/lambda/ab`: only the exact name counts.
pub async fn find(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> PartResult<Option<LogGroup>> {
    Ok(find_many(logs, name, &[name.to_string()], true).await?.into_iter().next())
}

/// The group brought to `spec`: `known` (what observe found, with its tags)
/// updated, else created (CreateLogGroup with the tags and the key, then
/// the retention). A group of that name that exists already is adopted.
pub async fn ensure(logs: &aws_sdk_cloudwatchlogs::Client, spec: &LogGroupSpec, known: Option<LogGroup>) -> PartResult<LogGroup> {
    if let Some(current) = known {
        return update(logs, &current, spec).await;
    }
    let tags: HashMap<String, String> = spec.tags.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let answer = logs
        .create_log_group()
        .log_group_name(&spec.name)
        .set_kms_key_id(spec.kms_key_id.clone())
        .set_tags((!tags.is_empty()).then_some(tags))
        .send()
        .await;
    let created = match answer {
        Ok(_) => true,
        Err(e) if has_code(&e, &NAME_TAKEN) => {
            tracing::info!(log_group = %spec.name, "log group exists already (made by Lambda or by hand): adopting it");
            false
        }
        Err(e) => return Err(named(call_failed(PART, "logs:CreateLogGroup", &e), &spec.name, create_fix(spec))),
    };
    let current = wait_visible(logs, &spec.name, !created).await?;
    if created {
        // Made with the tags and the key; only the retention is left to set.
        set_retention(logs, &spec.name, current.retention_in_days, spec.retention_in_days).await?;
        Ok(LogGroup { retention_in_days: spec.retention_in_days, tags: spec.tags.clone(), ..current })
    } else {
        update(logs, &current, spec).await
    }
}

/// Brings `current` to `desired`: PutRetentionPolicy or
/// DeleteRetentionPolicy when the retention differs, AssociateKmsKey or
/// DisassociateKmsKey when the key differs, at most one UntagResource and
/// one TagResource. No call when nothing differs. Returns the group as it
/// now is.
pub async fn update(logs: &aws_sdk_cloudwatchlogs::Client, current: &LogGroup, desired: &LogGroupSpec) -> PartResult<LogGroup> {
    let name = &desired.name;
    set_retention(logs, name, current.retention_in_days, desired.retention_in_days).await?;
    if current.kms_key_id != desired.kms_key_id {
        match &desired.kms_key_id {
            Some(key) => {
                logs.associate_kms_key().log_group_name(name).kms_key_id(key).send().await.map_err(|e| {
                    named(
                        call_failed(PART, "logs:AssociateKmsKey", &e),
                        name,
                        "The key's policy must allow the CloudWatch Logs service principal of this region (logs.REGION.amazonaws.com) kms:Encrypt*, kms:Decrypt*, kms:ReEncrypt*, kms:GenerateDataKey* and kms:Describe*; fix the key policy or log_kms_key_arn.",
                    )
                })?;
            }
            None => {
                logs.disassociate_kms_key().log_group_name(name).send().await.map_err(|e| {
                    named(call_failed(PART, "logs:DisassociateKmsKey", &e), name, "Check the provider's rights on the group.")
                })?;
            }
        }
    }
    let (remove, add) = tags::tag_changes(&current.tags, &desired.tags);
    let remove: Vec<String> = remove.into_iter().filter(|k| !k.starts_with("aws:")).collect();
    if !remove.is_empty() {
        logs.untag_resource()
            .resource_arn(&current.arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| named(call_failed(PART, "logs:UntagResource", &e), name, "Check the provider's logs:UntagResource right."))?;
    }
    if !add.is_empty() {
        logs.tag_resource()
            .resource_arn(&current.arn)
            .set_tags(Some(add.into_iter().collect()))
            .send()
            .await
            .map_err(|e| named(call_failed(PART, "logs:TagResource", &e), name, "Check the provider's logs:TagResource right."))?;
    }
    Ok(LogGroup {
        name: current.name.clone(),
        arn: current.arn.clone(),
        retention_in_days: desired.retention_in_days,
        kms_key_id: desired.kms_key_id.clone(),
        tags: desired.tags.clone(),
    })
}

/// DeleteLogGroup (with every stream and event in it); a group already
/// gone is fine.
pub async fn delete(logs: &aws_sdk_cloudwatchlogs::Client, name: &str) -> PartResult<()> {
    match logs.delete_log_group().log_group_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &MISSING) => Ok(()),
        Err(e) => Err(named(call_failed(PART, "logs:DeleteLogGroup", &e), name, "Check the provider's logs:DeleteLogGroup right.")),
    }
}

/// What to call to bring a retention from `current` to `desired`, if
/// anything: `Some(Some(days))` PutRetentionPolicy, `Some(None)`
/// DeleteRetentionPolicy.
pub fn retention_change(current: Option<i32>, desired: Option<i32>) -> Option<Option<i32>> {
    (current != desired).then_some(desired)
}

async fn set_retention(logs: &aws_sdk_cloudwatchlogs::Client, name: &str, current: Option<i32>, desired: Option<i32>) -> PartResult<()> {
    match retention_change(current, desired) {
        None => Ok(()),
        Some(Some(days)) => {
            logs.put_retention_policy().log_group_name(name).retention_in_days(days).send().await.map_err(|e| {
                named(
                    call_failed(PART, "logs:PutRetentionPolicy", &e),
                    name,
                    format!("Use one of {} days, or 0 to keep the events forever.", days_list()),
                )
            })?;
            Ok(())
        }
        Some(None) => match logs.delete_retention_policy().log_group_name(name).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(named(
                call_failed(PART, "logs:DeleteRetentionPolicy", &e),
                name,
                "Check the provider's logs:DeleteRetentionPolicy right.",
            )),
        },
    }
}

/// The allowed retentions, for messages.
pub fn days_list() -> String {
    RETENTION_DAYS.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The group as a part sees it; `None` for an answer without a name.
fn from_sdk(g: &SdkLogGroup) -> Option<LogGroup> {
    let name = g.log_group_name()?.to_string();
    // `arn` ends in `:*` (the group's streams); `logGroupArn` is the group's
    // own, which TagResource takes. Older answers only have `arn`.
    let arn = match g.log_group_arn() {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => g.arn().unwrap_or_default().trim_end_matches(":*").to_string(),
    };
    Some(LogGroup {
        name,
        arn,
        retention_in_days: g.retention_in_days().filter(|d| *d > 0),
        kms_key_id: g.kms_key_id().filter(|k| !k.is_empty()).map(str::to_string),
        tags: Tags::new(),
    })
}

/// ListTagsForResource; `None` when the group is gone.
async fn group_tags(logs: &aws_sdk_cloudwatchlogs::Client, arn: &str) -> PartResult<Option<Tags>> {
    match logs.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => Ok(Some(out.tags().map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default())),
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "logs:ListTagsForResource", &e)),
    }
}

/// `find` until the group is listed: just made, or adopted (`with_tags`:
/// its tags read too, to compare with the spec).
async fn wait_visible(logs: &aws_sdk_cloudwatchlogs::Client, name: &str, with_tags: bool) -> PartResult<LogGroup> {
    let what = format!("{PART} {name} to be listed after creation");
    wait::until(&what, PROPAGATION, Duration::from_millis(500), || async move {
        let found = find_many(logs, name, &[name.to_string()], with_tags).await?;
        Ok(match found.into_iter().next() {
            Some(g) => Poll::Done(g),
            None => Poll::Pending("not listed by logs:DescribeLogGroups yet".into()),
        })
    })
    .await
}

/// What to fix when CreateLogGroup fails.
fn create_fix(spec: &LogGroupSpec) -> String {
    match &spec.kms_key_id {
        Some(key) => format!(
            "Check the provider's logs:CreateLogGroup and logs:TagResource rights, and that the policy of KMS key {key} lets the CloudWatch Logs service principal of this region use it."
        ),
        None => "Check the provider's logs:CreateLogGroup and logs:TagResource rights.".to_string(),
    }
}

/// A call's diagnostic naming the group, and the fix.
fn named(mut d: Diagnostic, name: &str, fix: impl AsRef<str>) -> Diagnostic {
    d.summary = format!("{} (log group {name})", d.summary);
    d.detail = format!("{} {}", d.detail, fix.as_ref());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retentions_are_cloudwatch_logs_values_or_zero() {
        for ok in [0, 1, 3, 5, 7, 14, 30, 60, 90, 365, 731, 1096, 3653] {
            assert!(retention_allowed(ok), "{ok}");
        }
        for bad in [-1, 2, 4, 31, 366, 730, 3654, 10_000] {
            assert!(!retention_allowed(bad), "{bad}");
        }
        assert!(days_list().starts_with("1, 3, 5") && days_list().ends_with("3288, 3653"));
    }

    #[test]
    fn retention_changes_only_when_different() {
        assert_eq!(retention_change(Some(30), Some(30)), None);
        assert_eq!(retention_change(None, None), None);
        assert_eq!(retention_change(None, Some(30)), Some(Some(30)));
        assert_eq!(retention_change(Some(7), None), Some(None), "never expire: DeleteRetentionPolicy");
    }

    #[test]
    fn groups_are_named_for_their_function_and_arns_lose_the_streams() {
        assert_eq!(lambda_group_name("orders-producer"), "/aws/lambda/orders-producer");
        let g = SdkLogGroup::builder()
            .log_group_name("/aws/lambda/f")
            .arn("arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/f:*")
            .retention_in_days(14)
            .build();
        let g = from_sdk(&g).unwrap();
        assert_eq!(g.arn, "arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/f");
        assert_eq!(g.retention_in_days, Some(14));
        let with_own = SdkLogGroup::builder().log_group_name("n").arn("a:*").log_group_arn("a").build();
        assert_eq!(from_sdk(&with_own).unwrap().arn, "a");
    }

    #[test]
    fn errors_name_the_group_and_the_fix() {
        let d = named(Diagnostic::error("log group: logs:DeleteLogGroup failed", "answered AccessDenied"), "/aws/lambda/f", "Check.");
        assert!(d.summary.contains("/aws/lambda/f") && d.detail.ends_with("Check."), "{d:?}");
    }
}
