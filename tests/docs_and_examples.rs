//! Docs and examples stay true to the code, checked with every installed
//! Terraform (fmt with 1.0.3, the oldest style):
//!
//! - the provider schema, as `terraform providers schema -json` prints it,
//!   against docs/: every attribute and block of the provider, of every
//!   resource, of every data source and (Terraform 1.14+) of every list
//!   resource and every action must be named in its page (as `name`), so
//!   a schema change without its docs fails CI;
//! - every .tf file under examples/ is `terraform fmt` clean (and every
//!   .tfquery.hcl file, with Terraform 1.15.5: older versions do not read
//!   them);
//! - every example folder passes `terraform validate` with the built
//!   provider (folders that are not a root module get the provider's
//!   `required_providers` added in the temporary copy); a folder with
//!   query files (`.tfquery.hcl`, `list` blocks) passes `terraform
//!   validate -query` on Terraform 1.14+, and a plain `validate` on older
//!   versions, which leave those files alone;
//! - every HCL snippet of README.md, docs/ and the examples' and modules'
//!   READMEs that is a whole configuration passes `terraform validate`
//!   (Terraform 1.15.5; the rule that tells whole from fragment is in
//!   `docs_and_examples/snippets.rs`);
//! - user-facing text (README.md, docs/, examples/) uses no word of the
//!   project's own work: no "seed", "issue N", commit id or "this machine".

mod snippets;

use crate::common;
use crate::every_terraform;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::terraform::{has_query, Terraform};

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
        let lists_shown = has_query(version);
        assert_eq!(ours["list_resource_schemas"].is_object(), lists_shown, "Terraform {version} shows list resources: {lists_shown}");
        for (kind, folder) in [("resource_schemas", "resources"), ("data_source_schemas", "data-sources"), ("list_resource_schemas", "list-resources")] {
            if kind == "list_resource_schemas" && !lists_shown {
                continue;
            }
            let types = ours[kind].as_object().expect("schemas of a kind");
            for (type_name, s) in types {
                let page = docs.join(folder).join(format!("{}.md", type_name.trim_start_matches("privatelink_")));
                assert!(page.exists(), "{type_name} has no page: {}", page.display());
                missing.extend(missing_from(&page, &s["block"]));
                pages += 1;
            }
        }
        assert!(pages >= 3, "the schema listed {pages} resources and data sources");
        // Actions: in the schema of Terraform 1.14 and later.
        for (type_name, s) in ours["action_schemas"].as_object().into_iter().flatten() {
            let page = docs.join("actions").join(format!("{}.md", type_name.trim_start_matches("privatelink_")));
            assert!(page.exists(), "{type_name} has no page: {}", page.display());
            assert!(s["block"].is_object(), "{type_name}: no block in the action's schema: {s}");
            missing.extend(missing_from(&page, &s["block"]));
        }
        assert_eq!(has_query(version), ours["action_schemas"].is_object(), "actions in the schema of Terraform {version}");
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

/// `terraform fmt -check -diff` with `terraform` (a tool of .tools/bin)
/// on `paths`, with `args` before them, must find nothing to change.
fn assert_fmt_clean(terraform: &str, args: &[&str], paths: &[PathBuf], what: &str) {
    let out = std::process::Command::new(common::tool(terraform))
        .args(["fmt", "-check", "-diff", "-no-color"])
        .args(args)
        .args(paths)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .expect("run terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt -check found unformatted {what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn examples_are_terraform_fmt_clean() {
    assert_fmt_clean("terraform", &["-recursive"], &[common::root().join("examples")], "files");
}

/// Is `p` a query file (`NAME.tfquery.hcl`)?
fn is_query_file(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".tfquery.hcl"))
}

/// The query files under `dir`, at any depth.
fn query_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            query_files(&p, out);
        } else if is_query_file(&p) {
            out.push(p);
        }
    }
}

