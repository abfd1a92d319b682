//! The tfplugin6 Provider service: decode each request with the right
//! schema, call the provider, encode the answer. Every call runs in a span
//! (`logging::span`) carrying `tf_rpc`, `tf_req_id` and `tf_resource_type`,
//! so each log line says which call it belongs to. The values on the wire are `wire.rs`'s;
//! the resource lifecycle calls (read, plan, apply, import) are answered
//! in `lifecycle.rs`.

use std::sync::Arc;

use tonic::{Request, Response, Status};
use tracing::Instrument;

use super::wire::{decode, encode, identity_data};
use super::{actions, lifecycle, lists};
use crate::diag::{Diagnostic, Diagnostics};
use crate::logging::span;
use crate::proto::tfplugin6 as pb;
use crate::provider::Provider;
use crate::value::Value;
use pb::provider_server::{Provider as ProviderRpc, ProviderServer};

pub struct Service {
    provider: Arc<Provider>,
}

pub fn service(provider: Arc<Provider>) -> ProviderServer<Service> {
    // States of big composites can exceed gRPC's 4 MB default.
    ProviderServer::new(Service { provider }).max_decoding_message_size(256 << 20).max_encoding_message_size(256 << 20)
}

/// What the provider supports beyond the base protocol. `plan_destroy`:
/// Terraform (1.3+) calls PlanResourceChange for destroys too, which lets a
/// composite warn about clients that lose their path to a service.
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities { plan_destroy: true, ..Default::default() }
}

/// Answer for a method of protocol 6.10 whose feature this provider does
/// not have. Clients treat UNIMPLEMENTED as "not supported", never as an
/// error of a resource.
fn not_served(rpc: &'static str) -> Status {
    tracing::debug!(parent: &span(rpc, ""), "not served: answering UNIMPLEMENTED");
    Status::unimplemented(format!("terraform-provider-privatelink does not implement {rpc}"))
}

