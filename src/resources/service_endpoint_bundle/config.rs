//! The configuration model: endpoints keyed by service and type, the bundle id, and what the state recorded.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- config model

crate::model! {
    /// The bundle as Terraform holds it: configuration, plan and state.
    pub struct Bundle {
        id: Attr<String>,
        name: Attr<String>,
        vpc_id: Attr<String>,
        subnet_ids: Attr<Set<String>>,
        route_table_ids: Attr<Set<String>>,
        allowed_security_group_ids: Attr<Set<String>>,
        allowed_cidr_blocks: Attr<Set<String>>,
        security_group_ids: Attr<Set<String>>,
        adopt_existing: Attr<bool>,
        tags: Attr<Map<String>>,
        tags_all: Attr<Map<String>>,
        security_group_id: Attr<String>,
        unexpected_rules: Attr<List<String>>,
        endpoint: Blocks<EndpointBlock>,
        timeouts: TimeoutsBlock,
    }
}

crate::model! {
    /// One `endpoint` block.
    pub struct EndpointBlock {
        service: Attr<String>,
        kind as "type": Attr<String>,
        private_dns_enabled: Attr<bool>,
        private_dns_only_for_inbound_resolver_endpoint: Attr<bool>,
        policy: Attr<String>,
        subnet_ids: Attr<Set<String>>,
        route_table_ids: Attr<Set<String>>,
        id: Attr<String>,
        service_name: Attr<String>,
        state: Attr<String>,
        dns_names: Attr<List<String>>,
        network_interface_ids: Attr<Set<String>>,
        prefix_list_id: Attr<String>,
        security_group_ids: Attr<Set<String>>,
    }
}

impl EndpointBlock {
    /// The block's type; Interface unless it says Gateway.
    pub(super) fn kind(&self) -> Kind {
        match self.kind.str() {
            Some("Gateway") => Kind::Gateway,
            _ => Kind::Interface,
        }
    }

    /// Its service and type, with the service's full name in `region`.
    pub(super) fn key(&self, region: &str) -> Key {
        (full_service_name(self.service.str().unwrap_or(""), region), self.kind())
    }

    /// Whether `private_dns_only_for_inbound_resolver_endpoint` applies to
    /// this (planned) block; None while its service or private DNS is unknown.
    pub(super) fn inbound_only_applies(&self) -> Option<bool> {
        let service = if self.service.is_unknown() { None } else { Some(self.service.str().unwrap_or("")) };
        inbound_only_applies(service, self.kind(), &self.private_dns_enabled.val)
    }
}

/// The one service AWS takes `PrivateDnsOnlyForInboundResolverEndpoint` for:
/// it must offer both Interface and Gateway endpoints, and of the two
/// Gateway services only S3 has Interface endpoints.
pub(super) const INBOUND_ONLY_SERVICE: &str = "s3";

/// Whether `private_dns_only_for_inbound_resolver_endpoint` applies: an
/// Interface endpoint for s3 with private DNS on (null private DNS is the
/// Interface default, on). None while the service (None) or private DNS is
/// unknown.
pub(super) fn inbound_only_applies(service: Option<&str>, kind: Kind, private_dns: &Val<bool>) -> Option<bool> {
    let service = service?;
    if kind != Kind::Interface || short_service_name(service) != INBOUND_ONLY_SERVICE {
        return Some(false);
    }
    match private_dns {
        Val::Known(on) => Some(*on),
        Val::Null => Some(true),
        Val::Unknown => None,
    }
}

/// A set attribute from observed items, keeping null when the user left
/// it null and nothing is there.
pub(super) fn observed_set(prior: &Attr<Set<String>>, items: &[String]) -> Val<Set<String>> {
    if items.is_empty() && prior.is_null() {
        Val::Null
    } else {
        Val::Known(Set::of(items))
    }
}

pub(super) fn is_full_name(service: &str) -> bool {
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
    if parts.len() == 4 && parts[0] == "com" && parts[1] == "amazonaws" && crate::validate::region(parts[2]).is_ok() {
        parts[3].to_string()
    } else {
        full.to_string()
    }
}

pub(super) fn gateway_capable(service: &str) -> bool {
    let short = if is_full_name(service) { short_service_name(service) } else { service.to_string() };
    GATEWAY_SERVICES.contains(&short.as_str())
}

