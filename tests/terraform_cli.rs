//! End to end: the real Terraform CLI, every version scripts/setup installs
//! (`every_terraform!`: 1.0.3, 1.6.6, 1.10.5, 1.15.5), installs the freshly built
//! provider from a filesystem mirror (offline) and runs it against moto.

use crate::common;
use crate::every_terraform;

use common::moto::Moto;
use common::terraform::Terraform;

every_terraform! {
    fn caller_identity_example_applies_plans_empty_and_destroys(version) {
        let moto = Moto::start();
        let url = moto.url();
        let vars = [("aws_endpoint", url.as_str()), ("region", "eu-central-1")];
        let tf = Terraform::from_example_v(version, "caller-identity");
        tf.init();
        tf.apply(&vars).ok("apply");
        let out = tf.outputs();
        assert_eq!(out["account_id"]["value"], "123456789012", "{out}");
        assert_eq!(out["region"]["value"], "eu-central-1");
        assert!(out["arn"]["value"].as_str().unwrap().contains("123456789012"));
        tf.assert_no_changes(&vars);
        tf.destroy(&vars).ok("destroy");
    }
}

every_terraform! {
    fn provider_log_lines_show_under_tf_log_debug(version) {
        let moto = Moto::start();
        let url = moto.url();
        let mut tf = Terraform::from_example_v(version, "caller-identity");
        tf.init();
        tf.set_env("TF_LOG", "DEBUG");
        let r = tf.apply(&[("aws_endpoint", url.as_str())]).ok("apply");
        // Terraform parsed our JSON lines: they come out as its own log entries
        // named after the plugin, with our fields, not as raw dumped text.
        let ours: Vec<&str> =
            r.stderr.lines().filter(|l| l.contains("provider.terraform-provider-privatelink_v0.1.0")).collect();
        assert!(
            ours.iter().any(|l| l.contains("[INFO]") && l.contains("AWS clients ready")),
            "no parsed INFO line from the provider:\n{}",
            ours.join("\n")
        );
        assert!(
            ours.iter().any(|l| l.contains("[DEBUG]") && l.contains("tf_rpc=ReadDataSource")),
            "no DEBUG line carrying tf_rpc:\n{}",
            ours.join("\n")
        );
        assert!(!r.stderr.contains("\"@message\""), "a line was dumped raw instead of parsed");
    }
}

/// A provider block with two mistakes Terraform should point at.
const BAD_PROVIDER_CONFIG: &str = r#"
terraform {
  required_providers {
    privatelink = { source = "privatelink/privatelink" }
  }
}

provider "privatelink" {
  region = "moon-base-1"
  endpoints {
    sqs = "localhost:4566"
  }
}

data "privatelink_caller_identity" "me" {}
"#;

