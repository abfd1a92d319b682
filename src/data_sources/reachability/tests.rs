//! Unit tests of the analysis: one healthy network, then one change per
//! finding kind. (The same kinds against moto, through the provider, are
//! in tests/reachability.rs.)

use super::analyse::*;
use super::findings::Kind;
use super::*;
use crate::parts::network_acl::{Acl, Entry};
use crate::parts::route_table::{Route, Table, Target};
use crate::parts::security_group::{Direction, Group, Peer, Rule};
use crate::parts::tags::Tags;
use crate::parts::vpc::Subnet;
use crate::parts::vpc_endpoint::{Endpoint, Kind as EndpointKind};

const SQS: &str = "com.amazonaws.us-east-1.sqs";
const S3: &str = "com.amazonaws.us-east-1.s3";

fn subnet(id: &str, cidr: &str, zone: &str) -> Subnet {
    Subnet { id: id.into(), vpc_id: "vpc-1".into(), availability_zone: zone.into(), cidr_block: cidr.into() }
}

fn rule(direction: Direction, peer: Peer) -> Rule {
    Rule { direction, protocol: "tcp".into(), from_port: 443, to_port: 443, peer, id: None }
}

fn group(id: &str, rules: Vec<Rule>) -> Group {
    Group { id: id.into(), name: id.into(), vpc_id: "vpc-1".into(), tags: Tags::new(), rules }
}

fn endpoint(id: &str, service: &str, kind: EndpointKind) -> Endpoint {
    Endpoint {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        service_name: service.into(),
        kind,
        state: "available".into(),
        subnet_ids: if kind == EndpointKind::Interface { vec!["subnet-a".into(), "subnet-b".into()] } else { vec![] },
        route_table_ids: vec![],
        security_group_ids: if kind == EndpointKind::Interface { vec!["sg-e".into()] } else { vec![] },
        private_dns_enabled: kind == EndpointKind::Interface,
        private_dns_only_for_inbound_resolver_endpoint: None,
        policy: None,
        dns_names: vec![],
        network_interface_ids: vec![],
        prefix_list_id: None,
        tags: Tags::new(),
    }
}

fn allow_all(egress: bool) -> Entry {
    Entry { rule_number: 100, egress, protocol: "-1".into(), ports: None, cidr: "0.0.0.0/0".into(), allow: true }
}

/// A function in subnet-c (us-east-1a) with group sg-c, an SQS Interface
/// endpoint in subnets a (1a) and b (1b) with group sg-e; groups admit
/// each other on 443; open ACLs; a main route table with no way out.
fn healthy() -> Network {
    Network {
        region: "us-east-1".into(),
        function: Some(FunctionFacts {
            name: "orders-producer".into(),
            timeout_seconds: 30,
            role_arn: "arn:aws:iam::123456789012:role/p".into(),
            in_vpc: true,
            traced: false,
        }),
        client_subnet_ids: vec!["subnet-c".into()],
        client_group_ids: vec!["sg-c".into()],
        dns_support: Some(true),
        dns_hostnames: Some(true),
        subnets: Some(vec![
            subnet("subnet-a", "10.0.1.0/24", "us-east-1a"),
            subnet("subnet-b", "10.0.2.0/24", "us-east-1b"),
            subnet("subnet-c", "10.0.3.0/24", "us-east-1a"),
        ]),
        endpoints: Some(vec![endpoint("vpce-q", SQS, EndpointKind::Interface)]),
        groups: Some(vec![
            group("sg-c", vec![rule(Direction::Egress, Peer::Group("sg-e".into()))]),
            group("sg-e", vec![rule(Direction::Ingress, Peer::Group("sg-c".into()))]),
        ]),
        acls: Some(vec![Acl {
            id: "acl-d".into(),
            is_default: true,
            subnet_ids: vec![],
            entries: vec![allow_all(true), allow_all(false)],
        }]),
        tables: Some(vec![Table { id: "rtb-main".into(), main: true, subnet_ids: vec![], routes: vec![local()] }]),
        unreadable: vec![],
        missing: None,
    }
}

fn local() -> Route {
    Route { destination: "10.0.0.0/16".into(), target: Target::Local, active: true }
}

