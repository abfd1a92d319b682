//! The composites composed through modules, end to end with every
//! installed Terraform against moto: examples/platform calls
//! modules/private-service-access once (the VPC's one SQS endpoint) and
//! modules/private-queue-worker for three workers (for_each) that share it.
//! Removing a worker from the map removes only that worker's objects;
//! adding it back adds only it; a module input changes in place; destroy
//! leaves nothing of ours.

use crate::common;
use crate::every_terraform;

use std::collections::BTreeMap;

use common::census::Census;
use common::moto::Moto;
use common::terraform::{Run, Terraform};

const ALL: &str =
    "{orders={producer_memory=128,batch_size=10},invoices={producer_memory=128,batch_size=5},emails={producer_memory=256,batch_size=10}}";
const TWO: &str = "{orders={producer_memory=128,batch_size=10},emails={producer_memory=256,batch_size=10}}";
const BIGGER: &str =
    "{orders={producer_memory=512,batch_size=10},invoices={producer_memory=128,batch_size=5},emails={producer_memory=256,batch_size=10}}";

fn names(workers: &[&str], suffixes: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = workers.iter().flat_map(|w| suffixes.iter().map(move |s| format!("{w}{s}"))).collect();
    v.sort();
    v
}

/// The "Plan: ..." summary line of a plan or apply.
fn summary(r: &Run) -> String {
    r.stdout.lines().find(|l| l.starts_with("Plan:") || l.contains("No changes.")).unwrap_or("").trim().to_string()
}

fn queue_urls(tf: &Terraform) -> BTreeMap<String, String> {
    let out = tf.outputs();
    out["queue_urls"]["value"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect()
}

every_terraform! {
    fn platform_modules_share_one_endpoint_and_for_each_touches_only_its_worker(version) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let moto = Moto::start();
        let net = common::network(&moto.url());
        let aws = rt.block_on(common::aws(&moto.url()));
        let url = moto.url();
        let vpc = common::var(&net, "vpc_id").to_string();
        let base: Vec<(&str, &str)> = vec![
            ("aws_endpoint", url.as_str()),
            ("vpc_id", common::var(&net, "vpc_id")),
            ("subnet_ids", common::var(&net, "subnet_ids")),
            ("app_security_group_id", common::var(&net, "app_security_group_id")),
        ];
        let with = |workers: &'static str| {
            let mut v = base.clone();
            v.push(("workers", workers));
            v
        };
        let tf = Terraform::from_example_v(version, "platform");
        tf.init();

        // Apply: one endpoint, three workers on it, and an empty plan after.
        tf.apply(&with(ALL)).ok("apply");
        tf.assert_no_changes(&with(ALL));
        let c = rt.block_on(Census::take(&aws, &vpc));
        assert_eq!(c.sqs_endpoints().len(), 1, "one SQS endpoint in the VPC: {:?}", c.sqs_endpoints());
        let out = tf.outputs();
        let shared = out["sqs_endpoint_id"]["value"].as_str().unwrap().to_string();
        assert_eq!(c.sqs_endpoints(), vec![shared.clone()]);
        for (name, id) in out["worker_endpoint_ids"]["value"].as_object().unwrap() {
            assert_eq!(id.as_str(), Some(shared.as_str()), "worker {name} uses the shared endpoint");
        }
        let all = ["emails", "invoices", "orders"];
        assert_eq!(c.queues, names(&all, &["", "-dlq"]));
        assert_eq!(c.functions, names(&all, &["-consumer", "-producer"]));
        assert_eq!(c.roles, names(&all, &["-consumer", "-producer"]));
        let groups_with_three = c.groups.len();
        let urls = queue_urls(&tf);
        assert_eq!(urls.keys().cloned().collect::<Vec<_>>(), vec!["emails", "invoices", "orders"]);

        // Remove "invoices" from the map: only its pipeline goes.
        let plan = tf.plan(&with(TWO));
        assert_eq!(summary(&plan), "Plan: 0 to add, 0 to change, 1 to destroy.", "{}", plan.all());
        assert!(plan.stdout.contains("module.worker[\"invoices\"].privatelink_private_lambda_pipeline.this will be destroyed"), "{}", plan.stdout);
        tf.apply(&with(TWO)).ok("apply without invoices");
        let c = rt.block_on(Census::take(&aws, &vpc));
        let two = ["emails", "orders"];
        assert_eq!(c.queues, names(&two, &["", "-dlq"]));
        assert_eq!(c.functions, names(&two, &["-consumer", "-producer"]));
        assert_eq!(c.roles, names(&two, &["-consumer", "-producer"]));
        assert_eq!(c.sqs_endpoints(), vec![shared.clone()], "the shared endpoint stays");
        assert_eq!(c.groups.len(), groups_with_three - 1, "only the removed worker's producer group went");
        let after = queue_urls(&tf);
        assert_eq!(after.get("orders"), urls.get("orders"), "the other workers are untouched");
        assert_eq!(after.get("emails"), urls.get("emails"));

        // Add it back: only it is made.
        let plan = tf.plan(&with(ALL));
        assert_eq!(summary(&plan), "Plan: 1 to add, 0 to change, 0 to destroy.", "{}", plan.all());
        tf.apply(&with(ALL)).ok("apply with invoices again");
        tf.assert_no_changes(&with(ALL));
        let c = rt.block_on(Census::take(&aws, &vpc));
        assert_eq!(c.queues, names(&all, &["", "-dlq"]));
        assert_eq!(c.sqs_endpoints(), vec![shared.clone()]);

        // A module input that updates in place: the orders producer's memory.
        let plan = tf.plan(&with(BIGGER));
        assert_eq!(summary(&plan), "Plan: 0 to add, 1 to change, 0 to destroy.", "{}", plan.all());
        assert!(plan.stdout.contains("module.worker[\"orders\"].privatelink_private_lambda_pipeline.this will be updated in-place"), "{}", plan.stdout);
        tf.apply(&with(BIGGER)).ok("apply the memory change");
        let cfg = rt.block_on(aws.lambda.get_function_configuration().function_name("orders-producer").send()).unwrap();
        assert_eq!(cfg.memory_size(), Some(512));
        let now = queue_urls(&tf);
        assert_eq!(now.keys().cloned().collect::<Vec<_>>(), vec!["emails", "invoices", "orders"]);
        assert_eq!((now.get("orders"), now.get("emails")), (urls.get("orders"), urls.get("emails")), "queues kept through the update");
        tf.assert_no_changes(&with(BIGGER));

        // Destroy: nothing of ours is left.
        tf.destroy(&with(BIGGER)).ok("destroy");
        let c = rt.block_on(Census::take(&aws, &vpc));
        assert!(c.endpoints.is_empty(), "endpoints left: {:?}", c.endpoints);
        assert!(c.queues.is_empty(), "queues left: {:?}", c.queues);
        assert!(c.functions.is_empty(), "functions left: {:?}", c.functions);
        assert!(c.roles.is_empty(), "roles left: {:?}", c.roles);
        assert!(c.groups.is_empty(), "groups of ours left: {:?}", c.groups);
        drop(moto);
    }
}
