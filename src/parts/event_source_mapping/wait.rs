//! Waiting for a mapping to settle in Enabled or Disabled, or to be deleted.

use std::time::Duration;

use super::{disappeared, find, Diagnostic, Mapping, PartResult, DELETING, DISABLED, ENABLED, PART};
use crate::parts::wait::{self as polling, Poll};

/// Polls until the mapping is Enabled or Disabled. Fails at once when it
/// disappears or is being deleted; on timeout says the state it was stuck
/// in and AWS's StateTransitionReason.
pub async fn wait_settled(lambda: &aws_sdk_lambda::Client, uuid: &str, timeout: Duration) -> PartResult<Mapping> {
    let what = format!("{PART} {uuid} to settle in Enabled or Disabled");
    polling::until(&what, timeout, Duration::from_millis(500), || async move { settled(uuid, find(lambda, uuid).await?) }).await
}

/// Polls after DeleteEventSourceMapping until Lambda no longer has `uuid`.
pub(super) async fn wait_deleted(lambda: &aws_sdk_lambda::Client, uuid: &str, timeout: Duration) -> PartResult<()> {
    let what = format!("{PART} {uuid} to be deleted");
    polling::until(&what, timeout, Duration::from_millis(500), || async move {
        Ok(match find(lambda, uuid).await? {
            None => Poll::Done(()),
            Some(m) => Poll::Pending(state_with_reason(&m)),
        })
    })
    .await
}

/// One round of wait_settled.
pub(super) fn settled(uuid: &str, found: Option<Mapping>) -> PartResult<Poll<Mapping>> {
    let Some(m) = found else { return Err(disappeared(uuid, "to settle")) };
    match m.state.as_str() {
        ENABLED | DISABLED => Ok(Poll::Done(m)),
        DELETING => Err(Diagnostic::error(
            format!("{PART} {uuid} is being deleted"),
            format!(
                "{uuid} (from {} to {}) went to state Deleting while waiting for it to settle: it is being deleted outside Terraform.",
                m.event_source_arn, m.function_arn
            ),
        )),
        _ => Ok(Poll::Pending(state_with_reason(&m))),
    }
}

/// `Creating (reason: ...)`, for what a wait last saw.
pub(super) fn state_with_reason(m: &Mapping) -> String {
    match &m.state_reason {
        Some(reason) => format!("{} (reason: {reason})", m.state),
        None => m.state.clone(),
    }
}
