//! Composite resources. One file per resource: its schema, validation,
//! plan (unknowns, replace paths) and the mapping from the user's config to
//! the parts it needs. Resource code never calls the AWS SDK: it goes
//! through `crate::parts`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::parts::vpc::Subnet;
use crate::provider::Ctx;
use crate::schema::Schema;
use crate::value::Value;

pub mod private_lambda_pipeline;
pub mod service_endpoint_bundle;

/// The answer to PlanResourceChange.
pub struct Planned {
    pub state: Value,
    /// Attributes whose change forces a new resource.
    pub requires_replace: Vec<Path>,
}

#[tonic::async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks of the configuration alone: no AWS call. Unknown values are
    /// skipped here and checked at plan or apply when known.
    fn validate(&self, config: &Value) -> Diagnostics;

    /// The planned new state for a create (`prior` null) or an update.
    /// `ctx` is None when the provider could not be configured yet; checks
    /// that need AWS are then left to apply.
    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics>;

    /// Create, update or (planned null) delete. Always returns the state
    /// that is true afterwards, also on failure, so nothing is lost: the
    /// next apply finishes the work or destroys what was recorded.
    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics);

    /// Refresh; `Value::Null` when the whole resource is gone.
    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics>;

    /// A state that `read` can complete, from the id the user gave.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics>;
}

pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![Arc::new(service_endpoint_bundle::ServiceEndpointBundle), Arc::new(private_lambda_pipeline::PrivateLambdaPipeline)]
}

/// Subnets of `ids` (found by `parts::vpc::subnets`) that do not exist, are
/// in another VPC than `vpc_id`, or share an Availability Zone (an
/// Interface endpoint, and a resilient function, takes one per AZ): each a
/// diagnostic at `path`, naming the subnets.
pub fn subnet_diagnostics(found: &[Subnet], vpc_id: &str, region: &str, ids: &[String], path: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut by_az: BTreeMap<&str, &str> = BTreeMap::new();
    for sid in ids {
        match found.iter().find(|s| &s.id == sid) {
            None => out.push(Diagnostic::error("Subnet not found", format!("Subnet {sid} does not exist in {region}.")).at(path.clone())),
            Some(s) if s.vpc_id != vpc_id => {
                out.push(Diagnostic::error("Subnet in another VPC", format!("Subnet {sid} is in {}, not in {vpc_id}.", s.vpc_id)).at(path.clone()))
            }
            Some(s) => {
                if let Some(other) = by_az.insert(&s.availability_zone, &s.id) {
                    out.push(
                        Diagnostic::error(
                            "Two subnets in one Availability Zone",
                            format!(
                                "Subnets {other} and {sid} are both in {}; an Interface endpoint takes at most one subnet per Availability Zone. Keep one of them.",
                                s.availability_zone
                            ),
                        )
                        .at(path.clone()),
                    );
                }
            }
        }
    }
    out
}

/// Create / update / delete time limits from a `timeouts` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

impl Timeouts {
    /// Reads the block; values were validated, so a bad one falls back to
    /// the default.
    pub fn from_value(v: &Value) -> Timeouts {
        let get = |k: &str| v.get(k).as_str().and_then(|s| parse_duration(s).ok()).unwrap_or(DEFAULT_TIMEOUT);
        Timeouts { create: get("create"), update: get("update"), delete: get("delete") }
    }

    /// Diagnostics for each malformed duration in the block at `path`.
    pub fn validate(v: &Value, path: &Path) -> Vec<Diagnostic> {
        ["create", "update", "delete"]
            .iter()
            .filter_map(|k| {
                let s = v.get(k).as_str()?;
                parse_duration(s).err().map(|e| Diagnostic::error("Invalid timeout", e).at(path.then(k)))
            })
            .collect()
    }
}

/// Go-style durations as Terraform users write them: "90s", "10m", "1h30m".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; write it like \"30s\", \"10m\" or \"1h30m\"");
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total += n * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "10", "m", "10x", "0s", "-1m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
