//! `privatelink_service_endpoint_bundle`: private access from a VPC to AWS
//! services with no NAT. One security group in front of the Interface
//! endpoints (TCP 443 from the named clients only, no egress) and one VPC
//! endpoint per `endpoint` block.
//!
//! Parts: `security-group`, `endpoint/<service>/<type>`. Endpoints come
//! after the group; removed endpoints go before the group is deleted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use futures::FutureExt;
use sha2::{Digest, Sha256};

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::engine::{self, Step};
use crate::parts::security_group::{self as sg, Group, GroupSpec, Peer, Rule};
use crate::parts::tags::{self, Tags, OWNER_TAG, PART_TAG};
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, EndpointSpec, Kind};
use crate::policy;
use crate::resources::{subnet_diagnostics, Planned, Resource, Timeouts};
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};
use crate::validate;
use crate::value::Value;

pub const TYPE_NAME: &str = "privatelink_service_endpoint_bundle";
const GROUP_PART: &str = "security-group";
/// Services AWS offers as Gateway endpoints.
const GATEWAY_SERVICES: [&str; 2] = ["s3", "dynamodb"];

// ---------------------------------------------------------------- identity

/// The bundle's identity: its id and the region. The id is derived from
/// the VPC, name and services the bundle was made with and then kept for
/// its life, and every object made carries it in its owner tag, so an
/// import finds the bundle by it. `vpc_id` and `name` alone would not tell
/// two unnamed bundles of one VPC apart; the services would, but they
/// change in place, and an identity must not.
fn identity_schema() -> crate::identity::IdentitySchema {
    use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
    IdentitySchema::new(vec![
        IdentityAttribute::required(
            "id",
            "The bundle id (`peb-` + 16 hex digits): the `id` attribute, also in every object's `privatelink:owner` tag.",
        ),
        IdentityAttribute::optional(REGION, "The bundle's region; default the provider's."),
    ])
}

fn identity_of(state: &Value, region: &str) -> Value {
    Value::object([("id", state.get("id").clone()), (crate::identity::REGION, Value::string(region))])
}

