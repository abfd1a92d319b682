//! The configuration model: endpoints keyed by service and type, the bundle
//! id, and the bundle as the plan wants it. Service naming, the endpoints'
//! specs and their group's are the endpoint block's (`endpoint`).

use sha2::{Digest, Sha256};

use crate::model::{Attr, Blocks, List, Map, Set, Val};
use crate::parts::security_group::{GroupSpec, Peer};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc_endpoint::{EndpointSpec, Kind};
use crate::resources::endpoint::{self, full_service_name, short_service_name, DesiredEndpoint, Key};
use crate::resources::TimeoutsBlock;

use super::GROUP_PART;

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
        endpoint::inbound_only_applies(service, self.kind(), &self.private_dns_enabled.val)
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

/// What an unnamed bundle's group name starts with (`privatelink-peb-...`);
/// no bundle may be named so, or its name could not be read back.
pub(super) const UNNAMED: &str = "privatelink";

/// The bundle's name in its group's name (`NAME-peb-...`, see
/// `Desired::group_spec`); None for an unnamed bundle's group.
pub(super) fn name_in_group(group: &str, id: &str) -> Option<String> {
    group.strip_suffix(&format!("-{id}")).filter(|n| *n != UNNAMED && !n.is_empty()).map(str::to_string)
}

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
pub struct Desired {
    pub(super) id: String,
    pub(super) name: Option<String>,
    pub(super) vpc_id: String,
    pub(super) allowed_groups: Vec<String>,
    pub(super) allowed_cidrs: Vec<String>,
    pub(super) extra_groups: Vec<String>,
    pub(super) adopt_existing: bool,
    pub(super) tags_all: Tags,
    pub(super) endpoints: Vec<DesiredEndpoint>,
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
        }
    }

    /// Whether the bundle has a Gateway endpoint for `service` (full name).
    pub(super) fn has_gateway(&self, service: &str) -> bool {
        self.endpoints.iter().any(|e| e.key.0 == service && e.key.1 == Kind::Gateway)
    }

    pub(super) fn needs_group(&self) -> bool {
        self.endpoints.iter().any(|e| e.key.1 == Kind::Interface)
    }

    /// The managed group: TCP 443 in from each named client, nothing out.
    pub(super) fn group_spec(&self) -> GroupSpec {
        let groups = self.allowed_groups.iter().map(|g| Peer::Group(g.clone()));
        let cidrs = self.allowed_cidrs.iter().map(|c| Peer::Cidr(c.clone()));
        endpoint::group_spec(
            format!("{}-{}", self.name.as_deref().unwrap_or(UNNAMED), self.id),
            format!("VPC endpoints of bundle {} (managed by terraform-provider-privatelink)", self.id),
            &self.vpc_id,
            tags::with_ownership(&self.tags_all, &self.id, GROUP_PART),
            groups.chain(cidrs).collect(),
        )
    }

    /// An endpoint of the bundle: behind the managed group and the user's.
    pub(super) fn endpoint_spec(&self, e: &DesiredEndpoint, group_id: Option<&str>, client_token: String) -> EndpointSpec {
        let groups = group_id.into_iter().map(str::to_string).chain(self.extra_groups.iter().cloned()).collect();
        e.spec(&self.vpc_id, groups, tags::with_ownership(&self.tags_all, &self.id, &part_name(&e.key)), client_token)
    }
}

#[cfg(test)]
mod limits {
    use super::*;

    /// The managed group is "<name>-<bundle id>": with the longest name
    /// validate allows (100), far within EC2's 255 for a group name.
    #[test]
    fn the_group_name_fits_ec2s_limit() {
        let name = "n".repeat(100);
        let id = bundle_id("vpc-0123456789abcdef0", Some(&name), &[]);
        assert_eq!(id.len(), 20);
        assert!(format!("{name}-{id}").len() <= 255);
    }
}