/// `terraform fmt` of Terraform 1.0.3 reads .tf files only; the query
/// files are checked with 1.15.5, which formats them.
#[test]
fn query_files_are_terraform_fmt_clean() {
    let mut files = Vec::new();
    query_files(&common::root().join("examples"), &mut files);
    assert!(files.len() >= 3, "{} query files under examples/: each list resource has one", files.len());
    assert_fmt_clean("terraform-1.15.5", &[], &files, "query files");
}

/// Folders under examples/ holding .tf or .tfquery.hcl files: (folder,
/// whether it holds query files).
fn example_folders(dir: &Path, out: &mut Vec<(PathBuf, bool)>) {
    let (mut has_tf, mut has_query) = (false, false);
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            example_folders(&p, out);
        } else if p.extension().is_some_and(|e| e == "tf") {
            has_tf = true;
        } else if is_query_file(&p) {
            has_query = true;
        }
    }
    if has_tf || has_query {
        out.push((dir.to_path_buf(), has_query));
    }
}

/// Whether the example folder holds `action` blocks, which Terraform reads
/// from 1.14 on (earlier versions refuse the block).
fn has_actions(folder: &Path) -> bool {
    std::fs::read_dir(folder).unwrap().flatten().any(|e| {
        e.path().extension().is_some_and(|x| x == "tf")
            && std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().any(|l| l.starts_with("action \"")))
    })
}

every_terraform! {
    fn every_example_validates(version) {
        let mut folders = Vec::new();
        example_folders(&common::root().join("examples"), &mut folders);
        assert!(folders.len() >= 6, "found {} example folders", folders.len());
        let with_queries = folders.iter().filter(|(_, q)| *q).count();
        assert!(with_queries >= 3, "found {with_queries} example folders with query files");
        let mut failures = Vec::new();
        let examples = common::root().join("examples");
        // Folders with actions, on the versions that read them (actions
        // came with list blocks, in 1.14).
        folders.retain(|(f, _)| has_query(version) || !has_actions(f));
        for (folder, queries) in &folders {
            let rel = folder.strip_prefix(&examples).unwrap().display().to_string();
            // A copy of the whole tree, so module sources resolve; folders that
            // are not a root module get the provider's source declared.
            let tf = Terraform::from_example_v(version, &rel);
            let declared = std::fs::read_dir(tf.workdir()).unwrap().flatten().any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains("required_providers")));
            if !declared {
                tf.write("required_providers.tf", required_providers());
            }
            tf.init();
            // Query files: checked by the versions that read them (their
            // list blocks against the provider's list schemas); older
            // versions must validate the folder as if they were not there.
            let validate: &[&str] = if *queries && has_query(version) { &["validate", "-query", "-no-color"] } else { &["validate", "-no-color"] };
            let r = tf.run(validate);
            if r.code != 0 {
                failures.push(format!("{} (Terraform {version}, {}):\n{}", folder.display(), validate.join(" "), r.all()));
            }
        }
        let checked: BTreeSet<String> = folders.iter().map(|(f, _)| f.strip_prefix(common::root()).unwrap().display().to_string()).collect();
        println!("validated: {checked:?}");
        assert!(failures.is_empty(), "terraform validate failed:\n{}", failures.join("\n"));
    }
}

