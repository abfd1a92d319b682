//! List resources over gRPC, as `terraform query` (Terraform 1.14+) calls
//! them: GetMetadata and GetProviderSchema announce a list resource per
//! composite (and the action), ValidateListResourceConfig checks the list
//! block's `config` without AWS, and ListResource, against moto behind the
//! AWS rules, finds every composite through its owner tags: each result's
//! identity is the one ReadResource and ImportResourceState give, its
//! object the state an import by that identity and a read give; `vpc_id`,
//! `name_prefix` and `limit` narrow the results; a bad `config` is refused
//! before any AWS call; a composite deleted by hand is no longer listed.
//! One moto for the lot: the four composites are made once, at the same
//! time, and every check runs on them.

use std::time::Instant;

use crate::common;

use common::driver::{canon, errors, list, list_config, path_of, show, validate_list, Driver, ListEvent};
use common::plugin::Plugin;
use common::private_function::{access, bundle_config, bundle_endpoint, str_of, strings, Bed, REGION};
use common::{field, obj, s};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

const FUNCTION: &str = "privatelink_private_function";
const PIPELINE: &str = "privatelink_private_lambda_pipeline";
const BUNDLE: &str = "privatelink_service_endpoint_bundle";
const ACTION: &str = "privatelink_dead_letter_redrive";
/// The list resources, in name order.
const LISTS: [&str; 3] = [FUNCTION, PIPELINE, BUNDLE];
/// The `limit` Terraform sends when the list block sets none.
const LIMIT: i64 = 100;
const TABLE: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/orders";
/// A VPC id of the right form, in no account.
const SOME_VPC: &str = "vpc-0123456789abcdef0";

/// cty's unknown value, as msgpack carries it.
fn unknown() -> V {
    V::Ext(0, vec![0])
}

/// Paths of the error diagnostics, written like HCL.
fn error_paths(diags: &[pb::Diagnostic]) -> Vec<String> {
    errors(diags).into_iter().map(path_of).collect()
}

