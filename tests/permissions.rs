//! The IAM permissions the docs give, derived from the calls the provider
//! makes. Each resource type is driven over gRPC through its whole life
//! (create, a refresh and plan that change nothing, an update, drift
//! repaired, import, the destroy plan with its warning about other clients,
//! destroy) with the settings that cost calls of their own, and listed
//! before its destroy as `terraform query -generate-config-out` lists it
//! (each composite with its object); the data sources are read; the
//! redrive action is planned, invoked and stopped; the AWS-rules proxy
//! keeps every request it forwards.
//! Each request becomes the IAM actions AWS authorizes for it
//! (`actions_of`): its own action, and those AWS checks besides for what
//! the request carries (a role passed to Lambda, tags set at create, a VPC
//! function's network, private DNS). The `## Permissions` policy of that
//! type's docs page must list exactly those actions, plus the few the code
//! calls that these runs cannot reach on moto (`NOT_REACHED`, each with
//! why); a list resource's page (docs/list-resources/) lists what its
//! listing needs; docs/deploy-role-policy.json must hold the union of every page's
//! list. A call the provider starts making shows here as an action missing
//! from a page; an action a page keeps after the provider stopped needing it
//! shows as one too many.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use crate::common;

use common::driver::{errors, show, warnings, Driver};
use common::private_function::{access, endpoint_policy, str_of, strings, NAME};
use common::proxy::Proxy;
use common::{field, obj, s};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

const BUNDLE: &str = "privatelink_service_endpoint_bundle";
const PIPELINE: &str = "privatelink_private_lambda_pipeline";
const FUNCTION: &str = "privatelink_private_function";
const REACHABILITY: &str = "privatelink_reachability";
const CALLER_IDENTITY: &str = "privatelink_caller_identity";
/// The list resources (`terraform query`), named apart from their resource types.
const LIST_BUNDLE: &str = "list privatelink_service_endpoint_bundle";
const LIST_PIPELINE: &str = "list privatelink_private_lambda_pipeline";
const LIST_FUNCTION: &str = "list privatelink_private_function";
const REDRIVE: &str = common::action::REDRIVE;

/// The docs page of each type, and the provider's own page.
const PAGES: [(&str, &str); 10] = [
    ("provider", "docs/index.md"),
    (BUNDLE, "docs/resources/service_endpoint_bundle.md"),
    (PIPELINE, "docs/resources/private_lambda_pipeline.md"),
    (FUNCTION, "docs/resources/private_function.md"),
    (REACHABILITY, "docs/data-sources/reachability.md"),
    (CALLER_IDENTITY, "docs/data-sources/caller_identity.md"),
    (LIST_BUNDLE, "docs/list-resources/service_endpoint_bundle.md"),
    (LIST_PIPELINE, "docs/list-resources/private_lambda_pipeline.md"),
    (LIST_FUNCTION, "docs/list-resources/private_function.md"),
    (REDRIVE, "docs/actions/dead_letter_redrive.md"),
];

const DEPLOY_ROLE: &str = "docs/deploy-role-policy.json";

/// Actions a page lists that the code calls but the runs here cannot
/// reach: (type, action, why). Each must be listed, and must not have
/// been called (then it is derived and leaves this list).
const NOT_REACHED: &[(&str, &str, &str)] = &[
    (PIPELINE, "logs:AssociateKmsKey", "a log group's key changed in place: moto has no AssociateKmsKey"),
    (PIPELINE, "logs:DisassociateKmsKey", "a log group's key removed in place: moto has no DisassociateKmsKey"),
    (FUNCTION, "logs:AssociateKmsKey", "a log group's key changed in place: moto has no AssociateKmsKey"),
    (FUNCTION, "logs:DisassociateKmsKey", "a log group's key removed in place: moto has no DisassociateKmsKey"),
];

/// Managed policies the runs attach (moto loads AWS's managed policies).
const XRAY: &str = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess";
const INSIGHTS: &str = "arn:aws:iam::aws:policy/CloudWatchLambdaInsightsExecutionRolePolicy";
const OBJECTS: &str = "arn:aws:s3:::app-data/*";
const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
const QUEUE: &str = "arn:aws:sqs:us-east-1:123456789012:orders";

// ---------------------------------------------------------------------------
// From a recorded call to the IAM actions it needs.

/// The IAM action of a Lambda REST call (`GET /2015-03-31/functions/NAME`),
/// None for a path this mapping does not know (a new call: add it here).
fn lambda_action(method: &str, path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).skip(1).collect();
    Some(match (method, segments.as_slice()) {
        ("POST", ["functions"]) => "lambda:CreateFunction",
        ("GET", ["functions"]) => "lambda:ListFunctions",
        ("GET", ["functions", _]) => "lambda:GetFunction",
        ("DELETE", ["functions", _]) => "lambda:DeleteFunction",
        ("GET", ["functions", _, "configuration"]) => "lambda:GetFunctionConfiguration",
        ("PUT", ["functions", _, "configuration"]) => "lambda:UpdateFunctionConfiguration",
        ("PUT", ["functions", _, "code"]) => "lambda:UpdateFunctionCode",
        ("GET", ["functions", _, "concurrency"]) => "lambda:GetFunctionConcurrency",
        ("PUT", ["functions", _, "concurrency"]) => "lambda:PutFunctionConcurrency",
        ("DELETE", ["functions", _, "concurrency"]) => "lambda:DeleteFunctionConcurrency",
        ("GET", ["account-settings"]) => "lambda:GetAccountSettings",
        ("POST", ["event-source-mappings"]) => "lambda:CreateEventSourceMapping",
        ("GET", ["event-source-mappings"]) => "lambda:ListEventSourceMappings",
        ("GET", ["event-source-mappings", _]) => "lambda:GetEventSourceMapping",
        ("PUT", ["event-source-mappings", _]) => "lambda:UpdateEventSourceMapping",
        ("DELETE", ["event-source-mappings", _]) => "lambda:DeleteEventSourceMapping",
        ("GET", ["tags", _]) => "lambda:ListTags",
        ("POST", ["tags", _]) => "lambda:TagResource",
        ("DELETE", ["tags", _]) => "lambda:UntagResource",
        ("GET", ["layers", _, "versions", _]) => "lambda:GetLayerVersion",
        _ => return None,
    })
}

