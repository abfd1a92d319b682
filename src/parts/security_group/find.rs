//! Reading groups: DescribeSecurityGroups and DescribeSecurityGroupRules,
//! and AWS's answers mapped to `Group` and `Rule`.

use std::collections::HashMap;

use aws_sdk_ec2::types::{SecurityGroup, SecurityGroupRule};

use super::{call_failed, tags, Direction, Group, PartResult, Peer, Rule, Tags, GROUP_MISSING, PART};
use crate::parts::tags::Owned;
use crate::parts::{ec2_filter, has_code};

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

/// A rule of another group that names group `id` (as a peer, in or out),
/// with that group's id: what keeps AWS from deleting `id`.
pub async fn referencing_rule(ec2: &aws_sdk_ec2::Client, id: &str) -> PartResult<Option<(String, Rule)>> {
    let mut holders: Vec<String> = Vec::new();
    for filter in ["ip-permission.group-id", "egress.ip-permission.group-id"] {
        let out = ec2
            .describe_security_groups()
            .filters(ec2_filter(filter, [id]))
            .send()
            .await
            .map_err(|e| call_failed(PART, "ec2:DescribeSecurityGroups", &e))?;
        holders.extend(out.security_groups().iter().filter_map(|g| g.group_id()).filter(|g| *g != id).map(str::to_string));
    }
    holders.sort();
    holders.dedup();
    for group in find_many(ec2, &holders).await? {
        if let Some(rule) = group.rules.iter().find(|r| r.peer == Peer::Group(id.to_string())) {
            return Ok(Some((group.id.clone(), rule.clone())));
        }
    }
    Ok(None)
}

/// Group ids in `vpc_id` carrying every tag of `tags` (adoption after a
/// lost create answer).
pub async fn find_by_tags(ec2: &aws_sdk_ec2::Client, vpc_id: &str, tags: &Tags) -> PartResult<Vec<String>> {
    let mut filters = vec![ec2_filter("vpc-id", [vpc_id])];
    filters.extend(tags.iter().map(|(k, v)| ec2_filter(&format!("tag:{k}"), [v.as_str()])));
    let groups = describe_filtered(ec2, filters).await?;
    Ok(groups.iter().filter_map(|g| g.group_id().map(str::to_string)).collect())
}

/// Every page of DescribeSecurityGroups with `filters`, as AWS answers.
async fn describe_filtered(ec2: &aws_sdk_ec2::Client, filters: Vec<aws_sdk_ec2::types::Filter>) -> PartResult<Vec<SecurityGroup>> {
    ec2.describe_security_groups()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_failed(PART, "ec2:DescribeSecurityGroups", &e))
}

/// Every group carrying an owner tag, in `vpc_id` or (None) in every VPC
/// of the region: one paginated call, no rules read.
pub async fn find_owned(ec2: &aws_sdk_ec2::Client, vpc_id: Option<&str>) -> PartResult<Vec<Owned>> {
    let mut filters = vec![ec2_filter("tag-key", [tags::OWNER_TAG])];
    filters.extend(vpc_id.map(|v| ec2_filter("vpc-id", [v])));
    let groups = describe_filtered(ec2, filters).await?;
    Ok(groups
        .iter()
        .filter_map(|g| {
            let tags = tags::from_ec2(g.tags());
            Owned::from_tags(PART, g.group_id()?, g.group_name().unwrap_or(""), g.vpc_id().unwrap_or(""), &tags)
        })
        .collect())
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
pub(super) fn rule_from_ec2(rule: &SecurityGroupRule) -> Option<Rule> {
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
