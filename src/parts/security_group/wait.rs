//! Waiting for a new group to show up, and for a group in use to be
//! released so that it can be deleted.

use std::future::Future;
use std::time::Duration;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{call_failed, find, Group, PartResult, GROUP_GONE, GROUP_IN_USE, PART, PROPAGATION};
use crate::parts::has_code;
use crate::parts::wait::{self as polling, Poll};

/// Polls `find` until the new group shows up, and returns it as first seen
/// (with AWS's default egress rule, which the caller then revokes).
pub(super) async fn wait_visible(ec2: &aws_sdk_ec2::Client, id: &str) -> PartResult<Group> {
    let what = format!("security group {id} to be visible after creation");
    polling::until(&what, PROPAGATION, Duration::from_millis(500), || async move {
        Ok(match find(ec2, id).await? {
            Some(group) => Poll::Done(group),
            None => Poll::Pending("not found yet".into()),
        })
    })
    .await
}

/// The retry loop of `delete`, apart from the SDK calls so that the
/// DependencyViolation path can be unit-tested. After each "still in use"
/// answer `in_use` looks at why: it fails the delete at once when waiting
/// cannot help (another group's rule names this one), and otherwise says
/// what is being waited for.
pub(super) async fn delete_until_released<O, E, F, Fut, H, HFut>(id: &str, timeout: Duration, mut send: F, mut in_use: H) -> PartResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, E>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    H: FnMut() -> HFut,
    HFut: Future<Output = PartResult<()>>,
{
    let what = format!(
        "security group {id} to be deleted: it is still in use, most likely by network interfaces \
         of VPC endpoints or Lambda functions that AWS has not released yet"
    );
    // ENIs of endpoints and Lambda functions take minutes to go: start at 2 s.
    polling::until(&what, timeout, Duration::from_secs(2), || {
        let answer = send();
        let explain = in_use();
        async move {
            let round = delete_round(answer.await)?;
            if let Poll::Pending(_) = &round {
                explain.await?;
            }
            Ok(round)
        }
    })
    .await
}

/// One DeleteSecurityGroup answer as a round of the wait: gone (now or
/// before) is done, in use is pending, anything else fails.
pub(super) fn delete_round<O, E: ProvideErrorMetadata + std::error::Error + 'static>(answer: Result<O, E>) -> PartResult<Poll<()>> {
    match answer {
        Ok(_) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &GROUP_GONE) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &[GROUP_IN_USE]) => {
            Ok(Poll::Pending(format!("{GROUP_IN_USE}: {}", e.message().unwrap_or("the group has a dependent object"))))
        }
        Err(e) => Err(call_failed(PART, "ec2:DeleteSecurityGroup", &e)),
    }
}