/// The IAM action a call recorded at the proxy is authorized as:
/// `ec2:CreateVpcEndpoint` as it is, a Lambda REST call by its path.
fn action_of(call: &str) -> String {
    match call.split_once(' ') {
        Some((method, path)) => {
            let method = method.strip_prefix("lambda:").unwrap_or_else(|| panic!("a REST call of a service other than Lambda: {call}"));
            lambda_action(method, path)
                .unwrap_or_else(|| panic!("no IAM action known for the Lambda call {call}: add it to lambda_action"))
                .to_string()
        }
        None => {
            assert!(call.split_once(':').is_some_and(|(svc, a)| !svc.is_empty() && a.starts_with(char::is_uppercase)), "{call}");
            call.to_string()
        }
    }
}

/// Is `name` set to something other than empty in the JSON `body`?
fn json_has(body: &str, pointer: &str) -> bool {
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    match v.pointer(pointer) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
        Some(_) => true,
    }
}

/// Does the EC2 / IAM query `body` carry a parameter starting with `prefix`?
fn query_has(body: &str, prefix: &str) -> bool {
    body.split('&').any(|p| p.starts_with(prefix))
}

/// Every IAM action AWS authorizes for one recorded call with its request
/// body: the call's own, and those it checks besides for what the request
/// carries:
/// - Lambda GetFunction returns a function's tags only to a caller allowed
///   `lambda:ListTags` (Lambda Developer Guide, "Using tags on Lambda
///   functions"): needed where the provider reads them (`reads_tags`: the
///   resources find their functions by those tags and repair them; the
///   reachability data source reads no tag).
/// - Lambda CreateFunction with tags needs `lambda:TagResource` (same page).
/// - A role given to CreateFunction or UpdateFunctionConfiguration is
///   passed: `iam:PassRole` (Lambda's permissions reference).
/// - A VPC configuration is checked with the caller's own
///   `ec2:DescribeSecurityGroups`, `ec2:DescribeSubnets` and
///   `ec2:DescribeVpcs` (Lambda Developer Guide, "Giving Lambda functions
///   access to resources in an Amazon VPC", user permissions).
/// - Layers need `lambda:GetLayerVersion` on each layer version.
/// - EC2 creates with tags need `ec2:CreateTags`; CreateVpcEndpoint lists
///   `route53:AssociateVPCWithHostedZone` as a dependent action, for the
///   private hosted zone of private DNS (Service Authorization Reference,
///   Amazon EC2).
/// - Tags given at create: `iam:TagRole` (CreateRole), `sqs:TagQueue`
///   (CreateQueue), `logs:TagResource` (CreateLogGroup; its API reference).
/// - A message move task (StartMessageMoveTask) moves the messages with the
///   rights of the caller that started it: `sqs:ReceiveMessage` and
///   `sqs:DeleteMessage` on the dead-letter queue, `sqs:SendMessage` on
///   each destination (SQS Developer Guide, dead-letter queue redrive;
///   the same three the SQS console asks of a user who redrives).
fn actions_of(call: &str, body: &str, reads_tags: bool) -> BTreeSet<String> {
    let own = action_of(call);
    let mut out = BTreeSet::from([own.clone()]);
    let mut add = |actions: &[&str]| out.extend(actions.iter().map(|a| a.to_string()));
    match own.as_str() {
        "lambda:GetFunction" if reads_tags => add(&["lambda:ListTags"]),
        "lambda:CreateFunction" | "lambda:UpdateFunctionConfiguration" => {
            if json_has(body, "/Role") {
                add(&["iam:PassRole"]);
            }
            if json_has(body, "/VpcConfig/SubnetIds") {
                add(&["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeVpcs"]);
            }
            if json_has(body, "/Layers") {
                add(&["lambda:GetLayerVersion"]);
            }
            if own == "lambda:CreateFunction" && json_has(body, "/Tags") {
                add(&["lambda:TagResource"]);
            }
        }
        "ec2:CreateVpcEndpoint" | "ec2:CreateSecurityGroup" => {
            if query_has(body, "TagSpecification.") {
                add(&["ec2:CreateTags"]);
            }
            if own == "ec2:CreateVpcEndpoint" && query_has(body, "PrivateDnsEnabled=true") {
                add(&["route53:AssociateVPCWithHostedZone"]);
            }
        }
        "ec2:ModifyVpcEndpoint" if query_has(body, "PrivateDnsEnabled=true") => add(&["route53:AssociateVPCWithHostedZone"]),
        "iam:CreateRole" if query_has(body, "Tags.member.") => add(&["iam:TagRole"]),
        "sqs:CreateQueue" if json_has(body, "/tags") => add(&["sqs:TagQueue"]),
        "logs:CreateLogGroup" if json_has(body, "/tags") => add(&["logs:TagResource"]),
        "sqs:StartMessageMoveTask" => add(&["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"]),
        _ => {}
    }
    out
}

/// The actions each step needed, with the calls that needed them.
#[derive(Default)]
struct Derived {
    /// action -> "step: call" (a few, to say where it came from).
    by_action: BTreeMap<String, BTreeSet<String>>,
    /// Where the proxy's kept requests stood when the step began.
    from: usize,
    /// Does the type read the tags of what it reads (see `actions_of`)?
    reads_tags: bool,
}

