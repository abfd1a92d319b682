//! Security groups: the groups a composite makes (the bundle's one in
//! front of its endpoints; the pipeline's producer and endpoint groups),
//! and their rules. Rules are managed as a set:
//! `reconcile_rules` revokes what is not wanted and authorizes what is
//! missing, so a rule added behind Terraform's back is removed.
//!
//! This file holds the types and a group's changes; `find` reads groups
//! and their rules, `rules` changes rules, `wait` polls for a new group
//! and retries a delete while the group is in use.

mod find;
mod rules;
#[cfg(test)]
mod tests;
mod wait;

use std::time::Duration;

use aws_sdk_ec2::types::ResourceType;

pub use find::{find, find_by_tags, find_many, find_owned};
pub(crate) use rules::plan_rule_changes;
pub use rules::reconcile_rules;
use wait::{delete_until_released, wait_visible};

use super::tags::{self, Tags};
use super::PartResult;
use crate::aws::call_failed;
use crate::diag::Diagnostic;

const PART: &str = "security group";

/// Codes meaning "no such group". The Malformed one is there because an id
/// that cannot exist is, for `find`, simply a group that does not exist.
const GROUP_MISSING: [&str; 3] = ["InvalidGroup.NotFound", "InvalidGroupId.NotFound", "InvalidGroupId.Malformed"];

/// A group that is gone, for `delete` (a malformed id there is a caller bug
/// worth reporting).
const GROUP_GONE: [&str; 2] = ["InvalidGroup.NotFound", "InvalidGroupId.NotFound"];

/// The group is still referenced (ENIs, or rules of other groups).
const GROUP_IN_USE: &str = "DependencyViolation";

/// A revoke answered by these found the rule already gone. AWS answers
/// InvalidSecurityGroupRuleId.NotFound for an unknown rule id; moto answers
/// InvalidPermission.NotFound for it (and AWS does for a permission).
const RULE_GONE: [&str; 2] = ["InvalidPermission.NotFound", "InvalidSecurityGroupRuleId.NotFound"];

/// An authorize answered by this found the rule already there.
const RULE_EXISTS: [&str; 1] = ["InvalidPermission.Duplicate"];

/// How long a new group may take to show up in Describe calls (EC2 is
/// eventually consistent; terraform-provider-aws allows the same 2 minutes).
const PROPAGATION: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Direction {
    Ingress,
    Egress,
}

/// Who a rule allows: an IPv4/IPv6 CIDR, another security group, or a
/// managed prefix list.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Peer {
    Cidr(String),
    Group(String),
    PrefixList(String),
}

/// One rule. `protocol` is AWS's IpProtocol ("tcp", "udp", "icmp", "-1").
/// Equality ignores `id` so desired and observed rules compare.
#[derive(Debug, Clone)]
pub struct Rule {
    pub direction: Direction,
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
    /// AWS's security group rule id (sgr-...), when observed.
    pub id: Option<String>,
}

impl PartialEq for Rule {
    fn eq(&self, o: &Rule) -> bool {
        self.key() == o.key()
    }
}

impl Eq for Rule {}

impl Rule {
    /// TCP 443 ingress from `peer`: the only rule endpoint groups need.
    pub fn https_from(peer: Peer) -> Rule {
        Rule { direction: Direction::Ingress, protocol: "tcp".into(), from_port: 443, to_port: 443, peer, id: None }
    }
    /// TCP 443 egress to `peer`: the only rule a private function's group
    /// needs, to each endpoint it calls.
    pub fn https_to(peer: Peer) -> Rule {
        Rule { direction: Direction::Egress, ..Rule::https_from(peer) }
    }
    pub fn key(&self) -> (Direction, &str, i32, i32, &Peer) {
        (self.direction, self.protocol.as_str(), self.from_port, self.to_port, &self.peer)
    }
    /// Human form for diagnostics and the `unexpected_rules` attribute,
    /// e.g. `ingress tcp 443 from sg-0abc`, `egress all to 0.0.0.0/0`.
    pub fn describe(&self) -> String {
        let (direction, peer) = match self.direction {
            Direction::Ingress => ("ingress", "from"),
            Direction::Egress => ("egress", "to"),
        };
        let traffic = match (self.protocol.as_str(), self.from_port, self.to_port) {
            ("-1", _, _) => "all".to_string(),
            // icmp with -1/-1: every type and code, no port to show.
            (protocol, -1, -1) => protocol.to_string(),
            (protocol, from, to) if from == to => format!("{protocol} {from}"),
            (protocol, from, to) => format!("{protocol} {from}-{to}"),
        };
        format!("{direction} {traffic} {peer} {}", self.peer.value())
    }
}

impl Peer {
    /// The CIDR, group id or prefix list id itself.
    fn value(&self) -> &str {
        match self {
            Peer::Cidr(v) | Peer::Group(v) | Peer::PrefixList(v) => v,
        }
    }
}

/// What a composite asks for.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// GroupName (unique per VPC); composites derive it from their id.
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    /// All tags to put on the group (user tags + ownership).
    pub tags: Tags,
    /// Exactly the rules the group must have, both directions. A group
    /// created by AWS has an allow-all egress rule; it is revoked unless
    /// listed here.
    pub rules: Vec<Rule>,
}

/// A group as observed.
#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub name: String,
    pub vpc_id: String,
    pub tags: Tags,
    pub rules: Vec<Rule>,
}

