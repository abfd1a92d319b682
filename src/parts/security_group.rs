//! Security groups: the one group a composite puts in front of its
//! endpoints (or functions), and its rules. Rules are managed as a set:
//! `reconcile_rules` revokes what is not wanted and authorizes what is
//! missing, so a rule added behind Terraform's back is removed.

use std::time::Duration;

use super::tags::Tags;
use super::PartResult;

const PART: &str = "security group";

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
    pub fn key(&self) -> (Direction, &str, i32, i32, &Peer) {
        (self.direction, self.protocol.as_str(), self.from_port, self.to_port, &self.peer)
    }
    /// Human form for diagnostics and the `unexpected_rules` attribute,
    /// e.g. `ingress tcp 443 from sg-0abc`, `egress all from 0.0.0.0/0`.
    pub fn describe(&self) -> String {
        todo!()
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
    todo!()
}

/// DescribeSecurityGroups + DescribeSecurityGroupRules for one id; `None`
/// when the group does not exist (InvalidGroup.NotFound).
pub async fn find(ec2: &aws_sdk_ec2::Client, id: &str) -> PartResult<Option<Group>> {
    todo!()
}

/// Group ids in `vpc_id` carrying every tag of `tags` (adoption after a
/// lost create answer).
pub async fn find_by_tags(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tags: &Tags) -> PartResult<Vec<String>> {
    todo!()
}

/// Revoke the observed rules not in `desired` (by rule id, one call per
/// direction) and authorize the desired ones missing (one call per
/// direction). No call when nothing differs.
pub async fn reconcile_rules(ec2: &aws_sdk_ec2::Client, group_id: &str, observed: &[Rule], desired: &[Rule]) -> PartResult<()> {
    todo!()
}

/// DeleteSecurityGroup; already gone is success. While the group is still
/// in use (DependencyViolation: endpoint or Lambda ENIs not yet released)
/// retry with backoff until `timeout`, then fail saying what holds it.
pub async fn delete(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<()> {
    todo!()
}