every_terraform! {
    fn bad_provider_config_is_reported_at_the_attribute(version) {
        let tf = Terraform::new_v(version, &[(
            "main.tf",
            BAD_PROVIDER_CONFIG,
        )]);
        tf.init();
        let r = tf.run(&["validate", "-no-color"]);
        assert_eq!(r.code, 1, "{}", r.all());
        let text = r.all();
        assert!(text.contains("Invalid region"), "{text}");
        // Terraform points at the offending line because the diagnostic has a path.
        assert!(text.contains(r#"region = "moon-base-1""#), "{text}");
        assert!(text.contains("Invalid endpoint URL"), "{text}");
        assert!(text.contains(r#"sqs = "localhost:4566""#), "{text}");
    }
}

/// The variables of the examples: the emulator's URL and the network
/// network.py made.
fn example_vars<'a>(url: &str, net: &'a [(String, String)]) -> Vec<(&'a str, String)> {
    let mut vars: Vec<(&str, String)> = vec![("aws_endpoint", url.to_string())];
    vars.extend(net.iter().map(|(k, v)| (k.as_str(), v.clone())));
    vars
}

every_terraform! {
    /// The S3 scenario through Terraform: apply, empty plan, change a
    /// subnet in place, import into a fresh state with an empty plan, destroy,
    /// and nothing of ours left in the emulator.
    fn lambda_s3_endpoint_example_full_lifecycle(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = common::network(&url);
        let vars = example_vars(&url, &net);
        let tf = Terraform::from_example_v(version, "lambda-s3-endpoint");
        tf.init();
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        tf.apply(&refs).ok("apply");
        let out = tf.outputs();
        let bundle = out["bundle_id"]["value"].as_str().unwrap().to_string();
        assert!(bundle.starts_with("peb-"), "{out}");
        assert!(out["s3_endpoint_id"]["value"].as_str().unwrap().starts_with("vpce-"));
        tf.assert_no_changes(&refs);

        // One subnet fewer: an in-place update.
        let subnets = common::list_var(&net, "subnet_ids");
        let one = format!("[\"{}\"]", subnets[0]);
        let changed: Vec<(&str, &str)> = refs.iter().map(|(k, v)| if *k == "subnet_ids" { (*k, one.as_str()) } else { (*k, *v) }).collect();
        let plan = tf.plan(&changed);
        assert_eq!(plan.code, 2, "{}", plan.all());
        assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
        tf.apply(&changed).ok("apply after the subnet change");
        tf.assert_no_changes(&changed);

        // Import into a fresh state.
        let rt = tokio::runtime::Runtime::new().unwrap();
        let ids: Vec<String> = rt.block_on(async {
            let aws = common::aws(&url).await;
            let eps = aws
                .ec2
                .describe_vpc_endpoints()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values(&bundle).build())
                .send()
                .await
                .unwrap();
            eps.vpc_endpoints()
                .iter()
                .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
                .map(|e| e.vpc_endpoint_id().unwrap().to_string())
                .collect()
        });
        assert_eq!(ids.len(), 2);
        let fresh = Terraform::from_example_v(version, "lambda-s3-endpoint");
        fresh.init();
        let mut import_args: Vec<String> = vec!["import".into(), "-no-color".into()];
        import_args.extend(changed.iter().map(|(k, v)| format!("-var={k}={v}")));
        import_args.push("privatelink_service_endpoint_bundle.app".into());
        import_args.push(ids.join(","));
        fresh.run(&import_args.iter().map(String::as_str).collect::<Vec<_>>()).ok("import");
        // Import records no outputs, so the plan lists those; the resource itself
        // must plan no action.
        let plan = fresh.plan(&changed);
        assert_ne!(plan.code, 1, "{}", plan.all());
        for action in ["will be created", "will be updated", "must be replaced", "will be destroyed"] {
            assert!(!plan.stdout.contains(action), "the imported bundle plans a change:\n{}", plan.stdout);
        }
        let mut refresh: Vec<String> = vec!["apply".into(), "-refresh-only".into(), "-auto-approve".into(), "-no-color".into()];
        refresh.extend(changed.iter().map(|(k, v)| format!("-var={k}={v}")));
        fresh.run(&refresh.iter().map(String::as_str).collect::<Vec<_>>()).ok("apply -refresh-only");
        fresh.assert_no_changes(&changed);

        // Destroy from the imported state; the old state then finds nothing.
        fresh.destroy(&changed).ok("destroy");
        let left = rt.block_on(async {
            let aws = common::aws(&url).await;
            let groups = aws
                .ec2
                .describe_security_groups()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values(&bundle).build())
                .send()
                .await
                .unwrap()
                .security_groups()
                .len();
            let eps = aws
                .ec2
                .describe_vpc_endpoints()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values(&bundle).build())
                .send()
                .await
                .unwrap()
                .vpc_endpoints()
                .iter()
                .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
                .count();
            (groups, eps)
        });
        assert_eq!(left, (0, 0), "(groups, endpoints) of the bundle left after destroy");
        tf.destroy(&changed).ok("destroy of the stale state");
    }
}