/// CreateSecurityGroup (tags in TagSpecifications), then brings its rules to
/// `spec.rules` (revokes the default egress). Returns the group id as soon
/// as the group exists, via `on_created`, before the rules are set, so the
/// caller can record it even if a rule call then fails.
pub async fn create(ec2: &aws_sdk_ec2::Client, spec: &GroupSpec, on_created: impl FnOnce(&str)) -> PartResult<String> {
    let out = ec2
        .create_security_group()
        .group_name(&spec.name)
        .description(&spec.description)
        .vpc_id(&spec.vpc_id)
        .tag_specifications(tags::specification(ResourceType::SecurityGroup, &spec.tags))
        .send()
        .await
        .map_err(|e| call_failed(PART, "ec2:CreateSecurityGroup", &e))?;
    let Some(id) = out.group_id().filter(|id| !id.is_empty()).map(str::to_string) else {
        return Err(Diagnostic::error(
            format!("{PART}: ec2:CreateSecurityGroup answered no group id"),
            format!(
                "AWS's answer carried no GroupId, so the group {:?} may exist in {} without its id being recorded; \
                 it carries the tags given at creation, by which it can be found.",
                spec.name, spec.vpc_id
            ),
        ));
    };
    on_created(&id);
    let created = wait_visible(ec2, &id).await?;
    reconcile_rules(ec2, &id, &created.rules, &spec.rules).await?;
    Ok(id)
}

/// Brings one of a composite's groups to `spec`: the group `known` (what
/// the state recorded and still exists), else one carrying the spec's
/// ownership tags (a create whose answer was lost; the owner and part tags
/// tell a composite's groups apart, such as the pipeline's producer and
/// endpoint groups), else a new one. Rules and tags are then reconciled. `on_created` gets a new group's id as soon
/// as it exists, so the caller records it even if a rule call fails.
pub async fn ensure(ec2: &aws_sdk_ec2::Client, spec: &GroupSpec, known: Option<Group>, on_created: impl FnOnce(&str)) -> PartResult<Group> {
    let current = match known {
        Some(g) => Some(g),
        None => adoptable(ec2, spec).await?,
    };
    let Some(group) = current else {
        let id = create(ec2, spec, on_created).await?;
        return find(ec2, &id).await?.ok_or_else(|| vanished(&id));
    };
    reconcile_rules(ec2, &group.id, &group.rules, &spec.rules).await?;
    tags::update(ec2, PART, &group.id, &group.tags, &spec.tags).await?;
    find(ec2, &group.id).await?.ok_or_else(|| vanished(&group.id))
}

/// `group`'s rules brought to `desired`, read back only when a rule
/// changed: a step that completes a group's rules (the pipeline's two
/// groups name each other) costs no call when they are already right.
pub async fn ensure_rules(ec2: &aws_sdk_ec2::Client, group: &Group, desired: &[Rule]) -> PartResult<Group> {
    if !reconcile_rules(ec2, &group.id, &group.rules, desired).await? {
        return Ok(group.clone());
    }
    find(ec2, &group.id).await?.ok_or_else(|| vanished(&group.id))
}

/// The group carrying all of the spec's ownership tags (`privatelink:*`:
/// owner and part), if any.
async fn adoptable(ec2: &aws_sdk_ec2::Client, spec: &GroupSpec) -> PartResult<Option<Group>> {
    let owned: Tags = spec.tags.iter().filter(|(k, _)| k.starts_with("privatelink:")).map(|(k, v)| (k.clone(), v.clone())).collect();
    if owned.is_empty() {
        return Ok(None);
    }
    match find_by_tags(ec2, &spec.vpc_id, &owned).await?.first() {
        Some(id) => {
            tracing::info!(group = %id, "adopting a security group found by its ownership tags");
            find(ec2, id).await
        }
        None => Ok(None),
    }
}

fn vanished(id: &str) -> Diagnostic {
    Diagnostic::error(format!("{PART}: vanished"), format!("Group {id} was just created or changed but can no longer be read."))
}

/// DeleteSecurityGroup; already gone is success. While the group is still
/// in use, AWS answers DependencyViolation. Waiting helps only when
/// network interfaces hold it (an endpoint's, or a Lambda function's,
/// which AWS releases minutes after the function is deleted or leaves the
/// VPC): then retry with backoff until `timeout`, logging at INFO which
/// interfaces and how long so far. When a rule of another group names it,
/// no wait helps: fail at once, naming that group and rule.
pub async fn delete(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<()> {
    let since = std::time::Instant::now();
    delete_until_released(id, timeout, || ec2.delete_security_group().group_id(id).send(), || why_in_use(ec2, id, since)).await
}

/// Why AWS still refuses to delete group `id`: a rule of another group
/// (an error: only removing the rule helps), else the network interfaces
/// that carry it (logged; AWS releases them in time).
async fn why_in_use(ec2: &aws_sdk_ec2::Client, id: &str, since: std::time::Instant) -> PartResult<()> {
    if let Some((holder, rule)) = find::referencing_rule(ec2, id).await? {
        return Err(still_referenced(id, &holder, &rule));
    }
    let holding = crate::parts::network_interface::holding_group(ec2, id).await?;
    let names: Vec<String> = holding.iter().map(|i| format!("{} ({})", i.id, i.user())).collect();
    tracing::info!(
        group = %id,
        interfaces = %if names.is_empty() { "none listed yet".to_string() } else { names.join(", ") },
        waited_s = since.elapsed().as_secs(),
        "waiting for AWS to release the network interfaces that still hold the security group"
    );
    Ok(())
}

/// Group `id` cannot be deleted while `rule` of group `holder` names it.
fn still_referenced(id: &str, holder: &str, rule: &Rule) -> Diagnostic {
    Diagnostic::error(
        format!("{PART}: still referenced by another group"),
        format!(
            "Group {id} cannot be deleted: the rule `{}` of group {holder} names it, and AWS refuses the delete (DependencyViolation) for as long as that rule exists. Remove that rule (or group {holder}) first, then apply again.",
            rule.describe()
        ),
    )
}
