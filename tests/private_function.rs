//! privatelink_private_function over gRPC against moto behind the AWS
//! rules: a function `reader` in the private subnets and, per `access`
//! block, an endpoint (Interface behind the composite's one endpoints'
//! group, Gateway on the subnets' route tables, or a reused one) and a role
//! statement with exactly its actions on its resources. Each test checks
//! what AWS holds afterwards: the groups' exact rules, the endpoints, the
//! role's statements, the log group; then drift repaired, import, destroy
//! with nothing left, and the refusals at validate and plan.

use std::collections::{BTreeMap, BTreeSet};

use crate::common;

use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};
use common::census::Census;
use common::driver::{canon, errors, is_unknown, path_of, show};
use common::private_function::{
    access, allow, base_statements, bundle_config, bundle_endpoint, ec2_tags, endpoint_policy, https, list_of, log_group, map_of, rules,
    same_policy, set_of, statements, str_of, strings, Bed, Statement, ACCOUNT, BUNDLE_TYPE, NAME, OWNER,
};
use common::{field, obj, s};
use rmpv::Value as V;

const BUCKET: &str = "arn:aws:s3:::app-data";
const OBJECTS: &str = "arn:aws:s3:::app-data/*";
const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
const S3: &str = "com.amazonaws.us-east-1.s3";
const INBOUND_ONLY_PARAM: &str = "DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint";

/// A parameter of an EC2 query request body.
fn param<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('='))
}

/// The object carries the composite's ownership, its part's name, the
/// provider's default tag and (given) the configuration's `app` tag.
fn assert_owned(what: &str, tags: &BTreeMap<String, String>, part: &str, app: Option<&str>) {
    assert_eq!(tags.get("privatelink:owner").map(String::as_str), Some(OWNER), "{what}: {tags:?}");
    assert_eq!(tags.get("privatelink:part").map(String::as_str), Some(part), "{what}: {tags:?}");
    assert_eq!(tags.get("team").map(String::as_str), Some("data"), "{what}: the provider's default tags: {tags:?}");
    if let Some(app) = app {
        assert_eq!(tags.get("app").map(String::as_str), Some(app), "{what}: the resource's tags: {tags:?}");
    }
}

/// A number attribute, however msgpack carries it.
fn number(v: &V, k: &str) -> Option<i64> {
    field(v, k).as_i64().or_else(|| field(v, k).as_f64().map(|f| f as i64))
}

/// `state` with its access blocks sorted by service: what they mean,
/// whatever their order.
fn by_service(state: &V) -> V {
    let mut blocks = access_blocks(state).to_vec();
    blocks.sort_by(|a, b| str_of(a, "service").cmp(str_of(b, "service")));
    match state {
        V::Map(fields) => V::Map(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), if k.as_str() == Some("access") { V::Array(blocks.clone()) } else { v.clone() }))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The access blocks in a state.
fn access_blocks(state: &V) -> &[V] {
    field(state, "access").as_array().map(Vec::as_slice).unwrap_or_default()
}

fn group_ids(e: &aws_sdk_ec2::types::VpcEndpoint) -> Vec<String> {
    e.groups().iter().filter_map(|g| g.group_id().map(str::to_string)).collect()
}

/// The role's statements: exactly the base ones and `accesses`, one
/// statement each, an access's Sid `Access...` (and `s3`'s `AccessS3`).
async fn assert_role_allows_exactly(b: &Bed, accesses: &[Statement]) {
    assert_eq!(b.role_policy_names().await, ["function"], "one inline policy, `function`");
    let doc = b.role_policy().await;
    let (got, with_sids) = statements(&doc);
    let wanted: BTreeSet<Statement> = base_statements().into_iter().chain(accesses.iter().cloned()).collect();
    assert_eq!(got, wanted, "{doc}");
    assert_eq!(with_sids.len(), wanted.len(), "one statement each: {doc}");
    let sids: Vec<&str> = with_sids.iter().filter(|(_, st)| accesses.contains(st)).filter_map(|(sid, _)| sid.as_deref()).collect();
    assert_eq!(sids.len(), accesses.len(), "every access statement has a Sid: {doc}");
    assert!(sids.iter().all(|s| s.starts_with("Access")), "{sids:?}");
    assert_eq!(sids.iter().collect::<BTreeSet<_>>().len(), sids.len(), "distinct Sids: {sids:?}");
}

