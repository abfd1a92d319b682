//! Unit tests of the pure parts: diff, mapping AWS's answers, wait rounds,
//! delete failures and services.

use aws_sdk_ec2::types::{
    DnsEntry, SecurityGroupIdentifier, ServiceDetail, ServiceType, ServiceTypeDetail, State, Tag, UnsuccessfulItem, UnsuccessfulItemError,
    VpcEndpoint,
};

use super::find::{carries_all, endpoint_from_ec2};
use super::services::merge_services;
use super::wait::{availability, not_yet_deleted};
use super::*;
use crate::parts::wait::Poll;

const DEFAULT_POLICY: &str = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
const SQS_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"}]}"#;

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn observed() -> Endpoint {
    Endpoint {
        id: "vpce-1".into(),
        vpc_id: "vpc-1".into(),
        service_name: "com.amazonaws.us-east-1.sqs".into(),
        kind: Kind::Interface,
        state: "available".into(),
        subnet_ids: strings(&["subnet-a", "subnet-b"]),
        route_table_ids: vec![],
        security_group_ids: strings(&["sg-1"]),
        private_dns_enabled: true,
        private_dns_only_for_inbound_resolver_endpoint: None,
        policy: Some(DEFAULT_POLICY.into()),
        dns_names: vec![],
        network_interface_ids: vec![],
        prefix_list_id: None,
        tags: Tags::new(),
    }
}

fn wanted() -> EndpointSpec {
    EndpointSpec {
        vpc_id: "vpc-1".into(),
        service_name: "com.amazonaws.us-east-1.sqs".into(),
        kind: Kind::Interface,
        subnet_ids: strings(&["subnet-b", "subnet-a"]),
        route_table_ids: vec![],
        security_group_ids: strings(&["sg-1"]),
        private_dns_enabled: Some(true),
        private_dns_only_for_inbound_resolver_endpoint: None,
        policy: None,
        tags: Tags::new(),
        client_token: "token".into(),
    }
}

// ---- diff ----

#[test]
fn same_endpoint_needs_no_change() {
    let change = diff(&observed(), &wanted());
    assert!(change.is_empty(), "{change:?}");
}

#[test]
fn list_changes_are_sorted_adds_and_removes() {
    let mut want = wanted();
    want.subnet_ids = strings(&["subnet-d", "subnet-b", "subnet-c"]);
    want.security_group_ids = strings(&["sg-3", "sg-2"]);
    let change = diff(&observed(), &want);
    assert_eq!(change.add_subnet_ids, strings(&["subnet-c", "subnet-d"]));
    assert_eq!(change.remove_subnet_ids, strings(&["subnet-a"]));
    assert_eq!(change.add_security_group_ids, strings(&["sg-2", "sg-3"]));
    assert_eq!(change.remove_security_group_ids, strings(&["sg-1"]));
    assert!(change.add_route_table_ids.is_empty() && change.remove_route_table_ids.is_empty());
    assert_eq!(change.policy, None);
    assert_eq!(change.private_dns_enabled, None);
}

#[test]
fn turning_private_dns_on_sends_the_s3_option_even_when_aws_reports_it_already() {
    let mut cur = observed();
    cur.service_name = "com.amazonaws.us-east-1.s3".into();
    cur.private_dns_enabled = false;
    cur.private_dns_only_for_inbound_resolver_endpoint = Some(false);
    let mut want = wanted();
    want.service_name = cur.service_name.clone();
    want.private_dns_only_for_inbound_resolver_endpoint = Some(false);
    let change = diff(&cur, &want);
    assert_eq!((change.private_dns_enabled, change.private_dns_only_for_inbound_resolver_endpoint), (Some(true), Some(false)));
    // Private DNS already on and the option as wanted: nothing to send.
    cur.private_dns_enabled = true;
    assert!(diff(&cur, &want).is_empty(), "{:?}", diff(&cur, &want));
    // Private DNS off and staying off: the option does not apply.
    cur.private_dns_enabled = false;
    want.private_dns_enabled = Some(false);
    assert!(diff(&cur, &want).is_empty(), "{:?}", diff(&cur, &want));
}

#[test]
fn route_table_changes_for_gateways() {
    let mut cur = observed();
    cur.kind = Kind::Gateway;
    cur.subnet_ids.clear();
    cur.security_group_ids.clear();
    cur.route_table_ids = strings(&["rtb-1", "rtb-2"]);
    let mut want = wanted();
    want.kind = Kind::Gateway;
    want.subnet_ids.clear();
    want.security_group_ids.clear();
    want.private_dns_enabled = None;
    want.route_table_ids = strings(&["rtb-3", "rtb-1", "rtb-3"]);
    let change = diff(&cur, &want);
    assert_eq!(change.add_route_table_ids, strings(&["rtb-3"]));
    assert_eq!(change.remove_route_table_ids, strings(&["rtb-2"]));
    assert!(change.add_subnet_ids.is_empty() && change.remove_subnet_ids.is_empty());
    // None: whatever AWS reports for a gateway is left alone.
    assert_eq!(change.private_dns_enabled, None);
}

