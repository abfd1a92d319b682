//! What current Terraform and OpenTofu ask of a provider beyond the base
//! protocol, over gRPC against moto: GetFunctions, the plan_destroy
//! capability, resource identity (Terraform/OpenTofu 1.12+) through create,
//! read, update, import and upgrade, and the warnings of a destroy plan.
//! Each test has its own moto server (its reset is global).

use crate::common;

use common::driver::{canon, errors, show, warnings, Driver};
use common::moto::Moto;
use common::plugin::Plugin;
use common::{clients, endpoints, field, obj, s, Net};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

const FUNCTION: &str = "privatelink_private_function";
const PIPELINE: &str = "privatelink_private_lambda_pipeline";
const BUNDLE: &str = "privatelink_service_endpoint_bundle";
const REGION: &str = "us-east-1";

fn set(items: &[String]) -> V {
    V::Array(items.iter().map(|i| s(i)).collect())
}

fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

fn identity(pairs: Vec<(&str, V)>) -> V {
    obj(pairs)
}

/// A state with its endpoint blocks in service order: two imports of one
/// bundle may list its endpoints in another order.
fn by_service(state: &V) -> V {
    let mut v = canon(state);
    if let V::Map(entries) = &mut v {
        for (k, val) in entries.iter_mut() {
            if k.as_str() == Some("endpoint") {
                if let V::Array(blocks) = val {
                    blocks.sort_by(|a, b| field(a, "service").as_str().cmp(&field(b, "service").as_str()));
                }
            }
        }
    }
    v
}

/// A provider whose every AWS endpoint refuses connections, with no
/// retries: any AWS call it makes fails at once. Its credentials check is
/// off (it would fail configure, before the calls under test).
async fn unreachable_driver(plugin: &Plugin, type_name: &str) -> Driver {
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let mut client = plugin.client().await;
    let config = obj(vec![
        ("region", s(REGION)),
        ("max_retries", V::from(0)),
        ("skip_credentials_validation", V::Boolean(true)),
        ("endpoints", endpoints(&dead)),
    ]);
    let diagnostics = common::driver::configure(&mut client, &config).await;
    assert!(errors(&diagnostics).is_empty(), "{}", show(&diagnostics));
    Driver { client, type_name: type_name.into() }
}

#[tokio::test]
async fn no_functions_and_the_plan_destroy_capability() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;

    let f = client.get_functions(pb::get_functions::Request {}).await.expect("GetFunctions is served").into_inner();
    assert!(f.functions.is_empty() && f.diagnostics.is_empty(), "{f:?}");

    let meta = client.get_metadata(pb::get_metadata::Request {}).await.unwrap().into_inner();
    assert!(meta.server_capabilities.expect("capabilities in GetMetadata").plan_destroy);
    assert!(meta.functions.is_empty());
    let mut types: Vec<&str> = meta.resources.iter().map(|r| r.type_name.as_str()).collect();
    types.sort();
    assert_eq!(types, [FUNCTION, PIPELINE, BUNDLE]);

    let schema = client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.server_capabilities.expect("capabilities in GetProviderSchema").plan_destroy);
    assert!(schema.functions.is_empty());
}

