//! The planned state (unknowns, defaults, replace paths), the plan-time checks against AWS, and the warnings of a destroy plan.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- plan

/// The prior endpoint block with the same key, if any.
pub(super) fn prior_endpoint<'a>(prior: &'a Value, key: &Key, region: &str) -> Option<&'a Value> {
    prior
        .get("endpoint")
        .elements()
        .iter()
        .find(|b| (full_service_name(b.get("service").as_str().unwrap_or(""), region), kind_of(b)) == *key)
}

pub(super) fn plan_state(region: Option<&str>, default_tags: &Tags, prior: &Value, proposed: &Value, config: &Value) -> Planned {
    let region_known = region.unwrap_or("");
    let mut state = proposed.clone();
    let Value::Object(fields) = &mut state else {
        return Planned { state, requires_replace: vec![] };
    };
    let mut requires_replace = Vec::new();
    let replacing = !prior.is_null()
        && ["vpc_id", "name"].iter().any(|a| {
            let changed = prior.get(a) != config.get(a);
            if changed {
                requires_replace.push(Path::attr(a));
            }
            changed
        });
    static NULL: Value = Value::Null;
    let prior = if replacing { &NULL } else { prior };

    // Endpoint blocks: defaults from the bundle, computed values kept when
    // the endpoint is untouched, unknown where apply will change them.
    let cfg_blocks = config.get("endpoint").elements();
    let mut keys = Vec::new();
    let mut blocks = Vec::new();
    let mut any_interface = false;
    for (i, b) in proposed.get("endpoint").elements().iter().enumerate() {
        let cfg = cfg_blocks.get(i).unwrap_or(&Value::Null);
        let kind = kind_of(cfg);
        any_interface |= kind == Kind::Interface;
        let service = b.get("service").as_str().unwrap_or("").to_string();
        let key: Key = (full_service_name(&service, region_known), kind);
        keys.push(key.clone());
        let before = prior_endpoint(prior, &key, region_known).filter(|p| p.get("id").as_str().is_some());
        blocks.push(plan_endpoint(region, config, cfg, b, kind, before));
    }
    fields.insert("endpoint".into(), Value::List(blocks));

    let id = match prior.get("id") {
        Value::String(s) => Value::string(s.clone()),
        _ => match (config.get("vpc_id").as_str(), config.get("name")) {
            (Some(vpc), name) if region.is_some() && !name.is_unknown() && keys.iter().all(|k| !k.0.is_empty()) => {
                Value::string(bundle_id(vpc, name.as_str(), &keys))
            }
            _ => Value::Unknown,
        },
    };
    fields.insert("id".into(), id);
    let tags = config.get("tags");
    fields.insert(
        "tags_all".into(),
        if tags.is_wholly_known() { Value::from_string_map(&tags::merged(default_tags, &tags.string_map())) } else { Value::Unknown },
    );
    fields.insert("unexpected_rules".into(), Value::List(vec![]));
    let group = match (any_interface, prior.get("security_group_id")) {
        (false, _) => Value::Null,
        (true, Value::String(s)) => Value::string(s.clone()),
        (true, _) => Value::Unknown,
    };
    fields.insert("security_group_id".into(), group.clone());

    // Now that the group id is settled, fill each Interface endpoint's groups.
    let extra = config.get("security_group_ids");
    if let Some(Value::List(blocks)) = fields.get_mut("endpoint") {
        for b in blocks.iter_mut() {
            let Value::Object(bf) = b else { continue };
            let interface = bf.get("type").and_then(Value::as_str) == Some("Interface");
            let groups = if !interface {
                Value::Null
            } else if let (Value::String(g), true) = (&group, extra.is_wholly_known()) {
                let mut all = extra.strings();
                all.push(g.clone());
                all.sort();
                Value::string_set(&all)
            } else {
                Value::Unknown
            };
            let changed_groups = bf.get("security_group_ids") != Some(&groups);
            if changed_groups && bf.get("id").is_some_and(|v| !v.is_unknown()) && interface {
                bf.insert("state".into(), Value::Unknown);
            }
            bf.insert("security_group_ids".into(), groups);
        }
    }
    Planned { state, requires_replace }
}