#[tokio::test]
async fn list_resources_and_the_action_are_announced_and_list_configs_are_checked_without_aws() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;

    let meta = client.get_metadata(pb::get_metadata::Request {}).await.unwrap().into_inner();
    assert!(meta.diagnostics.is_empty(), "{:?}", meta.diagnostics);
    let mut lists: Vec<&str> = meta.list_resources.iter().map(|l| l.type_name.as_str()).collect();
    lists.sort();
    assert_eq!(lists, LISTS, "a list resource per composite");
    let actions: Vec<&str> = meta.actions.iter().map(|a| a.type_name.as_str()).collect();
    assert_eq!(actions, [ACTION]);

    let schema = client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    let mut listed: Vec<&str> = schema.list_resource_schemas.keys().map(String::as_str).collect();
    listed.sort();
    assert_eq!(listed, LISTS);
    for type_name in LISTS {
        assert!(schema.resource_schemas.contains_key(type_name), "{type_name}: a list resource lists a resource type");
        let list_schema = &schema.list_resource_schemas[type_name];
        assert_eq!(privatelink::schema::protocol_errors(list_schema), Vec::<String>::new(), "{type_name}");
        let block = list_schema.block.as_ref().unwrap();
        assert!(!block.description.is_empty(), "{type_name}");
        assert!(block.block_types.is_empty(), "{type_name}: attributes only");
        let mut attrs: Vec<(&str, bool, bool, bool, &[u8])> =
            block.attributes.iter().map(|a| (a.name.as_str(), a.optional, a.required, a.computed, a.r#type.as_slice())).collect();
        attrs.sort();
        let string: &[u8] = br#""string""#;
        assert_eq!(attrs, [("name_prefix", true, false, false, string), ("vpc_id", true, false, false, string)], "{type_name}");
        assert!(block.attributes.iter().all(|a| !a.description.is_empty()), "{type_name}");
    }
    let action = schema.action_schemas.get(ACTION).unwrap_or_else(|| panic!("no schema for {ACTION}"));
    let action_schema = action.schema.as_ref().expect("the action's schema");
    assert_eq!(privatelink::schema::protocol_errors(action_schema), Vec::<String>::new());

    // ValidateListResourceConfig: no provider configured, so no AWS call
    // could be made; each error at its attribute.
    for type_name in LISTS {
        for fine in [
            list_config(None, None),
            list_config(Some(SOME_VPC), Some("ord")),
            list_config(Some("vpc-0a1b2c3d"), None),
            obj(vec![("vpc_id", unknown()), ("name_prefix", unknown())]),
            V::Nil,
        ] {
            let d = validate_list(&mut client, type_name, &fine).await;
            assert!(d.is_empty(), "{type_name}: {fine:?} is fine: {}", show(&d));
        }
        let d = validate_list(&mut client, type_name, &list_config(Some("subnet-0123456789abcdef0"), Some(""))).await;
        assert_eq!(error_paths(&d), ["config.vpc_id", "config.name_prefix"], "{type_name}: {}", show(&d));
        assert!(d[0].detail.contains("subnet-0123456789abcdef0") && d[0].detail.contains("vpc-"), "{}", d[0].detail);
        let d = validate_list(&mut client, type_name, &list_config(Some("vpc-xyz"), None)).await;
        assert_eq!(error_paths(&d), ["config.vpc_id"], "{type_name}: {}", show(&d));
    }
    let d = validate_list(&mut client, "privatelink_nothing", &list_config(None, None)).await;
    assert_eq!(errors(&d).len(), 1, "an unknown type is refused: {}", show(&d));
}

// ---------------------------------------------------------------------------
// ListResource against moto.

/// A state compared by meaning: sets sorted (`canon`), and the `endpoint`
/// and `access` blocks in order of service (two reads of one composite
/// may find its endpoints in another order).
fn by_service(state: &V) -> V {
    let mut v = canon(state);
    if let V::Map(entries) = &mut v {
        for (k, val) in entries.iter_mut() {
            if matches!(k.as_str(), Some("endpoint" | "access")) {
                if let V::Array(blocks) = val {
                    blocks.sort_by(|a, b| field(a, "service").as_str().cmp(&field(b, "service").as_str()));
                }
            }
        }
    }
    v
}

/// (identity, display name) of each result, after asserting that none
/// carries a diagnostic, and that each carries an object exactly when
/// one was asked for.
fn results(type_name: &str, events: &[ListEvent], with_object: bool) -> Vec<(V, String)> {
    for e in events {
        assert!(e.diagnostics.is_empty(), "{type_name}: {}: {}", e.display_name, show(&e.diagnostics));
        assert_eq!(e.object.is_some(), with_object, "{type_name}: {}: an object exactly when asked for", e.display_name);
    }
    events
        .iter()
        .map(|e| (e.identity.clone().unwrap_or_else(|| panic!("{}: no identity", e.display_name)), e.display_name.clone()))
        .collect()
}

/// The display names of the results (checked as `results` checks them).
fn names(type_name: &str, events: &[ListEvent], with_object: bool) -> Vec<String> {
    results(type_name, events, with_object).into_iter().map(|(_, n)| n).collect()
}

/// The identity ReadResource gives `state` (as Terraform 1.12+ reads a
/// state stored without one) and ImportResourceState gives `import_id`:
/// the same, returned.
async fn identity_of(tf: &mut Driver, state: &V, import_id: &str) -> V {
    let (_, by_read) = tf.read_with_identity(state, None).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (_, by_import) = tf.import_with_identity(import_id).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(by_read, by_import, "{}: ReadResource and ImportResourceState give one identity", tf.type_name);
    by_read.unwrap_or_else(|| panic!("{}: no identity", tf.type_name))
}

/// The endpoint ids of a bundle's state: its import id.
fn endpoint_ids(state: &V) -> Vec<String> {
    field(state, "endpoint").as_array().unwrap().iter().map(|e| str_of(e, "id").to_string()).collect()
}

#[tokio::test]
async fn each_composite_is_listed_with_the_identity_and_the_state_its_import_gives() {
    let started = Instant::now();
    let mut b = Bed::start().await;
    let vpc = b.net.vpc.clone();
    let app = b.net.app_group.clone();

    // Made at once, as one apply would: a pipeline (its own SQS endpoint),
    // a private function (a DynamoDB Gateway endpoint of its own), a
    // bundle named `core` (a logs Interface endpoint behind its group) and
    // an unnamed bundle of one S3 Gateway endpoint (no group, no name).
    let pipeline_config = obj(vec![
        ("name", s("orders")),
        ("vpc_id", s(&vpc)),
        ("subnet_ids", strings(&b.net.subnets)),
        ("producer", common::pipeline::function("producer", vec![])),
        ("consumer", common::pipeline::function("consumer", vec![])),
    ]);
    let reader_config =
        b.config(vec![access("dynamodb", &["dynamodb:GetItem"], &[TABLE], vec![("endpoint_type", s("Gateway"))])], vec![], vec![]);
    let core_config = bundle_config(&b, &[&app], vec![bundle_endpoint("logs", "Interface")]);
    let gateway_config = obj(vec![
        ("vpc_id", s(&vpc)),
        ("route_table_ids", strings(&b.net.route_tables)),
        ("endpoint", V::Array(vec![bundle_endpoint("s3", "Gateway")])),
    ]);
    let mut pipelines = b.driver(PIPELINE);
    let mut bundles = b.driver(BUNDLE);
    let mut more_bundles = b.driver(BUNDLE);
    let (orders, reader, core, gateway) = tokio::join!(
        pipelines.converge(&V::Nil, &pipeline_config),
        b.tf.converge(&V::Nil, &reader_config),
        bundles.converge(&V::Nil, &core_config),
        more_bundles.converge(&V::Nil, &gateway_config),
    );
    eprintln!("list_protocol: four composites made in {:.1} s", started.elapsed().as_secs_f64());
    let (core_id, gateway_id) = (str_of(&core, "id").to_string(), str_of(&gateway, "id").to_string());

    // What each list should give, in order of display name: the identity
    // ReadResource and ImportResourceState agree on, and the display name.
    let expected: Vec<(&str, Vec<(V, String)>)> = vec![
        (FUNCTION, vec![(identity_of(&mut b.tf, &reader, "reader").await, format!("reader ({vpc})"))]),
        (PIPELINE, vec![(identity_of(&mut pipelines, &orders, "orders").await, format!("orders ({vpc})"))]),
        (
            BUNDLE,
            vec![
                (identity_of(&mut bundles, &core, &endpoint_ids(&core).join(",")).await, format!("core ({core_id}, {vpc})")),
                (identity_of(&mut bundles, &gateway, &endpoint_ids(&gateway).join(",")).await, format!("{gateway_id} ({vpc})")),
            ],
        ),
    ];
    assert_eq!(field(&expected[1].1[0].0, "name"), &s("orders"));
    assert_eq!(field(&expected[2].1[0].0, "id"), &s(&core_id));
    assert_eq!(field(&expected[2].1[0].0, "region"), &s(REGION));

    let empty_vpc = b.aws.ec2.create_vpc().cidr_block("10.9.0.0/16").send().await.unwrap();
    let empty_vpc = empty_vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut client = b.tf.client.clone();
    let all = list_config(None, None);
    for (type_name, want) in &expected {
        // Identity and display name, without the object.
        let found = list(&mut client, type_name, &all, false, LIMIT).await;
        assert_eq!(&results(type_name, &found, false), want, "{type_name}");

        // With the object: the state an import by the identity and a
        // read of it give (what -generate-config-out writes from).
        let found = list(&mut client, type_name, &all, true, LIMIT).await;
        assert_eq!(&results(type_name, &found, true), want, "{type_name} with objects");
        let mut tf = b.driver(type_name);
        for e in &found {
            let (identity, object) = (e.identity.as_ref().unwrap(), e.object.as_ref().unwrap());
            for (k, v) in identity.as_map().unwrap().iter().filter(|(k, _)| k.as_str() != Some("region")) {
                assert_eq!(field(object, k.as_str().unwrap()), v, "{type_name}: the object is the composite the identity names");
            }
            let (imported, id) = tf.import_by_identity(identity).await.unwrap_or_else(|d| panic!("{}", show(&d)));
            assert_eq!(id.as_ref(), Some(identity), "{type_name}: the import answers the identity listed");
            let read = tf.read(&imported).await;
            assert_eq!(by_service(object), by_service(&read), "{type_name}: {}", e.display_name);
        }

        // vpc_id: the composites' VPC lists them all, another VPC none.
        let found = list(&mut client, type_name, &list_config(Some(&vpc), None), false, LIMIT).await;
        assert_eq!(&results(type_name, &found, false), want, "{type_name} in {vpc}");
        let found = list(&mut client, type_name, &list_config(Some(&empty_vpc), None), true, LIMIT).await;
        assert!(found.is_empty(), "{type_name}: nothing in {empty_vpc}: {found:?}");
    }

    // name_prefix: names that start with it, of that type only; an
    // unnamed bundle has no name, so no prefix matches it (not even `peb-`).
    for (type_name, prefix, want) in [
        (PIPELINE, "ord", vec![format!("orders ({vpc})")]),
        (PIPELINE, "rea", vec![]),
        (FUNCTION, "rea", vec![format!("reader ({vpc})")]),
        (FUNCTION, "ord", vec![]),
        (BUNDLE, "co", vec![format!("core ({core_id}, {vpc})")]),
        (BUNDLE, "peb-", vec![]),
    ] {
        let found = list(&mut client, type_name, &list_config(None, Some(prefix)), false, LIMIT).await;
        assert_eq!(names(type_name, &found, false), want, "{type_name} with name_prefix {prefix:?}");
    }
    let found = list(&mut client, PIPELINE, &list_config(Some(&vpc), Some("orders")), false, LIMIT).await;
    assert_eq!(names(PIPELINE, &found, false), [format!("orders ({vpc})")], "both filters at once");

    // limit: the first results in order of display name.
    let found = list(&mut client, BUNDLE, &all, true, 1).await;
    assert_eq!(names(BUNDLE, &found, true), [format!("core ({core_id}, {vpc})")]);
    let found = list(&mut client, BUNDLE, &all, false, 2).await;
    assert_eq!(found.len(), 2);

    // Calls: one search of each kind, whatever the type; a refused
    // configuration, none at all.
    let proxy = b.moto.rules();
    for type_name in LISTS {
        proxy.reset_counts();
        list(&mut client, type_name, &all, false, LIMIT).await;
        let mut calls = proxy.calls();
        calls.sort();
        assert_eq!(calls, ["ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints"], "{type_name}: one search of each");
    }
    proxy.reset_counts();
    for type_name in LISTS {
        let found = list(&mut client, type_name, &list_config(Some("subnet-0123456789abcdef0"), Some("")), true, LIMIT).await;
        assert_eq!(found.len(), 1, "{type_name}: one event, with the errors: {found:?}");
        assert_eq!(found[0].identity, None);
        assert_eq!(found[0].object, None);
        assert_eq!(
            error_paths(&found[0].diagnostics),
            ["config.vpc_id", "config.name_prefix"],
            "{type_name}: {}",
            show(&found[0].diagnostics)
        );
    }
    assert_eq!(proxy.calls(), Vec::<String>::new(), "a refused configuration costs no AWS call");

    // The unnamed bundle deleted by hand (its one endpoint): no longer
    // listed; the other one still is, and still reads.
    b.aws.ec2.delete_vpc_endpoints().vpc_endpoint_ids(&endpoint_ids(&gateway)[0]).send().await.unwrap();
    let found = list(&mut client, BUNDLE, &all, true, LIMIT).await;
    assert_eq!(results(BUNDLE, &found, true), expected[2].1[..1], "only core is left");
    eprintln!("list_protocol: done in {:.1} s", started.elapsed().as_secs_f64());
}
