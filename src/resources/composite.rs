//! The skeleton every composite shares. A composite declares what it is
//! (`Composite`: its model, record, parts and desired state) and writes
//! each phase in its own file, on its typed model: `Validate` (validate.rs),
//! `Plan` (plan.rs), `Apply` (apply.rs), `Read` (read.rs), `Import`
//! (import.rs). The protocol-facing `Resource` comes for free: decoding
//! into the model and encoding back, validation again before plan, the
//! plan-time checks against the prior in the same VPC, the reconcile and
//! destroy frame (observe, run the step graph on a `StepRecord`, the state
//! that is true afterwards, also on failure), and every phase that calls
//! AWS run so that a stop from Terraform ends it with a "Stopped"
//! diagnostic.

use std::time::Duration;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::engine::{Op, Step, StepKey};
use crate::identity::IdentitySchema;
use crate::model::{Attr, Model};
use crate::parts::tags::{Owned, Tags};
use crate::resources::listing::Listed;
use crate::resources::record::StepRecord;
use crate::resources::{Planned, Resource, Timeouts};
use crate::schema::Schema;
use crate::value::Value;

/// What plan knows besides the values: the provider's default tags and
/// region (None before the provider is configured).
pub struct PlanEnv<'a> {
    pub default_tags: &'a Tags,
    pub region: Option<&'a str>,
}

/// What a composite is: its types, names and schema (its mod.rs). The
/// phases are the traits below, one per phase file.
pub trait Composite: Send + Sync + 'static {
    /// The typed model of the resource's values.
    type Model: Model + Send + Sync;
    /// The composite as a plan wants it, defaults applied (config.rs).
    type Desired: Send + Sync;
    /// What apply and destroy learn, step by step (a `StepRecord` of it).
    type Record: Send;
    /// The parts its step graph names (steps.rs).
    type Part: StepKey + Sync;
    const TYPE_NAME: &'static str;
    /// How messages name one, e.g. `the pipeline`.
    const NOUN: &'static str;
    /// Whether an imported state still needs a read to be complete.
    const IMPORT_READS: bool;

    fn schema(&self) -> Schema;
    /// The VPC the composite lives in.
    fn vpc_id(m: &Self::Model) -> &Attr<String>;
    /// The desired state of a planned (or, for destroy, prior) model.
    fn desired(m: &Self::Model, region: &str) -> Self::Desired;
    /// The create / update / delete limits its `timeouts` block gives.
    fn timeouts(m: &Self::Model) -> Timeouts;
}

/// Checks of the configuration alone: no AWS call (validate.rs).
pub trait Validate: Composite {
    fn validate(&self, config: &Self::Model) -> Diagnostics;
}

/// The plan, its checks against AWS, and a destroy plan's warnings (plan.rs).
#[tonic::async_trait]
pub trait Plan: Composite {
    /// The attributes whose change from `prior` replaces the resource.
    fn replace_paths(&self, prior: &Self::Model, config: &Self::Model) -> Vec<Path>;

    /// AWS's limits that need the provider's configuration (its default
    /// tags, its region), checked before `plan` without calling AWS: an
    /// error ends the plan.
    fn limits(&self, env: &PlanEnv<'_>, config: &Self::Model) -> Diagnostics;

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
    /// wrong; `prior` as for the checks. None by default: `plan` settles
    /// everything itself.
    async fn settle_against_aws(
        &self,
        _ctx: &Ctx,
        _prior: Option<&Self::Model>,
        _config: &Self::Model,
        _planned: &mut Self::Model,
    ) -> Result<Diagnostics, Diagnostic> {
        Ok(Diagnostics::default())
    }

    /// Checks that need AWS, of what is new or changed against `prior`.
    async fn check_against_aws(&self, ctx: &Ctx, prior: Option<&Self::Model>, planned: &Self::Model) -> Result<Diagnostics, Diagnostic>;

    /// Warnings of a destroy plan: never an error.
    async fn destroy_warnings(&self, ctx: &Ctx, prior: &Self::Model) -> Diagnostics;
}

/// How much `Read::observe` reads. Apply gets what it may change (a
/// queue's tags with its settings); destroy what it removes (nothing more
/// than the state when the ids are enough); a refresh only what the state
/// shows, so a no-change plan costs as few calls as it can.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Depth {
    Apply,
    Destroy,
    Refresh,
}

/// What the steps of one apply or destroy share: the prior state (None
/// for a create), the desired state, the record the steps write to, and
/// the time limit of the run.
pub struct Run<'a, C: Composite + ?Sized> {
    pub prior: Option<&'a C::Model>,
    pub desired: &'a C::Desired,
    pub record: &'a StepRecord<C::Record>,
    pub timeout: Duration,
}

