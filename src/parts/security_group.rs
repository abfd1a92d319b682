//! Security groups: the groups a composite makes (the bundle's one in
//! front of its endpoints; the pipeline's producer and endpoint groups),
//! and their rules. Rules are managed as a set:
//! `reconcile_rules` revokes what is not wanted and authorizes what is
//! missing, so a rule added behind Terraform's back is removed.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroup, SecurityGroupRule, UserIdGroupPair};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::tags::{self, Tags};
use super::wait::{self, Poll};
use super::{ec2_filter, has_code, PartResult};
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
    pub fn key(&self) -> (Direction, &str, i32, i32, &Peer) {
        (self.direction, self.protocol.as_str(), self.from_port, self.to_port, &self.peer)
    }
    /// Human form for diagnostics and the `unexpected_rules` attribute,
    /// e.g. `ingress tcp 443 from sg-0abc`, `egress all from 0.0.0.0/0`.
    pub fn describe(&self) -> String {
        let direction = match self.direction {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        };
        let traffic = match (self.protocol.as_str(), self.from_port, self.to_port) {
            ("-1", _, _) => "all".to_string(),
            // icmp with -1/-1: every type and code, no port to show.
            (protocol, -1, -1) => protocol.to_string(),
            (protocol, from, to) if from == to => format!("{protocol} {from}"),
            (protocol, from, to) => format!("{protocol} {from}-{to}"),
        };
        format!("{direction} {traffic} from {}", self.peer.value())
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

/// DescribeSecurityGroups + DescribeSecurityGroupRules for one id; `None`
/// when the group does not exist (InvalidGroup.NotFound).
pub async fn find(ec2: &aws_sdk_ec2::Client, id: &str) -> PartResult<Option<Group>> {
    Ok(find_many(ec2, &[id.to_string()]).await?.into_iter().next())
}

/// Groups in two calls (DescribeSecurityGroups with every id, then
/// DescribeSecurityGroupRules filtered on them all), so a composite reads
/// all its groups together. Groups that do not exist are left out. AWS
/// refuses the whole Describe when one id is missing: with one id that
/// group is gone; with several, each is read alone (the rare path:
/// something was deleted).
pub async fn find_many(ec2: &aws_sdk_ec2::Client, ids: &[String]) -> PartResult<Vec<Group>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = match ec2.describe_security_groups().set_group_ids(Some(ids.to_vec())).send().await {
        Ok(out) => out,
        Err(e) if has_code(&e, &GROUP_MISSING) && ids.len() == 1 => return Ok(Vec::new()),
        Err(e) if has_code(&e, &GROUP_MISSING) => {
            let mut found = Vec::new();
            for id in ids {
                found.extend(Box::pin(find_many(ec2, std::slice::from_ref(id))).await?);
            }
            return Ok(found);
        }
        Err(e) => return Err(call_failed(PART, "ec2:DescribeSecurityGroups", &e)),
    };
    let groups: Vec<&SecurityGroup> =
        out.security_groups().iter().filter(|g| g.group_id().is_some_and(|id| ids.iter().any(|i| i == id))).collect();
    let found: Vec<&str> = groups.iter().filter_map(|g| g.group_id()).collect();
    let mut rules = observed_rules(ec2, &found).await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let id = g.group_id().unwrap_or_default();
            group_from_ec2(g, id, rules.remove(id).unwrap_or_default())
        })
        .collect())
}

/// Group ids in `vpc_id` carrying every tag of `tags` (adoption after a
/// lost create answer).
pub async fn find_by_tags(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tags: &Tags) -> PartResult<Vec<String>> {
    let mut filters = vec![ec2_filter("vpc-id", [vpc_id])];
    filters.extend(tags.iter().map(|(k, v)| ec2_filter(&format!("tag:{k}"), [v.as_str()])));
    let groups = ec2
        .describe_security_groups()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeSecurityGroups", &e))?;
    Ok(groups.iter().filter_map(|g| g.group_id().map(str::to_string)).collect())
}

