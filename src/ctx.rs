//! The context of one call into a resource or data source: the shared AWS
//! clients and the stop signal. Below the resources and data sources, and
//! above the parts, so that every layer calls downwards only.

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::aws::Aws;
use crate::diag::{Diagnostic, Diagnostics};
use crate::engine::{self, Step, StepKey};

/// What a resource or data source gets for one call: the AWS clients and
/// a token that fires when Terraform sends StopProvider.
#[derive(Clone)]
pub struct Ctx {
    pub aws: Arc<Aws>,
    pub cancel: CancellationToken,
}

impl Ctx {
    /// Run `fut` unless Terraform asks the provider to stop first; then
    /// the call is abandoned and the caller gets a diagnostic saying so.
    pub async fn run<T>(&self, what: &str, fut: impl Future<Output = Result<T, Diagnostic>>) -> Result<T, Diagnostic> {
        tokio::select! {
            r = fut => r,
            _ = self.cancel.cancelled() => Err(Diagnostic::error(
                "Stopped",
                format!("Terraform asked the provider to stop (interrupt) while it was {what}."),
            )),
        }
    }

    /// Runs a composite's steps (`engine::run`) unless Terraform asks the
    /// provider to stop first. Returns the steps that finished and every
    /// diagnostic: the failed steps', or the stop.
    pub async fn run_steps<K: StepKey>(&self, what: &str, steps: Vec<Step<'_, K>>) -> (Vec<K>, Diagnostics) {
        match self.run(what, async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await {
            Ok(o) => (o.done.clone(), Diagnostics(o.errors())),
            Err(stopped) => (vec![], stopped.into()),
        }
    }

    /// `run` for work that reports several diagnostics.
    pub async fn run_all<T>(&self, what: &str, fut: impl Future<Output = Result<T, Diagnostics>>) -> Result<T, Diagnostics> {
        match self.run(what, async { Ok(fut.await) }).await {
            Ok(r) => r,
            Err(stopped) => Err(stopped.into()),
        }
    }
}