impl<C: Composite + ?Sized> Clone for Run<'_, C> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<C: Composite + ?Sized> Copy for Run<'_, C> {}

/// A composite's steps, ready for `Ctx::run_steps`.
pub type Steps<'a, C> = Vec<Step<'a, Op<<C as Composite>::Part>>>;

/// The step graphs with their work, and the states they leave (apply.rs).
pub trait Apply: Composite {
    /// Create or update: each step of the apply graph with its work.
    fn apply_steps<'a>(&'a self, ctx: &'a Ctx, run: Run<'a, Self>) -> Steps<'a, Self>;
    /// The state after apply: the plan with what exists now.
    fn state_after(planned: &Self::Model, desired: &Self::Desired, record: Self::Record) -> Self::Model;
    /// Delete: each step of the destroy graph with its work.
    fn destroy_steps<'a>(&'a self, ctx: &'a Ctx, run: Run<'a, Self>) -> Steps<'a, Self>;
    /// The state after a destroy that failed part way (`done`: the steps
    /// that finished): what is still there, so the next destroy finishes it.
    fn still_there(prior: &Self::Model, desired: &Self::Desired, record: Self::Record, done: &[Op<Self::Part>]) -> Self::Model;
}

/// What exists now (read.rs).
#[tonic::async_trait]
pub trait Read: Composite {
    /// The parts the state (`None`: nothing yet) recorded, as AWS has them:
    /// the record apply and destroy start from.
    async fn observe(&self, ctx: &Ctx, prior: Option<&Self::Model>, depth: Depth) -> Result<Self::Record, Diagnostic>;
    /// Refresh; None when the whole resource is gone.
    async fn read(&self, ctx: &Ctx, state: &Self::Model) -> Result<Option<Self::Model>, Diagnostic>;
}

/// Import by id and by identity (import.rs).
#[tonic::async_trait]
pub trait Import: Composite {
    /// The state found from the import id.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Self::Model, Diagnostics>;
    fn identity_schema(&self) -> IdentitySchema;
    fn identity(&self, state: &Self::Model, region: &str) -> Value;
    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics>;
}

/// The composites of this type that exist (list.rs): which of the objects
/// carrying an owner tag are its own, as list results. Pure: the search
/// of the region is `listing::owned_objects`, made once for every type.
pub trait List: Composite {
    fn listed(&self, owned: &[Owned], region: &str) -> Vec<Listed>;
}

/// The prior state the plan-time checks compare with: what is already
/// there and checked needs no new look. Only in the same VPC: in another
/// one (a replace) everything is checked as new. On a replace in the same
/// VPC (a rename), the prior's objects still count as the resource's own,
/// so they are not reported as someone else's.
pub fn prior_for_checks<'a, M>(prior: Option<&'a M>, planned: &M, vpc_id: impl Fn(&M) -> &Attr<String>) -> Option<&'a M> {
    prior.filter(|p| vpc_id(p).str().is_some() && vpc_id(p) == vpc_id(planned))
}

/// The model of a state, None for null.
fn decoded<M: Model>(v: &Value) -> Option<M> {
    (!v.is_null()).then(|| M::decode(v))
}

/// Create or update: observe what the prior recorded, run the apply graph,
/// and return the state true afterwards, also on failure. When the parts
/// cannot even be read, the prior state stays as it was.
async fn reconcile<C: Apply + Read>(c: &C, ctx: &Ctx, prior_state: &Value, planned: &C::Model) -> (Value, Diagnostics) {
    let prior = decoded::<C::Model>(prior_state);
    let what = format!("reading {}'s parts", C::NOUN);
    let observed = match ctx.run(&what, c.observe(ctx, prior.as_ref(), Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior_state.clone(), e.into()),
    };
    let desired = C::desired(planned, &ctx.aws.region);
    let limits = C::timeouts(planned);
    let timeout = if prior.is_none() { limits.create } else { limits.update };
    let record = StepRecord::new(observed);
    let run = Run { prior: prior.as_ref(), desired: &desired, record: &record, timeout };
    let (_, diags) = ctx.run_steps(&format!("applying {}", C::NOUN), c.apply_steps(ctx, run)).await;
    (C::state_after(planned, &desired, record.into_inner()).encode(), diags)
}