/// Revoke the observed rules not in `desired` (by rule id, one call per
/// direction) and authorize the desired ones missing (one call per
/// direction). No call when nothing differs.
pub async fn reconcile_rules(ec2: &aws_sdk_ec2::Client, group_id: &str, observed: &[Rule], desired: &[Rule]) -> PartResult<()> {
    let (to_revoke, to_authorize) = plan_rule_changes(observed, desired);
    // Revoke first: it never removes a wanted rule, and it frees room under
    // the per-group rule limit for the rules authorized next.
    for direction in [Direction::Ingress, Direction::Egress] {
        revoke(ec2, group_id, direction, &in_direction(&to_revoke, direction)).await?;
    }
    for direction in [Direction::Ingress, Direction::Egress] {
        authorize(ec2, group_id, direction, &in_direction(&to_authorize, direction)).await?;
    }
    Ok(())
}

/// Brings the composite's group to `spec`: the group `known` (what the
/// state recorded and still exists), else one carrying the spec's
/// ownership tags (a create whose answer was lost), else a new one. Rules
/// and tags are then reconciled. `on_created` gets a new group's id as soon
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

/// The group carrying the spec's ownership tags, if any.
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

fn vanished(id: &str) -> crate::diag::Diagnostic {
    crate::diag::Diagnostic::error(
        format!("{PART}: vanished"),
        format!("Group {id} was just created or changed but can no longer be read."),
    )
}

/// DeleteSecurityGroup; already gone is success. While the group is still
/// in use (DependencyViolation: endpoint or Lambda ENIs not yet released)
/// retry with backoff until `timeout`, then fail saying what holds it.
pub async fn delete(ec2: &aws_sdk_ec2::Client, id: &str, timeout: Duration) -> PartResult<()> {
    delete_until_released(id, timeout, || ec2.delete_security_group().group_id(id).send()).await
}

/// The retry loop of `delete`, apart from the SDK call so that the
/// DependencyViolation path can be tested (moto never answers it: it does
/// not track what uses a group).
async fn delete_until_released<O, E, F, Fut>(id: &str, timeout: Duration, mut send: F) -> PartResult<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<O, E>>,
    E: ProvideErrorMetadata + std::error::Error,
{
    let what = format!(
        "security group {id} to be deleted: it is still in use, most likely by network interfaces \
         of VPC endpoints or Lambda functions that AWS has not released yet"
    );
    // ENIs of endpoints and Lambda functions take minutes to go: start at 2 s.
    wait::until(&what, timeout, Duration::from_secs(2), || {
        let answer = send();
        async move { delete_round(answer.await) }
    })
    .await
}

/// One DeleteSecurityGroup answer as a round of the wait: gone (now or
/// before) is done, in use is pending, anything else fails.
fn delete_round<O, E: ProvideErrorMetadata + std::error::Error>(answer: Result<O, E>) -> PartResult<Poll<()>> {
    match answer {
        Ok(_) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &GROUP_GONE) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &[GROUP_IN_USE]) => {
            Ok(Poll::Pending(format!("{GROUP_IN_USE}: {}", e.message().unwrap_or("the group has a dependent object"))))
        }
        Err(e) => Err(call_failed(PART, "ec2:DeleteSecurityGroup", &e)),
    }
}

/// Polls `find` until the new group shows up, and returns it as first seen
/// (with AWS's default egress rule, which the caller then revokes).
async fn wait_visible(ec2: &aws_sdk_ec2::Client, id: &str) -> PartResult<Group> {
    let what = format!("security group {id} to be visible after creation");
    wait::until(&what, PROPAGATION, Duration::from_millis(500), || async move {
        Ok(match find(ec2, id).await? {
            Some(group) => Poll::Done(group),
            None => Poll::Pending("not found yet".into()),
        })
    })
    .await
}

/// Every rule of the groups, both directions, with their sgr- ids, by
/// group id: one paginated call. A filter rather than rule ids: it answers
/// an empty list for a group that just went away instead of failing.
async fn observed_rules(ec2: &aws_sdk_ec2::Client, group_ids: &[&str]) -> PartResult<HashMap<String, Vec<Rule>>> {
    let mut by_group: HashMap<String, Vec<Rule>> = HashMap::new();
    if group_ids.is_empty() {
        return Ok(by_group);
    }
    let rules = ec2
        .describe_security_group_rules()
        .filters(ec2_filter("group-id", group_ids.iter().copied()))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeSecurityGroupRules", &e))?;
    for r in &rules {
        if let (Some(group), Some(rule)) = (r.group_id(), rule_from_ec2(r)) {
            by_group.entry(group.to_string()).or_default().push(rule);
        }
    }
    Ok(by_group)
}

