//! Docs and examples stay true to the code, checked with every installed
//! Terraform (fmt with 1.0.3, the oldest style):
//!
//! - the provider schema, as `terraform providers schema -json` prints it,
//!   against docs/: every attribute and block of the provider, of every
//!   resource and of every data source must be named in its page (as
//!   `name`), so a schema change without its docs fails CI;
//! - every .tf file under examples/ is `terraform fmt` clean;
//! - every example folder passes `terraform validate` with the built
//!   provider (folders that are not a root module get the provider's
//!   `required_providers` added in the temporary copy).

use crate::common;
use crate::every_terraform;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::terraform::Terraform;

const SOURCE: &str = "registry.terraform.io/privatelink/privatelink";

fn required_providers() -> &'static str {
    "terraform {\n  required_providers {\n    privatelink = {\n      source = \"privatelink/privatelink\"\n    }\n  }\n}\n"
}

/// Every attribute and block name under `block`, with dotted paths.
fn names(block: &serde_json::Value, prefix: &str, out: &mut Vec<(String, String)>) {
    if let Some(attrs) = block["attributes"].as_object() {
        for name in attrs.keys() {
            out.push((format!("{prefix}{name}"), name.clone()));
        }
    }
    if let Some(blocks) = block["block_types"].as_object() {
        for (name, nested) in blocks {
            out.push((format!("{prefix}{name}"), name.clone()));
            names(&nested["block"], &format!("{prefix}{name}."), out);
        }
    }
}

/// What a page is missing: names of the schema it never writes as `name`.
fn missing_from(page: &Path, block: &serde_json::Value) -> Vec<String> {
    let text = std::fs::read_to_string(page).unwrap_or_default();
    let mut all = Vec::new();
    names(block, "", &mut all);
    all.into_iter()
        .filter(|(_, name)| !text.contains(&format!("`{name}`")))
        .map(|(path, _)| format!("{}: `{path}`", page.display()))
        .collect()
}

every_terraform! {
    fn docs_name_every_attribute_of_the_schema(version) {
        let tf = Terraform::new_v(version, &[("main.tf", required_providers())]);
        tf.init();
        let out = tf.run(&["providers", "schema", "-json"]).ok("providers schema -json");
        let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema JSON");
        let ours = &schema["provider_schemas"][SOURCE];
        let docs = common::root().join("docs");
        let mut missing = missing_from(&docs.join("index.md"), &ours["provider"]["block"]);
        let mut pages = 0;
        for (kind, folder) in [("resource_schemas", "resources"), ("data_source_schemas", "data-sources")] {
            let types = ours[kind].as_object().expect("schemas of a kind");
            for (type_name, s) in types {
                let page = docs.join(folder).join(format!("{}.md", type_name.trim_start_matches("privatelink_")));
                assert!(page.exists(), "{type_name} has no page: {}", page.display());
                missing.extend(missing_from(&page, &s["block"]));
                pages += 1;
            }
        }
        assert!(pages >= 3, "the schema listed {pages} resources and data sources");
        assert!(missing.is_empty(), "docs drifted from the schema; not documented:\n{}", missing.join("\n"));
    }
}

/// The check fails when a page lacks an attribute (it can fail).
#[test]
fn a_page_without_an_attribute_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("x.md");
    std::fs::write(&page, "- `name` the name\n").unwrap();
    let block = serde_json::json!({ "attributes": { "name": {}, "vpc_id": {} }, "block_types": { "timeouts": { "block": { "attributes": { "create": {} } } } } });
    let missing = missing_from(&page, &block);
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(missing.iter().any(|m| m.ends_with("`timeouts.create`")));
}

#[test]
fn examples_are_terraform_fmt_clean() {
    let out = std::process::Command::new(common::tool("terraform"))
        .args(["fmt", "-check", "-recursive", "-diff", "-no-color"])
        .arg(common::root().join("examples"))
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt -check found unformatted files:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Folders under examples/ holding .tf files.
fn example_folders(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut has_tf = false;
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            example_folders(&p, out);
        } else if p.extension().is_some_and(|e| e == "tf") {
            has_tf = true;
        }
    }
    if has_tf {
        out.push(dir.to_path_buf());
    }
}

every_terraform! {
    fn every_example_validates(version) {
        let mut folders = Vec::new();
        example_folders(&common::root().join("examples"), &mut folders);
        assert!(folders.len() >= 6, "found {} example folders", folders.len());
        let mut failures = Vec::new();
        let examples = common::root().join("examples");
        for folder in &folders {
            let rel = folder.strip_prefix(&examples).unwrap().display().to_string();
            // A copy of the whole tree, so module sources resolve; folders that
            // are not a root module get the provider's source declared.
            let tf = Terraform::from_example_v(version, &rel);
            let declared = std::fs::read_dir(tf.workdir()).unwrap().flatten().any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("required_providers")));
            if !declared {
                tf.write("required_providers.tf", required_providers());
            }
            tf.init();
            let r = tf.run(&["validate", "-no-color"]);
            if r.code != 0 {
                failures.push(format!("{} (Terraform {version}):\n{}", folder.display(), r.all()));
            }
        }
        let checked: BTreeSet<String> = folders.iter().map(|f| f.strip_prefix(common::root()).unwrap().display().to_string()).collect();
        println!("validated: {checked:?}");
        assert!(failures.is_empty(), "terraform validate failed:\n{}", failures.join("\n"));
    }
}
