//! `terraform query` (Terraform 1.14+; the installed 1.15.5): the list
//! resources of every composite find what one workspace made through the
//! owner tags, filtered by VPC and name prefix, and `-generate-config-out`
//! in a second, empty workspace writes import blocks and configuration
//! that plan the imports alone.

use crate::common;

use common::moto::Moto;
use common::terraform::{emulator_provider, pipeline_hcl, Terraform};
use common::Net;

const QUERY_VERSION: &str = "1.15.5";

/// Two pipelines and a bundle, as one workspace makes them: the bundle
/// holds the VPC's SQS endpoint (one per VPC, with private DNS), admitting
/// the application group each producer joins.
fn made(net: &Net) -> String {
    let pipeline = |name: &str| {
        pipeline_hcl(name, net, "\n  endpoint {\n    endpoint_id = privatelink_service_endpoint_bundle.shared.endpoint[0].id\n  }\n")
            .replace("\"this\"", &format!("\"{name}\""))
            .replace("    timeout    = 10\n", &format!("    timeout    = 10\n    security_group_ids = [\"{}\"]\n", net.app_group))
    };
    format!(
        r#"{orders}{billing}
resource "privatelink_service_endpoint_bundle" "shared" {{
  name       = "shared"
  vpc_id     = "{vpc}"
  subnet_ids = ["{subnet}"]

  allowed_security_group_ids = ["{app}"]

  endpoint {{
    service = "sqs"
  }}
}}
"#,
        orders = pipeline("orders"),
        billing = pipeline("billing"),
        vpc = net.vpc,
        subnet = net.subnets[0],
        app = net.app_group,
    )
}

/// The list blocks of `terraform query`: every composite of each type.
const LIST_ALL: &str = r#"list "privatelink_private_lambda_pipeline" "all" {
  provider = privatelink
}

list "privatelink_service_endpoint_bundle" "all" {
  provider = privatelink
}

list "privatelink_private_function" "all" {
  provider = privatelink
}
"#;

/// List blocks with filters: by VPC (the one made, and one with nothing),
/// and by name prefix.
fn list_filtered(vpc: &str) -> String {
    format!(
        r#"list "privatelink_private_lambda_pipeline" "in_vpc" {{
  provider = privatelink
  config {{
    vpc_id = "{vpc}"
  }}
}}

list "privatelink_private_lambda_pipeline" "elsewhere" {{
  provider = privatelink
  config {{
    vpc_id = "vpc-0123456789abcdef0"
  }}
}}

list "privatelink_private_lambda_pipeline" "bill" {{
  provider = privatelink
  config {{
    name_prefix = "bill"
  }}
}}
"#
    )
}

/// The lines of `terraform query` output that show results of list `name`.
fn results_of<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines().filter(|l| l.contains(&format!(".{name}"))).collect()
}

#[test]
fn query_lists_what_a_workspace_made_and_generated_configuration_imports_it_with_no_change() {
    let moto = Moto::start();
    let url = moto.url();
    let net = Net::make(&url);
    let provider = emulator_provider(&url);
    let maker = Terraform::new_v(QUERY_VERSION, &[("main.tf", &format!("{provider}{}", made(&net)))]);
    maker.init();
    maker.apply(&[]).ok("apply of two pipelines and a bundle");

    let finder = Terraform::new_v(
        QUERY_VERSION,
        &[("main.tf", &provider), ("find.tfquery.hcl", LIST_ALL), ("filtered.tfquery.hcl", &list_filtered(&net.vpc))],
    );
    finder.init();
    let listed = finder.run(&["query", "-no-color"]).ok("terraform query");
    let all = results_of(&listed.stdout, "all");
    for shown in ["orders", "billing", "shared"] {
        assert!(all.iter().any(|l| l.contains(shown)), "query should list {shown}:\n{}", listed.all());
    }
    let in_vpc = results_of(&listed.stdout, "in_vpc");
    assert!(
        in_vpc.iter().any(|l| l.contains("orders")) && in_vpc.iter().any(|l| l.contains("billing")),
        "vpc_id lists the pipelines of that VPC:\n{}",
        listed.stdout
    );
    assert!(
        !results_of(&listed.stdout, "elsewhere").iter().any(|l| l.contains("orders")),
        "another VPC has no pipeline:\n{}",
        listed.stdout
    );
    let bill = results_of(&listed.stdout, "bill");
    assert!(
        bill.iter().any(|l| l.contains("billing")) && !bill.iter().any(|l| l.contains("orders")),
        "name_prefix keeps the names it starts:\n{}",
        listed.stdout
    );

    let importer = Terraform::new_v(QUERY_VERSION, &[("main.tf", &provider), ("find.tfquery.hcl", LIST_ALL)]);
    importer.init();
    let generated = importer.run(&["query", "-no-color", "-generate-config-out=generated.tf"]).ok("terraform query -generate-config-out");
    let written = std::fs::read_to_string(importer.workdir().join("generated.tf"))
        .unwrap_or_else(|e| panic!("generated.tf: {e}\n{}", generated.all()));
    importer.run(&["validate", "-no-color"]).ok(&format!("validate of the generated configuration:\n{written}"));
    let plan = importer.run(&["plan", "-no-color"]).ok("plan of the generated configuration");
    assert!(
        plan.stdout.contains("Plan: 3 to import, 0 to add, 0 to change, 0 to destroy."),
        "the generated configuration should import the three and change nothing:\n{written}\n{}",
        plan.stdout
    );
    // The imports applied, the plan after them is empty.
    importer.apply(&[]).ok("apply of the imports");
    importer.assert_no_changes(&[]);
    maker.destroy(&[]).ok("destroy");
}

/// A bad list config is refused by `terraform validate -query`, the error
/// underlining the attribute's own line, with no AWS call (the endpoints
/// lead nowhere).
#[test]
fn a_bad_list_config_is_refused_at_its_line() {
    let nowhere = format!("http://127.0.0.1:{}", common::free_port());
    let query = r#"list "privatelink_private_lambda_pipeline" "bad" {
  provider = privatelink
  config {
    vpc_id = "subnet-0123456789abcdef0"
  }
}
"#;
    let tf = Terraform::new_v(QUERY_VERSION, &[("main.tf", &emulator_provider(&nowhere)), ("bad.tfquery.hcl", query)]);
    tf.init();
    let r = tf.run(&["validate", "-query", "-no-color"]);
    assert_ne!(r.code, 0, "an invalid vpc_id should fail validate:\n{}", r.all());
    assert!(
        r.all().contains("Invalid vpc_id") && r.all().contains(r#"4:     vpc_id = "subnet-0123456789abcdef0""#),
        "the error should show the vpc_id line:\n{}",
        r.all()
    );
}