fn group_from_ec2(group: &SecurityGroup, id: &str, rules: Vec<Rule>) -> Group {
    Group {
        id: group.group_id().unwrap_or(id).to_string(),
        name: group.group_name().unwrap_or_default().to_string(),
        vpc_id: group.vpc_id().unwrap_or_default().to_string(),
        tags: tags::from_ec2(group.tags()),
        rules,
    }
}

/// A rule as AWS describes it. AWS always sets the direction, protocol and
/// one peer; a rule missing one of them could not be revoked or compared
/// correctly either, so it is left out rather than guessed.
fn rule_from_ec2(rule: &SecurityGroupRule) -> Option<Rule> {
    let direction = if rule.is_egress()? { Direction::Egress } else { Direction::Ingress };
    Some(Rule {
        direction,
        protocol: rule.ip_protocol()?.to_string(),
        // AWS answers -1 for "all ports" (protocol -1, or every icmp type).
        from_port: rule.from_port().unwrap_or(-1),
        to_port: rule.to_port().unwrap_or(-1),
        peer: peer_from_ec2(rule)?,
        id: rule.security_group_rule_id().map(str::to_string),
    })
}

fn peer_from_ec2(rule: &SecurityGroupRule) -> Option<Peer> {
    if let Some(cidr) = rule.cidr_ipv4().or(rule.cidr_ipv6()) {
        return Some(Peer::Cidr(cidr.to_string()));
    }
    if let Some(group) = rule.referenced_group_info().and_then(|g| g.group_id()) {
        return Some(Peer::Group(group.to_string()));
    }
    rule.prefix_list_id().map(|pl| Peer::PrefixList(pl.to_string()))
}

/// One IpPermission per rule: AWS accepts a list of them in one call, and
/// one peer each keeps the mapping obvious.
fn permission(rule: &Rule) -> IpPermission {
    let p = IpPermission::builder().ip_protocol(&rule.protocol).from_port(rule.from_port).to_port(rule.to_port);
    match &rule.peer {
        Peer::Cidr(cidr) if cidr.contains(':') => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
        Peer::Cidr(cidr) => p.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Peer::Group(group) => p.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build()),
        Peer::PrefixList(pl) => p.prefix_list_ids(PrefixListId::builder().prefix_list_id(pl).build()),
    }
    .build()
}

/// Which observed rules to revoke and which desired rules to authorize,
/// comparing with `Rule`'s equality (ids ignored). A rule desired twice is
/// authorized once (AWS refuses a duplicate within one call).
pub(crate) fn plan_rule_changes<'a>(observed: &'a [Rule], desired: &'a [Rule]) -> (Vec<&'a Rule>, Vec<&'a Rule>) {
    let to_revoke = observed.iter().filter(|r| !desired.contains(r)).collect();
    let to_authorize =
        desired.iter().enumerate().filter(|(i, r)| !observed.contains(r) && !desired[..*i].contains(r)).map(|(_, r)| r).collect();
    (to_revoke, to_authorize)
}

fn in_direction<'a>(rules: &[&'a Rule], direction: Direction) -> Vec<&'a Rule> {
    rules.iter().copied().filter(|r| r.direction == direction).collect()
}

/// Revokes `rules` (all of one direction): by rule id, the way AWS names
/// an exact rule; a rule without an id (never one from `find`) by its
/// permission.
async fn revoke(ec2: &aws_sdk_ec2::Client, group_id: &str, direction: Direction, rules: &[&Rule]) -> PartResult<()> {
    let ids: Vec<String> = rules.iter().filter_map(|r| r.id.clone()).collect();
    tolerant_batch(ids, &RULE_GONE, |ids| revoke_call(ec2, group_id, direction, Some(ids), None)).await?;
    let unnamed: Vec<IpPermission> = rules.iter().filter(|r| r.id.is_none()).map(|r| permission(r)).collect();
    tolerant_batch(unnamed, &RULE_GONE, |perms| revoke_call(ec2, group_id, direction, None, Some(perms))).await
}