#[tokio::test]
async fn identity_schemas_and_their_upgrade() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    let r = client.get_resource_identity_schemas(pb::get_resource_identity_schemas::Request {}).await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let mut types: Vec<&str> = r.identity_schemas.keys().map(String::as_str).collect();
    types.sort();
    assert_eq!(types, [FUNCTION, PIPELINE, BUNDLE]);
    // (name, required for import) of each resource type's identity.
    for (type_name, want) in [
        (FUNCTION, [("name", true), ("region", false)]),
        (PIPELINE, [("name", true), ("region", false)]),
        (BUNDLE, [("id", true), ("region", false)]),
    ] {
        let schema = &r.identity_schemas[type_name];
        assert_eq!(schema.version, 0);
        let got: Vec<(&str, bool)> = schema.identity_attributes.iter().map(|a| (a.name.as_str(), a.required_for_import)).collect();
        assert_eq!(got, want, "{type_name}");
        for a in &schema.identity_attributes {
            assert_eq!(a.r#type, br#""string""#, "{type_name}.{}", a.name);
            assert_ne!(a.required_for_import, a.optional_for_import, "{type_name}.{}: exactly one of required/optional for import", a.name);
            assert!(!a.description.is_empty());
        }
    }

    // Version 0 is stored JSON read back as it is.
    let upgrade = |version: i64| pb::upgrade_resource_identity::Request {
        type_name: PIPELINE.into(),
        version,
        raw_identity: Some(pb::RawState { json: br#"{"name":"orders","region":"us-east-1"}"#.to_vec(), flatmap: Default::default() }),
    };
    let r = client.upgrade_resource_identity(upgrade(0)).await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let data = r.upgraded_identity.and_then(|i| i.identity_data).expect("an upgraded identity");
    assert_eq!(common::decode_msgpack(&data.msgpack), identity(vec![("name", s("orders")), ("region", s(REGION))]));
    let r = client.upgrade_resource_identity(upgrade(1)).await.unwrap().into_inner();
    assert!(errors(&r.diagnostics).iter().any(|d| d.detail.contains("version 1")), "{:?}", r.diagnostics);
}

// ---------------------------------------------------------------- pipeline

fn code_dir(which: &str) -> String {
    common::root().join("examples/private-lambda-sqs").join(which).display().to_string()
}

fn function(which: &str) -> V {
    obj(vec![("source_dir", s(&code_dir(which))), ("handler", s("index.handler")), ("runtime", s("python3.12"))])
}

fn pipeline_config(net: &Net, tags: Vec<(&str, V)>) -> V {
    obj(vec![
        ("name", s("orders")),
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", set(&net.subnets)),
        ("producer", function("producer")),
        ("consumer", function("consumer")),
        ("tags", obj(tags)),
    ])
}

#[tokio::test]
async fn pipeline_identity_from_create_to_import_and_destroy_warnings() {
    let moto = Moto::start();
    let net = Net::make(&moto.url());
    let plugin = Plugin::start(&[]);
    let mut tf = Driver::new(&plugin, PIPELINE, &moto.url(), &[]).await;
    let aws = common::aws(&moto.url()).await;
    let orders = identity(vec![("name", s("orders")), ("region", s(REGION))]);

    // Create: the identity is known at plan (the name is in the config)
    // and is what apply returns.
    let config = pipeline_config(&net, vec![("service", s("orders"))]);
    let plan = tf.plan_with_identity(&V::Nil, None, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(plan.identity.as_ref(), Some(&orders));
    let (state, id, diags) = tf.apply_with_identity(&V::Nil, &plan.state, plan.identity.as_ref()).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(id.as_ref(), Some(&orders));

    // Read keeps it; a read without one (a state from before Terraform
    // knew identities) gets it too.
    let (fresh, id) = tf.read_with_identity(&state, Some(&orders)).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(id.as_ref(), Some(&orders));
    assert_eq!(canon(&fresh), canon(&state));
    let (_, id) = tf.read_with_identity(&state, None).await.unwrap();
    assert_eq!(id.as_ref(), Some(&orders));

    // An update in place keeps the identity.
    let updated = pipeline_config(&net, vec![("service", s("orders")), ("tier", s("gold"))]);
    let plan = tf.plan_with_identity(&fresh, Some(&orders), &updated).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(plan.replace.is_empty(), "{:?}", plan.replace);
    assert_eq!(plan.identity.as_ref(), Some(&orders));
    let (state, id, diags) = tf.apply_with_identity(&fresh, &plan.state, plan.identity.as_ref()).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(id.as_ref(), Some(&orders));

    // Import by identity (the region left to the provider) is import by
    // name, and answers the whole identity.
    let (by_id, id_of_id) = tf.import_with_identity("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (by_identity, id) =
        tf.import_by_identity(&identity(vec![("name", s("orders")), ("region", V::Nil)])).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(canon(&by_identity), canon(&by_id), "import by identity and by id find the same pipeline");
    assert_eq!(id.as_ref(), Some(&orders));
    assert_eq!(id_of_id.as_ref(), Some(&orders));

    // A wrong identity names the identity attribute.
    let err = tf.import_by_identity(&identity(vec![("name", s("billing")), ("region", V::Nil)])).await.unwrap_err();
    assert!(show(&err).contains(r#"identity.name = "billing""#), "{}", show(&err));
    let err = tf.import_by_identity(&identity(vec![("name", s("Not A Name")), ("region", V::Nil)])).await.unwrap_err();
    assert!(show(&err).contains("identity.name"), "{}", show(&err));
    let err = tf.import_by_identity(&identity(vec![("name", s("orders")), ("region", s("eu-west-1"))])).await.unwrap_err();
    assert!(show(&err).contains("identity.region"), "{}", show(&err));
    let err = tf.import_by_identity(&identity(vec![("name", V::Nil), ("region", V::Nil)])).await.unwrap_err();
    assert!(show(&err).contains("identity.name is required"), "{}", show(&err));

    // Destroy plan: another function in the producer's group (reaching SQS
    // through the pipeline's endpoint) is named; the pipeline's own
    // producer interface is not.
    let group = str_of(&state, "producer_security_group_id");
    let worker = clients::lambda_interface(&aws, &net.subnets[0], group, "orders-worker").await;
    let own = clients::lambda_interface(&aws, &net.subnets[1], group, "orders-producer").await;
    let plan = tf.plan_destroy(&state, Some(&orders)).await;
    assert!(errors(&plan.diagnostics).is_empty(), "{}", show(&plan.diagnostics));
    assert_eq!(plan.state, V::Nil, "a destroy plans null");
    assert_eq!(plan.identity, None);
    let warned = warnings(&plan.diagnostics);
    assert_eq!(warned.len(), 1, "{}", show(&plan.diagnostics));
    assert!(warned[0].detail.contains("Lambda function orders-worker"), "{}", warned[0].detail);
    assert!(warned[0].detail.contains("SQS"), "{}", warned[0].detail);
    assert!(!warned[0].detail.contains("orders-producer"), "the pipeline's own function is no client: {}", warned[0].detail);

    // Without those clients, the destroy goes through and leaves no identity.
    for eni in [worker, own] {
        aws.ec2.delete_network_interface().network_interface_id(eni).send().await.unwrap();
    }
    let plan = tf.plan_destroy(&state, Some(&orders)).await;
    assert!(plan.diagnostics.is_empty(), "{}", show(&plan.diagnostics));
    let (gone, id, diags) = tf.apply_with_identity(&state, &V::Nil, None).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!((gone, id), (V::Nil, None));
}

// ---------------------------------------------------------------- bundle

fn bundle_config(net: &Net, endpoints: &[(&str, Option<&str>)]) -> V {
    let blocks = endpoints
        .iter()
        .map(|(service, kind)| {
            let mut f = vec![("service", s(service))];
            if let Some(k) = kind {
                f.push(("type", s(k)));
            }
            obj(f)
        })
        .collect();
    obj(vec![
        ("name", s("core")),
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", set(&net.subnets)),
        ("route_table_ids", set(&net.route_tables)),
        ("allowed_security_group_ids", set(std::slice::from_ref(&net.app_group))),
        ("endpoint", V::Array(blocks)),
    ])
}

struct Bundle {
    moto: Moto,
    _plugin: Plugin,
    net: Net,
    tf: Driver,
    aws: privatelink::aws::Aws,
}

async fn bundle_bed() -> Bundle {
    let moto = Moto::start();
    let net = Net::make(&moto.url());
    let plugin = Plugin::start(&[]);
    let tf = Driver::new(&plugin, BUNDLE, &moto.url(), &[]).await;
    let aws = common::aws(&moto.url()).await;
    Bundle { moto, _plugin: plugin, net, tf, aws }
}

#[tokio::test]
async fn bundle_identity_from_create_to_import() {
    let mut b = bundle_bed().await;

    // Create: the bundle id is known at plan; apply returns the same.
    let config = bundle_config(&b.net, &[("sqs", None), ("s3", Some("Gateway"))]);
    let plan = b.tf.plan_with_identity(&V::Nil, None, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let core = identity(vec![("id", s(str_of(&plan.state, "id"))), ("region", s(REGION))]);
    assert_eq!(plan.identity.as_ref(), Some(&core));
    let (state, id, diags) = b.tf.apply_with_identity(&V::Nil, &plan.state, plan.identity.as_ref()).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(id.as_ref(), Some(&core));
    let (fresh, id) = b.tf.read_with_identity(&state, Some(&core)).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(id.as_ref(), Some(&core));

    // Adding a service changes the bundle in place, not its identity.
    let more = bundle_config(&b.net, &[("sqs", None), ("s3", Some("Gateway")), ("logs", None)]);
    let plan = b.tf.plan_with_identity(&fresh, Some(&core), &more).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(plan.replace.is_empty(), "{:?}", plan.replace);
    assert_eq!(plan.identity.as_ref(), Some(&core));
    let (state, id, diags) = b.tf.apply_with_identity(&fresh, &plan.state, plan.identity.as_ref()).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(id.as_ref(), Some(&core));

    // Import by identity finds the endpoints by the owner tag and is the
    // import by their ids.
    let ids: Vec<&str> = field(&state, "endpoint").as_array().unwrap().iter().map(|e| str_of(e, "id")).collect();
    let (by_id, _) = b.tf.import_with_identity(&ids.join(",")).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let asked = identity(vec![("id", s(str_of(&state, "id"))), ("region", V::Nil)]);
    let (by_identity, id) = b.tf.import_by_identity(&asked).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(by_service(&by_identity), by_service(&by_id), "import by identity and by id find the same bundle");
    assert_eq!(id.as_ref(), Some(&core));

    // Wrong identities name the attribute.
    let err = b.tf.import_by_identity(&identity(vec![("id", s("peb-0000000000000000")), ("region", V::Nil)])).await.unwrap_err();
    assert!(show(&err).contains(r#"identity.id = "peb-0000000000000000""#), "{}", show(&err));
    let err = b.tf.import_by_identity(&identity(vec![("id", s(ids[0])), ("region", V::Nil)])).await.unwrap_err();
    assert!(show(&err).contains("identity.id"), "an endpoint id is not a bundle id: {}", show(&err));
    drop(b.moto);
}

#[tokio::test]
async fn bundle_destroy_plan_warns_about_clients_that_lose_their_path() {
    let mut b = bundle_bed().await;
    let state = b.tf.converge(&V::Nil, &bundle_config(&b.net, &[("sqs", None), ("s3", Some("Gateway"))])).await;

    // No client in the allowed group has an interface yet (network.py's
    // function "app" has that group, but moto's Lambda makes no network
    // interface for it): no warning.
    let plan = b.tf.plan_destroy(&state, None).await;
    assert_eq!(plan.state, V::Nil);
    assert!(plan.diagnostics.is_empty(), "{}", show(&plan.diagnostics));

    // Clients in the allowed group: an instance (RunInstances gives it an
    // interface with the group) and a VPC function's interface, made as
    // AWS Lambda names it.
    let instance = clients::instance(&b.aws, &b.net.subnets[0], &b.net.app_group).await;
    clients::lambda_interface(&b.aws, &b.net.subnets[1], &b.net.app_group, "orders-worker").await;

    let plan = b.tf.plan_destroy(&state, None).await;
    assert!(errors(&plan.diagnostics).is_empty(), "a destroy plan never fails on clients: {}", show(&plan.diagnostics));
    assert_eq!(plan.state, V::Nil);
    let warned = warnings(&plan.diagnostics);
    assert_eq!(warned.len(), 1, "{}", show(&plan.diagnostics));
    let detail = &warned[0].detail;
    for want in [format!("EC2 instance {instance}"), "Lambda function orders-worker".into(), "sqs".into(), b.net.vpc.clone()] {
        assert!(detail.contains(&want), "the warning names {want}: {detail}");
    }
    assert!(!detail.contains("s3"), "a Gateway endpoint admits by route, not by group: {detail}");

    // AWS unreachable (another provider process: configuring is per
    // process): the lookup fails, the destroy plan still succeeds, with a
    // warning saying what could not be checked.
    let offline_plugin = Plugin::start(&[]);
    let mut offline = unreachable_driver(&offline_plugin, BUNDLE).await;
    let plan = offline.plan_destroy(&state, None).await;
    assert!(errors(&plan.diagnostics).is_empty(), "{}", show(&plan.diagnostics));
    assert_eq!(plan.state, V::Nil);
    let warned = warnings(&plan.diagnostics);
    assert_eq!(warned.len(), 1, "{}", show(&plan.diagnostics));
    assert!(
        warned[0].summary.contains("Could not check") && warned[0].detail.contains("DescribeNetworkInterfaces"),
        "{}",
        show(&plan.diagnostics)
    );

    // Nothing to check (no allowed group): no AWS call at all, or the
    // unreachable provider would have warned.
    let mut ungrouped = state.clone();
    if let V::Map(entries) = &mut ungrouped {
        for (k, v) in entries.iter_mut() {
            if k.as_str() == Some("allowed_security_group_ids") {
                *v = V::Nil;
            }
        }
    }
    let plan = offline.plan_destroy(&ungrouped, None).await;
    assert!(plan.diagnostics.is_empty(), "{}", show(&plan.diagnostics));

    let (gone, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
}