/// An S3 Interface endpoint of its own, in a VPC with no S3 Gateway
/// endpoint: the function's group reaches the endpoints' group only (443),
/// which admits the function's group only (443) and sends nothing; the
/// endpoint is in the subnets with private DNS, asked for inside the VPC
/// (PrivateDnsOnlyForInboundResolverEndpoint=false), its policy exactly the
/// access; the role has the log, network interface and S3 statements; the
/// log group keeps 30 days; every object carries the owner and part tags;
/// then a refresh and the same configuration change nothing.
#[tokio::test]
async fn an_s3_interface_endpoint_is_made_behind_groups_admitting_only_the_function() {
    let mut b = Bed::start().await;
    b.moto.rules().keep_request_bodies();
    let actions = ["s3:GetObject", "s3:ListBucket"];
    let config =
        b.config(vec![access("s3", &actions, &[BUCKET, OBJECTS], vec![])], vec![], vec![("tags", obj(vec![("app", s("reports"))]))]);
    let (planned, replace) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert!(is_unknown(field(&planned, "function_arn")), "made at apply");
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));

    assert_eq!(str_of(&state, "id"), NAME);
    assert_eq!(str_of(&state, "function_arn"), format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{NAME}"));
    assert_eq!(str_of(&state, "role_arn"), format!("arn:aws:iam::{ACCOUNT}:role/{NAME}"));
    let fg = str_of(&state, "security_group_id").to_string();
    let eg = str_of(&state, "endpoint_security_group_id").to_string();
    let endpoints = map_of(field(&state, "endpoints"));
    assert_eq!(endpoints.keys().collect::<Vec<_>>(), ["s3"], "by service as written");
    let vpce = endpoints["s3"].clone();
    assert!(vpce.starts_with("vpce-"), "{vpce}");
    assert_eq!(list_of(field(&state, "rule_drift")), Vec::<String>::new());
    assert_eq!(str_of(&access_blocks(&state)[0], "endpoint_type"), "Interface", "the default");
    assert_eq!(
        map_of(field(&state, "tags_all")),
        BTreeMap::from([("app".to_string(), "reports".to_string()), ("team".to_string(), "data".to_string())])
    );

    // The function: in the subnets with its group only, running as its role.
    let got = b.aws.lambda.get_function().function_name(NAME).send().await.unwrap();
    let cfg = got.configuration().unwrap();
    assert_eq!(cfg.role(), Some(str_of(&state, "role_arn")));
    let vpc = cfg.vpc_config().expect("the function is in the VPC");
    assert_eq!(set_of(vpc.subnet_ids()), set_of(&b.net.subnets));
    assert_eq!(vpc.security_group_ids(), std::slice::from_ref(&fg));

    // The groups: each the other's only peer, on 443, one way.
    let function_group = b.group(&fg).await;
    assert_eq!(function_group.group_name(), Some("reader-function"));
    assert_eq!(function_group.vpc_id(), Some(b.net.vpc.as_str()));
    assert_eq!(rules(function_group.ip_permissions()), BTreeSet::new(), "no ingress");
    assert_eq!(rules(function_group.ip_permissions_egress()), set_of(&[https(&eg)]), "443 to the endpoints only: no default egress left");
    let endpoint_group = b.group(&eg).await;
    assert_eq!(endpoint_group.group_name(), Some("reader-endpoints"));
    assert_eq!(rules(endpoint_group.ip_permissions()), set_of(&[https(&fg)]), "443 from the function only");
    assert_eq!(rules(endpoint_group.ip_permissions_egress()), BTreeSet::new(), "the endpoints send nothing");

    // The endpoint: Interface, in the subnets, behind the group, private DNS, exactly the access.
    let e = b.endpoint(&vpce).await;
    assert_eq!(e.vpc_endpoint_type().map(|t| t.as_str()), Some("Interface"));
    assert_eq!(e.service_name(), Some(S3));
    assert_eq!(e.vpc_id(), Some(b.net.vpc.as_str()));
    assert_eq!(set_of(e.subnet_ids()), set_of(&b.net.subnets));
    assert_eq!(group_ids(&e), std::slice::from_ref(&eg));
    assert_eq!(e.private_dns_enabled(), Some(true));
    assert!(same_policy(e.policy_document(), &endpoint_policy(&actions, &[BUCKET, OBJECTS])), "{:?}", e.policy_document());
    let creates = b.moto.rules().sent("ec2:CreateVpcEndpoint");
    assert_eq!(creates.len(), 1, "{creates:?}");
    assert_eq!(param(&creates[0], INBOUND_ONLY_PARAM), Some("false"), "private DNS inside the VPC: {}", creates[0]);
    assert_eq!(b.live_endpoints().await.keys().collect::<Vec<_>>(), [&vpce]);

    // The role: its logs, its network interfaces, exactly the access.
    assert_role_allows_exactly(&b, &[allow(&actions, &[BUCKET, OBJECTS])]).await;
    let (_, with_sids) = statements(&b.role_policy().await);
    assert!(with_sids.iter().any(|(sid, st)| sid.as_deref() == Some("AccessS3") && st.actions == set_of(&actions)), "{with_sids:?}");
    let role = b.aws.iam.get_role().role_name(NAME).send().await.unwrap();
    let trust = privatelink::parts::role::decode_policy_document(role.role().unwrap().assume_role_policy_document().unwrap_or_default());
    assert!(privatelink::policy::equivalent(&trust, &privatelink::policy::lambda_trust()), "only Lambda may assume it: {trust}");

    // The log group: made, 30 days.
    let logs = b.log_group().await.expect("the function's log group");
    assert_eq!(logs.retention_in_days(), Some(30));

    // Ownership on every object.
    assert_owned("function", &b.function_tags(str_of(&state, "function_arn")).await, "function", Some("reports"));
    assert_owned("role", &b.role_tags().await, "role", Some("reports"));
    assert_owned("log group", &b.log_group_tags().await, "log-group", Some("reports"));
    assert_owned("function group", &ec2_tags(function_group.tags()), "function-group", Some("reports"));
    assert_owned("endpoint group", &ec2_tags(endpoint_group.tags()), "endpoint-group", Some("reports"));
    assert_owned("endpoint", &ec2_tags(e.tags()), "endpoint-s3", Some("reports"));

    b.converged(&state, &config).await;
}

