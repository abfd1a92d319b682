//! The AWS rules of the test proxy (tests/common/aws_rules.rs) answering
//! through the real proxy in front of a real moto: each test makes the
//! SDK call moto accepts and AWS refuses, and checks AWS's answer comes
//! back; then the call AWS accepts, and checks it goes through.
//!
//! moto quirks met on the way (moto 5.2.5), each the reason for a rule:
//! - CreateVpcEndpoint answers `available` at once (AWS: `pending` first),
//!   makes a private-DNS Interface endpoint whatever the VPC's DNS
//!   attributes, for S3 without a Gateway endpoint, twice for one service,
//!   and with two subnets in one zone; it ignores DnsOptions.
//! - DescribeVpcEndpoints keeps deleted endpoints, in state `deleted`.
//! - DeleteSecurityGroup deletes a group other groups' rules reference and
//!   a group still on a network interface.
//! - Lambda functions are `Active` / `Successful` at once; mappings are
//!   `Enabled` at once; nothing waits for IAM.
//! - CreateQueue remakes a just-deleted name at once.
//! - Already like AWS, so no rule: DeleteRole with policies left
//!   (DeleteConflict), CreateQueue of an existing name with other
//!   attributes (QueueAlreadyExists), a new VPC's enableDnsHostnames off.

use crate::common;

use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{AttributeBooleanValue, DnsOptionsSpecification, IpPermission, UserIdGroupPair, VpcEndpointType};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use common::moto::Moto;
use privatelink::aws::Aws;

const S3: &str = "com.amazonaws.us-east-1.s3";
const SQS: &str = "com.amazonaws.us-east-1.sqs";

/// A moto server, the rules proxy in front of it, and SDK clients pointed
/// at the proxy.
struct Bed {
    _moto: Moto,
    proxy: common::proxy::Proxy,
    aws: Aws,
}

async fn bed() -> Bed {
    let moto = Moto::start();
    let (proxy, url) = common::aws_url(&moto);
    let aws = common::aws(&url).await;
    Bed { _moto: moto, proxy, aws }
}

/// The error code and message of a failed SDK call.
fn refusal<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(r: Result<T, E>) -> (String, String) {
    let e = r.expect_err("AWS refuses this call");
    (e.code().unwrap_or("?").to_string(), e.message().unwrap_or("").to_string())
}

/// Retries `f` while it fails with `code`, for up to 10 s (the CI
/// durations are a few hundred ms).
macro_rules! once_settled {
    ($code:expr, $f:expr) => {{
        let start = Instant::now();
        loop {
            match $f.await {
                Err(e) if e.code() == Some($code) && start.elapsed() < Duration::from_secs(10) => {
                    tokio::time::sleep(Duration::from_millis(50)).await
                }
                other => break other,
            }
        }
    }};
}

/// A VPC (DNS support and hostnames on, as private DNS needs) with two
/// subnets in two zones and one in the first zone again.
struct Net {
    vpc: String,
    subnet_a: String,
    subnet_b: String,
    subnet_a2: String,
}

async fn network(ec2: &aws_sdk_ec2::Client, dns: bool) -> Net {
    let vpc = ec2.create_vpc().cidr_block("10.0.0.0/16").send().await.unwrap();
    let vpc = vpc.vpc().and_then(|v| v.vpc_id()).unwrap().to_string();
    let on = AttributeBooleanValue::builder().value(dns).build();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_support(on.clone()).send().await.unwrap();
    ec2.modify_vpc_attribute().vpc_id(&vpc).enable_dns_hostnames(on).send().await.unwrap();
    let mut subnets = Vec::new();
    for (cidr, az) in [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b"), ("10.0.3.0/24", "us-east-1a")] {
        let out = ec2.create_subnet().vpc_id(&vpc).cidr_block(cidr).availability_zone(az).send().await.unwrap();
        subnets.push(out.subnet().and_then(|s| s.subnet_id()).unwrap().to_string());
    }
    Net { vpc, subnet_a: subnets[0].clone(), subnet_b: subnets[1].clone(), subnet_a2: subnets[2].clone() }
}

