//! The security group and network parts against a moto server: each test
//! builds its own VPC with the SDK, then drives the part as a composite
//! would and checks what EC2 ends up holding.

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, IpRange};
use common::moto::Moto;
use privatelink::aws::Aws;
use privatelink::parts::security_group::{self, Direction, GroupSpec, Peer, Rule};
use privatelink::parts::tags::Tags;
use privatelink::parts::vpc;

/// A moto server and the provider's AWS context pointed at it. The server
/// lives as long as this value.
struct Bed {
    _moto: Moto,
    aws: Aws,
}

async fn bed() -> Bed {
    let moto = Moto::start();
    let aws = common::aws(&moto.url()).await;
    Bed { _moto: moto, aws }
}

async fn create_vpc(ec2: &aws_sdk_ec2::Client, cidr: &str) -> String {
    let out = ec2.create_vpc().cidr_block(cidr).send().await.unwrap();
    out.vpc().and_then(|v| v.vpc_id()).unwrap().to_string()
}

async fn create_subnet(ec2: &aws_sdk_ec2::Client, vpc_id: &str, cidr: &str, az: &str) -> String {
    let out = ec2.create_subnet().vpc_id(vpc_id).cidr_block(cidr).availability_zone(az).send().await.unwrap();
    out.subnet().and_then(|s| s.subnet_id()).unwrap().to_string()
}

/// A group made behind the part's back, to be referenced by rules.
async fn plain_group(ec2: &aws_sdk_ec2::Client, vpc_id: &str, name: &str) -> String {
    let out = ec2.create_security_group().group_name(name).description("peer").vpc_id(vpc_id).send().await.unwrap();
    out.group_id().unwrap().to_string()
}

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn spec(vpc_id: &str, name: &str, rules: Vec<Rule>) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        description: "endpoints of a test bundle".into(),
        vpc_id: vpc_id.into(),
        tags: tags(&[("team", "net"), ("privatelink:owner", name)]),
        rules,
    }
}

/// The rules of a group, sorted, ids dropped: what the assertions compare.
fn rule_set(rules: &[Rule]) -> Vec<Rule> {
    let mut out: Vec<Rule> = rules.iter().cloned().map(|r| Rule { id: None, ..r }).collect();
    out.sort_by(|a, b| a.key().cmp(&b.key()));
    out
}

#[tokio::test]
async fn create_leaves_exactly_the_wanted_rules_and_the_tags() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.1.0.0/16").await;
    let peer = plain_group(ec2, &vpc_id, "lambda-functions").await;
    let wanted = vec![Rule::https_from(Peer::Cidr("10.1.0.0/16".into())), Rule::https_from(Peer::Group(peer.clone()))];

    let mut recorded = None;
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-1", wanted.clone()), |id| recorded = Some(id.to_string())).await.unwrap();
    assert_eq!(recorded.as_deref(), Some(id.as_str()), "the id is handed over as soon as the group exists");

    let group = security_group::find(ec2, &id).await.unwrap().expect("the new group is found");
    assert_eq!((group.id.as_str(), group.name.as_str(), group.vpc_id.as_str()), (id.as_str(), "peb-1", vpc_id.as_str()));
    assert_eq!(rule_set(&group.rules), rule_set(&wanted), "two ingress rules and no egress rule: {:?}", group.rules);
    assert!(group.rules.iter().all(|r| r.direction == Direction::Ingress));
    assert!(group.rules.iter().all(|r| r.id.as_deref().is_some_and(|i| i.starts_with("sgr-"))), "{:?}", group.rules);
    assert_eq!(group.tags.get("team").map(String::as_str), Some("net"));
    assert_eq!(group.tags.get("privatelink:owner").map(String::as_str), Some("peb-1"));
}

#[tokio::test]
async fn create_keeps_the_default_egress_when_it_is_wanted() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.2.0.0/16").await;
    let all_out = Rule {
        direction: Direction::Egress,
        protocol: "-1".into(),
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr("0.0.0.0/0".into()),
        id: None,
    };
    let wanted = vec![Rule::https_from(Peer::Cidr("10.2.0.0/16".into())), all_out.clone()];

    let id = security_group::create(ec2, &spec(&vpc_id, "peb-2", wanted.clone()), |_| {}).await.unwrap();

    let group = security_group::find(ec2, &id).await.unwrap().unwrap();
    assert_eq!(rule_set(&group.rules), rule_set(&wanted));
    let egress: Vec<String> = group.rules.iter().filter(|r| r.direction == Direction::Egress).map(Rule::describe).collect();
    assert_eq!(egress, vec!["egress all to 0.0.0.0/0"]);
}

