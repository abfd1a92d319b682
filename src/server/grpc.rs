//! The tfplugin6 Provider service: decode each request with the right
//! schema, call the provider, encode the answer. Every call runs in a span
//! carrying `tf_rpc`, `tf_req_id` and `tf_resource_type`, so each log line
//! says which call it belongs to.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::diag::{Diagnostic, Diagnostics};
use crate::logging::request_id;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;
use crate::schema::Type;
use crate::value::Value;
use pb::provider_server::{Provider as ProviderRpc, ProviderServer};

pub struct Service {
    provider: Arc<Provider>,
}

pub fn service(provider: Arc<Provider>) -> ProviderServer<Service> {
    // States of big composites can exceed gRPC's 4 MB default.
    ProviderServer::new(Service { provider }).max_decoding_message_size(256 << 20).max_encoding_message_size(256 << 20)
}

fn span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::info_span!("rpc", tf_rpc = rpc, tf_req_id = %request_id(), tf_resource_type = type_name)
}

fn decode(dv: Option<pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostic> {
    let dv = dv.unwrap_or_default();
    let r = if !dv.msgpack.is_empty() {
        Value::from_msgpack(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        Value::from_json(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    r.map_err(|e| Diagnostic::error(format!("Could not decode the {what}"), e.0))
}

fn encode(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue { msgpack: v.to_msgpack(ty), json: Vec::new() }
}

/// The first error's summary, for a log line.
fn summary(d: &Diagnostics) -> String {
    d.0.first().map(|d| d.summary.clone()).unwrap_or_default()
}

#[tonic::async_trait]
impl ProviderRpc for Service {
    async fn get_metadata(&self, _req: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        let p = &self.provider;
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(pb::ServerCapabilities::default()),
            diagnostics: vec![],
            data_sources: p
                .data_source_schemas()
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata { type_name: k.to_string() })
                .collect(),
            resources: p
                .resource_schemas()
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata { type_name: k.to_string() })
                .collect(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        let p = &self.provider;
        tracing::debug!(parent: &span("GetProviderSchema", ""), "serving schema");
        Ok(Response::new(pb::get_provider_schema::Response {
            provider: Some(p.schema().to_proto()),
            resource_schemas: p.resource_schemas().iter().map(|(k, s)| (k.to_string(), s.to_proto())).collect(),
            data_source_schemas: p.data_source_schemas().iter().map(|(k, s)| (k.to_string(), s.to_proto())).collect(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(pb::ServerCapabilities::default()),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Result<Response<pb::validate_provider_config::Response>, Status> {
        let p = &self.provider;
        let s = span("ValidateProviderConfig", "");
        let _e = s.enter();
        let diags = match decode(req.into_inner().config, &p.schema().ty(), "provider configuration") {
            Ok(cfg) => p.validate_config(&cfg),
            Err(d) => d.into(),
        };
        tracing::debug!(errors = diags.has_errors(), "validated provider configuration");
        Ok(Response::new(pb::validate_provider_config::Response { diagnostics: diags.to_proto() }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Result<Response<pb::validate_resource_config::Response>, Status> {
        let req = req.into_inner();
        let s = span("ValidateResourceConfig", &req.type_name);
        let _e = s.enter();
        let diags: Diagnostics = match self.provider.resource(&req.type_name) {
            Err(d) => d.into(),
            Ok((r, schema)) => match decode(req.config, &schema.ty(), "resource configuration") {
                Ok(cfg) => r.validate(&cfg),
                Err(d) => d.into(),
            },
        };
        tracing::debug!(errors = diags.has_errors(), "validated resource configuration");
        Ok(Response::new(pb::validate_resource_config::Response { diagnostics: diags.to_proto() }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Result<Response<pb::validate_data_resource_config::Response>, Status> {
        let req = req.into_inner();
        let p = &self.provider;
        let diags: Diagnostics = match p.data_source(&req.type_name) {
            Err(d) => d.into(),
            Ok(ds) => match decode(req.config, &p.data_source_schemas()[ds.type_name()].ty(), "data source configuration") {
                Ok(cfg) => ds.validate(&cfg),
                Err(d) => d.into(),
            },
        };
        Ok(Response::new(pb::validate_data_resource_config::Response { diagnostics: diags.to_proto() }))
    }

    /// Version 0 is the only schema version so far: the stored JSON is
    /// decoded with the current schema (attributes that no longer exist are
    /// dropped) and handed back as msgpack.
    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        let s = span("UpgradeResourceState", &req.type_name);
        let _e = s.enter();
        let result = (|| {
            let (_, schema) = self.provider.resource(&req.type_name)?;
            let ty = schema.ty();
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                return Err(Diagnostic::error(
                    "Unsupported state format",
                    "This state was stored in the flatmap format of Terraform 0.11, which this provider cannot read.",
                ));
            }
            let v = Value::from_json(&raw.json, &ty).map_err(|e| Diagnostic::error("Could not read the stored state", e.0))?;
            Ok(encode(&v, &ty))
        })();
        Ok(Response::new(match result {
            Ok(v) => pb::upgrade_resource_state::Response { upgraded_state: Some(v), diagnostics: vec![] },
            Err(d) => pb::upgrade_resource_state::Response { upgraded_state: None, diagnostics: vec![d.to_proto()] },
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Result<Response<pb::configure_provider::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("ConfigureProvider", "");
        async move {
            tracing::debug!(terraform_version = %req.terraform_version, "configuring provider");
            let diags = match decode(req.config, &p.schema().ty(), "provider configuration") {
                Ok(cfg) => p.configure(&cfg).await,
                Err(d) => d.into(),
            };
            Ok(Response::new(pb::configure_provider::Response { diagnostics: diags.to_proto() }))
        }
        .instrument(s)
        .await
    }

    async fn read_resource(&self, req: Request<pb::read_resource::Request>) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("ReadResource", &req.type_name);
        async move {
            let result = async {
                let (r, schema) = p.resource(&req.type_name)?;
                let ty = schema.ty();
                let state = decode(req.current_state.clone(), &ty, "current state")?;
                if state.is_null() {
                    return Ok::<_, Diagnostics>(encode(&Value::Null, &ty));
                }
                let ctx = p.ctx()?;
                let fresh = r.read(&ctx, &state).await?;
                if fresh.is_null() {
                    tracing::info!("every part is gone: the resource is removed from state");
                }
                Ok(encode(&fresh, &ty))
            }
            .await;
            Ok(Response::new(match result {
                Ok(v) => pb::read_resource::Response { new_state: Some(v), diagnostics: vec![], private: req.private },
                Err(d) => {
                    tracing::warn!(error = %summary(&d), "read failed");
                    pb::read_resource::Response { new_state: req.current_state, diagnostics: d.to_proto(), private: req.private }
                }
            }))
        }
        .instrument(s)
        .await
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("PlanResourceChange", &req.type_name);
        async move {
            let result = async {
                let (r, schema) = p.resource(&req.type_name)?;
                let ty = schema.ty();
                let prior = decode(req.prior_state, &ty, "prior state")?;
                let proposed = decode(req.proposed_new_state, &ty, "proposed state")?;
                let config = decode(req.config, &ty, "configuration")?;
                if proposed.is_null() {
                    // Destroy: nothing to plan.
                    return Ok::<_, Diagnostics>((encode(&Value::Null, &ty), vec![]));
                }
                let ctx = p.ctx().ok();
                let planned = r.plan(ctx.as_ref(), &prior, &proposed, &config).await?;
                let replace = planned.requires_replace.iter().map(|p| p.to_proto()).collect();
                Ok((encode(&planned.state, &ty), replace))
            }
            .await;
            Ok(Response::new(match result {
                Ok((state, requires_replace)) => pb::plan_resource_change::Response {
                    planned_state: Some(state),
                    requires_replace,
                    planned_private: req.prior_private,
                    diagnostics: vec![],
                    legacy_type_system: false,
                },
                Err(d) => {
                    tracing::debug!(error = %summary(&d), "plan refused");
                    pb::plan_resource_change::Response { diagnostics: d.to_proto(), ..Default::default() }
                }
            }))
        }
        .instrument(s)
        .await
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("ApplyResourceChange", &req.type_name);
        async move {
            let prior_raw = req.prior_state.clone();
            let result = async {
                let (r, schema) = p.resource(&req.type_name)?;
                let ty = schema.ty();
                let prior = decode(req.prior_state, &ty, "prior state")?;
                let planned = decode(req.planned_state, &ty, "planned state")?;
                let ctx = p.ctx()?;
                let (state, diags) = r.apply(&ctx, &prior, &planned).await;
                Ok::<_, Diagnostics>((encode(&state, &ty), diags))
            }
            .await;
            Ok(Response::new(match result {
                Ok((state, diags)) => {
                    if diags.has_errors() {
                        tracing::warn!(error = %summary(&diags), "apply failed; returning the state reached");
                    }
                    pb::apply_resource_change::Response { new_state: Some(state), private: req.planned_private, diagnostics: diags.to_proto() }
                }
                // Nothing was attempted: the prior state still holds.
                Err(d) => pb::apply_resource_change::Response { new_state: prior_raw, private: req.planned_private, diagnostics: d.to_proto() },
            }))
        }
        .instrument(s)
        .await
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("ImportResourceState", &req.type_name);
        async move {
            let result = async {
                let (r, schema) = p.resource(&req.type_name)?;
                let ctx = p.ctx()?;
                let state = r.import(&ctx, &req.id).await?;
                Ok::<_, Diagnostics>(encode(&state, &schema.ty()))
            }
            .await;
            Ok(Response::new(match result {
                Ok(state) => pb::import_resource_state::Response {
                    imported_resources: vec![pb::import_resource_state::ImportedResource {
                        type_name: req.type_name.clone(),
                        state: Some(state),
                        private: vec![],
                    }],
                    diagnostics: vec![],
                },
                Err(d) => pb::import_resource_state::Response { imported_resources: vec![], diagnostics: d.to_proto() },
            }))
        }
        .instrument(s)
        .await
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        let p = self.provider.clone();
        let s = span("ReadDataSource", &req.type_name);
        async move {
            let result = async {
                let ds = p.data_source(&req.type_name)?;
                let ty = p.data_source_schemas()[ds.type_name()].ty();
                let cfg = decode(req.config, &ty, "data source configuration")?;
                let ctx = p.ctx()?;
                Ok::<_, Diagnostics>((ds.read(&ctx, &cfg).await?, ty))
            }
            .await;
            let resp = match result {
                Ok((state, ty)) => {
                    tracing::debug!("data source read");
                    pb::read_data_source::Response { state: Some(encode(&state, &ty)), diagnostics: vec![] }
                }
                Err(diags) => {
                    tracing::warn!(error = %diags.0.first().map(|d| d.summary.as_str()).unwrap_or(""), "data source read failed");
                    pb::read_data_source::Response { state: None, diagnostics: diags.to_proto() }
                }
            };
            Ok(Response::new(resp))
        }
        .instrument(s)
        .await
    }

    async fn stop_provider(&self, _req: Request<pb::stop_provider::Request>) -> Result<Response<pb::stop_provider::Response>, Status> {
        tracing::info!(parent: &span("StopProvider", ""), "stop requested: cancelling calls in flight");
        self.provider.stop();
        Ok(Response::new(pb::stop_provider::Response { error: String::new() }))
    }
}
