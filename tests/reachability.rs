//! `privatelink_reachability` over gRPC by the built binary against moto:
//! one fixture per finding kind, each a fresh VPC built the way a user's
//! network would be, asserted by its exact finding.
//!
//! The fixtures are built on plain moto (`Moto::plain_url`): they stand
//! for networks that already exist and have settled, so AWS's transition
//! delays (the rules proxy) are not part of them. The provider reads
//! through the rules proxy (`Moto::url`), as every test does; one fixture
//! builds its endpoint through a rules proxy of its own to see it
//! `pending`.
//!
//! Not made here (unit-tested in src/data_sources/reachability/tests.rs
//! instead): an S3 Interface endpoint answering only inbound resolvers
//! (moto never reports that DNS option), and a read refused for lack of
//! permission. moto can enforce IAM (`POST /moto-api/reset-auth`), but
//! then refuses every call the Rust SDK signs with SignatureDoesNotMatch
//! (boto3's pass), so the provider could not read at all.
//!
//! moto quirk: a Gateway endpoint's route is added only to the tables
//! given at create, not to those added by ModifyVpcEndpoint (AWS adds it
//! to both); the check also takes the endpoint's own RouteTableIds, which
//! AWS reports as well.

use crate::common;

use std::time::Duration;

use aws_sdk_ec2::types::{AttributeBooleanValue, IpPermission, PortRange, RuleAction, UserIdGroupPair, VpcEndpointType};
use common::aws_rules::{Durations, Rules};
use common::driver::{errors, for_people, show};
use common::moto::Moto;
use common::plugin::Plugin;
use common::proxy::{Faults, Proxy};
use common::{endpoints, msgpack, obj, s};
use privatelink::aws::Aws;
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

const TRUST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// One moto, the provider configured against it (through the rules
/// proxy), and the SDK on plain moto for building fixtures.
struct Bed {
    moto: Moto,
    aws: Aws,
    plugin: Plugin,
    role: String,
}

async fn bed() -> Bed {
    let moto = Moto::start();
    let aws = common::aws(&moto.plain_url()).await;
    let role = aws.iam.create_role().role_name("fn-role").assume_role_policy_document(TRUST).send().await.unwrap();
    let role = role.role().unwrap().arn().to_string();
    Bed { plugin: Plugin::start(&[]), moto, aws, role }
}

/// A VPC as the examples' network has it: DNS support and hostnames on,
/// subnets a (10.0.1.0/24, us-east-1a) and b (10.0.2.0/24, us-east-1b) on
/// one route table with only the local route, the client's group (egress
/// TCP 443 to the endpoint's group only) and the endpoint's group (ingress
/// TCP 443 from the client's group only).
struct Fixture {
    vpc: String,
    a: String,
    b: String,
    route_table: String,
    client_group: String,
    endpoint_group: String,
}

async fn fixture(aws: &Aws, dns_hostnames: bool) -> Fixture {
    let ec2 = &aws.ec2;
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap().vpc().unwrap().vpc_id().unwrap().to_string();
    for (support, hostnames) in [(Some(true), None), (None, Some(dns_hostnames))] {
        let mut m = ec2.modify_vpc_attribute().vpc_id(&vpc);
        if let Some(v) = support {
            m = m.enable_dns_support(AttributeBooleanValue::builder().value(v).build());
        }
        if let Some(v) = hostnames {
            m = m.enable_dns_hostnames(AttributeBooleanValue::builder().value(v).build());
        }
        m.send().await.unwrap();
    }
    let subnet = |cidr: &'static str, zone: &'static str| {
        let vpc = vpc.clone();
        async move {
            let out = ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).availability_zone(zone).send().await.unwrap();
            out.subnet().unwrap().subnet_id().unwrap().to_string()
        }
    };
    let (a, b) = (subnet("10.0.1.0/24", "us-east-1a").await, subnet("10.0.2.0/24", "us-east-1b").await);
    let route_table =
        ec2.create_route_table().vpc_id(&vpc).send().await.unwrap().route_table().unwrap().route_table_id().unwrap().to_string();
    for sn in [&a, &b] {
        ec2.associate_route_table().route_table_id(&route_table).subnet_id(sn).send().await.unwrap();
    }
    let group = |name: &'static str| {
        let vpc = vpc.clone();
        async move {
            let g = ec2.create_security_group().group_name(name).description(name).vpc_id(vpc).send().await.unwrap();
            let id = g.group_id().unwrap().to_string();
            ec2.revoke_security_group_egress()
                .group_id(&id)
                .ip_permissions(
                    IpPermission::builder()
                        .ip_protocol("-1")
                        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                        .build(),
                )
                .send()
                .await
                .unwrap();
            id
        }
    };
    let (client_group, endpoint_group) = (group("client").await, group("endpoint").await);
    let f = Fixture { vpc, a, b, route_table, client_group, endpoint_group };
    f.client_egress_to_endpoint(aws).await;
    f.endpoint_ingress_from_client(aws).await;
    f
}