/// An S3 Gateway endpoint of its own: on the route tables of the subnets
/// (the one they are associated with, and the VPC's main table for a subnet
/// with none); the function's group sends 443 to S3's prefix list only; no
/// endpoints' group is made.
#[tokio::test]
async fn an_s3_gateway_endpoint_is_on_the_subnets_route_tables_and_the_function_reaches_its_prefix_list() {
    let mut b = Bed::start().await;
    // A subnet with no route table association: it follows the main table.
    let loose =
        b.aws.ec2.create_subnet().vpc_id(&b.net.vpc).cidr_block("10.0.3.0/24").availability_zone("us-east-1c").send().await.unwrap();
    let loose = loose.subnet().unwrap().subnet_id().unwrap().to_string();
    let subnets = vec![b.net.subnets[0].clone(), loose];
    let main = b.main_route_table().await;
    assert!(!b.net.route_tables.contains(&main), "network.py's table is not the main one");

    let gateway = vec![("endpoint_type", s("Gateway"))];
    let config = b.config_in(&subnets, vec![access("s3", &["s3:GetObject"], &[OBJECTS], gateway)], vec![], vec![]);
    let state = b.plan_apply(&V::Nil, &config).await;
    assert_eq!(field(&state, "endpoint_security_group_id"), &V::Nil, "no Interface endpoint, no endpoints' group");
    assert!(b.groups_named("reader-endpoints").await.is_empty(), "no endpoints' group in AWS either");
    let fg = str_of(&state, "security_group_id").to_string();
    let endpoints = map_of(field(&state, "endpoints"));
    assert_eq!(endpoints.keys().collect::<Vec<_>>(), ["s3"]);
    let vpce = endpoints["s3"].clone();

    let pl = b.prefix_list("s3").await;
    assert!(pl.starts_with("pl-"), "{pl}");
    let g = b.group(&fg).await;
    assert_eq!(rules(g.ip_permissions()), BTreeSet::new(), "no ingress");
    assert_eq!(rules(g.ip_permissions_egress()), set_of(&[https(&pl)]), "443 to S3's prefix list only");

    let e = b.endpoint(&vpce).await;
    assert_eq!(e.vpc_endpoint_type().map(|t| t.as_str()), Some("Gateway"));
    assert_eq!(e.service_name(), Some(S3));
    assert_eq!(set_of(e.route_table_ids()), set_of(&[b.net.route_tables[0].as_str(), main.as_str()]), "the subnets' tables");
    assert!(e.subnet_ids().is_empty() && group_ids(&e).is_empty());
    assert!(same_policy(e.policy_document(), &endpoint_policy(&["s3:GetObject"], &[OBJECTS])), "{:?}", e.policy_document());
    assert_owned("endpoint", &ec2_tags(e.tags()), "endpoint-s3", None);
    assert_eq!(b.live_endpoints().await.keys().collect::<Vec<_>>(), [&vpce]);

    let f = b.aws.lambda.get_function_configuration().function_name(NAME).send().await.unwrap();
    assert_eq!(set_of(f.vpc_config().unwrap().subnet_ids()), set_of(&subnets));
    assert_role_allows_exactly(&b, &[allow(&["s3:GetObject"], &[OBJECTS])]).await;

    b.converged(&state, &config).await;
}

