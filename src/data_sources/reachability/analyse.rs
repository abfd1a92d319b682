//! Every hop from a client (its subnets and security groups) to an AWS
//! service, judged from facts already read (pure): which path the SDK's
//! default host takes, and what blocks or weakens it.

use std::collections::BTreeSet;

use super::findings::{Finding, Kind};
use super::net::{acl_passes, covers, Blocked, ANYWHERE, EPHEMERAL, HTTPS};
use crate::parts::network_acl::Acl;
use crate::parts::route_table::{Table, Target};
use crate::parts::security_group::{Direction, Group, Peer, Rule};
use crate::parts::vpc::Subnet;
use crate::parts::vpc_endpoint::{Endpoint, Kind as EndpointKind};
use crate::policy::evaluate::{decide, Decision};
use crate::resources::endpoint;

/// The function whose network is checked, when one was named.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionFacts {
    pub name: String,
    pub timeout_seconds: i32,
    pub role_arn: String,
    pub in_vpc: bool,
    /// `Active` tracing: the function also sends to X-Ray.
    pub traced: bool,
}

/// What was read about the client's VPC. `None`: that read was refused
/// (its hops are reported as not checked, see `unreadable`).
#[derive(Debug, Clone, Default)]
pub struct Network {
    pub region: String,
    pub function: Option<FunctionFacts>,
    pub client_subnet_ids: Vec<String>,
    pub client_group_ids: Vec<String>,
    pub dns_support: Option<bool>,
    pub dns_hostnames: Option<bool>,
    pub subnets: Option<Vec<Subnet>>,
    pub endpoints: Option<Vec<Endpoint>>,
    pub groups: Option<Vec<Group>>,
    pub acls: Option<Vec<Acl>>,
    pub tables: Option<Vec<Table>>,
    /// Reads AWS refused: (call, AWS's answer).
    pub unreadable: Vec<(String, String)>,
    /// The function or subnets asked about do not exist (what is missing).
    pub missing: Option<String>,
}

impl Network {
    fn subnet(&self, id: &str) -> Option<&Subnet> {
        self.subnets.as_deref().unwrap_or_default().iter().find(|s| s.id == id)
    }

    fn groups(&self, ids: &[String]) -> Vec<&Group> {
        self.groups.as_deref().unwrap_or_default().iter().filter(|g| ids.contains(&g.id)).collect()
    }
}

/// A service asked about: as the user wrote it, AWS's full name, and the
/// actions to check against endpoint policies.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub name: String,
    pub service_name: String,
    pub actions: Vec<String>,
}

impl Ask {
    /// `sqs`, `ecr.api` or `com.amazonaws.us-east-1.sqs`, in `region`: named
    /// as the endpoint block names services, so a short name with a dot
    /// (`ecr.api`) is still short.
    pub fn new(name: &str, region: &str, actions: Vec<String>) -> Ask {
        Ask { name: name.to_string(), service_name: endpoint::full_service_name(name, region), actions }
    }
    /// The service name after `com.amazonaws.REGION.`: `sqs`, `s3`, `ecr.api`...
    pub fn short(&self) -> String {
        endpoint::short_service_name(&self.service_name)
    }
    /// The host the AWS SDKs call by default in `region`.
    pub fn default_host(&self, region: &str) -> String {
        format!("{}.{region}.amazonaws.com", self.short())
    }
    fn has_gateway_kind(&self) -> bool {
        matches!(self.short().as_str(), "s3" | "dynamodb")
    }
}

/// How traffic leaves for the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathKind {
    InterfaceEndpoint,
    GatewayEndpoint,
    NatGateway,
    InternetGateway,
    /// A function outside any VPC: Lambda's own network.
    LambdaNetwork,
    None,
}

impl PathKind {
    pub fn name(&self) -> &'static str {
        match self {
            PathKind::InterfaceEndpoint => "interface_endpoint",
            PathKind::GatewayEndpoint => "gateway_endpoint",
            PathKind::NatGateway => "nat_gateway",
            PathKind::InternetGateway => "internet_gateway",
            PathKind::LambdaNetwork => "lambda_network",
            PathKind::None => "none",
        }
    }
}

