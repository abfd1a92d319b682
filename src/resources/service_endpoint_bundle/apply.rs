//! Apply: the security group, then the endpoints along the part graph; destroy runs it backwards.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- apply

/// What exists, as apply learns it; each finished step writes here so a
/// failure still returns everything that was made.
#[derive(Default)]
pub(super) struct Record {
    pub(super) group_id: Option<String>,
    pub(super) group: Option<sg::Group>,
    pub(super) endpoints: BTreeMap<Key, Endpoint>,
    /// Ids created whose endpoint could not be observed yet.
    pub(super) pending: BTreeMap<Key, String>,
}

/// Recorded parts from a state value.
pub(super) fn recorded(state: &Value, region: &str) -> (Option<String>, BTreeMap<Key, String>) {
    let group = state.get("security_group_id").as_str().map(str::to_string);
    let eps = state
        .get("endpoint")
        .elements()
        .iter()
        .filter_map(|b| {
            let id = b.get("id").as_str()?;
            Some(((full_service_name(b.get("service").as_str().unwrap_or(""), region), kind_of(b)), id.to_string()))
        })
        .collect();
    (group, eps)
}

// ---------------------------------------------------------------- the step graph

/// The bundle's parts, as apply and destroy name their steps.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Part {
    Group,
    Endpoint(Key),
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Group => f.write_str(GROUP_PART),
            Part::Endpoint(key) => f.write_str(&part_name(key)),
        }
    }
}

impl Part {
    /// The AWS object behind the part, for diagnostics: `known` is its id
    /// (or the group's name) when known.
    pub(super) fn object(&self, known: Option<&str>) -> String {
        let what = match self {
            Part::Group => "security group".to_string(),
            Part::Endpoint((service, kind)) => format!("{} endpoint for {}", kind.as_str(), short_service_name(service)),
        };
        match (self, known) {
            (Part::Group, Some(name)) => format!("{what} {name}"),
            (Part::Endpoint(_), Some(id)) => format!("{what} ({id})"),
            (_, None) => what,
        }
    }
}

/// A step of apply or destroy: bring a part to the configuration, or remove it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Op {
    Ensure(Part),
    Remove(Part),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Ensure(p) => write!(f, "{p}"),
            Op::Remove(p) => write!(f, "remove {p}"),
        }
    }
}

/// What a run does: the group and endpoints brought to the configuration,
/// the endpoints and the group removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub(super) ensure_group: bool,
    pub(super) ensure: Vec<Key>,
    pub(super) remove: Vec<Key>,
    pub(super) remove_group: bool,
}

impl Shape {
    /// Apply: the configuration's endpoints (`needs_group`: an Interface one
    /// among them) from the prior state's.
    pub(super) fn apply(needs_group: bool, wanted: &[Key], prior: &[Key], prior_group: bool) -> Shape {
        Shape {
            ensure_group: needs_group,
            ensure: wanted.to_vec(),
            remove: prior.iter().filter(|k| !wanted.contains(k)).cloned().collect(),
            remove_group: !needs_group && prior_group,
        }
    }

    /// Destroy: everything the state recorded.
    pub(super) fn destroy(prior: &[Key], group: bool) -> Shape {
        Shape { ensure_group: false, ensure: vec![], remove: prior.to_vec(), remove_group: group }
    }
}

/// The steps of a run: Interface endpoints after the group (Gateway ones
/// use none); the group removed after the endpoints removed.
pub(super) fn graph(shape: &Shape) -> Graph<Op> {
    let mut g = Vec::new();
    if shape.ensure_group {
        g.push((Op::Ensure(Part::Group), vec![]));
    }
    for key in &shape.ensure {
        let after = if key.1 == Kind::Interface { vec![Dep::On(Op::Ensure(Part::Group))] } else { vec![] };
        g.push((Op::Ensure(Part::Endpoint(key.clone())), after));
    }
    for key in &shape.remove {
        g.push((Op::Remove(Part::Endpoint(key.clone())), vec![]));
    }
    if shape.remove_group {
        let after = shape.remove.iter().map(|key| Dep::On(Op::Remove(Part::Endpoint(key.clone())))).collect();
        g.push((Op::Remove(Part::Group), after));
    }
    g
}