#[test]
fn no_policy_wanted_resets_only_a_non_default_policy() {
    let mut cur = observed();
    cur.policy = Some(SQS_ONLY.into());
    assert_eq!(diff(&cur, &wanted()).policy, Some(PolicyChange::Reset));
    // Reformatted default: nothing to do.
    cur.policy =
        Some(r#"{"Statement":{"Resource":"*","Action":"*","Principal":{"AWS":"*"},"Effect":"Allow"},"Version":"2008-10-17"}"#.into());
    assert_eq!(diff(&cur, &wanted()).policy, None);
    cur.policy = None;
    assert_eq!(diff(&cur, &wanted()).policy, None);
}

#[test]
fn wanted_policy_is_set_unless_equivalent() {
    let mut want = wanted();
    want.policy = Some(SQS_ONLY.into());
    // current is the default
    assert_eq!(diff(&observed(), &want).policy, Some(PolicyChange::Set(SQS_ONLY.into())));
    // current unknown
    let mut cur = observed();
    cur.policy = None;
    assert_eq!(diff(&cur, &want).policy, Some(PolicyChange::Set(SQS_ONLY.into())));
    // current means the same, written differently
    cur.policy = Some(
        r#"{"Statement":[{"Resource":["*"],"Action":["sqs:*"],"Principal":{"AWS":["*"]},"Effect":"Allow"}],"Version":"2012-10-17"}"#.into(),
    );
    assert_eq!(diff(&cur, &want).policy, None);
}

#[test]
fn private_dns_only_when_asked_and_different() {
    let mut want = wanted();
    want.private_dns_enabled = Some(false);
    assert_eq!(diff(&observed(), &want).private_dns_enabled, Some(false));
    want.private_dns_enabled = None;
    assert_eq!(diff(&observed(), &want).private_dns_enabled, None);
    let mut cur = observed();
    cur.private_dns_enabled = false;
    want.private_dns_enabled = Some(false);
    assert_eq!(diff(&cur, &want).private_dns_enabled, None);
}

fn s3_interface() -> (Endpoint, EndpointSpec) {
    let s3 = "com.amazonaws.us-east-1.s3".to_string();
    let cur = Endpoint { service_name: s3.clone(), private_dns_only_for_inbound_resolver_endpoint: Some(true), ..observed() };
    let want = EndpointSpec { service_name: s3, private_dns_only_for_inbound_resolver_endpoint: Some(true), ..wanted() };
    (cur, want)
}

#[test]
fn inbound_only_dns_changes_when_different_or_unreported() {
    let (mut cur, mut want) = s3_interface();
    assert!(diff(&cur, &want).is_empty(), "{:?}", diff(&cur, &want));
    want.private_dns_only_for_inbound_resolver_endpoint = Some(false);
    assert_eq!(diff(&cur, &want), Change { private_dns_only_for_inbound_resolver_endpoint: Some(false), ..Change::default() });
    // Not reported (moto): what is wanted is sent.
    cur.private_dns_only_for_inbound_resolver_endpoint = None;
    assert_eq!(diff(&cur, &want).private_dns_only_for_inbound_resolver_endpoint, Some(false));
    // Nothing wanted: nothing sent.
    want.private_dns_only_for_inbound_resolver_endpoint = None;
    assert!(diff(&cur, &want).is_empty());
}

#[test]
fn inbound_only_dns_is_never_sent_without_private_dns_or_for_a_gateway() {
    let (mut cur, mut want) = s3_interface();
    cur.private_dns_only_for_inbound_resolver_endpoint = None;
    want.private_dns_enabled = Some(false);
    assert_eq!(inbound_only(&want), None);
    assert_eq!(diff(&cur, &want), Change { private_dns_enabled: Some(false), ..Change::default() });
    want.private_dns_enabled = None;
    assert_eq!(inbound_only(&want), None);
    let gateway = EndpointSpec { kind: Kind::Gateway, private_dns_enabled: Some(true), ..want.clone() };
    assert_eq!(inbound_only(&gateway), None);
    let on = EndpointSpec { private_dns_enabled: Some(true), private_dns_only_for_inbound_resolver_endpoint: Some(false), ..want };
    assert_eq!(inbound_only(&on), Some(false));
    let sent = dns_options(inbound_only(&on)).unwrap();
    assert_eq!(sent.private_dns_only_for_inbound_resolver_endpoint(), Some(false));
    assert_eq!(sent.dns_record_ip_type(), None, "only the one option is sent");
    assert_eq!(dns_options(None), None);
}

#[test]
fn tags_are_not_part_of_the_diff() {
    let mut want = wanted();
    want.tags.insert("team".into(), "a".into());
    assert!(diff(&observed(), &want).is_empty());
}

// ---- mapping AWS's answer ----

fn ec2_endpoint() -> aws_sdk_ec2::types::builders::VpcEndpointBuilder {
    VpcEndpoint::builder()
        .vpc_endpoint_id("vpce-1")
        .vpc_id("vpc-1")
        .service_name("com.amazonaws.us-east-1.sqs")
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .state(State::PendingAcceptance)
        .subnet_ids("subnet-b")
        .subnet_ids("subnet-a")
        .groups(SecurityGroupIdentifier::builder().group_id("sg-2").group_name("two").build())
        .groups(SecurityGroupIdentifier::builder().group_id("sg-1").build())
        .network_interface_ids("eni-1")
        .dns_entries(DnsEntry::builder().dns_name("vpce-1.sqs.us-east-1.vpce.amazonaws.com").hosted_zone_id("Z1").build())
        .private_dns_enabled(true)
        .policy_document(DEFAULT_POLICY)
        .tags(Tag::builder().key("team").value("a").build())
}

#[test]
fn maps_an_interface_endpoint() {
    let e = endpoint_from_ec2(&ec2_endpoint().build()).unwrap();
    assert_eq!(e.id, "vpce-1");
    assert_eq!(e.kind, Kind::Interface);
    assert_eq!(e.state, "pendingacceptance");
    assert_eq!(e.subnet_ids, strings(&["subnet-a", "subnet-b"]));
    assert_eq!(e.security_group_ids, strings(&["sg-1", "sg-2"]));
    assert_eq!(e.network_interface_ids, strings(&["eni-1"]));
    assert_eq!(e.dns_names, strings(&["vpce-1.sqs.us-east-1.vpce.amazonaws.com"]));
    assert!(e.private_dns_enabled);
    assert_eq!(e.policy.as_deref(), Some(DEFAULT_POLICY));
    assert_eq!(e.tags.get("team").map(String::as_str), Some("a"));
    assert_eq!(e.prefix_list_id, None);
    assert_eq!(e.private_dns_only_for_inbound_resolver_endpoint, None, "not reported, not invented");
}

#[test]
fn maps_the_inbound_only_dns_option_when_reported() {
    let reported = |v: bool| {
        let options = aws_sdk_ec2::types::DnsOptions::builder().private_dns_only_for_inbound_resolver_endpoint(v).build();
        endpoint_from_ec2(&ec2_endpoint().dns_options(options).build()).unwrap().private_dns_only_for_inbound_resolver_endpoint
    };
    assert_eq!(reported(true), Some(true));
    assert_eq!(reported(false), Some(false));
}

#[test]
fn maps_states_as_lower_case_and_tolerates_missing_fields() {
    let e = endpoint_from_ec2(&VpcEndpoint::builder().vpc_endpoint_id("vpce-2").state(State::from("available")).build()).unwrap();
    assert_eq!(e.state, "available");
    assert_eq!(e.kind, Kind::Gateway);
    assert!(!e.private_dns_enabled);
    assert_eq!(e.policy, None);
    assert!(e.subnet_ids.is_empty());
}

#[test]
fn skips_endpoints_without_id_or_of_other_kinds() {
    assert_eq!(endpoint_from_ec2(&ec2_endpoint().set_vpc_endpoint_id(None).build()), None);
    assert_eq!(endpoint_from_ec2(&ec2_endpoint().vpc_endpoint_type(VpcEndpointType::GatewayLoadBalancer).build()), None);
}

#[test]
fn gone_states() {
    let mut e = observed();
    for (state, gone) in [
        ("available", false),
        ("pending", false),
        ("pendingacceptance", false),
        ("deleting", true),
        ("deleted", true),
        ("failed", true),
        ("rejected", true),
        ("expired", true),
    ] {
        e.state = state.into();
        assert_eq!(e.is_gone(), gone, "{state}");
    }
}

#[test]
fn tag_match_is_exact() {
    let have: Tags = [("a".to_string(), "1".to_string()), ("b".to_string(), "2".to_string())].into();
    assert!(carries_all(&have, &Tags::new()));
    assert!(carries_all(&have, &[("a".to_string(), "1".to_string())].into()));
    assert!(!carries_all(&have, &[("a".to_string(), "*".to_string())].into()));
    assert!(!carries_all(&have, &[("c".to_string(), "1".to_string())].into()));
}

// ---- waits ----

fn in_state(state: &str) -> Endpoint {
    Endpoint { state: state.into(), ..observed() }
}

#[test]
fn availability_rounds() {
    assert!(matches!(availability("vpce-1", Some(in_state("available"))), Ok(Poll::Done(_))));
    assert!(matches!(availability("vpce-1", Some(in_state("pendingacceptance"))), Ok(Poll::Done(_))));
    assert!(matches!(availability("vpce-1", Some(in_state("pending"))), Ok(Poll::Pending(s)) if s == "pending"));
    for state in ["failed", "rejected"] {
        let Err(e) = availability("vpce-1", Some(in_state(state))) else { panic!("{state} must fail at once") };
        assert!(e.summary.contains("vpce-1") && e.summary.contains("com.amazonaws.us-east-1.sqs") && e.summary.contains(state), "{e:?}");
    }
    for state in ["deleting", "deleted"] {
        let Err(e) = availability("vpce-1", Some(in_state(state))) else { panic!("{state} must fail at once") };
        assert!(e.summary.contains(state), "{e:?}");
    }
    let Err(e) = availability("vpce-1", None) else { panic!("a missing endpoint must fail") };
    assert!(e.summary.contains("vpce-1 disappeared"), "{e:?}");
}

#[test]
fn deleted_or_absent_counts_as_deleted() {
    let mut deleting = in_state("deleting");
    deleting.id = "vpce-2".into();
    assert!(not_yet_deleted(&[]).is_empty());
    assert!(not_yet_deleted(&[in_state("deleted")]).is_empty());
    assert_eq!(not_yet_deleted(&[in_state("deleted"), deleting]), strings(&["vpce-2 (deleting)"]));
}

fn unsuccessful(id: &str, code: &str) -> UnsuccessfulItem {
    UnsuccessfulItem::builder().resource_id(id).error(UnsuccessfulItemError::builder().code(code).message("why").build()).build()
}

#[test]
fn already_gone_is_not_a_delete_failure() {
    let items = [
        unsuccessful("vpce-1", "InvalidVpcEndpoint.NotFound"),
        unsuccessful("vpce-2", "InvalidVpcEndpointId.NotFound"),
        unsuccessful("vpce-3", "OperationInProgress"),
    ];
    assert_eq!(delete_failures(&items), strings(&["vpce-3 (OperationInProgress: why)"]));
    assert!(delete_failures(&[]).is_empty());
}

// ---- services ----

fn detail(name: &str, kind: ServiceType, dns: Option<&str>) -> ServiceDetail {
    ServiceDetail::builder()
        .service_name(name)
        .service_type(ServiceTypeDetail::builder().service_type(kind).build())
        .set_private_dns_name(dns.map(str::to_string))
        .build()
}

#[test]
fn services_listed_per_kind_are_merged() {
    let merged = merge_services(&[
        detail("com.amazonaws.us-east-1.sqs", ServiceType::Interface, Some("sqs.us-east-1.amazonaws.com")),
        detail("com.amazonaws.us-east-1.s3", ServiceType::Interface, None),
        detail("com.amazonaws.us-east-1.s3", ServiceType::Gateway, Some("s3.us-east-1.amazonaws.com")),
        detail("com.amazonaws.us-east-1.s3", ServiceType::Gateway, None),
        detail("com.amazonaws.vpce.us-east-1.vpce-svc-1", ServiceType::GatewayLoadBalancer, None),
    ]);
    assert_eq!(
        merged,
        vec![
            Service {
                name: "com.amazonaws.us-east-1.s3".into(),
                kinds: vec![Kind::Interface, Kind::Gateway],
                private_dns_name: Some("s3.us-east-1.amazonaws.com".into())
            },
            Service {
                name: "com.amazonaws.us-east-1.sqs".into(),
                kinds: vec![Kind::Interface],
                private_dns_name: Some("sqs.us-east-1.amazonaws.com".into())
            },
            Service { name: "com.amazonaws.vpce.us-east-1.vpce-svc-1".into(), kinds: vec![], private_dns_name: None },
        ]
    );
}

#[test]
fn kind_names() {
    assert_eq!(Kind::Interface.as_str(), "Interface");
    assert_eq!(Kind::Gateway.as_str(), "Gateway");
    assert_eq!(endpoint_type(Kind::Gateway), VpcEndpointType::Gateway);
    assert_eq!(endpoint_type(Kind::Interface), VpcEndpointType::Interface);
}
