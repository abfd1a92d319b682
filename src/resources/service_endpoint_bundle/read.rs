//! Refresh: the group and every endpoint as AWS has them now, so the plan shows what changed behind Terraform's back.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- read

/// The bundle's group (if it has one) and its endpoints as they are now:
/// independent reads, sent together.
pub(super) async fn observe(
    ec2: &aws_sdk_ec2::Client,
    group_id: Option<&str>,
    endpoint_ids: &[String],
    phase: &str,
) -> Result<(Option<Group>, Vec<Endpoint>), Diagnostic> {
    use crate::calls::with_count as n;
    let group = async {
        match group_id {
            Some(g) => sg::find(ec2, g).await,
            None => Ok(None),
        }
    };
    let ((group, c1), (endpoints, c2)) = tokio::try_join!(n(group), n(vpce::find_many(ec2, endpoint_ids)))?;
    crate::calls::log_concurrent_reads(phase, &[c1, c2]);
    Ok((group, endpoints))
}

pub(super) async fn read_state(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let region = ctx.aws.region.clone();
    let (group_id, eps) = recorded(state, &region);
    let ids: Vec<String> = eps.values().cloned().collect();
    let (group, found) = observe(ec2, group_id.as_deref(), &ids, "refresh the bundle").await?;
    let found = with_prefix_lists(ctx, found.into_iter().filter(|e| !e.is_gone()).collect()).await?;
    let live: BTreeMap<&String, &Endpoint> = found.iter().filter(|e| !e.is_gone()).map(|e| (&e.id, e)).collect();
    if group.is_none() && eps.values().all(|id| !live.contains_key(id)) {
        return Ok(Value::Null);
    }
    let mut out = state.clone();
    let Value::Object(fields) = &mut out else { return Ok(out) };
    match &group {
        Some(g) => {
            let (groups, cidrs, unexpected) = classify_rules(&g.rules);
            fields.insert("allowed_security_group_ids".into(), observed_set(state.get("allowed_security_group_ids"), &groups));
            fields.insert("allowed_cidr_blocks".into(), observed_set(state.get("allowed_cidr_blocks"), &cidrs));
            fields.insert("unexpected_rules".into(), Value::List(unexpected.into_iter().map(Value::string).collect()));
            fields.insert("tags_all".into(), Value::from_string_map(&tags::without_ownership(&g.tags)));
        }
        None => {
            fields.insert("security_group_id".into(), Value::Null);
        }
    }
    if let Some(Value::List(blocks)) = fields.get_mut("endpoint") {
        for b in blocks.iter_mut() {
            let Value::Object(bf) = b else { continue };
            let ep = bf.get("id").and_then(Value::as_str).and_then(|id| live.get(&id.to_string()).copied());
            match ep {
                Some(ep) => refresh_endpoint(bf, ep),
                None => {
                    // Deleted behind Terraform's back: the plan shows it re-created.
                    bf.insert("id".into(), Value::Null);
                    bf.insert("state".into(), Value::string("deleted"));
                }
            }
        }
    }
    if group.is_none() {
        if let Some(ep) = live.values().next() {
            fields.insert("tags_all".into(), Value::from_string_map(&tags::without_ownership(&ep.tags)));
        }
    }
    Ok(out)
}

/// Allowed client groups, allowed CIDRs, and every other rule (described).
pub(super) fn classify_rules(rules: &[Rule]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut groups, mut cidrs, mut other) = (Vec::new(), Vec::new(), Vec::new());
    for r in rules {
        let https_in = r.direction == sg::Direction::Ingress && r.protocol == "tcp" && r.from_port == 443 && r.to_port == 443;
        match (&r.peer, https_in) {
            (Peer::Group(g), true) => groups.push(g.clone()),
            (Peer::Cidr(c), true) => cidrs.push(c.clone()),
            _ => other.push(r.describe()),
        }
    }
    groups.sort();
    cidrs.sort();
    other.sort();
    (groups, cidrs, other)
}

/// One endpoint block from the endpoint as it is now.
pub(super) fn refresh_endpoint(bf: &mut BTreeMap<String, Value>, ep: &Endpoint) {
    let interface = ep.kind == Kind::Interface;
    if interface {
        bf.insert("subnet_ids".into(), Value::string_set(&sorted(&ep.subnet_ids)));
        bf.insert("private_dns_enabled".into(), Value::Bool(ep.private_dns_enabled));
    } else {
        bf.insert("route_table_ids".into(), Value::string_set(&sorted(&ep.route_table_ids)));
    }
    let prior_policy = bf.get("policy").cloned().unwrap_or(Value::Null);
    let policy = match (&ep.policy, prior_policy) {
        (Some(now), Value::String(before)) if policy::equivalent(now, &before) => Value::string(before),
        (Some(now), Value::Null) if policy::is_default_full_access(now) => Value::Null,
        (Some(now), _) => Value::string(now.clone()),
        (None, _) => Value::Null,
    };
    bf.insert("policy".into(), policy);
    fill_observed(bf, ep);
}