// On the newest Terraform only, so that every block a snippet may show
// (check, import, removed) is known; the examples' own files are validated
// on every version above.
crate::on_terraform! {
    [terraform_1_15_5 "1.15.5"]
    /// Every ```hcl / ```terraform snippet of README.md, docs/ and the
    /// examples' and modules' READMEs that is a whole configuration (the
    /// rule: `snippets.rs`) passes `terraform validate` with the built
    /// provider, offline. All of them in one run: each snippet is a child
    /// module of one root, which sets each of its variables to a root
    /// variable left unset (unknown, as `terraform validate` treats the
    /// root's variables), so one `init` and one `validate` check them all.
    /// A snippet with an `import` block, which only a root may hold, gets a
    /// run of its own; so does a query snippet (`list` blocks), saved as
    /// `main.tfquery.hcl` and checked with `terraform validate -query`.
    fn every_whole_snippet_in_the_docs_validates(version) {
        let root = common::root();
        let mut whole = Vec::new();
        let (mut fragments, mut other_providers) = (Vec::new(), Vec::new());
        for file in snippets::markdown_files(&root) {
            let text = std::fs::read_to_string(&file).unwrap();
            for s in snippets::hcl_snippets(&file, &text) {
                match snippets::classify(&s.text) {
                    // Kept for the versions that read `action` blocks.
                    (snippets::Kind::Whole, shape) if shape.actions && !has_query(version) => {
                        fragments.push(format!("{} (action blocks: Terraform 1.14+)", s.place(&root)))
                    }
                    (snippets::Kind::Whole, shape) => whole.push((s, shape)),
                    (snippets::Kind::OtherProvider(what), _) => other_providers.push(format!("{} ({what})", s.place(&root))),
                    (snippets::Kind::Fragment(why), _) => fragments.push(format!("{} ({why})", s.place(&root))),
                }
            }
        }
        let places: Vec<String> = whole.iter().map(|(s, _)| s.place(&root)).collect();
        println!("{} whole configurations, validated: {places:?}", places.len());
        println!("{} fragments, skipped: {fragments:#?}", fragments.len());
        println!("{} needing another provider, skipped: {other_providers:#?}", other_providers.len());
        assert!(whole.len() >= 5, "only {} whole snippets found: the README's examples should be among them", whole.len());

        // One root for the snippets a module can hold, one per import or
        // query snippet; (working dir, places, whether it holds a query file).
        let mut runs: Vec<(Terraform, Vec<String>, bool)> = Vec::new();
        let mut calls = String::from("variable \"unknown\" {}\n");
        let main = Terraform::new_v(version, &[("required_providers.tf", required_providers())]);
        let mut places = Vec::new();
        for (i, (s, shape)) in whole.iter().enumerate() {
            let dir_name = format!("snippet_{i}");
            places.push(format!("{dir_name} = {}", s.place(&root)));
            let dir = if shape.imports || shape.query {
                let tf = Terraform::new_v(version, &[]);
                let d = tf.workdir();
                runs.push((tf, vec![format!("{dir_name} = {}", s.place(&root))], shape.query));
                d
            } else {
                calls.push_str(&format!("\nmodule \"{dir_name}\" {{\n  source = \"./{dir_name}\"\n"));
                for v in &shape.variables {
                    calls.push_str(&format!("  {v} = var.unknown\n"));
                }
                calls.push_str("}\n");
                let d = main.workdir().join(&dir_name);
                std::fs::create_dir_all(&d).unwrap();
                d
            };
            std::fs::write(dir.join(if shape.query { "main.tfquery.hcl" } else { "main.tf" }), &s.text).unwrap();
            if !shape.required_providers {
                std::fs::write(dir.join("required_providers.tf"), required_providers()).unwrap();
            }
        }
        main.write("main.tf", &calls);
        runs.insert(0, (main, places, false));
        let queries = runs.iter().filter(|(_, _, q)| *q).count();
        println!("{queries} query snippets, each validated with -query");
        assert!(queries >= 3, "only {queries} query snippets: each list resource's page shows one");

        let mut failures = Vec::new();
        for (tf, places, query) in &runs {
            let init = tf.run(&["init", "-no-color"]);
            let validate: &[&str] = if *query { &["validate", "-query", "-no-color"] } else { &["validate", "-no-color"] };
            let r = if init.code == 0 { tf.run(validate) } else { init };
            if r.code != 0 {
                failures.push(format!("Terraform {}, where {}:\n{}", r.version, places.join(", "), r.all()));
            }
        }
        assert!(failures.is_empty(), "snippets in the docs do not validate:\n{}", failures.join("\n"));
    }
}

