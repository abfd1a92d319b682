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

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::value::Value;

pub mod dead_letter_redrive;

/// Where an invoke reports progress: each message becomes one progress
/// event Terraform prints while the action runs.
#[derive(Clone)]
pub struct Progress(UnboundedSender<String>);

impl Progress {
    pub fn new(tx: UnboundedSender<String>) -> Progress {
        Progress(tx)
    }

    pub fn say(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::info!(progress = %message, "action progress");
        // With nobody listening any more the invoke is being stopped
        // (its token); the message is only lost.
        let _ = self.0.send(message);
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
