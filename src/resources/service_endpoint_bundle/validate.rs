//! Validation of the configuration alone (no AWS call), run at validate and again at plan.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Attr, Set, Val};
use crate::parts::vpc_endpoint::Kind;
use crate::policy;
use crate::resources::checks;
use crate::resources::composite::Validate;
use crate::resources::endpoint::{self, gateway_capable, short_service_name, GATEWAY_SERVICES, INBOUND_ONLY_SERVICE};

use super::config::{Bundle, EndpointBlock, UNNAMED};
use super::ServiceEndpointBundle;

/// The configuration alone, run at validate and again at plan.
impl Validate for ServiceEndpointBundle {
    fn validate(&self, c: &Bundle) -> Diagnostics {
        let mut d = Diagnostics::default();
        checks::check_id(&mut d, "vpc", &c.vpc_id);
        checks::check_ids(&mut d, "subnet", &c.subnet_ids);
        checks::check_ids(&mut d, "rtb", &c.route_table_ids);
        checks::check_ids(&mut d, "sg", &c.allowed_security_group_ids);
        checks::check_ids(&mut d, "sg", &c.security_group_ids);
        validate_cidrs(&mut d, &c.allowed_cidr_blocks);
        if let Some(name) = c.name.str() {
            if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
                d.push(
                    Diagnostic::error("Invalid name", format!("{name:?}: 1 to 100 letters, digits, '-' or '_'.")).at(c.name.path.clone()),
                );
            } else if name == UNNAMED {
                // An unnamed bundle's group is "privatelink-<bundle id>":
                // this name would read back (import, query) as no name.
                d.push(
                    Diagnostic::error(
                        "Invalid name",
                        format!("{name:?} is what the group of a bundle without a name is called; leave name out, or choose another name."),
                    )
                    .at(c.name.path.clone()),
                );
            } else if name.starts_with("sg-") {
                // The group is "<name>-<bundle id>": at most 121 characters, within
                // EC2's 255, but EC2 refuses group names that start with "sg-".
                d.push(
                    Diagnostic::error(
                        "Invalid name",
                        format!("{name:?} would start the security group's name with \"sg-\", which EC2 refuses; choose another name."),
                    )
                    .at(c.name.path.clone()),
                );
            }
        }
        checks::check_tags(&mut d, &c.tags);
        d.extend(Diagnostics(c.timeouts.validate()));
        validate_endpoints(c, &mut d);
        d
    }
}

fn validate_cidrs(d: &mut Diagnostics, cidrs: &Attr<Set<String>>) {
    for c in cidrs.get().iter().flat_map(|s| s.known()) {
        let at = cidrs.path.clone();
        match crate::validate::cidr(c) {
            Err(e) => d.push(Diagnostic::error("Invalid CIDR block", e).at(at)),
            Ok(()) if c.ends_with("/0") => d.push(
                Diagnostic::error(
                    "CIDR block open to everyone",
                    format!("{c} would let every address that can route to the endpoints connect. Name the clients: their subnets' CIDR blocks, or their security groups in allowed_security_group_ids."),
                )
                .at(at),
            ),
            Ok(()) => {}
        }
    }
}

/// The endpoint's type as written: None while unknown or when invalid
/// (then with an error).
fn written_kind(d: &mut Diagnostics, b: &EndpointBlock) -> Option<Kind> {
    match &b.kind.val {
        Val::Known(t) if t == "Interface" => Some(Kind::Interface),
        Val::Known(t) if t == "Gateway" => Some(Kind::Gateway),
        Val::Known(t) => {
            d.push(
                Diagnostic::error("Invalid endpoint type", format!("{t:?}: expected \"Interface\" or \"Gateway\" (exactly so)."))
                    .at(b.kind.path.clone()),
            );
            None
        }
        Val::Unknown => None,
        Val::Null => Some(Kind::Interface),
    }
}

fn validate_service(d: &mut Diagnostics, b: &EndpointBlock, kind: Option<Kind>, seen: &mut BTreeMap<(String, Kind), usize>, i: usize) {
    let Some(service) = b.service.str() else { return };
    let at = &b.service.path;
    if let Err(e) = endpoint::check_service_name(service) {
        d.push(Diagnostic::error("Invalid service name", e).at(at.clone()));
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
            .at(b.kind.path.clone()),
        );
    }
    if let Some(kind) = kind {
        if let Some(first) = seen.insert((short_service_name(service), kind), i) {
            d.push(
                Diagnostic::error(
                    "Duplicate endpoint",
                    format!("endpoint[{first}] already asks for a {} endpoint to {service:?}; one per service and type.", kind.as_str()),
                )
                .at(at.clone()),
            );
        }
    }
}