/// Words of the project's own work found in `text`, as `line: word`: how a
/// page came to be ("seed", "issue 6", a commit id, "this machine",
/// "workshop") is not something a user can act on.
fn internal_words(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let lower = line.to_lowercase();
        let words: Vec<&str> =
            lower.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).filter(|w| !w.is_empty()).collect();
        for (i, w) in words.iter().enumerate() {
            let is_number = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
            let hex_id = (7..=40).contains(&w.len())
                && w.chars().all(|c| c.is_ascii_hexdigit())
                && w.chars().any(|c| c.is_ascii_digit())
                && w.chars().any(|c| c.is_ascii_alphabetic());
            if w.starts_with("seed")
                || *w == "workshop"
                || hex_id
                || (*w == "issue" && words.get(i + 1).is_some_and(|next| is_number(next)))
                || (*w == "this" && words.get(i + 1) == Some(&"machine"))
            {
                found.push(format!("{}: {}", n + 1, line.trim()));
            }
        }
    }
    found
}

/// The files users read: README.md, docs/, and everything under examples/.
fn user_facing_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|e| ["md", "tf", "hcl", "py", "sh"].iter().any(|x| e == *x)) {
                out.push(p);
            }
        }
    }
    let root = common::root();
    let mut out = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut out);
    walk(&root.join("examples"), &mut out);
    out
}

#[test]
fn user_facing_text_has_no_internal_words() {
    let root = common::root();
    let mut found = Vec::new();
    for f in user_facing_files() {
        let text = std::fs::read_to_string(&f).unwrap();
        found.extend(internal_words(&text).into_iter().map(|w| format!("{}:{w}", f.strip_prefix(&root).unwrap().display())));
    }
    assert!(found.is_empty(), "internal words in user-facing text:\n{}", found.join("\n"));
}

/// The check finds each kind of word, and lets ids and numbers through.
#[test]
fn internal_words_are_found_and_ids_pass() {
    let text = "as the seed writes it\nseeded faults\nTarget (issue 6)\nat c40a1a5 (2026-11-23)\non this machine\nvpce-0a1b2c3d4e5f60718 and 1209600 and sha256 and deadbeef\nissue a fix\n";
    let found = internal_words(text);
    let lines: Vec<&str> = found.iter().map(|f| f.split(':').next().unwrap()).collect();
    assert_eq!(lines, vec!["1", "2", "3", "4", "5"], "{found:?}");
}

/// Each reference page's Example Usage is its example file, word for word,
/// so what the page shows is what `every_example_validates` checks and what
/// a user copies (the page names the file as its source).
#[test]
fn each_reference_page_shows_its_example_file() {
    let root = common::root();
    let mut pages = 0;
    let mut differ = Vec::new();
    for (folder, file) in [
        ("resources", "resource.tf"),
        ("data-sources", "data-source.tf"),
        ("list-resources", "list-resource.tfquery.hcl"),
        ("actions", "action.tf"),
    ] {
        for e in std::fs::read_dir(root.join("docs").join(folder)).unwrap().flatten() {
            let page = e.path();
            let name = page.file_stem().unwrap().to_string_lossy().to_string();
            let example = root.join("examples").join(folder).join(format!("privatelink_{name}")).join(file);
            let text = std::fs::read_to_string(&page).unwrap();
            let usage = &text[text.find("## Example Usage").unwrap_or_else(|| panic!("{}: no Example Usage", page.display()))..];
            let first = snippets::hcl_snippets(&page, usage).into_iter().next().expect("an hcl block in Example Usage");
            let want = std::fs::read_to_string(&example).unwrap_or_else(|e| panic!("{}: {e}", example.display()));
            if first.text != want {
                differ.push(format!("{} differs from {}", page.display(), example.display()));
            }
            pages += 1;
        }
    }
    assert!(pages >= 9, "{pages} reference pages");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}
