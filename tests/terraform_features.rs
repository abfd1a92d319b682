//! Protocol features of current Terraform, through the CLI against moto:
//! resource identity and `import { identity = {...} }` (Terraform 1.12+,
//! here 1.15.5), a provider function call answered as "no such function"
//! rather than "unsupported plugin method", and the destroy plan's warning
//! about clients that lose their private path (plan_destroy, Terraform
//! 1.3+, here every installed version from 1.6.6).

use crate::common;
use crate::terraform_1_6_and_later;

use common::moto::Moto;
use common::terraform::{emulator_provider, pipeline_hcl, Terraform};
use common::Net;

const NEWEST: &str = "1.15.5";
const IMPORT_ONLY: &str = "Plan: 1 to import, 0 to add, 0 to change, 0 to destroy.";
const CLIENTS_WARNING: &str = "Clients still reach AWS through endpoints this destroys";

fn pipeline(name: &str, net: &Net) -> String {
    pipeline_hcl(name, net, "\n  queue {\n    max_receive_count = 5\n  }\n")
}

/// Endpoint blocks in service-name order: the order an import by identity
/// gives them (docs: "Import").
fn bundle(name: &str, net: &Net) -> String {
    format!(
        r#"
resource "privatelink_service_endpoint_bundle" "this" {{
  name                       = "{name}"
  vpc_id                     = "{vpc}"
  subnet_ids                 = ["{subnet}"]
  allowed_security_group_ids = ["{app}"]

  endpoint {{
    service = "logs"
  }}

  endpoint {{
    service = "sqs"
  }}
}}

output "id" {{
  value = privatelink_service_endpoint_bundle.this.id
}}
"#,
        vpc = net.vpc,
        subnet = net.subnets[0],
        app = net.app_group,
    )
}

/// The identity Terraform stored for the one resource in `tf`'s state.
fn stored_identity(tf: &Terraform) -> serde_json::Value {
    let state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tf.workdir().join("terraform.tfstate")).expect("state file")).unwrap();
    state["resources"][0]["instances"][0]["identity"].clone()
}

/// Applies `config`, checks the identity Terraform stored, imports it into
/// a fresh state with `import { identity = ... }` and the same
/// configuration: only an import is planned, then the plan is empty.
fn import_by_identity(url: &str, config: &str, address: &str, expected: serde_json::Value, what: &str) {
    let made = Terraform::new_v(NEWEST, &[("main.tf", &format!("{}{config}", emulator_provider(url)))]);
    made.init();
    made.apply(&[]).ok(&format!("apply of the {what}"));
    assert_eq!(stored_identity(&made), expected, "the identity Terraform stored for the {what}");

    let fields: Vec<String> = expected.as_object().unwrap().iter().map(|(k, v)| format!("    {k} = {v}")).collect();
    let import = format!("\nimport {{\n  to = {address}\n  identity = {{\n{}\n  }}\n}}\n", fields.join("\n"));
    let fresh = Terraform::new_v(NEWEST, &[("main.tf", &format!("{}{config}{import}", emulator_provider(url)))]);
    fresh.init();
    let plan = fresh.run(&["plan", "-no-color"]).ok(&format!("plan of the {what}'s import by identity"));
    assert!(plan.stdout.contains(IMPORT_ONLY), "importing the {what} by identity should only import:\n{}", plan.stdout);
    fresh.apply(&[]).ok(&format!("apply of the {what}'s import by identity"));
    assert_eq!(stored_identity(&fresh), expected, "the identity after the import of the {what}");
    fresh.assert_no_changes(&[]);
    fresh.destroy(&[]).ok(&format!("destroy of the {what}"));
    made.destroy(&[]).ok(&format!("destroy of the {what} after it was gone"));
}