every_terraform! {
    /// The S3 scenario as the seed writes it, through the AWS rules: S3
    /// through an Interface endpoint whose group admits only the Lambda's
    /// group, in a VPC with no S3 Gateway endpoint. AWS (and the rules)
    /// refuse such an endpoint unless it asks for private DNS inside the
    /// VPC too (PrivateDnsOnlyForInboundResolverEndpoint=false), which the
    /// bundle does: apply, the choice in the outputs, empty plan, destroy,
    /// nothing of ours left.
    fn lambda_s3_interface_example_applies_under_the_aws_rules(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = common::network(&url);
        let vars = example_vars(&url, &net);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let tf = Terraform::from_example_v(version, "lambda-s3-endpoint/s3-interface");
        tf.init();
        tf.apply(&refs).ok("apply");
        let out = tf.outputs();
        let bundle = out["bundle_id"]["value"].as_str().unwrap().to_string();
        assert!(out["s3_endpoint_id"]["value"].as_str().unwrap().starts_with("vpce-"), "{out}");
        assert_eq!(out["s3_private_dns_only_for_inbound_resolver_endpoint"]["value"], false, "{out}");
        tf.assert_no_changes(&refs);
        tf.destroy(&refs).ok("destroy");
        let rt = tokio::runtime::Runtime::new().unwrap();
        let left = rt.block_on(async {
            let aws = common::aws(&url).await;
            let owned = aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values(&bundle).build();
            let eps = aws.ec2.describe_vpc_endpoints().filters(owned).send().await.unwrap();
            eps.vpc_endpoints().iter().filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into())).count()
        });
        assert_eq!(left, 0, "endpoints of the bundle left after destroy");
    }
}

