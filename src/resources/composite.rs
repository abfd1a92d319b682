//! The skeleton every composite shares. A composite writes its phases
//! (`Composite`); the protocol-facing `Resource` comes for free: decoding
//! into the typed model, validation again before plan, the plan-time checks
//! against the prior in the same VPC, destroy or reconcile, and every phase
//! that calls AWS run so that a stop from Terraform ends it with a
//! "Stopped" diagnostic.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::identity::IdentitySchema;
use crate::model::{Attr, Model};
use crate::parts::tags::Tags;
use crate::resources::{Planned, Resource};
use crate::schema::Schema;
use crate::value::Value;

/// What plan knows besides the values: the provider's default tags and
/// region (None before the provider is configured).
pub struct PlanEnv<'a> {
    pub default_tags: &'a Tags,
    pub region: Option<&'a str>,
}

#[tonic::async_trait]
pub trait Composite: Send + Sync + 'static {
    /// The typed model of the resource's values.
    type Model: Model + Send + Sync;
    const TYPE_NAME: &'static str;
    /// How messages name one, e.g. `the pipeline`.
    const NOUN: &'static str;
    /// Whether an imported state still needs a read to be complete.
    const IMPORT_READS: bool;

    fn schema(&self) -> Schema;
    /// The VPC the composite lives in.
    fn vpc_id(m: &Self::Model) -> &Attr<String>;

    /// Checks of the configuration alone: no AWS call.
    fn validate(&self, config: &Self::Model) -> Diagnostics;

    /// The attributes whose change from `prior` replaces the resource.
    fn replace_paths(&self, prior: &Self::Model, config: &Self::Model) -> Vec<Path>;

    /// The planned state. `prior` is None for a create, and for a replace:
    /// nothing of the old resource is kept.
    fn plan(
        &self,
        env: &PlanEnv<'_>,
        prior: Option<&Self::Model>,
        proposed: &Self::Model,
        config: &Self::Model,
    ) -> Result<Self::Model, Diagnostics>;

    /// Computed values of the plan that only AWS can tell (left unknown by
    /// `plan`), settled before the checks, with what settling them found
    /// wrong; `prior` as for the checks.
    async fn settle_against_aws(
        &self,
        ctx: &Ctx,
        prior: Option<&Self::Model>,
        config: &Self::Model,
        planned: &mut Self::Model,
    ) -> Result<Diagnostics, Diagnostic>;

    /// Checks that need AWS, of what is new or changed against `prior`.
    async fn check_against_aws(&self, ctx: &Ctx, prior: Option<&Self::Model>, planned: &Self::Model) -> Result<Diagnostics, Diagnostic>;

    /// Create or update; the state true afterwards, also on failure.
    async fn reconcile(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics);
    /// Delete; null when everything is gone, else what is still there.
    async fn destroy(&self, ctx: &Ctx, prior: &Value) -> (Value, Diagnostics);
    /// Refresh; null when the whole resource is gone.
    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic>;
    /// The state found from the import id.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics>;

    fn identity_schema(&self) -> IdentitySchema;
    fn identity(&self, state: &Self::Model, region: &str) -> Value;
    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics>;
    /// Warnings of a destroy plan.
    async fn plan_destroy(&self, ctx: &Ctx, prior: &Self::Model) -> Diagnostics;
}

/// The prior state the plan-time checks compare with: what is already
/// there and checked needs no new look. Only in the same VPC: in another
/// one (a replace) everything is checked as new. On a replace in the same
/// VPC (a rename), the prior's objects still count as the resource's own,
/// so they are not reported as someone else's.
pub fn prior_for_checks<'a, M>(prior: Option<&'a M>, planned: &M, vpc_id: impl Fn(&M) -> &Attr<String>) -> Option<&'a M> {
    prior.filter(|p| vpc_id(p).str().is_some() && vpc_id(p) == vpc_id(planned))
}

#[tonic::async_trait]
impl<C: Composite> Resource for C {
    fn type_name(&self) -> &'static str {
        C::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Composite::schema(self)
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        Composite::validate(self, &C::Model::decode(config))
    }

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
        let config = C::Model::decode(config);
        let diags = Composite::validate(self, &config);
        if diags.has_errors() {
            return Err(diags);
        }
        let default_tags = ctx.map(|c| c.aws.default_tags.clone()).unwrap_or_default();
        let env = PlanEnv { default_tags: &default_tags, region: ctx.map(|c| c.aws.region.as_str()) };
        let prior = (!prior.is_null()).then(|| C::Model::decode(prior));
        let requires_replace = prior.as_ref().map(|p| self.replace_paths(p, &config)).unwrap_or_default();
        let kept = if requires_replace.is_empty() { prior.as_ref() } else { None };
        let mut planned = Composite::plan(self, &env, kept, &C::Model::decode(proposed), &config)?;
        if let Some(ctx) = ctx {
            let prior = prior_for_checks(prior.as_ref(), &planned, C::vpc_id);
            let what = format!("checking {} against AWS at plan", C::NOUN);
            let mut diags = ctx.run(&what, self.settle_against_aws(ctx, prior, &config, &mut planned)).await?;
            diags.extend(ctx.run(&what, self.check_against_aws(ctx, prior, &planned)).await?);
            if diags.has_errors() {
                return Err(diags);
            }
        }
        Ok(Planned { state: planned.encode(), requires_replace })
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        if planned.is_null() {
            self.destroy(ctx, prior).await
        } else {
            self.reconcile(ctx, prior, planned).await
        }
    }

    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics> {
        ctx.run(&format!("refreshing {}", C::NOUN), Composite::read(self, ctx, state)).await.map_err(Diagnostics::from)
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = ctx.run_all(&format!("importing {}", C::NOUN), Composite::import(self, ctx, id)).await?;
        if !C::IMPORT_READS {
            return Ok(state);
        }
        ctx.run(&format!("reading the imported {}", C::NOUN.trim_start_matches("the ")), Composite::read(self, ctx, &state))
            .await
            .map_err(Diagnostics::from)
    }

    fn identity_schema(&self) -> IdentitySchema {
        Composite::identity_schema(self)
    }

    fn identity(&self, state: &Value, region: &str) -> Value {
        Composite::identity(self, &C::Model::decode(state), region)
    }

    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        Composite::import_id(self, ctx, identity).await
    }

    async fn plan_destroy(&self, ctx: &Ctx, prior: &Value) -> Diagnostics {
        Composite::plan_destroy(self, ctx, &C::Model::decode(prior)).await
    }
}
