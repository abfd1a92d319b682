//! The configuration model, the private function as the plan wants it, and
//! the specs of its own parts: its group, the endpoints' group, its
//! endpoints and its role's policy. The function's spec and the endpoint
//! specs are the blocks' (`function`, `endpoint`).

use std::collections::BTreeMap;

use crate::model::{Attr, Blocks, List, Map, Set};
use crate::parts::role::RoleSpec;
use crate::parts::security_group::{GroupSpec, Peer, Rule};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc_endpoint::{EndpointSpec, Kind};
use crate::policy;
use crate::resources::endpoint::{self, full_service_name, short_service_name, DesiredEndpoint, Key};
use crate::resources::function::{Function, FunctionDesired, FunctionUse, Placement, Private};
use crate::resources::{client_token, TimeoutsBlock};

crate::model! {
    /// The private function as Terraform holds it: configuration, plan and state.
    pub struct PrivateFunction {
        id: Attr<String>,
        name: Attr<String>,
        vpc_id: Attr<String>,
        subnet_ids: Attr<Set<String>>,
        tags: Attr<Map<String>>,
        tags_all: Attr<Map<String>>,
        rule_drift: Attr<List<String>>,
        endpoints: Attr<Map<String>>,
        function_arn: Attr<String>,
        role_arn: Attr<String>,
        security_group_id: Attr<String>,
        endpoint_security_group_id: Attr<String>,
        function: Function<Private>,
        access: Blocks<AccessBlock>,
        timeouts: TimeoutsBlock,
    }
}

crate::model! {
    /// One `access` block: a service the function calls.
    pub struct AccessBlock {
        service: Attr<String>,
        actions: Attr<Set<String>>,
        resources: Attr<Set<String>>,
        endpoint_type: Attr<String>,
        endpoint_id: Attr<String>,
        policy: Attr<String>,
    }
}

impl AccessBlock {
    /// The endpoint's type: Gateway when the block says so, else Interface.
    pub(super) fn kind(&self) -> Kind {
        match self.endpoint_type.str() {
            Some("Gateway") => Kind::Gateway,
            _ => Kind::Interface,
        }
    }
}

/// The owner tag's value on everything private function `name` makes.
pub(super) fn owner_of(name: &str) -> String {
    format!("function/{name}")
}

/// The function's own group, and the group of the Interface endpoints it makes.
pub(super) fn function_group_name(name: &str) -> String {
    format!("{name}-function")
}

pub(super) fn endpoint_group_name(name: &str) -> String {
    format!("{name}-endpoints")
}

/// The part tag of the endpoint for `service` (full or short name).
pub(super) fn endpoint_part(service: &str) -> String {
    format!("endpoint-{}", short_service_name(service))
}

/// The Sid of the role's statement for `service`: `AccessS3`,
/// `AccessEcrApi` (IAM takes letters and digits only).
pub(super) fn statement_sid(service: &str) -> String {
    let words = short_service_name(service);
    let camel: String = words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map(|f| f.to_ascii_uppercase().to_string() + c.as_str()).unwrap_or_default()
        })
        .collect();
    format!("Access{camel}")
}

impl PrivateFunction {
    /// The ids of what it made, in `COMPUTED`'s order.
    pub(super) fn ids(&self) -> [&Attr<String>; 4] {
        [&self.function_arn, &self.role_arn, &self.security_group_id, &self.endpoint_security_group_id]
    }

    pub(super) fn ids_mut(&mut self) -> [&mut Attr<String>; 4] {
        [&mut self.function_arn, &mut self.role_arn, &mut self.security_group_id, &mut self.endpoint_security_group_id]
    }

    pub(super) fn owner(&self) -> String {
        owner_of(self.name.str().unwrap_or(""))
    }

    /// The role it made for the function (none when the user brings one).
    pub(super) fn own_role(&self) -> Option<String> {
        if !self.function.role_arn.is_null() {
            return None;
        }
        self.role_arn.owned()
    }

    /// The endpoints the state records it made (accesses without
    /// endpoint_id), by service as written.
    pub(super) fn made_endpoints(&self) -> BTreeMap<String, String> {
        let ids = self.endpoints.entries();
        let made = self.access.0.iter().filter(|a| a.endpoint_id.is_null()).filter_map(|a| a.service.str());
        made.filter_map(|service| Some((service.to_string(), ids.get(service)?.clone()))).collect()
    }

    /// The same, by service (full name in `region`) and type.
    pub(super) fn made_endpoints_by_key(&self, region: &str) -> BTreeMap<Key, String> {
        let made = self.made_endpoints();
        let by_key = self.access.0.iter().filter_map(|a| {
            let service = a.service.str()?;
            Some(((full_service_name(service, region), a.kind()), made.get(service)?.clone()))
        });
        by_key.collect()
    }
}

/// One access as the plan wants it.
#[derive(Debug, Clone)]
pub struct AccessDesired {
    /// The service as written (the key of `endpoints`).
    pub(super) service: String,
    pub(super) key: Key,
    pub(super) actions: Vec<String>,
    pub(super) resources: Vec<String>,
    /// An endpoint to use instead of making one.
    pub(super) reuse: Option<String>,
    /// The user's endpoint policy.
    pub(super) policy: Option<String>,
}

impl AccessDesired {
    pub(super) fn kind(&self) -> Kind {
        self.key.1
    }