#[tonic::async_trait]
impl ProviderRpc for Service {
    async fn get_metadata(&self, _req: Request<pb::get_metadata::Request>) -> Result<Response<pb::get_metadata::Response>, Status> {
        let p = &self.provider;
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: vec![],
            // No functions (OpenTofu asks for them), ephemeral resources
            // or state stores.
            functions: vec![],
            data_sources: p
                .data_source_schemas()
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata { type_name: k.to_string() })
                .collect(),
            resources: p.resource_schemas().keys().map(|k| pb::get_metadata::ResourceMetadata { type_name: k.to_string() }).collect(),
            list_resources: p.list_schemas().keys().map(|k| pb::get_metadata::ListResourceMetadata { type_name: k.to_string() }).collect(),
            actions: p.action_schemas().keys().map(|k| pb::get_metadata::ActionMetadata { type_name: k.to_string() }).collect(),
            ..Default::default()
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
            functions: Default::default(),
            diagnostics: vec![],
            provider_meta: None,
            server_capabilities: Some(capabilities()),
            // Terraform before 1.14 knows neither field and skips both.
            list_resource_schemas: p.list_schemas().iter().map(|(k, s)| (k.to_string(), s.to_proto())).collect(),
            action_schemas: p
                .action_schemas()
                .iter()
                .map(|(k, s)| (k.to_string(), pb::ActionSchema { schema: Some(s.to_proto()) }))
                .collect(),
            // No ephemeral resources or state stores.
            ..Default::default()
        }))
    }

    async fn get_functions(&self, _req: Request<pb::get_functions::Request>) -> Result<Response<pb::get_functions::Response>, Status> {
        tracing::debug!(parent: &span("GetFunctions", ""), "no functions");
        Ok(Response::new(pb::get_functions::Response { functions: Default::default(), diagnostics: vec![] }))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        let p = &self.provider;
        tracing::debug!(parent: &span("GetResourceIdentitySchemas", ""), "serving identity schemas");
        let identity_schemas = p
            .resource_schemas()
            .keys()
            .filter_map(|k| p.resource(k).ok())
            .map(|(r, _)| (r.type_name().to_string(), r.identity_schema().to_proto()))
            .collect();
        Ok(Response::new(pb::get_resource_identity_schemas::Response { identity_schemas, diagnostics: vec![] }))
    }

    /// Version 0 is the only identity version so far: the stored JSON is
    /// read with the current identity schema and handed back as msgpack.
    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Result<Response<pb::upgrade_resource_identity::Response>, Status> {
        let req = req.into_inner();
        let s = span("UpgradeResourceIdentity", &req.type_name);
        let _e = s.enter();
        let result = (|| {
            let (r, _) = self.provider.resource(&req.type_name)?;
            let schema = r.identity_schema();
            if req.version > schema.version {
                return Err(Diagnostic::error(
                    "Identity from a newer provider",
                    format!("The stored identity has version {}; this provider knows versions up to {}. Use the provider version that wrote it, or a newer one.", req.version, schema.version),
                ));
            }
            let raw = req.raw_identity.unwrap_or_default();
            let v = Value::from_json(&raw.json, &schema.ty()).map_err(|e| Diagnostic::error("Could not read the stored identity", e.0))?;
            Ok(identity_data(&v, &schema.ty()))
        })();
        Ok(Response::new(match result {
            Ok(v) => pb::upgrade_resource_identity::Response { upgraded_identity: Some(v), diagnostics: vec![] },
            Err(d) => pb::upgrade_resource_identity::Response { upgraded_identity: None, diagnostics: vec![d.to_proto()] },
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
        Ok(Response::new(lifecycle::read_resource(self.provider.clone(), req.into_inner()).await))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        Ok(Response::new(lifecycle::plan_resource_change(self.provider.clone(), req.into_inner()).await))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        Ok(Response::new(lifecycle::apply_resource_change(self.provider.clone(), req.into_inner()).await))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        Ok(Response::new(lifecycle::import_resource_state(self.provider.clone(), req.into_inner()).await))
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
                    pb::read_data_source::Response { state: Some(encode(&state, &ty)), diagnostics: vec![], deferred: None }
                }
                Err(diags) => {
                    tracing::warn!(error = %diags.0.first().map(|d| d.summary.as_str()).unwrap_or(""), "data source read failed");
                    pb::read_data_source::Response { state: None, diagnostics: diags.to_proto(), deferred: None }
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

    // ---- methods of protocol 6.10 for features this provider does not have

    async fn move_resource_state(
        &self,
        _: Request<pb::move_resource_state::Request>,
    ) -> Result<Response<pb::move_resource_state::Response>, Status> {
        Err(not_served("MoveResourceState"))
    }

    async fn generate_resource_config(
        &self,
        _: Request<pb::generate_resource_config::Request>,
    ) -> Result<Response<pb::generate_resource_config::Response>, Status> {
        Err(not_served("GenerateResourceConfig"))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        _: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Result<Response<pb::validate_ephemeral_resource_config::Response>, Status> {
        Err(not_served("ValidateEphemeralResourceConfig"))
    }

    async fn open_ephemeral_resource(
        &self,
        _: Request<pb::open_ephemeral_resource::Request>,
    ) -> Result<Response<pb::open_ephemeral_resource::Response>, Status> {
        Err(not_served("OpenEphemeralResource"))
    }

    async fn renew_ephemeral_resource(
        &self,
        _: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Result<Response<pb::renew_ephemeral_resource::Response>, Status> {
        Err(not_served("RenewEphemeralResource"))
    }

    async fn close_ephemeral_resource(
        &self,
        _: Request<pb::close_ephemeral_resource::Request>,
    ) -> Result<Response<pb::close_ephemeral_resource::Response>, Status> {
        Err(not_served("CloseEphemeralResource"))
    }

    type ListResourceStream = lists::Events;

    async fn list_resource(&self, req: Request<pb::list_resource::Request>) -> Result<Response<Self::ListResourceStream>, Status> {
        Ok(Response::new(lists::list(self.provider.clone(), req.into_inner())))
    }

    async fn validate_list_resource_config(
        &self,
        req: Request<pb::validate_list_resource_config::Request>,
    ) -> Result<Response<pb::validate_list_resource_config::Response>, Status> {
        Ok(Response::new(lists::validate(&self.provider, req.into_inner())))
    }

    async fn call_function(&self, _: Request<pb::call_function::Request>) -> Result<Response<pb::call_function::Response>, Status> {
        Err(not_served("CallFunction"))
    }

    async fn validate_state_store_config(
        &self,
        _: Request<pb::validate_state_store::Request>,
    ) -> Result<Response<pb::validate_state_store::Response>, Status> {
        Err(not_served("ValidateStateStoreConfig"))
    }

    async fn configure_state_store(
        &self,
        _: Request<pb::configure_state_store::Request>,
    ) -> Result<Response<pb::configure_state_store::Response>, Status> {
        Err(not_served("ConfigureStateStore"))
    }

    type ReadStateBytesStream = futures::stream::Empty<Result<pb::read_state_bytes::Response, Status>>;

    async fn read_state_bytes(&self, _: Request<pb::read_state_bytes::Request>) -> Result<Response<Self::ReadStateBytesStream>, Status> {
        Err(not_served("ReadStateBytes"))
    }

    async fn write_state_bytes(
        &self,
        _: Request<tonic::Streaming<pb::write_state_bytes::RequestChunk>>,
    ) -> Result<Response<pb::write_state_bytes::Response>, Status> {
        Err(not_served("WriteStateBytes"))
    }

    async fn lock_state(&self, _: Request<pb::lock_state::Request>) -> Result<Response<pb::lock_state::Response>, Status> {
        Err(not_served("LockState"))
    }

    async fn unlock_state(&self, _: Request<pb::unlock_state::Request>) -> Result<Response<pb::unlock_state::Response>, Status> {
        Err(not_served("UnlockState"))
    }

    async fn get_states(&self, _: Request<pb::get_states::Request>) -> Result<Response<pb::get_states::Response>, Status> {
        Err(not_served("GetStates"))
    }

    async fn delete_state(&self, _: Request<pb::delete_state::Request>) -> Result<Response<pb::delete_state::Response>, Status> {
        Err(not_served("DeleteState"))
    }

    async fn plan_action(&self, req: Request<pb::plan_action::Request>) -> Result<Response<pb::plan_action::Response>, Status> {
        Ok(Response::new(actions::plan(self.provider.clone(), req.into_inner()).await))
    }

    type InvokeActionStream = actions::Events;

    async fn invoke_action(&self, req: Request<pb::invoke_action::Request>) -> Result<Response<Self::InvokeActionStream>, Status> {
        Ok(Response::new(actions::invoke(self.provider.clone(), req.into_inner())))
    }

    async fn validate_action_config(
        &self,
        req: Request<pb::validate_action_config::Request>,
    ) -> Result<Response<pb::validate_action_config::Response>, Status> {
        Ok(Response::new(actions::validate(&self.provider, req.into_inner())))
    }
}
