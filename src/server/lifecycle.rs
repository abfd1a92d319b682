//! The resource lifecycle calls of the Provider service: ReadResource,
//! PlanResourceChange, ApplyResourceChange and ImportResourceState, each
//! answered with the state reached and the resource's identity. The
//! service in `grpc.rs` hands each request here.

use std::sync::Arc;

use tracing::Instrument;

use super::wire::{decode_identity, decode_resource, encode, identity_data, known_identity};
use crate::diag::Diagnostics;
use crate::identity;
use crate::logging::span;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;
use crate::resources;
use crate::value::Value;

pub(super) async fn read_resource(p: Arc<Provider>, req: pb::read_resource::Request) -> pb::read_resource::Response {
    let s = span("ReadResource", &req.type_name);
    async move {
        let result = async {
            let (r, schema) = p.resource(&req.type_name)?;
            let ty = schema.ty();
            let state = decode_resource(req.current_state.clone(), schema, "current state")?;
            if state.is_null() {
                return Ok::<_, Diagnostics>((encode(&Value::Null, &ty), None));
            }
            let ctx = p.ctx()?;
            let fresh = schema.block.with_groups(r.read(&ctx, &state).await?);
            if fresh.is_null() {
                tracing::info!("every part is gone: the resource is removed from state");
            }
            // Also when Terraform sent none: that is how a resource made
            // before Terraform knew identities gets one.
            Ok((encode(&fresh, &ty), known_identity(r.as_ref(), &fresh, &ctx.aws.region)))
        }
        .await;
        match result {
            Ok((v, new_identity)) => pb::read_resource::Response {
                new_state: Some(v),
                diagnostics: vec![],
                private: req.private,
                new_identity,
                ..Default::default()
            },
            Err(d) => {
                tracing::warn!(error = %d.first_summary(), "read failed");
                pb::read_resource::Response {
                    new_state: req.current_state,
                    diagnostics: d.to_proto(),
                    private: req.private,
                    new_identity: req.current_identity,
                    ..Default::default()
                }
            }
        }
    }
    .instrument(s)
    .await
}

pub(super) async fn plan_resource_change(p: Arc<Provider>, req: pb::plan_resource_change::Request) -> pb::plan_resource_change::Response {
    let s = span("PlanResourceChange", &req.type_name);
    async move {
        let result = async {
            let (r, schema) = p.resource(&req.type_name)?;
            let ty = schema.ty();
            let prior = decode_resource(req.prior_state, schema, "prior state")?;
            let proposed = decode_resource(req.proposed_new_state, schema, "proposed state")?;
            let config = decode_resource(req.config, schema, "configuration")?;
            if proposed.is_null() {
                // Destroy: the planned state is null; the warnings say
                // who still depends on what goes.
                let warnings = match p.ctx() {
                    Ok(ctx) if !prior.is_null() => r.plan_destroy(&ctx, &prior).await,
                    _ => Diagnostics::default(),
                };
                return Ok::<_, Diagnostics>(PlanAnswer {
                    state: encode(&Value::Null, &ty),
                    replace: vec![],
                    identity: None,
                    diags: warnings,
                });
            }
            let ctx = p.ctx().ok();
            let planned = r.plan(ctx.as_ref(), &prior, &proposed, &config).await?;
            let id_ty = r.identity_schema().ty();
            let prior_identity = decode_identity(req.prior_identity, &id_ty, "prior identity")?;
            let stays = !prior.is_null() && planned.requires_replace.is_empty();
            let from_plan = ctx.as_ref().map(|c| r.identity(&planned.state, &c.aws.region));
            let identity = identity::planned(stays, &prior_identity, from_plan).map(|v| identity_data(&v, &id_ty));
            let replace = planned.requires_replace.iter().map(|p| p.to_proto()).collect();
            Ok(PlanAnswer { state: encode(&planned.state, &ty), replace, identity, diags: planned.warnings })
        }
        .await;
        match result {
            Ok(a) => pb::plan_resource_change::Response {
                planned_state: Some(a.state),
                requires_replace: a.replace,
                planned_private: req.prior_private,
                diagnostics: a.diags.to_proto(),
                legacy_type_system: false,
                deferred: None,
                planned_identity: a.identity,
            },
            Err(d) => {
                tracing::debug!(error = %d.first_summary(), "plan refused");
                pb::plan_resource_change::Response { diagnostics: d.to_proto(), ..Default::default() }
            }
        }
    }
    .instrument(s)
    .await
}

