//! The vpc endpoint part against a moto server: create, wait, find (by
//! ids, service and tags), modify, delete, and the service catalogue.

use crate::common;

use std::time::Duration;

use common::moto::Moto;
use privatelink::aws::Aws;
use privatelink::parts::tags::{Tags, OWNER_TAG, PART_TAG};
use privatelink::parts::vpc_endpoint::{self as ve, Change, EndpointSpec, Kind, PolicyChange};
use privatelink::policy;

const SQS: &str = "com.amazonaws.us-east-1.sqs";
const S3: &str = "com.amazonaws.us-east-1.s3";
const TIMEOUT: Duration = Duration::from_secs(30);

const SQS_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}]}"#;
const S3_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]}"#;

async fn connect(moto: &Moto) -> Aws {
    common::aws(&moto.url()).await
}

/// The network the endpoints go into, made directly with the SDK.
struct Net {
    vpc: String,
    subnet_a: String,
    subnet_b: String,
    route_table_1: String,
    route_table_2: String,
    group: String,
}

async fn network(ec2: &aws_sdk_ec2::Client) -> Net {
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    // Private DNS on an Interface endpoint needs both (AWS refuses the
    // endpoint otherwise; the rules proxy answers as AWS does).
    let on = || aws_sdk_ec2::types::AttributeBooleanValue::builder().value(true).build();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_support(on()).send().await.unwrap();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_hostnames(on()).send().await.unwrap();
    let subnet = |cidr: &'static str, az: &'static str| {
        let vpc = vpc.clone();
        async move {
            let out = ec2.create_subnet().vpc_id(vpc).cidr_block(cidr).availability_zone(az).send().await.unwrap();
            out.subnet().and_then(|s| s.subnet_id()).unwrap().to_string()
        }
    };
    let subnet_a = subnet("10.0.1.0/24", "us-east-1a").await;
    let subnet_b = subnet("10.0.2.0/24", "us-east-1b").await;
    let route_table = || async {
        let out = ec2.create_route_table().vpc_id(&vpc).send().await.unwrap();
        out.route_table().and_then(|r| r.route_table_id()).unwrap().to_string()
    };
    let route_table_1 = route_table().await;
    let route_table_2 = route_table().await;
    let group = ec2.create_security_group().vpc_id(&vpc).group_name("endpoints").description("endpoints").send().await.unwrap();
    let group = group.group_id().unwrap().to_string();
    Net { vpc, subnet_a, subnet_b, route_table_1, route_table_2, group }
}