every_terraform! {
    /// The SQS scenario through Terraform: apply, empty plan, a message
    /// sent to the queue is taken by the consumer's mapping, an in-place
    /// update, empty plan, destroy, and nothing of ours left in the emulator.
    fn private_lambda_sqs_example_full_lifecycle(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = common::network(&url);
        let vars = example_vars(&url, &net);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let tf = Terraform::from_example_v(version, "private-lambda-sqs");
        tf.init();
        tf.apply(&refs).ok("apply");
        let out = tf.outputs();
        let queue_url = out["queue_url"]["value"].as_str().unwrap().to_string();
        assert!(out["endpoint_id"]["value"].as_str().unwrap().starts_with("vpce-"), "{out}");
        tf.assert_no_changes(&refs);

        // A message through the queue: the consumer's mapping takes it (moto
        // runs the mapping in its no-Docker Lambda mode and deletes the message).
        let rt = tokio::runtime::Runtime::new().unwrap();
        let remaining = rt.block_on(async {
            let aws = common::aws(&url).await;
            aws.sqs.send_message().queue_url(&queue_url).message_body(r#"{"order":42}"#).send().await.unwrap();
            let mut left = String::new();
            for _ in 0..50 {
                let a = aws
                    .sqs
                    .get_queue_attributes()
                    .queue_url(&queue_url)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
                    .send()
                    .await
                    .unwrap();
                let attrs = a.attributes().unwrap();
                left = format!(
                    "{}+{}",
                    attrs[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
                    attrs[&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible]
                );
                if left == "0+0" {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            left
        });
        assert_eq!(remaining, "0+0", "the consumer's mapping did not take the message");

        // An in-place update.
        let mut changed = refs.clone();
        changed.push(("consumer_memory", "256"));
        let plan = tf.plan(&changed);
        assert_eq!(plan.code, 2, "{}", plan.all());
        assert!(plan.stdout.contains("1 to change") && plan.stdout.contains("0 to destroy"), "{}", plan.stdout);
        tf.apply(&changed).ok("apply of the update");
        tf.assert_no_changes(&changed);

        tf.destroy(&changed).ok("destroy");
        let left = rt.block_on(async {
            let aws = common::aws(&url).await;
            let queues = aws.sqs.list_queues().send().await.unwrap().queue_urls().len();
            let functions = aws.lambda.list_functions().send().await.unwrap().functions().iter().filter(|f| f.function_name().is_some_and(|n| n.starts_with("orders-"))).count();
            let mappings = aws.lambda.list_event_source_mappings().send().await.unwrap().event_source_mappings().len();
            let roles = aws.iam.list_roles().send().await.unwrap().roles().iter().filter(|r| r.role_name().starts_with("orders-")).count();
            let groups = aws
                .ec2
                .describe_security_groups()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values("pipeline/orders").build())
                .send()
                .await
                .unwrap()
                .security_groups()
                .len();
            let endpoints = aws
                .ec2
                .describe_vpc_endpoints()
                .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values("pipeline/orders").build())
                .send()
                .await
                .unwrap()
                .vpc_endpoints()
                .iter()
                .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
                .count();
            let log_groups = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/orders-").send().await.unwrap().log_groups().len();
            (queues, functions, mappings, roles, groups, endpoints, log_groups)
        });
        assert_eq!(left, (0, 0, 0, 0, 0, 0, 0), "(queues, functions, mappings, roles, groups, endpoints, log groups) left after destroy");
    }
}

/// A top-level reachability read of `function` (known to every Terraform
/// version, unlike the examples' `check` blocks), read once `after` exists.
fn reach_file(function: &str, services: &str, after: &str) -> String {
    format!(
        r#"
data "privatelink_reachability" "probe" {{
  function_name = {function}
  services      = {services}
  depends_on    = [{after}]
}}
output "probe_reachable" {{ value = data.privatelink_reachability.probe.reachable }}
output "probe_findings" {{ value = data.privatelink_reachability.probe.findings }}
output "probe_paths" {{ value = [for s in data.privatelink_reachability.probe.service : "${{s.name}}=${{s.path.kind}}"] }}
"#
    )
}

every_terraform! {
    /// Both examples' functions reach their services with no finding,
    /// through Terraform; on 1.5 and later the examples' `check` blocks
    /// pass quietly, and warn, naming the hop and the fix, once a rule the
    /// path needs is removed behind Terraform's back.
    fn the_examples_functions_reach_their_services_and_their_checks_warn_when_a_hop_breaks(version) {
        let checks = common::terraform::has_check_blocks(version);
        for (example, function, services, after, paths) in [
            ("private-lambda-sqs", "privatelink_private_lambda_pipeline.orders.producer_function_arn", r#"["sqs"]"#, "privatelink_private_lambda_pipeline.orders", vec!["sqs=interface_endpoint"]),
            ("lambda-s3-endpoint", "var.app_function_name", r#"["s3", "sqs"]"#, "privatelink_service_endpoint_bundle.app", vec!["s3=gateway_endpoint", "sqs=interface_endpoint"]),
        ] {
            let moto = Moto::start();
            let url = moto.url();
            let net = common::network(&url);
            let vars = example_vars(&url, &net);
            let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let tf = Terraform::from_example_v(version, example);
            assert_eq!(tf.workdir().join("checks.tf").exists(), checks, "checks.tf only where Terraform knows check blocks");
            tf.write("reach.tf", &reach_file(function, services, after));
            tf.init();
            let applied = tf.apply(&refs).ok("apply");
            assert!(!applied.all().contains("Check block assertion"), "{example}: {}", applied.all());
            let out = tf.outputs();
            assert_eq!(out["probe_reachable"]["value"], serde_json::json!(true), "{example}: {out}");
            assert_eq!(out["probe_findings"]["value"], serde_json::json!([]), "{example}: {out}");
            assert_eq!(out["probe_paths"]["value"], serde_json::json!(paths), "{example}: {out}");

            if example == "lambda-s3-endpoint" {
                // The app's group loses its HTTPS egress out of band (the
                // bundle does not own it): the read says so, and so does the check.
                let group = common::var(&net, "app_security_group_id").to_string();
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async {
                    let aws = common::aws(&moto.plain_url()).await;
                    let rules = aws.ec2.describe_security_group_rules().filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(&group).build()).send().await.unwrap();
                    let egress: Vec<String> = rules.security_group_rules().iter().filter(|r| r.is_egress() == Some(true)).filter_map(|r| r.security_group_rule_id().map(str::to_string)).collect();
                    aws.ec2.revoke_security_group_egress().group_id(&group).set_security_group_rule_ids(Some(egress)).send().await.unwrap();
                });
                let all = tf.plan(&refs).all();
                if checks {
                    assert!(all.contains("Check block assertion failed") && all.contains("No egress rule of the client's groups"), "{example}: {all}");
                }
                let refreshed = tf.apply(&refs).ok("apply after the break");
                let out = tf.outputs();
                assert_eq!(out["probe_reachable"]["value"], serde_json::json!(false), "{example}: {out} {}", refreshed.all());
                let kinds: Vec<&str> = out["probe_findings"]["value"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
                assert_eq!(kinds, ["client_egress_missing", "client_egress_missing"], "{example}: {out}");
            }
            tf.destroy(&refs).ok("destroy");
        }
    }
}

/// A pipeline with every function setting: the producer on arm64 with a
/// layer, reserved concurrency, 1 GB of /tmp, Active tracing, a KMS key
/// for its environment and a description; the consumer from a container
/// image with a reservation of its own; each function's log group kept a
/// week for the producer, the default month for the consumer; extra
/// rights on the producer's role; the queues under a customer-managed key
/// (by its alias) with their delivery settings.
fn every_setting_hcl(url: &str, net: &common::Net, layer: &str) -> String {
    format!(
        r#"{provider}
resource "privatelink_private_lambda_pipeline" "this" {{
  name       = "settings"
  vpc_id     = "{vpc}"
  subnet_ids = ["{subnet}"]

  producer {{
    source_dir                     = "{producer}"
    handler                        = "index.handler"
    runtime                        = "python3.12"
    architectures                  = ["arm64"]
    layers                         = ["{layer}"]
    reserved_concurrent_executions = 5
    ephemeral_storage_size         = 1024
    tracing_mode                   = "Active"
    kms_key_arn                    = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
    description                    = "Sends orders"
    log_retention_in_days          = 7
    policy_statements = jsonencode([{{
      Effect   = "Allow"
      Action   = ["s3:GetObject"]
      Resource = "arn:aws:s3:::reports/*"
    }}])
    policy_arns = ["arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"]
  }}

  consumer {{
    image_uri                      = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:1"
    reserved_concurrent_executions = 2
  }}

  queue {{
    kms_master_key_id         = "alias/settings-queue"
    delay_seconds             = 5
    receive_wait_time_seconds = 10
    max_message_size          = 262144
  }}
}}
{reach}"#,
        provider = common::terraform::emulator_provider(url),
        vpc = net.vpc,
        subnet = net.subnets[0],
        producer = common::terraform::example_code("producer"),
        reach = reach_file(
            "privatelink_private_lambda_pipeline.this.producer_function_arn",
            r#"["sqs"]"#,
            "privatelink_private_lambda_pipeline.this"
        ),
    )
}

every_terraform! {
    /// Every function, role, log group and queue setting through Terraform:
    /// the plan warns that Active tracing has no X-Ray endpoint in the VPC,
    /// the apply makes them, the reachability read reports the X-Ray path
    /// missing, a second plan is empty, an import into a fresh state plans
    /// no change, and the destroy leaves no function and no log group.
    fn a_pipeline_with_every_setting_applies_imports_and_destroys(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = common::Net::make(&url);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let layer = rt.block_on(async {
            let aws = common::aws(&url).await;
            let zip = privatelink::parts::code::from_dir(std::path::Path::new(&common::terraform::example_code("consumer"))).unwrap().zip;
            let content = aws_sdk_lambda::types::LayerVersionContentInput::builder().zip_file(aws_sdk_lambda::primitives::Blob::new(zip)).build();
            let out = aws.lambda.publish_layer_version().layer_name("libs").content(content).send().await.unwrap();
            let key = aws.kms.create_key().description("settings queue").send().await.unwrap();
            let key_id = key.key_metadata().unwrap().key_id().to_string();
            aws.kms.create_alias().alias_name("alias/settings-queue").target_key_id(key_id).send().await.unwrap();
            out.layer_version_arn().unwrap().to_string()
        });
        let hcl = every_setting_hcl(&url, &net, &layer);
        let tf = Terraform::new_v(version, &[("main.tf", &hcl)]);
        tf.init();
        let plan = tf.plan(&[]);
        assert_eq!(plan.code, 2, "{}", plan.all());
        assert!(plan.all().contains("Traces will not reach X-Ray"), "the plan warns: {}", plan.all());
        tf.apply(&[]).ok("apply");
        let out = tf.outputs();
        assert_eq!(out["probe_paths"]["value"][1], serde_json::json!("xray=none"), "the traced producer's X-Ray path is checked: {out}");
        assert_eq!(out["probe_reachable"]["value"], serde_json::json!(false), "{out}");
        let (arch, reserved, package) = rt.block_on(async {
            let aws = common::aws(&url).await;
            let p = aws.lambda.get_function().function_name("settings-producer").send().await.unwrap();
            let c = aws.lambda.get_function().function_name("settings-consumer").send().await.unwrap();
            (
                p.configuration().unwrap().architectures()[0].as_str().to_string(),
                (p.concurrency().and_then(|x| x.reserved_concurrent_executions()), c.concurrency().and_then(|x| x.reserved_concurrent_executions())),
                c.configuration().unwrap().package_type().map(|t| t.as_str().to_string()),
            )
        });
        assert_eq!((arch.as_str(), reserved, package.as_deref()), ("arm64", (Some(5), Some(2)), Some("Image")));
        let retention = |name: &str| {
            rt.block_on(async {
                let aws = common::aws(&url).await;
                let groups = aws.logs.describe_log_groups().log_group_name_prefix(name).send().await.unwrap();
                groups.log_groups().iter().find(|g| g.log_group_name() == Some(name)).map(|g| g.retention_in_days())
            })
        };
        assert_eq!(retention("/aws/lambda/settings-producer"), Some(Some(7)));
        assert_eq!(retention("/aws/lambda/settings-consumer"), Some(Some(30)));
        let (producer_policies, queue_delay) = rt.block_on(async {
            let aws = common::aws(&url).await;
            let attached = aws.iam.list_attached_role_policies().role_name("settings-producer").send().await.unwrap();
            let names: Vec<String> = attached.attached_policies().iter().filter_map(|p| p.policy_name().map(str::to_string)).collect();
            let q = aws.sqs.get_queue_url().queue_name("settings").send().await.unwrap();
            let attrs = aws.sqs.get_queue_attributes().queue_url(q.queue_url().unwrap()).attribute_names(aws_sdk_sqs::types::QueueAttributeName::DelaySeconds).send().await.unwrap();
            (names, attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::DelaySeconds].clone())
        });
        assert_eq!((producer_policies, queue_delay.as_str()), (vec!["AWSXRayDaemonWriteAccess".to_string()], "5"));
        tf.assert_no_changes(&[]);

        let fresh = Terraform::new_v(version, &[("main.tf", &hcl)]);
        fresh.init();
        fresh.run(&["import", "-no-color", "privatelink_private_lambda_pipeline.this", "settings"]).ok("import");
        let plan = fresh.plan(&[]);
        assert_ne!(plan.code, 1, "{}", plan.all());
        for action in ["will be created", "will be updated", "must be replaced", "will be destroyed"] {
            assert!(!plan.stdout.contains(action), "the imported pipeline plans a change:\n{}", plan.stdout);
        }

        tf.destroy(&[]).ok("destroy");
        let left = rt.block_on(async {
            let aws = common::aws(&url).await;
            let functions = aws.lambda.list_functions().send().await.unwrap();
            let functions = functions.functions().iter().filter(|f| f.function_name().is_some_and(|n| n.starts_with("settings-"))).count();
            let groups = aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/settings-").send().await.unwrap();
            (functions, groups.log_groups().len())
        });
        assert_eq!(left, (0, 0), "(functions, log groups) left after destroy");
    }
}

/// `text` with every run of white space one space: Terraform wraps its
/// diagnostics' lines.
fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What is left in moto of private function `name`: (functions, roles,
/// log groups, security groups, live endpoints), the groups and endpoints
/// by its owner tag, the groups by their names too.
fn private_function_left(url: &str, name: &str) -> (usize, usize, usize, usize, usize) {
    use aws_sdk_ec2::types::Filter;
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let aws = common::aws(url).await;
        let owner = format!("function/{name}");
        let functions = aws.lambda.list_functions().send().await.unwrap();
        let functions = functions.functions().iter().filter(|f| f.function_name() == Some(name)).count();
        let roles = aws.iam.list_roles().send().await.unwrap().roles().iter().filter(|r| r.role_name() == name).count();
        let log_group = format!("/aws/lambda/{name}");
        let logs = aws.logs.describe_log_groups().log_group_name_prefix(&log_group).send().await.unwrap();
        let log_groups = logs.log_groups().iter().filter(|g| g.log_group_name() == Some(log_group.as_str())).count();
        let tagged = aws
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("tag:privatelink:owner").values(&owner).build())
            .send()
            .await
            .unwrap();
        let named = aws
            .ec2
            .describe_security_groups()
            .filters(Filter::builder().name("group-name").values(format!("{name}-function")).values(format!("{name}-endpoints")).build())
            .send()
            .await
            .unwrap();
        let groups = tagged.security_groups().len().max(named.security_groups().len());
        let eps = aws
            .ec2
            .describe_vpc_endpoints()
            .filters(Filter::builder().name("tag:privatelink:owner").values(&owner).build())
            .send()
            .await
            .unwrap();
        let live = |e: &&aws_sdk_ec2::types::VpcEndpoint| {
            !matches!(e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(), Some("deleted" | "deleting"))
        };
        let endpoints = eps.vpc_endpoints().iter().filter(live).count();
        (functions, roles, log_groups, groups, endpoints)
    })
}

