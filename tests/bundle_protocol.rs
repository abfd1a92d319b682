//! privatelink_service_endpoint_bundle over gRPC against moto: create,
//! no-change plan, updates, drift, import, plan-time checks, partial
//! failure and delete. Each test has its own moto server and network.

use crate::common;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use common::driver::{canon, errors, is_unknown, path_of, show, strs, Driver};
use common::moto::Moto;
use common::plugin::Plugin;
use common::proxy::{Faults, Proxy};
use common::{field, list_var, obj, s, var};
use rmpv::Value as V;

const TYPE: &str = "privatelink_service_endpoint_bundle";

struct Bed {
    moto: Moto,
    /// Between the provider and moto, keeping what the provider sent
    /// (`bed_recording`).
    proxy: Option<Proxy>,
    _plugin: Plugin,
    tf: Driver,
    aws: privatelink::aws::Aws,
    vpc: String,
    subnets: Vec<String>,
    route_tables: Vec<String>,
    app_group: String,
}

async fn bed() -> Bed {
    bed_with(None).await
}

/// A bed whose provider talks to moto through a proxy that keeps the
/// request bodies.
async fn bed_recording() -> Bed {
    bed_with(Some(|moto: &Moto| {
        let proxy = Proxy::start(moto.port, Faults::none());
        proxy.keep_request_bodies();
        proxy
    }))
    .await
}

async fn bed_with(proxy: Option<fn(&Moto) -> Proxy>) -> Bed {
    let moto = Moto::start();
    let net = common::network(&moto.url());
    let plugin = Plugin::start(&[]);
    let proxy = proxy.map(|start| start(&moto));
    let url = proxy.as_ref().map(Proxy::url).unwrap_or_else(|| moto.url());
    let tf = Driver::new(&plugin, TYPE, &url, &[("team", "platform")]).await;
    let aws = common::aws(&moto.url()).await;
    Bed {
        proxy,
        vpc: var(&net, "vpc_id").into(),
        subnets: list_var(&net, "subnet_ids"),
        route_tables: list_var(&net, "route_table_ids"),
        app_group: var(&net, "app_security_group_id").into(),
        moto,
        _plugin: plugin,
        tf,
        aws,
    }
}

fn set(items: &[String]) -> V {
    V::Array(items.iter().map(|i| s(i)).collect())
}

fn endpoint(service: &str, kind: Option<&str>, policy: Option<&str>) -> V {
    let mut f = vec![("service", s(service))];
    if let Some(k) = kind {
        f.push(("type", s(k)));
    }
    if let Some(p) = policy {
        f.push(("policy", s(p)));
    }
    obj(f)
}

impl Bed {
    fn config(&self, subnets: &[String], endpoints: Vec<V>) -> V {
        obj(vec![
            ("name", s("core")),
            ("vpc_id", s(&self.vpc)),
            ("subnet_ids", set(subnets)),
            ("route_table_ids", set(&self.route_tables)),
            ("allowed_security_group_ids", set(std::slice::from_ref(&self.app_group))),
            ("tags", obj(vec![("service", s("orders"))])),
            ("endpoint", V::Array(endpoints)),
        ])
    }

    fn standard(&self) -> V {
        self.config(&self.subnets, vec![endpoint("sqs", None, None), endpoint("s3", Some("Gateway"), None)])
    }

    /// Endpoints of the VPC as moto has them, not deleted.
    async fn live_endpoints(&self) -> Vec<aws_sdk_ec2::types::VpcEndpoint> {
        let out =
            self.aws.ec2.describe_vpc_endpoints().filters(Filter::builder().name("vpc-id").values(&self.vpc).build()).send().await.unwrap();
        // moto keeps deleted endpoints listed with state "deleted".
        out.vpc_endpoints()
            .iter()
            .filter(|e| !matches!(e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(), Some("deleted" | "deleting")))
            .cloned()
            .collect()
    }