fn sqs() -> Ask {
    Ask::new("sqs", "us-east-1", vec!["sqs:SendMessage".into()])
}

fn kinds(r: &Report) -> Vec<Kind> {
    r.findings.iter().map(|f| f.kind).collect()
}

fn only(r: &Report, kind: Kind) -> &super::findings::Finding {
    assert_eq!(kinds(r), vec![kind], "{:#?}", r.findings);
    &r.findings[0]
}

#[test]
fn a_healthy_interface_path_has_no_findings() {
    let r = analyse(&healthy(), &sqs());
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert!(r.reachable());
    assert_eq!((r.path.clone(), r.path_id.as_str()), (PathKind::InterfaceEndpoint, "vpce-q"));
    assert_eq!((r.dns.host.as_str(), r.dns.resolves_to.as_str()), ("sqs.us-east-1.amazonaws.com", "vpce-q"));
}

#[test]
fn service_names_short_and_full() {
    assert_eq!(Ask::new("sqs", "eu-west-1", vec![]).service_name, "com.amazonaws.eu-west-1.sqs");
    let full = Ask::new("com.amazonaws.us-east-1.ecr.api", "us-east-1", vec![]);
    assert_eq!((full.short().as_str(), full.default_host("us-east-1").as_str()), ("ecr.api", "ecr.api.us-east-1.amazonaws.com"));
}

#[test]
fn client_egress_missing() {
    let mut n = healthy();
    n.groups.as_mut().unwrap()[0].rules.clear();
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::ClientEgressMissing);
    assert!(f.blocking && !r.reachable());
    assert_eq!(f.object, "sg-c");
    assert!(f.fix.contains("egress TCP 443 to sg-e"), "{}", f.fix);
    // A CIDR rule covering the endpoint's subnets does as well as its group.
    n.groups.as_mut().unwrap()[0].rules = vec![rule(Direction::Egress, Peer::Cidr("10.0.0.0/16".into()))];
    assert!(analyse(&n, &sqs()).findings.is_empty());
    n.groups.as_mut().unwrap()[0].rules = vec![rule(Direction::Egress, Peer::Cidr("10.0.1.0/24".into()))];
    assert_eq!(kinds(&analyse(&n, &sqs())), vec![Kind::ClientEgressMissing], "one endpoint subnet is not covered");
}

#[test]
fn endpoint_ingress_missing() {
    let mut n = healthy();
    n.groups.as_mut().unwrap()[1].rules = vec![rule(Direction::Ingress, Peer::Group("sg-other".into()))];
    let f = analyse(&n, &sqs()).findings;
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].kind, f[0].object.as_str()), (Kind::EndpointIngressMissing, "sg-e"));
}

#[test]
fn network_acls_both_ways_on_both_sides() {
    let deny_443 =
        Entry { rule_number: 50, egress: true, protocol: "6".into(), ports: Some((443, 443)), cidr: "0.0.0.0/0".into(), allow: false };
    let narrow_return =
        Entry { rule_number: 50, egress: false, protocol: "6".into(), ports: Some((1024, 32767)), cidr: "0.0.0.0/0".into(), allow: false };
    for (entry, on_client, kind) in [
        (deny_443.clone(), true, Kind::AclDeniesClientEgress),
        (narrow_return.clone(), true, Kind::AclDeniesClientReturn),
        (Entry { egress: false, ..deny_443 }, false, Kind::AclDeniesEndpointIngress),
        (Entry { egress: true, ..narrow_return }, false, Kind::AclDeniesEndpointReturn),
    ] {
        let mut n = healthy();
        let subnets: Vec<String> = if on_client { vec!["subnet-c".into()] } else { vec!["subnet-a".into(), "subnet-b".into()] };
        n.acls.as_mut().unwrap().push(Acl {
            id: "acl-x".into(),
            is_default: false,
            subnet_ids: subnets,
            entries: vec![entry, allow_all(true), allow_all(false)],
        });
        let r = analyse(&n, &sqs());
        let f = only(&r, kind);
        assert_eq!(f.object, "acl-x");
        assert!(f.message.contains("rule 50"), "{}", f.message);
    }
}

