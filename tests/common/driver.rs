//! Drives a resource over gRPC the way Terraform does: validate, plan
//! (prior, proposed, config), apply (prior, planned), read, import. The
//! proposed state is the configuration itself, which is what Terraform
//! sends for every attribute the user sets.
//!
//! Every diagnostic an answer carries passes `for_people` on its way to the
//! test: a summary or detail showing Rust debug formatting (an SDK error
//! printed with `{:?}`) fails whichever test reached it, so every suite
//! that drives the provider checks every error path it reaches.

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

/// An identity as Terraform 1.12+ sends it; None sends none, as Terraform
/// before 1.12 (and 1.12+ before it has stored one) does.
fn identity_data(v: Option<&V>) -> Option<pb::ResourceIdentityData> {
    v.map(|v| pb::ResourceIdentityData { identity_data: dv(v) })
}

/// The identity in an answer; None when the provider sent none.
pub fn identity_of(d: Option<pb::ResourceIdentityData>) -> Option<V> {
    d.and_then(|d| d.identity_data).map(|d| state_of(Some(d)))
}

/// Rust debug formatting, which no diagnostic may show a person: what an
/// SDK error chain looks like printed with `{:?}` (`DispatchFailure(
/// DispatchFailure { source: ConnectorError { kind: Io, ...`).
pub const DEBUG_MARKS: [&str; 4] = ["{ source:", "DispatchFailure(", "Some(", "kind:"];

/// The first mark of Rust debug formatting in `text`, if any.
pub fn debug_mark(text: &str) -> Option<&'static str> {
    DEBUG_MARKS.iter().copied().find(|m| text.contains(m))
}

