//! Changing a group's rules: revoke what is not wanted, authorize what is
//! missing, one call per direction, tolerating rules another writer
//! already revoked or authorized.

use std::future::Future;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{call_failed, Diagnostic, Direction, PartResult, Peer, Rule, PART, RULE_EXISTS, RULE_GONE};

/// Revoke the observed rules not in `desired` (by rule id, one call per
/// direction) and authorize the desired ones missing (one call per
/// direction). No call when nothing differs; whether anything did.
pub async fn reconcile_rules(ec2: &aws_sdk_ec2::Client, group_id: &str, observed: &[Rule], desired: &[Rule]) -> PartResult<bool> {
    let (to_revoke, to_authorize) = plan_rule_changes(observed, desired);
    if to_revoke.is_empty() && to_authorize.is_empty() {
        return Ok(false);
    }
    // Revoke first: it never removes a wanted rule, and it frees room under
    // the per-group rule limit for the rules authorized next.
    for direction in [Direction::Ingress, Direction::Egress] {
        revoke(ec2, group_id, direction, &in_direction(&to_revoke, direction)).await?;
    }
    for direction in [Direction::Ingress, Direction::Egress] {
        authorize(ec2, group_id, direction, &in_direction(&to_authorize, direction)).await?;
    }
    Ok(true)
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

pub(super) fn in_direction<'a>(rules: &[&'a Rule], direction: Direction) -> Vec<&'a Rule> {
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
pub(super) async fn tolerant_batch<T, F, Fut>(items: Vec<T>, done_codes: &[&str], send: F) -> PartResult<()>
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
pub(super) struct Failed {
    pub(super) code: Option<String>,
    pub(super) diagnostic: Diagnostic,
}

impl Failed {
    fn new<E: ProvideErrorMetadata + std::error::Error + 'static>(call: &str, err: &E) -> Failed {
        Failed { code: err.code().map(str::to_string), diagnostic: call_failed(PART, call, err) }
    }
    fn is_any(&self, codes: &[&str]) -> bool {
        self.code.as_deref().is_some_and(|c| codes.contains(&c))
    }
}

/// One IpPermission per rule: AWS accepts a list of them in one call, and
/// one peer each keeps the mapping obvious.
pub(super) fn permission(rule: &Rule) -> IpPermission {
    let p = IpPermission::builder().ip_protocol(&rule.protocol).from_port(rule.from_port).to_port(rule.to_port);
    match &rule.peer {
        Peer::Cidr(cidr) if cidr.contains(':') => p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build()),
        Peer::Cidr(cidr) => p.ip_ranges(IpRange::builder().cidr_ip(cidr).build()),
        Peer::Group(group) => p.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build()),
        Peer::PrefixList(pl) => p.prefix_list_ids(PrefixListId::builder().prefix_list_id(pl).build()),
    }
    .build()
}