fn tags(part: &str) -> Tags {
    [(OWNER_TAG, "peb-1"), (PART_TAG, part), ("team", "core")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn interface_spec(net: &Net) -> EndpointSpec {
    EndpointSpec {
        vpc_id: net.vpc.clone(),
        service_name: SQS.into(),
        kind: Kind::Interface,
        subnet_ids: vec![net.subnet_a.clone()],
        route_table_ids: vec![],
        security_group_ids: vec![net.group.clone()],
        private_dns_enabled: Some(true),
        private_dns_only_for_inbound_resolver_endpoint: None,
        policy: None,
        tags: tags("endpoint/sqs"),
        client_token: "peb-1-endpoint-sqs".into(),
    }
}

fn gateway_spec(net: &Net) -> EndpointSpec {
    EndpointSpec {
        vpc_id: net.vpc.clone(),
        service_name: S3.into(),
        kind: Kind::Gateway,
        subnet_ids: vec![],
        route_table_ids: vec![net.route_table_1.clone(), net.route_table_2.clone()],
        security_group_ids: vec![],
        private_dns_enabled: None,
        private_dns_only_for_inbound_resolver_endpoint: None,
        policy: None,
        tags: tags("endpoint/s3"),
        client_token: "peb-1-endpoint-s3".into(),
    }
}

fn ids_of(endpoints: &[ve::Endpoint]) -> Vec<String> {
    let mut ids: Vec<String> = endpoints.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn endpoint_lifecycle() {
    let moto = Moto::start();
    let aws = connect(&moto).await;
    let ec2 = &aws.ec2;
    let net = network(ec2).await;

    // create and wait
    let sqs_spec = interface_spec(&net);
    let s3_spec = gateway_spec(&net);
    let sqs_id = ve::create(ec2, &sqs_spec).await.unwrap();
    let s3_id = ve::create(ec2, &s3_spec).await.unwrap();
    assert!(sqs_id.starts_with("vpce-") && s3_id.starts_with("vpce-") && sqs_id != s3_id);

    let sqs = ve::wait_available(ec2, &sqs_id, TIMEOUT).await.unwrap();
    assert_eq!(sqs.state, "available");
    assert_eq!(sqs.kind, Kind::Interface);
    assert_eq!(sqs.vpc_id, net.vpc);
    assert_eq!(sqs.service_name, SQS);
    assert_eq!(sqs.subnet_ids, vec![net.subnet_a.clone()]);
    assert_eq!(sqs.security_group_ids, vec![net.group.clone()]);
    assert!(sqs.route_table_ids.is_empty());
    assert_eq!(sqs.tags, tags("endpoint/sqs"));
    assert!(sqs.private_dns_enabled);
    // No policy asked for: AWS (and moto) answer with the default one.
    assert!(sqs.policy.as_deref().is_some_and(policy::is_default_full_access), "{:?}", sqs.policy);
    assert!(ve::diff(&sqs, &sqs_spec).is_empty(), "{:?}", ve::diff(&sqs, &sqs_spec));

    let s3 = ve::wait_available(ec2, &s3_id, TIMEOUT).await.unwrap();
    assert_eq!(s3.kind, Kind::Gateway);
    assert_eq!(s3.route_table_ids, sorted(vec![net.route_table_1.clone(), net.route_table_2.clone()]));
    assert!(s3.subnet_ids.is_empty() && s3.security_group_ids.is_empty());
    assert_eq!(s3.tags, tags("endpoint/s3"));
    assert!(ve::diff(&s3, &s3_spec).is_empty(), "{:?}", ve::diff(&s3, &s3_spec));

    // find_many: one unknown id does not hide the others
    assert!(ve::find_many(ec2, &[]).await.unwrap().is_empty());
    let unknown = "vpce-0123456789abcdef0".to_string();
    let found = ve::find_many(ec2, &[sqs_id.clone(), s3_id.clone(), unknown.clone()]).await.unwrap();
    assert_eq!(ids_of(&found), sorted(vec![sqs_id.clone(), s3_id.clone()]));
    assert!(ve::find_many(ec2, std::slice::from_ref(&unknown)).await.unwrap().is_empty());
    let both = ve::find_many(ec2, &[sqs_id.clone(), s3_id.clone()]).await.unwrap();
    assert_eq!(ids_of(&both), sorted(vec![sqs_id.clone(), s3_id.clone()]));

    // find_for_service
    assert_eq!(ids_of(&ve::find_for_service(ec2, &net.vpc, SQS).await.unwrap()), vec![sqs_id.clone()]);
    assert_eq!(ids_of(&ve::find_for_service(ec2, &net.vpc, S3).await.unwrap()), vec![s3_id.clone()]);
    assert!(ve::find_for_service(ec2, &net.vpc, "com.amazonaws.us-east-1.lambda").await.unwrap().is_empty());
    assert!(ve::find_for_service(ec2, "vpc-0123456789abcdef0", SQS).await.unwrap().is_empty());

    // find_by_tags
    let owner_only: Tags = [(OWNER_TAG.to_string(), "peb-1".to_string())].into();
    let sqs_part: Tags = [(OWNER_TAG.to_string(), "peb-1".to_string()), (PART_TAG.to_string(), "endpoint/sqs".to_string())].into();
    let other_owner: Tags = [(OWNER_TAG.to_string(), "peb-2".to_string())].into();
    let wildcard: Tags = [(OWNER_TAG.to_string(), "peb-*".to_string())].into();
    assert_eq!(ids_of(&ve::find_by_tags(ec2, &net.vpc, &owner_only).await.unwrap()), sorted(vec![sqs_id.clone(), s3_id.clone()]));
    assert_eq!(ids_of(&ve::find_by_tags(ec2, &net.vpc, &sqs_part).await.unwrap()), vec![sqs_id.clone()]);
    assert!(ve::find_by_tags(ec2, &net.vpc, &other_owner).await.unwrap().is_empty());
    // `*` in a tag value is a wildcard to AWS's filter, not to us.
    assert!(ve::find_by_tags(ec2, &net.vpc, &wildcard).await.unwrap().is_empty());

    // modify the interface endpoint: move it to subnet b, set a policy
    let sqs_wanted = EndpointSpec { subnet_ids: vec![net.subnet_b.clone()], policy: Some(SQS_POLICY.into()), ..sqs_spec.clone() };
    let change = ve::diff(&sqs, &sqs_wanted);
    assert_eq!(
        change,
        Change {
            add_subnet_ids: vec![net.subnet_b.clone()],
            remove_subnet_ids: vec![net.subnet_a.clone()],
            policy: Some(PolicyChange::Set(SQS_POLICY.into())),
            ..Change::default()
        }
    );
    ve::modify(ec2, &sqs_id, &change).await.unwrap();
    let sqs = ve::wait_available(ec2, &sqs_id, TIMEOUT).await.unwrap();
    assert_eq!(sqs.subnet_ids, vec![net.subnet_b.clone()]);
    assert!(sqs.policy.as_deref().is_some_and(|p| policy::equivalent(p, SQS_POLICY)), "{:?}", sqs.policy);
    assert!(ve::diff(&sqs, &sqs_wanted).is_empty(), "{:?}", ve::diff(&sqs, &sqs_wanted));

    // modify the gateway: drop its second route table, set a policy.
    // (Not an added route table: moto's ModifyVpcEndpoint adds no route
    // for it, and its DeleteVpcEndpoints then fails with InvalidRoute.NotFound.)
    let s3_wanted = EndpointSpec { route_table_ids: vec![net.route_table_1.clone()], policy: Some(S3_POLICY.into()), ..s3_spec.clone() };
    let change = ve::diff(&s3, &s3_wanted);
    assert_eq!(
        change,
        Change {
            remove_route_table_ids: vec![net.route_table_2.clone()],
            policy: Some(PolicyChange::Set(S3_POLICY.into())),
            ..Change::default()
        }
    );
    ve::modify(ec2, &s3_id, &change).await.unwrap();
    let s3 = ve::find_many(ec2, std::slice::from_ref(&s3_id)).await.unwrap().pop().unwrap();
    assert_eq!(s3.route_table_ids, vec![net.route_table_1.clone()]);
    assert!(ve::diff(&s3, &s3_wanted).is_empty(), "{:?}", ve::diff(&s3, &s3_wanted));

    // an empty change makes no call (a bad id would fail if it did)
    ve::modify(ec2, "vpce-0123456789abcdef0", &Change::default()).await.unwrap();

    // delete both: absent or `deleted` afterwards, and no longer found
    ve::delete(ec2, &[sqs_id.clone(), s3_id.clone()], TIMEOUT).await.unwrap();
    let after = ve::find_many(ec2, &[sqs_id.clone(), s3_id.clone()]).await.unwrap();
    assert!(after.iter().all(|e| e.state == "deleted"), "{after:?}");
    assert!(ve::find_for_service(ec2, &net.vpc, SQS).await.unwrap().is_empty());
    assert!(ve::find_by_tags(ec2, &net.vpc, &owner_only).await.unwrap().is_empty());

    // deleting what is already gone is fine
    ve::delete(ec2, &[sqs_id.clone(), unknown.clone()], TIMEOUT).await.unwrap();
    ve::delete(ec2, &[], TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn wait_on_a_missing_endpoint_fails_at_once() {
    let moto = Moto::start();
    let aws = connect(&moto).await;
    let err = ve::wait_available(&aws.ec2, "vpce-0123456789abcdef0", TIMEOUT).await.unwrap_err();
    assert!(err.summary.contains("vpce-0123456789abcdef0"), "{err:?}");
    assert!(err.summary.contains("disappeared"), "{err:?}");
}

#[tokio::test]
async fn create_errors_name_the_part_and_call() {
    let moto = Moto::start();
    let aws = connect(&moto).await;
    let net = network(&aws.ec2).await;
    let spec = EndpointSpec { vpc_id: "vpc-0123456789abcdef0".into(), ..interface_spec(&net) };
    let err = ve::create(&aws.ec2, &spec).await.unwrap_err();
    assert!(err.summary.contains("vpc endpoint") && err.summary.contains("ec2:CreateVpcEndpoint"), "{err:?}");
    assert!(err.detail.contains("InvalidVpcID.NotFound"), "{err:?}");
}

#[tokio::test]
async fn service_catalogue() {
    let moto = Moto::start();
    let aws = connect(&moto).await;
    let ec2 = &aws.ec2;

    assert!(ve::services(ec2, &[]).await.unwrap().is_empty());
    let found = ve::services(ec2, &[S3.to_string(), "com.amazonaws.us-east-1.nosuch".to_string()]).await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].name, S3);
    assert!(found[0].kinds.contains(&Kind::Gateway), "{found:?}");

    let found = ve::services(ec2, &[SQS.to_string(), S3.to_string()]).await.unwrap();
    let names: Vec<&str> = found.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec![S3, SQS]);
    assert!(found[1].kinds == vec![Kind::Interface], "{found:?}");
    assert!(found[1].private_dns_name.as_deref().is_some_and(|d| d.contains("sqs")), "{found:?}");

    let all = ve::all_service_names(ec2).await.unwrap();
    assert!(all.iter().any(|n| n == SQS), "{all:?}");
    assert!(all.iter().any(|n| n == S3));
    assert_eq!(all.iter().filter(|n| *n == S3).count(), 1, "each name once");
}

/// Regression (found by the fault suite): a create whose answer was lost
/// and was sent again leaves a second endpoint with the same ownership
/// tags (moto ignores ClientToken; AWS's token also expires). `ensure`
/// keeps one and deletes the twin, so nothing is left behind.
#[tokio::test]
async fn ensure_deletes_twins_left_by_a_repeated_create() {
    let moto = Moto::start();
    // Plain moto: behind the AWS rules the repeated create gets the first
    // answer back (same ClientToken), so no twin could be made; twins come
    // from a create repeated after the token expired, or a crash between
    // attempts. The twin is the fixture here, the rules would prevent it.
    let aws = common::aws(&moto.plain_url()).await;
    let net = network(&aws.ec2).await;
    let spec = interface_spec(&net);
    let first = ve::create(&aws.ec2, &spec).await.unwrap();
    let twin = ve::create(&aws.ec2, &spec).await.unwrap();
    assert_ne!(first, twin, "moto made two endpoints for one part");
    let kept = ve::ensure(&aws.ec2, &spec, None, false, TIMEOUT, |_| {}).await.unwrap();
    let live: Vec<String> = ve::find_by_tags(&aws.ec2, &net.vpc, &spec.tags).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(live, vec![kept.id.clone()], "exactly one endpoint of the part is left");
    assert!(kept.id == first || kept.id == twin);
}

/// Regression (found by the fault suite): a delete whose answer was lost
/// is sent again. AWS answers the second one "not found"; moto fails it
/// with InvalidRoute.NotFound, because the first delete already removed
/// the Gateway endpoint's routes (a moto quirk). Either way the endpoint
/// is gone, so `delete` succeeds; an endpoint still standing would fail it.
#[tokio::test]
async fn a_delete_sent_again_after_it_worked_succeeds() {
    let moto = Moto::start();
    let aws = connect(&moto).await;
    let net = network(&aws.ec2).await;
    let id = ve::create(&aws.ec2, &gateway_spec(&net)).await.unwrap();
    // The first delete, as if its answer had been lost.
    aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&id).send().await.unwrap();
    let again = aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&id).send().await;
    let refused_by_moto =
        again.as_ref().err().and_then(|e| aws_smithy_types::error::metadata::ProvideErrorMetadata::code(e)).map(str::to_string);
    println!("moto answers a repeated delete with {refused_by_moto:?}");
    ve::delete(&aws.ec2, std::slice::from_ref(&id), TIMEOUT).await.expect("the endpoint is gone: delete is done");
    let left = ve::find_many(&aws.ec2, std::slice::from_ref(&id)).await.unwrap();
    assert!(left.iter().all(|e| e.is_gone()), "{left:?}");
}