/// What identifies an endpoint inside a bundle: service and type. A change
/// of either replaces that endpoint only.
pub type Key = (String, Kind);

pub(super) fn part_name(key: &Key) -> String {
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
pub(super) struct Desired {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) vpc_id: String,
    pub(super) allowed_groups: Vec<String>,
    pub(super) allowed_cidrs: Vec<String>,
    pub(super) extra_groups: Vec<String>,
    pub(super) adopt_existing: bool,
    pub(super) tags_all: Tags,
    pub(super) endpoints: Vec<DesiredEndpoint>,
    pub(super) timeouts: Timeouts,
}

#[derive(Debug, Clone)]
pub(super) struct DesiredEndpoint {
    pub(super) key: Key,
    pub(super) private_dns: Option<bool>,
    /// `private_dns_only_for_inbound_resolver_endpoint` as planned: None
    /// where it does not apply, and where the plan could not settle it
    /// (the VPC unknown then): apply settles it (`settle_inbound_only`).
    pub(super) inbound_only: Option<bool>,
    pub(super) inbound_only_applies: bool,
    pub(super) policy: Option<String>,
    pub(super) subnet_ids: Vec<String>,
    pub(super) route_table_ids: Vec<String>,
}

impl Desired {
    pub(super) fn from_planned(planned: &Bundle, region: &str) -> Desired {
        let endpoints = planned
            .endpoint
            .0
            .iter()
            .map(|b| DesiredEndpoint {
                key: b.key(region),
                private_dns: b.private_dns_enabled.bool(),
                inbound_only: b.private_dns_only_for_inbound_resolver_endpoint.bool(),
                inbound_only_applies: b.inbound_only_applies() == Some(true),
                policy: b.policy.owned(),
                subnet_ids: b.subnet_ids.strings(),
                route_table_ids: b.route_table_ids.strings(),
            })
            .collect();
        Desired {
            id: planned.id.owned().unwrap_or_default(),
            name: planned.name.owned(),
            vpc_id: planned.vpc_id.owned().unwrap_or_default(),
            allowed_groups: planned.allowed_security_group_ids.strings(),
            allowed_cidrs: planned.allowed_cidr_blocks.strings(),
            extra_groups: planned.security_group_ids.strings(),
            adopt_existing: planned.adopt_existing.bool().unwrap_or(false),
            tags_all: planned.tags_all.entries(),
            endpoints,
            timeouts: planned.timeouts.limits(Timeouts::DEFAULT),
        }
    }

    /// Whether the bundle has a Gateway endpoint for `service` (full name).
    pub(super) fn has_gateway(&self, service: &str) -> bool {
        self.endpoints.iter().any(|e| e.key.0 == service && e.key.1 == Kind::Gateway)
    }

    pub(super) fn needs_group(&self) -> bool {
        self.endpoints.iter().any(|e| e.key.1 == Kind::Interface)
    }

    /// The managed group's rules: TCP 443 in from each named client, nothing out.
    pub(super) fn rules(&self) -> Vec<Rule> {
        let groups = self.allowed_groups.iter().map(|g| Rule::https_from(Peer::Group(g.clone())));
        let cidrs = self.allowed_cidrs.iter().map(|c| Rule::https_from(Peer::Cidr(c.clone())));
        groups.chain(cidrs).collect()
    }

    pub(super) fn group_spec(&self) -> GroupSpec {
        GroupSpec {
            name: format!("{}-{}", self.name.as_deref().unwrap_or("privatelink"), self.id),
            description: format!("VPC endpoints of bundle {} (managed by terraform-provider-privatelink)", self.id),
            vpc_id: self.vpc_id.clone(),
            tags: tags::with_ownership(&self.tags_all, &self.id, GROUP_PART),
            rules: self.rules(),
        }
    }

    pub(super) fn endpoint_spec(&self, e: &DesiredEndpoint, group_id: Option<&str>, client_token: String) -> EndpointSpec {
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
            private_dns_only_for_inbound_resolver_endpoint: if e.inbound_only_applies { e.inbound_only } else { None },
            policy: e.policy.clone(),
            tags: tags::with_ownership(&self.tags_all, &self.id, &part_name(&e.key)),
            client_token,
        }
    }
}