/// One endpoint block of the plan. `before` is the same endpoint in the
/// prior state (same service and type, and it exists).
pub(super) fn plan_endpoint(
    region: Option<&str>,
    bundle: &Value,
    cfg: &Value,
    proposed: &Value,
    kind: Kind,
    before: Option<&Value>,
) -> Value {
    let mut b = match proposed {
        Value::Object(m) => m.clone(),
        _ => BTreeMap::new(),
    };
    let interface = kind == Kind::Interface;
    let pick = |own: &Value, bundle_attr: &str, applies: bool| -> Value {
        if !own.is_null() {
            own.clone()
        } else if applies {
            bundle.get(bundle_attr).clone()
        } else {
            Value::Null
        }
    };
    b.insert("type".into(), Value::string(kind.as_str()));
    let dns = match cfg.get("private_dns_enabled") {
        Value::Null if interface => Value::Bool(true),
        Value::Null => Value::Null,
        v => v.clone(),
    };
    b.insert("private_dns_enabled".into(), dns);
    b.insert("subnet_ids".into(), pick(cfg.get("subnet_ids"), "subnet_ids", interface));
    b.insert("route_table_ids".into(), pick(cfg.get("route_table_ids"), "route_table_ids", !interface));
    // Keep the prior text of an equivalent policy: no diff for reformatting.
    let policy = match (cfg.get("policy"), before.map(|p| p.get("policy"))) {
        (Value::String(new), Some(Value::String(old))) if policy::equivalent(new, old) => Value::string(old.clone()),
        (v, _) => v.clone(),
    };
    b.insert("policy".into(), policy);
    let service = cfg.get("service").as_str().unwrap_or("");
    b.insert("service_name".into(), region.map(|r| Value::string(full_service_name(service, r))).unwrap_or(Value::Unknown));

    match before {
        Some(p) => {
            let same = |a: &str| b.get(a).unwrap_or(&Value::Null) == p.get(a);
            let placement_same = same("subnet_ids") && same("route_table_ids");
            let dns_same = same("private_dns_enabled");
            let untouched = placement_same && dns_same && same("policy");
            b.insert("id".into(), p.get("id").clone());
            b.insert("state".into(), if untouched { p.get("state").clone() } else { Value::Unknown });
            let keep_if = |ok: bool, a: &str| if ok { p.get(a).clone() } else { Value::Unknown };
            b.insert("dns_names".into(), keep_if(placement_same && dns_same, "dns_names"));
            b.insert("network_interface_ids".into(), keep_if(placement_same, "network_interface_ids"));
            b.insert("prefix_list_id".into(), p.get("prefix_list_id").clone());
            b.insert("security_group_ids".into(), p.get("security_group_ids").clone());
        }
        None => {
            for a in ["id", "state", "dns_names", "network_interface_ids"] {
                b.insert(a.into(), Value::Unknown);
            }
            b.insert("prefix_list_id".into(), if interface { Value::Null } else { Value::Unknown });
            b.insert("security_group_ids".into(), Value::Unknown);
        }
    }
    Value::Object(b)
}