fn interface(
    ec2: &aws_sdk_ec2::Client,
    net: &Net,
    service: &str,
) -> aws_sdk_ec2::operation::create_vpc_endpoint::builders::CreateVpcEndpointFluentBuilder {
    ec2.create_vpc_endpoint()
        .vpc_id(&net.vpc)
        .service_name(service)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .subnet_ids(&net.subnet_a)
        .subnet_ids(&net.subnet_b)
        .private_dns_enabled(true)
}

/// moto makes an S3 Interface endpoint with private DNS in a VPC without an
/// S3 Gateway endpoint; AWS refuses it unless the request turns
/// PrivateDnsOnlyForInboundResolverEndpoint off (terraform-provider-aws
/// #32407, #33689). Accepted, the endpoint reads `pending` for a while and
/// refuses changes meanwhile; a second private-DNS endpoint for S3 in the
/// VPC conflicts.
#[tokio::test]
async fn an_s3_interface_endpoint_needs_inbound_only_off_without_a_gateway() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let net = network(ec2, true).await;

    let (code, message) = refusal(interface(ec2, &net, S3).send().await);
    assert_eq!(code, "InvalidParameter");
    assert_eq!(
        message,
        format!(
            "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC {} must have a Gateway endpoint for the service.",
            net.vpc
        )
    );

    let inbound_off = DnsOptionsSpecification::builder().private_dns_only_for_inbound_resolver_endpoint(false).build();
    let out = interface(ec2, &net, S3).dns_options(inbound_off.clone()).send().await.expect("accepted with inbound-only off");
    let endpoint = out.vpc_endpoint().unwrap();
    let id = endpoint.vpc_endpoint_id().unwrap().to_string();
    assert_eq!(endpoint.state().map(|s| s.as_str()), Some("pending"), "a new Interface endpoint is pending");

    let described = ec2.describe_vpc_endpoints().vpc_endpoint_ids(&id).send().await.unwrap();
    assert_eq!(described.vpc_endpoints()[0].state().map(|s| s.as_str()), Some("pending"));
    let (code, _) = refusal(ec2.modify_vpc_endpoint().vpc_endpoint_id(&id).reset_policy(true).send().await);
    assert_eq!(code, "IncorrectState", "no changes while pending");

    let (code, message) = refusal(interface(ec2, &net, S3).dns_options(inbound_off).send().await);
    assert_eq!(code, "InvalidParameter");
    assert!(message.contains("conflicting DNS domain for s3.us-east-1.amazonaws.com"), "{message}");

    tokio::time::sleep(bed.proxy.rules().unwrap().durations.endpoint_pending).await;
    let described = ec2.describe_vpc_endpoints().vpc_endpoint_ids(&id).send().await.unwrap();
    assert_eq!(described.vpc_endpoints()[0].state().map(|s| s.as_str()), Some("available"));
    let (code, _) = refusal(ec2.modify_vpc_endpoint().vpc_endpoint_id(&id).add_subnet_ids(&net.subnet_a2).send().await);
    assert_eq!(code, "DuplicateSubnetsInSameZone", "a second subnet in us-east-1a");
    ec2.modify_vpc_endpoint().vpc_endpoint_id(&id).reset_policy(true).send().await.expect("available: modifiable");
}

