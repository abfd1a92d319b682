//! The reads behind a reachability check, batched: the function (if
//! named), the client's subnets, then everything of the VPC at once, then
//! the groups of the client and of the endpoints. A read AWS refuses for
//! lack of permission becomes a finding (`Network::unreadable`), not a
//! failure: the hops it feeds are reported as not checked.

use std::future::Future;

use super::analyse::{FunctionFacts, Network};
use crate::aws::is_access_denied;
use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::parts::{function, network_acl, route_table, security_group, vpc, vpc_endpoint, PartResult};

/// Who is asking: a function's name, or subnets and groups.
pub enum Client {
    Function(String),
    Network { subnet_ids: Vec<String>, group_ids: Vec<String> },
}

/// A read's answer, or None with the refusal recorded in `unreadable`.
async fn tolerate<T>(
    unreadable: &std::sync::Mutex<Vec<(String, String)>>,
    call: &str,
    read: impl Future<Output = PartResult<T>>,
) -> Result<Option<T>, Diagnostic> {
    match read.await {
        Ok(t) => Ok(Some(t)),
        Err(d) if is_access_denied(&d) => {
            unreadable.lock().unwrap().push((call.to_string(), d.detail.clone()));
            Ok(None)
        }
        Err(d) => Err(d),
    }
}

/// Everything `analyse` needs about `client`'s network.
pub async fn network(ctx: &Ctx, client: &Client) -> Result<Network, Diagnostic> {
    let unreadable = std::sync::Mutex::new(vec![]);
    let mut net = Network { region: ctx.aws.region.clone(), ..Network::default() };
    match client {
        Client::Function(name) => {
            let Some(found) = tolerate(&unreadable, "lambda:GetFunction", function::find(&ctx.aws.lambda, name)).await? else {
                net.unreadable = unreadable.into_inner().unwrap();
                return Ok(net);
            };
            // Not an error: in a check, a function deleted behind
            // Terraform's back must not fail the plan that would repair it.
            let Some(f) = found else {
                net.missing = Some(format!("Lambda function {name}"));
                return Ok(net);
            };
            net.function = Some(FunctionFacts {
                name: f.name.clone(),
                timeout_seconds: f.timeout,
                role_arn: f.role_arn.clone(),
                in_vpc: !f.subnet_ids.is_empty(),
                traced: f.settings.tracing_mode == "Active",
            });
            net.client_subnet_ids = f.subnet_ids;
            net.client_group_ids = f.security_group_ids;
            if net.client_subnet_ids.is_empty() {
                return Ok(net);
            }
        }
        Client::Network { subnet_ids, group_ids } => {
            net.client_subnet_ids = subnet_ids.clone();
            net.client_group_ids = group_ids.clone();
        }
    }
    let ec2 = &ctx.aws.ec2;
    // The VPC comes from the subnets: a function's VpcConfig.VpcId is not
    // relied on (moto reports a placeholder there).
    let client_subnets = vpc::subnets(ec2, &net.client_subnet_ids).await?;
    let Some(vpc_id) = client_subnets.first().map(|s| s.vpc_id.clone()) else {
        net.missing = Some(format!("subnet {}", net.client_subnet_ids.join(", ")));
        return Ok(net);
    };
    let u = &unreadable;
    let (dns, endpoints, acls, tables, subnets) = futures::try_join!(
        tolerate(u, "ec2:DescribeVpcAttribute", vpc::dns_attributes(ec2, &vpc_id)),
        tolerate(u, "ec2:DescribeVpcEndpoints", vpc_endpoint::find_in_vpc(ec2, &vpc_id)),
        tolerate(u, "ec2:DescribeNetworkAcls", network_acl::in_vpc(ec2, &vpc_id)),
        tolerate(u, "ec2:DescribeRouteTables", route_table::in_vpc(ec2, &vpc_id)),
        tolerate(u, "ec2:DescribeSubnets", vpc::subnets_in_vpc(ec2, &vpc_id)),
    )?;
    let mut group_ids = net.client_group_ids.clone();
    for e in endpoints.iter().flatten() {
        group_ids.extend(e.security_group_ids.iter().cloned());
    }
    group_ids.sort();
    group_ids.dedup();
    let groups = tolerate(u, "ec2:DescribeSecurityGroups", security_group::find_many(ec2, &group_ids)).await?;
    let dns = dns.flatten();
    net.dns_support = dns.map(|d| d.0);
    net.dns_hostnames = dns.map(|d| d.1);
    net.endpoints = endpoints;
    net.acls = acls;
    net.tables = tables;
    // The client's subnets are known even when the VPC's read is refused.
    let mut all = subnets.unwrap_or_default();
    all.extend(client_subnets);
    all.sort_by(|a, b| a.id.cmp(&b.id));
    all.dedup_by(|a, b| a.id == b.id);
    net.subnets = Some(all);
    net.groups = groups;
    net.unreadable = unreadable.into_inner().unwrap();
    Ok(net)
}