/// Which addresses the default host resolves to, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dns {
    pub host: String,
    /// `vpce-...` (the endpoint's private addresses) or `public`.
    pub resolves_to: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub name: String,
    pub service_name: String,
    pub path: PathKind,
    /// The object carrying the path: endpoint, NAT or internet gateway id.
    pub path_id: String,
    pub dns: Dns,
    pub findings: Vec<Finding>,
}

impl Report {
    /// Reachable unless a finding blocks the path.
    pub fn reachable(&self) -> bool {
        !self.findings.iter().any(|f| f.blocking)
    }
}

/// The report for one service.
pub fn analyse(net: &Network, ask: &Ask) -> Report {
    let host = ask.default_host(&net.region);
    let mut findings = vec![];
    for (call, answer) in &net.unreadable {
        findings.push(Finding::new(
            Kind::CouldNotCheck,
            call,
            format!("{call} was refused ({answer}), so the hops it reads were not checked."),
            format!("Allow {call} to the credentials Terraform uses."),
        ));
    }
    if let Some(what) = &net.missing {
        findings.push(Finding::new(
            Kind::ClientNotFound,
            what,
            format!("{what} does not exist in {}: there is nothing to check.", net.region),
            "Check the name and region, or create it first.".to_string(),
        ));
        let dns = Dns { host, resolves_to: String::new(), reason: "Not checked: the client does not exist.".into() };
        return Report {
            name: ask.name.clone(),
            service_name: ask.service_name.clone(),
            path: PathKind::None,
            path_id: String::new(),
            dns,
            findings,
        };
    }
    if let Some(f) = net.function.as_ref().filter(|f| !f.in_vpc) {
        findings.push(Finding::new(
            Kind::FunctionNotInVpc,
            &f.name,
            format!(
                "Lambda function {} is not in a VPC: it reaches {} over Lambda's own network, not through this VPC.",
                f.name,
                ask.short()
            ),
            "Give the function subnets and security groups (vpc_config) to keep its traffic private.".to_string(),
        ));
        let dns =
            Dns { host, resolves_to: "public".into(), reason: "The function is outside any VPC, where the name resolves publicly.".into() };
        return Report {
            name: ask.name.clone(),
            service_name: ask.service_name.clone(),
            path: PathKind::LambdaNetwork,
            path_id: String::new(),
            dns,
            findings,
        };
    }
    let mut v = Walk { net, ask, findings };
    let (path, path_id, dns) = v.path(host);
    if path == PathKind::None {
        // Nothing carries the traffic: what kept it off an endpoint is
        // why, not a mere weakness.
        let causes = [Kind::PrivateDnsOff, Kind::VpcDnsSupportOff, Kind::VpcDnsHostnamesOff, Kind::EndpointNotAvailable];
        for f in v.findings.iter_mut().filter(|f| causes.contains(&f.kind)) {
            f.blocking = true;
        }
    }
    Report { name: ask.name.clone(), service_name: ask.service_name.clone(), path, path_id, dns, findings: v.findings }
}

/// One service's checks, gathering findings as they go.
struct Walk<'a> {
    net: &'a Network,
    ask: &'a Ask,
    findings: Vec<Finding>,
}

impl<'a> Walk<'a> {
    fn add(&mut self, kind: Kind, object: &str, message: String, fix: String) {
        self.findings.push(Finding::new(kind, object, message, fix));
    }

