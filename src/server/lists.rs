//! ListResource and ValidateListResourceConfig (`terraform query`,
//! Terraform 1.14+): the composites of one type found through their owner
//! tags, each sent as its identity and display name, and, when Terraform
//! asks for the object (`-generate-config-out`, `include_resource`), the
//! state an import by that identity reads: the same state `import` and
//! `terraform plan` then see, so the generated configuration plans no
//! change.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tracing::Instrument;

use super::wire::{decode, encode, identity_data};
use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::logging::span;
use crate::model::Model;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;
use crate::resources::listing::{self, ListConfig, Listed};
use crate::resources::{self, Resource};

/// How many results' objects are read at once: each read is a composite's
/// import and refresh, a dozen calls or so, which AWS's request rates
/// allow a few of side by side.
const READ_AT_ONCE: usize = 4;

pub type Events = Pin<Box<dyn Stream<Item = Result<pb::list_resource::Event, tonic::Status>> + Send>>;

pub(super) fn validate(p: &Provider, req: pb::validate_list_resource_config::Request) -> pb::validate_list_resource_config::Response {
    let s = span("ValidateListResourceConfig", &req.type_name);
    let _e = s.enter();
    let diags: Diagnostics = match p.resource(&req.type_name) {
        Err(d) => d.into(),
        Ok(_) => match decode(req.config, &listing::schema().ty(), "list configuration") {
            Ok(cfg) => listing::validate(&ListConfig::decode(&cfg)),
            Err(d) => d.into(),
        },
    };
    pb::validate_list_resource_config::Response { diagnostics: diags.to_proto() }
}

/// The events of one ListResource, streamed as they are found: one per
/// composite, or one carrying the diagnostics when the search failed.
pub(super) fn list(p: Arc<Provider>, req: pb::list_resource::Request) -> Events {
    let s = span("ListResource", &req.type_name);
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(
        async move {
            let failed = |d: Diagnostics| pb::list_resource::Event { diagnostic: d.to_proto(), ..Default::default() };
            let found = async {
                let (r, _) = p.resource(&req.type_name)?;
                let config = ListConfig::decode(&decode(req.config, &listing::schema().ty(), "list configuration")?);
                let checked = listing::validate(&config);
                if checked.has_errors() {
                    return Err(checked);
                }
                let ctx = p.ctx()?;
                let owned = listing::owned_objects(&ctx, config.vpc_id.str()).await?;
                let listed = listing::filtered(r.listed(&owned, &ctx.aws.region), &config, req.limit);
                Ok::<_, Diagnostics>((r.clone(), ctx, listed))
            }
            .await;
            let (r, ctx, listed) = match found {
                Ok(f) => f,
                Err(d) => {
                    tracing::warn!(error = %d.first_summary(), "list failed");
                    let _ = tx.send(Ok(failed(d))).await;
                    return;
                }
            };
            tracing::debug!(found = listed.len(), "listing");
            // A few objects read at once, sent in the listed order.
            let mut events =
                futures::stream::iter(listed).map(|l| event(&p, r.as_ref(), &ctx, l, req.include_resource_object)).buffered(READ_AT_ONCE);
            while let Some(event) = events.next().await {
                // Terraform stops reading at its limit, or went away.
                if tx.send(Ok(event)).await.is_err() {
                    return;
                }
            }
        }
        .instrument(s),
    );
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// One result: the identity and name, with the object when asked for.
/// A composite that cannot be read (deleted since the search, a right
/// missing) is an error naming it: a result without its object would
/// generate a configuration of nothing.
async fn event(p: &Provider, r: &dyn Resource, ctx: &Ctx, l: Listed, with_object: bool) -> pb::list_resource::Event {
    let id_ty = r.identity_schema().ty();
    let mut event = pb::list_resource::Event {
        identity: Some(identity_data(&l.identity, &id_ty)),
        display_name: l.display_name.clone(),
        ..Default::default()
    };
    if with_object {
        match object(p, r, ctx, &l).await {
            Ok(v) => event.resource_object = Some(v),
            Err(d) => event.diagnostic = d.to_proto(),
        }
    }
    event
}

/// The state an import by the result's identity reads (and refreshes,
/// where the import does not end with a read already).
async fn object(p: &Provider, r: &dyn Resource, ctx: &Ctx, l: &Listed) -> Result<pb::DynamicValue, Diagnostics> {
    let (_, schema) = p.resource(r.type_name())?;
    let (state, _) = resources::import_by_identity(r, ctx, &l.identity).await?;
    let state = schema.block.with_groups(state);
    let read = if r.import_reads() { state } else { schema.block.with_groups(r.read(ctx, &state).await?) };
    if read.is_null() {
        return Err(Diagnostic::error(
            format!("{} is gone", l.display_name),
            format!("{} was found by its owner tag but could not be read: it was deleted while it was listed.", l.display_name),
        )
        .into());
    }
    Ok(encode(&read, &schema.ty()))
}
