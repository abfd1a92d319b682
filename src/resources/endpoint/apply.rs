//! An endpoint as apply wants it, its spec and its group's, and the work
//! of its steps that is the same wherever it is used.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::diag::Diagnostic;
use crate::parts::security_group::{Direction, Group, GroupSpec, Peer, Rule};
use crate::parts::tags::Tags;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, EndpointSpec, Kind};

use super::Key;

/// One endpoint as the plan says it should be.
#[derive(Debug, Clone)]
pub struct DesiredEndpoint {
    pub key: Key,
    pub private_dns: Option<bool>,
    /// `private_dns_only_for_inbound_resolver_endpoint` as planned: None
    /// where it does not apply, and where the plan could not settle it
    /// (the VPC unknown then): apply settles it.
    pub inbound_only: Option<bool>,
    pub inbound_only_applies: bool,
    pub policy: Option<String>,
    pub subnet_ids: Vec<String>,
    pub route_table_ids: Vec<String>,
}

impl DesiredEndpoint {
    /// An Interface endpoint for `service` (full name) in `subnets`, with
    /// private DNS on and AWS's default policy.
    pub fn interface(service: String, subnets: Vec<String>) -> DesiredEndpoint {
        DesiredEndpoint {
            key: (service, Kind::Interface),
            private_dns: Some(true),
            inbound_only: None,
            inbound_only_applies: false,
            policy: None,
            subnet_ids: subnets,
            route_table_ids: vec![],
        }
    }

    /// The endpoint in `vpc_id`: an Interface one in its subnets behind
    /// `groups`, a Gateway one on its route tables.
    pub fn spec(&self, vpc_id: &str, mut groups: Vec<String>, tags: Tags, client_token: String) -> EndpointSpec {
        let interface = self.key.1 == Kind::Interface;
        groups.sort();
        EndpointSpec {
            vpc_id: vpc_id.to_string(),
            service_name: self.key.0.clone(),
            kind: self.key.1,
            subnet_ids: if interface { self.subnet_ids.clone() } else { vec![] },
            route_table_ids: if interface { vec![] } else { self.route_table_ids.clone() },
            security_group_ids: if interface { groups } else { vec![] },
            private_dns_enabled: if interface { self.private_dns } else { None },
            private_dns_only_for_inbound_resolver_endpoint: if self.inbound_only_applies { self.inbound_only } else { None },
            policy: self.policy.clone(),
            tags,
            client_token,
        }
    }
}

/// The group in front of Interface endpoints: TCP 443 in from each client,
/// nothing else (no egress: an endpoint answers, it never calls out).
pub fn group_spec(name: String, description: String, vpc_id: &str, tags: Tags, clients: Vec<Peer>) -> GroupSpec {
    GroupSpec { name, description, vpc_id: vpc_id.to_string(), tags, rules: clients.into_iter().map(Rule::https_from).collect() }
}

/// The groups a group lets in (ingress rules naming a group): the clients
/// an endpoint behind it serves.
pub fn admitted_groups(g: &Group) -> Vec<String> {
    let groups = g.rules.iter().filter(|r| r.direction == Direction::Ingress).filter_map(|r| match &r.peer {
        Peer::Group(id) => Some(id.clone()),
        _ => None,
    });
    groups.collect::<BTreeSet<_>>().into_iter().collect()
}

/// The endpoint `id` unless it is gone (deleted, or being deleted).
pub async fn find_live(ctx: &Ctx, id: &str) -> Result<Option<Endpoint>, Diagnostic> {
    Ok(vpce::find_many(&ctx.aws.ec2, &[id.to_string()]).await?.into_iter().find(|e| !e.is_gone()))
}

/// The endpoint `id` deleted, waiting until AWS has it gone.
pub async fn remove(ctx: &Ctx, id: &str, timeout: Duration) -> Result<(), Diagnostic> {
    vpce::delete(&ctx.aws.ec2, &[id.to_string()], timeout).await
}