impl Derived {
    /// Starts keeping requests at `proxy`, for a resource type (which
    /// reads the tags of its parts).
    fn keep(proxy: &Proxy) -> Derived {
        proxy.keep_request_bodies();
        Derived { by_action: BTreeMap::new(), from: proxy.kept().len(), reads_tags: true }
    }

    /// The same, for a data source or the provider (which read no tags).
    fn keep_reads(proxy: &Proxy) -> Derived {
        Derived { reads_tags: false, ..Derived::keep(proxy) }
    }

    /// A step begins: what came before (the test's own calls) is not counted.
    fn begin(&mut self, proxy: &Proxy) {
        self.from = proxy.kept().len();
    }

    /// The step `step` ended: its calls' actions are counted.
    fn end(&mut self, proxy: &Proxy, step: &str) {
        let kept = proxy.kept();
        for (call, body) in &kept[self.from..] {
            for action in actions_of(call, body, self.reads_tags) {
                let seen = self.by_action.entry(action).or_default();
                if seen.len() < 3 {
                    seen.insert(format!("{step}: {call}"));
                }
            }
        }
        self.from = kept.len();
    }

    fn actions(&self) -> BTreeSet<String> {
        self.by_action.keys().cloned().collect()
    }
}

// ---------------------------------------------------------------------------
// What the docs list.

fn read_doc(path: &str) -> String {
    std::fs::read_to_string(common::root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `## Permissions` section of a page: the text up to the next `## `.
fn permissions_section(page: &str, text: &str) -> String {
    let start = text.find("\n## Permissions\n").unwrap_or_else(|| panic!("{page} has no `## Permissions` section"));
    let rest = &text[start + 1..];
    let end = rest[3..].find("\n## ").map(|i| i + 4).unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The allowed actions of a policy document.
fn policy_actions(what: &str, policy: &serde_json::Value) -> BTreeSet<String> {
    assert_eq!(policy["Version"], "2012-10-17", "{what}: Version");
    let statements = policy["Statement"].as_array().unwrap_or_else(|| panic!("{what}: Statement is not a list"));
    let mut out = BTreeSet::new();
    for st in statements {
        assert_eq!(st["Effect"], "Allow", "{what}: {st}");
        assert!(st.get("Resource").is_some(), "{what}: a statement without Resource: {st}");
        let actions = match &st["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(list) => {
                list.iter().map(|a| a.as_str().unwrap_or_else(|| panic!("{what}: {a}")).to_string()).collect()
            }
            other => panic!("{what}: Action is {other}"),
        };
        for a in actions {
            assert!(!a.contains('*'), "{what}: {a}: name each action, no wildcards");
            assert!(out.insert(a.clone()), "{what}: {a} twice");
        }
    }
    out
}

/// The actions a page's `## Permissions` section lists: the policy in its
/// ```json block, none when it has none.
fn page_actions(page: &str) -> BTreeSet<String> {
    let section = permissions_section(page, &read_doc(page));
    let blocks: Vec<&str> = section.split("```json\n").skip(1).map(|b| b.split("\n```").next().unwrap_or("")).collect();
    assert!(blocks.len() <= 1, "{page}: one policy in its Permissions section, not {}", blocks.len());
    blocks
        .first()
        .map(|b| {
            let policy: serde_json::Value =
                serde_json::from_str(b).unwrap_or_else(|e| panic!("{page}: the policy is not JSON ({e}):\n{b}"));
            policy_actions(page, &policy)
        })
        .unwrap_or_default()
}

fn page_of(type_name: &str) -> &'static str {
    PAGES.iter().find(|(t, _)| *t == type_name).map(|(_, p)| *p).unwrap()
}

/// How the page of `type_name` differs from what was derived for it and
/// the actions of `NOT_REACHED` for it: each difference, named.
fn page_problems(type_name: &str, derived: &Derived) -> Vec<String> {
    let page = page_of(type_name);
    let listed = page_actions(page);
    let got = derived.actions();
    eprintln!("permissions: {type_name} needs {} actions: {}", got.len(), got.iter().cloned().collect::<Vec<_>>().join(" "));
    let not_reached: BTreeMap<&str, &str> = NOT_REACHED.iter().filter(|(t, _, _)| *t == type_name).map(|(_, a, why)| (*a, *why)).collect();
    let mut problems = Vec::new();
    for a in got.difference(&listed) {
        let at: Vec<&str> = derived.by_action[a].iter().map(String::as_str).collect();
        problems.push(format!("missing from the page: {a} (needed by {})", at.join("; ")));
    }
    for (a, why) in &not_reached {
        if got.contains(*a) {
            problems.push(format!("{a} was called this time: take it out of NOT_REACHED ({why})"));
        } else if !listed.contains(*a) {
            problems.push(format!("missing from the page: {a}, which the code calls ({why})"));
        }
    }
    for a in listed.iter().filter(|a| !got.contains(*a) && !not_reached.contains_key(a.as_str())) {
        problems.push(format!("listed but never needed: {a} (remove it, or add to NOT_REACHED why no run reaches it)"));
    }
    problems.iter().map(|p| format!("{page} (`{type_name}`): {p}")).collect()
}

/// Each page lists exactly what was derived for its type.
fn assert_pages_list(derived: &[(&str, &Derived)]) {
    let problems: Vec<String> = derived.iter().flat_map(|(t, d)| page_problems(t, d)).collect();
    assert!(problems.is_empty(), "`## Permissions` of the docs pages:\n  {}", problems.join("\n  "));
}

// ---------------------------------------------------------------------------
// Driving the resources.

/// A copy of the map `v` with `k` set to `new` (added when absent).
fn with(v: &V, k: &str, new: V) -> V {
    let mut fields: Vec<(V, V)> = v.as_map().cloned().unwrap_or_default();
    fields.retain(|(f, _)| f.as_str() != Some(k));
    fields.push((s(k), new));
    V::Map(fields)
}

fn tags(pairs: &[(&str, &str)]) -> V {
    obj(pairs.iter().map(|(k, v)| (*k, s(v))).collect())
}

/// Plan and apply without error, as Terraform does for `config`.
async fn apply(tf: &mut Driver, prior: &V, config: &V) -> V {
    let (planned, _) = tf.plan(prior, config).await.unwrap_or_else(|d| panic!("plan:\n{}", show(&d)));
    let (state, diags) = tf.apply(prior, &planned).await;
    assert!(errors(&diags).is_empty(), "apply:\n{}", show(&diags));
    state
}

/// Refresh, then plan `config` against the refreshed state: the refreshed state.
async fn refresh_plan(tf: &mut Driver, state: &V, config: &V) -> V {
    let refreshed = tf.read(state).await;
    tf.plan(&refreshed, config).await.unwrap_or_else(|d| panic!("plan:\n{}", show(&d)));
    refreshed
}

/// A destroy plan that warns about another client of the resource's
/// endpoints (a Lambda network interface in `group`, made here), then the
/// destroy, once that client is gone (its interface would hold the group).
async fn destroy(tf: &mut Driver, rec: &mut Derived, proxy: &Proxy, aws: &privatelink::aws::Aws, (subnet, group): (&str, &str), state: &V) {
    let client = common::clients::lambda_interface(aws, subnet, group, "billing-worker").await;
    rec.begin(proxy);
    let plan = tf.plan_destroy(state, None).await;
    assert!(errors(&plan.diagnostics).is_empty(), "{}", show(&plan.diagnostics));
    assert_eq!(warnings(&plan.diagnostics).len(), 1, "the destroy plan warns about the other client: {}", show(&plan.diagnostics));
    rec.end(proxy, "destroy plan");
    aws.ec2.delete_network_interface().network_interface_id(client).send().await.unwrap();
    rec.begin(proxy);
    let (gone, diags) = tf.destroy(state).await;
    assert!(errors(&diags).is_empty() && gone == V::Nil, "{}", show(&diags));
    rec.end(proxy, "destroy");
}

/// A rule added by hand to `group` (TCP 22 from or to anywhere), which
/// the next refresh shows and the next apply removes.
async fn rule_by_hand(aws: &privatelink::aws::Aws, group: &str, ingress: bool) {
    let ssh = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    if ingress {
        aws.ec2.authorize_security_group_ingress().group_id(group).ip_permissions(ssh).send().await.unwrap();
    } else {
        aws.ec2.authorize_security_group_egress().group_id(group).ip_permissions(ssh).send().await.unwrap();
    }
}

/// The trust policy of `role` changed by hand (Lambda@Edge may assume it
/// too), which the next apply that touches the role puts back.
async fn trust_by_hand(aws: &privatelink::aws::Aws, role: &str) {
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com", "edgelambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}],
    });
    aws.iam.update_assume_role_policy().role_name(role).policy_document(trust.to_string()).send().await.unwrap();
}