fn https_to_group(group: &str) -> IpPermission {
    IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build())
        .build()
}

impl Fixture {
    async fn client_egress_to_endpoint(&self, aws: &Aws) {
        aws.ec2
            .authorize_security_group_egress()
            .group_id(&self.client_group)
            .ip_permissions(https_to_group(&self.endpoint_group))
            .send()
            .await
            .unwrap();
    }
    async fn endpoint_ingress_from_client(&self, aws: &Aws) {
        aws.ec2
            .authorize_security_group_ingress()
            .group_id(&self.endpoint_group)
            .ip_permissions(https_to_group(&self.client_group))
            .send()
            .await
            .unwrap();
    }

    /// An SQS Interface endpoint in both subnets with the endpoint's group.
    async fn sqs_endpoint(&self, ec2: &aws_sdk_ec2::Client, private_dns: bool, policy: Option<&str>) -> String {
        let out = ec2
            .create_vpc_endpoint()
            .vpc_id(&self.vpc)
            .service_name("com.amazonaws.us-east-1.sqs")
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .subnet_ids(&self.a)
            .subnet_ids(&self.b)
            .security_group_ids(&self.endpoint_group)
            .private_dns_enabled(private_dns)
            .set_policy_document(policy.map(str::to_string))
            .send()
            .await
            .unwrap();
        out.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_string()
    }

    /// A function in `subnets` with the client's group (none: outside any VPC).
    async fn function(&self, bed: &Bed, name: &str, subnets: &[&str]) {
        let src = tempfile::tempdir().unwrap();
        std::fs::write(src.path().join("index.py"), "def handler(event, context):\n    return 1\n").unwrap();
        let code = privatelink::parts::code::from_dir(src.path()).unwrap();
        let mut create = bed
            .aws
            .lambda
            .create_function()
            .function_name(name)
            .role(&bed.role)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .handler("index.handler")
            .timeout(30)
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_smithy_types::Blob::new(code.zip)).build());
        if !subnets.is_empty() {
            let vpc = aws_sdk_lambda::types::VpcConfig::builder()
                .set_subnet_ids(Some(subnets.iter().map(|s| s.to_string()).collect()))
                .security_group_ids(&self.client_group)
                .build();
            create = create.vpc_config(vpc);
        }
        create.send().await.unwrap();
    }

    /// The VPC's default network ACL.
    async fn default_acl(&self, ec2: &aws_sdk_ec2::Client) -> String {
        let acls = ec2
            .describe_network_acls()
            .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(&self.vpc).build())
            .send()
            .await
            .unwrap();
        acls.network_acls().iter().find(|a| a.is_default() == Some(true)).unwrap().network_acl_id().unwrap().to_string()
    }

    /// A deny entry for TCP `ports` on the default ACL, before its allow-all.
    async fn deny_on_default_acl(&self, ec2: &aws_sdk_ec2::Client, egress: bool, ports: (i32, i32)) -> String {
        let acl = self.default_acl(ec2).await;
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(50)
            .egress(egress)
            .protocol("6")
            .port_range(PortRange::builder().from(ports.0).to(ports.1).build())
            .cidr_block("0.0.0.0/0")
            .rule_action(RuleAction::Deny)
            .send()
            .await
            .unwrap();
        acl
    }
}