#[tokio::test]
async fn reconcile_removes_a_rule_added_out_of_band_and_keeps_the_wanted_ones() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.3.0.0/16").await;
    let peer = plain_group(ec2, &vpc_id, "lambda-functions").await;
    let wanted = vec![Rule::https_from(Peer::Cidr("10.3.0.0/16".into())), Rule::https_from(Peer::Group(peer))];
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-3", wanted.clone()), |_| {}).await.unwrap();

    // Someone opens SSH to the world in the console.
    ec2.authorize_security_group_ingress()
        .group_id(&id)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(22)
                .to_port(22)
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let drifted = security_group::find(ec2, &id).await.unwrap().unwrap();
    let described: Vec<String> = drifted.rules.iter().map(Rule::describe).collect();
    assert!(described.contains(&"ingress tcp 22 from 0.0.0.0/0".to_string()), "{described:?}");
    assert_eq!(drifted.rules.len(), 3);

    security_group::reconcile_rules(ec2, &id, &drifted.rules, &wanted).await.unwrap();

    let fixed = security_group::find(ec2, &id).await.unwrap().unwrap();
    assert_eq!(rule_set(&fixed.rules), rule_set(&wanted), "{:?}", fixed.rules);
    let kept: BTreeMap<_, _> = drifted.rules.iter().filter(|r| wanted.contains(r)).map(|r| (r.describe(), r.id.clone())).collect();
    let now: BTreeMap<_, _> = fixed.rules.iter().map(|r| (r.describe(), r.id.clone())).collect();
    assert_eq!(kept, now, "the wanted rules were left alone, not revoked and authorized again");

    // Reconciling against a stale view (the rule is already gone) still succeeds.
    security_group::reconcile_rules(ec2, &id, &drifted.rules, &wanted).await.unwrap();
    let again = security_group::find(ec2, &id).await.unwrap().unwrap();
    assert_eq!(rule_set(&again.rules), rule_set(&wanted));
}

#[tokio::test]
async fn reconcile_tolerates_rules_already_authorized() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.4.0.0/16").await;
    let first = Rule::https_from(Peer::Cidr("10.4.0.0/16".into()));
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-4", vec![first.clone()]), |_| {}).await.unwrap();
    let second = Rule::https_from(Peer::Cidr("10.9.0.0/16".into()));

    // A stale view that misses `first`: authorizing it again must not fail.
    security_group::reconcile_rules(ec2, &id, &[], &[first.clone(), second.clone()]).await.unwrap();

    let group = security_group::find(ec2, &id).await.unwrap().unwrap();
    assert_eq!(rule_set(&group.rules), rule_set(&[first, second]));
}

#[tokio::test]
async fn find_by_tags_finds_only_the_tagged_group() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.5.0.0/16").await;
    let other_vpc = create_vpc(ec2, "10.6.0.0/16").await;
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-5", vec![]), |_| {}).await.unwrap();
    plain_group(ec2, &vpc_id, "untagged").await;
    let owner = tags(&[("privatelink:owner", "peb-5")]);

    assert_eq!(security_group::find_by_tags(ec2, &vpc_id, &owner).await.unwrap(), vec![id]);
    assert!(security_group::find_by_tags(ec2, &other_vpc, &owner).await.unwrap().is_empty());
    let wrong = tags(&[("privatelink:owner", "peb-5"), ("team", "other")]);
    assert!(security_group::find_by_tags(ec2, &vpc_id, &wrong).await.unwrap().is_empty());
}

#[tokio::test]
async fn delete_is_idempotent_and_find_then_reports_none() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.7.0.0/16").await;
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-6", vec![Rule::https_from(Peer::Cidr("10.7.0.0/16".into()))]), |_| {})
        .await
        .unwrap();

    security_group::delete(ec2, &id, Duration::from_secs(10)).await.unwrap();
    assert!(security_group::find(ec2, &id).await.unwrap().is_none());
    security_group::delete(ec2, &id, Duration::from_secs(10)).await.unwrap();

    // Ids that never existed, well-formed or not, are "not found" too.
    assert!(security_group::find(ec2, "sg-0123456789abcdef0").await.unwrap().is_none());
    assert!(security_group::find(ec2, "not-a-group").await.unwrap().is_none());
}

