//! Read-only helpers, one module per data source: `caller_identity.rs`,
//! and `reachability/`, a folder (its reads, the pure analysis, the
//! findings and the network arithmetic in files of their own).

use std::sync::Arc;

use crate::ctx::Ctx;
use crate::diag::Diagnostics;
use crate::schema::Schema;
use crate::value::Value;

pub mod caller_identity;
pub mod reachability;

#[tonic::async_trait]
pub trait DataSource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    /// Checks that need no AWS call.
    fn validate(&self, _config: &Value) -> Diagnostics {
        Diagnostics::default()
    }
    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics>;
}

pub fn all() -> Vec<Arc<dyn DataSource>> {
    vec![Arc::new(caller_identity::CallerIdentity), Arc::new(reachability::Reachability)]
}
