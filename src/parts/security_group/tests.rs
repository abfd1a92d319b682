//! Unit tests of the pure parts: rules (description, equality, planning,
//! mapping AWS's answers, permissions), tolerant batches and delete rounds.

use aws_sdk_ec2::operation::delete_security_group::DeleteSecurityGroupError;
use aws_sdk_ec2::types::SecurityGroupRule;
use aws_smithy_types::error::ErrorMetadata;

use super::find::rule_from_ec2;
use super::rules::{in_direction, permission, tolerant_batch, Failed};
use super::wait::delete_round;
use super::*;
use crate::parts::wait::Poll;

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
    assert_eq!(rule(Direction::Egress, "-1", -1, -1, cidr("0.0.0.0/0")).describe(), "egress all to 0.0.0.0/0");
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
    let e = delete_until_released(
        "sg-1",
        Duration::from_millis(50),
        || {
            calls += 1;
            async { Err::<(), _>(delete_error("DependencyViolation")) }
        },
        || async { Ok(()) },
    )
    .await
    .unwrap_err();
    assert!(calls >= 2, "retried: {calls}");
    assert!(e.summary.contains("sg-1") && e.summary.contains("still in use"), "{e:?}");
    assert!(e.detail.contains("DependencyViolation"), "{e:?}");
}

#[tokio::test]
async fn a_delete_that_waiting_cannot_help_fails_at_once() {
    let mut calls = 0;
    let e = delete_until_released(
        "sg-1",
        Duration::from_secs(600),
        || {
            calls += 1;
            async { Err::<(), _>(delete_error("DependencyViolation")) }
        },
        || async { Err(still_referenced("sg-1", "sg-2", &rule(Direction::Ingress, "tcp", 443, 443, Peer::Group("sg-1".into())))) },
    )
    .await
    .unwrap_err();
    assert_eq!(calls, 1, "no retry");
    assert_eq!(e.summary, "security group: still referenced by another group");
    for want in ["sg-1", "sg-2", "ingress tcp 443", "Remove that rule"] {
        assert!(e.detail.contains(want), "{want}: {}", e.detail);
    }
}

fn failed_with(code: &str) -> Failed {
    Failed { code: Some(code.into()), diagnostic: Diagnostic::error(format!("{PART}: ec2:Test failed"), code) }
}