/// The test proxy answers as EC2 does where moto does not: a create sent
/// again with the same ClientToken (the SDK's retry after a lost answer)
/// returns the first endpoint, and no twin is made. moto alone makes a
/// second endpoint; for a Gateway endpoint on the same route table the
/// twin's delete then takes the shared route with it and the kept
/// endpoint can never be deleted in moto (InvalidRoute.NotFound), which
/// AWS, honouring the token, never gets into.
#[tokio::test]
async fn through_the_proxy_a_repeated_client_token_makes_one_endpoint() {
    let moto = Moto::start();
    let proxy = common::proxy::Proxy::start(moto.port, common::proxy::Faults::none());
    let aws = common::aws(&proxy.url()).await;
    let net = network(&aws.ec2).await;
    let spec = gateway_spec(&net);
    let first = ve::create(&aws.ec2, &spec).await.unwrap();
    let again = ve::create(&aws.ec2, &spec).await.unwrap();
    assert_eq!(first, again, "the same client token gives the same endpoint");
    let live: Vec<String> = ve::find_by_tags(&aws.ec2, &net.vpc, &spec.tags).await.unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(live, vec![first.clone()], "one endpoint, as AWS makes");
    let mut other = spec.clone();
    other.client_token = "peb-2-endpoint-s3".into();
    other.route_table_ids = vec![];
    let second = ve::create(&aws.ec2, &other).await.unwrap();
    assert_ne!(second, first, "another token is another create");
    ve::delete(&aws.ec2, &[first, second], TIMEOUT).await.expect("both endpoints delete");
}