/// A layer version published in moto: its ARN.
async fn layer(aws: &privatelink::aws::Aws) -> String {
    let dir = common::root().join("examples/private-lambda-sqs/consumer");
    let zip = privatelink::parts::code::from_dir(&dir).unwrap().zip;
    let content = aws_sdk_lambda::types::LayerVersionContentInput::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(zip)).build();
    let out = aws.lambda.publish_layer_version().layer_name("libs").content(content).send().await.unwrap();
    out.layer_version_arn().unwrap().to_string()
}

/// A KMS key with an alias: (its ARN, the alias).
async fn key(aws: &privatelink::aws::Aws, alias: &str) -> (String, String) {
    let key = aws.kms.create_key().send().await.unwrap();
    let meta = key.key_metadata().unwrap();
    aws.kms.create_alias().alias_name(alias).target_key_id(meta.key_id()).send().await.unwrap();
    (meta.arn().unwrap().to_string(), alias.to_string())
}

/// ReadDataSource of `type_name` with `config`, without error.
async fn read_data(tf: &Driver, type_name: &str, config: V) -> V {
    let mut client = tf.client.clone();
    let dv = Some(pb::DynamicValue { msgpack: common::msgpack(config), json: vec![] });
    let r = client
        .read_data_source(pb::read_data_source::Request {
            type_name: type_name.into(),
            config: dv,
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{type_name}: {}", show(&r.diagnostics));
    common::decode_msgpack(&r.state.unwrap().msgpack)
}

/// ListResource of `type_name` as `terraform query -generate-config-out`
/// calls it (every composite of the region, each with its object), into a
/// record of its own: the search and, per composite, the import by its
/// identity and the read.
async fn list_all(tf: &Driver, proxy: &Proxy, type_name: &str) -> Derived {
    let mut rec = Derived::keep(proxy);
    let mut client = tf.client.clone();
    let found = common::driver::list(&mut client, type_name, &common::driver::list_config(None, None), true, 100).await;
    assert!(!found.is_empty(), "{type_name}: nothing listed");
    for e in &found {
        assert!(e.diagnostics.is_empty() && e.object.is_some(), "{type_name}: {}: {}", e.display_name, show(&e.diagnostics));
    }
    rec.end(proxy, "list");
    rec
}

/// The reachability data source's configuration: every attribute, the
/// unset ones null, these set.
fn reachability(set: Vec<(&str, V)>) -> V {
    let mut fields: Vec<(&str, V)> =
        ["id", "function_name", "subnet_ids", "security_group_ids", "services", "actions", "vpc_id", "reachable", "service", "findings"]
            .into_iter()
            .map(|k| (k, V::Nil))
            .collect();
    for (k, v) in set {
        fields.retain(|(f, _)| *f != k);
        fields.push((k, v));
    }
    obj(fields)
}

fn took(what: &str, since: Instant) {
    eprintln!("permissions: {what} in {:.1} s", since.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------
// The tests.

/// The bundle: Interface endpoints (one with a policy) and a Gateway,
/// tagged; an update that adds and drops an endpoint, moves the subnets,
/// admits another group in place of the first, changes the policy and the
/// tags; rules added by hand (in and out) repaired; import by endpoint ids; a destroy plan that names another
/// client; destroy.
#[tokio::test]
async fn the_bundles_page_lists_what_its_lifecycle_calls() {
    let t = Instant::now();
    let b = common::private_function::Bed::start().await;
    let mut tf = b.driver(BUNDLE);
    let proxy = b.moto.rules();
    let mut rec = Derived::keep(proxy);
    let net = &b.net;
    let other = b.aws.ec2.create_security_group().group_name("other").description("other").vpc_id(&net.vpc).send().await.unwrap();
    let other = other.group_id().unwrap().to_string();
    let config = |subnets: &[String], allowed: &[&str], endpoints: Vec<V>, t: &[(&str, &str)]| {
        obj(vec![
            ("name", s("core")),
            ("vpc_id", s(&net.vpc)),
            ("subnet_ids", strings(subnets)),
            ("route_table_ids", strings(&net.route_tables)),
            ("allowed_security_group_ids", strings(allowed)),
            ("endpoint", V::Array(endpoints)),
            ("tags", tags(t)),
        ])
    };
    let endpoint = |service: &str, kind: &str, policy: Option<&str>| {
        let mut f = vec![("service", s(service)), ("type", s(kind))];
        if let Some(p) = policy {
            f.push(("policy", s(p)));
        }
        obj(f)
    };
    let sqs_policy = |actions: &[&str]| endpoint_policy(actions, &["*"]);
    let first = config(
        &net.subnets,
        &[&net.app_group],
        vec![
            endpoint("sqs", "Interface", Some(&sqs_policy(&["sqs:SendMessage"]))),
            endpoint("logs", "Interface", None),
            endpoint("s3", "Gateway", None),
        ],
        &[("service", "orders"), ("stage", "test")],
    );
    rec.begin(proxy);
    let state = apply(&mut tf, &V::Nil, &first).await;
    rec.end(proxy, "create");
    let state = refresh_plan(&mut tf, &state, &first).await;
    rec.end(proxy, "refresh + plan");
    let second = config(
        &net.subnets[..1],
        &[&other],
        vec![
            endpoint("sqs", "Interface", Some(&sqs_policy(&["sqs:SendMessage", "sqs:GetQueueUrl"]))),
            endpoint("sts", "Interface", None),
            endpoint("s3", "Gateway", None),
        ],
        &[("service", "orders"), ("team", "queues")],
    );
    let state = apply(&mut tf, &state, &second).await;
    rec.end(proxy, "update");
    rule_by_hand(&b.aws, str_of(&state, "security_group_id"), true).await;
    rule_by_hand(&b.aws, str_of(&state, "security_group_id"), false).await;
    rec.begin(proxy);
    let drifted = tf.read(&state).await;
    let state = apply(&mut tf, &drifted, &second).await;
    rec.end(proxy, "drift repaired");
    let ids: Vec<&str> = field(&state, "endpoint").as_array().unwrap().iter().map(|e| str_of(e, "id")).collect();
    let imported = tf.import(&ids.join(",")).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    refresh_plan(&mut tf, &imported, &second).await;
    rec.end(proxy, "import");
    let listing = list_all(&tf, proxy, BUNDLE).await;
    destroy(&mut tf, &mut rec, proxy, &b.aws, (&net.subnets[0], &other), &state).await;
    took("bundle", t);
    assert_pages_list(&[(BUNDLE, &rec), (LIST_BUNDLE, &listing)]);
}

/// The pipeline with every setting that costs calls: a customer-managed
/// queue key by alias, extra statements and managed policies on the roles,
/// a reservation, Active tracing, a layer, a log retention and log key, the
/// mapping's settings; an update that changes the code, memory, tags,
/// subnets, queue and mapping settings, drops the reservation, the
/// statements and a managed policy and keeps logs forever, and puts back a
/// trust policy changed by hand; rules added by hand repaired;
/// import; a destroy plan that names another client; destroy.
#[tokio::test]
async fn the_pipelines_page_lists_what_its_lifecycle_calls() {
    use common::pipeline::function;
    let t = Instant::now();
    let mut b = common::pipeline::Bed::start(&[("team", "payments")]).await;
    let proxy = b.moto.rules();
    let mut rec = Derived::keep(proxy);
    let (key_arn, alias) = key(&b.aws, "alias/orders-queue").await;
    let libs = layer(&b.aws).await;
    let statements = serde_json::json!([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::reports/*"}]).to_string();
    let producer = function(
        "producer",
        vec![
            ("reserved_concurrent_executions", V::from(5)),
            ("tracing_mode", s("Active")),
            ("layers", strings(&[&libs])),
            ("log_retention_in_days", V::from(14)),
            ("log_kms_key_arn", s(&key_arn)),
            ("policy_statements", s(&statements)),
            ("policy_arns", strings(&[XRAY])),
        ],
    );
    let consumer = function("consumer", vec![("policy_arns", strings(&[XRAY, INSIGHTS]))]);
    let first = b.orders(
        producer.clone(),
        consumer,
        vec![
            ("queue", obj(vec![("kms_master_key_id", s(&alias)), ("visibility_timeout_seconds", V::from(180))])),
            ("event_source", obj(vec![("batch_size", V::from(5))])),
            ("tags", tags(&[("service", "orders"), ("stage", "test")])),
        ],
    );
    rec.begin(proxy);
    let state = apply(&mut b.tf, &V::Nil, &first).await;
    rec.end(proxy, "create");
    let state = refresh_plan(&mut b.tf, &state, &first).await;
    rec.end(proxy, "refresh + plan");
    trust_by_hand(&b.aws, "orders-producer").await;
    let consumer_code = common::root().join("examples/private-lambda-sqs/consumer").display().to_string();
    let mut producer = with(&producer, "source_dir", s(&consumer_code));
    producer = with(&producer, "memory_size", V::from(256));
    producer = with(&producer, "log_retention_in_days", V::from(0));
    producer = with(&producer, "policy_arns", strings(&[INSIGHTS]));
    let producer: V = V::Map(
        producer
            .as_map()
            .unwrap()
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), Some("reserved_concurrent_executions" | "policy_statements")))
            .cloned()
            .collect(),
    );
    let mut second = b.orders(
        producer,
        function("consumer", vec![("policy_arns", strings(&[XRAY]))]),
        vec![
            ("queue", obj(vec![("kms_master_key_id", s(&alias)), ("visibility_timeout_seconds", V::from(240))])),
            ("event_source", obj(vec![("batch_size", V::from(8))])),
            ("tags", tags(&[("service", "orders"), ("team", "queues")])),
        ],
    );
    second = with(&second, "subnet_ids", strings(&b.subnets[..1]));
    rec.begin(proxy);
    let state = apply(&mut b.tf, &state, &second).await;
    rec.end(proxy, "update");
    rule_by_hand(&b.aws, str_of(&state, "producer_security_group_id"), false).await;
    rule_by_hand(&b.aws, str_of(&state, "endpoint_security_group_id"), true).await;
    rec.begin(proxy);
    let drifted = b.tf.read(&state).await;
    let state = apply(&mut b.tf, &drifted, &second).await;
    rec.end(proxy, "drift repaired");
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    refresh_plan(&mut b.tf, &imported, &second).await;
    rec.end(proxy, "import");
    let listing = list_all(&b.tf, proxy, PIPELINE).await;
    let group = str_of(&state, "producer_security_group_id").to_string();
    destroy(&mut b.tf, &mut rec, proxy, &b.aws, (&b.subnets[0], &group), &state).await;
    took("pipeline", t);
    assert_pages_list(&[(PIPELINE, &rec), (LIST_PIPELINE, &listing)]);
}

/// The redrive action on a pipeline's dead-letter queue: validate; plan by
/// the pipeline's name and by ARN with a destination (the calls on a
/// destination); an invoke that moves messages back; an invoke stopped
/// (StopProvider) that cancels its task. Only the action's calls count,
/// not the pipeline's create nor the test's own SQS calls.
#[tokio::test]
async fn the_redrive_actions_page_lists_what_it_calls() {
    use common::action::{self, redrive};
    use common::pipeline::function;
    let t = Instant::now();
    let mut b = common::pipeline::Bed::start(&[]).await;
    let config = b.orders(
        function("producer", vec![]),
        function("consumer", vec![]),
        vec![("event_source", obj(vec![("enabled", V::Boolean(false))]))],
    );
    b.tf.converge(&V::Nil, &config).await;
    let proxy = b.moto.rules();
    let mut rec = Derived::keep_reads(proxy);
    let sqs = b.aws.sqs.clone();
    let (dlq_url, dlq_arn) = action::queue(&sqs, "orders-dlq").await;
    let retry = sqs.create_queue().queue_name("retry").send().await.unwrap().queue_url().unwrap().to_string();
    let (_, retry_arn) = action::queue(&sqs, "retry").await;
    let client = &mut b.tf.client;
    let by_name = redrive(vec![("pipeline", s("orders"))]);
    let by_arn = redrive(vec![("source_arn", s(&dlq_arn)), ("destination_arn", s(&retry_arn))]);

    rec.begin(proxy);
    for config in [&by_name, &by_arn] {
        assert!(action::validate(client, config).await.is_empty());
        let d = action::plan(client, config).await;
        assert!(d.is_empty(), "{}", show(&d));
    }
    rec.end(proxy, "validate + plan");
    action::send(&sqs, &dlq_url, 3).await;
    rec.begin(proxy);
    action::invoke(client, &by_arn, std::time::Duration::from_secs(30)).await.completed_ok();
    rec.end(proxy, "invoke");
    assert_eq!(action::waiting(&sqs, &retry).await, 3);
    action::send(&sqs, &dlq_url, 5).await;
    let slow = redrive(vec![("pipeline", s("orders")), ("max_messages_per_second", V::from(1))]);
    let mut stopper = client.clone();
    rec.begin(proxy);
    let mut stream = action::start(client, &slow).await;
    let mut told = action::Told::default();
    while !told.progress.iter().any(|m| m.starts_with("moving about")) {
        action::next(&mut stream, &mut told).await.expect("the invoke goes on");
    }
    stopper.stop_provider(pb::stop_provider::Request {}).await.unwrap();
    action::finish(&mut stream, &mut told, std::time::Duration::from_secs(30)).await;
    rec.end(proxy, "invoke stopped");
    assert_eq!(told.completed_errors()[0].summary, "Stopped");
    took("redrive action", t);
    assert_pages_list(&[(REDRIVE, &rec)]);
}

/// The private function with an Interface endpoint of its own (with a
/// policy), a Gateway one, and a bundle's endpoint reused, with a
/// reservation, Active tracing, a layer, extra statements and managed
/// policies, a log retention and key; an update like the pipeline's (and
/// one more action on the S3 endpoint's policy); rules added by hand
/// repaired; import;
/// both data sources read; a destroy plan that names another client;
/// destroy. Also: ConfigureProvider's own calls, for docs/index.md.
#[tokio::test]
async fn the_private_functions_and_data_sources_pages_list_what_they_call() {
    let t = Instant::now();
    let mut b = common::private_function::Bed::start().await;
    let proxy = b.moto.rules();
    let mut rec = Derived::keep(proxy);

    // The provider alone: another provider process, configured as Terraform does.
    let mut provider = Derived::keep_reads(proxy);
    let plugin = common::plugin::Plugin::start(&[]);
    // With the credentials check, as a provider block leaves it on.
    let config = obj(vec![("region", s("us-east-1")), ("endpoints", common::endpoints(&b.moto.url()))]);
    let diags = common::driver::configure(&mut plugin.client().await, &config).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    provider.end(proxy, "ConfigureProvider");
    drop(plugin);

    let app = b.net.app_group.clone();
    let mut bundle = b.driver(BUNDLE);
    let core = apply(
        &mut bundle,
        &V::Nil,
        &common::private_function::bundle_config(&b, &[&app], vec![common::private_function::bundle_endpoint("sqs", "Interface")]),
    )
    .await;
    let sqs_endpoint = str_of(&field(&core, "endpoint").as_array().unwrap()[0], "id").to_string();
    let (key_arn, _) = key(&b.aws, "alias/reader-logs").await;
    let libs = layer(&b.aws).await;
    let statements = serde_json::json!([{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": "arn:aws:s3:::app-data"}]).to_string();
    let s3 = |actions: &[&str]| access("s3", actions, &[OBJECTS], vec![("policy", s(&endpoint_policy(actions, &[OBJECTS])))]);
    let accesses = |s3_actions: &[&str]| {
        vec![
            s3(s3_actions),
            access("dynamodb", &["dynamodb:GetItem"], &[TABLE], vec![("endpoint_type", s("Gateway"))]),
            access("sqs", &["sqs:SendMessage"], &[QUEUE], vec![("endpoint_id", s(&sqs_endpoint))]),
        ]
    };
    let settings = vec![
        ("security_group_ids", strings(&[&app])),
        ("reserved_concurrent_executions", V::from(3)),
        ("tracing_mode", s("Active")),
        ("layers", strings(&[&libs])),
        ("log_retention_in_days", V::from(14)),
        ("log_kms_key_arn", s(&key_arn)),
        ("policy_statements", s(&statements)),
        ("policy_arns", strings(&[XRAY])),
    ];
    let first = b.config(accesses(&["s3:GetObject"]), settings.clone(), vec![("tags", tags(&[("app", "reports"), ("stage", "test")]))]);
    rec.begin(proxy);
    let state = apply(&mut b.tf, &V::Nil, &first).await;
    rec.end(proxy, "create");
    let state = refresh_plan(&mut b.tf, &state, &first).await;
    rec.end(proxy, "refresh + plan");
    trust_by_hand(&b.aws, NAME).await;
    let consumer_code = common::root().join("examples/private-lambda-sqs/consumer").display().to_string();
    let changed: Vec<(&str, V)> = settings
        .into_iter()
        .filter(|(k, _)| !matches!(*k, "reserved_concurrent_executions" | "policy_statements"))
        .map(|(k, v)| match k {
            "log_retention_in_days" => (k, V::from(0)),
            "policy_arns" => (k, strings(&[INSIGHTS])),
            _ => (k, v),
        })
        .chain([("memory_size", V::from(256))])
        .collect();
    let mut second =
        b.config(accesses(&["s3:GetObject", "s3:PutObject"]), changed, vec![("tags", tags(&[("app", "reports"), ("team", "data")]))]);
    let function = with(field(&second, "function"), "source_dir", s(&consumer_code));
    second = with(&second, "function", function);
    second = with(&second, "subnet_ids", strings(&b.net.subnets[..1]));
    rec.begin(proxy);
    let state = apply(&mut b.tf, &state, &second).await;
    rec.end(proxy, "update");
    rule_by_hand(&b.aws, str_of(&state, "security_group_id"), false).await;
    rule_by_hand(&b.aws, str_of(&state, "endpoint_security_group_id"), true).await;
    rec.begin(proxy);
    let drifted = b.tf.read(&state).await;
    let state = apply(&mut b.tf, &drifted, &second).await;
    rec.end(proxy, "drift repaired");
    let imported = b.tf.import(NAME).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    refresh_plan(&mut b.tf, &imported, &second).await;
    rec.end(proxy, "import");
    let listing = list_all(&b.tf, proxy, FUNCTION).await;

    // The data sources, on the function this made.
    let mut reach = Derived::keep_reads(proxy);
    let services = || strings(&["s3", "sqs", "dynamodb"]);
    read_data(&b.tf, REACHABILITY, reachability(vec![("function_name", s(NAME)), ("services", services())])).await;
    let group = str_of(&state, "security_group_id").to_string();
    let client = vec![("subnet_ids", strings(&b.net.subnets[..1])), ("security_group_ids", strings(&[&group])), ("services", services())];
    read_data(&b.tf, REACHABILITY, reachability(client)).await;
    reach.end(proxy, "read");
    let mut caller = Derived::keep_reads(proxy);
    let none = ["id", "account_id", "arn", "user_id", "region"].into_iter().map(|k| (k, V::Nil)).collect();
    read_data(&b.tf, CALLER_IDENTITY, obj(none)).await;
    caller.end(proxy, "read");

    destroy(&mut b.tf, &mut rec, proxy, &b.aws, (&b.net.subnets[0], &group), &state).await;
    took("private function and data sources", t);
    assert_pages_list(&[
        (FUNCTION, &rec),
        (LIST_FUNCTION, &listing),
        (REACHABILITY, &reach),
        (CALLER_IDENTITY, &caller),
        ("provider", &provider),
    ]);
}

/// docs/deploy-role-policy.json: an IAM policy, one statement per
/// service, each action once, sorted, holding exactly the union of every
/// page's list.
#[test]
fn the_deploy_role_policy_holds_every_pages_actions() {
    let text = read_doc(DEPLOY_ROLE);
    let policy: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{DEPLOY_ROLE} is not JSON: {e}"));
    let held = policy_actions(DEPLOY_ROLE, &policy);
    let mut sids = BTreeSet::new();
    let mut services = BTreeSet::new();
    for st in policy["Statement"].as_array().unwrap() {
        let sid = st["Sid"].as_str().unwrap_or_else(|| panic!("{DEPLOY_ROLE}: a statement without a Sid: {st}"));
        assert!(sids.insert(sid.to_string()), "{DEPLOY_ROLE}: Sid {sid} twice");
        let actions: Vec<&str> = st["Action"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let mut sorted = actions.clone();
        sorted.sort();
        assert_eq!(actions, sorted, "{DEPLOY_ROLE}: {sid}'s actions in order");
        let prefixes: BTreeSet<&str> = actions.iter().map(|a| a.split(':').next().unwrap()).collect();
        assert_eq!(prefixes.len(), 1, "{DEPLOY_ROLE}: {sid} mixes services: {prefixes:?}");
        let prefix = prefixes.into_iter().next().unwrap();
        assert!(services.insert(prefix.to_string()) || sid.starts_with("PassRole"), "{DEPLOY_ROLE}: {prefix} in two statements");
    }
    let pages: BTreeSet<String> = PAGES.iter().flat_map(|(_, p)| page_actions(p)).collect();
    let missing: Vec<&String> = pages.difference(&held).collect();
    let extra: Vec<&String> = held.difference(&pages).collect();
    assert!(missing.is_empty() && extra.is_empty(), "{DEPLOY_ROLE}: missing {missing:?}, not on any page {extra:?}");
}

/// The Lambda REST paths the provider calls map to IAM actions, and an
/// unknown one is refused rather than guessed.
#[test]
fn lambda_calls_map_to_their_iam_actions() {
    for (call, action) in [
        ("lambda:POST /2015-03-31/functions", "lambda:CreateFunction"),
        ("lambda:GET /2015-03-31/functions/orders-producer", "lambda:GetFunction"),
        ("lambda:DELETE /2015-03-31/functions/orders-producer", "lambda:DeleteFunction"),
        ("lambda:PUT /2015-03-31/functions/orders-producer/configuration", "lambda:UpdateFunctionConfiguration"),
        ("lambda:PUT /2015-03-31/functions/orders-producer/code", "lambda:UpdateFunctionCode"),
        ("lambda:PUT /2017-10-31/functions/orders-producer/concurrency", "lambda:PutFunctionConcurrency"),
        ("lambda:DELETE /2017-10-31/functions/orders-producer/concurrency", "lambda:DeleteFunctionConcurrency"),
        ("lambda:GET /2016-08-19/account-settings/", "lambda:GetAccountSettings"),
        ("lambda:POST /2015-03-31/event-source-mappings/", "lambda:CreateEventSourceMapping"),
        ("lambda:GET /2015-03-31/event-source-mappings/", "lambda:ListEventSourceMappings"),
        ("lambda:GET /2015-03-31/event-source-mappings/6f1c2b3a", "lambda:GetEventSourceMapping"),
        ("lambda:PUT /2015-03-31/event-source-mappings/6f1c2b3a", "lambda:UpdateEventSourceMapping"),
        ("lambda:DELETE /2015-03-31/event-source-mappings/6f1c2b3a", "lambda:DeleteEventSourceMapping"),
        ("lambda:POST /2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Areader", "lambda:TagResource"),
        ("lambda:DELETE /2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Areader", "lambda:UntagResource"),
        ("ec2:DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
        ("logs:CreateLogGroup", "logs:CreateLogGroup"),
    ] {
        assert_eq!(action_of(call), action, "{call}");
    }
    assert_eq!(lambda_action("POST", "/2015-03-31/functions/reader/invocations"), None);
    assert!(std::panic::catch_unwind(|| action_of("lambda:PATCH /2015-03-31/functions/reader")).is_err());
    // What a request carries adds the actions AWS checks for it.
    let create = r#"{"FunctionName":"reader","Role":"arn:aws:iam::123456789012:role/reader","Layers":["arn:aws:lambda:us-east-1:123456789012:layer:libs:1"],"VpcConfig":{"SubnetIds":["subnet-1"],"SecurityGroupIds":["sg-1"]},"Tags":{"a":"b"}}"#;
    let got = actions_of("lambda:POST /2015-03-31/functions", create, true);
    for a in [
        "lambda:CreateFunction",
        "iam:PassRole",
        "lambda:GetLayerVersion",
        "ec2:DescribeVpcs",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "lambda:TagResource",
    ] {
        assert!(got.contains(a), "{a}: {got:?}");
    }
    let outside = actions_of("lambda:PUT /2015-03-31/functions/reader/configuration", r#"{"Role":"r","VpcConfig":{"SubnetIds":[]}}"#, true);
    assert_eq!(outside, BTreeSet::from(["lambda:UpdateFunctionConfiguration".to_string(), "iam:PassRole".to_string()]));
    let endpoint = actions_of(
        "ec2:CreateVpcEndpoint",
        "Action=CreateVpcEndpoint&PrivateDnsEnabled=true&TagSpecification.1.ResourceType=vpc-endpoint",
        true,
    );
    assert!(endpoint.contains("ec2:CreateTags") && endpoint.contains("route53:AssociateVPCWithHostedZone"), "{endpoint:?}");
    let gateway = actions_of("ec2:CreateVpcEndpoint", "Action=CreateVpcEndpoint&VpcEndpointType=Gateway", true);
    assert_eq!(gateway.len(), 1, "{gateway:?}");
    let read = |reads_tags| actions_of("lambda:GET /2015-03-31/functions/reader", "", reads_tags);
    assert_eq!((read(true).len(), read(false).len()), (2, 1), "ListTags where the tags are read");
}
