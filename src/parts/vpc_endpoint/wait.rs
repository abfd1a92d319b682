//! Waiting for an endpoint to become available or to be deleted.

use std::time::Duration;

use super::{find_many, Diagnostic, Endpoint, PartResult, DESCRIBE, PART};
use crate::parts::wait::{self as polling, Poll};

/// Polls until the endpoint is `available` (or `pendingacceptance`, for
/// services that need the owner's acceptance), failing at once on
/// `failed`/`rejected`, and on timeout saying what it waited for.
pub async fn wait_available(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<Endpoint> {
    let what = format!("{PART} {id} to be available");
    polling::until(&what, timeout, Duration::from_millis(200), || async move {
        let found = find_many(ec2, &[id.to_string()]).await?;
        availability(id, found.into_iter().find(|e| e.id == id))
    })
    .await
}

/// Polls until each of `ids` is absent or `deleted`.
pub(super) async fn wait_deleted(ec2: &aws_sdk_ec2::Client, ids: &[String], timeout: Duration) -> PartResult<()> {
    let what = format!("{PART} {} to be deleted", ids.join(", "));
    polling::until(&what, timeout, Duration::from_millis(500), || async move {
        let remaining = not_yet_deleted(&find_many(ec2, ids).await?);
        Ok(if remaining.is_empty() { Poll::Done(()) } else { Poll::Pending(remaining.join(", ")) })
    })
    .await
}

/// One round of wait_available: done, still coming up, or never going to
/// be available.
pub(super) fn availability(id: &str, found: Option<Endpoint>) -> PartResult<Poll<Endpoint>> {
    let Some(e) = found else {
        return Err(Diagnostic::error(
            format!("{PART} {id} disappeared"),
            format!("{id} is no longer listed by {DESCRIBE} while waiting for it to become available: it was deleted outside Terraform."),
        ));
    };
    match e.state.as_str() {
        "available" | "pendingacceptance" => Ok(Poll::Done(e)),
        "failed" | "rejected" => Err(Diagnostic::error(
            format!("{PART} {id} for {} is {}", e.service_name, e.state),
            format!(
                "AWS put endpoint {id} for {} in {} in state {:?}. {}",
                e.service_name,
                e.vpc_id,
                e.state,
                if e.state == "rejected" {
                    "The service's owner rejected the connection."
                } else {
                    "Check the endpoint in the AWS console for the reason (for example a subnet in an Availability Zone the service does not support, or a private DNS name already in use in the VPC)."
                }
            ),
        )),
        _ if e.is_gone() => Err(Diagnostic::error(
            format!("{PART} {id} is {}", e.state),
            format!(
                "{id} for {} went to state {:?} while waiting for it to become available: it is being deleted outside Terraform.",
                e.service_name, e.state
            ),
        )),
        _ => Ok(Poll::Pending(e.state)),
    }
}

/// Endpoints still listed in a state other than `deleted`, as `id (state)`.
/// Real AWS stops listing an endpoint soon after deletion; moto keeps
/// listing it in state `deleted`.
pub(super) fn not_yet_deleted(found: &[Endpoint]) -> Vec<String> {
    found.iter().filter(|e| e.state != "deleted").map(|e| format!("{} ({})", e.id, e.state)).collect()
}
