//! Import as users do it on Terraform 1.5 and later, on every installed
//! version that has it (1.6.6, 1.10.5, 1.15.5): a composite applied from a
//! configuration, then an `import` block with that same configuration in a
//! fresh state, must plan "1 to import, 0 to add, 0 to change, 0 to
//! destroy" — with every optional settings block written, and with all of
//! them left out. Then `plan -generate-config-out` writes a configuration
//! that validates and plans the import with no change.

use crate::common;
use crate::terraform_1_6_and_later;

use common::moto::Moto;
use common::terraform::{emulator_provider, pipeline_hcl, Run, Terraform};
use common::Net;

const IMPORT_ONLY: &str = "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.";

fn hcl_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|i| format!("\"{i}\"")).collect::<Vec<_>>().join(", "))
}

/// A pipeline named `name`; `settings` writes every optional settings
/// block (each to a value other than its default where it has one).
fn pipeline(name: &str, net: &Net, settings: bool) -> String {
    let blocks = if settings {
        r#"
  queue {
    fifo                          = false
    visibility_timeout_seconds    = 200
    message_retention_seconds     = 86400
    max_receive_count             = 4
    dead_letter_retention_seconds = 604800
    delay_seconds                 = 5
    receive_wait_time_seconds     = 10
    max_message_size              = 65536
    kms_master_key_id             = "alias/aws/sqs"
  }

  event_source {
    batch_size                      = 5
    maximum_batching_window_seconds = 2
    report_batch_item_failures      = false
    maximum_concurrency             = 5
    enabled                         = true
    filter_patterns                 = [jsonencode({ body = { kind = ["order"] } })]
  }

  endpoint {
    create = true
  }
"#
    } else {
        ""
    };
    pipeline_hcl(name, net, &format!("{blocks}\n  tags = {{ team = \"payments\" }}\n"))
}

/// A bundle named `name`; `settings` writes every optional argument of the
/// bundle and of its endpoints. The bundle's own subnet_ids are those of its
/// first Interface endpoint: AWS records subnets per endpoint only, so an
/// import takes the bundle's from the first one (docs/design.md, "Import").
fn bundle(name: &str, net: &Net, settings: bool) -> String {
    let body = if settings {
        format!(
            r#"
  subnet_ids                 = ["{first}"]
  route_table_ids            = {tables}
  allowed_security_group_ids = ["{app}"]
  allowed_cidr_blocks        = ["10.0.0.0/16"]

  endpoint {{
    service             = "sqs"
    type                = "Interface"
    private_dns_enabled = true
  }}

  endpoint {{
    service             = "logs"
    private_dns_enabled = false
    subnet_ids          = {subnets}
  }}

  endpoint {{
    service         = "s3"
    type            = "Gateway"
    route_table_ids = {tables}
    policy = jsonencode({{
      Version   = "2012-10-17"
      Statement = [{{ Effect = "Allow", Principal = "*", Action = "s3:GetObject", Resource = "arn:aws:s3:::app-data/*" }}]
    }})
  }}

  tags = {{ team = "payments" }}
"#,
            subnets = hcl_list(&net.subnets),
            tables = hcl_list(&net.route_tables),
            app = net.app_group,
            first = net.subnets[0],
        )
    } else {
        format!(
            r#"
  subnet_ids                 = {subnets}
  allowed_security_group_ids = ["{app}"]

  endpoint {{
    service = "sqs"
  }}
"#,
            subnets = hcl_list(&net.subnets),
            app = net.app_group,
        )
    };
    format!(
        r#"
resource "privatelink_service_endpoint_bundle" "this" {{
  name   = "{name}"
  vpc_id = "{vpc}"
{body}}}

output "endpoint_ids" {{
  value = join(",", [for e in privatelink_service_endpoint_bundle.this.endpoint : e.id])
}}
"#,
        vpc = net.vpc
    )
}

fn import_block(address: &str, id: &str) -> String {
    format!("\nimport {{\n  to = {address}\n  id = \"{id}\"\n}}\n")
}

/// The plan's summary line, or the whole output when there is none.
fn summary(r: &Run) -> String {
    r.stdout.lines().find(|l| l.starts_with("Plan:") || l.starts_with("No changes")).map(str::to_string).unwrap_or_else(|| r.all())
}