/// An Interface endpoint needs subnets, a Gateway endpoint route tables:
/// its own, else the bundle's.
fn validate_placement(d: &mut Diagnostics, c: &Bundle, b: &EndpointBlock, kind: Kind, at: &Path) {
    let effective = |own: &'_ Attr<Set<String>>, bundle: &'_ Attr<Set<String>>| if own.is_null() { bundle.clone() } else { own.clone() };
    let (placement, summary, detail) = match kind {
        Kind::Interface => (
            effective(&b.subnet_ids, &c.subnet_ids),
            "Interface endpoint without subnets",
            "An Interface endpoint lives in subnets: set subnet_ids on the bundle or on this endpoint (one subnet per Availability Zone).",
        ),
        Kind::Gateway => (
            effective(&b.route_table_ids, &c.route_table_ids),
            "Gateway endpoint without route tables",
            "A Gateway endpoint works through route tables: set route_table_ids on the bundle or on this endpoint.",
        ),
    };
    if placement.is_wholly_known() && placement.get().is_none_or(|s| s.is_empty()) {
        d.push(Diagnostic::error(summary, detail).at(at.clone()));
    }
}

fn validate_endpoint(d: &mut Diagnostics, c: &Bundle, b: &EndpointBlock, kind: Option<Kind>) {
    if kind == Some(Kind::Gateway) && !b.private_dns_enabled.is_null() && !b.private_dns_enabled.is_unknown() {
        d.push(
            Diagnostic::error(
                "Private DNS on a Gateway endpoint",
                "Gateway endpoints work through route tables and have no DNS names; remove private_dns_enabled.",
            )
            .at(b.private_dns_enabled.path.clone()),
        );
    }
    if let Some(Err(e)) = b.policy.str().map(policy::validate) {
        d.push(Diagnostic::error("Invalid endpoint policy", e).at(b.policy.path.clone()));
    }
    checks::check_ids(d, "subnet", &b.subnet_ids);
    checks::check_ids(d, "rtb", &b.route_table_ids);
    validate_inbound_only(d, b, kind);
    if let Some(kind) = kind {
        validate_placement(d, c, b, kind, &b.service.path.parent());
    }
}

/// `private_dns_only_for_inbound_resolver_endpoint`, when written, only
/// where AWS takes it. Whether the VPC has the S3 Gateway endpoint that
/// `true` needs is checked at plan (`check_inbound_only`).
fn validate_inbound_only(d: &mut Diagnostics, b: &EndpointBlock, kind: Option<Kind>) {
    let a = &b.private_dns_only_for_inbound_resolver_endpoint;
    let (Some(kind), false) = (kind, a.is_null()) else { return };
    let service = if b.service.is_unknown() { None } else { Some(b.service.str().unwrap_or("")) };
    if endpoint::inbound_only_applies(service, kind, &b.private_dns_enabled.val) != Some(false) {
        return;
    }
    let this = match (kind, service) {
        (Kind::Gateway, _) => "This is a Gateway endpoint, which has no DNS names".to_string(),
        (_, Some(s)) if short_service_name(s) != INBOUND_ONLY_SERVICE => format!("This endpoint is for {s:?}"),
        _ => "This endpoint has private_dns_enabled = false".to_string(),
    };
    d.push(
        Diagnostic::error(
            "private_dns_only_for_inbound_resolver_endpoint does not apply here",
            format!(
                "It is valid only on an Interface endpoint for \"{INBOUND_ONLY_SERVICE}\" with private DNS on (AWS takes the option for no other endpoint). {this}; remove the attribute."
            ),
        )
        .at(a.path.clone()),
    );
}

fn validate_endpoints(c: &Bundle, d: &mut Diagnostics) {
    let mut seen: BTreeMap<(String, Kind), usize> = BTreeMap::new();
    let mut any_interface = false;
    for (i, b) in c.endpoint.0.iter().enumerate() {
        let kind = written_kind(d, b);
        any_interface |= kind == Some(Kind::Interface);
        validate_service(d, b, kind, &mut seen, i);
        validate_endpoint(d, c, b, kind);
    }
    let clients = [&c.allowed_security_group_ids, &c.allowed_cidr_blocks, &c.security_group_ids];
    let all_known = clients.iter().all(|a| a.is_wholly_known());
    let none_given = clients.iter().all(|a| a.get().is_none_or(|s| s.is_empty()));
    if any_interface && all_known && none_given {
        d.push(Diagnostic::error(
            "Nobody may connect to the Interface endpoints",
            "Name the clients in allowed_security_group_ids (e.g. your Lambda functions' group) or allowed_cidr_blocks, or attach your own groups with security_group_ids.",
        ).at(c.allowed_security_group_ids.path.clone()));
    }
}