/// `peb-` + 16 lower-case hex digits, as `bundle_id` makes them.
fn is_bundle_id(s: &str) -> bool {
    s.strip_prefix("peb-").is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// Import by identity: the ids of the endpoints carrying the bundle's
/// owner tag, which is what the import by id takes, in order of service
/// name (AWS keeps no order of the blocks; this one is stable and easy to
/// write the configuration in).
async fn import_id_of(ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
    let id = identity.get("id").as_str().unwrap_or("");
    if !is_bundle_id(id) {
        return Err(Diagnostic::error("Invalid import identity", format!("identity.id is {id:?}; a bundle id is `peb-` followed by 16 hex digits, like peb-0123456789abcdef (the bundle's `id` attribute).")).into());
    }
    let owned = [(OWNER_TAG.to_string(), id.to_string())].into_iter().collect();
    let found = ctx.run("finding the bundle's endpoints", vpce::find_by_tags_anywhere(&ctx.aws.ec2, &owned)).await?;
    if found.is_empty() {
        return Err(Diagnostic::error(
            "No bundle with this identity",
            format!(
                "identity.id = {id:?}: no VPC endpoint in {} carries {OWNER_TAG} = {id}. Check the id; a bundle imported from endpoints the provider did not make gets that tag at its first apply, until then import it by its endpoint ids.",
                ctx.aws.region
            ),
        )
        .into());
    }
    let mut found: Vec<(String, &str, &str)> =
        found.iter().map(|e| (short_service_name(&e.service_name), e.kind.as_str(), e.id.as_str())).collect();
    found.sort();
    Ok(found.iter().map(|(_, _, id)| *id).collect::<Vec<_>>().join(","))
}

// ---------------------------------------------------------------- schema

static SCHEMA: std::sync::LazyLock<Schema> = std::sync::LazyLock::new(schema);

fn schema() -> Schema {
    let set = || Type::set(Type::String);
    let endpoint = Block::new("One VPC endpoint.")
        .attr(attr(
            "service",
            Type::String,
            Mode::Required,
            "Service: a short name (`sqs`, `s3`, `logs`, `ecr.api`) or a full name `com.amazonaws.REGION.x`.",
        ))
        .attr(attr("type", Type::String, Mode::OptionalComputed, "`Interface` (default) or `Gateway` (s3 and dynamodb only)."))
        .attr(attr(
            "private_dns_enabled",
            Type::Bool,
            Mode::OptionalComputed,
            "Resolve the service's public name to the endpoint inside the VPC. Default true for Interface; not allowed for Gateway.",
        ))
        .attr(attr(
            "policy",
            Type::String,
            Mode::OptionalComputed,
            "Endpoint policy (JSON). Unset: AWS's default full-access policy. Semantically equal JSON shows no diff.",
        ))
        .attr(attr("subnet_ids", set(), Mode::OptionalComputed, "Subnets for this Interface endpoint; default the bundle's `subnet_ids`."))
        .attr(attr(
            "route_table_ids",
            set(),
            Mode::OptionalComputed,
            "Route tables for this Gateway endpoint; default the bundle's `route_table_ids`.",
        ))
        .attr(attr("id", Type::String, Mode::Computed, "Endpoint id (vpce-...)."))
        .attr(attr("service_name", Type::String, Mode::Computed, "Full service name."))
        .attr(attr("state", Type::String, Mode::Computed, "Endpoint state as AWS reports it (lower case)."))
        .attr(attr("dns_names", Type::list(Type::String), Mode::Computed, "DNS names of an Interface endpoint."))
        .attr(attr("network_interface_ids", set(), Mode::Computed, "Network interfaces of an Interface endpoint."))
        .attr(attr("prefix_list_id", Type::String, Mode::Computed, "Prefix list of a Gateway endpoint's service."))
        .attr(attr("security_group_ids", set(), Mode::Computed, "Security groups attached to an Interface endpoint."));
    let timeouts = Block::new("How long create, update and delete may take (default 10m each).")
        .attr(attr("create", Type::String, Mode::Optional, "e.g. `10m`."))
        .attr(attr("update", Type::String, Mode::Optional, "e.g. `10m`."))
        .attr(attr("delete", Type::String, Mode::Optional, "e.g. `10m`."));
    Schema::new(
        Block::new("Private access from a VPC to AWS services with no NAT: VPC endpoints, the one security group in front of them, subnets, route tables, private DNS and endpoint policies.")
            .attr(attr("id", Type::String, Mode::Computed, "Bundle id (`peb-` + 16 hex digits); every object made carries it in the `privatelink:owner` tag."))
            .attr(attr("name", Type::String, Mode::Optional, "Label used in the security group's name and to tell two bundles in one VPC apart. Changing it replaces the bundle."))
            .attr(attr("vpc_id", Type::String, Mode::Required, "The VPC. Changing it replaces the bundle."))
            .attr(attr("subnet_ids", set(), Mode::Optional, "Subnets for Interface endpoints, at most one per Availability Zone."))
            .attr(attr("route_table_ids", set(), Mode::Optional, "Route tables for Gateway endpoints."))
            .attr(attr("allowed_security_group_ids", set(), Mode::Optional, "Security groups of the clients that may connect (TCP 443)."))
            .attr(attr("allowed_cidr_blocks", set(), Mode::Optional, "CIDR blocks of the clients that may connect (TCP 443)."))
            .attr(attr("security_group_ids", set(), Mode::Optional, "Extra security groups you own, attached to every Interface endpoint besides the managed one."))
            .attr(attr("adopt_existing", Type::Bool, Mode::Optional, "Take over an endpoint that already exists in the VPC for a service instead of failing at plan."))
            .attr(attr("tags", Type::map(Type::String), Mode::Optional, "Tags for every object, over the provider's `default_tags`."))
            .attr(attr("tags_all", Type::map(Type::String), Mode::Computed, "`tags` merged over the provider's `default_tags`."))
            .attr(attr("security_group_id", Type::String, Mode::Computed, "The managed security group in front of the Interface endpoints."))
            .attr(attr("unexpected_rules", Type::list(Type::String), Mode::Computed, "Rules found on the managed group that the bundle did not make; the next apply removes them."))
            .block_at_least("endpoint", Nesting::List, 1, endpoint)
            // A Group block: in the state whether written or not, so an
            // import that leaves it out plans no change.
            .block("timeouts", Nesting::Group, timeouts),
    )
}

// ---------------------------------------------------------------- config model

/// A set attribute from observed items, keeping null when the user left
/// it null and nothing is there.
fn observed_set(prior: &Value, items: &[String]) -> Value {
    if items.is_empty() && prior.is_null() {
        Value::Null
    } else {
        Value::string_set(items)
    }
}

fn kind_of(block: &Value) -> Kind {
    match block.get("type").as_str() {
        Some("Gateway") => Kind::Gateway,
        _ => Kind::Interface,
    }
}

fn is_full_name(service: &str) -> bool {
    service.contains('.') && (service.starts_with("com.amazonaws.") || service.starts_with("aws."))
}

/// `sqs` -> `com.amazonaws.eu-west-1.sqs`; full names stay as written.
pub fn full_service_name(service: &str, region: &str) -> String {
    if is_full_name(service) {
        service.to_string()
    } else {
        format!("com.amazonaws.{region}.{service}")
    }
}

/// `com.amazonaws.eu-west-1.sqs` -> `sqs` (the form users write).
pub fn short_service_name(full: &str) -> String {
    let parts: Vec<&str> = full.splitn(4, '.').collect();
    if parts.len() == 4 && parts[0] == "com" && parts[1] == "amazonaws" && validate::region(parts[2]).is_ok() {
        parts[3].to_string()
    } else {
        full.to_string()
    }
}

fn gateway_capable(service: &str) -> bool {
    let short = if is_full_name(service) { short_service_name(service) } else { service.to_string() };
    GATEWAY_SERVICES.contains(&short.as_str())
}

/// What identifies an endpoint inside a bundle: service and type. A change
/// of either replaces that endpoint only.
type Key = (String, Kind);

fn part_name(key: &Key) -> String {
    format!("endpoint/{}/{}", short_service_name(&key.0), key.1.as_str().to_ascii_lowercase())
}

/// The bundle id: derived from what identifies the bundle, so an apply
/// that crashed after creating objects finds them again by their owner tag
/// instead of creating duplicates.
pub fn bundle_id(vpc_id: &str, name: Option<&str>, keys: &[Key]) -> String {
    let mut h = Sha256::new();
    h.update(vpc_id.as_bytes());
    h.update([0]);
    h.update(name.unwrap_or("").as_bytes());
    let mut sorted: Vec<String> = keys.iter().map(|(s, k)| format!("{s}/{}", k.as_str())).collect();
    sorted.sort();
    for k in sorted {
        h.update([0]);
        h.update(k.as_bytes());
    }
    let digest = h.finalize();
    format!("peb-{}", digest.iter().take(8).map(|b| format!("{b:02x}")).collect::<String>())
}

/// The desired bundle, from a planned (wholly known) state.
#[derive(Debug, Clone)]
struct Desired {
    id: String,
    name: Option<String>,
    vpc_id: String,
    allowed_groups: Vec<String>,
    allowed_cidrs: Vec<String>,
    extra_groups: Vec<String>,
    adopt_existing: bool,
    tags_all: Tags,
    endpoints: Vec<DesiredEndpoint>,
    timeouts: Timeouts,
}

#[derive(Debug, Clone)]
struct DesiredEndpoint {
    key: Key,
    private_dns: Option<bool>,
    policy: Option<String>,
    subnet_ids: Vec<String>,
    route_table_ids: Vec<String>,
}

impl Desired {
    fn from_planned(planned: &Value, region: &str) -> Desired {
        let endpoints = planned
            .get("endpoint")
            .elements()
            .iter()
            .map(|b| DesiredEndpoint {
                key: (full_service_name(b.get("service").as_str().unwrap_or(""), region), kind_of(b)),
                private_dns: b.get("private_dns_enabled").as_bool(),
                policy: b.get("policy").as_str().map(str::to_string),
                subnet_ids: b.get("subnet_ids").strings(),
                route_table_ids: b.get("route_table_ids").strings(),
            })
            .collect();
        Desired {
            id: planned.get("id").as_str().unwrap_or("").to_string(),
            name: planned.get("name").as_str().map(str::to_string),
            vpc_id: planned.get("vpc_id").as_str().unwrap_or("").to_string(),
            allowed_groups: planned.get("allowed_security_group_ids").strings(),
            allowed_cidrs: planned.get("allowed_cidr_blocks").strings(),
            extra_groups: planned.get("security_group_ids").strings(),
            adopt_existing: planned.get("adopt_existing").as_bool().unwrap_or(false),
            tags_all: planned.get("tags_all").string_map(),
            endpoints,
            timeouts: Timeouts::from_value(planned.get("timeouts")),
        }
    }

    fn needs_group(&self) -> bool {
        self.endpoints.iter().any(|e| e.key.1 == Kind::Interface)
    }

    /// The managed group's rules: TCP 443 in from each named client, nothing out.
    fn rules(&self) -> Vec<Rule> {
        let groups = self.allowed_groups.iter().map(|g| Rule::https_from(Peer::Group(g.clone())));
        let cidrs = self.allowed_cidrs.iter().map(|c| Rule::https_from(Peer::Cidr(c.clone())));
        groups.chain(cidrs).collect()
    }

    fn group_spec(&self) -> GroupSpec {
        GroupSpec {
            name: format!("{}-{}", self.name.as_deref().unwrap_or("privatelink"), self.id),
            description: format!("VPC endpoints of bundle {} (managed by terraform-provider-privatelink)", self.id),
            vpc_id: self.vpc_id.clone(),
            tags: tags::with_ownership(&self.tags_all, &self.id, GROUP_PART),
            rules: self.rules(),
        }
    }

    fn endpoint_spec(&self, e: &DesiredEndpoint, group_id: Option<&str>, client_token: String) -> EndpointSpec {
        let interface = e.key.1 == Kind::Interface;
        let mut groups: Vec<String> = group_id.into_iter().map(str::to_string).chain(self.extra_groups.iter().cloned()).collect();
        groups.sort();
        EndpointSpec {
            vpc_id: self.vpc_id.clone(),
            service_name: e.key.0.clone(),
            kind: e.key.1,
            subnet_ids: if interface { e.subnet_ids.clone() } else { vec![] },
            route_table_ids: if interface { vec![] } else { e.route_table_ids.clone() },
            security_group_ids: if interface { groups } else { vec![] },
            private_dns_enabled: if interface { e.private_dns } else { None },
            policy: e.policy.clone(),
            tags: tags::with_ownership(&self.tags_all, &self.id, &part_name(&e.key)),
            client_token,
        }
    }
}

// ---------------------------------------------------------------- validate

fn validate_config(config: &Value) -> Diagnostics {
    let mut d = Diagnostics::default();
    let id_check = |d: &mut Diagnostics, attr: &Value, path: Path, prefix: &str| {
        if let Some(s) = attr.as_str() {
            if let Err(e) = validate::aws_id(prefix, s) {
                d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(path));
            }
        }
    };
    let ids_check = |d: &mut Diagnostics, set: &Value, path: Path, prefix: &str| {
        for v in set.elements() {
            if let Some(s) = v.as_str() {
                if let Err(e) = validate::aws_id(prefix, s) {
                    d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(path.clone()));
                }
            }
        }
    };
    id_check(&mut d, config.get("vpc_id"), Path::attr("vpc_id"), "vpc");
    ids_check(&mut d, config.get("subnet_ids"), Path::attr("subnet_ids"), "subnet");
    ids_check(&mut d, config.get("route_table_ids"), Path::attr("route_table_ids"), "rtb");
    ids_check(&mut d, config.get("allowed_security_group_ids"), Path::attr("allowed_security_group_ids"), "sg");
    ids_check(&mut d, config.get("security_group_ids"), Path::attr("security_group_ids"), "sg");
    for v in config.get("allowed_cidr_blocks").elements() {
        if let Some(c) = v.as_str() {
            let path = Path::attr("allowed_cidr_blocks");
            match validate::cidr(c) {
                Err(e) => d.push(Diagnostic::error("Invalid CIDR block", e).at(path)),
                Ok(()) if c.ends_with("/0") => d.push(
                    Diagnostic::error(
                        "CIDR block open to everyone",
                        format!("{c} would let every address that can route to the endpoints connect. Name the clients: their subnets' CIDR blocks, or their security groups in allowed_security_group_ids."),
                    )
                    .at(path),
                ),
                Ok(()) => {}
            }
        }
    }
    if let Some(name) = config.get("name").as_str() {
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            d.push(Diagnostic::error("Invalid name", format!("{name:?}: 1 to 100 letters, digits, '-' or '_'.")).at(Path::attr("name")));
        }
    }
    for (k, v) in config.get("tags").string_map() {
        if let Err(e) = validate::tag(&k, &v) {
            d.push(Diagnostic::error("Invalid tag", e).at(Path::attr("tags").key(&k)));
        }
    }
    for diag in Timeouts::validate(config.get("timeouts"), &Path::attr("timeouts")) {
        d.push(diag);
    }
    validate_endpoints(config, &mut d);
    d
}