#[tokio::test]
async fn subnets_report_vpc_and_az_and_leave_out_unknown_ids() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.8.0.0/16").await;
    let a = create_subnet(ec2, &vpc_id, "10.8.1.0/24", "us-east-1a").await;
    let b = create_subnet(ec2, &vpc_id, "10.8.2.0/24", "us-east-1b").await;

    let ids = vec![a.clone(), "subnet-0123456789abcdef0".to_string(), b.clone()];
    let mut found = vpc::subnets(ec2, &ids).await.unwrap();
    found.sort_by(|x, y| x.id.cmp(&y.id));
    let mut expected = vec![
        vpc::Subnet { id: a, vpc_id: vpc_id.clone(), availability_zone: "us-east-1a".into(), cidr_block: "10.8.1.0/24".into() },
        vpc::Subnet { id: b, vpc_id: vpc_id.clone(), availability_zone: "us-east-1b".into(), cidr_block: "10.8.2.0/24".into() },
    ];
    expected.sort_by(|x, y| x.id.cmp(&y.id));
    assert_eq!(found, expected);
    assert!(vpc::subnets(ec2, &[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn route_tables_and_security_groups_leave_out_unknown_ids() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.9.0.0/16").await;
    let rtb = ec2.create_route_table().vpc_id(&vpc_id).send().await.unwrap();
    let rtb_id = rtb.route_table().and_then(|t| t.route_table_id()).unwrap().to_string();
    let sg_id = plain_group(ec2, &vpc_id, "functions").await;

    let tables = vpc::route_tables(ec2, &[rtb_id.clone(), "rtb-0123456789abcdef0".into()]).await.unwrap();
    assert_eq!(tables, vec![(rtb_id, vpc_id.clone())]);
    let groups = vpc::security_groups(ec2, &[sg_id.clone(), "sg-0123456789abcdef0".into()]).await.unwrap();
    assert_eq!(groups, vec![(sg_id, vpc_id)]);
}

#[tokio::test]
async fn dns_attributes_follow_the_vpc_settings() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.10.0.0/16").await;

    // A new (non-default) VPC resolves DNS but gives no hostnames.
    assert_eq!(vpc::dns_attributes(ec2, &vpc_id).await.unwrap(), Some((true, false)));

    ec2.modify_vpc_attribute()
        .vpc_id(&vpc_id)
        .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();
    assert_eq!(vpc::dns_attributes(ec2, &vpc_id).await.unwrap(), Some((true, true)));

    assert_eq!(vpc::dns_attributes(ec2, "vpc-00000000").await.unwrap(), None);
}

/// A group that another group's rule names cannot be deleted for as long
/// as the rule exists (AWS: DependencyViolation; the rules proxy answers
/// so, moto alone deletes it). Waiting cannot help, so the delete fails
/// at once, naming the group and the rule, instead of waiting out its
/// timeout. Once the rule is gone, the same delete works.
#[tokio::test]
async fn a_group_still_named_by_another_groups_rule_fails_the_delete_naming_that_rule() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let vpc_id = create_vpc(ec2, "10.8.0.0/16").await;
    let id = security_group::create(ec2, &spec(&vpc_id, "peb-8", vec![]), |_| {}).await.unwrap();
    let holder = plain_group(ec2, &vpc_id, "holder").await;
    let from_ours = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(&id).build())
        .build();
    common::while_propagating(|| ec2.authorize_security_group_ingress().group_id(&holder).ip_permissions(from_ours.clone()).send())
        .await
        .unwrap();

    let e = security_group::delete(ec2, &id, Duration::from_secs(600)).await.unwrap_err();
    assert_eq!(e.summary, "security group: still referenced by another group", "{e:?}");
    assert!(e.detail.contains(&holder) && e.detail.contains(&id), "{}", e.detail);
    assert!(e.detail.contains(&format!("ingress tcp 443 from {id}")), "names the rule: {}", e.detail);
    assert!(security_group::find(ec2, &id).await.unwrap().is_some(), "the group is still there");

    ec2.revoke_security_group_ingress().group_id(&holder).ip_permissions(from_ours).send().await.unwrap();
    security_group::delete(ec2, &id, Duration::from_secs(60)).await.unwrap();
    assert!(security_group::find(ec2, &id).await.unwrap().is_none());
}