#[test]
fn traffic_inside_one_subnet_does_not_cross_its_acl() {
    let mut n = healthy();
    n.client_subnet_ids = vec!["subnet-a".into()];
    n.endpoints.as_mut().unwrap()[0].subnet_ids = vec!["subnet-a".into()];
    n.acls = Some(vec![Acl { id: "acl-d".into(), is_default: true, subnet_ids: vec![], entries: vec![] }]);
    assert!(analyse(&n, &sqs()).findings.is_empty());
}

#[test]
fn private_dns_off_without_a_way_out_blocks_and_with_a_nat_weakens() {
    let mut n = healthy();
    n.endpoints.as_mut().unwrap()[0].private_dns_enabled = false;
    let r = analyse(&n, &sqs());
    assert_eq!(kinds(&r), vec![Kind::PrivateDnsOff, Kind::NoPath]);
    assert!(r.findings[0].blocking && !r.reachable());
    assert_eq!((r.path.clone(), r.dns.resolves_to.as_str()), (PathKind::None, "public"));
    n.tables.as_mut().unwrap()[0].routes.push(Route {
        destination: "0.0.0.0/0".into(),
        target: Target::NatGateway("nat-1".into()),
        active: true,
    });
    n.groups.as_mut().unwrap()[0].rules.push(rule(Direction::Egress, Peer::Cidr("0.0.0.0/0".into())));
    let r = analyse(&n, &sqs());
    assert_eq!(kinds(&r), vec![Kind::PrivateDnsOff, Kind::ThroughNat]);
    assert!(r.reachable() && !r.findings[0].blocking);
    assert_eq!((r.path.clone(), r.path_id.as_str()), (PathKind::NatGateway, "nat-1"));
}

#[test]
fn vpc_dns_attributes_off() {
    for (support, hostnames, kind) in [(false, true, Kind::VpcDnsSupportOff), (true, false, Kind::VpcDnsHostnamesOff)] {
        let mut n = healthy();
        (n.dns_support, n.dns_hostnames) = (Some(support), Some(hostnames));
        let r = analyse(&n, &sqs());
        assert_eq!(kinds(&r), vec![kind, Kind::NoPath]);
        assert_eq!(r.findings[0].object, "vpc");
    }
}

#[test]
fn an_endpoint_not_available_carries_nothing() {
    let mut n = healthy();
    n.endpoints.as_mut().unwrap()[0].state = "pending".into();
    let r = analyse(&n, &sqs());
    assert_eq!(kinds(&r), vec![Kind::EndpointNotAvailable, Kind::NoPath]);
    assert!(r.findings[0].fix.contains("Wait"), "{}", r.findings[0].fix);
    // A deleted one is simply absent.
    n.endpoints.as_mut().unwrap()[0].state = "deleted".into();
    assert_eq!(kinds(&analyse(&n, &sqs())), vec![Kind::NoPath]);
}

#[test]
fn no_endpoint_and_no_nat_says_the_call_hangs_until_the_timeout() {
    let mut n = healthy();
    n.endpoints = Some(vec![]);
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::NoPath);
    assert!(f.message.contains("hang until Lambda function orders-producer's 30 s timeout"), "{}", f.message);
    assert_eq!(f.object, "rtb-main");
    // An internet gateway does not help a VPC function (no public address).
    n.tables.as_mut().unwrap()[0].routes.push(Route {
        destination: "0.0.0.0/0".into(),
        target: Target::InternetGateway("igw-1".into()),
        active: true,
    });
    let r = analyse(&n, &sqs());
    assert_eq!(only(&r, Kind::InternetGatewayWithoutPublicAddress).object, "igw-1");
    // For subnets and groups (not a function) it is a path.
    n.function = None;
    n.groups.as_mut().unwrap()[0].rules.push(rule(Direction::Egress, Peer::Cidr("0.0.0.0/0".into())));
    let r = analyse(&n, &sqs());
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.path, PathKind::InternetGateway);
}

#[test]
fn a_function_outside_any_vpc() {
    let mut n = healthy();
    n.function.as_mut().unwrap().in_vpc = false;
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::FunctionNotInVpc);
    assert!(!f.blocking && r.reachable());
    assert_eq!(r.path, PathKind::LambdaNetwork);
}