    fn endpoints(&self, kind: EndpointKind) -> Vec<&'a Endpoint> {
        let all = self.net.endpoints.as_deref().unwrap_or_default();
        all.iter()
            .filter(|e| e.service_name == self.ask.service_name && e.kind == kind && !matches!(e.state.as_str(), "deleting" | "deleted"))
            .collect()
    }

    /// The usable endpoint of `kind`, reporting those that are not usable.
    fn usable(&mut self, kind: EndpointKind) -> Option<&'a Endpoint> {
        let found = self.endpoints(kind);
        if let Some(e) = found.iter().find(|e| e.state == "available") {
            return Some(e);
        }
        for e in found {
            self.add(
                Kind::EndpointNotAvailable,
                &e.id,
                format!("Endpoint {} for {} is {}, not available: it carries no traffic.", e.id, self.ask.short(), e.state),
                match e.state.as_str() {
                    "pending" => "Wait until it is available (a few minutes after it is made).".to_string(),
                    "pendingacceptance" => "Accept the connection on the service's side.".to_string(),
                    _ => "Delete it and make it again.".to_string(),
                },
            );
        }
        None
    }

    /// The path of the default host, and every finding on it.
    fn path(&mut self, host: String) -> (PathKind, String, Dns) {
        let interface = self.usable(EndpointKind::Interface);
        let gateway = if self.ask.has_gateway_kind() { self.usable(EndpointKind::Gateway) } else { None };
        if let Some(e) = interface {
            match self.private_name_answers(e) {
                Ok(reason) => {
                    self.interface_hops(e);
                    self.policy(e);
                    let dns = Dns { host, resolves_to: e.id.clone(), reason };
                    return (PathKind::InterfaceEndpoint, e.id.clone(), dns);
                }
                Err(reason) => {
                    let dns = Dns { host, resolves_to: "public".into(), reason };
                    return self.public_path(gateway, dns, Some(e));
                }
            }
        }
        let reason = if gateway.is_some() {
            format!("No Interface endpoint for {} in the VPC: the name resolves to the service's public addresses.", self.ask.short())
        } else {
            format!("No endpoint for {} in the VPC: the name resolves to the service's public addresses.", self.ask.short())
        };
        self.public_path(gateway, Dns { host, resolves_to: "public".into(), reason }, None)
    }

    /// Ok(why) when the endpoint's private name answers inside the VPC;
    /// Err(why not), with its findings.
    fn private_name_answers(&mut self, e: &Endpoint) -> Result<String, String> {
        let short = self.ask.short();
        if !e.private_dns_enabled {
            self.add(
                Kind::PrivateDnsOff,
                &e.id,
                format!(
                    "Endpoint {} has private DNS off, so {} still resolves to public addresses and skips it.",
                    e.id,
                    self.ask.default_host(&self.net.region)
                ),
                "Turn private DNS on for the endpoint, or point the SDK at the endpoint's own DNS name.".to_string(),
            );
            return Err(format!("Endpoint {} has private DNS off.", e.id));
        }
        for (on, attribute, kind) in [
            (self.net.dns_support, "enableDnsSupport", Kind::VpcDnsSupportOff),
            (self.net.dns_hostnames, "enableDnsHostnames", Kind::VpcDnsHostnamesOff),
        ] {
            if on == Some(false) {
                self.add(
                    kind,
                    "vpc",
                    format!("The VPC has {attribute} off, so endpoint {}'s private name for {short} does not resolve in it.", e.id),
                    format!("Turn {attribute} on for the VPC (both DNS attributes are needed for private DNS)."),
                );
                return Err(format!("The VPC has {attribute} off."));
            }
        }
        if short == "s3" && e.private_dns_only_for_inbound_resolver_endpoint == Some(true) {
            return Err(format!(
                "Endpoint {} answers its private name only to Route 53 inbound resolver queries (private_dns_only_for_inbound_resolver_endpoint); inside the VPC the name resolves to S3's public addresses, reached through a Gateway endpoint.",
                e.id
            ));
        }
        Ok(format!("Private DNS of endpoint {} with the VPC's DNS support and hostnames on: the name resolves to the endpoint's private addresses.", e.id))
    }

    /// The path public addresses take from each client subnet: a Gateway
    /// endpoint's route, else a NAT or internet gateway, else none.
    fn public_path(&mut self, gateway: Option<&'a Endpoint>, dns: Dns, interface: Option<&Endpoint>) -> (PathKind, String, Dns) {
        let net = self.net;
        let Some(tables) = net.tables.as_deref() else { return (PathKind::None, String::new(), dns) };
        let mut chosen: Option<(PathKind, String)> = None;
        // Each table once, with the client subnets it serves.
        let mut served: Vec<(&Table, Vec<String>)> = vec![];
        for subnet in &net.client_subnet_ids {
            let Some(table) = table_of(tables, subnet) else { continue };
            match served.iter_mut().find(|(t, _)| t.id == table.id) {
                Some((_, subnets)) => subnets.push(subnet.clone()),
                None => served.push((table, vec![subnet.clone()])),
            }
        }
        for (table, subnets) in served {
            let (kind, id) = self.route_out(table, &subnets.join(", "), gateway, interface);
            // The weakest subnet decides: None over NAT/IGW over endpoint.
            let rank = |k: &PathKind| match k {
                PathKind::None => 0,
                PathKind::InternetGateway => 1,
                PathKind::NatGateway => 2,
                _ => 3,
            };
            if chosen.as_ref().is_none_or(|(k, _)| rank(&kind) < rank(k)) {
                chosen = Some((kind, id));
            }
        }
        let (kind, id) = chosen.unwrap_or((PathKind::None, String::new()));
        match kind {
            PathKind::GatewayEndpoint => {
                if let Some(g) = gateway {
                    self.egress_to_public(Some(g));
                    self.policy(g);
                }
            }
            PathKind::NatGateway | PathKind::InternetGateway => self.egress_to_public(None),
            _ => {}
        }
        (kind, id, dns)
    }

    /// How public traffic leaves `subnet` through `table`, with findings.
    fn route_out(&mut self, table: &Table, subnet: &str, gateway: Option<&Endpoint>, interface: Option<&Endpoint>) -> (PathKind, String) {
        let short = self.ask.short();
        // AWS lists the endpoint's tables on it and puts its route in each;
        // either says the table is served (moto adds the route only for
        // tables given at create).
        let on_table = |g: &&Endpoint| {
            g.route_table_ids.contains(&table.id) || table.routes.iter().any(|r| r.active && r.target == Target::Endpoint(g.id.clone()))
        };
        if let Some(g) = gateway.filter(on_table) {
            return (PathKind::GatewayEndpoint, g.id.clone());
        }
        let default = table.routes.iter().find(|r| r.active && r.destination == ANYWHERE).map(|r| r.target.clone());
        let out = match (&default, &self.net.function) {
            (Some(Target::NatGateway(nat)), _) => (PathKind::NatGateway, nat.clone()),
            // A VPC function's interfaces never have a public address.
            (Some(Target::InternetGateway(igw)), None) => (PathKind::InternetGateway, igw.clone()),
            _ => (PathKind::None, String::new()),
        };
        let stuck = out.0 == PathKind::None;
        let hang = match &self.net.function {
            Some(f) => format!("calls hang until Lambda function {}'s {} s timeout", f.name, f.timeout_seconds),
            None => "calls hang until the client's own timeout".to_string(),
        };
        if let Some(g) = gateway {
            let inbound_only = interface.is_some_and(|i| i.private_dns_only_for_inbound_resolver_endpoint == Some(true));
            let why = if inbound_only {
                format!(
                    ", and S3 Interface endpoint {} answers its private name only to inbound resolvers",
                    interface.map(|i| i.id.as_str()).unwrap_or("")
                )
            } else {
                String::new()
            };
            let outcome = if stuck { format!(": {hang}") } else { format!(", so its traffic takes {} instead", out.1) };
            self.findings.push(Finding {
                blocking: stuck,
                ..Finding::new(
                    if inbound_only { Kind::S3InboundOnlyWithoutGatewayRoute } else { Kind::GatewayRouteMissing },
                    &table.id,
                    format!("Gateway endpoint {} for {short} is not on route table {} of {subnet}{why}{outcome}.", g.id, table.id),
                    format!("Add route table {} to Gateway endpoint {}'s route tables.", table.id, g.id),
                )
            });
        }
        match (&default, &out.0) {
            (_, PathKind::NatGateway) => self.add(
                Kind::ThroughNat,
                &out.1,
                format!(
                    "{short} is reached from {subnet} through NAT gateway {}: it works, and every GB is billed as NAT processing.",
                    out.1
                ),
                format!("Add an endpoint for {short} to keep the traffic private and off the NAT bill."),
            ),
            (Some(Target::InternetGateway(igw)), PathKind::None) => self.add(
                Kind::InternetGatewayWithoutPublicAddress,
                igw,
                format!(
                    "{subnet} routes to internet gateway {igw}, but a Lambda function's network interfaces have no public address: {hang}."
                ),
                format!("Add an endpoint for {short}, or route the subnet through a NAT gateway."),
            ),
            (_, PathKind::None) if gateway.is_none() => self.add(
                Kind::NoPath,
                &table.id,
                format!(
                    "{}, and route table {} of {subnet} has no NAT or internet route: {hang}.",
                    if interface.is_some() {
                        format!("{short}'s name resolves to its public addresses")
                    } else {
                        format!("No endpoint for {short} in the VPC")
                    },
                    table.id
                ),
                format!("Add an endpoint for {short} (privatelink_service_endpoint_bundle)."),
            ),
            _ => {}
        }
        out
    }

    /// Security groups and network ACLs between the client and an
    /// Interface endpoint, both ways, and the zones it serves.
    fn interface_hops(&mut self, e: &Endpoint) {
        let short = self.ask.short();
        let clients: Vec<&Subnet> = self.net.client_subnet_ids.iter().filter_map(|s| self.net.subnet(s)).collect();
        let targets: Vec<&Subnet> = e.subnet_ids.iter().filter_map(|s| self.net.subnet(s)).collect();
        if self.net.groups.is_some() {
            let client_groups = self.net.groups(&self.net.client_group_ids);
            let ok = targets.iter().all(|t| {
                client_groups.iter().any(|g| g.rules.iter().any(|r| allows(r, Direction::Egress, &e.security_group_ids, &t.cidr_block)))
            });
            if !ok {
                self.add(
                    Kind::ClientEgressMissing,
                    &self.net.client_group_ids.join(","),
                    format!(
                        "No egress rule of the client's groups ({}) allows TCP 443 to endpoint {}'s groups ({}) or subnets.",
                        self.net.client_group_ids.join(", "),
                        e.id,
                        e.security_group_ids.join(", ")
                    ),
                    format!(
                        "Add egress TCP 443 to {} to one of the client's groups.",
                        e.security_group_ids.first().map(String::as_str).unwrap_or("the endpoint's group")
                    ),
                );
            }
            let endpoint_groups = self.net.groups(&e.security_group_ids);
            let ok = clients.iter().all(|c| {
                endpoint_groups
                    .iter()
                    .any(|g| g.rules.iter().any(|r| allows(r, Direction::Ingress, &self.net.client_group_ids, &c.cidr_block)))
            });
            if !ok {
                self.add(
                    Kind::EndpointIngressMissing,
                    &e.security_group_ids.join(","),
                    format!(
                        "No ingress rule of endpoint {}'s groups ({}) allows TCP 443 from the client's groups ({}) or subnets.",
                        e.id,
                        e.security_group_ids.join(", "),
                        self.net.client_group_ids.join(", ")
                    ),
                    format!(
                        "Add ingress TCP 443 from {} to the endpoint's group.",
                        self.net.client_group_ids.first().map(String::as_str).unwrap_or("the client's group")
                    ),
                );
            }
        }
        let net = self.net;
        if let Some(acls) = net.acls.as_deref() {
            for c in &clients {
                // Traffic inside one subnet never crosses its ACL.
                for t in targets.iter().filter(|t| t.id != c.id) {
                    for hop in [
                        AclHop::outbound(
                            c,
                            HTTPS,
                            &t.cidr_block,
                            Kind::AclDeniesClientEgress,
                            format!("TCP 443 to endpoint subnet {}", t.id),
                        ),
                        AclHop::inbound(
                            c,
                            EPHEMERAL,
                            &t.cidr_block,
                            Kind::AclDeniesClientReturn,
                            format!("the replies (TCP 1024-65535) from endpoint subnet {}", t.id),
                        ),
                        AclHop::inbound(
                            t,
                            HTTPS,
                            &c.cidr_block,
                            Kind::AclDeniesEndpointIngress,
                            format!("TCP 443 from client subnet {}", c.id),
                        ),
                        AclHop::outbound(
                            t,
                            EPHEMERAL,
                            &c.cidr_block,
                            Kind::AclDeniesEndpointReturn,
                            format!("the replies (TCP 1024-65535) to client subnet {}", c.id),
                        ),
                    ] {
                        self.acl_hop(acls, hop);
                    }
                }
            }
        }
        let zones: BTreeSet<&str> = targets.iter().map(|t| t.availability_zone.as_str()).collect();
        for c in clients.iter().filter(|c| !zones.contains(c.availability_zone.as_str())) {
            self.add(
                Kind::EndpointNotInClientZone,
                &e.id,
                format!("Endpoint {} has no subnet in {} ({}): calls from there cross zones, billed per GB, and fail with that zone's endpoint subnet.", e.id, c.availability_zone, c.id),
                format!("Add a subnet in {} to the endpoint for {short}.", c.availability_zone),
            );
        }
    }

    /// One ACL hop, reported once per ACL and direction.
    fn acl_hop(&mut self, acls: &[Acl], hop: AclHop) {
        let Some(acl) = acl_of(acls, &hop.subnet.id) else { return };
        let Err(Blocked { rule_number, port }) = acl_passes(acl, hop.egress, hop.ports, hop.peer) else { return };
        if self.findings.iter().any(|f| f.kind == hop.kind && f.object == acl.id) {
            return;
        }
        let rule = rule_number.map(|n| format!("rule {n}")).unwrap_or_else(|| "its final * rule (no rule allows it)".to_string());
        let (way, what) = (if hop.egress { "outbound" } else { "inbound" }, hop.what);
        self.add(
            hop.kind,
            &acl.id,
            format!("Network ACL {} of {} denies {what} at {rule} (port {port} is refused).", acl.id, hop.subnet.id),
            format!("Allow {way} {what} in network ACL {} before {rule}.", acl.id),
        );
    }

    /// Client groups' egress and ACLs to public addresses (a Gateway
    /// endpoint's prefix list, or anywhere through a NAT/internet gateway).
    fn egress_to_public(&mut self, gateway: Option<&Endpoint>) {
        let short = self.ask.short();
        let prefix_lists: Vec<String> = gateway
            .map(|g| {
                let tables = self.net.tables.as_deref().unwrap_or_default();
                let mut ids: Vec<String> = g.prefix_list_id.iter().cloned().collect();
                ids.extend(
                    tables
                        .iter()
                        .flat_map(|t| &t.routes)
                        .filter(|r| r.target == Target::Endpoint(g.id.clone()))
                        .map(|r| r.destination.clone()),
                );
                ids
            })
            .unwrap_or_default();
        if self.net.groups.is_some() {
            let client_groups = self.net.groups(&self.net.client_group_ids);
            let ok = client_groups.iter().any(|g| {
                g.rules.iter().any(|r| {
                    r.direction == Direction::Egress
                        && carries_https(r)
                        && match &r.peer {
                            Peer::PrefixList(pl) => prefix_lists.contains(pl),
                            Peer::Cidr(c) => covers(c, ANYWHERE),
                            Peer::Group(_) => false,
                        }
                })
            });
            if !ok {
                let to = prefix_lists.first().map(|pl| format!("prefix list {pl}")).unwrap_or_else(|| ANYWHERE.to_string());
                self.add(
                    Kind::ClientEgressMissing,
                    &self.net.client_group_ids.join(","),
                    format!(
                        "No egress rule of the client's groups ({}) allows TCP 443 to {to}, where {short}'s public addresses are.",
                        self.net.client_group_ids.join(", ")
                    ),
                    format!("Add egress TCP 443 to {to} to one of the client's groups."),
                );
            }
        }
        let net = self.net;
        if let Some(acls) = net.acls.as_deref() {
            for c in net.client_subnet_ids.iter().filter_map(|s| net.subnet(s)) {
                for hop in [
                    AclHop::outbound(
                        c,
                        HTTPS,
                        ANYWHERE,
                        Kind::AclDeniesClientEgress,
                        format!("TCP 443 to {short}'s public addresses ({ANYWHERE})"),
                    ),
                    AclHop::inbound(
                        c,
                        EPHEMERAL,
                        ANYWHERE,
                        Kind::AclDeniesClientReturn,
                        format!("the replies (TCP 1024-65535) from {short}'s public addresses ({ANYWHERE})"),
                    ),
                ] {
                    self.acl_hop(acls, hop);
                }
            }
        }
    }

    /// The endpoint's policy against the actions asked about.
    fn policy(&mut self, e: &Endpoint) {
        let Some(doc) = e.policy.as_deref() else { return };
        let caller = self.net.function.as_ref().map(|f| f.role_arn.clone());
        let ask = self.ask;
        for action in &ask.actions {
            match decide(doc, action, caller.as_deref()) {
                Decision::Allowed => {}
                Decision::Denied(sid) => self.add(
                    Kind::PolicyDeniesAction,
                    &e.id,
                    format!("Endpoint {}'s policy denies {action} (statement {sid}): the call is refused with AccessDenied.", e.id),
                    format!("Remove {action} from statement {sid} of the endpoint policy."),
                ),
                Decision::NotAllowed => self.add(
                    Kind::PolicyDoesNotAllowAction,
                    &e.id,
                    format!("Endpoint {}'s policy has no statement allowing {action}: the call is refused with AccessDenied.", e.id),
                    format!("Allow {action} in the endpoint policy."),
                ),
            }
        }
    }
}

