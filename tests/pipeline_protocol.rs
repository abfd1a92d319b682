//! privatelink_private_lambda_pipeline over gRPC against moto: create,
//! exact no-op refresh and plan, in-place updates, drift, partial failure,
//! destroy with nothing left.

use crate::common;

use common::driver::{canon, errors, is_unknown, show, Driver};
use common::moto::Moto;
use common::plugin::Plugin;
use common::{field, list_var, obj, s, var};
use rmpv::Value as V;

const TYPE: &str = "privatelink_private_lambda_pipeline";

struct Bed {
    moto: Moto,
    plugin: Plugin,
    tf: Driver,
    aws: privatelink::aws::Aws,
    vpc: String,
    subnets: Vec<String>,
}

async fn bed() -> Bed {
    bed_with(&[]).await
}

async fn bed_with(env: &[(&str, &str)]) -> Bed {
    let moto = Moto::start();
    let url = moto.url();
    bed_at(moto, &url, env).await
}

/// A bed whose clients go to `url` (moto's rules, or another proxy in
/// front of `moto`).
async fn bed_at(moto: Moto, url: &str, env: &[(&str, &str)]) -> Bed {
    let net = common::network(url);
    let plugin = Plugin::start(env);
    let tf = Driver::new(&plugin, TYPE, url, &[("team", "payments")]).await;
    let aws = common::aws(url).await;
    Bed { vpc: var(&net, "vpc_id").into(), subnets: list_var(&net, "subnet_ids"), moto, plugin, tf, aws }
}

fn code_dir(which: &str) -> String {
    common::root().join("examples/private-lambda-sqs").join(which).display().to_string()
}

fn function(which: &str, extra: Vec<(&str, V)>) -> V {
    let mut f = vec![("source_dir", s(&code_dir(which))), ("handler", s("index.handler")), ("runtime", s("python3.12"))];
    f.extend(extra);
    obj(f)
}

impl Bed {
    fn config(&self, producer: V, consumer: V, extra: Vec<(&str, V)>) -> V {
        let mut f = vec![
            ("name", s("orders")),
            ("vpc_id", s(&self.vpc)),
            ("subnet_ids", V::Array(self.subnets.iter().map(|x| s(x)).collect())),
            ("producer", producer),
            ("consumer", consumer),
            ("tags", obj(vec![("service", s("orders"))])),
        ];
        f.extend(extra);
        obj(f)
    }
}

fn str_of<'a>(v: &'a V, k: &str) -> &'a str {
    field(v, k).as_str().unwrap_or_else(|| panic!("{k} is not a string: {:?}", field(v, k)))
}