/// Endpoints of a privatelink_service_endpoint_bundle: an own endpoint of
/// their services is refused at plan naming the bundle's and endpoint_id;
/// an endpoint_id that does not exist, is another service's or is in
/// another VPC is refused at plan. The bundle's S3 Gateway reused: the
/// function's group reaches S3's prefix list, no endpoint is made. Its SQS
/// endpoint added once the function's group exists: refused at plan while
/// the bundle's group does not admit the function's, naming it; admitted,
/// the function's group reaches the bundle's group. Destroyed
/// after the bundle stops admitting it (as Terraform orders it), the
/// function leaves the bundle's endpoints.
#[tokio::test]
async fn a_bundles_endpoints_are_reused_once_they_admit_the_function() {
    let mut b = Bed::start().await;
    let mut bundle = b.driver(BUNDLE_TYPE);
    let app = b.net.app_group.clone();
    let bundle_endpoints = || vec![bundle_endpoint("sqs", "Interface"), bundle_endpoint("s3", "Gateway")];
    let core = bundle.converge(&V::Nil, &bundle_config(&b, &[&app], bundle_endpoints())).await;
    let bundle_group = str_of(&core, "security_group_id").to_string();
    let bundle_endpoint_id = |service: &str| -> String {
        let blocks = field(&core, "endpoint").as_array().unwrap();
        str_of(blocks.iter().find(|e| field(e, "service").as_str() == Some(service)).unwrap(), "id").to_string()
    };
    let (sqs_id, s3_id) = (bundle_endpoint_id("sqs"), bundle_endpoint_id("s3"));
    let send = |extra: Vec<(&str, V)>| access("sqs", &["sqs:SendMessage"], &[QUEUE], extra);
    let read = |extra: Vec<(&str, V)>| {
        let mut e = vec![("endpoint_type", s("Gateway"))];
        e.extend(extra);
        access("s3", &["s3:GetObject"], &[OBJECTS], e)
    };

    // Endpoints of its own for services the VPC has already: refused, naming the endpoint to reuse.
    let own = b.config(vec![send(vec![]), read(vec![])], vec![], vec![]);
    let d = b.tf.plan(&V::Nil, &own).await.unwrap_err();
    for (i, id) in [(0, &sqs_id), (1, &s3_id)] {
        let e =
            errors(&d).into_iter().find(|e| e.detail.contains(id.as_str())).unwrap_or_else(|| panic!("no error names {id}: {}", show(&d)));
        assert!(path_of(e).starts_with(&format!("access[{i}]")), "{}", show(&d));
        assert!(e.detail.contains("endpoint_id"), "suggests endpoint_id: {}", e.detail);
    }
    assert!(b.groups_named("reader-function").await.is_empty(), "nothing made");

    // endpoint_ids that cannot be used: refused at the attribute.
    let elsewhere = b.aws.ec2.create_vpc().cidr_block("10.1.0.0/16").send().await.unwrap();
    let elsewhere = elsewhere.vpc().unwrap().vpc_id().unwrap().to_string();
    let far_subnet =
        b.aws.ec2.create_subnet().vpc_id(&elsewhere).cidr_block("10.1.1.0/24").availability_zone("us-east-1a").send().await.unwrap();
    let far_subnet = far_subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let far = b
        .aws
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&elsewhere)
        .service_name("com.amazonaws.us-east-1.sqs")
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .subnet_ids(&far_subnet)
        .private_dns_enabled(false)
        .send()
        .await
        .unwrap();
    let far = far.vpc_endpoint().unwrap().vpc_endpoint_id().unwrap().to_string();
    let missing = "vpce-0123456789abcdef0".to_string();
    for (id, why, mentions) in [
        (&missing, "does not exist", vec![missing.as_str()]),
        (&s3_id, "is another service's", vec![s3_id.as_str()]),
        (&far, "is in another VPC", vec![far.as_str(), elsewhere.as_str()]),
    ] {
        let config = b.config(vec![send(vec![("endpoint_id", s(id))])], vec![], vec![]);
        let d = b.tf.plan(&V::Nil, &config).await.err().unwrap_or_else(|| panic!("an endpoint that {why} is not refused"));
        let e = errors(&d)
            .into_iter()
            .find(|e| path_of(e) == "access[0].endpoint_id")
            .unwrap_or_else(|| panic!("{why}: no error at access[0].endpoint_id: {}", show(&d)));
        let said = format!("{} {}", e.summary, e.detail);
        assert!(mentions.iter().all(|m| said.contains(m)), "{why}: should name {mentions:?}: {said}");
    }

    // The S3 Gateway reused: no endpoint and no endpoints' group made; egress to S3's prefix list.
    let reuse_s3 = b.config(vec![read(vec![("endpoint_id", s(&s3_id))])], vec![], vec![]);
    let state = b.plan_apply(&V::Nil, &reuse_s3).await;
    let fg = str_of(&state, "security_group_id").to_string();
    assert_eq!(field(&state, "endpoint_security_group_id"), &V::Nil);
    assert!(b.groups_named("reader-endpoints").await.is_empty());
    assert_eq!(map_of(field(&state, "endpoints")), BTreeMap::from([("s3".to_string(), s3_id.clone())]));
    let pl = b.prefix_list("s3").await;
    assert_eq!(rules(b.group(&fg).await.ip_permissions_egress()), set_of(&[https(&pl)]));
    let state = b.converged(&state, &reuse_s3).await;

    // The bundle's SQS endpoint added, its group not admitting the function's (which exists now):
    // refused at plan, naming the group to admit.
    let reuse = b.config(vec![read(vec![("endpoint_id", s(&s3_id))]), send(vec![("endpoint_id", s(&sqs_id))])], vec![], vec![]);
    let d = match b.tf.plan_with_identity(&state, None, &reuse).await {
        Err(d) => d,
        Ok(p) => panic!("a bundle group not admitting {fg} is not refused; the plan said only:\n{}", show(&p.diagnostics)),
    };
    let e = errors(&d).into_iter().find(|e| e.detail.contains(&fg)).unwrap_or_else(|| panic!("no error names {fg}: {}", show(&d)));
    assert_eq!(path_of(e), "access[1].endpoint_id", "{}", show(&d));
    assert!(e.detail.contains(&bundle_group) || e.detail.contains(&sqs_id), "names the endpoint or its group: {}", e.detail);
    assert_eq!(rules(b.group(&fg).await.ip_permissions_egress()), set_of(&[https(&pl)]), "no AWS change");

    // The bundle admits it: the update reaches the bundle's group; no endpoint made.
    let core = bundle.read(&core).await;
    let core = bundle.converge(&core, &bundle_config(&b, &[&app, &fg], bundle_endpoints())).await;
    assert_eq!(rules(b.group(&bundle_group).await.ip_permissions()), set_of(&[https(&app), https(&fg)]));
    let state = b.plan_apply(&state, &reuse).await;
    assert_eq!(str_of(&state, "security_group_id"), fg);
    assert_eq!(field(&state, "endpoint_security_group_id"), &V::Nil);
    assert!(b.groups_named("reader-endpoints").await.is_empty());
    assert_eq!(
        map_of(field(&state, "endpoints")),
        BTreeMap::from([("sqs".to_string(), sqs_id.clone()), ("s3".to_string(), s3_id.clone())])
    );
    assert_eq!(b.live_endpoints().await.keys().cloned().collect::<BTreeSet<_>>(), set_of(&[&sqs_id, &s3_id]), "no endpoint made");
    let g = b.group(&fg).await;
    assert_eq!(rules(g.ip_permissions_egress()), set_of(&[https(&bundle_group), https(&pl)]));
    assert_eq!(rules(g.ip_permissions()), BTreeSet::new());
    assert_role_allows_exactly(&b, &[allow(&["sqs:SendMessage"], &[QUEUE]), allow(&["s3:GetObject"], &[OBJECTS])]).await;
    let state = b.converged(&state, &reuse).await;

    // Destroy: first the bundle stops admitting the group, then the function goes; the bundle's endpoints stay.
    let core = bundle.read(&core).await;
    let core = bundle.converge(&core, &bundle_config(&b, &[&app], bundle_endpoints())).await;
    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    let live = b.live_endpoints().await;
    assert_eq!(live.keys().cloned().collect::<BTreeSet<_>>(), set_of(&[&sqs_id, &s3_id]), "reused endpoints are not the function's");
    assert!(live.values().all(|e| e.state().map(|s| s.as_str()) == Some("available")));
    assert!(b.groups_named("reader-function").await.is_empty());
    assert!(b.aws.lambda.get_function().function_name(NAME).send().await.is_err());
    assert_eq!(rules(b.group(&bundle_group).await.ip_permissions()), set_of(&[https(&app)]), "the bundle's group untouched");
    let (gone, diags) = bundle.destroy(&core).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}