    async fn groups_tagged(&self, owner: &str) -> Vec<aws_sdk_ec2::types::SecurityGroup> {
        self.aws
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("tag:privatelink:owner").values(owner).build())
            .send()
            .await
            .unwrap()
            .security_groups()
            .to_vec()
    }

    async fn assert_nothing_left(&self, owner: &str) {
        assert!(self.groups_tagged(owner).await.is_empty(), "a security group of the bundle is left");
        let ours: Vec<_> = self
            .live_endpoints()
            .await
            .into_iter()
            .filter(|e| e.tags().iter().any(|t| t.key() == Some("privatelink:owner") && t.value() == Some(owner)))
            .collect();
        assert!(ours.is_empty(), "endpoints of the bundle are left: {ours:?}");
    }
}

fn endpoint_block<'a>(state: &'a V, service: &str) -> &'a V {
    field(state, "endpoint")
        .as_array()
        .and_then(|a| a.iter().find(|b| field(b, "service").as_str() == Some(service)))
        .unwrap_or_else(|| panic!("no endpoint {service} in state"))
}

fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

#[tokio::test]
async fn create_plan_empty_update_and_delete() {
    let mut b = bed().await;
    let config = b.standard();

    // Create: the plan knows the id, not the AWS ids.
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap();
    assert!(str_of(&planned, "id").starts_with("peb-"));
    assert!(is_unknown(field(&planned, "security_group_id")));
    assert!(is_unknown(field(endpoint_block(&planned, "sqs"), "id")));
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let id = str_of(&state, "id").to_string();
    let group = str_of(&state, "security_group_id").to_string();
    let sqs = endpoint_block(&state, "sqs");
    let s3 = endpoint_block(&state, "s3");
    assert!(str_of(sqs, "id").starts_with("vpce-") && str_of(s3, "id").starts_with("vpce-"));
    assert_eq!(str_of(sqs, "state"), "available");
    assert_eq!(str_of(sqs, "service_name"), "com.amazonaws.us-east-1.sqs");
    assert_eq!(strs(field(sqs, "security_group_ids")), vec![group.clone()]);
    assert_eq!(field(s3, "security_group_ids"), &V::Nil);
    assert!(str_of(s3, "prefix_list_id").starts_with("pl-"), "the Gateway endpoint names its service's prefix list");
    assert_eq!(field(&state, "tags_all"), &obj(vec![("service", s("orders")), ("team", s("platform"))]));

    // The managed group: 443 in from the app's group, nothing else, nothing out.
    let g = &b.aws.ec2.describe_security_groups().group_ids(&group).send().await.unwrap().security_groups()[0].clone();
    assert_eq!(g.ip_permissions().len(), 1);
    let p = &g.ip_permissions()[0];
    assert_eq!((p.ip_protocol(), p.from_port(), p.to_port()), (Some("tcp"), Some(443), Some(443)));
    assert_eq!(p.user_id_group_pairs()[0].group_id(), Some(b.app_group.as_str()));
    assert!(p.ip_ranges().is_empty());
    assert!(g.ip_permissions_egress().is_empty(), "the endpoints' group allows no egress");
    let live = b.live_endpoints().await;
    assert_eq!(live.len(), 2);
    for e in &live {
        let tag = |k: &str| e.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value()).map(str::to_string);
        assert_eq!(tag("privatelink:owner").as_deref(), Some(id.as_str()));
        assert_eq!(tag("team").as_deref(), Some("platform"));
    }

    // Refresh + plan of the same config: nothing changes.
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read of an untouched bundle changes nothing");
    let (again, replace) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert_eq!(canon(&again), canon(&refreshed), "an unchanged config plans no change");
    assert!(replace.is_empty());

    // Update in place: one subnet fewer, a logs endpoint more, a policy on s3.
    let policy = r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::app-data/*"}],"Version":"2012-10-17"}"#;
    let updated = b.config(
        &b.subnets[..1],
        vec![endpoint("sqs", None, None), endpoint("s3", Some("Gateway"), Some(policy)), endpoint("logs", None, None)],
    );
    let (planned, replace) = b.tf.plan(&refreshed, &updated).await.unwrap();
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(str_of(endpoint_block(&planned, "sqs"), "id"), str_of(sqs, "id"), "sqs is updated in place");
    assert!(is_unknown(field(endpoint_block(&planned, "logs"), "id")));
    let (state2, diags) = b.tf.apply(&refreshed, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let sqs_now = b.aws.ec2.describe_vpc_endpoints().vpc_endpoint_ids(str_of(sqs, "id")).send().await.unwrap().vpc_endpoints()[0].clone();
    assert_eq!(sqs_now.subnet_ids(), &b.subnets[..1]);
    let s3_now = b.aws.ec2.describe_vpc_endpoints().vpc_endpoint_ids(str_of(s3, "id")).send().await.unwrap().vpc_endpoints()[0].clone();
    assert!(privatelink::policy::equivalent(s3_now.policy_document().unwrap(), policy));
    assert_eq!(b.live_endpoints().await.len(), 3);
    // A reformatted but equal policy is no change.
    let reformatted = r#"{ "Version": "2012-10-17", "Statement": { "Resource": ["arn:aws:s3:::app-data/*"], "Action": "s3:GetObject", "Principal": "*", "Effect": "Allow" } }"#;
    let same = b.config(
        &b.subnets[..1],
        vec![endpoint("sqs", None, None), endpoint("s3", Some("Gateway"), Some(reformatted)), endpoint("logs", None, None)],
    );
    let state2 = b.tf.read(&state2).await;
    let (planned, _) = b.tf.plan(&state2, &same).await.unwrap();
    assert_eq!(canon(&planned), canon(&state2), "semantically equal JSON shows no diff");

    // Removing a whole endpoint block deletes only that endpoint.
    let (planned, _) = b.tf.plan(&state2, &updated_without_logs(&b, policy)).await.unwrap();
    let (state3, diags) = b.tf.apply(&state2, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(b.live_endpoints().await.len(), 2);
    assert_eq!(field(&state3, "endpoint").as_array().unwrap().len(), 2);

    // Destroy: endpoints, then the group; nothing of ours is left.
    let (gone, diags) = b.tf.destroy(&state3).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    b.assert_nothing_left(&id).await;
    drop(b.moto);
}

fn updated_without_logs(b: &Bed, policy: &str) -> V {
    b.config(&b.subnets[..1], vec![endpoint("sqs", None, None), endpoint("s3", Some("Gateway"), Some(policy))])
}

#[tokio::test]
async fn drift_is_shown_in_the_plan_and_repaired() {
    let mut b = bed().await;
    let config = b.standard();
    let state = b.tf.converge(&V::Nil, &config).await;
    let group = str_of(&state, "security_group_id").to_string();
    let sqs_id = str_of(endpoint_block(&state, "sqs"), "id").to_string();

    // Behind Terraform's back: the sqs endpoint is deleted and SSH is opened.
    b.aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&sqs_id).send().await.unwrap();
    b.aws
        .ec2
        .authorize_security_group_ingress()
        .group_id(&group)
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

    let refreshed = b.tf.read(&state).await;
    let sqs = endpoint_block(&refreshed, "sqs");
    assert_eq!(field(sqs, "id"), &V::Nil, "the deleted endpoint shows as missing");
    assert_eq!(strs(field(&refreshed, "unexpected_rules")), vec!["ingress tcp 22 from 0.0.0.0/0".to_string()]);

    let (planned, replace) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert!(replace.is_empty());
    assert!(is_unknown(field(endpoint_block(&planned, "sqs"), "id")), "planned re-create of the endpoint");
    assert_eq!(field(&planned, "unexpected_rules"), &V::Array(vec![]), "planned removal of the rule");
    let (repaired, diags) = b.tf.apply(&refreshed, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_ne!(str_of(endpoint_block(&repaired, "sqs"), "id"), sqs_id);
    let g = b.aws.ec2.describe_security_groups().group_ids(&group).send().await.unwrap().security_groups()[0].clone();
    assert!(!g.ip_permissions().iter().any(|p| p.from_port() == Some(22)), "the SSH rule was removed");
    let again = b.tf.read(&repaired).await;
    assert_eq!(canon(&b.tf.plan(&again, &config).await.unwrap().0), canon(&again), "repaired: the next plan is empty");

    // The whole bundle gone: read says removed.
    let ids: Vec<String> = field(&again, "endpoint").as_array().unwrap().iter().map(|e| str_of(e, "id").to_string()).collect();
    b.aws.ec2.delete_vpc_endpoints().set_vpc_endpoint_ids(Some(ids)).send().await.unwrap();
    // The endpoints' network interfaces hold the group for a while after
    // the delete (AWS answers DependencyViolation, so do the rules): wait
    // as someone deleting it by hand would.
    common::retrying(&["DependencyViolation"], || b.aws.ec2.delete_security_group().group_id(&group).send()).await.unwrap();
    assert_eq!(b.tf.read(&again).await, V::Nil);
}

#[tokio::test]
async fn import_reconstructs_a_bundle_whose_next_plan_is_empty() {
    let mut b = bed().await;
    let config = b.standard();
    let state = b.tf.converge(&V::Nil, &config).await;
    let ids: Vec<&str> = field(&state, "endpoint").as_array().unwrap().iter().map(|e| str_of(e, "id")).collect();

    let imported = b.tf.import(&ids.join(",")).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    assert_eq!(str_of(&imported, "id"), str_of(&state, "id"));
    assert_eq!(str_of(&imported, "name"), "core");
    assert_eq!(str_of(&imported, "security_group_id"), str_of(&state, "security_group_id"));
    let (planned, replace) = b.tf.plan(&imported, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    // Compare what the user sees: every attribute except the order of blocks.
    for key in
        ["id", "name", "vpc_id", "subnet_ids", "route_table_ids", "allowed_security_group_ids", "tags", "tags_all", "security_group_id"]
    {
        assert_eq!(canon(field(&planned, key)), canon(field(&imported, key)), "{key} differs after import");
    }
    for svc in ["sqs", "s3"] {
        assert_eq!(canon(endpoint_block(&planned, svc)), canon(endpoint_block(&imported, svc)), "endpoint {svc} differs after import");
    }

    // Bad import ids are refused with a message, before or without damage.
    let err = b.tf.import("vpce-0123456789abcdef0").await.unwrap_err();
    assert!(show(&err).contains("does not exist"), "{}", show(&err));
    let err = b.tf.import("subnet-0123456789abcdef0").await.unwrap_err();
    assert!(show(&err).contains("vpce"), "{}", show(&err));
}

#[tokio::test]
async fn plan_time_checks_name_the_attribute() {
    let mut b = bed().await;
    // A second subnet in the AZ of the first.
    let az =
        b.aws.ec2.describe_subnets().subnet_ids(&b.subnets[0]).send().await.unwrap().subnets()[0].availability_zone().unwrap().to_string();
    let twin = b.aws.ec2.create_subnet().vpc_id(&b.vpc).cidr_block("10.0.9.0/24").availability_zone(&az).send().await.unwrap();
    let twin = twin.subnet().unwrap().subnet_id().unwrap().to_string();
    let two_in_one_az = b.config(&[b.subnets[0].clone(), twin.clone()], vec![endpoint("sqs", None, None)]);
    let d = b.tf.plan(&V::Nil, &two_in_one_az).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary.contains("Availability Zone")).unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(path_of(e), "subnet_ids");
    assert!(e.detail.contains(&twin) && e.detail.contains(&b.subnets[0]), "{}", e.detail);

    // An unknown service gets near matches.
    let d = b.tf.plan(&V::Nil, &b.config(&b.subnets, vec![endpoint("sqq", None, None)])).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary == "Unknown service").unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(path_of(e), "endpoint[0].service");
    assert!(e.detail.contains("com.amazonaws.us-east-1.sqs"), "{}", e.detail);

    // Private DNS needs DNS hostnames on the VPC.
    b.aws
        .ec2
        .modify_vpc_attribute()
        .vpc_id(&b.vpc)
        .enable_dns_hostnames(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .unwrap();
    let d = b.tf.plan(&V::Nil, &b.standard()).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary.contains("DNS")).unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(path_of(e), "vpc_id");
    assert!(e.detail.contains(&b.vpc) && e.detail.contains("enable_dns_hostnames"), "{}", e.detail);
    b.aws
        .ec2
        .modify_vpc_attribute()
        .vpc_id(&b.vpc)
        .enable_dns_hostnames(aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .unwrap();

    // An endpoint for the service that someone else made: named, unless adopted.
    let theirs = b
        .aws
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&b.vpc)
        .service_name("com.amazonaws.us-east-1.sqs")
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .subnet_ids(&b.subnets[0])
        .send()
        .await
        .unwrap()
        .vpc_endpoint()
        .unwrap()
        .vpc_endpoint_id()
        .unwrap()
        .to_string();
    let d = b.tf.plan(&V::Nil, &b.standard()).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary.contains("already exists")).unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(path_of(e), "endpoint[0].service");
    assert!(e.detail.contains(&theirs) && e.detail.contains("adopt_existing"), "{}", e.detail);
    let mut adopting = b.standard();
    if let V::Map(m) = &mut adopting {
        m.push((s("adopt_existing"), V::Boolean(true)));
    }
    let state = b.tf.converge(&V::Nil, &adopting).await;
    assert_eq!(str_of(endpoint_block(&state, "sqs"), "id"), theirs, "the existing endpoint was taken over, not duplicated");
    assert_eq!(b.live_endpoints().await.len(), 2);
}

/// A create that fails half way returns what it made, and a destroy of that
/// state removes it all.
#[tokio::test]
async fn a_failed_create_keeps_what_was_made_and_destroy_cleans_up() {
    let mut b = bed().await;
    let mut config = b.standard();
    // A client group that does not exist: the rule call fails after the
    // group was created; the Gateway endpoint does not depend on the group.
    if let V::Map(m) = &mut config {
        for (k, v) in m.iter_mut() {
            if k.as_str() == Some("allowed_security_group_ids") {
                *v = set(&["sg-0123456789abcdef0".to_string()]);
            }
        }
    }
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap();
    let (partial, diags) = b.tf.apply(&V::Nil, &planned).await;
    let errs = errors(&diags);
    assert!(!errs.is_empty(), "the create should fail");
    assert!(errs[0].summary.contains("security group"), "the error names the part: {}", show(&diags));
    let id = str_of(&partial, "id").to_string();
    assert!(str_of(&partial, "security_group_id").starts_with("sg-"), "the group made is recorded");
    assert!(str_of(endpoint_block(&partial, "s3"), "id").starts_with("vpce-"), "the endpoint made is recorded");
    assert_eq!(field(endpoint_block(&partial, "sqs"), "id"), &V::Nil, "the endpoint not made is not invented");

    let (gone, diags) = b.tf.destroy(&partial).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    b.assert_nothing_left(&id).await;
}

// ---------------------------------------------------------------- S3 Interface endpoints

const INBOUND_ONLY: &str = "private_dns_only_for_inbound_resolver_endpoint";
const INBOUND_ONLY_PARAM: &str = "DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint";

/// A parameter of an EC2 query request body.
fn param<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

impl Bed {
    /// The CreateVpcEndpoint requests the provider sent, as (type, service, DnsOptions value).
    fn sent_creates(&self) -> Vec<(String, String, Option<String>)> {
        let proxy = self.proxy.as_ref().expect("a recording bed");
        let field = |b: &str, n: &str| param(b, n).map(str::to_string);
        proxy
            .sent("ec2:CreateVpcEndpoint")
            .iter()
            .map(|b| {
                (field(b, "VpcEndpointType").unwrap_or_default(), field(b, "ServiceName").unwrap_or_default(), field(b, INBOUND_ONLY_PARAM))
            })
            .collect()
    }

    fn sent_modifies(&self) -> Vec<String> {
        self.proxy.as_ref().expect("a recording bed").sent("ec2:ModifyVpcEndpoint")
    }
}

/// An S3 Interface endpoint with private DNS and no S3 Gateway endpoint in
/// the VPC: AWS refuses it unless told PrivateDnsOnlyForInboundResolverEndpoint
/// = false (its default for S3 is true, which needs a Gateway endpoint).
/// moto takes it either way, so the request itself is asserted.
#[tokio::test]
async fn an_s3_interface_endpoint_alone_asks_for_private_dns_inside_the_vpc() {
    let mut b = bed_recording().await;
    let config = b.config(&b.subnets, vec![endpoint("s3", Some("Interface"), None), endpoint("sqs", None, None)]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(field(endpoint_block(&planned, "s3"), INBOUND_ONLY), &V::Boolean(false), "planned: the VPC has no S3 Gateway endpoint");
    assert_eq!(field(endpoint_block(&planned, "sqs"), INBOUND_ONLY), &V::Nil, "does not apply to sqs");
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(field(endpoint_block(&state, "s3"), INBOUND_ONLY), &V::Boolean(false));
    let mut creates = b.sent_creates();
    creates.sort();
    assert_eq!(
        creates,
        vec![
            ("Interface".into(), "com.amazonaws.us-east-1.s3".into(), Some("false".into())),
            ("Interface".into(), "com.amazonaws.us-east-1.sqs".into(), None),
        ],
        "sent: DnsOptions for s3 only"
    );

    // moto reports no DnsOptions: the refresh keeps the state's value, and
    // the same configuration plans no change.
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state));
    let (again, _) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert_eq!(canon(&again), canon(&refreshed), "an unchanged config plans no change");

    // true with no S3 Gateway endpoint anywhere: refused at plan, at the attribute.
    let on = b.config(&b.subnets, vec![endpoint_with("s3", "Interface", INBOUND_ONLY, V::Boolean(true)), endpoint("sqs", None, None)]);
    let d = b.tf.plan(&refreshed, &on).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary.contains("Gateway endpoint")).unwrap_or_else(|| panic!("{}", show(&d)));
    assert_eq!(path_of(e), format!("endpoint[0].{INBOUND_ONLY}"));
    assert!(e.detail.contains(&b.vpc) && e.detail.contains("type = \"Gateway\"") && e.detail.contains("= false"), "{}", e.detail);

    // An S3 Gateway endpoint added to the bundle: made first, then the
    // Interface endpoint is changed in place to inbound-only DNS.
    let with_gateway = b.config(
        &b.subnets,
        vec![endpoint("s3", Some("Interface"), None), endpoint("sqs", None, None), endpoint("s3", Some("Gateway"), None)],
    );
    let (planned, replace) = b.tf.plan(&refreshed, &with_gateway).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    let s3 = endpoint_block(&planned, "s3");
    assert_eq!(field(s3, INBOUND_ONLY), &V::Boolean(true));
    assert_eq!(str_of(s3, "id"), str_of(endpoint_block(&state, "s3"), "id"), "in place");
    let calls_before = b.proxy.as_ref().unwrap().calls().len();
    let (updated, diags) = b.tf.apply(&refreshed, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let modifies = b.sent_modifies();
    assert_eq!(modifies.len(), 1, "{modifies:?}");
    assert_eq!(param(&modifies[0], "VpcEndpointId"), Some(str_of(s3, "id")));
    assert_eq!(param(&modifies[0], INBOUND_ONLY_PARAM), Some("true"));
    let calls: Vec<String> = b.proxy.as_ref().unwrap().calls()[calls_before..].to_vec();
    let gateway_made = calls.iter().position(|c| c == "ec2:CreateVpcEndpoint").expect("the Gateway endpoint was created");
    let interface_changed = calls.iter().position(|c| c == "ec2:ModifyVpcEndpoint").unwrap();
    assert!(gateway_made < interface_changed, "the Gateway before the change that needs it: {calls:?}");
    assert_eq!(field(endpoint_block(&updated, "s3"), INBOUND_ONLY), &V::Boolean(true));

    let (gone, diags) = b.tf.destroy(&updated).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

/// With an S3 Gateway endpoint in the same bundle, the Interface endpoint
/// keeps AWS's inbound-only default, and is created after the Gateway.
#[tokio::test]
async fn an_s3_interface_endpoint_next_to_the_bundles_gateway_is_inbound_only_and_made_after_it() {
    let mut b = bed_recording().await;
    let config = b.config(&b.subnets, vec![endpoint("s3", Some("Interface"), None), endpoint("s3", Some("Gateway"), None)]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let interface = |state: &V| -> V {
        field(state, "endpoint").as_array().unwrap().iter().find(|e| field(e, "type").as_str() == Some("Interface")).unwrap().clone()
    };
    assert_eq!(field(&interface(&planned), INBOUND_ONLY), &V::Boolean(true));
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(field(&interface(&state), INBOUND_ONLY), &V::Boolean(true));
    let s3 = "com.amazonaws.us-east-1.s3".to_string();
    assert_eq!(
        b.sent_creates(),
        vec![("Gateway".into(), s3.clone(), None), ("Interface".into(), s3, Some("true".into()))],
        "the Gateway first, and no DnsOptions on it"
    );
    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

fn endpoint_with(service: &str, kind: &str, key: &str, value: V) -> V {
    obj(vec![("service", s(service)), ("type", s(kind)), (key, value)])
}