pub(super) async fn reconcile(ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
    let ec2 = &ctx.aws.ec2;
    let region = ctx.aws.region.clone();
    let desired = Desired::from_planned(planned, &region);
    let timeout = if prior.is_null() { desired.timeouts.create } else { desired.timeouts.update };
    let (prior_group, prior_eps) = recorded(prior, &region);

    // Observe what the prior state recorded: the group and the endpoints,
    // read together.
    let record = Mutex::new(Record::default());
    let prior_ids: Vec<String> = prior_eps.values().cloned().collect();
    let observed = observe(ec2, prior_group.as_deref(), &prior_ids, "read the bundle");
    match ctx.run("reading the bundle's parts", observed).await {
        Ok((group, eps)) => {
            let mut r = record.lock().unwrap();
            r.group_id = group.as_ref().map(|g| g.id.clone());
            r.group = group;
            for (key, id) in &prior_eps {
                if let Some(e) = eps.iter().find(|e| &e.id == id && !e.is_gone()) {
                    r.endpoints.insert(key.clone(), e.clone());
                }
            }
        }
        Err(e) => return (prior.clone(), e.into()),
    }

    let wanted: BTreeMap<&Key, &DesiredEndpoint> = desired.endpoints.iter().map(|e| (&e.key, e)).collect();
    let wanted_keys: Vec<Key> = desired.endpoints.iter().map(|e| e.key.clone()).collect();
    let prior_keys: Vec<Key> = prior_eps.keys().cloned().collect();
    let shape = Shape::apply(desired.needs_group(), &wanted_keys, &prior_keys, prior_group.is_some());
    let group_name = desired.group_spec().name;
    let steps = graph(&shape)
        .into_iter()
        .map(|(op, after)| {
            let (run, object) = match &op {
                Op::Ensure(p @ Part::Group) => (ensure_group(ctx, &desired, &record).boxed(), p.object(Some(&group_name))),
                Op::Ensure(p @ Part::Endpoint(key)) => match wanted.get(key) {
                    Some(e) => {
                        (ensure_endpoint(ctx, &desired, e, &record, timeout).boxed(), p.object(prior_eps.get(key).map(String::as_str)))
                    }
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Endpoint(key)) => match prior_eps.get(key) {
                    Some(id) => (remove_endpoint(ctx, key.clone(), id.clone(), &record, timeout).boxed(), p.object(Some(id))),
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Group) => (remove_group(ctx, &record, timeout).boxed(), p.object(prior_group.as_deref())),
            };
            Step::new(op, object, after, run)
        })
        .collect();
    let outcome = ctx.run("applying the bundle", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await;
    let diags: Diagnostics = match outcome {
        Ok(o) => Diagnostics(o.errors()),
        Err(stopped) => stopped.into(),
    };
    let record = record.into_inner().unwrap_or_else(|e| e.into_inner());
    (state_after(planned, &desired, &record), diags)
}

pub(super) async fn ensure_group(ctx: &Ctx, desired: &Desired, record: &Mutex<Record>) -> Result<(), Diagnostic> {
    let known = record.lock().unwrap().group.clone();
    let group = sg::ensure(&ctx.aws.ec2, &desired.group_spec(), known, |id| record.lock().unwrap().group_id = Some(id.to_string())).await?;
    let mut r = record.lock().unwrap();
    r.group_id = Some(group.id.clone());
    r.group = Some(group);
    Ok(())
}

pub(super) async fn ensure_endpoint(
    ctx: &Ctx,
    desired: &Desired,
    e: &DesiredEndpoint,
    record: &Mutex<Record>,
    timeout: std::time::Duration,
) -> Result<(), Diagnostic> {
    let group_id = record.lock().unwrap().group_id.clone();
    let spec = desired.endpoint_spec(
        e,
        group_id.as_deref(),
        crate::resources::client_token(&desired.id, &format!("{}/{}", e.key.0, e.key.1.as_str())),
    );
    let known = record.lock().unwrap().endpoints.get(&e.key).cloned();
    let on_created = |id: &str| {
        record.lock().unwrap().pending.insert(e.key.clone(), id.to_string());
    };
    let ep = vpce::ensure(&ctx.aws.ec2, &spec, known, desired.adopt_existing, timeout, on_created).await?;
    let ep = with_prefix_lists(ctx, vec![ep]).await?.remove(0);
    let mut r = record.lock().unwrap();
    r.pending.remove(&e.key);
    r.endpoints.insert(e.key.clone(), ep);
    Ok(())
}

pub(super) async fn remove_endpoint(
    ctx: &Ctx,
    key: Key,
    id: String,
    record: &Mutex<Record>,
    timeout: std::time::Duration,
) -> Result<(), Diagnostic> {
    vpce::delete(&ctx.aws.ec2, std::slice::from_ref(&id), timeout).await?;
    tracing::info!(endpoint = %id, "endpoint deleted");
    record.lock().unwrap().endpoints.remove(&key);
    Ok(())
}

pub(super) async fn remove_group(ctx: &Ctx, record: &Mutex<Record>, timeout: std::time::Duration) -> Result<(), Diagnostic> {
    let id = record.lock().unwrap().group_id.clone();
    if let Some(id) = id {
        sg::delete(&ctx.aws.ec2, &id, timeout).await?;
        tracing::info!(group = %id, "security group deleted");
    }
    let mut r = record.lock().unwrap();
    r.group_id = None;
    r.group = None;
    Ok(())
}

/// The state after apply: the plan, with every computed value filled from
/// what was observed, and the ids of whatever exists even if a step failed.
pub(super) fn state_after(planned: &Value, desired: &Desired, record: &Record) -> Value {
    let mut state = planned.clone();
    let Value::Object(fields) = &mut state else { return state };
    fields.insert("id".into(), Value::string(desired.id.clone()));
    fields.insert("security_group_id".into(), Value::opt_string(record.group_id.clone()));
    fields.insert("unexpected_rules".into(), Value::List(vec![]));
    if let Some(Value::List(blocks)) = fields.get_mut("endpoint") {
        for (b, e) in blocks.iter_mut().zip(&desired.endpoints) {
            let Value::Object(bf) = b else { continue };
            match record.endpoints.get(&e.key) {
                Some(ep) => fill_observed(bf, ep),
                None => {
                    // Not (yet) available: keep a created id so it is not lost.
                    let id = record.pending.get(&e.key).cloned();
                    let made = id.is_some();
                    bf.insert("id".into(), Value::opt_string(id));
                    for a in ["state", "dns_names", "network_interface_ids", "prefix_list_id", "security_group_ids"] {
                        if bf.get(a).is_some_and(Value::is_unknown) || !made {
                            bf.insert(a.into(), Value::Null);
                        }
                    }
                    if made {
                        bf.insert("state".into(), Value::string("pending"));
                    }
                }
            }
        }
    }
    state
}

/// Gateway endpoints get their service's prefix list, which AWS reports
/// only through DescribePrefixLists (one call for all of them).
pub(super) async fn with_prefix_lists(ctx: &Ctx, mut eps: Vec<Endpoint>) -> Result<Vec<Endpoint>, Diagnostic> {
    let names: BTreeSet<String> =
        eps.iter().filter(|e| e.kind == Kind::Gateway && e.prefix_list_id.is_none()).map(|e| e.service_name.clone()).collect();
    if names.is_empty() {
        return Ok(eps);
    }
    let lists = vpc::prefix_lists(&ctx.aws.ec2, &names.into_iter().collect::<Vec<_>>()).await?;
    for e in eps.iter_mut().filter(|e| e.kind == Kind::Gateway && e.prefix_list_id.is_none()) {
        e.prefix_list_id = lists.iter().find(|(n, _)| *n == e.service_name).map(|(_, id)| id.clone());
    }
    Ok(eps)
}

/// The computed attributes of one endpoint block from the endpoint seen.
pub(super) fn fill_observed(bf: &mut BTreeMap<String, Value>, ep: &Endpoint) {
    let interface = ep.kind == Kind::Interface;
    bf.insert("id".into(), Value::string(ep.id.clone()));
    bf.insert("service_name".into(), Value::string(ep.service_name.clone()));
    bf.insert("state".into(), Value::string(ep.state.clone()));
    bf.insert("dns_names".into(), Value::List(ep.dns_names.iter().map(|n| Value::string(n.clone())).collect()));
    bf.insert("network_interface_ids".into(), Value::string_set(&sorted(&ep.network_interface_ids)));
    bf.insert("prefix_list_id".into(), if interface { Value::Null } else { Value::opt_string(ep.prefix_list_id.clone()) });
    bf.insert("security_group_ids".into(), if interface { Value::string_set(&sorted(&ep.security_group_ids)) } else { Value::Null });
}

pub(super) fn sorted(v: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = v.iter().cloned().collect();
    s.into_iter().collect()
}

pub(super) async fn destroy(ctx: &Ctx, prior: &Value) -> (Value, Diagnostics) {
    let region = ctx.aws.region.clone();
    let (group, eps) = recorded(prior, &region);
    let timeout = Timeouts::from_value(prior.get("timeouts")).delete;
    let record = Mutex::new(Record { group_id: group.clone(), ..Default::default() });
    let shape = Shape::destroy(&eps.keys().cloned().collect::<Vec<_>>(), group.is_some());
    let steps = graph(&shape)
        .into_iter()
        .map(|(op, after)| {
            let (run, object) = match &op {
                Op::Remove(p @ Part::Endpoint(key)) => match eps.get(key) {
                    Some(id) => (remove_endpoint(ctx, key.clone(), id.clone(), &record, timeout).boxed(), p.object(Some(id))),
                    None => (engine::no_work_for(op.clone()), p.object(None)),
                },
                Op::Remove(p @ Part::Group) => (remove_group(ctx, &record, timeout).boxed(), p.object(group.as_deref())),
                Op::Ensure(p) => (engine::no_work_for(op.clone()), p.object(None)),
            };
            Step::new(op, object, after, run)
        })
        .collect();
    let outcome = ctx.run("destroying the bundle", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await;
    let (done, diags) = match outcome {
        Ok(o) => (o.done.clone(), Diagnostics(o.errors())),
        Err(stopped) => (vec![], stopped.into()),
    };
    if !diags.has_errors() {
        return (Value::Null, diags);
    }
    // Keep what is still there, so the next destroy finishes the job.
    let mut state = prior.clone();
    if let Value::Object(fields) = &mut state {
        if done.contains(&Op::Remove(Part::Group)) {
            fields.insert("security_group_id".into(), Value::Null);
        }
        if let Some(Value::List(blocks)) = fields.get_mut("endpoint") {
            for b in blocks.iter_mut() {
                let key = (full_service_name(b.get("service").as_str().unwrap_or(""), &region), kind_of(b));
                if done.contains(&Op::Remove(Part::Endpoint(key))) {
                    if let Value::Object(bf) = b {
                        bf.insert("id".into(), Value::Null);
                        bf.insert("state".into(), Value::string("deleted"));
                    }
                }
            }
        }
    }
    (state, diags)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(service: &str, kind: Kind) -> Key {
        (format!("com.amazonaws.us-east-1.{service}"), kind)
    }

    fn keys() -> Vec<Key> {
        vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway), key("s3", Kind::Interface), key("logs", Kind::Interface)]
    }

    /// Every subset of `keys()`.
    fn subsets() -> Vec<Vec<Key>> {
        (0..16).map(|m| keys().into_iter().enumerate().filter(|(i, _)| m & (1 << i) != 0).map(|(_, k)| k).collect()).collect()
    }

    fn needs_group(keys: &[Key]) -> bool {
        keys.iter().any(|k| k.1 == Kind::Interface)
    }

    fn edges(shape: &Shape) -> BTreeMap<String, Vec<String>> {
        let resolved = engine::check(&graph(shape)).unwrap_or_else(|e| panic!("{shape:?}: {e:?}"));
        let sorted = |deps: Vec<Op>| {
            let mut names: Vec<String> = deps.iter().map(ToString::to_string).collect();
            names.sort();
            names
        };
        resolved.into_iter().map(|(k, deps)| (k.to_string(), sorted(deps))).collect()
    }

    #[test]
    fn every_apply_and_destroy_graph_is_valid() {
        for wanted in subsets() {
            for prior in subsets() {
                for prior_group in [false, true] {
                    edges(&Shape::apply(needs_group(&wanted), &wanted, &prior, prior_group));
                }
            }
        }
        for prior in subsets() {
            for group in [false, true] {
                edges(&Shape::destroy(&prior, group));
            }
        }
    }

    #[test]
    fn interface_endpoints_come_after_the_group_gateways_do_not() {
        let wanted = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        let e = edges(&Shape::apply(true, &wanted, &[], false));
        assert_eq!(e["security-group"], Vec::<String>::new());
        assert_eq!(e["endpoint/sqs/interface"], ["security-group"]);
        assert_eq!(e["endpoint/s3/gateway"], Vec::<String>::new());
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn an_update_removes_what_is_no_longer_wanted_and_the_group_last() {
        let prior = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        // Keeping an Interface endpoint keeps the group.
        let e = edges(&Shape::apply(true, &prior[..1], &prior, true));
        assert_eq!(e.keys().collect::<Vec<_>>(), ["endpoint/sqs/interface", "remove endpoint/s3/gateway", "security-group"]);
        // Gateway only: the Interface endpoint goes, then the group.
        let e = edges(&Shape::apply(false, &prior[1..], &prior, true));
        assert_eq!(e.keys().collect::<Vec<_>>(), ["endpoint/s3/gateway", "remove endpoint/sqs/interface", "remove security-group"]);
        assert_eq!(e["remove security-group"], ["remove endpoint/sqs/interface"]);
    }

    #[test]
    fn destroy_removes_the_endpoints_then_the_group() {
        let prior = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        let e = edges(&Shape::destroy(&prior, true));
        assert_eq!(e["remove security-group"], ["remove endpoint/s3/gateway", "remove endpoint/sqs/interface"]);
        assert_eq!(e.len(), 3);
        let e = edges(&Shape::destroy(&prior, false));
        assert!(!e.contains_key("remove security-group"));
        assert!(edges(&Shape::destroy(&[], false)).is_empty());
    }

    #[test]
    fn objects_name_the_aws_object() {
        let sqs = Part::Endpoint(key("sqs", Kind::Interface));
        assert_eq!(sqs.object(None), "Interface endpoint for sqs");
        assert_eq!(sqs.object(Some("vpce-1")), "Interface endpoint for sqs (vpce-1)");
        assert_eq!(Part::Group.object(Some("orders-peb-1")), "security group orders-peb-1");
        assert_eq!(Op::Remove(sqs).to_string(), "remove endpoint/sqs/interface");
    }
}