#[test]
fn identity_is_stored_and_imports_with_no_change_on_terraform_1_15() {
    let moto = Moto::start();
    let url = moto.url();
    let net = Net::make(&url);
    import_by_identity(
        &url,
        &pipeline("byidentity", &net),
        "privatelink_private_lambda_pipeline.this",
        serde_json::json!({ "name": "byidentity", "region": "us-east-1" }),
        "pipeline",
    );

    // The bundle's identity is its id, which only apply tells.
    let made = Terraform::new_v(NEWEST, &[("main.tf", &format!("{}{}", emulator_provider(&url), bundle("byidentity", &net)))]);
    made.init();
    made.apply(&[]).ok("apply of the bundle");
    let id = made.outputs()["id"]["value"].as_str().unwrap().to_string();
    made.destroy(&[]).ok("destroy of the bundle");
    import_by_identity(
        &url,
        &bundle("byidentity", &net),
        "privatelink_service_endpoint_bundle.this",
        serde_json::json!({ "id": id, "region": "us-east-1" }),
        "bundle",
    );
}

#[test]
fn a_wrong_identity_names_the_attribute() {
    let moto = Moto::start();
    let url = moto.url();
    let net = Net::make(&url);
    let import = "\nimport {\n  to = privatelink_private_lambda_pipeline.this\n  identity = {\n    name   = \"nosuch\"\n    region = \"us-east-1\"\n  }\n}\n";
    let tf = Terraform::new_v(NEWEST, &[("main.tf", &format!("{}{}{import}", emulator_provider(&url), pipeline("nosuch", &net)))]);
    tf.init();
    let plan = tf.run(&["plan", "-no-color"]);
    assert_eq!(plan.code, 1, "{}", plan.all());
    assert!(plan.stderr.contains("identity.name"), "the error should name identity.name:\n{}", plan.stderr);
}

#[test]
fn an_unknown_provider_function_is_reported_as_such_on_terraform_1_15() {
    let config =
        format!("{}\noutput \"x\" {{\n  value = provider::privatelink::nosuch(\"a\")\n}}\n", emulator_provider("http://127.0.0.1:9"));
    let tf = Terraform::new_v(NEWEST, &[("main.tf", &config)]);
    tf.init();
    let r = tf.run(&["validate", "-no-color"]);
    assert_eq!(r.code, 1, "{}", r.all());
    let text = r.all();
    println!("{text}");
    assert!(text.contains("provider::privatelink::nosuch"), "{text}");
    assert!(!text.to_lowercase().contains("unsupported plugin method") && !text.contains("Unimplemented"), "{text}");
}

terraform_1_6_and_later! {
    /// A bundle that only the app's group may reach: with no client in the
    /// VPC the destroy plan is quiet; with an instance and a Lambda
    /// interface carrying that group, it warns and names them. The
    /// destroy itself goes ahead.
    fn a_destroy_plan_names_the_clients_that_lose_their_path(version) {
        let moto = Moto::start();
        let url = moto.url();
        let net = Net::make(&url);
        let tf = Terraform::new_v(version, &[("main.tf", &format!("{}{}", emulator_provider(&url), bundle("shared", &net)))]);
        tf.init();
        tf.apply(&[]).ok("apply of the bundle");
        let quiet = tf.run(&["plan", "-destroy", "-no-color"]).ok("destroy plan with no clients");
        assert!(!quiet.all().contains(CLIENTS_WARNING), "Terraform {version}: a warning with no client:\n{}", quiet.all());

        let rt = tokio::runtime::Runtime::new().unwrap();
        let instance = rt.block_on(async {
            let aws = common::aws(&url).await;
            common::clients::lambda_interface(&aws, &net.subnets[0], &net.app_group, "orders-worker").await;
            common::clients::instance(&aws, &net.subnets[0], &net.app_group).await
        });
        let warned = tf.run(&["plan", "-destroy", "-no-color"]).ok("destroy plan with clients");
        let text = warned.all();
        println!("Terraform {version}:\n{text}");
        assert!(text.contains(CLIENTS_WARNING), "Terraform {version}: no warning about the clients:\n{text}");
        assert!(text.contains("orders-worker") && text.contains(&instance), "Terraform {version}: the warning should name the function and {instance}:\n{text}");
        tf.destroy(&[]).ok("destroy with clients still there");
    }
}