async fn authorize(ec2: &aws_sdk_ec2::Client, group_id: &str, direction: Direction, rules: &[&Rule]) -> PartResult<()> {
    let perms: Vec<IpPermission> = rules.iter().map(|r| permission(r)).collect();
    tolerant_batch(perms, &RULE_EXISTS, |perms| authorize_call(ec2, group_id, direction, perms)).await
}

/// Sends `items` in one call (none when empty). When the call fails only
/// because part of the batch is already done (`done_codes`: another writer
/// raced us, or our view was stale), the rest of the batch may not have
/// been applied: AWS refuses the call as a whole, and moto's authorize
/// keeps only the items before the offending one. So the items are sent
/// again one by one, and those already done are skipped.
async fn tolerant_batch<T, F, Fut>(items: Vec<T>, done_codes: &[&str], send: F) -> PartResult<()>
where
    T: Clone,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = Result<(), Failed>>,
{
    if items.is_empty() {
        return Ok(());
    }
    match send(items.clone()).await {
        Ok(()) => Ok(()),
        Err(f) if !f.is_any(done_codes) => Err(f.diagnostic),
        Err(_) if items.len() == 1 => Ok(()),
        Err(_) => {
            for item in items {
                match send(vec![item]).await {
                    Err(f) if !f.is_any(done_codes) => return Err(f.diagnostic),
                    _ => {}
                }
            }
            Ok(())
        }
    }
}

async fn revoke_call(
    ec2: &aws_sdk_ec2::Client,
    group_id: &str,
    direction: Direction,
    rule_ids: Option<Vec<String>>,
    perms: Option<Vec<IpPermission>>,
) -> Result<(), Failed> {
    match direction {
        Direction::Ingress => ec2
            .revoke_security_group_ingress()
            .group_id(group_id)
            .set_security_group_rule_ids(rule_ids)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(drop)
            .map_err(|e| Failed::new("ec2:RevokeSecurityGroupIngress", &e)),
        Direction::Egress => ec2
            .revoke_security_group_egress()
            .group_id(group_id)
            .set_security_group_rule_ids(rule_ids)
            .set_ip_permissions(perms)
            .send()
            .await
            .map(drop)
            .map_err(|e| Failed::new("ec2:RevokeSecurityGroupEgress", &e)),
    }
}

