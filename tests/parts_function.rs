//! The lambda function part against a moto server: packages built from a
//! directory, create (in and out of a VPC, with a role IAM shows late,
//! over an existing function), find, updates of code, configuration and
//! tags, delete.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::moto::Moto;
use privatelink::aws::Aws;
use privatelink::parts::code;
use privatelink::parts::function::{self, FunctionSettings, FunctionSpec, Package};
use privatelink::parts::tags::{Tags, OWNER_TAG, PART_TAG};

const TIMEOUT: Duration = Duration::from_secs(30);

/// Lambda may assume the role; nothing else.
const TRUST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

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

async fn create_role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let out = iam.create_role().role_name(name).assume_role_policy_document(TRUST).send().await.unwrap();
    out.role().map(|r| r.arn().to_string()).unwrap()
}

/// A VPC with two subnets and a group for the function.
struct Net {
    subnet_a: String,
    subnet_b: String,
    group: String,
}

async fn network(ec2: &aws_sdk_ec2::Client) -> Net {
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")] {
        let out = ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(az).send().await.unwrap();
        subnets.push(out.subnet().and_then(|s| s.subnet_id()).unwrap().to_string());
    }
    let group = ec2.create_security_group().vpc_id(&vpc).group_name("producer").description("producer").send().await.unwrap();
    let group = group.group_id().unwrap().to_string();
    Net { subnet_b: subnets.pop().unwrap(), subnet_a: subnets.pop().unwrap(), group }
}

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn tags(owner: &str) -> Tags {
    map(&[(OWNER_TAG, owner), (PART_TAG, "function/producer"), ("team", "core")])
}

fn spec(name: &str, role_arn: &str) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        role_arn: role_arn.into(),
        handler: "index.handler".into(),
        runtime: "python3.12".into(),
        memory_size: 128,
        timeout: 10,
        environment: map(&[("QUEUE_URL", "https://sqs.us-east-1.amazonaws.com/123456789012/orders")]),
        subnet_ids: vec![],
        security_group_ids: vec![],
        tags: tags("plp-1"),
        settings: FunctionSettings::default(),
        image: false,
    }
}

/// A package of one index.py returning `value`.
fn package(dir: &Path, value: &str) -> Package {
    std::fs::write(dir.join("index.py"), format!("def handler(event, context):\n    return {value:?}\n")).unwrap();
    code::from_dir(dir).unwrap().into()
}

/// The zip's hash, what Lambda reports as CodeSha256 for it.
fn hash(p: &Package) -> String {
    match p {
        Package::Zip(code) => code.sha256.clone(),
        other => panic!("not a zip: {other:?}"),
    }
}

#[tokio::test]
async fn create_find_update_and_delete_outside_a_vpc() {
    let bed = bed().await;
    let lambda = &bed.aws.lambda;
    let role = create_role(&bed.aws.iam, "producer").await;
    let src = tempfile::tempdir().unwrap();
    let v1 = package(src.path(), "v1");
    let mut want = spec("orders-producer", &role);

    let created = function::create(lambda, &want, &v1, TIMEOUT).await.unwrap();
    let found = function::find(lambda, "orders-producer").await.unwrap().expect("the created function");
    assert_eq!(found, created);
    assert_eq!(found.state, "Active");
    assert_ne!(found.last_update_status.as_deref(), Some("InProgress"));
    assert!(found.arn.ends_with(":function:orders-producer"), "{}", found.arn);
    assert_eq!((found.handler.as_str(), found.runtime.as_str()), ("index.handler", "python3.12"));
    assert_eq!((found.memory_size, found.timeout), (128, 10));
    assert_eq!(found.code_sha256, hash(&v1), "Lambda's CodeSha256 is the package's hash");
    assert_eq!(found.environment, want.environment);
    assert_eq!(found.role_arn, role);
    assert_eq!(found.tags, want.tags);
    assert!(found.subnet_ids.is_empty() && found.security_group_ids.is_empty());
    assert!(!function::config_changed(&found, &want));

    // New code.
    let v2 = package(src.path(), "v2");
    assert_ne!(hash(&v2), hash(&v1));
    let updated = function::update_code(lambda, "orders-producer", &v2, "x86_64", TIMEOUT).await.unwrap();
    assert_eq!(updated.code_sha256, hash(&v2));
    assert_eq!(updated.last_update_status.as_deref(), Some("Successful"));

    // New configuration: memory, timeout, handler, one variable gone and one new.
    want.memory_size = 256;
    want.timeout = 30;
    want.handler = "main.handler".into();
    want.environment = map(&[("LOG_LEVEL", "debug")]);
    assert!(function::config_changed(&updated, &want));
    let updated = function::update_config(lambda, "orders-producer", &want, TIMEOUT).await.unwrap();
    assert_eq!((updated.memory_size, updated.timeout, updated.handler.as_str()), (256, 30, "main.handler"));
    assert_eq!(updated.environment, want.environment);
    assert_eq!(updated.code_sha256, hash(&v2), "a configuration change keeps the code");
    assert!(!function::config_changed(&updated, &want));

    // Every variable removed.
    want.environment.clear();
    let updated = function::update_config(lambda, "orders-producer", &want, TIMEOUT).await.unwrap();
    assert!(updated.environment.is_empty(), "{:?}", updated.environment);
    assert!(!function::config_changed(&updated, &want));

    // Tags: one removed, one changed, one added.
    let mut new_tags = tags("plp-1");
    new_tags.remove("team");
    new_tags.insert(PART_TAG.into(), "function/consumer".into());
    new_tags.insert("cost-center".into(), "42".into());
    function::update_tags(lambda, &updated.arn, &updated.tags, &new_tags).await.unwrap();
    let found = function::find(lambda, "orders-producer").await.unwrap().unwrap();
    assert_eq!(found.tags, new_tags);

    function::delete(lambda, "orders-producer", TIMEOUT).await.unwrap();
    assert_eq!(function::find(lambda, "orders-producer").await.unwrap(), None);
    // Already gone is what delete wants.
    function::delete(lambda, "orders-producer", TIMEOUT).await.unwrap();
}