fn validate_endpoints(config: &Value, d: &mut Diagnostics) {
    let mut seen: BTreeMap<(String, Kind), usize> = BTreeMap::new();
    let mut any_interface = false;
    for (i, b) in config.get("endpoint").elements().iter().enumerate() {
        let at = Path::attr("endpoint").index(i);
        let kind = match b.get("type") {
            Value::String(t) if t == "Interface" => Some(Kind::Interface),
            Value::String(t) if t == "Gateway" => Some(Kind::Gateway),
            Value::String(t) => {
                d.push(
                    Diagnostic::error("Invalid endpoint type", format!("{t:?}: expected \"Interface\" or \"Gateway\" (exactly so)."))
                        .at(at.then("type")),
                );
                None
            }
            Value::Unknown => None,
            _ => Some(Kind::Interface),
        };
        if kind == Some(Kind::Interface) {
            any_interface = true;
        }
        if let Some(service) = b.get("service").as_str() {
            let well_formed = !service.is_empty()
                && service.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-' || c == '_')
                && !service.starts_with('.')
                && !service.ends_with('.');
            if !well_formed {
                d.push(Diagnostic::error("Invalid service name", format!("{service:?}: expected a short name such as \"sqs\", \"s3\", \"ecr.api\" or a full name such as \"com.amazonaws.eu-west-1.sqs\".")).at(at.then("service")));
            }
            if kind == Some(Kind::Gateway) && !gateway_capable(service) {
                d.push(
                    Diagnostic::error(
                        "Gateway endpoint not offered",
                        format!(
                            "AWS offers Gateway endpoints only for {}; use type = \"Interface\" for {service:?}.",
                            GATEWAY_SERVICES.join(" and ")
                        ),
                    )
                    .at(at.then("type")),
                );
            }
            if let Some(kind) = kind {
                let key = (short_service_name(service), kind);
                if let Some(first) = seen.insert(key, i) {
                    d.push(
                        Diagnostic::error(
                            "Duplicate endpoint",
                            format!(
                                "endpoint[{first}] already asks for a {} endpoint to {service:?}; one per service and type.",
                                kind.as_str()
                            ),
                        )
                        .at(at.then("service")),
                    );
                }
            }
        }
        if kind == Some(Kind::Gateway) && !b.get("private_dns_enabled").is_null() && !b.get("private_dns_enabled").is_unknown() {
            d.push(
                Diagnostic::error(
                    "Private DNS on a Gateway endpoint",
                    "Gateway endpoints work through route tables and have no DNS names; remove private_dns_enabled.",
                )
                .at(at.then("private_dns_enabled")),
            );
        }
        if let Some(p) = b.get("policy").as_str() {
            if let Err(e) = policy::validate(p) {
                d.push(Diagnostic::error("Invalid endpoint policy", e).at(at.then("policy")));
            }
        }
        for (attr, prefix) in [("subnet_ids", "subnet"), ("route_table_ids", "rtb")] {
            for v in b.get(attr).elements() {
                if let Some(s) = v.as_str() {
                    if let Err(e) = validate::aws_id(prefix, s) {
                        d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(at.then(attr)));
                    }
                }
            }
        }
        let effective = |attr: &str| {
            let own = b.get(attr);
            if own.is_null() {
                config.get(attr)
            } else {
                own
            }
        };
        match kind {
            Some(Kind::Interface) => {
                let s = effective("subnet_ids");
                if !s.is_unknown() && s.elements().is_empty() && s.is_wholly_known() {
                    d.push(Diagnostic::error("Interface endpoint without subnets", "An Interface endpoint lives in subnets: set subnet_ids on the bundle or on this endpoint (one subnet per Availability Zone).").at(at.clone()));
                }
            }
            Some(Kind::Gateway) => {
                let r = effective("route_table_ids");
                if !r.is_unknown() && r.elements().is_empty() && r.is_wholly_known() {
                    d.push(
                        Diagnostic::error(
                            "Gateway endpoint without route tables",
                            "A Gateway endpoint works through route tables: set route_table_ids on the bundle or on this endpoint.",
                        )
                        .at(at.clone()),
                    );
                }
            }
            None => {}
        }
    }
    let clients = ["allowed_security_group_ids", "allowed_cidr_blocks", "security_group_ids"];
    let all_known = clients.iter().all(|a| config.get(a).is_wholly_known());
    let none_given = clients.iter().all(|a| config.get(a).elements().is_empty());
    if any_interface && all_known && none_given {
        d.push(Diagnostic::error(
            "Nobody may connect to the Interface endpoints",
            "Name the clients in allowed_security_group_ids (e.g. your Lambda functions' group) or allowed_cidr_blocks, or attach your own groups with security_group_ids.",
        ).at(Path::attr("allowed_security_group_ids")));
    }
}