/// moto accepts private DNS in a VPC whose DNS hostnames are off (moto's
/// default for a new VPC, as AWS's), and two endpoint subnets in one zone.
#[tokio::test]
async fn private_dns_needs_vpc_dns_and_subnets_need_distinct_zones() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let off = network(ec2, false).await;
    let (code, message) = refusal(interface(ec2, &off, SQS).send().await);
    assert_eq!(code, "InvalidParameter");
    assert!(message.contains("enableDnsSupport and enableDnsHostnames"), "{message}");
    interface(ec2, &off, SQS).private_dns_enabled(false).send().await.expect("no private DNS, no DNS attributes needed");

    let on = network(ec2, true).await;
    let same_zone = ec2
        .create_vpc_endpoint()
        .vpc_id(&on.vpc)
        .service_name(SQS)
        .vpc_endpoint_type(VpcEndpointType::Interface)
        .subnet_ids(&on.subnet_a)
        .subnet_ids(&on.subnet_a2)
        .send()
        .await;
    assert_eq!(refusal(same_zone).0, "DuplicateSubnetsInSameZone");
}

/// moto deletes a group another group's rule references; AWS answers
/// DependencyViolation until the rule is revoked. Also: right after
/// CreateSecurityGroup the new id may not be found yet.
#[tokio::test]
async fn a_referenced_group_cannot_be_deleted() {
    let bed = bed().await;
    let ec2 = &bed.aws.ec2;
    let net = network(ec2, true).await;
    let group = |name: &'static str| {
        let vpc = net.vpc.clone();
        async move {
            let out = ec2.create_security_group().vpc_id(vpc).group_name(name).description(name).send().await.unwrap();
            out.group_id().unwrap().to_string()
        }
    };
    let app = group("app").await;
    let endpoints = group("endpoints").await;
    let rule = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&app).build())
        .build();
    let authorize = || ec2.authorize_security_group_ingress().group_id(&endpoints).ip_permissions(rule.clone()).send();
    let first = authorize().await;
    assert_eq!(refusal(first).0, "InvalidGroup.NotFound", "a group just created is not found yet");
    once_settled!("InvalidGroup.NotFound", authorize()).expect("found once settled");

    let (code, message) = refusal(ec2.delete_security_group().group_id(&app).send().await);
    assert_eq!((code.as_str(), message), ("DependencyViolation", format!("resource {app} has a dependent object")));
    ec2.revoke_security_group_ingress().group_id(&endpoints).ip_permissions(rule.clone()).send().await.unwrap();
    ec2.delete_security_group().group_id(&app).send().await.expect("no reference left");
}

/// Lambda: a role just created cannot be assumed yet; a function just
/// created reads Pending and refuses updates meanwhile; moto has it Active
/// at once.
#[tokio::test]
async fn a_new_function_is_pending_and_its_role_must_have_propagated() {
    let bed = bed().await;
    let (iam, lambda) = (&bed.aws.iam, &bed.aws.lambda);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam.create_role().role_name("fresh").assume_role_policy_document(trust).send().await.unwrap();
    let role = role.role().unwrap().arn().to_string();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.py"), "def handler(event, context):\n    return 1\n").unwrap();
    let code = privatelink::parts::code::from_dir(src.path()).unwrap();
    let create = || {
        lambda
            .create_function()
            .function_name("fn")
            .role(&role)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .handler("index.handler")
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_smithy_types::Blob::new(code.zip.clone())).build())
            .send()
    };
    let (code_, message) = refusal(create().await);
    assert_eq!(
        (code_.as_str(), message.as_str()),
        ("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
    );
    let created = once_settled!("InvalidParameterValueException", create()).expect("created once the role propagated");
    assert_eq!(created.state().map(|s| s.as_str()), Some("Pending"));

    let read = lambda.get_function().function_name("fn").send().await.unwrap();
    assert_eq!(read.configuration().and_then(|c| c.state()).map(|s| s.as_str()), Some("Pending"));
    let update = || lambda.update_function_configuration().function_name("fn").timeout(9).send();
    let (code_, message) = refusal(update().await);
    assert_eq!(code_, "ResourceConflictException");
    assert!(message.contains("Pending"), "{message}");

    let updated = once_settled!("ResourceConflictException", update()).expect("updates once Active");
    assert_eq!(updated.last_update_status().map(|s| s.as_str()), Some("InProgress"));
    let (code_, message) = refusal(update().await);
    assert_eq!(code_, "ResourceConflictException");
    assert!(message.contains("An update is in progress"), "{message}");
    once_settled!("ResourceConflictException", update()).expect("updates once the last one is done");
    let config = lambda.get_function_configuration().function_name("fn").send().await.unwrap();
    assert_eq!(config.state().map(|s| s.as_str()), Some("Active"));
}