/// One direction of TCP traffic across one subnet's network ACL: to or
/// from `peer` (a CIDR) on `ports`, reported as `kind`, `what` saying it.
struct AclHop<'s> {
    subnet: &'s Subnet,
    egress: bool,
    ports: (i32, i32),
    peer: &'s str,
    kind: Kind,
    what: String,
}

impl<'s> AclHop<'s> {
    fn outbound(subnet: &'s Subnet, ports: (i32, i32), peer: &'s str, kind: Kind, what: String) -> Self {
        AclHop { subnet, egress: true, ports, peer, kind, what }
    }
    fn inbound(subnet: &'s Subnet, ports: (i32, i32), peer: &'s str, kind: Kind, what: String) -> Self {
        AclHop { subnet, egress: false, ports, peer, kind, what }
    }
}

fn carries_https(r: &Rule) -> bool {
    r.protocol == "-1" || (r.protocol == "tcp" || r.protocol == "6") && r.from_port <= 443 && 443 <= r.to_port
}

/// Whether rule `r` (of `direction`) lets TCP 443 through to or from one
/// of `groups`, or a CIDR covering `cidr`.
fn allows(r: &Rule, direction: Direction, groups: &[String], cidr: &str) -> bool {
    r.direction == direction
        && carries_https(r)
        && match &r.peer {
            Peer::Group(g) => groups.contains(g),
            Peer::Cidr(c) => covers(c, cidr),
            Peer::PrefixList(_) => false,
        }
}

/// The route table serving `subnet`: its own association, else the main one.
pub fn table_of<'t>(tables: &'t [Table], subnet: &str) -> Option<&'t Table> {
    tables.iter().find(|t| t.subnet_ids.iter().any(|s| s == subnet)).or_else(|| tables.iter().find(|t| t.main))
}

/// The network ACL of `subnet`: its association, else the VPC's default.
pub fn acl_of<'t>(acls: &'t [Acl], subnet: &str) -> Option<&'t Acl> {
    acls.iter().find(|a| a.subnet_ids.iter().any(|s| s == subnet)).or_else(|| acls.iter().find(|a| a.is_default))
}
