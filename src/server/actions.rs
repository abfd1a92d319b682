//! ValidateActionConfig, PlanAction and InvokeAction (Terraform 1.14+).
//! An invoke streams the action's progress messages as progress events and
//! ends with one completed event carrying its diagnostics. The work runs in
//! a task of its own that holds the stop token (StopProvider cancels it)
//! and sees when Terraform stops reading (the stream dropped), so what an
//! action started never runs on behind Terraform's back.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tracing::Instrument;

use super::wire::decode;
use crate::actions::Progress;
use crate::diag::Diagnostics;
use crate::logging::span;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;

pub type Events = Pin<Box<dyn Stream<Item = Result<pb::invoke_action::Event, tonic::Status>> + Send>>;

pub(super) fn validate(p: &Provider, req: pb::validate_action_config::Request) -> pb::validate_action_config::Response {
    let s = span("ValidateActionConfig", &req.type_name);
    let _e = s.enter();
    let diags: Diagnostics = match p.action(&req.type_name) {
        Err(d) => d.into(),
        Ok((a, schema)) => match decode(req.config, &schema.ty(), "action configuration") {
            Ok(cfg) => a.validate(&cfg),
            Err(d) => d.into(),
        },
    };
    pb::validate_action_config::Response { diagnostics: diags.to_proto() }
}

pub(super) async fn plan(p: Arc<Provider>, req: pb::plan_action::Request) -> pb::plan_action::Response {
    let s = span("PlanAction", &req.action_type);
    async move {
        let diags: Diagnostics = match p.action(&req.action_type) {
            Err(d) => d.into(),
            Ok((a, schema)) => match decode(req.config, &schema.ty(), "action configuration") {
                Ok(cfg) => a.plan(p.ctx().ok().as_ref(), &cfg).await,
                Err(d) => d.into(),
            },
        };
        tracing::debug!(errors = diags.has_errors(), "action planned");
        pb::plan_action::Response { diagnostics: diags.to_proto(), deferred: None }
    }
    .instrument(s)
    .await
}

pub(super) fn invoke(p: Arc<Provider>, req: pb::invoke_action::Request) -> Events {
    let s = span("InvokeAction", &req.action_type);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::invoke_action::Event>();
    tokio::spawn(
        async move {
            let (say, mut said) = tokio::sync::mpsc::unbounded_channel::<String>();
            let forward = {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(message) = said.recv().await {
                        let event = pb::invoke_action::event::Type::Progress(pb::invoke_action::event::Progress { message });
                        if tx.send(pb::invoke_action::Event { r#type: Some(event) }).is_err() {
                            break;
                        }
                    }
                })
            };
            let tx_seen = tx.clone();
            let diags = async {
                let (a, schema) = p.action(&req.action_type)?;
                let cfg = decode(req.config, &schema.ty(), "action configuration")?;
                let mut ctx = p.ctx()?;
                // Terraform gone (the stream dropped) stops this invoke
                // alone; StopProvider, the parent token, stops it too.
                ctx.cancel = ctx.cancel.child_token();
                let cancel = ctx.cancel.clone();
                let gone = tokio::spawn(async move {
                    tx_seen.closed().await;
                    cancel.cancel();
                });
                // Silent once stopped: see `Progress`.
                let progress = Progress::new(say).until(ctx.cancel.clone());
                let diags = a.invoke(&ctx, &cfg, &progress).await;
                gone.abort();
                Ok::<_, Diagnostics>(diags)
            }
            .await
            .unwrap_or_else(|d| d);
            // Every progress sender is gone with the block: the forwarder
            // ends once it has sent what was said, before the completion.
            let _ = forward.await;
            if diags.has_errors() {
                tracing::warn!(error = %diags.first_summary(), "action failed");
            } else {
                tracing::info!("action completed");
            }
            let done = pb::invoke_action::event::Completed { diagnostics: diags.to_proto() };
            let _ = tx.send(pb::invoke_action::Event { r#type: Some(pb::invoke_action::event::Type::Completed(done)) });
        }
        .instrument(s),
    );
    Box::pin(tokio_stream::wrappers::UnboundedReceiverStream::new(rx).map(Ok))
}