/// Three services at once, one in full name: the Interface endpoints (sqs,
/// s3) share the one endpoints' group, whose one rule admits the function;
/// the function sends to that group and to DynamoDB's prefix list (its
/// Gateway endpoint, with the policy given); one role statement per
/// access; `endpoints` by service as written. An access removed: its
/// endpoint, egress and statement go.
#[tokio::test]
async fn several_services_share_one_endpoint_group_and_each_has_its_statement() {
    let mut b = Bed::start().await;
    let table_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "dynamodb:*", "Resource": TABLE}],
    })
    .to_string();
    let send = allow(&["sqs:SendMessage"], &[QUEUE]);
    let get = allow(&["s3:GetObject"], &[OBJECTS]);
    let items = allow(&["dynamodb:GetItem", "dynamodb:PutItem"], &[TABLE]);
    let all = vec![
        access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![]),
        access(S3, &["s3:GetObject"], &[OBJECTS], vec![]),
        access(
            "dynamodb",
            &["dynamodb:GetItem", "dynamodb:PutItem"],
            &[TABLE],
            vec![("endpoint_type", s("Gateway")), ("policy", s(&table_policy))],
        ),
    ];
    let config = b.config(all.clone(), vec![], vec![]);
    let state = b.plan_apply(&V::Nil, &config).await;
    let fg = str_of(&state, "security_group_id").to_string();
    let eg = str_of(&state, "endpoint_security_group_id").to_string();
    let endpoints = map_of(field(&state, "endpoints"));
    assert_eq!(endpoints.keys().cloned().collect::<BTreeSet<_>>(), set_of(&["sqs", S3, "dynamodb"]), "by service as written");
    let live = b.live_endpoints().await;
    assert_eq!(live.keys().cloned().collect::<BTreeSet<_>>(), endpoints.values().cloned().collect::<BTreeSet<_>>(), "three endpoints");

    // One group for both Interface endpoints, with one rule.
    assert_eq!(rules(b.group(&eg).await.ip_permissions()), set_of(&[https(&fg)]));
    assert_eq!(rules(b.group(&eg).await.ip_permissions_egress()), BTreeSet::new());
    let pl = b.prefix_list("dynamodb").await;
    let g = b.group(&fg).await;
    assert_eq!(rules(g.ip_permissions_egress()), set_of(&[https(&eg), https(&pl)]));
    assert_eq!(rules(g.ip_permissions()), BTreeSet::new());
    for (service, part, actions, resources) in
        [("sqs", "endpoint-sqs", ["sqs:SendMessage"], [QUEUE]), (S3, "endpoint-s3", ["s3:GetObject"], [OBJECTS])]
    {
        let e = &live[&endpoints[service]];
        assert_eq!(e.vpc_endpoint_type().map(|t| t.as_str()), Some("Interface"), "{service}");
        assert_eq!(group_ids(e), std::slice::from_ref(&eg), "{service}");
        assert_eq!(set_of(e.subnet_ids()), set_of(&b.net.subnets), "{service}");
        assert!(same_policy(e.policy_document(), &endpoint_policy(&actions, &resources)), "{service}: {:?}", e.policy_document());
        assert_owned(service, &ec2_tags(e.tags()), part, None);
    }
    let table = &live[&endpoints["dynamodb"]];
    assert_eq!(table.vpc_endpoint_type().map(|t| t.as_str()), Some("Gateway"));
    assert_eq!(table.service_name(), Some("com.amazonaws.us-east-1.dynamodb"));
    assert_eq!(set_of(table.route_table_ids()), set_of(&b.net.route_tables));
    assert!(same_policy(table.policy_document(), &table_policy), "the policy given: {:?}", table.policy_document());
    assert_owned("dynamodb", &ec2_tags(table.tags()), "endpoint-dynamodb", None);
    assert_role_allows_exactly(&b, &[send.clone(), get.clone(), items]).await;
    let (_, with_sids) = statements(&b.role_policy().await);
    assert!(with_sids.iter().any(|(sid, st)| sid.as_deref() == Some("AccessS3") && *st == get), "{with_sids:?}");
    let refreshed = b.converged(&state, &config).await;

    // DynamoDB no longer called: its endpoint, egress and statement go; the rest stays.
    let fewer = b.config(all[..2].to_vec(), vec![], vec![]);
    let state = b.plan_apply(&refreshed, &fewer).await;
    assert_eq!(str_of(&state, "security_group_id"), fg);
    let now = map_of(field(&state, "endpoints"));
    assert_eq!(now.keys().cloned().collect::<BTreeSet<_>>(), set_of(&["sqs", S3]));
    assert_eq!((&now["sqs"], &now[S3]), (&endpoints["sqs"], &endpoints[S3]), "the others kept");
    assert_eq!(
        b.live_endpoints().await.keys().cloned().collect::<BTreeSet<_>>(),
        set_of(&[&endpoints["sqs"], &endpoints[S3]]),
        "the Gateway endpoint deleted"
    );
    assert_eq!(rules(b.group(&fg).await.ip_permissions_egress()), set_of(&[https(&eg)]));
    assert_role_allows_exactly(&b, &[send, get]).await;
    b.converged(&state, &fewer).await;
}