/// Checks that need AWS, made only for what is new or changed so a plan
/// with no changes makes no calls.
pub(super) async fn check_against_aws(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Diagnostics, crate::diag::Diagnostic> {
    let mut d = Diagnostics::default();
    let ec2 = &ctx.aws.ec2;
    let Some(vpc_id) = planned.get("vpc_id").as_str() else { return Ok(d) };
    let region = ctx.aws.region.as_str();
    let prior_vpc = prior.get("vpc_id").as_str();
    let fresh = prior_vpc != Some(vpc_id);
    let id = planned.get("id").as_str();

    // Endpoints that are new or whose placement changes.
    let mut subnet_checks: Vec<(usize, Vec<String>, &str)> = Vec::new();
    let mut route_checks: Vec<(usize, Vec<String>)> = Vec::new();
    let mut new_keys: Vec<(usize, Key, bool)> = Vec::new();
    let mut wants_private_dns = false;
    for (i, b) in planned.get("endpoint").elements().iter().enumerate() {
        let key: Key = (full_service_name(b.get("service").as_str().unwrap_or(""), region), kind_of(b));
        let before = if fresh { None } else { prior_endpoint(prior, &key, region) };
        let is_new = before.is_none_or(|p| p.get("id").as_str().is_none());
        let attr_of = |a: &'static str| if b.get(a) == planned.get(a) && !planned.get(a).is_null() { "" } else { a };
        if key.1 == Kind::Interface {
            let subnets = b.get("subnet_ids");
            if subnets.is_wholly_known() && (is_new || before.is_some_and(|p| p.get("subnet_ids") != subnets)) {
                subnet_checks.push((i, subnets.strings(), attr_of("subnet_ids")));
            }
            let dns_on = b.get("private_dns_enabled").as_bool() == Some(true);
            let dns_was = before.and_then(|p| p.get("private_dns_enabled").as_bool()) == Some(true);
            if dns_on && (is_new || !dns_was) {
                wants_private_dns = true;
            }
            if is_new {
                new_keys.push((i, key.clone(), dns_on));
            }
        } else {
            let rts = b.get("route_table_ids");
            if rts.is_wholly_known() && (is_new || before.is_some_and(|p| p.get("route_table_ids") != rts)) {
                route_checks.push((i, rts.strings()));
            }
            if is_new {
                new_keys.push((i, key.clone(), false));
            }
        }
    }

    if !subnet_checks.is_empty() {
        let all: BTreeSet<String> = subnet_checks.iter().flat_map(|(_, s, _)| s.iter().cloned()).collect();
        let found = vpc::subnets(ec2, &all.into_iter().collect::<Vec<_>>()).await?;
        for (i, ids, own_attr) in &subnet_checks {
            let path = if own_attr.is_empty() { Path::attr("subnet_ids") } else { Path::attr("endpoint").index(*i).then(own_attr) };
            d.extend(Diagnostics(subnet_diagnostics(&found, vpc_id, region, ids, &path)));
        }
    }

    if !route_checks.is_empty() {
        let all: BTreeSet<String> = route_checks.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
        let found = vpc::route_tables(ec2, &all.into_iter().collect::<Vec<_>>()).await?;
        for (i, ids) in &route_checks {
            for rid in ids {
                let problem = match found.iter().find(|(id, _)| id == rid) {
                    None => Some(format!("Route table {rid} does not exist in {region}.")),
                    Some((_, v)) if v != vpc_id => Some(format!("Route table {rid} is in {v}, not in {vpc_id}.")),
                    _ => None,
                };
                if let Some(p) = problem {
                    d.push(Diagnostic::error("Route table not usable", p).at(Path::attr("endpoint").index(*i).then("route_table_ids")));
                }
            }
        }
    }

    if wants_private_dns {
        match vpc::dns_attributes(ec2, vpc_id).await? {
            None => d.push(Diagnostic::error("VPC not found", format!("VPC {vpc_id} does not exist in {region}.")).at(Path::attr("vpc_id"))),
            Some((support, hostnames)) if !(support && hostnames) => d.push(
                Diagnostic::error(
                    "Private DNS needs DNS support and DNS hostnames on the VPC",
                    format!(
                        "VPC {vpc_id} has enableDnsSupport={support} and enableDnsHostnames={hostnames}. Turn both on (aws_vpc: enable_dns_support = true, enable_dns_hostnames = true), or set private_dns_enabled = false on the endpoint and use its DNS names."
                    ),
                )
                .at(Path::attr("vpc_id")),
            ),
            _ => {}
        }
    }

    if !new_keys.is_empty() {
        let names: Vec<String> = new_keys.iter().map(|(_, k, _)| k.0.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let offered = vpce::services(ec2, &names).await?;
        let mut all_names: Option<Vec<String>> = None;
        let adopt = planned.get("adopt_existing").as_bool() == Some(true);
        for (i, key, dns_on) in &new_keys {
            let at = Path::attr("endpoint").index(*i);
            match offered.iter().find(|s| s.name == key.0) {
                None => {
                    if all_names.is_none() {
                        all_names = Some(vpce::all_service_names(ec2).await?);
                    }
                    let near = near_matches(&key.0, all_names.as_deref().unwrap_or_default());
                    let hint = if near.is_empty() { String::new() } else { format!(" Did you mean {}?", near.join(", ")) };
                    d.push(
                        Diagnostic::error("Unknown service", format!("{region} offers no VPC endpoint service {:?}.{hint}", key.0))
                            .at(at.then("service")),
                    );
                }
                Some(s) if !s.kinds.is_empty() && !s.kinds.contains(&key.1) => d.push(
                    Diagnostic::error(
                        "Endpoint type not offered",
                        format!("{} is offered as {} only.", key.0, s.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" and ")),
                    )
                    .at(at.then("type")),
                ),
                _ => {}
            }
            // Only one endpoint per service and VPC can own the private DNS name.
            if *dns_on && !adopt {
                let existing = vpce::find_for_service(ec2, vpc_id, &key.0).await?;
                let foreign: Vec<&Endpoint> = existing
                    .iter()
                    .filter(|e| e.kind == key.1 && (id.is_none() || e.tags.get(OWNER_TAG).map(String::as_str) != id))
                    .collect();
                if let Some(e) = foreign.first() {
                    d.push(
                        Diagnostic::error(
                            "An endpoint for this service already exists in the VPC",
                            format!(
                                "{} already has {} for {}; a second one cannot own the private DNS name. Set adopt_existing = true to take it over, or remove it, or set private_dns_enabled = false here.",
                                vpc_id, e.id, key.0
                            ),
                        )
                        .at(at.then("service")),
                    );
                }
            }
        }
    }
    Ok(d)
}

/// Service names close to `wanted`: same last word, or a small edit away.
pub(super) fn near_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let short = short_service_name(wanted);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&short, &short_service_name(n)), n))
        .filter(|(dist, n)| *dist <= 2 || short_service_name(n).contains(&short) || short.contains(&short_service_name(n)))
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, n)| n.clone()).collect()
}

pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j])).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// Destroy plan: clients that the bundle's Interface endpoints admit by
/// security group, still with a network interface in the VPC, lose their
/// private path to those services. Gateway endpoints admit by route table
/// and CIDR clients have no name: neither is checked.
pub(super) async fn destroy_warnings(ctx: &Ctx, prior: &Value) -> Diagnostics {
    let interface: Vec<&Value> =
        prior.get("endpoint").elements().iter().filter(|b| kind_of(b) == Kind::Interface && b.get("id").as_str().is_some()).collect();
    let (Some(vpc_id), false) = (prior.get("vpc_id").as_str(), interface.is_empty()) else { return Diagnostics::default() };
    let services: Vec<String> = interface.iter().map(|b| short_service_name(b.get("service").as_str().unwrap_or(""))).collect();
    let bundle = match prior.get("name").as_str() {
        Some(name) => format!("{name} ({})", prior.get("id").as_str().unwrap_or("")),
        None => prior.get("id").as_str().unwrap_or("").to_string(),
    };
    let going =
        crate::resources::Going { what: format!("the Interface endpoints of bundle {bundle}"), services: services.join(", "), vpc_id };
    let own: BTreeSet<String> = interface.iter().flat_map(|b| b.get("network_interface_ids").strings()).collect();
    going.client_warnings(ctx, &prior.get("allowed_security_group_ids").strings(), |i| own.contains(&i.id)).await
}
