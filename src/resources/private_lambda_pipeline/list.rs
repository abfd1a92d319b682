//! The pipelines that exist: every owner tag `pipeline/NAME` names one.

use crate::parts::tags::Owned;
use crate::resources::composite::List;
use crate::resources::listing::{named_by_owner, Listed};

use super::config::owner_of;
use super::PrivateLambdaPipeline;

impl List for PrivateLambdaPipeline {
    fn listed(&self, owned: &[Owned], region: &str) -> Vec<Listed> {
        named_by_owner(owned, &owner_of(""), region)
    }
}