fn s3_gateway_network(on_client_table: bool) -> Network {
    let mut n = healthy();
    n.endpoints = Some(vec![endpoint("vpce-g", S3, EndpointKind::Gateway)]);
    let mut routes = vec![local()];
    if on_client_table {
        routes.push(Route { destination: "pl-63a5400a".into(), target: Target::Endpoint("vpce-g".into()), active: true });
    }
    n.tables = Some(vec![
        Table { id: "rtb-main".into(), main: true, subnet_ids: vec![], routes: vec![local()] },
        Table { id: "rtb-c".into(), main: false, subnet_ids: vec!["subnet-c".into()], routes },
    ]);
    n.groups.as_mut().unwrap()[0].rules = vec![rule(Direction::Egress, Peer::PrefixList("pl-63a5400a".into()))];
    n
}

#[test]
fn a_gateway_endpoint_needs_its_route_on_the_client_subnets_table() {
    let s3 = Ask::new("s3", "us-east-1", vec![]);
    let r = analyse(&s3_gateway_network(true), &s3);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!((r.path.clone(), r.path_id.as_str()), (PathKind::GatewayEndpoint, "vpce-g"));
    let r = analyse(&s3_gateway_network(false), &s3);
    let f = only(&r, Kind::GatewayRouteMissing);
    assert!(f.blocking && f.object == "rtb-c" && f.fix.contains("Add route table rtb-c"), "{f:#?}");
}

#[test]
fn s3_interface_answering_only_inbound_resolvers_needs_the_gateway_route() {
    let s3 = Ask::new("s3", "us-east-1", vec![]);
    let mut n = s3_gateway_network(false);
    let mut interface = endpoint("vpce-i", S3, EndpointKind::Interface);
    interface.private_dns_only_for_inbound_resolver_endpoint = Some(true);
    n.endpoints.as_mut().unwrap().push(interface);
    let r = analyse(&n, &s3);
    assert_eq!(only(&r, Kind::S3InboundOnlyWithoutGatewayRoute).object, "rtb-c");
    assert!(r.dns.reason.contains("inbound resolver"), "{}", r.dns.reason);
    // With the route, the Gateway carries the VPC's own traffic.
    let mut n = s3_gateway_network(true);
    let mut interface = endpoint("vpce-i", S3, EndpointKind::Interface);
    interface.private_dns_only_for_inbound_resolver_endpoint = Some(true);
    n.endpoints.as_mut().unwrap().push(interface);
    let r = analyse(&n, &s3);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.path, PathKind::GatewayEndpoint);
}

#[test]
fn endpoint_policies_are_checked_against_the_actions() {
    let mut n = healthy();
    n.endpoints.as_mut().unwrap()[0].policy = Some(
        r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},{"Sid":"NoPurge","Effect":"Deny","Principal":"*","Action":"sqs:Purge*","Resource":"*"}]}"#.into(),
    );
    let ask = |a: &str| Ask::new("sqs", "us-east-1", vec![a.into()]);
    assert!(analyse(&n, &ask("sqs:SendMessage")).findings.is_empty());
    let r = analyse(&n, &ask("sqs:PurgeQueue"));
    assert!(only(&r, Kind::PolicyDeniesAction).message.contains("statement NoPurge"));
    n.endpoints.as_mut().unwrap()[0].policy =
        Some(r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"}]}"#.into());
    assert_eq!(only(&analyse(&n, &ask("sqs:SendMessage")), Kind::PolicyDoesNotAllowAction).object, "vpce-q");
}

#[test]
fn a_client_zone_without_an_endpoint_subnet_is_a_warning() {
    let mut n = healthy();
    n.subnets.as_mut().unwrap().push(subnet("subnet-d", "10.0.4.0/24", "us-east-1c"));
    n.client_subnet_ids.push("subnet-d".into());
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::EndpointNotInClientZone);
    assert!(!f.blocking && r.reachable() && f.message.contains("us-east-1c"));
}