#[tokio::test]
async fn a_function_in_a_vpc_can_be_taken_out_of_it() {
    let bed = bed().await;
    let lambda = &bed.aws.lambda;
    let role = create_role(&bed.aws.iam, "producer").await;
    let net = network(&bed.aws.ec2).await;
    let src = tempfile::tempdir().unwrap();
    let mut want = spec("orders-producer", &role);
    want.subnet_ids = vec![net.subnet_b.clone(), net.subnet_a.clone()];
    want.security_group_ids = vec![net.group.clone()];

    let created = function::create(lambda, &want, &package(src.path(), "v1"), TIMEOUT).await.unwrap();
    let mut subnets = vec![net.subnet_a.clone(), net.subnet_b.clone()];
    subnets.sort();
    assert_eq!(created.subnet_ids, subnets, "sorted");
    assert_eq!(created.security_group_ids, vec![net.group.clone()]);
    assert_eq!(created.state, "Active");
    // The VPC id is not checked: moto reports every function's VPC as
    // "vpc-123abc" whatever the subnets.
    assert!(!function::config_changed(&created, &want));

    // Empty lists take it out of the VPC.
    want.subnet_ids.clear();
    want.security_group_ids.clear();
    assert!(function::config_changed(&created, &want));
    let out = function::update_config(lambda, "orders-producer", &want, TIMEOUT).await.unwrap();
    assert!(out.subnet_ids.is_empty() && out.security_group_ids.is_empty(), "{out:?}");
    assert!(!function::config_changed(&out, &want));
    let found = function::find(lambda, "orders-producer").await.unwrap().unwrap();
    assert!(found.subnet_ids.is_empty() && found.security_group_ids.is_empty());

    // Subnets without groups are refused before any call.
    want.subnet_ids = vec![net.subnet_a.clone()];
    let e = function::update_config(lambda, "orders-producer", &want, TIMEOUT).await.unwrap_err();
    assert!(e.detail.contains("has subnets but no security groups"), "{e:?}");

    function::delete(lambda, "orders-producer", TIMEOUT).await.unwrap();
    assert_eq!(function::find(lambda, "orders-producer").await.unwrap(), None);
}

#[tokio::test]
async fn create_adopts_its_own_function_and_refuses_another_owners() {
    let bed = bed().await;
    let lambda = &bed.aws.lambda;
    let role = create_role(&bed.aws.iam, "producer").await;
    let src = tempfile::tempdir().unwrap();
    let v1 = package(src.path(), "v1");
    let first = function::create(lambda, &spec("orders-producer", &role), &v1, TIMEOUT).await.unwrap();

    // The same owner creating again (say its first answer was lost) takes
    // the function over and brings it to the new spec and code.
    let v2 = package(src.path(), "v2");
    let mut again = spec("orders-producer", &role);
    again.memory_size = 512;
    again.tags.insert("stage".into(), "prod".into());
    let adopted = function::create(lambda, &again, &v2, TIMEOUT).await.unwrap();
    assert_eq!(adopted.arn, first.arn);
    assert_eq!(adopted.code_sha256, hash(&v2));
    assert_eq!(adopted.memory_size, 512);
    assert_eq!(adopted.tags, again.tags);
    assert!(!function::config_changed(&adopted, &again));

    // Another owner's create of the same name fails and changes nothing.
    let mut theirs = spec("orders-producer", &role);
    theirs.tags = tags("plp-2");
    theirs.memory_size = 1024;
    let e = function::create(lambda, &theirs, &v1, TIMEOUT).await.unwrap_err();
    assert!(e.summary.contains("orders-producer already exists"), "{e:?}");
    assert!(e.detail.contains("\"plp-1\""), "{e:?}");
    let found = function::find(lambda, "orders-producer").await.unwrap().unwrap();
    assert_eq!(found, adopted);
}

#[tokio::test]
async fn create_waits_for_a_role_that_iam_shows_late() {
    let bed = bed().await;
    let lambda = &bed.aws.lambda;
    let src = tempfile::tempdir().unwrap();
    let v1 = package(src.path(), "v1");
    // moto's account; the role does not exist yet, as a role made a moment
    // ago looks to Lambda on AWS.
    let role_arn = "arn:aws:iam::123456789012:role/late";

    let iam = bed.aws.iam.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        create_role(&iam, "late").await
    });
    let created = function::create(lambda, &spec("orders-producer", role_arn), &v1, TIMEOUT).await.unwrap();
    assert_eq!(late.await.unwrap(), role_arn);
    assert_eq!(created.role_arn, role_arn);
    assert_eq!(created.code_sha256, hash(&v1));

    // A role that never comes: the timeout says what was waited for and why.
    let e = function::create(lambda, &spec("orders-consumer", "arn:aws:iam::123456789012:role/never"), &v1, Duration::from_secs(3))
        .await
        .unwrap_err();
    assert!(e.summary.contains("orders-consumer") && e.summary.contains("role/never"), "{e:?}");
    assert!(e.detail.contains("cannot be assumed by Lambda") && e.detail.contains("IAM changes take seconds"), "{e:?}");
    assert_eq!(function::find(lambda, "orders-consumer").await.unwrap(), None);
}