/// SQS: a queue name cannot be made again for 60 s after its delete (2 s in
/// CI); moto makes it at once.
#[tokio::test]
async fn a_queue_name_deleted_recently_is_refused() {
    let bed = bed().await;
    let sqs = &bed.aws.sqs;
    let url = sqs.create_queue().queue_name("jobs").send().await.unwrap().queue_url().unwrap().to_string();
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    let again = sqs.create_queue().queue_name("jobs").send().await;
    let e = again.expect_err("deleted recently");
    assert!(e.as_service_error().is_some_and(|s| s.is_queue_deleted_recently()), "{e:?}");
    tokio::time::sleep(bed.proxy.rules().unwrap().durations.queue_deleted_recently).await;
    sqs.create_queue().queue_name("jobs").send().await.expect("created after the wait");
}

/// An SQS mapping needs the role's new policy to have propagated, and then
/// is Creating (and Updating after an update) for a while, refusing
/// changes meanwhile; moto has it Enabled at once.
#[tokio::test]
async fn a_new_mapping_waits_for_its_role_policy_and_is_creating_for_a_while() {
    let bed = bed().await;
    let (iam, lambda, sqs) = (&bed.aws.iam, &bed.aws.lambda, &bed.aws.sqs);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam.create_role().role_name("consumer").assume_role_policy_document(trust).send().await.unwrap();
    let role = role.role().unwrap().arn().to_string();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("index.py"), "def handler(event, context):\n    return 1\n").unwrap();
    let code = privatelink::parts::code::from_dir(src.path()).unwrap();
    let create = || {
        lambda
            .create_function()
            .function_name("consumer")
            .role(&role)
            .runtime(aws_sdk_lambda::types::Runtime::Python312)
            .handler("index.handler")
            .code(aws_sdk_lambda::types::FunctionCode::builder().zip_file(aws_smithy_types::Blob::new(code.zip.clone())).build())
            .send()
    };
    once_settled!("InvalidParameterValueException", create()).expect("the function");
    let queue = sqs.create_queue().queue_name("orders").send().await.unwrap().queue_url().unwrap().to_string();
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
        .unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage","sqs:GetQueueAttributes"],"Resource":"{arn}"}}]}}"#
    );
    iam.put_role_policy().role_name("consumer").policy_name("read").policy_document(policy).send().await.unwrap();

    let map = || lambda.create_event_source_mapping().function_name("consumer").event_source_arn(&arn).batch_size(10).send();
    let (code_, message) = refusal(map().await);
    assert_eq!(code_, "InvalidParameterValueException");
    assert_eq!(message, "The provided execution role does not have permissions to call ReceiveMessage on SQS");
    let mapping = once_settled!("InvalidParameterValueException", map()).expect("mapped once the policy propagated");
    assert_eq!(mapping.state(), Some("Creating"));
    let uuid = mapping.uuid().unwrap().to_string();
    let read = lambda.get_event_source_mapping().uuid(&uuid).send().await.unwrap();
    assert_eq!(read.state(), Some("Creating"));

    let update = || lambda.update_event_source_mapping().uuid(&uuid).batch_size(5).send();
    assert_eq!(refusal(update().await).0, "ResourceInUseException");
    let updated = once_settled!("ResourceInUseException", update()).expect("updated once created");
    assert_eq!(updated.state(), Some("Updating"));
    let delete = || lambda.delete_event_source_mapping().uuid(&uuid).send();
    assert_eq!(refusal(delete().await).0, "ResourceInUseException");
    once_settled!("ResourceInUseException", delete()).expect("deleted once updated");
}