/// `diags`, after asserting that no summary or detail shows Rust debug
/// formatting.
pub fn for_people(diags: Vec<pb::Diagnostic>) -> Vec<pb::Diagnostic> {
    let shown: Vec<String> = diags
        .iter()
        .filter_map(|d| {
            let mark = debug_mark(&d.summary).or_else(|| debug_mark(&d.detail))?;
            Some(format!("{mark:?} in [{}] {}: {}", path_of(d), d.summary, d.detail))
        })
        .collect();
    assert!(shown.is_empty(), "a diagnostic shows Rust debug formatting, not words for a person:\n{}", shown.join("\n"));
    diags
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
    /// Configures the provider against moto (optionally with default
    /// tags), with `skip_credentials_validation = true`: the AWS calls a
    /// test counts at the proxy are its resource's, from the first one on.
    /// The credentials check itself is `first_contact`'s subject, and every
    /// Terraform CLI test makes it.
    pub async fn new(plugin: &super::plugin::Plugin, type_name: &str, moto_url: &str, default_tags: &[(&str, &str)]) -> Driver {
        let mut client = plugin.client().await;
        let tags = obj(default_tags.iter().map(|(k, v)| (*k, s(v))).collect());
        let config = obj(vec![
            ("region", s("us-east-1")),
            ("skip_credentials_validation", V::Boolean(true)),
            ("endpoints", endpoints(moto_url)),
            ("default_tags", obj(vec![("tags", tags)])),
        ]);
        let diagnostics = configure(&mut client, &config).await;
        assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
        Driver { client, type_name: type_name.into() }
    }

    /// Plan and apply `config` from `prior`, in place (no replacement),
    /// with no error: the new state.
    pub async fn plan_apply_in_place(&mut self, prior: &V, config: &V) -> V {
        let (planned, replace) = self.plan(prior, config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
        assert!(replace.is_empty(), "in place, not a replacement: {replace:?}");
        let (state, diags) = self.apply(prior, &planned).await;
        assert!(errors(&diags).is_empty(), "{}", show(&diags));
        state
    }

    /// Refresh, then the same configuration plans no change, in place: the
    /// refreshed state.
    pub async fn converged(&mut self, state: &V, config: &V) -> V {
        let refreshed = self.read(state).await;
        assert_eq!(canon(&refreshed), canon(state), "a refresh of what apply made changes nothing");
        let (again, replace) = self.plan(&refreshed, config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
        assert!(replace.is_empty(), "{replace:?}");
        assert_eq!(canon(&again), canon(&refreshed), "the same configuration plans no change");
        refreshed
    }

    pub async fn validate(&mut self, config: &V) -> Vec<pb::Diagnostic> {
        for_people(
            self.client
                .validate_resource_config(pb::validate_resource_config::Request {
                    type_name: self.type_name.clone(),
                    config: dv(config),
                    client_capabilities: None,
                })
                .await
                .unwrap()
                .into_inner()
                .diagnostics,
        )
    }

    /// (planned state, replace paths) or the plan's diagnostics.
    pub async fn plan(&mut self, prior: &V, config: &V) -> Result<(V, Vec<String>), Vec<pb::Diagnostic>> {
        self.plan_with_identity(prior, None, config).await.map(|p| (p.state, p.replace))
    }

    /// Plan as Terraform 1.12+ does, with the identity it stored for the
    /// prior state (if any); the answer's planned identity comes back too.
    pub async fn plan_with_identity(&mut self, prior: &V, prior_identity: Option<&V>, config: &V) -> Result<Plan, Vec<pb::Diagnostic>> {
        let diags = self.validate(config).await;
        if !errors(&diags).is_empty() {
            return Err(diags);
        }
        let r = self.plan_call(prior, prior_identity, config, config).await;
        if !errors(&r.diagnostics).is_empty() {
            return Err(r.diagnostics);
        }
        let replace =
            r.requires_replace.iter().map(|p| path_of(&pb::Diagnostic { attribute: Some(p.clone()), ..Default::default() })).collect();
        Ok(Plan { state: state_of(r.planned_state), replace, identity: identity_of(r.planned_identity), diagnostics: r.diagnostics })
    }

    /// The plan of a destroy, as Terraform (1.3+) asks for one from a
    /// provider declaring plan_destroy: proposed state and config null.
    pub async fn plan_destroy(&mut self, prior: &V, prior_identity: Option<&V>) -> Plan {
        let r = self.plan_call(prior, prior_identity, &V::Nil, &V::Nil).await;
        Plan { state: state_of(r.planned_state), replace: vec![], identity: identity_of(r.planned_identity), diagnostics: r.diagnostics }
    }

    async fn plan_call(&mut self, prior: &V, prior_identity: Option<&V>, proposed: &V, config: &V) -> pb::plan_resource_change::Response {
        let mut r = self
            .client
            .plan_resource_change(pb::plan_resource_change::Request {
                type_name: self.type_name.clone(),
                prior_state: dv(prior),
                proposed_new_state: dv(proposed),
                config: dv(config),
                prior_private: vec![],
                provider_meta: None,
                client_capabilities: None,
                prior_identity: identity_data(prior_identity),
            })
            .await
            .unwrap()
            .into_inner();
        r.diagnostics = for_people(r.diagnostics);
        r
    }

    pub async fn apply(&mut self, prior: &V, planned: &V) -> (V, Vec<pb::Diagnostic>) {
        self.try_apply(prior, planned).await.expect("ApplyResourceChange answered")
    }

    /// Apply, with the transport error if the provider went away mid-call.
    pub async fn try_apply(&mut self, prior: &V, planned: &V) -> Result<(V, Vec<pb::Diagnostic>), tonic::Status> {
        let r = self.apply_call(prior, planned, None).await?;
        Ok((state_of(r.new_state), r.diagnostics))
    }

    /// Apply as Terraform 1.12+ does, with the planned identity: (new
    /// state, new identity, diagnostics).
    pub async fn apply_with_identity(
        &mut self,
        prior: &V,
        planned: &V,
        planned_identity: Option<&V>,
    ) -> (V, Option<V>, Vec<pb::Diagnostic>) {
        let r = self.apply_call(prior, planned, planned_identity).await.expect("ApplyResourceChange answered");
        (state_of(r.new_state), identity_of(r.new_identity), r.diagnostics)
    }

    async fn apply_call(
        &mut self,
        prior: &V,
        planned: &V,
        planned_identity: Option<&V>,
    ) -> Result<pb::apply_resource_change::Response, tonic::Status> {
        let r = self
            .client
            .apply_resource_change(pb::apply_resource_change::Request {
                type_name: self.type_name.clone(),
                prior_state: dv(prior),
                planned_state: dv(planned),
                config: dv(planned),
                planned_private: vec![],
                provider_meta: None,
                planned_identity: identity_data(planned_identity),
            })
            .await?;
        let mut r = r.into_inner();
        r.diagnostics = for_people(r.diagnostics);
        Ok(r)
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
        self.read_with_identity(state, None).await.map(|(state, _)| state)
    }

    /// Read as Terraform 1.12+ does, with the identity it stored: (fresh
    /// state, new identity).
    pub async fn read_with_identity(&mut self, state: &V, identity: Option<&V>) -> Result<(V, Option<V>), Vec<pb::Diagnostic>> {
        let r = self
            .client
            .read_resource(pb::read_resource::Request {
                type_name: self.type_name.clone(),
                current_state: dv(state),
                private: vec![],
                provider_meta: None,
                client_capabilities: None,
                current_identity: identity_data(identity),
            })
            .await
            .unwrap()
            .into_inner();
        let r = pb::read_resource::Response { diagnostics: for_people(r.diagnostics), ..r };
        if errors(&r.diagnostics).is_empty() {
            Ok((state_of(r.new_state), identity_of(r.new_identity)))
        } else {
            Err(r.diagnostics)
        }
    }

    pub async fn read(&mut self, state: &V) -> V {
        self.try_read(state).await.unwrap_or_else(|d| panic!("read failed:\n{}", show(&d)))
    }

    pub async fn import(&mut self, id: &str) -> Result<V, Vec<pb::Diagnostic>> {
        self.import_call(id, None).await.map(|(state, _)| state)
    }

    /// `terraform import` / `import { id = ... }` as Terraform 1.12+ sees
    /// it: the state and the identity that comes with it.
    pub async fn import_with_identity(&mut self, id: &str) -> Result<(V, Option<V>), Vec<pb::Diagnostic>> {
        self.import_call(id, None).await
    }

    /// `import { identity = {...} }` (Terraform 1.12+): no id, an identity.
    pub async fn import_by_identity(&mut self, identity: &V) -> Result<(V, Option<V>), Vec<pb::Diagnostic>> {
        self.import_call("", Some(identity)).await
    }

    async fn import_call(&mut self, id: &str, identity: Option<&V>) -> Result<(V, Option<V>), Vec<pb::Diagnostic>> {
        let r = self
            .client
            .import_resource_state(pb::import_resource_state::Request {
                type_name: self.type_name.clone(),
                id: id.into(),
                client_capabilities: None,
                identity: identity_data(identity),
            })
            .await
            .unwrap()
            .into_inner();
        let r = pb::import_resource_state::Response { diagnostics: for_people(r.diagnostics), ..r };
        if !errors(&r.diagnostics).is_empty() {
            return Err(r.diagnostics);
        }
        let imported = r.imported_resources.into_iter().next().unwrap_or_default();
        Ok((state_of(imported.state), identity_of(imported.identity)))
    }
}

/// One event of a ListResource stream, decoded.
#[derive(Debug, Clone)]
pub struct ListEvent {
    pub identity: Option<V>,
    pub display_name: String,
    /// The resource object, when asked for and sent.
    pub object: Option<V>,
    pub diagnostics: Vec<pb::Diagnostic>,
}

/// A list block's `config` as Terraform 1.14+ sends it: every attribute,
/// null when the block leaves it out (Terraform sends such an object even
/// without a `config` block).
pub fn list_config(vpc_id: Option<&str>, name_prefix: Option<&str>) -> V {
    let or_nil = |v: Option<&str>| v.map(s).unwrap_or(V::Nil);
    obj(vec![("vpc_id", or_nil(vpc_id)), ("name_prefix", or_nil(name_prefix))])
}

/// ListResource (`terraform query`) of `type_name` with the list block's
/// `config`: every event of the stream, each event's diagnostics checked
/// by `for_people`. `limit` as Terraform sends it (its default is 100).
pub async fn list(
    client: &mut ProviderClient<Channel>,
    type_name: &str,
    config: &V,
    include_resource_object: bool,
    limit: i64,
) -> Vec<ListEvent> {
    let mut stream = client
        .list_resource(pb::list_resource::Request { type_name: type_name.into(), config: dv(config), include_resource_object, limit })
        .await
        .expect("ListResource answered")
        .into_inner();
    let mut events = Vec::new();
    while let Some(e) = stream.message().await.expect("ListResource's stream") {
        events.push(ListEvent {
            identity: identity_of(e.identity),
            display_name: e.display_name,
            object: e.resource_object.map(|o| state_of(Some(o))),
            diagnostics: for_people(e.diagnostic),
        });
    }
    events
}

/// ValidateListResourceConfig of `type_name` with `config`: its diagnostics.
pub async fn validate_list(client: &mut ProviderClient<Channel>, type_name: &str, config: &V) -> Vec<pb::Diagnostic> {
    let r = client
        .validate_list_resource_config(pb::validate_list_resource_config::Request {
            type_name: type_name.into(),
            config: dv(config),
            include_resource_object: None,
            limit: None,
        })
        .await
        .expect("ValidateListResourceConfig answered")
        .into_inner();
    for_people(r.diagnostics)
}

/// ConfigureProvider with `config` as Terraform sends it; its diagnostics,
/// checked by `for_people`.
pub async fn configure(client: &mut ProviderClient<Channel>, config: &V) -> Vec<pb::Diagnostic> {
    let r = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.0.3".into(),
            config: dv(config),
            client_capabilities: None,
        })
        .await
        .expect("ConfigureProvider answered")
        .into_inner();
    for_people(r.diagnostics)
}