/// Rules changed by hand (SSH opened into the function, its egress to the
/// endpoints revoked) show in `rule_drift` at refresh, the next plan
/// repairs them and the apply puts the rules back exactly. The endpoint
/// deleted by hand is planned back and made again, behind the same group.
#[tokio::test]
async fn rules_changed_by_hand_and_a_deleted_endpoint_are_repaired() {
    let mut b = Bed::start().await;
    let config = b.config(vec![access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![])], vec![], vec![]);
    let state = b.plan_apply(&V::Nil, &config).await;
    let state = b.converged(&state, &config).await;
    let fg = str_of(&state, "security_group_id").to_string();
    let eg = str_of(&state, "endpoint_security_group_id").to_string();
    let vpce = map_of(field(&state, "endpoints"))["sqs"].clone();

    let ssh = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    b.aws.ec2.authorize_security_group_ingress().group_id(&fg).ip_permissions(ssh).send().await.unwrap();
    let to_endpoints = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(443)
        .to_port(443)
        .user_id_group_pairs(UserIdGroupPair::builder().group_id(&eg).build())
        .build();
    b.aws.ec2.revoke_security_group_egress().group_id(&fg).ip_permissions(to_endpoints).send().await.unwrap();
    let drifted = b.tf.read(&state).await;
    let drift = list_of(field(&drifted, "rule_drift"));
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert!(drift.iter().any(|d| d.contains("22") && d.contains("0.0.0.0/0")), "the rule added shows: {drift:?}");
    assert!(drift.iter().any(|d| d.contains("443") && d.contains(&eg)), "the rule revoked shows: {drift:?}");
    let (planned, replace) = b.tf.plan(&drifted, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(field(&planned, "rule_drift"), &V::Array(vec![]), "planned repair");
    let (repaired, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let g = b.group(&fg).await;
    assert_eq!(rules(g.ip_permissions()), BTreeSet::new(), "SSH closed");
    assert_eq!(rules(g.ip_permissions_egress()), set_of(&[https(&eg)]), "egress put back");
    let repaired = b.converged(&repaired, &config).await;
    assert_eq!(list_of(field(&repaired, "rule_drift")), Vec::<String>::new());

    // The endpoint deleted by hand: planned back, made again.
    b.aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&vpce).send().await.unwrap();
    let drifted = b.tf.read(&repaired).await;
    let (planned, replace) = b.tf.plan(&drifted, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_ne!(canon(&planned), canon(&drifted), "the missing endpoint is a change");
    let (state, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let again = map_of(field(&state, "endpoints"))["sqs"].clone();
    assert_ne!(again, vpce, "a new endpoint");
    let live = b.live_endpoints().await;
    assert_eq!(live.keys().collect::<Vec<_>>(), [&again]);
    assert_eq!(group_ids(&live[&again]), std::slice::from_ref(&eg));
    assert!(same_policy(live[&again].policy_document(), &endpoint_policy(&["sqs:SendMessage"], &[QUEUE])));
    assert_eq!(str_of(&state, "endpoint_security_group_id"), eg, "the same group");
    b.converged(&state, &config).await;
}

/// Import by name finds what apply made (ids, endpoints, tags, the
/// function's settings), and the configuration that made it plans no
/// change; a name with no function is refused naming it.
#[tokio::test]
async fn import_by_name_reads_a_state_that_plans_no_change() {
    let mut b = Bed::start().await;
    let config = b.config(
        vec![
            access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![]),
            access("s3", &["s3:GetObject"], &[OBJECTS], vec![("endpoint_type", s("Gateway"))]),
        ],
        vec![
            ("memory_size", V::from(256)),
            ("timeout", V::from(20)),
            ("log_retention_in_days", V::from(14)),
            ("environment", obj(vec![("MODE", s("import"))])),
        ],
        vec![("tags", obj(vec![("app", s("reports"))]))],
    );
    let state = b.plan_apply(&V::Nil, &config).await;
    let refreshed = b.converged(&state, &config).await;

    let imported = b.tf.import(NAME).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    for k in [
        "id",
        "name",
        "vpc_id",
        "subnet_ids",
        "function_arn",
        "role_arn",
        "security_group_id",
        "endpoint_security_group_id",
        "endpoints",
        "tags",
        "tags_all",
        "rule_drift",
    ] {
        assert_eq!(canon(field(&imported, k)), canon(field(&refreshed, k)), "{k} after import");
    }
    let f = field(&imported, "function");
    assert_eq!((number(f, "log_retention_in_days"), number(f, "memory_size"), number(f, "timeout")), (Some(14), Some(256), Some(20)));
    let (planned, replace) = b.tf.plan(&imported, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(canon(&by_service(&planned)), canon(&by_service(&imported)), "the imported function plans no change");
    // `access` is a list block: Terraform shows blocks in another order
    // than the configuration's as an update in place.
    let order = |v: &V| access_blocks(v).iter().map(|a| str_of(a, "service").to_string()).collect::<Vec<_>>();
    assert_eq!(order(&imported), order(&planned), "access blocks in the configuration's order (the role's statements keep it)");
    assert_eq!(canon(&planned), canon(&imported), "the imported function plans no change");

    let err = b.tf.import("nosuch").await.unwrap_err();
    assert!(show(&err).contains("nosuch"), "{}", show(&err));
}

/// The log group is made before the function and deleted after it; the
/// user's extra group joins the function. Destroy leaves nothing of the
/// composite (function, role, log group, groups, endpoints) and the
/// user's group untouched.
#[tokio::test]
async fn destroy_leaves_nothing_but_the_users_group() {
    let mut b = Bed::start().await;
    let app = b.net.app_group.clone();
    let config = b.config(
        vec![
            access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![]),
            access("s3", &["s3:GetObject"], &[OBJECTS], vec![("endpoint_type", s("Gateway"))]),
        ],
        vec![("security_group_ids", strings(&[&app]))],
        vec![],
    );
    let app_rules = (rules(b.group(&app).await.ip_permissions()), rules(b.group(&app).await.ip_permissions_egress()));
    b.moto.rules().reset_counts();
    let state = b.plan_apply(&V::Nil, &config).await;
    let at =
        |calls: &[String], call: &str| calls.iter().position(|c| c.starts_with(call)).unwrap_or_else(|| panic!("no {call}: {calls:?}"));
    let calls = b.moto.rules().calls();
    assert!(at(&calls, "logs:CreateLogGroup") < at(&calls, "lambda:POST /2015-03-31/functions"), "the log group first: {calls:?}");
    let fg = str_of(&state, "security_group_id").to_string();
    let f = b.aws.lambda.get_function_configuration().function_name(NAME).send().await.unwrap();
    assert_eq!(set_of(f.vpc_config().unwrap().security_group_ids()), set_of(&[&fg, &app]), "its group and the user's");
    let made = Census::take(&b.aws, &b.net.vpc).await;
    assert_eq!((made.functions.as_slice(), made.log_groups.as_slice()), ([NAME.to_string()].as_slice(), [log_group()].as_slice()));
    assert_eq!((made.endpoints.len(), made.groups.len()), (2, 2), "{made:?}");

    b.moto.rules().reset_counts();
    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    let calls = b.moto.rules().calls();
    assert!(
        at(&calls, &format!("lambda:DELETE /2015-03-31/functions/{NAME}")) < at(&calls, "logs:DeleteLogGroup"),
        "the log group after the function: {calls:?}"
    );
    assert_eq!(Census::take(&b.aws, &b.net.vpc).await.leftovers(), Census::default(), "left after destroy");
    assert!(b.aws.iam.get_role().role_name(NAME).send().await.is_err(), "the role is gone");
    assert!(b.log_group().await.is_none());
    assert!(b.groups_named("reader-function").await.is_empty() && b.groups_named("reader-endpoints").await.is_empty());
    let after = (rules(b.group(&app).await.ip_permissions()), rules(b.group(&app).await.ip_permissions_egress()));
    assert_eq!(after, app_rules, "the user's group is not the composite's");
}

/// Its identity is `{name, region}` (stored on apply, imported from), and
/// a destroy plan names the other clients its endpoints' group admits
/// (another function put in its group) but not its own function.
#[tokio::test]
async fn identity_and_the_destroy_plans_warning_about_other_clients() {
    let mut b = Bed::start().await;
    let config = b.config(vec![access("s3", &["s3:GetObject"], &[OBJECTS], vec![])], vec![], vec![]);
    let plan = b.tf.plan_with_identity(&V::Nil, None, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (state, identity, diags) = b.tf.apply_with_identity(&V::Nil, &plan.state, plan.identity.as_ref()).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let want = obj(vec![("name", s(NAME)), ("region", s("us-east-1"))]);
    assert_eq!(identity.as_ref().map(canon), Some(canon(&want)));
    let (by_identity, id) =
        b.tf.import_by_identity(&obj(vec![("name", s(NAME)), ("region", V::Nil)])).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (by_name, _) = b.tf.import_with_identity(NAME).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(canon(&by_identity), canon(&by_name), "import by identity is import by name");
    assert_eq!(id.as_ref().map(canon), Some(canon(&want)));

    let group = str_of(&state, "security_group_id").to_string();
    let other = common::clients::lambda_interface(&b.aws, &b.net.subnets[0], &group, "billing-worker").await;
    let own = common::clients::lambda_interface(&b.aws, &b.net.subnets[1], &group, NAME).await;
    let plan = b.tf.plan_destroy(&state, identity.as_ref()).await;
    assert!(errors(&plan.diagnostics).is_empty(), "{}", show(&plan.diagnostics));
    let warned = common::driver::warnings(&plan.diagnostics);
    assert_eq!(warned.len(), 1, "{}", show(&plan.diagnostics));
    assert!(warned[0].detail.contains("Lambda function billing-worker") && warned[0].detail.contains("s3"), "{}", warned[0].detail);
    let own_named = [".", ",", " "].iter().any(|end| warned[0].detail.contains(&format!("Lambda function {NAME}{end}")));
    assert!(!own_named, "its own function is no client: {}", warned[0].detail);
    for eni in [other, own] {
        b.aws.ec2.delete_network_interface().network_interface_id(eni).send().await.unwrap();
    }
    let plan = b.tf.plan_destroy(&state, identity.as_ref()).await;
    assert!(plan.diagnostics.is_empty(), "{}", show(&plan.diagnostics));
    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty() && gone == V::Nil, "{}", show(&diags));
}

/// Access blocks that cannot work are refused at validate, at the
/// attribute: an action of another service, a service twice (in two
/// spellings), a policy for a reused endpoint, a Gateway for a service with
/// none.
#[tokio::test]
async fn access_blocks_that_cannot_work_are_refused_at_validate() {
    let mut b = Bed::start().await;
    let get = || access("s3", &["s3:GetObject"], &[OBJECTS], vec![]);
    let fine = b.config(vec![get()], vec![], vec![]);
    let d = b.tf.validate(&fine).await;
    assert!(errors(&d).is_empty(), "{}", show(&d));

    let policy = endpoint_policy(&["sqs:SendMessage"], &[QUEUE]);
    let cases = [
        (
            "an action of another service",
            vec![access("s3", &["s3:GetObject", "sqs:SendMessage"], &[OBJECTS], vec![])],
            "access[0].actions",
            "sqs:SendMessage",
        ),
        ("a service twice", vec![get(), access(S3, &["s3:PutObject"], &[OBJECTS], vec![])], "access[1].service", "s3"),
        (
            "a policy with endpoint_id",
            vec![access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![("endpoint_id", s("vpce-0123456789abcdef0")), ("policy", s(&policy))])],
            "access[0].policy",
            "endpoint_id",
        ),
        (
            "a Gateway for sqs",
            vec![access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![("endpoint_type", s("Gateway"))])],
            "access[0].endpoint_type",
            "Gateway",
        ),
    ];
    for (what, blocks, path, mention) in cases {
        let d = b.tf.validate(&b.config(blocks, vec![], vec![])).await;
        let at: Vec<String> = errors(&d).iter().map(|e| path_of(e)).collect();
        assert_eq!(at, [path], "{what}: {}", show(&d));
        assert!(show(&d).contains(mention), "{what}: should mention {mention}: {}", show(&d));
    }
}
