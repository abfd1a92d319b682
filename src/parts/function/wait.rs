//! Waiting for Lambda to finish what it does in the background (a create,
//! an update), and calls sent again while Lambda refuses them for a
//! passing reason (IAM still propagating a role, an update in progress).

use std::future::Future;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{find, Diagnostic, Function, PartResult, CONFLICT, GET, INVALID_PARAMETER, NOT_YET, PART};
use crate::parts::wait::{self as polling, Poll};

/// Polls until the function is Active (or Inactive: idle, Lambda wakes it
/// on the next invoke) with no update in progress. Fails at once on state
/// Failed with Lambda's reason, or when the function disappears.
pub async fn wait_active(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<Function> {
    let what = format!("{PART} {name} to be active");
    polling::until(&what, timeout, Duration::from_secs(1), || async move { settle(name, find(lambda, name).await?, false) }).await
}

/// Polls after DeleteFunction until GetFunction no longer finds it.
pub(super) async fn wait_deleted(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<()> {
    let what = format!("{PART} {name} to be deleted");
    polling::until(&what, timeout, Duration::from_millis(500), || async move {
        Ok(match find(lambda, name).await? {
            None => Poll::Done(()),
            Some(f) => Poll::Pending(f.state),
        })
    })
    .await
}

/// Polls after an update until LastUpdateStatus is no longer InProgress.
pub(super) async fn wait_updated(lambda: &aws_sdk_lambda::Client, name: &str, timeout: Duration) -> PartResult<Function> {
    let what = format!("{PART} {name} to finish updating");
    polling::until(&what, timeout, Duration::from_secs(1), || async move { settle(name, find(lambda, name).await?, true) }).await
}

/// One round of a wait: the function settled, still changing, or never
/// going to settle. `after_update`: a Failed last update is this wait's
/// failure (otherwise it is an old one, and the function still serves).
pub(super) fn settle(name: &str, found: Option<Function>, after_update: bool) -> PartResult<Poll<Function>> {
    let Some(f) = found else {
        return Err(Diagnostic::error(
            format!("{PART} {name} disappeared"),
            format!("{GET} no longer finds {name} while waiting for it: it was deleted outside Terraform."),
        ));
    };
    if f.state == "Failed" {
        return Err(Diagnostic::error(
            format!("{PART} {name} failed"),
            format!("Lambda put {name} in state Failed: {}.", reason(&f.state_reason, &f.state_reason_code)),
        ));
    }
    if f.state == "Deleting" {
        return Err(Diagnostic::error(
            format!("{PART} {name} is being deleted"),
            format!("{name} went to state Deleting while waiting for it: it is being deleted outside Terraform."),
        ));
    }
    match f.last_update_status.as_deref() {
        Some("InProgress") => return Ok(Poll::Pending(format!("{}, update InProgress", f.state))),
        Some("Failed") if after_update => {
            return Err(Diagnostic::error(
                format!("{PART} {name}: update failed"),
                format!(
                    "Lambda could not apply the update to {name}: {}. The function keeps running its previous code and configuration.",
                    reason(&f.last_update_status_reason, &f.last_update_status_reason_code)
                ),
            ))
        }
        _ => {}
    }
    Ok(match f.state.as_str() {
        "Active" | "ActiveNonInvocable" | "Inactive" => Poll::Done(f),
        _ => Poll::Pending(f.state),
    })
}

/// Lambda's reason and reason code, as one phrase.
fn reason(text: &Option<String>, code: &Option<String>) -> String {
    match (text, code) {
        (Some(t), Some(c)) => format!("{t} ({c})"),
        (Some(t), None) => t.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => "Lambda gave no reason".into(),
    }
}

/// Sends a request until it is not refused for a passing reason (see
/// `retry_reason`), within `timeout`; returns the last answer. A timeout
/// says what was waited for and the last refusal.
pub(super) async fn send_retrying<T, E, F, Fut>(
    what: &str,
    timeout: Duration,
    conflict_is_busy: bool,
    mut send: F,
) -> PartResult<Result<T, E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: ProvideErrorMetadata,
{
    polling::until(what, timeout, Duration::from_secs(1), || {
        let sent = send();
        async move {
            let answer = sent.await;
            Ok(match answer.as_ref().err().and_then(|e| retry_reason(e, conflict_is_busy)) {
                Some(reason) => Poll::Pending(reason),
                None => Poll::Done(answer),
            })
        }
    })
    .await
}

/// Why a refused call is worth sending again, or `None` when it is not:
/// IAM still propagating a role (always), and an update in progress
/// (ResourceConflictException, except on create where it means "exists").
pub(super) fn retry_reason<E: ProvideErrorMetadata>(err: &E, conflict_is_busy: bool) -> Option<String> {
    let code = err.code()?;
    let message = err.message().unwrap_or("");
    if code == INVALID_PARAMETER && NOT_YET.iter().any(|m| message.contains(m)) {
        return Some(format!(
            "{code}: {message} (IAM changes take seconds to reach Lambda; if this persists, check the role's trust policy for lambda.amazonaws.com and, for a function in a VPC, its ec2:CreateNetworkInterface permission)"
        ));
    }
    if code == CONFLICT && conflict_is_busy {
        return Some(format!("{code}: {message}"));
    }
    None
}