/// The data source's configuration: every attribute, the unset ones null.
fn config(client: Vec<(&str, V)>, services: &[&str], actions: Vec<(&str, Vec<&str>)>) -> V {
    let mut fields: Vec<(&str, V)> = vec![
        ("id", V::Nil),
        ("function_name", V::Nil),
        ("subnet_ids", V::Nil),
        ("security_group_ids", V::Nil),
        ("services", V::Array(services.iter().map(|x| s(x)).collect())),
        ("actions", V::Nil),
        ("vpc_id", V::Nil),
        ("reachable", V::Nil),
        ("service", V::Nil),
        ("findings", V::Nil),
    ];
    if !actions.is_empty() {
        let map = actions.into_iter().map(|(k, v)| (s(k), V::Array(v.into_iter().map(s).collect()))).collect();
        fields.retain(|(k, _)| *k != "actions");
        fields.push(("actions", V::Map(map)));
    }
    for (k, v) in client {
        fields.retain(|(f, _)| *f != k);
        fields.push((k, v));
    }
    obj(fields)
}

/// ReadDataSource over gRPC with the provider pointed at `url`. Configuring
/// it checks its credentials: one sts:GetCallerIdentity at `url`.
async fn read_at(plugin: &Plugin, url: &str, config: V) -> Result<V, Vec<pb::Diagnostic>> {
    let mut client = plugin.client().await;
    let provider = obj(vec![("region", s("us-east-1")), ("endpoints", endpoints(url))]);
    let diagnostics = common::driver::configure(&mut client, &provider).await;
    assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
    let dv = Some(pb::DynamicValue { msgpack: msgpack(config), json: vec![] });
    let v = client
        .validate_data_resource_config(pb::validate_data_resource_config::Request {
            type_name: "privatelink_reachability".into(),
            config: dv.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let v = pb::validate_data_resource_config::Response { diagnostics: for_people(v.diagnostics) };
    if !errors(&v.diagnostics).is_empty() {
        return Err(v.diagnostics);
    }
    let r = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "privatelink_reachability".into(),
            config: dv,
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    let r = pb::read_data_source::Response { diagnostics: for_people(r.diagnostics), ..r };
    if !errors(&r.diagnostics).is_empty() {
        return Err(r.diagnostics);
    }
    Ok(common::decode_msgpack(&r.state.unwrap().msgpack))
}

async fn read(bed: &Bed, config: V) -> V {
    read_at(&bed.plugin, &bed.moto.url(), config).await.unwrap_or_else(|d| panic!("{}", show(&d)))
}

fn function(name: &str) -> Vec<(&str, V)> {
    vec![("function_name", s(name))]
}

fn field<'a>(v: &'a V, k: &str) -> &'a V {
    common::field(v, k)
}

fn text(v: &V, k: &str) -> String {
    field(v, k).as_str().unwrap_or_default().to_string()
}

/// (kind, object) of every finding of the flat list.
fn findings(state: &V) -> Vec<(String, String)> {
    field(state, "findings").as_array().unwrap().iter().map(|f| (text(f, "kind"), text(f, "object"))).collect()
}

fn finding<'a>(state: &'a V, kind: &str) -> &'a V {
    field(state, "findings")
        .as_array()
        .unwrap()
        .iter()
        .find(|f| text(f, "kind") == kind)
        .unwrap_or_else(|| panic!("no {kind} in {:?}", findings(state)))
}

fn reachable(state: &V) -> bool {
    field(state, "reachable").as_bool().unwrap()
}

fn pair(kind: &str, object: &str) -> (String, String) {
    (kind.to_string(), object.to_string())
}

#[tokio::test]
async fn a_healthy_private_function_reaches_sqs_through_its_endpoint() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    let endpoint = f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![("sqs", vec!["sqs:SendMessage"])])).await;
    assert_eq!(findings(&state), vec![]);
    assert!(reachable(&state));
    assert_eq!(text(&state, "vpc_id"), f.vpc);
    let report = &field(&state, "service").as_array().unwrap()[0];
    assert_eq!((text(report, "name"), text(report, "service_name")), ("sqs".into(), "com.amazonaws.us-east-1.sqs".into()));
    assert_eq!((text(field(report, "path"), "kind"), text(field(report, "path"), "id")), ("interface_endpoint".into(), endpoint.clone()));
    let dns = field(report, "dns");
    assert_eq!((text(dns, "host"), text(dns, "resolves_to")), ("sqs.us-east-1.amazonaws.com".into(), endpoint));
}

#[tokio::test]
async fn security_groups_missing_either_rule() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let ec2 = &bed.aws.ec2;
    ec2.revoke_security_group_egress().group_id(&f.client_group).ip_permissions(https_to_group(&f.endpoint_group)).send().await.unwrap();
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("client_egress_missing", &f.client_group)]);
    assert!(!reachable(&state));
    assert!(text(finding(&state, "client_egress_missing"), "fix").contains(&format!("egress TCP 443 to {}", f.endpoint_group)));
    f.client_egress_to_endpoint(&bed.aws).await;
    ec2.revoke_security_group_ingress().group_id(&f.endpoint_group).ip_permissions(https_to_group(&f.client_group)).send().await.unwrap();
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("endpoint_ingress_missing", &f.endpoint_group)]);
}

