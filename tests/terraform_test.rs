//! The modules' own tests: `terraform test` runs the tests/*.tftest.hcl of
//! examples/modules/private-service-access and
//! examples/modules/private-queue-worker against moto, on every installed
//! Terraform that has `terraform test` (1.6 and later). Each run block must
//! pass, and afterwards moto must hold nothing of the module: terraform test
//! destroys what its runs made.
//!
//! The test files' provider block names only the region. The emulator's URL
//! reaches the provider through AWS_ENDPOINT_URL, which the AWS SDK reads for
//! every service: Terraform 1.6 cannot configure a test file's provider from
//! a variable the module does not declare (1.7 can).

use crate::common;
use crate::terraform_1_6_and_later;

use std::time::Instant;

use common::census::Census;
use common::moto::Moto;
use common::terraform::{Run, Terraform};

/// A module under examples/ and the network values (names printed by
/// scripts/network.py, or `client_security_group_ids`) its tests take.
struct Module {
    folder: &'static str,
    vars: &'static [&'static str],
}

const MODULES: &[Module] = &[
    Module { folder: "modules/private-service-access", vars: &["vpc_id", "subnet_ids", "route_table_ids", "client_security_group_ids"] },
    Module { folder: "modules/private-queue-worker", vars: &["vpc_id", "subnet_ids", "client_security_group_ids"] },
];

/// The run blocks of the module's tests/*.tftest.hcl, in file order.
fn run_names(folder: &str) -> Vec<String> {
    let dir = common::root().join("examples").join(folder).join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".tftest.hcl"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tftest.hcl files in {}", dir.display());
    files
        .iter()
        .flat_map(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines()
                .filter_map(|l| l.strip_prefix("run \"").and_then(|r| r.split_once('"')).map(|(n, _)| n.to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `terraform test -no-color -var ...` in the module's folder.
fn terraform_test(tf: &Terraform, vars: &[(String, String)]) -> Run {
    let mut args = vec!["test".to_string(), "-no-color".into()];
    args.extend(vars.iter().map(|(k, v)| format!("-var={k}={v}")));
    tf.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

terraform_1_6_and_later! {
    fn module_tftest_files_pass_against_moto_and_leave_nothing(version) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let moto = Moto::start();
        let url = moto.url();
        let mut net = common::network(&url);
        let app_group = common::var(&net, "app_security_group_id").to_string();
        net.push(("client_security_group_ids".into(), format!("[\"{app_group}\"]")));
        let vpc = common::var(&net, "vpc_id").to_string();
        let aws = rt.block_on(common::aws(&url));
        let before = rt.block_on(Census::take(&aws, &vpc));
        assert_eq!(before, Census::default(), "Terraform {version}: moto holds objects of ours before any test");

        let mut deleted_so_far = 0;
        for module in MODULES {
            let folder = module.folder;
            let runs = run_names(folder);
            let vars: Vec<(String, String)> = module.vars.iter().map(|n| (n.to_string(), common::var(&net, n).to_string())).collect();
            let mut tf = Terraform::from_example_v(version, folder);
            tf.set_env("AWS_ENDPOINT_URL", &url);
            tf.init();

            let start = Instant::now();
            let r = terraform_test(&tf, &vars);
            eprintln!("Terraform {version}: terraform test in {folder}: {} run blocks in {:.1?}", runs.len(), start.elapsed());
            let context = format!("Terraform {version}, terraform test in examples/{folder}, exit {}:\n--- stdout\n{}\n--- stderr\n{}", r.code, r.stdout, r.stderr);
            assert_eq!(r.code, 0, "{context}");
            let summary = format!("Success! {} passed, 0 failed.", runs.len());
            assert!(r.stdout.contains(&summary), "expected {summary:?}\n{context}");
            for run in &runs {
                assert!(r.stdout.contains(&format!("run \"{run}\"... pass")), "run {run:?} did not pass\n{context}");
            }

            let c = rt.block_on(Census::take(&aws, &vpc));
            assert_eq!(c.leftovers(), Census::default(), "Terraform {version}: terraform test in examples/{folder} left objects in moto\n{context}");
            // The runs reached moto, not real AWS: it kept their endpoints,
            // as deleted ones.
            assert!(
                c.deleted_endpoints > deleted_so_far,
                "Terraform {version}: examples/{folder} made no endpoint in moto ({} deleted ones, {deleted_so_far} before)\n{context}",
                c.deleted_endpoints
            );
            deleted_so_far = c.deleted_endpoints;
        }
        drop(moto);
    }
}