#[test]
fn a_refused_read_is_a_finding_and_its_hops_are_skipped() {
    let mut n = healthy();
    n.acls = None;
    n.unreadable = vec![("ec2:DescribeNetworkAcls".into(), "UnauthorizedOperation".into())];
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::CouldNotCheck);
    assert!(!f.blocking && f.object == "ec2:DescribeNetworkAcls" && r.reachable());
}

#[test]
fn a_client_that_does_not_exist_is_a_finding_for_every_service() {
    let n = Network { region: "us-east-1".into(), missing: Some("Lambda function gone".into()), ..Network::default() };
    let r = analyse(&n, &sqs());
    let f = only(&r, Kind::ClientNotFound);
    assert!(f.blocking && f.object == "Lambda function gone" && f.message.contains("does not exist in us-east-1"), "{f:#?}");
    assert_eq!(r.path, PathKind::None);
}

#[test]
fn the_model_names_the_schemas_attributes() {
    let s = schema();
    assert_eq!(crate::model::attribute_mismatch::<ReachabilityModel>(&s.block), Vec::<String>::new());
}

/// Differences between a model's attribute names and those of an object
/// type (or a list of them) in the schema, worded as `attribute_mismatch`
/// words them.
fn object_mismatch<M: Model>(ty: &Type) -> Vec<String> {
    let attrs = match ty {
        Type::List(el) => return object_mismatch::<M>(el),
        Type::Object(attrs) => attrs,
        other => return vec![format!("{} is no object", other.describe())],
    };
    let schema: std::collections::BTreeSet<&str> = attrs.keys().map(String::as_str).collect();
    let model: std::collections::BTreeSet<&str> = M::ATTRIBUTES.iter().copied().collect();
    let missing = schema.difference(&model).map(|n| format!("{n}: in the schema, not in the model"));
    let extra = model.difference(&schema).map(|n| format!("{n}: in the model, not in the schema"));
    missing.chain(extra).collect()
}

#[test]
fn the_output_models_name_the_schemas_object_attributes() {
    let s = schema();
    let ty = |name: &str| s.block.attributes.iter().find(|a| a.name == name).map(|a| a.ty.clone()).unwrap();
    let service = ty("service");
    let Type::List(report) = &service else { panic!("service is a list") };
    let Type::Object(report) = report.as_ref() else { panic!("service is a list of objects") };
    assert_eq!(object_mismatch::<ReportModel>(&service), Vec::<String>::new());
    assert_eq!(object_mismatch::<PathModel>(&report["path"]), Vec::<String>::new());
    assert_eq!(object_mismatch::<DnsModel>(&report["dns"]), Vec::<String>::new());
    assert_eq!(object_mismatch::<FindingModel>(&report["findings"]), Vec::<String>::new());
    assert_eq!(object_mismatch::<ServiceFindingModel>(&ty("findings")), Vec::<String>::new());
}

#[test]
fn the_computed_values_have_the_schemas_types() {
    // Encoding to msgpack with the schema's type fails on a missing or
    // misnamed object attribute.
    let r = analyse(&healthy(), &Ask::new("sqs", "us-east-1", vec![]));
    let mut m = ReachabilityModel::default();
    let finding = super::findings::Finding::new(Kind::NoPath, "rtb-1", "m".into(), "f".into());
    m.findings = crate::model::Blocks(vec![ServiceFindingModel::new("sqs", &finding)]);
    m.service = crate::model::Blocks(vec![ReportModel::from(&r)]);
    let v = m.encode();
    let ty = schema().ty();
    let back = Value::from_msgpack(&v.to_msgpack(&ty), &ty).unwrap();
    assert_eq!(back.get("service").elements()[0].get("path").get("kind"), &Value::string("interface_endpoint"));
    assert_eq!(back.get("findings").elements()[0].get("service"), &Value::string("sqs"));
}

fn config(fields: Vec<(&str, Value)>) -> ReachabilityModel {
    ReachabilityModel::decode(&Value::object(fields))
}

fn paths(d: &Diagnostics) -> Vec<String> {
    d.0.iter().map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default()).collect()
}

fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| Value::string(*s)).collect())
}

fn set(items: &[&str]) -> Value {
    Value::Set(items.iter().map(|s| Value::string(*s)).collect())
}

