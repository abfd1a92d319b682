//! Actions (Terraform 1.14+, protocol 6.10): operations a user runs with
//! `terraform apply -invoke=action.TYPE.NAME` or from a resource's
//! `lifecycle { action_trigger { ... } }`, that change no state. One folder
//! per action, with the phase files a composite has where they apply:
//! `config.rs` (the typed configuration and what it asks for),
//! `validate.rs` (no AWS call), `plan.rs` (the checks against AWS once the
//! values are known) and `invoke.rs` (the work, with its progress).
//! Like resources, actions reach AWS only through `crate::parts`.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::value::Value;

pub mod dead_letter_redrive;

/// Where an invoke reports progress: each message becomes one progress
/// event Terraform prints while the action runs, until the invoke is
/// stopped (`until`).
///
/// Once stopped, nothing more is said but the completed event: Terraform
/// 1.14 and 1.15 stop reading an invoke's events at the first progress
/// event that comes after an interrupt (its stop hook fails the progress
/// hook, and the loop over the events returns), and then crash on the next
/// event the gRPC client hands to that loop ("range function continued
/// iteration after function for loop body returned false",
/// internal/plugin6 `GRPCProvider.InvokeAction` ignores `yield`'s result).
/// A completed event alone is read, and the stream's end after it is too.
#[derive(Clone)]
pub struct Progress {
    tx: UnboundedSender<String>,
    stopped: Option<CancellationToken>,
}

impl Progress {
    pub fn new(tx: UnboundedSender<String>) -> Progress {
        Progress { tx, stopped: None }
    }

    /// The same, silent once `stopped` fires (the invoke's stop token).
    pub fn until(self, stopped: CancellationToken) -> Progress {
        Progress { stopped: Some(stopped), ..self }
    }

    pub fn say(&self, message: impl Into<String>) {
        let message = message.into();
        if self.stopped.as_ref().is_some_and(CancellationToken::is_cancelled) {
            tracing::info!(progress = %message, "action progress, not sent: the invoke was stopped");
            return;
        }
        tracing::info!(progress = %message, "action progress");
        // With nobody listening any more the invoke is being stopped
        // (its token); the message is only lost.
        let _ = self.tx.send(message);
    }
}

#[tonic::async_trait]
pub trait Action: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks of the configuration alone: no AWS call. Unknown values are
    /// skipped here and checked at plan or invoke when known.
    fn validate(&self, config: &Value) -> Diagnostics;

    /// PlanAction: `validate` again, then the checks that need AWS, made
    /// when the values they need are known and the provider is configured
    /// (`ctx`). An action triggered by a resource's change may only learn
    /// its values at apply; `invoke` checks them again then.
    async fn plan(&self, ctx: Option<&Ctx>, config: &Value) -> Diagnostics;

    /// InvokeAction: the work, reporting progress as it goes. Returns the
    /// diagnostics of the completed event. A stop (the context's token:
    /// StopProvider, or Terraform no longer reading) ends it, undoing what
    /// it started that would otherwise run on.
    async fn invoke(&self, ctx: &Ctx, config: &Value, progress: &Progress) -> Diagnostics;
}

pub fn all() -> Vec<Arc<dyn Action>> {
    vec![Arc::new(dead_letter_redrive::DeadLetterRedrive)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_falls_silent_once_the_invoke_is_stopped() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let stop = CancellationToken::new();
        let progress = Progress::new(tx).until(stop.clone());
        progress.say("moved 1 of 3");
        stop.cancel();
        progress.say("moved 2 of 3");
        assert_eq!(rx.try_recv().unwrap(), "moved 1 of 3");
        assert!(rx.try_recv().is_err(), "nothing is sent after the stop");
    }
}