    /// The endpoint policy: the user's, or exactly the actions on the resources.
    pub(super) fn endpoint_policy(&self) -> String {
        self.policy.clone().unwrap_or_else(|| policy::endpoint_access(&statement_sid(&self.service), &self.actions, &self.resources))
    }
}

/// The private function as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
pub struct Desired {
    pub(super) name: String,
    pub(super) owner: String,
    pub(super) vpc_id: String,
    pub(super) subnets: Vec<String>,
    pub(super) tags_all: Tags,
    pub(super) function: FunctionDesired,
    pub(super) access: Vec<AccessDesired>,
}

impl Desired {
    pub(super) fn from(p: &PrivateFunction, region: &str) -> Desired {
        let name = p.name.owned().unwrap_or_default();
        let access = p
            .access
            .0
            .iter()
            .map(|a| {
                let service = a.service.owned().unwrap_or_default();
                AccessDesired {
                    key: (full_service_name(&service, region), a.kind()),
                    service,
                    actions: a.actions.strings(),
                    resources: a.resources.strings(),
                    reuse: a.endpoint_id.owned(),
                    policy: a.policy.owned(),
                }
            })
            .collect();
        Desired {
            owner: owner_of(&name),
            vpc_id: p.vpc_id.owned().unwrap_or_default(),
            subnets: p.subnet_ids.strings(),
            tags_all: p.tags_all.entries(),
            function: FunctionDesired::from(&p.function, &name, FunctionUse::Private),
            access,
            name,
        }
    }

    pub(super) fn owned(&self, part: &str) -> Tags {
        tags::with_ownership(&self.tags_all, &self.owner, part)
    }

    pub(super) fn placement(&self) -> Placement<'_> {
        Placement { subnets: &self.subnets, tags_all: &self.tags_all, owner: &self.owner }
    }

    /// The accesses whose endpoint it makes.
    pub(super) fn own_endpoints(&self) -> impl Iterator<Item = &AccessDesired> {
        self.access.iter().filter(|a| a.reuse.is_none())
    }

    /// Whether it makes an Interface endpoint, so the endpoints' group.
    pub(super) fn needs_endpoint_group(&self) -> bool {
        self.own_endpoints().any(|a| a.kind() == Kind::Interface)
    }

    /// The access for `key`, if the configuration has one.
    pub(super) fn access_for(&self, key: &Key) -> Option<&AccessDesired> {
        self.access.iter().find(|a| &a.key == key)
    }

    /// The function's group: out on TCP 443 to `targets` (the endpoints'
    /// groups and the Gateway services' prefix lists) only, nothing in.
    pub(super) fn function_group_spec(&self, targets: &[Peer]) -> GroupSpec {
        GroupSpec {
            name: function_group_name(&self.name),
            description: format!("Function {}: HTTPS to its VPC endpoints only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("function-group"),
            rules: targets.iter().cloned().map(Rule::https_to).collect(),
        }
    }

    /// The group of its Interface endpoints: in on TCP 443 from the
    /// function's group only (no rule while that group is not known yet).
    pub(super) fn endpoint_group_spec(&self, function_group: Option<&str>) -> GroupSpec {
        endpoint::group_spec(
            endpoint_group_name(&self.name),
            format!("VPC endpoints of function {}: HTTPS from the function only", self.name),
            &self.vpc_id,
            self.owned("endpoint-group"),
            function_group.map(|g| Peer::Group(g.to_string())).into_iter().collect(),
        )
    }

    /// The endpoint of `access`: an Interface one in the subnets behind
    /// `group`, private DNS on (for S3 serving the VPC too, not only inbound
    /// Resolver endpoints: the function is its client), or a Gateway one on
    /// `route_tables`; its policy the access's.
    pub(super) fn endpoint_spec(&self, access: &AccessDesired, group: Option<&str>, route_tables: &[String]) -> EndpointSpec {
        let mut e = DesiredEndpoint::interface(access.key.0.clone(), self.subnets.clone());
        e.key.1 = access.kind();
        if access.kind() == Kind::Gateway {
            e.private_dns = None;
            e.route_table_ids = route_tables.to_vec();
        } else if endpoint::inbound_only_applies(Some(&access.key.0), Kind::Interface, &crate::model::Val::Known(true)) == Some(true) {
            e.inbound_only_applies = true;
            e.inbound_only = Some(false);
        }
        e.policy = Some(access.endpoint_policy());
        let part = endpoint_part(&access.key.0);
        e.spec(&self.vpc_id, group.map(str::to_string).into_iter().collect(), self.owned(&part), client_token(&self.owner, &part))
    }

    /// Its own role: Lambda's VPC actions, writes to its log group
    /// (`log_group_arn`), and one statement per access.
    pub(super) fn role_spec(&self, log_group_arn: &str) -> RoleSpec {
        let doc = policy::private_function(log_group_arn);
        let statements =
            self.access.iter().map(|a| policy::access_statement(&statement_sid(&a.service), &a.actions, &a.resources)).collect();
        self.function.role_spec_with(&doc, statements, &self.placement())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_ids_are_camel_case_letters_and_digits() {
        assert_eq!(statement_sid("s3"), "AccessS3");
        assert_eq!(statement_sid("com.amazonaws.us-east-1.ecr.api"), "AccessEcrApi");
        assert_eq!(statement_sid("execute-api"), "AccessExecuteApi");
        assert_eq!(endpoint_part("com.amazonaws.us-east-1.s3"), "endpoint-s3");
    }
}
