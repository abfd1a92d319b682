//! The provider: its configuration schema, configure, and the registry of
//! resources and data sources that the protocol layer dispatches to.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};

use tokio_util::sync::CancellationToken;

use crate::actions::{self, Action};
use crate::aws::{Aws, ProviderConfig, SERVICES};
use crate::ctx::Ctx;
use crate::data_sources::{self, DataSource};
use crate::diag::{Diagnostic, Diagnostics};
use crate::parts::caller::{self, CheckContext};
use crate::resources::{self, listing, Resource};
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};
use crate::value::Value;

pub struct Provider {
    schema: Schema,
    data_sources: BTreeMap<&'static str, Arc<dyn DataSource>>,
    data_source_schemas: BTreeMap<&'static str, Schema>,
    resources: BTreeMap<&'static str, Arc<dyn Resource>>,
    resource_schemas: BTreeMap<&'static str, Schema>,
    actions: BTreeMap<&'static str, Arc<dyn Action>>,
    action_schemas: BTreeMap<&'static str, Schema>,
    aws: RwLock<Option<Arc<Aws>>>,
    stop: Mutex<CancellationToken>,
}

impl Default for Provider {
    fn default() -> Self {
        Self::new()
    }
}

impl Provider {
    pub fn new() -> Provider {
        let mut data_sources: BTreeMap<&'static str, Arc<dyn DataSource>> = BTreeMap::new();
        for ds in data_sources::all() {
            data_sources.insert(ds.type_name(), ds);
        }
        let data_source_schemas = data_sources.iter().map(|(k, d)| (*k, d.schema())).collect();
        let resources: BTreeMap<&'static str, Arc<dyn Resource>> = resources::all().into_iter().map(|r| (r.type_name(), r)).collect();
        let resource_schemas = resources.iter().map(|(k, r)| (*k, r.schema())).collect();
        let actions: BTreeMap<&'static str, Arc<dyn Action>> = actions::all().into_iter().map(|a| (a.type_name(), a)).collect();
        let action_schemas = actions.iter().map(|(k, a)| (*k, a.schema())).collect();
        Provider {
            schema: provider_schema(),
            data_sources,
            data_source_schemas,
            resources,
            resource_schemas,
            actions,
            action_schemas,
            aws: RwLock::new(None),
            stop: Mutex::new(CancellationToken::new()),
        }
    }

    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    pub fn data_source_schemas(&self) -> &BTreeMap<&'static str, Schema> {
        &self.data_source_schemas
    }

    pub fn data_source(&self, type_name: &str) -> Result<&Arc<dyn DataSource>, Diagnostic> {
        self.data_sources.get(type_name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown data source",
                format!(
                    "This provider has no data source {type_name:?}; it has: {}.",
                    self.data_sources.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    pub fn resource_schemas(&self) -> &BTreeMap<&'static str, Schema> {
        &self.resource_schemas
    }

    /// The resource and its schema.
    pub fn resource(&self, type_name: &str) -> Result<(&Arc<dyn Resource>, &Schema), Diagnostic> {
        match (self.resources.get(type_name), self.resource_schemas.get(type_name)) {
            (Some(r), Some(s)) => Ok((r, s)),
            _ => Err(Diagnostic::error(
                "Unknown resource type",
                format!(
                    "This provider has no resource {type_name:?}; it has: {}.",
                    self.resources.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    pub fn action_schemas(&self) -> &BTreeMap<&'static str, Schema> {
        &self.action_schemas
    }

    /// The action and its schema.
    pub fn action(&self, type_name: &str) -> Result<(&Arc<dyn Action>, &Schema), Diagnostic> {
        match (self.actions.get(type_name), self.action_schemas.get(type_name)) {
            (Some(a), Some(s)) => Ok((a, s)),
            _ => Err(Diagnostic::error(
                "Unknown action",
                format!(
                    "This provider has no action {type_name:?}; it has: {}.",
                    self.actions.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }

    /// The list resources (`terraform query`): one per composite, each
    /// with the same `config` block.
    pub fn list_schemas(&self) -> BTreeMap<&'static str, Schema> {
        self.resources.keys().map(|k| (*k, listing::schema())).collect()
    }

    pub fn validate_config(&self, config: &Value) -> Diagnostics {
        ProviderConfig::validate(config)
    }

    pub async fn configure(&self, config: &Value) -> Diagnostics {
        let cfg = match ProviderConfig::from_value(config) {
            Ok(c) => c,
            Err(d) => return d,
        };
        tracing::debug!(config = ?cfg, "configuring AWS clients");
        let aws = match Aws::connect(&cfg).await {
            Ok(aws) => aws,
            Err(d) => return d.into(),
        };
        // The credentials are checked once, here, as the hashicorp/aws
        // provider does: a missing or refused credential is told on the
        // provider block, before any resource call fails for it.
        if !cfg.skip_credentials_validation {
            let check = CheckContext {
                profile: cfg.profile.clone(),
                static_keys: cfg.access_key.is_some(),
                credentials: aws.credentials.clone(),
                sts_endpoint: cfg.endpoints.get("sts").cloned(),
            };
            match caller::check_credentials(&aws.sts, &check).await {
                Ok(who) => tracing::debug!(
                    account = who.account.as_deref().unwrap_or(""),
                    arn = who.arn.as_deref().unwrap_or(""),
                    "credentials checked"
                ),
                Err(d) => return d.into(),
            }
        }
        tracing::info!(region = %aws.region, endpoints = ?cfg.endpoints.keys().collect::<Vec<_>>(), "AWS clients ready");
        *self.aws.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(aws));
        Diagnostics::default()
    }

    /// The context for a call that needs AWS; an error if Terraform has not
    /// configured the provider (which it always does before such calls).
    pub fn ctx(&self) -> Result<Ctx, Diagnostic> {
        let aws = self
            .aws
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Diagnostic::error("Provider not configured", "ConfigureProvider must succeed before this call."))?;
        let cancel = self.stop.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(Ctx { aws, cancel })
    }

    /// StopProvider: cancel every call in flight, and keep serving new
    /// calls with a fresh token (Terraform may still ask to read or
    /// save state after an interrupt).
    pub fn stop(&self) {
        let mut tok = self.stop.lock().unwrap_or_else(|e| e.into_inner());
        tok.cancel();
        *tok = CancellationToken::new();
    }
}

fn provider_schema() -> Schema {
    let mut endpoints = Block::new(
        "Override the API endpoint of a service, e.g. to use an emulator such as moto or LocalStack. Leave unset against real AWS.",
    );
    for svc in SERVICES {
        endpoints = endpoints.attr(attr(svc, Type::String, Mode::Optional, "Endpoint URL (http:// or https://) for this service."));
    }
    Schema::new(
        Block::new("Private Lambda pipelines and VPC endpoint bundles on AWS, with no NAT.")
            .attr(attr(
                "region",
                Type::String,
                Mode::Optional,
                "AWS region, e.g. `eu-west-1`. Defaults to the region of the AWS credential chain (AWS_REGION, profile).",
            ))
            .attr(attr(
                "profile",
                Type::String,
                Mode::Optional,
                "Named profile of the shared AWS config and credentials files (SSO and web identity profiles work).",
            ))
            .attr(
                attr(
                    "access_key",
                    Type::String,
                    Mode::Optional,
                    "Static access key id. Prefer the credential chain (environment, profile, SSO, instance role).",
                )
                .sensitive(),
            )
            .attr(attr("secret_key", Type::String, Mode::Optional, "Static secret access key, with `access_key`.").sensitive())
            .attr(attr("token", Type::String, Mode::Optional, "Session token for temporary static credentials.").sensitive())
            .attr(attr(
                "max_retries",
                Type::Number,
                Mode::Optional,
                "How many times a throttled or failed AWS call is retried with backoff (0-100, default 10). A host name that does not resolve, a refused connection or a failed TLS handshake is not retried.",
            ))
            .attr(attr(
                "skip_credentials_validation",
                Type::Bool,
                Mode::Optional,
                "Skip the credentials check (one STS GetCallerIdentity) when the provider is configured, e.g. for an emulator without STS. Default false.",
            ))
            .block(
                "assume_role",
                Nesting::Single,
                Block::new("Assume this IAM role with the credentials found, and make every call as that role.")
                    .attr(attr("role_arn", Type::String, Mode::Required, "ARN of the role to assume."))
                    .attr(attr(
                        "session_name",
                        Type::String,
                        Mode::Optional,
                        "Session name shown in CloudTrail (default `terraform-provider-privatelink`).",
                    ))
                    .attr(attr("external_id", Type::String, Mode::Optional, "External id the role's trust policy requires.")),
            )
            .block("endpoints", Nesting::Single, endpoints)
            .block(
                "default_tags",
                Nesting::Single,
                Block::new("Tags applied to every AWS object the provider creates; resource `tags` win on conflict.").attr(attr(
                    "tags",
                    Type::map(Type::String),
                    Mode::Optional,
                    "Tag keys and values.",
                )),
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::protocol_errors;

    /// Every schema the provider serves passes the checks Terraform runs
    /// when it loads a provider (Terraform 1.0.3 ran none; every release
    /// users run today refuses the provider on the first failure).
    #[test]
    fn the_provider_block_model_names_the_schemas_attributes() {
        use crate::aws::{AssumeRoleBlock, DefaultTagsBlock, EndpointsBlock, ProviderBlock};
        use crate::model::attribute_mismatch;
        let s = provider_schema();
        let nested = |name: &str| &s.block.nested(name).unwrap().block;
        let mismatches = [
            attribute_mismatch::<ProviderBlock>(&s.block),
            attribute_mismatch::<AssumeRoleBlock>(nested("assume_role")),
            attribute_mismatch::<EndpointsBlock>(nested("endpoints")),
            attribute_mismatch::<DefaultTagsBlock>(nested("default_tags")),
        ];
        assert!(mismatches.iter().all(Vec::is_empty), "{mismatches:?}");
    }

    #[test]
    fn every_served_schema_is_valid_for_terraform() {
        let p = Provider::new();
        let mut errors = Vec::new();
        let mut check =
            |what: String, s: &Schema| errors.extend(protocol_errors(&s.to_proto()).into_iter().map(|e| format!("{what}: {e}")));
        check("provider".into(), p.schema());
        for (name, s) in p.resource_schemas() {
            check(format!("resource {name}"), s);
        }
        for (name, s) in p.data_source_schemas() {
            check(format!("data source {name}"), s);
        }
        for (name, s) in p.action_schemas() {
            check(format!("action {name}"), s);
        }
        for (name, s) in &p.list_schemas() {
            check(format!("list resource {name}"), s);
        }
        assert!(errors.is_empty(), "schemas Terraform would refuse:\n{}", errors.join("\n"));
    }
}