every_terraform! {
    /// examples/lambda-s3-private-function through Terraform: apply (on
    /// 1.5+ its reachability check passes quietly), an empty plan, `terraform
    /// import` by name into a fresh state planning no change (on 1.15.5 an
    /// `import` block by identity too, planning only the import); on 1.5+,
    /// once the function's group loses its egress behind Terraform's back,
    /// a plan that repairs it with the check's "known after apply" warning
    /// and a refresh-only plan whose check fails naming the hop and the
    /// fix; destroy, and nothing of it left in moto.
    fn lambda_s3_private_function_example_applies_imports_and_destroys(version) {
        const EXAMPLE: &str = "lambda-s3-private-function";
        const ADDRESS: &str = "privatelink_private_function.reader";
        const NAME: &str = "metadata-reader";
        let checks = common::terraform::has_check_blocks(version);
        let moto = Moto::start();
        let url = moto.url();
        let net = common::network(&url);
        let vars = example_vars(&url, &net);
        let refs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let tf = Terraform::from_example_v(version, EXAMPLE);
        assert_eq!(tf.workdir().join("checks.tf").exists(), checks, "checks.tf only where Terraform knows check blocks");
        tf.init();
        let applied = tf.apply(&refs).ok("apply");
        assert!(!applied.all().contains("Check block assertion"), "the reachability check warns after apply:\n{}", applied.all());
        // The outputs as the state holds them (`terraform output` would cost another run).
        let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(tf.workdir().join("terraform.tfstate")).unwrap()).unwrap();
        let out = &state["outputs"];
        assert!(out["function_arn"]["value"].as_str().unwrap().ends_with(&format!(":function:{NAME}")), "{out}");
        assert!(out["s3_endpoint_id"]["value"].as_str().unwrap().starts_with("vpce-"), "{out}");
        assert_eq!(out["log_group_name"]["value"], serde_json::json!(format!("/aws/lambda/{NAME}")), "{out}");
        let function_group = out["security_group_id"]["value"].as_str().unwrap().to_string();
        let endpoint_group = out["endpoint_security_group_id"]["value"].as_str().unwrap().to_string();
        tf.assert_no_changes(&refs);

        // Import by name into a fresh state: the plan is empty (Terraform
        // 1.0 also lists the outputs, which an import does not record).
        let fresh = Terraform::from_example_v(version, EXAMPLE);
        fresh.init();
        let mut import: Vec<String> = vec!["import".into(), "-no-color".into()];
        import.extend(refs.iter().map(|(k, v)| format!("-var={k}={v}")));
        import.extend([ADDRESS.to_string(), NAME.to_string()]);
        fresh.run(&import.iter().map(String::as_str).collect::<Vec<_>>()).ok("import");
        let plan = fresh.plan(&refs);
        let only_outputs = version == "1.0.3" && plan.code == 2 && plan.stdout.contains("Changes to Outputs") && !plan.stdout.contains("Plan:");
        assert!(plan.code == 0 || only_outputs, "the imported private function plans a change (exit {}):\n{}", plan.code, plan.all());

        if version == "1.15.5" {
            // Import by identity (Terraform 1.12+): only the import is planned.
            let by_identity = Terraform::from_example_v(version, EXAMPLE);
            by_identity.write("import.tf", &format!("import {{\n  to       = {ADDRESS}\n  identity = {{ name = \"{NAME}\" }}\n}}\n"));
            by_identity.init();
            let plan = by_identity.plan(&refs);
            assert_ne!(plan.code, 1, "{}", plan.all());
            assert!(
                plan.stdout.contains("Plan: 1 to import, 0 to add, 0 to change, 0 to destroy."),
                "importing by identity should only import:\n{}",
                plan.stdout
            );
        }

        if checks {
            // The function's group loses its HTTPS egress to the endpoint
            // out of band (moto itself, as a console user would).
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(async {
                let aws = common::aws(&moto.plain_url()).await;
                let by_group = aws_sdk_ec2::types::Filter::builder().name("group-id").values(&function_group).build();
                let rules = aws.ec2.describe_security_group_rules().filters(by_group).send().await.unwrap();
                let egress: Vec<String> = rules.security_group_rules().iter().filter(|r| r.is_egress() == Some(true)).filter_map(|r| r.security_group_rule_id().map(str::to_string)).collect();
                assert_eq!(egress.len(), 1, "the function's group has one egress rule: {rules:?}");
                aws.ec2.revoke_security_group_egress().group_id(&function_group).set_security_group_rule_ids(Some(egress)).send().await.unwrap();
            });
            // A plan repairs the rule (the composite owns it), so the
            // reachability read, which depends on the function, waits for
            // the apply: the check warns that its result comes after it.
            let plan = tf.plan(&refs);
            assert_eq!(plan.code, 2, "{}", plan.all());
            let all = words(&plan.all());
            assert!(all.contains(&format!("missing egress tcp 443 to {endpoint_group}")), "the plan should list the drift it repairs:\n{all}");
            assert!(all.contains("Check block assertion known after apply") && all.contains("check \"reader_reaches_s3\""), "the check should warn:\n{all}");
            // A refresh-only plan changes nothing, so the read runs now and
            // the check fails, naming the hop and the fix.
            let mut args: Vec<String> = vec!["plan".into(), "-refresh-only".into(), "-no-color".into()];
            args.extend(refs.iter().map(|(k, v)| format!("-var={k}={v}")));
            let all = words(&tf.run(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok("plan -refresh-only").all());
            assert!(
                all.contains("Check block assertion failed")
                    && all.contains(&format!("No egress rule of the client's groups ({function_group})"))
                    && all.contains(&format!("Fix: Add egress TCP 443 to {endpoint_group}")),
                "the check should fail with the finding:\n{all}"
            );
        }

        tf.destroy(&refs).ok("destroy");
        assert_eq!(private_function_left(&url, NAME), (0, 0, 0, 0, 0), "(functions, roles, log groups, groups, endpoints) left after destroy");
    }
}