/// Delete along the destroy graph: null when everything is gone, else the
/// prior state less what was removed.
async fn destroy<C: Apply + Read>(c: &C, ctx: &Ctx, prior_state: &Value) -> (Value, Diagnostics) {
    let prior = C::Model::decode(prior_state);
    let what = format!("reading {}'s parts", C::NOUN);
    let observed = match ctx.run(&what, c.observe(ctx, Some(&prior), Depth::Destroy)).await {
        Ok(r) => r,
        Err(e) => return (prior_state.clone(), e.into()),
    };
    // The desired state of the prior names the objects in diagnostics.
    let desired = C::desired(&prior, &ctx.aws.region);
    let record = StepRecord::new(observed);
    let run = Run { prior: Some(&prior), desired: &desired, record: &record, timeout: C::timeouts(&prior).delete };
    let (done, diags) = ctx.run_steps(&format!("destroying {}", C::NOUN), c.destroy_steps(ctx, run)).await;
    if !diags.has_errors() {
        return (Value::Null, diags);
    }
    (C::still_there(&prior, &desired, record.into_inner(), &done).encode(), diags)
}

#[tonic::async_trait]
impl<C: Validate + Plan + Apply + Read + Import + List> Resource for C {
    fn type_name(&self) -> &'static str {
        C::TYPE_NAME
    }

    fn schema(&self) -> Schema {
        Composite::schema(self)
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        Validate::validate(self, &C::Model::decode(config))
    }

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
        let config = C::Model::decode(config);
        let diags = Validate::validate(self, &config);
        if diags.has_errors() {
            return Err(diags);
        }
        let default_tags = ctx.map(|c| c.aws.default_tags.clone()).unwrap_or_default();
        let env = PlanEnv { default_tags: &default_tags, region: ctx.map(|c| c.aws.region.as_str()) };
        let prior = decoded::<C::Model>(prior);
        let requires_replace = prior.as_ref().map(|p| self.replace_paths(p, &config)).unwrap_or_default();
        let kept = if requires_replace.is_empty() { prior.as_ref() } else { None };
        let limits = self.limits(&env, &config);
        if limits.has_errors() {
            return Err(limits);
        }
        let mut planned = Plan::plan(self, &env, kept, &C::Model::decode(proposed), &config)?;
        let mut warnings = Diagnostics::default();
        if let Some(ctx) = ctx {
            let prior = prior_for_checks(prior.as_ref(), &planned, C::vpc_id);
            let what = format!("checking {} against AWS at plan", C::NOUN);
            let mut diags = ctx.run(&what, self.settle_against_aws(ctx, prior, &config, &mut planned)).await?;
            // What settling found wrong ends the plan: the checks would
            // look at a plan that cannot be, and cost calls for nothing.
            if diags.has_errors() {
                return Err(diags);
            }
            diags.extend(ctx.run(&what, self.check_against_aws(ctx, prior, &planned)).await?);
            if diags.has_errors() {
                return Err(diags);
            }
            warnings = diags;
        }
        Ok(Planned { state: planned.encode(), requires_replace, warnings })
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        if planned.is_null() {
            destroy(self, ctx, prior).await
        } else {
            reconcile(self, ctx, prior, &C::Model::decode(planned)).await
        }
    }

    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics> {
        let state = C::Model::decode(state);
        Ok(encoded(ctx.run(&format!("refreshing {}", C::NOUN), Read::read(self, ctx, &state)).await?))
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = ctx.run_all(&format!("importing {}", C::NOUN), Import::import(self, ctx, id)).await?;
        if !C::IMPORT_READS {
            return Ok(state.encode());
        }
        // As Terraform would hold it: every attribute at its path.
        let state = C::Model::decode(&state.encode());
        let what = format!("reading the imported {}", C::NOUN.trim_start_matches("the "));
        Ok(encoded(ctx.run(&what, Read::read(self, ctx, &state)).await?))
    }

    fn import_reads(&self) -> bool {
        C::IMPORT_READS
    }

    fn identity_schema(&self) -> IdentitySchema {
        Import::identity_schema(self)
    }

    fn identity(&self, state: &Value, region: &str) -> Value {
        Import::identity(self, &C::Model::decode(state), region)
    }

    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        Import::import_id(self, ctx, identity).await
    }

    async fn plan_destroy(&self, ctx: &Ctx, prior: &Value) -> Diagnostics {
        self.destroy_warnings(ctx, &C::Model::decode(prior)).await
    }

    fn listed(&self, owned: &[Owned], region: &str) -> Vec<Listed> {
        List::listed(self, owned, region)
    }
}

/// A read's state as the protocol carries it: null when the resource is gone.
fn encoded<M: Model>(state: Option<M>) -> Value {
    state.map(|m| m.encode()).unwrap_or(Value::Null)
}