#[tokio::test]
async fn network_acls_deny_443_out_or_the_ephemeral_return() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    // The function in subnet a only: its calls to the endpoint's
    // interface in subnet b cross both subnets' ACLs.
    f.function(&bed, "producer", &[&f.a]).await;
    let acl = f.deny_on_default_acl(&bed.aws.ec2, true, (443, 443)).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("acl_denies_client_egress", &acl)]);
    assert!(text(finding(&state, "acl_denies_client_egress"), "message").contains("rule 50"));
    bed.aws.ec2.delete_network_acl_entry().network_acl_id(&acl).rule_number(50).egress(true).send().await.unwrap();
    f.deny_on_default_acl(&bed.aws.ec2, false, (1024, 2047)).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("acl_denies_client_return", &acl)]);
    assert!(text(finding(&state, "acl_denies_client_return"), "message").contains("port 1024"));
    bed.aws.ec2.delete_network_acl_entry().network_acl_id(&acl).rule_number(50).egress(false).send().await.unwrap();
    // The endpoint's side of the same ACL (both subnets have the default one):
    // 443 in, then the replies out.
    f.deny_on_default_acl(&bed.aws.ec2, false, (443, 443)).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("acl_denies_endpoint_ingress", &acl)]);
    bed.aws.ec2.delete_network_acl_entry().network_acl_id(&acl).rule_number(50).egress(false).send().await.unwrap();
    f.deny_on_default_acl(&bed.aws.ec2, true, (1024, 2047)).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("acl_denies_endpoint_return", &acl)]);
}

#[tokio::test]
async fn dns_private_dns_off_and_vpc_hostnames_off() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    let endpoint = f.sqs_endpoint(&bed.aws.ec2, false, None).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("private_dns_off", &endpoint), pair("no_path", &f.route_table)]);
    assert_eq!(text(finding(&state, "private_dns_off"), "severity"), "error");
    let dns = field(&field(&state, "service").as_array().unwrap()[0], "dns").clone();
    assert_eq!(text(&dns, "resolves_to"), "public");

    // DNS support off (hostnames stay on).
    let h = fixture(&bed.aws, true).await;
    bed.aws
        .ec2
        .modify_vpc_attribute()
        .vpc_id(&h.vpc)
        .enable_dns_support(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .unwrap();
    h.sqs_endpoint(&bed.aws.ec2, true, None).await;
    h.function(&bed, "third", &[&h.a, &h.b]).await;
    let state = read(&bed, config(function("third"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("vpc_dns_support_off", "vpc"), pair("no_path", &h.route_table)]);

    let g = fixture(&bed.aws, false).await;
    g.sqs_endpoint(&bed.aws.ec2, true, None).await;
    g.function(&bed, "other", &[&g.a, &g.b]).await;
    let state = read(&bed, config(function("other"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("vpc_dns_hostnames_off", "vpc"), pair("no_path", &g.route_table)]);
}

#[tokio::test]
async fn an_endpoint_still_pending_carries_nothing() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    // Through a rules proxy whose endpoints stay pending for ten minutes:
    // the provider reads through the same proxy and sees it pending.
    let slow = Durations { endpoint_pending: Duration::from_secs(600), ..Durations::ci() };
    let proxy = Proxy::start_with_rules(bed.moto.port, Faults::none(), Rules::for_moto(bed.moto.port, slow));
    let via_proxy = common::aws(&proxy.url()).await;
    let endpoint = f.sqs_endpoint(&via_proxy.ec2, true, None).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let state = read_at(&bed.plugin, &proxy.url(), config(function("producer"), &["sqs"], vec![])).await.unwrap();
    assert_eq!(findings(&state), vec![pair("endpoint_not_available", &endpoint), pair("no_path", &f.route_table)]);
    assert!(text(finding(&state, "endpoint_not_available"), "message").contains("is pending"));
}

#[tokio::test]
async fn no_endpoint_and_no_nat_hangs_until_the_timeout() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("no_path", &f.route_table)]);
    assert!(text(finding(&state, "no_path"), "message").contains("hang until Lambda function producer's 30 s timeout"));
    // An internet gateway route does not help: a VPC function has no public address.
    let ec2 = &bed.aws.ec2;
    let igw = ec2.create_internet_gateway().send().await.unwrap().internet_gateway().unwrap().internet_gateway_id().unwrap().to_string();
    ec2.attach_internet_gateway().internet_gateway_id(&igw).vpc_id(&f.vpc).send().await.unwrap();
    ec2.create_route().route_table_id(&f.route_table).destination_cidr_block("0.0.0.0/0").gateway_id(&igw).send().await.unwrap();
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("internet_gateway_without_public_address", &igw)]);
    // Through a NAT gateway it works, at a cost, once the group lets HTTPS out.
    let public = ec2.create_subnet().vpc_id(&f.vpc).cidr_block("10.0.9.0/24").availability_zone("us-east-1a").send().await.unwrap();
    let public = public.subnet().unwrap().subnet_id().unwrap().to_string();
    let eip = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.unwrap().allocation_id().unwrap().to_string();
    let nat = ec2.create_nat_gateway().subnet_id(&public).allocation_id(&eip).send().await.unwrap();
    let nat = nat.nat_gateway().unwrap().nat_gateway_id().unwrap().to_string();
    ec2.replace_route().route_table_id(&f.route_table).destination_cidr_block("0.0.0.0/0").nat_gateway_id(&nat).send().await.unwrap();
    let anywhere = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    ec2.authorize_security_group_egress().group_id(&f.client_group).ip_permissions(anywhere).send().await.unwrap();
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("through_nat", &nat)]);
    assert!(reachable(&state));
    assert_eq!(text(field(&field(&state, "service").as_array().unwrap()[0], "path"), "kind"), "nat_gateway");
}

