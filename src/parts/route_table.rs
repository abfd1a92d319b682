//! Route tables of a VPC with their routes, read-only: the reachability
//! data source looks for a Gateway endpoint's route, a NAT gateway or an
//! internet gateway in each client subnet's table.

use super::{ec2_filter, PartResult};
use crate::aws::call_failed;

const PART: &str = "route table";

/// Where a route sends traffic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `local`: inside the VPC.
    Local,
    /// An internet gateway (igw-...).
    InternetGateway(String),
    /// A NAT gateway (nat-...).
    NatGateway(String),
    /// A Gateway endpoint (vpce-...), whose routes go to its service's
    /// prefix list.
    Endpoint(String),
    /// Anything else (peering, transit gateway, instance, interface...).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// An IPv4 CIDR or a prefix list id (pl-...).
    pub destination: String,
    pub target: Target,
    /// `active`, or `blackhole` when the target is gone.
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub id: String,
    /// The VPC's main table: it serves every subnet not associated with
    /// another one.
    pub main: bool,
    pub subnet_ids: Vec<String>,
    pub routes: Vec<Route>,
}

/// DescribeRouteTables of `vpc_id`, in one call.
pub async fn in_vpc(ec2: &aws_sdk_ec2::Client, vpc_id: &str) -> PartResult<Vec<Table>> {
    let found = ec2
        .describe_route_tables()
        .filters(ec2_filter("vpc-id", [vpc_id]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeRouteTables", &e))?;
    Ok(found.iter().filter_map(table_from_ec2).collect())
}

fn table_from_ec2(t: &aws_sdk_ec2::types::RouteTable) -> Option<Table> {
    let routes = t
        .routes()
        .iter()
        .filter_map(|r| {
            let destination = r.destination_cidr_block().or(r.destination_prefix_list_id())?.to_string();
            Some(Route { destination, target: target_of(r), active: r.state().is_none_or(|s| s.as_str() == "active") })
        })
        .collect();
    Some(Table {
        id: t.route_table_id()?.to_string(),
        main: t.associations().iter().any(|a| a.main().unwrap_or(false)),
        subnet_ids: t.associations().iter().filter_map(|a| a.subnet_id().map(str::to_string)).collect(),
        routes,
    })
}

/// A route's target; a gateway id tells an internet gateway from an
/// endpoint by its prefix, as AWS puts both in GatewayId.
pub(crate) fn target_of(r: &aws_sdk_ec2::types::Route) -> Target {
    if let Some(nat) = r.nat_gateway_id() {
        return Target::NatGateway(nat.to_string());
    }
    match r.gateway_id() {
        Some("local") => Target::Local,
        Some(g) if g.starts_with("igw-") => Target::InternetGateway(g.to_string()),
        Some(g) if g.starts_with("vpce-") => Target::Endpoint(g.to_string()),
        Some(g) => Target::Other(g.to_string()),
        None => Target::Other(
            r.transit_gateway_id()
                .or(r.vpc_peering_connection_id())
                .or(r.network_interface_id())
                .or(r.instance_id())
                .unwrap_or("unknown")
                .to_string(),
        ),
    }
}
