//! What the reachability checks can find: each kind with its name (as the
//! `findings` attribute reports it) and whether it blocks the path.

/// A finding kind. `docs/data-sources/reachability.md` lists every one
/// (a test checks the list is complete).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    ClientNotFound,
    CouldNotCheck,
    FunctionNotInVpc,
    EndpointNotAvailable,
    PrivateDnsOff,
    VpcDnsSupportOff,
    VpcDnsHostnamesOff,
    S3InboundOnlyWithoutGatewayRoute,
    GatewayRouteMissing,
    NoPath,
    InternetGatewayWithoutPublicAddress,
    ThroughNat,
    ClientEgressMissing,
    EndpointIngressMissing,
    AclDeniesClientEgress,
    AclDeniesClientReturn,
    AclDeniesEndpointIngress,
    AclDeniesEndpointReturn,
    EndpointNotInClientZone,
    PolicyDeniesAction,
    PolicyDoesNotAllowAction,
}

impl Kind {
    pub const ALL: [Kind; 21] = [
        Kind::ClientNotFound,
        Kind::CouldNotCheck,
        Kind::FunctionNotInVpc,
        Kind::EndpointNotAvailable,
        Kind::PrivateDnsOff,
        Kind::VpcDnsSupportOff,
        Kind::VpcDnsHostnamesOff,
        Kind::S3InboundOnlyWithoutGatewayRoute,
        Kind::GatewayRouteMissing,
        Kind::NoPath,
        Kind::InternetGatewayWithoutPublicAddress,
        Kind::ThroughNat,
        Kind::ClientEgressMissing,
        Kind::EndpointIngressMissing,
        Kind::AclDeniesClientEgress,
        Kind::AclDeniesClientReturn,
        Kind::AclDeniesEndpointIngress,
        Kind::AclDeniesEndpointReturn,
        Kind::EndpointNotInClientZone,
        Kind::PolicyDeniesAction,
        Kind::PolicyDoesNotAllowAction,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::ClientNotFound => "client_not_found",
            Kind::CouldNotCheck => "could_not_check",
            Kind::FunctionNotInVpc => "function_not_in_vpc",
            Kind::EndpointNotAvailable => "endpoint_not_available",
            Kind::PrivateDnsOff => "private_dns_off",
            Kind::VpcDnsSupportOff => "vpc_dns_support_off",
            Kind::VpcDnsHostnamesOff => "vpc_dns_hostnames_off",
            Kind::S3InboundOnlyWithoutGatewayRoute => "s3_inbound_only_without_gateway_route",
            Kind::GatewayRouteMissing => "gateway_route_missing",
            Kind::NoPath => "no_path",
            Kind::InternetGatewayWithoutPublicAddress => "internet_gateway_without_public_address",
            Kind::ThroughNat => "through_nat",
            Kind::ClientEgressMissing => "client_egress_missing",
            Kind::EndpointIngressMissing => "endpoint_ingress_missing",
            Kind::AclDeniesClientEgress => "acl_denies_client_egress",
            Kind::AclDeniesClientReturn => "acl_denies_client_return",
            Kind::AclDeniesEndpointIngress => "acl_denies_endpoint_ingress",
            Kind::AclDeniesEndpointReturn => "acl_denies_endpoint_return",
            Kind::EndpointNotInClientZone => "endpoint_not_in_client_zone",
            Kind::PolicyDeniesAction => "policy_denies_action",
            Kind::PolicyDoesNotAllowAction => "policy_does_not_allow_action",
        }
    }

    /// Whether the kind, as first reported, blocks the path. Some are
    /// raised to blocking when nothing else carries the traffic (see
    /// `Finding::blocking`).
    pub fn blocks_by_default(self) -> bool {
        !matches!(
            self,
            Kind::CouldNotCheck
                | Kind::FunctionNotInVpc
                | Kind::ThroughNat
                | Kind::EndpointNotInClientZone
                | Kind::PrivateDnsOff
                | Kind::VpcDnsSupportOff
                | Kind::VpcDnsHostnamesOff
                | Kind::EndpointNotAvailable
        )
    }
}

/// One finding: what blocks or weakens a path, on which object, and the
/// fix in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    /// Whether it stops the traffic (else it weakens the path: cost,
    /// privacy, a zone's failure, or a hop left unchecked).
    pub blocking: bool,
    /// The AWS object at fault (an id, or `vpc`).
    pub object: String,
    pub message: String,
    pub fix: String,
}

impl Finding {
    pub fn new(kind: Kind, object: &str, message: String, fix: String) -> Finding {
        Finding { kind, blocking: kind.blocks_by_default(), object: object.to_string(), message, fix }
    }
    pub fn severity(&self) -> &'static str {
        if self.blocking {
            "error"
        } else {
            "warning"
        }
    }
}