#[test]
fn validation_names_the_attribute_and_what_is_valid() {
    let ok = config(vec![("function_name", Value::string("f")), ("services", list(&["sqs", "com.amazonaws.us-east-1.s3"]))]);
    assert!(validate(&ok).0.is_empty());
    let none = config(vec![("services", list(&["sqs"]))]);
    assert_eq!(paths(&validate(&none)), ["function_name"]);
    let both = config(vec![
        ("function_name", Value::string("f")),
        ("subnet_ids", set(&["subnet-0123456789abcdef0"])),
        ("services", list(&["sqs"])),
    ]);
    assert_eq!(paths(&validate(&both)), ["subnet_ids"]);
    let half = config(vec![("subnet_ids", set(&["subnet-0123456789abcdef0"])), ("services", list(&["sqs"]))]);
    assert_eq!(paths(&validate(&half)), ["security_group_ids"]);
    let bad = config(vec![
        ("subnet_ids", set(&["subnet-0123456789abcdef0"])),
        ("security_group_ids", set(&["group-1"])),
        ("services", list(&["sqs", "SQS!", "sqs"])),
        (
            "actions",
            Value::Map(
                [("sqs".to_string(), list(&["sqs:SendMessage", "SendMessage"])), ("s3".to_string(), list(&["s3:GetObject"]))].into(),
            ),
        ),
    ]);
    let d = validate(&bad);
    assert_eq!(paths(&d), ["security_group_ids[0]", "services[1]", "services[2]", "actions[\"s3\"]", "actions[\"sqs\"][1]"]);
    assert!(d.0[1].detail.contains("\"sqs\", \"s3\" or \"logs\""), "{}", d.0[1].detail);
    assert!(d.0[4].detail.contains("service:Action"), "{}", d.0[4].detail);
}

#[test]
fn every_finding_kind_has_a_distinct_name() {
    let mut names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), Kind::ALL.len());
}

#[test]
fn the_docs_list_every_finding_kind_and_no_other() {
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/data-sources/reachability.md")).unwrap();
    let table = &page[page.find("## Findings").expect("a Findings section")..];
    let listed: Vec<&str> = table.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).collect();
    let mut known: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let mut listed_sorted = listed.clone();
    listed_sorted.sort();
    known.sort();
    assert_eq!(listed_sorted, known);
    // The severity column says which block by default.
    for k in Kind::ALL {
        let row = table.lines().find(|l| l.starts_with(&format!("| `{}` |", k.name()))).unwrap();
        let severity = row.split('|').nth(2).unwrap().trim();
        assert_eq!(severity.starts_with("error"), k.blocks_by_default(), "{row}");
    }
}

#[test]
fn services_are_named_as_the_endpoint_block_names_them() {
    let ecr = Ask::new("ecr.api", "eu-west-1", vec![]);
    assert_eq!(ecr.service_name, "com.amazonaws.eu-west-1.ecr.api");
    assert_eq!(ecr.short(), "ecr.api");
    assert_eq!(ecr.default_host("eu-west-1"), "ecr.api.eu-west-1.amazonaws.com");
    let full = Ask::new("com.amazonaws.us-east-1.sqs", "eu-west-1", vec![]);
    assert_eq!((full.service_name.as_str(), full.short().as_str()), ("com.amazonaws.us-east-1.sqs", "sqs"));
}

#[test]
fn a_traced_function_in_a_vpc_is_checked_for_xray_too() {
    let f = |traced, in_vpc| FunctionFacts { name: "f".into(), timeout_seconds: 3, role_arn: String::new(), in_vpc, traced };
    let asked = vec!["sqs".to_string()];
    assert_eq!(super::services_to_check(&asked, Some(&f(true, true))), ["sqs", "xray"]);
    assert_eq!(super::services_to_check(&asked, Some(&f(false, true))), ["sqs"]);
    assert_eq!(super::services_to_check(&asked, Some(&f(true, false))), ["sqs"], "outside a VPC Lambda reaches X-Ray itself");
    assert_eq!(super::services_to_check(&asked, None), ["sqs"]);
    let named = vec!["com.amazonaws.us-east-1.xray".to_string(), "sqs".to_string()];
    assert_eq!(super::services_to_check(&named, Some(&f(true, true))), named, "named already, in full");
}