pub(super) async fn apply_resource_change(
    p: Arc<Provider>,
    req: pb::apply_resource_change::Request,
) -> pb::apply_resource_change::Response {
    let s = span("ApplyResourceChange", &req.type_name);
    async move {
        let prior_raw = req.prior_state.clone();
        let result = async {
            let (r, schema) = p.resource(&req.type_name)?;
            let ty = schema.ty();
            let prior = decode_resource(req.prior_state, schema, "prior state")?;
            let planned = decode_resource(req.planned_state, schema, "planned state")?;
            let ctx = p.ctx()?;
            let (state, diags) = r.apply(&ctx, &prior, &planned).await;
            // The identity of whatever state is true now, also after a
            // partial failure; none once destroyed.
            let identity = known_identity(r.as_ref(), &state, &ctx.aws.region);
            Ok::<_, Diagnostics>((encode(&state, &ty), identity, diags))
        }
        .await;
        match result {
            Ok((state, new_identity, diags)) => {
                if diags.has_errors() {
                    tracing::warn!(error = %diags.first_summary(), "apply failed; returning the state reached");
                }
                pb::apply_resource_change::Response {
                    new_state: Some(state),
                    private: req.planned_private,
                    diagnostics: diags.to_proto(),
                    legacy_type_system: false,
                    new_identity,
                }
            }
            // Nothing was attempted: the prior state still holds. No
            // identity: the next read returns it.
            Err(d) => pb::apply_resource_change::Response {
                new_state: prior_raw,
                private: req.planned_private,
                diagnostics: d.to_proto(),
                legacy_type_system: false,
                new_identity: None,
            },
        }
    }
    .instrument(s)
    .await
}

pub(super) async fn import_resource_state(
    p: Arc<Provider>,
    req: pb::import_resource_state::Request,
) -> pb::import_resource_state::Response {
    let s = span("ImportResourceState", &req.type_name);
    async move {
        let result = async {
            let (r, schema) = p.resource(&req.type_name)?;
            let ctx = p.ctx()?;
            let asked = decode_identity(req.identity, &r.identity_schema().ty(), "import identity")?;
            // `import { identity = {...} }` sends the identity and no id.
            let state = if req.id.is_empty() && !asked.is_null() {
                resources::import_by_identity(r.as_ref(), &ctx, &asked).await?.0
            } else {
                r.import(&ctx, &req.id).await?
            };
            let state = schema.block.with_groups(state);
            Ok::<_, Diagnostics>((encode(&state, &schema.ty()), known_identity(r.as_ref(), &state, &ctx.aws.region)))
        }
        .await;
        match result {
            Ok((state, identity)) => pb::import_resource_state::Response {
                imported_resources: vec![pb::import_resource_state::ImportedResource {
                    type_name: req.type_name.clone(),
                    state: Some(state),
                    private: vec![],
                    identity,
                }],
                diagnostics: vec![],
                deferred: None,
            },
            Err(d) => pb::import_resource_state::Response { imported_resources: vec![], diagnostics: d.to_proto(), deferred: None },
        }
    }
    .instrument(s)
    .await
}

/// The answer to PlanResourceChange, before encoding.
struct PlanAnswer {
    state: pb::DynamicValue,
    replace: Vec<pb::AttributePath>,
    identity: Option<pb::ResourceIdentityData>,
    /// Warnings (a destroy's); errors go the Err way.
    diags: Diagnostics,
}