#[tokio::test]
async fn create_refresh_update_and_destroy() {
    let mut b = bed().await;
    let config = b.config(function("producer", vec![]), function("consumer", vec![("timeout", V::from(20))]), vec![]);
    let (planned, _) = b.tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(is_unknown(field(&planned, "queue_url")));
    assert!(field(field(&planned, "producer"), "code_sha256").is_str(), "the code hash is known at plan");
    let (state, diags) = b.tf.apply(&V::Nil, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    for k in [
        "queue_url",
        "queue_arn",
        "dead_letter_queue_arn",
        "producer_function_arn",
        "consumer_function_arn",
        "event_source_mapping_id",
        "producer_security_group_id",
        "endpoint_id",
        "endpoint_security_group_id",
        "producer_role_arn",
        "consumer_role_arn",
    ] {
        assert!(!str_of(&state, k).is_empty(), "{k} empty");
    }

    // What was made, as AWS has it.
    let aws = &b.aws;
    let producer = aws.lambda.get_function().function_name("orders-producer").send().await.unwrap();
    let cfg = producer.configuration().unwrap();
    assert_eq!(cfg.environment().unwrap().variables().unwrap()["QUEUE_URL"], str_of(&state, "queue_url"));
    let vpc = cfg.vpc_config().unwrap();
    let mut subnets = vpc.subnet_ids().to_vec();
    subnets.sort();
    let mut want = b.subnets.clone();
    want.sort();
    assert_eq!(subnets, want, "the producer is in the private subnets");
    assert_eq!(vpc.security_group_ids(), [str_of(&state, "producer_security_group_id")]);
    let consumer = aws.lambda.get_function().function_name("orders-consumer").send().await.unwrap();
    assert!(consumer.configuration().unwrap().vpc_config().is_none_or(|v| v.subnet_ids().is_empty()), "the consumer stays outside the VPC");
    // Queue: redrive to the DLQ, visibility six times the consumer's timeout.
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(str_of(&state, "queue_url"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    assert_eq!(attrs[&aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout], "120");
    assert!(attrs[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy].contains(str_of(&state, "dead_letter_queue_arn")));
    // Groups: producer out on 443 to the endpoint's group only; endpoint in from the producer only.
    let groups = aws
        .ec2
        .describe_security_groups()
        .group_ids(str_of(&state, "producer_security_group_id"))
        .group_ids(str_of(&state, "endpoint_security_group_id"))
        .send()
        .await
        .unwrap();
    for g in groups.security_groups() {
        if g.group_id() == Some(str_of(&state, "producer_security_group_id")) {
            assert!(g.ip_permissions().is_empty());
            let out = g.ip_permissions_egress();
            assert_eq!(out.len(), 1);
            assert_eq!((out[0].from_port(), out[0].to_port()), (Some(443), Some(443)));
            assert_eq!(out[0].user_id_group_pairs()[0].group_id(), Some(str_of(&state, "endpoint_security_group_id")));
        } else {
            assert!(g.ip_permissions_egress().is_empty());
            let inn = g.ip_permissions();
            assert_eq!(inn.len(), 1);
            assert_eq!(inn[0].user_id_group_pairs()[0].group_id(), Some(str_of(&state, "producer_security_group_id")));
        }
    }
    // Roles: the producer may only send to its queue (plus ENI management).
    let doc = aws.iam.get_role_policy().role_name("orders-producer").policy_name("pipeline").send().await.unwrap();
    let doc = privatelink::parts::role::decode_policy_document(doc.policy_document());
    assert_eq!(
        privatelink::policy::wildcard_resources(&doc),
        privatelink::policy::VPC_ENI_ACTIONS
            .iter()
            .map(|a| a.to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
    );
    assert!(doc.contains("sqs:SendMessage") && !doc.contains("sqs:ReceiveMessage"));

    // Refresh and plan of the same config change nothing.
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&refreshed), canon(&state), "read of an untouched pipeline changes nothing");
    let (again, replace) = b.tf.plan(&refreshed, &config).await.unwrap();
    assert_eq!(canon(&again), canon(&refreshed), "an unchanged config plans no change");
    assert!(replace.is_empty());

    // Import by name reconstructs it: the same config plans no change.
    let imported = b.tf.import("orders").await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let imported = b.tf.read(&imported).await;
    let (planned, replace) = b.tf.plan(&imported, &config).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(canon(&planned), canon(&imported), "the imported pipeline plans no change");
    assert_eq!(canon(&imported), canon(&refreshed), "import finds what create made");
    let err = b.tf.import("nosuch").await.unwrap_err();
    assert!(show(&err).contains("nosuch-producer"), "{}", show(&err));

    // In place: memory, environment, batch size.
    let updated = b.config(
        function("producer", vec![("memory_size", V::from(256)), ("environment", obj(vec![("MODE", s("fast"))]))]),
        function("consumer", vec![("timeout", V::from(20))]),
        vec![("event_source", obj(vec![("batch_size", V::from(5))]))],
    );
    let (planned, replace) = b.tf.plan(&refreshed, &updated).await.unwrap();
    assert!(replace.is_empty(), "{replace:?}");
    assert_eq!(str_of(&planned, "producer_function_arn"), str_of(&state, "producer_function_arn"));
    let (state2, diags) = b.tf.apply(&refreshed, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let cfg = aws.lambda.get_function_configuration().function_name("orders-producer").send().await.unwrap();
    assert_eq!(cfg.memory_size(), Some(256));
    assert_eq!(cfg.environment().unwrap().variables().unwrap()["MODE"], "fast");
    let m = aws.lambda.get_event_source_mapping().uuid(str_of(&state2, "event_source_mapping_id")).send().await.unwrap();
    assert_eq!(m.batch_size(), Some(5));
    let refreshed2 = b.tf.read(&state2).await;
    assert_eq!(canon(&b.tf.plan(&refreshed2, &updated).await.unwrap().0), canon(&refreshed2), "converged");

    // New code: the hash changes at plan and the function gets it.
    let changed_code = tempfile::tempdir().unwrap();
    std::fs::copy(std::path::Path::new(&code_dir("producer")).join("index.py"), changed_code.path().join("index.py")).unwrap();
    std::fs::write(changed_code.path().join("VERSION"), "2\n").unwrap();
    let with_new_code = b.config(
        obj(vec![
            ("source_dir", s(&changed_code.path().display().to_string())),
            ("handler", s("index.handler")),
            ("runtime", s("python3.12")),
            ("memory_size", V::from(256)),
            ("environment", obj(vec![("MODE", s("fast"))])),
        ]),
        function("consumer", vec![("timeout", V::from(20))]),
        vec![("event_source", obj(vec![("batch_size", V::from(5))]))],
    );
    let (planned, _) = b.tf.plan(&refreshed2, &with_new_code).await.unwrap();
    let new_hash = str_of(field(&planned, "producer"), "code_sha256").to_string();
    assert_ne!(new_hash, str_of(field(&refreshed2, "producer"), "code_sha256"), "the plan knows the code changed");
    let (state2, diags) = b.tf.apply(&refreshed2, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let cfg = aws.lambda.get_function_configuration().function_name("orders-producer").send().await.unwrap();
    assert_eq!(cfg.code_sha256(), Some(new_hash.as_str()), "UpdateFunctionCode ran");
    let updated = with_new_code;

    // Drift: the mapping disabled by hand shows as a planned repair.
    aws.lambda.update_event_source_mapping().uuid(str_of(&state2, "event_source_mapping_id")).enabled(false).send().await.unwrap();
    let drifted = b.tf.read(&state2).await;
    assert_eq!(field(field(&drifted, "event_source"), "enabled"), &V::Boolean(false));
    let (planned, _) = b.tf.plan(&drifted, &updated).await.unwrap();
    let (state3, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let m = aws.lambda.get_event_source_mapping().uuid(str_of(&state3, "event_source_mapping_id")).send().await.unwrap();
    assert_eq!(m.state(), Some("Enabled"));

    // Drift: the dead-letter queue deleted by hand is planned back.
    aws.sqs.delete_queue().queue_url(str_of(&state3, "dead_letter_queue_url")).send().await.unwrap();
    let drifted = b.tf.read(&state3).await;
    assert_eq!(field(&drifted, "dead_letter_queue_url"), &V::Nil);
    let (planned, _) = b.tf.plan(&drifted, &updated).await.unwrap();
    assert!(is_unknown(field(&planned, "dead_letter_queue_url")), "planned re-create");
    let (state3, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let attrs = aws
        .sqs
        .get_queue_attributes()
        .queue_url(str_of(&state3, "queue_url"))
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .send()
        .await
        .unwrap();
    assert!(attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy]
        .contains(str_of(&state3, "dead_letter_queue_arn")));

    // Drift: the producer's egress revoked and SSH opened on the endpoint's
    // group by hand show in rule_drift, plan an update, and apply repairs both.
    let (producer_group, endpoint_group) = (str_of(&state3, "producer_security_group_id"), str_of(&state3, "endpoint_security_group_id"));
    let https_to = |group: &str| {
        aws_sdk_ec2::types::IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(443)
            .to_port(443)
            .user_id_group_pairs(aws_sdk_ec2::types::UserIdGroupPair::builder().group_id(group).build())
            .build()
    };
    aws.ec2.revoke_security_group_egress().group_id(producer_group).ip_permissions(https_to(endpoint_group)).send().await.unwrap();
    let ssh = aws_sdk_ec2::types::IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .ip_ranges(aws_sdk_ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
        .build();
    aws.ec2.authorize_security_group_ingress().group_id(endpoint_group).ip_permissions(ssh).send().await.unwrap();
    let drifted = b.tf.read(&state3).await;
    let drift: Vec<String> =
        field(&drifted, "rule_drift").as_array().unwrap().iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    assert_eq!(
        drift,
        vec![
            "endpoint group: unexpected ingress tcp 22 from 0.0.0.0/0".to_string(),
            format!("producer group: missing egress tcp 443 to {endpoint_group}"),
        ],
        "rule drift reported"
    );
    let (planned, _) = b.tf.plan(&drifted, &updated).await.unwrap();
    assert_eq!(field(&planned, "rule_drift"), &V::Array(vec![]), "planned repair");
    let (state3, diags) = b.tf.apply(&drifted, &planned).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let repaired = b.tf.read(&state3).await;
    assert_eq!(field(&repaired, "rule_drift"), &V::Array(vec![]), "rules repaired in AWS");
    assert_eq!(canon(&repaired), canon(&state3), "exact refresh after the repair");

    // Destroy: nothing of ours is left.
    let (gone, diags) = b.tf.destroy(&state3).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    assert!(aws.lambda.get_function().function_name("orders-producer").send().await.is_err());
    assert!(aws.lambda.get_function().function_name("orders-consumer").send().await.is_err());
    assert!(aws.iam.get_role().role_name("orders-producer").send().await.is_err());
    assert!(aws.iam.get_role().role_name("orders-consumer").send().await.is_err());
    let queues = aws.sqs.list_queues().send().await.unwrap();
    assert!(queues.queue_urls().is_empty(), "queues left: {:?}", queues.queue_urls());
    let groups = aws
        .ec2
        .describe_security_groups()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:privatelink:owner").values("pipeline/orders").build())
        .send()
        .await
        .unwrap();
    assert!(groups.security_groups().is_empty(), "groups left");
    let mappings = aws.lambda.list_event_source_mappings().send().await.unwrap();
    assert!(mappings.event_source_mappings().is_empty(), "mappings left");
    let log_groups = aws.logs.describe_log_groups().send().await.unwrap();
    assert!(log_groups.log_groups().is_empty(), "log groups left: {:?}", log_groups.log_groups());
    drop(b.moto);
}

/// A part that cannot be made (the consumer's role does not exist) fails
/// the apply with what was made in the state; the next apply completes it
/// and a destroy leaves nothing.
#[tokio::test]
async fn a_failed_part_keeps_the_rest_and_the_next_apply_completes() {
    let mut b = bed().await;
    let broken = b.config(
        function("producer", vec![]),
        function("consumer", vec![("role_arn", s("arn:aws:iam::123456789012:role/does-not-exist"))]),
        vec![("timeouts", obj(vec![("create", s("3s"))]))],
    );
    let (planned, _) = b.tf.plan(&V::Nil, &broken).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    let (partial, diags) = b.tf.apply(&V::Nil, &planned).await;
    let errs = errors(&diags);
    assert_eq!(errs.len(), 1, "{}", show(&diags));
    assert!(errs[0].summary.contains("lambda function"), "the error names the part: {}", show(&diags));
    assert!(errs[0].detail.contains("does-not-exist"), "and the role: {}", errs[0].detail);
    for made in
        ["queue_url", "dead_letter_queue_url", "producer_function_arn", "producer_security_group_id", "endpoint_id", "producer_role_arn"]
    {
        assert!(field(&partial, made).is_str(), "{made} was made and must be in the state");
    }
    assert_eq!(field(&partial, "consumer_function_arn"), &V::Nil, "the consumer was not made");
    assert_eq!(
        field(field(&partial, "consumer"), "log_group_name").as_str(),
        Some("/aws/lambda/orders-consumer"),
        "its log group was, before it, and is in the state"
    );
    assert_eq!(field(&partial, "event_source_mapping_id"), &V::Nil, "the mapping depends on the consumer");

    // The next apply, with the role fixed, completes the same pipeline.
    let fixed = b.config(function("producer", vec![]), function("consumer", vec![]), vec![]);
    let refreshed = b.tf.read(&partial).await;
    let done = b.tf.converge(&refreshed, &fixed).await;
    assert_eq!(str_of(&done, "queue_url"), str_of(&partial, "queue_url"), "no second queue");
    assert!(field(&done, "event_source_mapping_id").is_str());
    let queues = b.aws.sqs.list_queues().send().await.unwrap();
    assert_eq!(queues.queue_urls().len(), 2, "queue and dead-letter queue, no duplicates");

    let (gone, diags) = b.tf.destroy(&done).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    assert_eq!(gone, V::Nil);
    assert!(b.aws.sqs.list_queues().send().await.unwrap().queue_urls().is_empty());
    assert!(b
        .aws
        .lambda
        .list_functions()
        .send()
        .await
        .unwrap()
        .functions()
        .iter()
        .all(|f| !f.function_name().unwrap_or("").starts_with("orders-")));
    let groups = b.aws.logs.describe_log_groups().log_group_name_prefix("/aws/lambda/orders-").send().await.unwrap();
    assert!(groups.log_groups().is_empty(), "log groups left: {:?}", groups.log_groups());
}

#[tokio::test]
async fn bad_input_is_refused_at_plan_with_its_path() {
    let mut b = bed().await;
    let config = b.config(
        function("producer", vec![("runtime", s("python2.7"))]),
        function("consumer", vec![("timeout", V::from(120))]),
        vec![("queue", obj(vec![("visibility_timeout_seconds", V::from(60))]))],
    );
    let d = b.tf.plan(&V::Nil, &config).await.unwrap_err();
    let paths: Vec<String> = errors(&d).iter().map(|d| common::driver::path_of(d)).collect();
    assert!(paths.contains(&"producer.runtime".to_string()), "{paths:?}");
    assert!(paths.contains(&"queue.visibility_timeout_seconds".to_string()), "{paths:?}");
    // Nothing was made.
    assert!(b.aws.sqs.list_queues().send().await.unwrap().queue_urls().is_empty());
}

/// An SQS endpoint already in the VPC owns the private DNS name: the plan
/// names it, and the pipeline can use it instead of making its own.
#[tokio::test]
async fn an_existing_sqs_endpoint_is_named_at_plan_and_can_be_reused() {
    let mut b = bed().await;
    let group = b.aws.ec2.create_security_group().group_name("shared-endpoints").description("shared").vpc_id(&b.vpc).send().await.unwrap();
    let group = group.group_id().unwrap().to_string();
    let theirs = b
        .aws
        .ec2
        .create_vpc_endpoint()
        .vpc_id(&b.vpc)
        .service_name("com.amazonaws.us-east-1.sqs")
        .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Interface)
        .subnet_ids(&b.subnets[0])
        .security_group_ids(&group)
        .send()
        .await
        .unwrap()
        .vpc_endpoint()
        .unwrap()
        .vpc_endpoint_id()
        .unwrap()
        .to_string();
    let fresh = b.config(function("producer", vec![]), function("consumer", vec![]), vec![]);
    let d = b.tf.plan(&V::Nil, &fresh).await.unwrap_err();
    let e = errors(&d).into_iter().find(|d| d.summary.contains("already has an SQS endpoint")).unwrap_or_else(|| panic!("{}", show(&d)));
    assert!(e.detail.contains(&theirs), "{}", e.detail);

    let reuse =
        b.config(function("producer", vec![]), function("consumer", vec![]), vec![("endpoint", obj(vec![("endpoint_id", s(&theirs))]))]);
    let state = b.tf.converge(&V::Nil, &reuse).await;
    assert_eq!(str_of(&state, "endpoint_id"), theirs);
    assert_eq!(field(&state, "endpoint_security_group_id"), &V::Nil, "no endpoint group of our own");
    let g = b
        .aws
        .ec2
        .describe_security_groups()
        .group_ids(str_of(&state, "producer_security_group_id"))
        .send()
        .await
        .unwrap()
        .security_groups()[0]
        .clone();
    assert_eq!(
        g.ip_permissions_egress()[0].user_id_group_pairs()[0].group_id(),
        Some(group.as_str()),
        "the producer may reach the reused endpoint's group"
    );
    let refreshed = b.tf.read(&state).await;
    assert_eq!(canon(&b.tf.plan(&refreshed, &reuse).await.unwrap().0), canon(&refreshed));
    let (_, diags) = b.tf.destroy(&refreshed).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let left = b.aws.ec2.describe_vpc_endpoints().vpc_endpoint_ids(&theirs).send().await.unwrap();
    assert_eq!(left.vpc_endpoints()[0].state().map(|s| s.as_str()), Some("available"), "a reused endpoint is not ours to delete");
}

/// A rename replaces the pipeline in the same VPC. The plan-time checks
/// compare with the prior there, so the pipeline's own SQS endpoint (which
/// the replace destroys first) is not reported as someone else's. Before,
/// this plan failed with "The VPC already has an SQS endpoint" naming the
/// pipeline's own endpoint. Moving to another VPC is checked as new.
#[tokio::test]
async fn a_rename_plans_a_replace_without_flagging_its_own_endpoint() {
    let mut b = bed().await;
    let config = b.config(function("producer", vec![]), function("consumer", vec![]), vec![]);
    let state = b.tf.converge(&V::Nil, &config).await;
    let refreshed = b.tf.read(&state).await;
    let renamed = {
        let mut c = config.clone();
        if let V::Map(fields) = &mut c {
            for (k, v) in fields.iter_mut() {
                if k.as_str() == Some("name") {
                    *v = s("orders-v2");
                }
            }
        }
        c
    };
    let (planned, replace) = b.tf.plan(&refreshed, &renamed).await.unwrap_or_else(|d| panic!("{}", show(&d)));
    assert_eq!(replace, vec!["name".to_string()], "{replace:?}");
    assert!(is_unknown(field(&planned, "endpoint_id")), "the new pipeline makes its own endpoint");
    let (_, diags) = b.tf.destroy(&refreshed).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    drop(b.moto);
}

/// AWS releases a VPC function's network interfaces minutes after the
/// function is deleted or leaves its VPC, and refuses to delete its group
/// until then (the rules proxy answers so, scaled down). The destroy waits,
/// and says at INFO what it waits for and how long so far, so a user
/// watching `TF_LOG=INFO` sees progress instead of a silent apply.
#[tokio::test]
async fn a_destroy_waiting_for_lambda_interfaces_says_so() {
    // The interfaces linger 3 s here, not the CI rules' 500 ms: that hold
    // starts when the producer leaves the VPC, and on a loaded machine the
    // destroy's path from there to the group's delete (the update's wait,
    // DeleteFunction, the egress rule, the endpoint and its group) can take
    // longer than 500 ms, so the delete met no hold and logged nothing.
    use common::aws_rules::{Durations, Rules};
    use common::proxy::{Faults, Proxy};
    let moto = Moto::start();
    let durations = Durations { lambda_eni_linger: std::time::Duration::from_secs(3), ..Durations::ci() };
    let slow = Proxy::start_with_rules(moto.port, Faults::none(), Rules::for_moto(moto.port, durations));
    let mut b = bed_at(moto, &slow.url(), &[("TF_LOG_PROVIDER", "INFO")]).await;
    let config = b.config(function("producer", vec![]), function("consumer", vec![]), vec![]);
    let state = b.tf.converge(&V::Nil, &config).await;
    let (_, diags) = b.tf.destroy(&state).await;
    assert!(errors(&diags).is_empty(), "{}", show(&diags));
    let log = b.plugin.stderr();
    let waiting: Vec<&str> = log.lines().filter(|l| l.contains("waiting for AWS to release the network interfaces")).collect();
    assert!(!waiting.is_empty(), "no progress line in the provider's log:\n{log}");
    assert!(waiting.iter().all(|l| l.contains("\"@level\":\"info\"") && l.contains("waited_s")), "{waiting:?}");
    // The producer's group (its functions' interfaces) or the endpoint's
    // (the endpoint's interfaces), whichever AWS still held.
    let groups = [str_of(&state, "producer_security_group_id"), str_of(&state, "endpoint_security_group_id")];
    assert!(waiting.iter().all(|l| groups.iter().any(|g| l.contains(g))), "names the group: {waiting:?}");
}