#[tokio::test]
async fn endpoint_policies_deny_or_do_not_allow_the_actions() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:*","Resource":"*"},{"Sid":"NoSend","Effect":"Deny","Principal":"*","Action":"sqs:SendMessage","Resource":"*"}]}"#;
    let endpoint = f.sqs_endpoint(&bed.aws.ec2, true, Some(policy)).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let state = read(&bed, config(function("producer"), &["sqs"], vec![("sqs", vec!["sqs:SendMessage", "sqs:GetQueueUrl"])])).await;
    assert_eq!(findings(&state), vec![pair("policy_denies_action", &endpoint)]);
    assert!(text(finding(&state, "policy_denies_action"), "message").contains("denies sqs:SendMessage (statement NoSend)"));
    let state = read(&bed, config(function("producer"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![], "no actions asked, none checked");

    let only_receive =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sqs:ReceiveMessage","Resource":"*"}]}"#;
    bed.aws.ec2.modify_vpc_endpoint().vpc_endpoint_id(&endpoint).policy_document(only_receive).send().await.unwrap();
    let state = read(&bed, config(function("producer"), &["sqs"], vec![("sqs", vec!["sqs:SendMessage"])])).await;
    assert_eq!(findings(&state), vec![pair("policy_does_not_allow_action", &endpoint)]);
}

#[tokio::test]
async fn a_function_outside_any_vpc_and_one_in_a_zone_without_the_endpoint() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    let endpoint = f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    f.function(&bed, "public", &[]).await;
    let state = read(&bed, config(function("public"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("function_not_in_vpc", "public")]);
    assert!(reachable(&state), "outside a VPC, Lambda's own network reaches the service");
    assert_eq!(text(field(&field(&state, "service").as_array().unwrap()[0], "path"), "kind"), "lambda_network");

    let ec2 = &bed.aws.ec2;
    let c = ec2.create_subnet().vpc_id(&f.vpc).cidr_block("10.0.3.0/24").availability_zone("us-east-1c").send().await.unwrap();
    let c = c.subnet().unwrap().subnet_id().unwrap().to_string();
    ec2.associate_route_table().route_table_id(&f.route_table).subnet_id(&c).send().await.unwrap();
    f.function(&bed, "zonal", &[&f.a, &c]).await;
    let state = read(&bed, config(function("zonal"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("endpoint_not_in_client_zone", &endpoint)]);
    assert!(reachable(&state));
    assert_eq!(text(finding(&state, "endpoint_not_in_client_zone"), "severity"), "warning");
}

#[tokio::test]
async fn an_s3_gateway_endpoint_missing_from_the_clients_route_table() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    let ec2 = &bed.aws.ec2;
    // The Gateway endpoint is on another table than the function's subnets'.
    let other = ec2.create_route_table().vpc_id(&f.vpc).send().await.unwrap().route_table().unwrap().route_table_id().unwrap().to_string();
    let gateway = ec2
        .create_vpc_endpoint()
        .vpc_id(&f.vpc)
        .service_name("com.amazonaws.us-east-1.s3")
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .route_table_ids(&other)
        .send()
        .await
        .unwrap();
    let gateway = gateway.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_string();
    let pl = ec2.describe_prefix_lists().send().await.unwrap();
    let pl = pl
        .prefix_lists()
        .iter()
        .find(|p| p.prefix_list_name() == Some("com.amazonaws.us-east-1.s3"))
        .unwrap()
        .prefix_list_id()
        .unwrap()
        .to_string();
    let to_pl = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .prefix_list_ids(aws_sdk_ec2::types::PrefixListId::builder().prefix_list_id(&pl).build())
        .build();
    ec2.authorize_security_group_egress().group_id(&f.client_group).ip_permissions(to_pl).send().await.unwrap();
    f.function(&bed, "reader", &[&f.a, &f.b]).await;
    let state = read(&bed, config(function("reader"), &["s3"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("gateway_route_missing", &f.route_table)]);
    assert!(text(finding(&state, "gateway_route_missing"), "fix").contains(&f.route_table));
    // On the right table, the path is the Gateway.
    ec2.modify_vpc_endpoint().vpc_endpoint_id(&gateway).add_route_table_ids(&f.route_table).send().await.unwrap();
    let state = read(&bed, config(function("reader"), &["s3"], vec![])).await;
    assert_eq!(findings(&state), vec![]);
    let path = field(&field(&state, "service").as_array().unwrap()[0], "path").clone();
    assert_eq!((text(&path, "kind"), text(&path, "id")), ("gateway_endpoint".into(), gateway));
}

/// The docs' figure: one function and three services cost the same reads
/// as one service, batched.
#[tokio::test]
async fn one_function_and_three_services_take_ten_reads() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    f.function(&bed, "producer", &[&f.a, &f.b]).await;
    let counting = Proxy::start(bed.moto.port, Faults::none());
    let state = read_at(&bed.plugin, &counting.url(), config(function("producer"), &["sqs", "s3", "logs"], vec![])).await.unwrap();
    assert_eq!(field(&state, "service").as_array().unwrap().len(), 3);
    // Configuring the provider checked its credentials first (one STS
    // call); then the read.
    let mut calls = counting.calls();
    assert_eq!(calls.first().map(String::as_str), Some("sts:GetCallerIdentity"), "{calls:?}");
    calls.remove(0);
    calls.sort();
    assert_eq!(
        calls,
        [
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroupRules",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcEndpoints",
            "lambda:GET /2015-03-31/functions/producer",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn subnets_and_groups_instead_of_a_function_and_bad_input_at_its_path() {
    let bed = bed().await;
    let f = fixture(&bed.aws, true).await;
    f.sqs_endpoint(&bed.aws.ec2, true, None).await;
    let set = |ids: &[&String]| V::Array(ids.iter().map(|x| s(x)).collect());
    let client = vec![("subnet_ids", set(&[&f.a])), ("security_group_ids", set(&[&f.client_group]))];
    let state = read(&bed, config(client, &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![]);
    // Refused before any AWS call, at the attribute.
    let counting = Proxy::start(bed.moto.port, Faults::none());
    let bad = config(vec![("function_name", s("producer")), ("subnet_ids", set(&[&f.a]))], &["sqs", "Not A Service"], vec![]);
    let d = read_at(&bed.plugin, &counting.url(), bad).await.unwrap_err();
    let paths: Vec<String> = errors(&d).iter().map(|d| common::driver::path_of(d)).collect();
    assert_eq!(paths, ["subnet_ids", "services[1]"]);
    assert_eq!(counting.calls(), ["sts:GetCallerIdentity"], "configure's credentials check only");
    // A function that does not exist is a finding, not an error: in a
    // check, a function deleted behind Terraform's back must not fail the
    // plan that makes it again.
    let state = read(&bed, config(function("nope"), &["sqs"], vec![])).await;
    assert_eq!(findings(&state), vec![pair("client_not_found", "Lambda function nope")]);
    assert!(!reachable(&state));
}