/// A PlanResourceChange answer, decoded.
pub struct Plan {
    pub state: V,
    /// Replace paths written like HCL.
    pub replace: Vec<String>,
    pub identity: Option<V>,
    /// Warnings (errors make plan_with_identity an Err).
    pub diagnostics: Vec<pb::Diagnostic>,
}

pub fn warnings(diags: &[pb::Diagnostic]) -> Vec<&pb::Diagnostic> {
    diags.iter().filter(|d| d.severity == pb::diagnostic::Severity::Warning as i32).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostic(summary: &str, detail: &str) -> pb::Diagnostic {
        pb::Diagnostic { severity: pb::diagnostic::Severity::Error as i32, summary: summary.into(), detail: detail.into(), attribute: None }
    }

    #[test]
    fn words_for_people_pass() {
        let d = diagnostic(
            "network: ec2:DescribeSubnets failed",
            "ec2:DescribeSubnets could not reach ec2.us-east-1.amazonaws.com: its name did not resolve",
        );
        assert_eq!(for_people(vec![d.clone()]), vec![d]);
    }

    #[test]
    #[should_panic(expected = "Rust debug formatting")]
    fn an_sdk_error_printed_with_debug_fails_the_test() {
        for_people(vec![diagnostic(
            "network: ec2:DescribeSubnets failed",
            "dispatch failure (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io, source: hyper_util::client::legacy::Error(Connect, ...) } }))",
        )]);
    }
}