async fn authorize_call(ec2: &aws_sdk_ec2::Client, group_id: &str, direction: Direction, perms: Vec<IpPermission>) -> Result<(), Failed> {
    match direction {
        Direction::Ingress => ec2
            .authorize_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .map(drop)
            .map_err(|e| Failed::new("ec2:AuthorizeSecurityGroupIngress", &e)),
        Direction::Egress => ec2
            .authorize_security_group_egress()
            .group_id(group_id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .map(drop)
            .map_err(|e| Failed::new("ec2:AuthorizeSecurityGroupEgress", &e)),
    }
}

/// A failed rule call: its AWS error code, kept to decide whether the
/// failure means "already done", and the diagnostic to report otherwise.
struct Failed {
    code: Option<String>,
    diagnostic: Diagnostic,
}

impl Failed {
    fn new<E: ProvideErrorMetadata + std::error::Error>(call: &str, err: &E) -> Failed {
        Failed { code: err.code().map(str::to_string), diagnostic: call_failed(PART, call, err) }
    }
    fn is_any(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::delete_security_group::DeleteSecurityGroupError;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn rule(direction: Direction, protocol: &str, from: i32, to: i32, peer: Peer) -> Rule {
        Rule { direction, protocol: protocol.into(), from_port: from, to_port: to, peer, id: None }
    }

    fn cidr(c: &str) -> Peer {
        Peer::Cidr(c.into())
    }

    fn with_id(mut r: Rule, id: &str) -> Rule {
        r.id = Some(id.into());
        r
    }

    #[test]
    fn describe_names_direction_protocol_ports_and_peer() {
        assert_eq!(Rule::https_from(Peer::Group("sg-0abc".into())).describe(), "ingress tcp 443 from sg-0abc");
        assert_eq!(rule(Direction::Ingress, "tcp", 22, 23, cidr("10.0.0.0/8")).describe(), "ingress tcp 22-23 from 10.0.0.0/8");
        assert_eq!(rule(Direction::Egress, "-1", -1, -1, cidr("0.0.0.0/0")).describe(), "egress all from 0.0.0.0/0");
        assert_eq!(rule(Direction::Ingress, "udp", 53, 53, Peer::PrefixList("pl-123".into())).describe(), "ingress udp 53 from pl-123");
        assert_eq!(rule(Direction::Ingress, "icmp", -1, -1, cidr("::/0")).describe(), "ingress icmp from ::/0");
    }

    #[test]
    fn equality_ignores_the_rule_id() {
        let wanted = Rule::https_from(cidr("10.0.0.0/16"));
        assert_eq!(with_id(wanted.clone(), "sgr-1"), wanted);
        assert_eq!(with_id(wanted.clone(), "sgr-1"), with_id(wanted.clone(), "sgr-2"));
        assert_ne!(wanted, Rule::https_from(cidr("10.0.0.0/8")));
        let mut egress = wanted.clone();
        egress.direction = Direction::Egress;
        assert_ne!(wanted, egress);
    }

    #[test]
    fn plan_revokes_extras_and_authorizes_missing() {
        let keep = with_id(Rule::https_from(cidr("10.0.0.0/16")), "sgr-keep");
        let extra = with_id(rule(Direction::Egress, "-1", -1, -1, cidr("0.0.0.0/0")), "sgr-egress");
        let missing = Rule::https_from(Peer::Group("sg-1".into()));
        let observed = vec![keep.clone(), extra.clone()];
        let desired = vec![Rule::https_from(cidr("10.0.0.0/16")), missing.clone()];
        let (revoke, authorize) = plan_rule_changes(&observed, &desired);
        assert_eq!(revoke.len(), 1);
        assert_eq!(revoke[0].id.as_deref(), Some("sgr-egress"));
        assert_eq!(authorize, vec![&missing]);
    }

    #[test]
    fn plan_is_empty_when_nothing_differs() {
        let observed = vec![with_id(Rule::https_from(cidr("10.0.0.0/16")), "sgr-1")];
        let desired = vec![Rule::https_from(cidr("10.0.0.0/16"))];
        let (revoke, authorize) = plan_rule_changes(&observed, &desired);
        assert!(revoke.is_empty() && authorize.is_empty());
    }

    #[test]
    fn plan_authorizes_a_rule_desired_twice_once() {
        let desired = vec![Rule::https_from(cidr("10.0.0.0/16")), Rule::https_from(cidr("10.0.0.0/16"))];
        let (_, authorize) = plan_rule_changes(&[], &desired);
        assert_eq!(authorize.len(), 1);
    }

    #[test]
    fn in_direction_keeps_one_direction() {
        let i = Rule::https_from(cidr("10.0.0.0/16"));
        let e = rule(Direction::Egress, "-1", -1, -1, cidr("0.0.0.0/0"));
        assert_eq!(in_direction(&[&i, &e], Direction::Egress), vec![&e]);
    }

    #[test]
    fn observed_rules_map_every_peer_kind() {
        let base = || SecurityGroupRule::builder().security_group_rule_id("sgr-1").ip_protocol("tcp").from_port(443).to_port(443);
        let v4 = rule_from_ec2(&base().is_egress(false).cidr_ipv4("10.0.0.0/8").build()).unwrap();
        assert_eq!(v4, Rule::https_from(cidr("10.0.0.0/8")));
        assert_eq!(v4.id.as_deref(), Some("sgr-1"));
        let v6 = rule_from_ec2(&base().is_egress(false).cidr_ipv6("::/0").build()).unwrap();
        assert_eq!(v6.peer, cidr("::/0"));
        let group = aws_sdk_ec2::types::ReferencedSecurityGroup::builder().group_id("sg-2").build();
        let g = rule_from_ec2(&base().is_egress(false).referenced_group_info(group).build()).unwrap();
        assert_eq!(g.peer, Peer::Group("sg-2".into()));
        let pl = rule_from_ec2(&base().is_egress(true).prefix_list_id("pl-1").build()).unwrap();
        assert_eq!((pl.direction, pl.peer), (Direction::Egress, Peer::PrefixList("pl-1".into())));
    }

    #[test]
    fn all_traffic_rules_have_ports_minus_one() {
        let all = SecurityGroupRule::builder().ip_protocol("-1").is_egress(true).cidr_ipv4("0.0.0.0/0").build();
        assert_eq!(rule_from_ec2(&all), Some(rule(Direction::Egress, "-1", -1, -1, cidr("0.0.0.0/0"))));
    }

    #[test]
    fn a_rule_without_a_peer_is_left_out() {
        let odd = SecurityGroupRule::builder().ip_protocol("tcp").is_egress(false).from_port(1).to_port(1).build();
        assert_eq!(rule_from_ec2(&odd), None);
    }

    #[test]
    fn permissions_put_each_peer_in_its_list() {
        let v4 = permission(&Rule::https_from(cidr("10.0.0.0/8")));
        assert_eq!(v4.ip_ranges()[0].cidr_ip(), Some("10.0.0.0/8"));
        assert_eq!((v4.ip_protocol(), v4.from_port(), v4.to_port()), (Some("tcp"), Some(443), Some(443)));
        let v6 = permission(&Rule::https_from(cidr("2001:db8::/32")));
        assert_eq!(v6.ipv6_ranges()[0].cidr_ipv6(), Some("2001:db8::/32"));
        assert!(v6.ip_ranges().is_empty());
        let g = permission(&Rule::https_from(Peer::Group("sg-9".into())));
        assert_eq!(g.user_id_group_pairs()[0].group_id(), Some("sg-9"));
        let pl = permission(&Rule::https_from(Peer::PrefixList("pl-9".into())));
        assert_eq!(pl.prefix_list_ids()[0].prefix_list_id(), Some("pl-9"));
    }

    #[tokio::test]
    async fn a_batch_refused_as_partly_done_is_retried_one_by_one() {
        let sent = std::sync::Mutex::new(Vec::new());
        let result = tolerant_batch(vec!["a", "b"], &RULE_EXISTS, |items| {
            sent.lock().unwrap().push(items.clone());
            let refuse = items.len() > 1 || items == ["a"];
            async move {
                if refuse {
                    Err(failed_with("InvalidPermission.Duplicate"))
                } else {
                    Ok(())
                }
            }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(*sent.lock().unwrap(), vec![vec!["a", "b"], vec!["a"], vec!["b"]]);
    }

    #[tokio::test]
    async fn other_failures_and_empty_batches() {
        let refused = tolerant_batch(vec!["a"], &RULE_GONE, |_| async { Err(failed_with("UnauthorizedOperation")) }).await;
        assert!(refused.unwrap_err().summary.contains("ec2:Test"));
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let none = tolerant_batch(Vec::<String>::new(), &RULE_GONE, |_| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async { Ok(()) }
        })
        .await;
        assert!(none.is_ok());
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    fn delete_error(code: &str) -> DeleteSecurityGroupError {
        let meta = ErrorMetadata::builder().code(code).message("resource sg-1 has a dependent object").build();
        DeleteSecurityGroupError::generic(meta)
    }

    #[test]
    fn delete_rounds_classify_the_answer() {
        assert!(matches!(delete_round(Ok::<_, DeleteSecurityGroupError>(())), Ok(Poll::Done(()))));
        assert!(matches!(delete_round::<(), _>(Err(delete_error("InvalidGroup.NotFound"))), Ok(Poll::Done(()))));
        match delete_round::<(), _>(Err(delete_error("DependencyViolation"))) {
            Ok(Poll::Pending(state)) => assert!(state.contains("dependent object"), "{state}"),
            _ => panic!("in use is pending"),
        }
        let e = delete_round::<(), _>(Err(delete_error("UnauthorizedOperation"))).err().unwrap();
        assert!(e.summary.contains("ec2:DeleteSecurityGroup") && e.detail.contains("UnauthorizedOperation"), "{e:?}");
    }

    #[tokio::test]
    async fn delete_of_a_group_in_use_times_out_saying_so() {
        let mut calls = 0;
        let e = delete_until_released("sg-1", Duration::from_millis(50), || {
            calls += 1;
            async { Err::<(), _>(delete_error("DependencyViolation")) }
        })
        .await
        .unwrap_err();
        assert!(calls >= 2, "retried: {calls}");
        assert!(e.summary.contains("sg-1") && e.summary.contains("still in use"), "{e:?}");
        assert!(e.detail.contains("DependencyViolation"), "{e:?}");
    }

    fn failed_with(code: &str) -> Failed {
        Failed { code: Some(code.into()), diagnostic: Diagnostic::error(format!("{PART}: ec2:Test failed"), code) }
    }
}
