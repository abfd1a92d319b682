//! Drives a resource over gRPC the way Terraform does: validate, plan
//! (prior, proposed, config), apply (prior, planned), read, import. The
//! proposed state is the configuration itself, which is what Terraform
//! sends for every attribute the user sets.

use rmpv::Value as V;
use tonic::transport::Channel;

use privatelink::proto::tfplugin6 as pb;
use privatelink::proto::tfplugin6::provider_client::ProviderClient;

use super::{decode_msgpack, endpoints, msgpack, obj, s};

pub struct Driver {
    pub client: ProviderClient<Channel>,
    pub type_name: String,
}

fn dv(v: &V) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: msgpack(v.clone()), json: vec![] })
}

fn state_of(d: Option<pb::DynamicValue>) -> V {
    d.map(|d| if d.msgpack.is_empty() { V::Nil } else { decode_msgpack(&d.msgpack) }).unwrap_or(V::Nil)
}

pub fn errors(diags: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diags.iter().filter(|d| d.severity == pb::diagnostic::Severity::Error as i32).collect()
}

/// A diagnostic's attribute path written like HCL: `endpoint[0].service`.
pub fn path_of(d: &pb::Diagnostic) -> String {
    use pb::attribute_path::step::Selector;
    let mut out = String::new();
    for step in d.attribute.as_ref().map(|a| a.steps.as_slice()).unwrap_or_default() {
        match &step.selector {
            Some(Selector::AttributeName(n)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(n)
            }
            Some(Selector::ElementKeyString(k)) => out.push_str(&format!("[{k:?}]")),
            Some(Selector::ElementKeyInt(i)) => out.push_str(&format!("[{i}]")),
            None => {}
        }
    }
    out
}

pub fn show(diags: &[pb::Diagnostic]) -> String {
    diags.iter().map(|d| format!("[{}] {}: {}", path_of(d), d.summary, d.detail)).collect::<Vec<_>>().join("\n")
}

impl Driver {
    /// Configures the provider against moto (optionally with default tags).
    pub async fn new(plugin: &super::plugin::Plugin, type_name: &str, moto_url: &str, default_tags: &[(&str, &str)]) -> Driver {
        let mut client = plugin.client().await;
        let tags = obj(default_tags.iter().map(|(k, v)| (*k, s(v))).collect());
        let config = obj(vec![
            ("region", s("us-east-1")),
            ("endpoints", endpoints(moto_url)),
            ("default_tags", obj(vec![("tags", tags)])),
        ]);
        let r = client
            .configure_provider(pb::configure_provider::Request { terraform_version: "1.0.3".into(), config: dv(&config), client_capabilities: None })
            .await
            .unwrap()
            .into_inner();
        assert!(errors(&r.diagnostics).is_empty(), "{}", show(&r.diagnostics));
        Driver { client, type_name: type_name.into() }
    }

    pub async fn validate(&mut self, config: &V) -> Vec<pb::Diagnostic> {
        self.client
            .validate_resource_config(pb::validate_resource_config::Request { type_name: self.type_name.clone(), config: dv(config) })
            .await
            .unwrap()
            .into_inner()
            .diagnostics
    }

    /// (planned state, replace paths) or the plan's diagnostics.
    pub async fn plan(&mut self, prior: &V, config: &V) -> Result<(V, Vec<String>), Vec<pb::Diagnostic>> {
        let diags = self.validate(config).await;
        if !errors(&diags).is_empty() {
            return Err(diags);
        }
        let r = self
            .client
            .plan_resource_change(pb::plan_resource_change::Request {
                type_name: self.type_name.clone(),
                prior_state: dv(prior),
                proposed_new_state: dv(config),
                config: dv(config),
                prior_private: vec![],
                provider_meta: None,
                client_capabilities: None,
            })
            .await
            .unwrap()
            .into_inner();
        if !errors(&r.diagnostics).is_empty() {
            return Err(r.diagnostics);
        }
        let replace = r
            .requires_replace
            .iter()
            .map(|p| path_of(&pb::Diagnostic { attribute: Some(p.clone()), ..Default::default() }))
            .collect();
        Ok((state_of(r.planned_state), replace))
    }

    pub async fn apply(&mut self, prior: &V, planned: &V) -> (V, Vec<pb::Diagnostic>) {
        self.try_apply(prior, planned).await.expect("ApplyResourceChange answered")
    }

    /// Apply, with the transport error if the provider went away mid-call.
    pub async fn try_apply(&mut self, prior: &V, planned: &V) -> Result<(V, Vec<pb::Diagnostic>), tonic::Status> {
        let r = self
            .client
            .apply_resource_change(pb::apply_resource_change::Request {
                type_name: self.type_name.clone(),
                prior_state: dv(prior),
                planned_state: dv(planned),
                config: dv(planned),
                planned_private: vec![],
                provider_meta: None,
            })
            .await?
            .into_inner();
        Ok((state_of(r.new_state), r.diagnostics))
    }

    /// Plan then apply; panics if either reports an error.
    pub async fn converge(&mut self, prior: &V, config: &V) -> V {
        let (planned, _) = self.plan(prior, config).await.unwrap_or_else(|d| panic!("plan failed:\n{}", show(&d)));
        let (state, diags) = self.apply(prior, &planned).await;
        assert!(errors(&diags).is_empty(), "apply failed:\n{}", show(&diags));
        state
    }

    pub async fn destroy(&mut self, state: &V) -> (V, Vec<pb::Diagnostic>) {
        self.apply(state, &V::Nil).await
    }

    /// Read, with the diagnostics instead of a panic (for runs under faults).
    pub async fn try_read(&mut self, state: &V) -> Result<V, Vec<pb::Diagnostic>> {
        let r = self
            .client
            .read_resource(pb::read_resource::Request {
                type_name: self.type_name.clone(),
                current_state: dv(state),
                private: vec![],
                provider_meta: None,
                client_capabilities: None,
            })
            .await
            .unwrap()
            .into_inner();
        if errors(&r.diagnostics).is_empty() {
            Ok(state_of(r.new_state))
        } else {
            Err(r.diagnostics)
        }
    }

    pub async fn read(&mut self, state: &V) -> V {
        self.try_read(state).await.unwrap_or_else(|d| panic!("read failed:\n{}", show(&d)))
    }

    pub async fn import(&mut self, id: &str) -> Result<V, Vec<pb::Diagnostic>> {
        let r = self
            .client
            .import_resource_state(pb::import_resource_state::Request {
                type_name: self.type_name.clone(),
                id: id.into(),
                client_capabilities: None,
            })
            .await
            .unwrap()
            .into_inner();
        if !errors(&r.diagnostics).is_empty() {
            return Err(r.diagnostics);
        }
        Ok(state_of(r.imported_resources.into_iter().next().and_then(|i| i.state)))
    }
}

/// Is this msgpack value cty's unknown (extension 0)?
pub fn is_unknown(v: &V) -> bool {
    matches!(v, V::Ext(0, _))
}

pub fn strs(v: &V) -> Vec<String> {
    let mut out: Vec<String> = v.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect()).unwrap_or_default();
    out.sort();
    out
}

/// A value with every array of strings sorted: sets compare as Terraform
/// compares them (the order is not part of a set's value).
pub fn canon(v: &V) -> V {
    match v {
        V::Array(items) if items.iter().all(|i| i.is_str()) => {
            let mut items = items.clone();
            items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            V::Array(items)
        }
        V::Array(items) => V::Array(items.iter().map(canon).collect()),
        V::Map(entries) => V::Map(entries.iter().map(|(k, v)| (k.clone(), canon(v))).collect()),
        other => other.clone(),
    }
}