// ---------------------------------------------------------------- plan

/// The prior endpoint block with the same key, if any.
fn prior_endpoint<'a>(prior: &'a Value, key: &Key, region: &str) -> Option<&'a Value> {
    prior
        .get("endpoint")
        .elements()
        .iter()
        .find(|b| (full_service_name(b.get("service").as_str().unwrap_or(""), region), kind_of(b)) == *key)
}

fn plan_state(region: Option<&str>, default_tags: &Tags, prior: &Value, proposed: &Value, config: &Value) -> Planned {
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
fn plan_endpoint(region: Option<&str>, bundle: &Value, cfg: &Value, proposed: &Value, kind: Kind, before: Option<&Value>) -> Value {
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
async fn check_against_aws(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Diagnostics, crate::diag::Diagnostic> {
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
fn near_matches(wanted: &str, names: &[String]) -> Vec<String> {
    let short = short_service_name(wanted);
    let mut scored: Vec<(usize, &String)> = names
        .iter()
        .map(|n| (edit_distance(&short, &short_service_name(n)), n))
        .filter(|(dist, n)| *dist <= 2 || short_service_name(n).contains(&short) || short.contains(&short_service_name(n)))
        .collect();
    scored.sort();
    scored.into_iter().take(5).map(|(_, n)| n.clone()).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
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
async fn destroy_warnings(ctx: &Ctx, prior: &Value) -> Diagnostics {
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

// ---------------------------------------------------------------- apply

/// What exists, as apply learns it; each finished step writes here so a
/// failure still returns everything that was made.
#[derive(Default)]
struct Record {
    group_id: Option<String>,
    group: Option<sg::Group>,
    endpoints: BTreeMap<Key, Endpoint>,
    /// Ids created whose endpoint could not be observed yet.
    pending: BTreeMap<Key, String>,
}

/// Recorded parts from a state value.
fn recorded(state: &Value, region: &str) -> (Option<String>, BTreeMap<Key, String>) {
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

/// A client token unique to this attempt at this part: retries of the same
/// call inside one apply are idempotent, while a bundle destroyed and made
/// again never gets AWS's answer for the old endpoint. (After a crash, the
/// owner tags find the object instead.)
fn client_token(id: &str, key: &Key) -> String {
    let nonce: u64 = rand_nonce();
    let mut h = Sha256::new();
    h.update(format!("{id}/{}/{}/{nonce}", key.0, key.1.as_str()).as_bytes());
    h.finalize().iter().take(24).map(|b| format!("{b:02x}")).collect()
}

fn rand_nonce() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (t as u64) ^ (std::process::id() as u64).rotate_left(32)
}

async fn reconcile(ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
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

    let mut steps: Vec<Step> = Vec::new();
    let needs_group = desired.needs_group();
    if needs_group {
        steps.push(Step::new(GROUP_PART, &[], ensure_group(ctx, &desired, &record).boxed()));
    }
    let desired_keys: BTreeSet<Key> = desired.endpoints.iter().map(|e| e.key.clone()).collect();
    for e in &desired.endpoints {
        let after: &[&str] = if e.key.1 == Kind::Interface { &[GROUP_PART] } else { &[] };
        steps.push(Step::new(part_name(&e.key), after, ensure_endpoint(ctx, &desired, e, &record, timeout).boxed()));
    }
    let mut removals = Vec::new();
    for (key, id) in &prior_eps {
        if !desired_keys.contains(key) {
            let name = format!("remove {}", part_name(key));
            removals.push(name.clone());
            steps.push(Step::new(name, &[], remove_endpoint(ctx, key.clone(), id.clone(), &record, timeout).boxed()));
        }
    }
    if !needs_group && prior_group.is_some() {
        let after: Vec<&str> = removals.iter().map(String::as_str).collect();
        steps.push(Step::new("remove security-group", &after, remove_group(ctx, &record, timeout).boxed()));
    }
    let outcome = ctx.run("applying the bundle", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await;
    let diags: Diagnostics = match outcome {
        Ok(o) => Diagnostics(o.errors()),
        Err(stopped) => stopped.into(),
    };
    let record = record.into_inner().unwrap_or_else(|e| e.into_inner());
    (state_after(planned, &desired, &record), diags)
}

async fn ensure_group(ctx: &Ctx, desired: &Desired, record: &Mutex<Record>) -> Result<(), Diagnostic> {
    let known = record.lock().unwrap().group.clone();
    let group = sg::ensure(&ctx.aws.ec2, &desired.group_spec(), known, |id| record.lock().unwrap().group_id = Some(id.to_string())).await?;
    let mut r = record.lock().unwrap();
    r.group_id = Some(group.id.clone());
    r.group = Some(group);
    Ok(())
}

async fn ensure_endpoint(
    ctx: &Ctx,
    desired: &Desired,
    e: &DesiredEndpoint,
    record: &Mutex<Record>,
    timeout: std::time::Duration,
) -> Result<(), Diagnostic> {
    let group_id = record.lock().unwrap().group_id.clone();
    let spec = desired.endpoint_spec(e, group_id.as_deref(), client_token(&desired.id, &e.key));
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

async fn remove_endpoint(ctx: &Ctx, key: Key, id: String, record: &Mutex<Record>, timeout: std::time::Duration) -> Result<(), Diagnostic> {
    vpce::delete(&ctx.aws.ec2, std::slice::from_ref(&id), timeout).await?;
    tracing::info!(endpoint = %id, "endpoint deleted");
    record.lock().unwrap().endpoints.remove(&key);
    Ok(())
}

async fn remove_group(ctx: &Ctx, record: &Mutex<Record>, timeout: std::time::Duration) -> Result<(), Diagnostic> {
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
fn state_after(planned: &Value, desired: &Desired, record: &Record) -> Value {
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
async fn with_prefix_lists(ctx: &Ctx, mut eps: Vec<Endpoint>) -> Result<Vec<Endpoint>, Diagnostic> {
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
fn fill_observed(bf: &mut BTreeMap<String, Value>, ep: &Endpoint) {
    let interface = ep.kind == Kind::Interface;
    bf.insert("id".into(), Value::string(ep.id.clone()));
    bf.insert("service_name".into(), Value::string(ep.service_name.clone()));
    bf.insert("state".into(), Value::string(ep.state.clone()));
    bf.insert("dns_names".into(), Value::List(ep.dns_names.iter().map(|n| Value::string(n.clone())).collect()));
    bf.insert("network_interface_ids".into(), Value::string_set(&sorted(&ep.network_interface_ids)));
    bf.insert("prefix_list_id".into(), if interface { Value::Null } else { Value::opt_string(ep.prefix_list_id.clone()) });
    bf.insert("security_group_ids".into(), if interface { Value::string_set(&sorted(&ep.security_group_ids)) } else { Value::Null });
}

fn sorted(v: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = v.iter().cloned().collect();
    s.into_iter().collect()
}

async fn destroy(ctx: &Ctx, prior: &Value) -> (Value, Diagnostics) {
    let region = ctx.aws.region.clone();
    let (group, eps) = recorded(prior, &region);
    let timeout = Timeouts::from_value(prior.get("timeouts")).delete;
    let record = Mutex::new(Record { group_id: group.clone(), ..Default::default() });
    let mut steps = Vec::new();
    let mut names = Vec::new();
    for (key, id) in &eps {
        let name = format!("remove {}", part_name(key));
        names.push(name.clone());
        steps.push(Step::new(name, &[], remove_endpoint(ctx, key.clone(), id.clone(), &record, timeout).boxed()));
    }
    if group.is_some() {
        let after: Vec<&str> = names.iter().map(String::as_str).collect();
        steps.push(Step::new("remove security-group", &after, remove_group(ctx, &record, timeout).boxed()));
    }
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
        if done.iter().any(|d| d == "remove security-group") {
            fields.insert("security_group_id".into(), Value::Null);
        }
        if let Some(Value::List(blocks)) = fields.get_mut("endpoint") {
            for b in blocks.iter_mut() {
                let key = (full_service_name(b.get("service").as_str().unwrap_or(""), &region), kind_of(b));
                if done.contains(&format!("remove {}", part_name(&key))) {
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

// ---------------------------------------------------------------- read

/// The bundle's group (if it has one) and its endpoints as they are now:
/// independent reads, sent together.
async fn observe(
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

async fn read_state(ctx: &Ctx, state: &Value) -> Result<Value, Diagnostic> {
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
fn classify_rules(rules: &[Rule]) -> (Vec<String>, Vec<String>, Vec<String>) {
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
fn refresh_endpoint(bf: &mut BTreeMap<String, Value>, ep: &Endpoint) {
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

// ---------------------------------------------------------------- import

async fn import_state(ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
    let ec2 = &ctx.aws.ec2;
    let ids: Vec<String> = id.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let mut d = Diagnostics::default();
    if ids.is_empty() {
        d.push(Diagnostic::error("Nothing to import", "Give the endpoint ids: terraform import ADDRESS vpce-0123456789abcdef0[,vpce-...]"));
    }
    for i in &ids {
        if let Err(e) = validate::aws_id("vpce", i) {
            d.push(Diagnostic::error("Invalid import id", e));
        }
    }
    if d.has_errors() {
        return Err(d);
    }
    let found = with_prefix_lists(ctx, vpce::find_many(ec2, &ids).await?).await?;
    let mut eps = Vec::new();
    for i in &ids {
        match found.iter().find(|e| &e.id == i && !e.is_gone()) {
            Some(e) => eps.push(e.clone()),
            None => d.push(Diagnostic::error("Endpoint not found", format!("{i} does not exist (or is deleted) in {}.", ctx.aws.region))),
        }
    }
    let vpcs: BTreeSet<&str> = eps.iter().map(|e| e.vpc_id.as_str()).collect();
    if vpcs.len() > 1 {
        d.push(Diagnostic::error(
            "Endpoints in several VPCs",
            format!("A bundle belongs to one VPC; these endpoints are in {}.", vpcs.into_iter().collect::<Vec<_>>().join(", ")),
        ));
    }
    if d.has_errors() {
        return Err(d);
    }
    let vpc_id = eps[0].vpc_id.clone();

    // The managed group: the one tagged as ours, else the one group every
    // Interface endpoint shares.
    let interface: Vec<&Endpoint> = eps.iter().filter(|e| e.kind == Kind::Interface).collect();
    let mut common: Option<BTreeSet<String>> = None;
    for e in &interface {
        let s: BTreeSet<String> = e.security_group_ids.iter().cloned().collect();
        common = Some(match common {
            None => s,
            Some(c) => c.intersection(&s).cloned().collect(),
        });
    }
    let common = common.unwrap_or_default();
    let mut group = None;
    for g in &common {
        if let Some(found) = sg::find(ec2, g).await? {
            let ours = found.tags.get(PART_TAG).map(String::as_str) == Some(GROUP_PART);
            if ours || group.is_none() {
                group = Some(found);
            }
            if ours {
                break;
            }
        }
    }
    let extra: Vec<String> = common.iter().filter(|g| Some(*g) != group.as_ref().map(|x| &x.id)).cloned().collect();

    let owner = eps.iter().find_map(|e| e.tags.get(OWNER_TAG).cloned());
    let keys: Vec<Key> = eps.iter().map(|e| (e.service_name.clone(), e.kind)).collect();
    let bundle = owner.unwrap_or_else(|| bundle_id(&vpc_id, None, &keys));
    let user_tags = tags::without_ownership(&eps[0].tags);
    let own_tags: Tags =
        user_tags.iter().filter(|(k, v)| ctx.aws.default_tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();

    let bundle_subnets = interface.first().map(|e| sorted(&e.subnet_ids)).unwrap_or_default();
    let bundle_rts = eps.iter().find(|e| e.kind == Kind::Gateway).map(|e| sorted(&e.route_table_ids)).unwrap_or_default();
    let blocks = eps
        .iter()
        .map(|e| {
            let mut bf: BTreeMap<String, Value> = BTreeMap::new();
            bf.insert("service".into(), Value::string(short_service_name(&e.service_name)));
            bf.insert("type".into(), Value::string(e.kind.as_str()));
            bf.insert(
                "private_dns_enabled".into(),
                if e.kind == Kind::Interface { Value::Bool(e.private_dns_enabled) } else { Value::Null },
            );
            bf.insert("subnet_ids".into(), if e.kind == Kind::Interface { Value::string_set(&sorted(&e.subnet_ids)) } else { Value::Null });
            bf.insert(
                "route_table_ids".into(),
                if e.kind == Kind::Gateway { Value::string_set(&sorted(&e.route_table_ids)) } else { Value::Null },
            );
            bf.insert(
                "policy".into(),
                match &e.policy {
                    Some(p) if !policy::is_default_full_access(p) => Value::string(p.clone()),
                    _ => Value::Null,
                },
            );
            fill_observed(&mut bf, e);
            Value::Object(bf)
        })
        .collect();
    // The group's name is "<name>-<bundle id>" (see Desired::group_spec).
    let name = group.as_ref().and_then(|g| g.name.strip_suffix(&format!("-{bundle}")).map(str::to_string)).filter(|n| n != "privatelink");
    let nonempty = |v: Vec<String>| if v.is_empty() { Value::Null } else { Value::string_set(&v) };
    let (allowed_groups, allowed_cidrs, unexpected) = group.as_ref().map(|g| classify_rules(&g.rules)).unwrap_or_default();
    Ok(Value::object([
        ("id", Value::string(bundle)),
        ("name", Value::opt_string(name)),
        ("vpc_id", Value::string(vpc_id)),
        ("subnet_ids", nonempty(bundle_subnets)),
        ("route_table_ids", nonempty(bundle_rts)),
        ("allowed_security_group_ids", nonempty(allowed_groups)),
        ("allowed_cidr_blocks", nonempty(allowed_cidrs)),
        ("security_group_ids", nonempty(extra)),
        ("adopt_existing", Value::Null),
        ("tags", if own_tags.is_empty() { Value::Null } else { Value::from_string_map(&own_tags) }),
        ("tags_all", Value::from_string_map(&user_tags)),
        ("security_group_id", Value::opt_string(group.map(|g| g.id))),
        ("unexpected_rules", Value::List(unexpected.into_iter().map(Value::string).collect())),
        ("endpoint", Value::List(blocks)),
        ("timeouts", Value::Null),
    ]))
}

// ---------------------------------------------------------------- resource

pub struct ServiceEndpointBundle;

#[tonic::async_trait]
impl Resource for ServiceEndpointBundle {
    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        SCHEMA.clone()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate_config(config)
    }

    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
        let diags = validate_config(config);
        if diags.has_errors() {
            return Err(diags);
        }
        let region = ctx.map(|c| c.aws.region.as_str());
        let default_tags = ctx.map(|c| c.aws.default_tags.clone()).unwrap_or_default();
        let [prior, proposed, config] = [prior, proposed, config].map(|v| SCHEMA.block.with_groups(v.clone()));
        let prior = &prior;
        let planned = plan_state(region, &default_tags, prior, &proposed, &config);
        if let Some(ctx) = ctx {
            let diags = ctx.run("checking the network and services at plan", check_against_aws(ctx, prior, &planned.state)).await?;
            if diags.has_errors() {
                return Err(diags);
            }
        }
        Ok(planned)
    }

    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
        if planned.is_null() {
            destroy(ctx, prior).await
        } else {
            reconcile(ctx, prior, planned).await
        }
    }

    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics> {
        let fresh = ctx.run("refreshing the bundle", read_state(ctx, state)).await?;
        Ok(SCHEMA.block.with_groups(fresh))
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics> {
        let state = tokio::select! {
            r = import_state(ctx, id) => r?,
            _ = ctx.cancel.cancelled() => return Err(Diagnostic::error("Stopped", "Terraform asked the provider to stop while it was importing.").into()),
        };
        Ok(SCHEMA.block.with_groups(state))
    }

    fn identity_schema(&self) -> crate::identity::IdentitySchema {
        identity_schema()
    }

    fn identity(&self, state: &Value, region: &str) -> Value {
        identity_of(state, region)
    }

    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        import_id_of(ctx, identity).await
    }

    async fn plan_destroy(&self, ctx: &Ctx, prior: &Value) -> Diagnostics {
        destroy_warnings(ctx, prior).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::string(v)
    }
    fn set(items: &[&str]) -> Value {
        Value::Set(items.iter().map(|i| s(i)).collect())
    }
    fn obj(fields: Vec<(&str, Value)>) -> Value {
        Value::object(fields)
    }

    fn config(endpoints: Vec<Value>) -> Value {
        obj(vec![
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("subnet_ids", set(&["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])),
            ("route_table_ids", set(&["rtb-0123456789abcdef0"])),
            ("allowed_security_group_ids", set(&["sg-0123456789abcdef0"])),
            ("endpoint", Value::List(endpoints)),
        ])
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default()).collect()
    }

    #[test]
    fn service_names() {
        assert_eq!(full_service_name("sqs", "eu-west-1"), "com.amazonaws.eu-west-1.sqs");
        assert_eq!(full_service_name("com.amazonaws.us-east-1.s3", "eu-west-1"), "com.amazonaws.us-east-1.s3");
        assert_eq!(short_service_name("com.amazonaws.eu-west-1.ecr.api"), "ecr.api");
        assert!(gateway_capable("s3") && gateway_capable("com.amazonaws.us-east-1.dynamodb") && !gateway_capable("sqs"));
    }

    #[test]
    fn bundle_id_is_stable_and_order_free() {
        let a = bundle_id("vpc-1", None, &[("x".into(), Kind::Interface), ("y".into(), Kind::Gateway)]);
        let b = bundle_id("vpc-1", None, &[("y".into(), Kind::Gateway), ("x".into(), Kind::Interface)]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4 + 16);
        assert_ne!(a, bundle_id("vpc-1", Some("other"), &[("x".into(), Kind::Interface), ("y".into(), Kind::Gateway)]));
    }

    #[test]
    fn a_good_config_validates() {
        let d = validate_config(&config(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])]));
        assert!(d.0.is_empty(), "{:?}", d.0);
    }

    #[test]
    fn bad_input_names_the_attribute() {
        let mut c = config(vec![
            obj(vec![("service", s("sqs")), ("type", s("Gateway"))]),
            obj(vec![("service", s("s3")), ("type", s("Gateway")), ("private_dns_enabled", Value::Bool(true))]),
            obj(vec![("service", s("logs")), ("policy", s("{not json"))]),
            obj(vec![("service", s("logs"))]),
            obj(vec![("service", s("SQS!")), ("type", s("interface"))]),
        ]);
        if let Value::Object(f) = &mut c {
            f.insert("vpc_id".into(), s("vpc-123"));
            f.insert("allowed_cidr_blocks".into(), set(&["10.0.0.1/16", "0.0.0.0/0"]));
        }
        let p = paths(&validate_config(&c));
        for want in [
            "vpc_id",
            "allowed_cidr_blocks",
            "endpoint[0].type",
            "endpoint[1].private_dns_enabled",
            "endpoint[2].policy",
            "endpoint[3].service",
            "endpoint[4].type",
            "endpoint[4].service",
        ] {
            assert!(p.iter().any(|x| x == want), "no diagnostic at {want}: {p:?}");
        }
    }

    #[test]
    fn missing_placement_and_clients_are_errors() {
        let c = obj(vec![
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("endpoint", Value::List(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])])),
        ]);
        let p = paths(&validate_config(&c));
        assert!(p.contains(&"endpoint[0]".to_string()), "{p:?}");
        assert!(p.contains(&"endpoint[1]".to_string()), "{p:?}");
        assert!(p.contains(&"allowed_security_group_ids".to_string()), "{p:?}");
    }

    #[test]
    fn unknown_values_are_left_for_later() {
        let c = obj(vec![
            ("vpc_id", Value::Unknown),
            ("subnet_ids", Value::Unknown),
            ("allowed_security_group_ids", Value::Unknown),
            ("endpoint", Value::List(vec![obj(vec![("service", s("sqs"))])])),
        ]);
        assert!(validate_config(&c).0.is_empty());
    }

    #[test]
    fn create_plan_has_unknown_ids_and_defaults() {
        let c = config(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])]);
        let p = plan_state(Some("us-east-1"), &Tags::new(), &Value::Null, &c, &c).state;
        assert!(p.get("id").as_str().unwrap().starts_with("peb-"));
        assert!(p.get("security_group_id").is_unknown());
        let eps = p.get("endpoint").elements();
        assert_eq!(eps[0].get("type").as_str(), Some("Interface"));
        assert_eq!(eps[0].get("private_dns_enabled").as_bool(), Some(true));
        assert_eq!(eps[0].get("subnet_ids").strings().len(), 2);
        assert!(eps[0].get("route_table_ids").is_null());
        assert!(eps[0].get("id").is_unknown());
        assert_eq!(eps[1].get("private_dns_enabled"), &Value::Null);
        assert_eq!(eps[1].get("route_table_ids").strings(), vec!["rtb-0123456789abcdef0"]);
        assert_eq!(eps[1].get("service_name").as_str(), Some("com.amazonaws.us-east-1.s3"));
    }

    #[test]
    fn unchanged_config_plans_the_prior_state() {
        let c = config(vec![obj(vec![("service", s("sqs"))])]);
        let mut prior = plan_state(Some("us-east-1"), &Tags::new(), &Value::Null, &c, &c).state;
        // Fill what apply would have filled.
        if let Value::Object(f) = &mut prior {
            f.insert("security_group_id".into(), s("sg-0000000000000000a"));
            if let Some(Value::List(bs)) = f.get_mut("endpoint") {
                if let Value::Object(bf) = &mut bs[0] {
                    bf.insert("id".into(), s("vpce-0000000000000000a"));
                    bf.insert("state".into(), s("available"));
                    bf.insert("dns_names".into(), Value::List(vec![]));
                    bf.insert("network_interface_ids".into(), set(&[]));
                    bf.insert("security_group_ids".into(), set(&["sg-0000000000000000a"]));
                }
            }
        }
        let planned = plan_state(Some("us-east-1"), &Tags::new(), &prior, &c, &c);
        assert_eq!(planned.state, prior);
        assert!(planned.requires_replace.is_empty());
    }

    #[test]
    fn rules_are_classified() {
        let rules = vec![
            Rule::https_from(Peer::Group("sg-1".into())),
            Rule::https_from(Peer::Cidr("10.0.0.0/16".into())),
            Rule {
                direction: sg::Direction::Ingress,
                protocol: "tcp".into(),
                from_port: 22,
                to_port: 22,
                peer: Peer::Cidr("0.0.0.0/0".into()),
                id: None,
            },
        ];
        let (g, c, other) = classify_rules(&rules);
        assert_eq!(g, vec!["sg-1"]);
        assert_eq!(c, vec!["10.0.0.0/16"]);
        assert_eq!(other.len(), 1);
    }

    #[test]
    fn near_matches_suggest_close_names() {
        let names: Vec<String> = ["com.amazonaws.us-east-1.sqs", "com.amazonaws.us-east-1.sns", "com.amazonaws.us-east-1.s3"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let n = near_matches("com.amazonaws.us-east-1.sqq", &names);
        assert_eq!(n.first().map(String::as_str), Some("com.amazonaws.us-east-1.sqs"));
    }
}