/// Applies `config` in its own state, imports it into a fresh one with an
/// import block and the same configuration, and checks the plan; then
/// applies the import and checks the plan is empty, and destroys.
fn import_plans_no_change(version: &'static str, url: &str, config: &str, address: &str, id_of: impl Fn(&Terraform) -> String, what: &str) {
    let made = Terraform::new_v(version, &[("main.tf", &format!("{}{config}", emulator_provider(url)))]);
    made.init();
    made.apply(&[]).ok(&format!("apply of the {what}"));
    let id = id_of(&made);

    let imported = Terraform::new_v(version, &[("main.tf", &format!("{}{config}{}", emulator_provider(url), import_block(address, &id)))]);
    imported.init();
    let plan = imported.run(&["plan", "-no-color"]).ok(&format!("plan of the {what}'s import"));
    assert!(
        plan.stdout.contains(IMPORT_ONLY),
        "Terraform {version}: importing the {what} with the configuration that made it should only import, got {:?}:\n{}",
        summary(&plan),
        plan.stdout
    );
    imported.apply(&[]).ok(&format!("apply of the {what}'s import"));
    imported.assert_no_changes(&[]);
    // Both states hold the same objects: one destroy takes them, the other
    // then finds nothing.
    imported.destroy(&[]).ok(&format!("destroy of the imported {what}"));
    made.destroy(&[]).ok(&format!("destroy of the {what} after it was gone"));
}

/// `plan -generate-config-out` from an import block alone; the written
/// configuration validates and plans the import with no change.
fn generated_config_plans_no_change(
    version: &'static str,
    url: &str,
    config: &str,
    address: &str,
    id_of: impl Fn(&Terraform) -> String,
    what: &str,
) {
    let made = Terraform::new_v(version, &[("main.tf", &format!("{}{config}", emulator_provider(url)))]);
    made.init();
    made.apply(&[]).ok(&format!("apply of the {what}"));
    let id = id_of(&made);

    let tf = Terraform::new_v(version, &[("main.tf", &format!("{}{}", emulator_provider(url), import_block(address, &id)))]);
    tf.init();
    let gen = tf.run(&["plan", "-no-color", "-generate-config-out=generated.tf"]);
    assert_ne!(gen.code, 1, "Terraform {version}: plan -generate-config-out for the {what}:\n{}", gen.all());
    let generated = std::fs::read_to_string(tf.workdir().join("generated.tf")).expect("generated.tf written");
    tf.run(&["validate", "-no-color"]).ok(&format!("validate of the generated {what} configuration:\n{generated}\n"));
    let plan = tf.run(&["plan", "-no-color"]).ok(&format!("plan with the generated {what} configuration"));
    assert!(
        plan.stdout.contains(IMPORT_ONLY),
        "Terraform {version}: the generated configuration of the {what} should only import, got {:?}:\n{generated}\n{}",
        summary(&plan),
        plan.stdout
    );
    made.destroy(&[]).ok(&format!("destroy of the {what}"));
}

terraform_1_6_and_later! {
    fn a_pipeline_imports_with_no_change_with_or_without_settings_blocks(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = Net::make(&url);
        for (name, settings) in [("withblocks", true), ("noblocks", false)] {
            let what = format!("pipeline {name}");
            import_plans_no_change(version, &url, &pipeline(name, &net, settings), "privatelink_private_lambda_pipeline.this", |_| name.to_string(), &what);
        }
    }
}

terraform_1_6_and_later! {
    fn a_bundle_imports_with_no_change_with_or_without_optional_settings(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = Net::make(&url);
        let ids = |tf: &Terraform| tf.outputs()["endpoint_ids"]["value"].as_str().expect("endpoint_ids output").to_string();
        for (name, settings) in [("full", true), ("bare", false)] {
            let what = format!("bundle {name}");
            import_plans_no_change(version, &url, &bundle(name, &net, settings), "privatelink_service_endpoint_bundle.this", ids, &what);
        }
    }
}

terraform_1_6_and_later! {
    fn generated_configuration_validates_and_plans_no_change(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = Net::make(&url);
        generated_config_plans_no_change(version, &url, &pipeline("generated", &net, true), "privatelink_private_lambda_pipeline.this", |_| "generated".to_string(), "pipeline");
        let ids = |tf: &Terraform| tf.outputs()["endpoint_ids"]["value"].as_str().expect("endpoint_ids output").to_string();
        generated_config_plans_no_change(version, &url, &bundle("generated", &net, true), "privatelink_service_endpoint_bundle.this", ids, "bundle");
    }
}
