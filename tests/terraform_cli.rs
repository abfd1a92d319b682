//! End to end: the real Terraform CLI 1.0.3 installs the freshly built
//! provider from a filesystem mirror (offline) and runs it against moto.

mod common;

use common::moto::Moto;
use common::terraform::Terraform;

#[test]
fn caller_identity_example_applies_plans_empty_and_destroys() {
    let moto = Moto::start();
    let url = moto.url();
    let vars = [("aws_endpoint", url.as_str()), ("region", "eu-central-1")];
    let tf = Terraform::from_example("caller-identity");
    tf.init();
    tf.apply(&vars).ok("apply");
    let out = tf.outputs();
    assert_eq!(out["account_id"]["value"], "123456789012", "{out}");
    assert_eq!(out["region"]["value"], "eu-central-1");
    assert!(out["arn"]["value"].as_str().unwrap().contains("123456789012"));
    tf.assert_no_changes(&vars);
    tf.destroy(&vars).ok("destroy");
}

#[test]
fn provider_log_lines_show_under_tf_log_debug() {
    let moto = Moto::start();
    let url = moto.url();
    let mut tf = Terraform::from_example("caller-identity");
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

#[test]
fn bad_provider_config_is_reported_at_the_attribute() {
    let tf = Terraform::new(&[(
        "main.tf",
        r#"
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
"#,
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
