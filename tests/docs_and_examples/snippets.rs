//! The HCL snippets of the Markdown files users read, and the rule that
//! tells a whole configuration from a fragment.
//!
//! A snippet is a ```hcl or ```terraform fenced block (indented fences, as in
//! a list item, included). It is a **whole configuration** when it can be
//! saved as a `.tf` file and validated as it stands:
//!
//! 1. everything at its top level is a block a configuration may hold
//!    (`terraform`, `provider`, `variable`, `locals`, `output`, `resource`,
//!    `data`, `check`, `import`, `moved`, `removed`, and `action`, which
//!    Terraform reads from 1.14 on), so a CLI configuration
//!    (`provider_installation`), a `terraform test` file (`run`) or a block
//!    shown alone (`endpoint { ... }`, `timeouts { ... }`) is not one; a
//!    snippet with a `list` block is a query file (`.tfquery.hcl`,
//!    Terraform 1.14+), which may hold only `list`, `provider`, `variable`
//!    and `locals` blocks;
//! 2. it has no `module` block, whose code lives outside the snippet;
//! 3. everything it refers to is declared in it: each `var.X` by a
//!    `variable "X"`, each `local.X` by `locals`, each `data.T.N`,
//!    `action.T.N` and `T.N` by its `data`, `action` or `resource` block
//!    (`path`, `terraform`, `each`,
//!    `count`, `self`, and the names `for` expressions and `dynamic` blocks
//!    bind, are not references).
//!
//! So `resource "..." { vpc_id = aws_vpc.main.id }` is a fragment (it names
//! a VPC declared elsewhere), while a snippet that declares
//! `variable "vpc_id"` and uses `var.vpc_id` is whole. A whole configuration
//! that needs a provider other than privatelink (a `provider` block, a
//! `required_providers` entry or a resource or data type of another
//! provider) cannot be validated offline, where only privatelink is
//! installed: it is counted apart and not run.
//!
//! Names are read from a light tokenizer, not a full HCL parser: string
//! literals and comments are dropped, interpolations (`${...}`, `%{...}`)
//! are read as code, heredocs are dropped whole.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A fenced ```hcl / ```terraform block of a Markdown file.
pub struct Snippet {
    pub file: PathBuf,
    /// The line of the opening fence, from 1.
    pub line: usize,
    pub text: String,
}

impl Snippet {
    /// `README.md:120`, relative to `root`.
    pub fn place(&self, root: &Path) -> String {
        format!("{}:{}", self.file.strip_prefix(root).unwrap_or(&self.file).display(), self.line)
    }
}

/// The Markdown files whose snippets users copy: README.md, every page
/// under docs/, and every README.md under examples/ (examples and modules).
pub fn markdown_files(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, keep: &dyn Fn(&Path) -> bool, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, keep, out);
            } else if keep(&p) {
                out.push(p);
            }
        }
    }
    let mut out = vec![root.join("README.md")];
    walk(&root.join("docs"), &|p| p.extension().is_some_and(|e| e == "md"), &mut out);
    walk(&root.join("examples"), &|p| p.file_name().is_some_and(|n| n == "README.md"), &mut out);
    out
}

/// The ```hcl and ```terraform blocks of `text` (the content of `file`).
pub fn hcl_snippets(file: &Path, text: &str) -> Vec<Snippet> {
    let mut out = Vec::new();
    let mut open: Option<(usize, usize, bool, Vec<&str>)> = None; // (line, indent, hcl, body)
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.as_mut() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    let lang = info.split_whitespace().next().unwrap_or("");
                    open = Some((n + 1, indent, matches!(lang, "hcl" | "terraform" | "tf"), Vec::new()));
                }
            }
            Some((start, ind, hcl, body)) => {
                if trimmed.starts_with("```") && trimmed.trim_end() == "```" {
                    if *hcl {
                        out.push(Snippet { file: file.to_path_buf(), line: *start, text: body.join("\n") + "\n" });
                    }
                    open = None;
                } else {
                    // Body lines lose the fence's indentation (a fence in a list item).
                    let cut = line.len() - line.trim_start().len();
                    body.push(&line[cut.min(*ind)..]);
                }
            }
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// A string literal: its text when it has no interpolation.
    Str(Option<String>),
    Dot,
    Eq,
    Comma,
    Open,
    Close,
    Other,
}

enum Mode {
    /// Code; in an interpolation, the depth of braces opened inside it.
    Code(usize),
    /// A string literal: its text so far, and whether it stayed plain.
    Str(String, bool),
}

fn tokens(src: &str) -> Vec<Tok> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let mut out = Vec::new();
    let mut stack = vec![Mode::Code(0)];
    let mut i = 0;
    while i < c.len() {
        let nested = stack.len() > 1;
        match stack.last_mut().unwrap() {
            Mode::Str(text, plain) => match (at(i), at(i + 1)) {
                ('\\', e) => {
                    text.push(e);
                    i += 2;
                }
                ('$', '$') | ('%', '%') => {
                    text.push(at(i));
                    i += 2;
                }
                ('$', '{') | ('%', '{') => {
                    *plain = false;
                    stack.push(Mode::Code(0));
                    i += 2;
                }
                ('"', _) => {
                    let Some(Mode::Str(text, plain)) = stack.pop() else { unreachable!() };
                    out.push(Tok::Str(plain.then_some(text)));
                    i += 1;
                }
                (ch, _) => {
                    text.push(ch);
                    i += 1;
                }
            },
            Mode::Code(depth) => {
                let ch = at(i);
                match (ch, at(i + 1)) {
                    (w, _) if w.is_whitespace() => i += 1,
                    ('#', _) | ('/', '/') => {
                        while i < c.len() && at(i) != '\n' {
                            i += 1;
                        }
                    }
                    ('/', '*') => {
                        i += 2;
                        while i < c.len() && !(at(i) == '*' && at(i + 1) == '/') {
                            i += 1;
                        }
                        i += 2;
                    }
                    ('<', '<') if at(i + 2) == '-' || at(i + 2).is_ascii_alphabetic() => {
                        // A heredoc: dropped up to its closing marker.
                        let mut j = i + 2 + usize::from(at(i + 2) == '-');
                        let start = j;
                        while at(j).is_ascii_alphanumeric() || at(j) == '_' {
                            j += 1;
                        }
                        let marker: String = c[start..j].iter().collect();
                        while j < c.len() && at(j) != '\n' {
                            j += 1;
                        }
                        loop {
                            j += 1;
                            let end = (j..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len());
                            let line: String = c[j.min(c.len())..end].iter().collect();
                            j = end;
                            if line.trim() == marker || j >= c.len() {
                                break;
                            }
                        }
                        out.push(Tok::Str(None));
                        i = j;
                    }
                    ('"', _) => {
                        stack.push(Mode::Str(String::new(), true));
                        i += 1;
                    }
                    ('{', _) => {
                        *depth += 1;
                        out.push(Tok::Open);
                        i += 1;
                    }
                    ('}', _) if nested && *depth == 0 => {
                        stack.pop();
                        i += 1;
                    }
                    ('}', _) => {
                        *depth = depth.saturating_sub(1);
                        out.push(Tok::Close);
                        i += 1;
                    }
                    ('[', _) | ('(', _) => {
                        out.push(Tok::Open);
                        i += 1;
                    }
                    (']', _) | (')', _) => {
                        out.push(Tok::Close);
                        i += 1;
                    }
                    ('=', '=') | ('=', '>') | ('!', '=') | ('<', '=') | ('>', '=') | ('&', '&') | ('|', '|') => {
                        out.push(Tok::Other);
                        i += 2;
                    }
                    ('=', _) => {
                        out.push(Tok::Eq);
                        i += 1;
                    }
                    ('.', _) => {
                        out.push(Tok::Dot);
                        i += 1;
                    }
                    (',', _) => {
                        out.push(Tok::Comma);
                        i += 1;
                    }
                    (a, _) if a.is_alphabetic() || a == '_' => {
                        let start = i;
                        while at(i).is_alphanumeric() || at(i) == '_' || at(i) == '-' {
                            i += 1;
                        }
                        out.push(Tok::Ident(c[start..i].iter().collect()));
                    }
                    (d, _) if d.is_ascii_digit() => {
                        while at(i).is_ascii_alphanumeric() || (at(i) == '.' && at(i + 1).is_ascii_digit()) {
                            i += 1;
                        }
                        out.push(Tok::Other);
                    }
                    _ => {
                        out.push(Tok::Other);
                        i += 1;
                    }
                }
            }
        }
    }
    out
}

/// The top-level blocks a configuration file may hold.
const CONFIG_BLOCKS: &[&str] =
    &["terraform", "provider", "variable", "locals", "output", "resource", "data", "check", "import", "moved", "removed", "action"];

/// The top-level blocks a query file (`.tfquery.hcl`) may hold.
const QUERY_BLOCKS: &[&str] = &["list", "provider", "variable", "locals"];

/// Names that start an expression without referring to a declaration.
const BUILT_IN: &[&str] = &["path", "terraform", "each", "count", "self"];

/// What a snippet is, by the rule at the top of this file.
#[derive(Debug, PartialEq)]
pub enum Kind {
    /// A whole configuration with only privatelink: validated.
    Whole,
    /// A whole configuration that needs another provider: not run offline.
    OtherProvider(String),
    /// Not a whole configuration; why.
    Fragment(String),
}

/// What a whole snippet declares that its caller must know.
#[derive(Debug, Default)]
pub struct Shape {
    /// Its `variable` names, which a module call must set.
    pub variables: Vec<String>,
    /// Whether it declares `required_providers` itself.
    pub required_providers: bool,
    /// Whether it has an `import` block, which only a root module may hold.
    pub imports: bool,
    /// Whether it is a query file (it has a `list` block): saved as
    /// `.tfquery.hcl` and checked by `terraform validate -query`.
    pub query: bool,
    /// Whether it has an `action` block, which Terraform reads from 1.14 on.
    pub actions: bool,
}

/// The index after the block or group opened at `open` (a `Tok::Open`).
fn after_group(t: &[Tok], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, tok) in t.iter().enumerate().skip(open) {
        match tok {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    t.len()
}

/// Labels after a block type at `k`: the index of its `{` and the labels.
fn block_header(t: &[Tok], k: usize) -> Option<(usize, Vec<String>)> {
    let mut labels = Vec::new();
    let mut j = k + 1;
    loop {
        match t.get(j)? {
            Tok::Str(Some(s)) => labels.push(s.clone()),
            Tok::Ident(s) => labels.push(s.clone()),
            Tok::Open => return Some((j, labels)),
            _ => return None,
        }
        j += 1;
    }
}

/// `Ident =` pairs at the first level inside the block opened at `open`.
fn attribute_names(t: &[Tok], open: usize) -> Vec<String> {
    let end = after_group(t, open);
    let mut depth = 0;
    let mut names = Vec::new();
    for k in open..end {
        match &t[k] {
            Tok::Open => depth += 1,
            Tok::Close => depth -= 1,
            Tok::Ident(n) if depth == 1 && t.get(k + 1) == Some(&Tok::Eq) => names.push(n.clone()),
            _ => {}
        }
    }
    names
}

/// Classifies a snippet, and says what a whole one declares.
pub fn classify(text: &str) -> (Kind, Shape) {
    let t = tokens(text);
    let mut shape = Shape::default();
    let mut declared: BTreeSet<String> = BTreeSet::new();
    let mut others: BTreeSet<String> = BTreeSet::new();
    let fragment = |why: String| (Kind::Fragment(why), Shape::default());

    // Top level: blocks only, of the kinds a configuration (or, with a
    // `list` block, a query file) holds.
    let mut k = 0;
    let mut blocks = 0;
    let mut kinds = BTreeSet::new();
    while k < t.len() {
        let Tok::Ident(kind) = &t[k] else {
            return fragment(format!("{:?} at the top level", t[k]));
        };
        let Some((open, labels)) = block_header(&t, k) else {
            return fragment(format!("`{kind}` at the top level is not a block"));
        };
        if kind == "module" {
            return fragment("a module block (its code is outside the snippet)".into());
        }
        if !CONFIG_BLOCKS.contains(&kind.as_str()) && kind != "list" {
            return fragment(format!("a top-level `{kind}` block is not configuration"));
        }
        kinds.insert(kind.clone());
        let label = |i: usize| labels.get(i).cloned().unwrap_or_default();
        match kind.as_str() {
            "variable" => {
                declared.insert(format!("var.{}", label(0)));
                shape.variables.push(label(0));
            }
            "locals" => declared.extend(attribute_names(&t, open).into_iter().map(|n| format!("local.{n}"))),
            "resource" => {
                declared.insert(format!("{}.{}", label(0), label(1)));
                if !label(0).starts_with("privatelink_") {
                    others.insert(format!("resource type {}", label(0)));
                }
            }
            "data" => {
                declared.insert(format!("data.{}.{}", label(0), label(1)));
                if !label(0).starts_with("privatelink_") {
                    others.insert(format!("data source {}", label(0)));
                }
            }
            "provider" if label(0) != "privatelink" => {
                others.insert(format!("provider {}", label(0)));
            }
            "import" => shape.imports = true,
            "list" => {
                declared.insert(format!("list.{}.{}", label(0), label(1)));
                shape.query = true;
                if !label(0).starts_with("privatelink_") {
                    others.insert(format!("list resource {}", label(0)));
                }
            }
            "action" => {
                declared.insert(format!("action.{}.{}", label(0), label(1)));
                shape.actions = true;
                if !label(0).starts_with("privatelink_") {
                    others.insert(format!("action type {}", label(0)));
                }
            }
            _ => {}
        }
        blocks += 1;
        k = after_group(&t, open);
    }
    if blocks == 0 {
        return fragment("no block".into());
    }
    if shape.query {
        if let Some(other) = kinds.iter().find(|k| !QUERY_BLOCKS.contains(&k.as_str())) {
            return fragment(format!("a `{other}` block beside `list` blocks (a query file holds only {})", QUERY_BLOCKS.join(", ")));
        }
    }

    // Nested declarations: data blocks scoped in a check, required_providers.
    for k in 0..t.len() {
        match &t[k] {
            Tok::Ident(n) if n == "data" && k > 0 && t[k - 1] == Tok::Open => {
                if let Some((_, labels)) = block_header(&t, k) {
                    if labels.len() == 2 {
                        declared.insert(format!("data.{}.{}", labels[0], labels[1]));
                    }
                }
            }
            Tok::Ident(n) if n == "required_providers" => {
                if let Some((open, _)) = block_header(&t, k) {
                    shape.required_providers = true;
                    for p in attribute_names(&t, open) {
                        if p != "privatelink" {
                            others.insert(format!("required provider {p}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    // Names bound by `for` expressions and `dynamic` blocks.
    let mut bound: BTreeSet<String> = BUILT_IN.iter().map(|s| s.to_string()).collect();
    for k in 0..t.len() {
        match (&t[k], t.get(k + 1), t.get(k + 2), t.get(k + 3)) {
            (Tok::Ident(f), Some(Tok::Ident(a)), Some(Tok::Comma), Some(Tok::Ident(b))) if f == "for" => {
                bound.insert(a.clone());
                bound.insert(b.clone());
            }
            (Tok::Ident(f), Some(Tok::Ident(a)), Some(Tok::Ident(i)), _) if f == "for" && i == "in" => {
                bound.insert(a.clone());
            }
            (Tok::Ident(d), Some(Tok::Str(Some(label))), _, _) if d == "dynamic" => {
                bound.insert(label.clone());
            }
            (Tok::Ident(d), Some(Tok::Eq), Some(Tok::Ident(name)), _) if d == "iterator" => {
                bound.insert(name.clone());
            }
            _ => {}
        }
    }

    // References: the start of each traversal `a.b` (`data.t.n`).
    let mut missing = BTreeSet::new();
    for k in 0..t.len() {
        let (Tok::Ident(a), Some(Tok::Dot), Some(Tok::Ident(b))) = (&t[k], t.get(k + 1), t.get(k + 2)) else {
            continue;
        };
        if (k > 0 && t[k - 1] == Tok::Dot) || bound.contains(a) {
            continue;
        }
        let name = match (a.as_str(), t.get(k + 3), t.get(k + 4)) {
            ("var", _, _) | ("local", _, _) | ("module", _, _) => format!("{a}.{b}"),
            ("data" | "list" | "action", Some(Tok::Dot), Some(Tok::Ident(n))) => format!("{a}.{b}.{n}"),
            _ => format!("{a}.{b}"),
        };
        if !declared.contains(&name) {
            missing.insert(name);
        }
    }
    if !missing.is_empty() {
        let names: Vec<_> = missing.into_iter().collect();
        return fragment(format!("refers to what it does not declare: {}", names.join(", ")));
    }
    if !others.is_empty() {
        let names: Vec<_> = others.into_iter().collect();
        return (Kind::OtherProvider(names.join(", ")), shape);
    }
    (Kind::Whole, shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Kind {
        classify(text).0
    }

    #[test]
    fn a_resource_naming_what_it_does_not_declare_is_a_fragment() {
        let k = kind("resource \"privatelink_service_endpoint_bundle\" \"b\" {\n  vpc_id = aws_vpc.main.id\n  subnet_ids = aws_subnet.private[*].id\n}\n");
        assert_eq!(k, Kind::Fragment("refers to what it does not declare: aws_subnet.private, aws_vpc.main".into()));
    }

    #[test]
    fn a_snippet_declaring_its_inputs_is_whole() {
        let text = r#"
variable "vpc_id" { type = string } # the VPC
locals {
  services = ["sqs"]
}
resource "privatelink_service_endpoint_bundle" "b" {
  vpc_id = var.vpc_id
  dynamic "endpoint" {
    for_each = local.services
    content { service = endpoint.value }
  }
  tags = { for k, v in { a = "b" } : k => "${v}.${path.module}" }
}
output "ids" { value = [for e in privatelink_service_endpoint_bundle.b.endpoint : e.id] }
check "c" {
  data "privatelink_caller_identity" "me" {}
  assert {
    condition     = data.privatelink_caller_identity.me.account_id != ""
    error_message = "no ${data.privatelink_caller_identity.me.arn}"
  }
}
"#;
        let (k, shape) = classify(text);
        assert_eq!(k, Kind::Whole);
        assert_eq!(shape.variables, vec!["vpc_id".to_string()]);
        assert!(!shape.required_providers && !shape.imports);
    }

    #[test]
    fn strings_comments_and_heredocs_hold_no_references() {
        let text = "provider \"privatelink\" {\n  region = \"eu-west-1\" # aws_vpc.main.id\n}\n/* var.x */\noutput \"o\" {\n  value = <<-EOT\n    index.handler ${var.y}\n  EOT\n}\noutput \"p\" { value = \"index.handler\" }\n";
        assert_eq!(kind(text), Kind::Whole);
    }

    #[test]
    fn other_providers_cli_configs_test_files_and_modules_are_told_apart() {
        assert_eq!(
            kind("provider \"aws\" {\n  region = \"us-east-1\"\n}\nresource \"aws_vpc\" \"main\" {}\n"),
            Kind::OtherProvider("provider aws, resource type aws_vpc".into())
        );
        assert_eq!(
            kind("terraform {\n  required_providers {\n    aws = { source = \"hashicorp/aws\" }\n  }\n}\n"),
            Kind::OtherProvider("required provider aws".into())
        );
        assert!(matches!(kind("provider_installation {\n  direct {}\n}\n"), Kind::Fragment(_)));
        assert!(matches!(kind("run \"plan\" {\n  command = plan\n}\n"), Kind::Fragment(_)));
        assert!(matches!(kind("module \"m\" {\n  source = \"./m\"\n}\n"), Kind::Fragment(_)));
        assert!(matches!(kind("timeouts {\n  delete = \"60m\"\n}\n"), Kind::Fragment(_)));
        assert!(matches!(kind("name = \"x\"\n"), Kind::Fragment(_)));
        assert!(matches!(kind("import {\n  to = privatelink_private_function.f\n  id = \"f\"\n}\n"), Kind::Fragment(_)));
    }

    #[test]
    fn list_blocks_make_a_query_file_that_holds_only_what_query_files_hold() {
        let query = "variable \"vpc_id\" {\n  type = string\n}\n\nlist \"privatelink_private_function\" \"all\" {\n  provider = privatelink\n  config {\n    vpc_id = var.vpc_id\n  }\n}\n\nlocals {\n  found = list.privatelink_private_function.all.data\n}\n";
        let (k, shape) = classify(query);
        assert_eq!(k, Kind::Whole);
        assert!(shape.query && !shape.imports);
        assert_eq!(shape.variables, vec!["vpc_id".to_string()]);
        assert!(!classify("resource \"privatelink_private_function\" \"f\" {}\n").1.query);
        assert!(matches!(
            kind("list \"privatelink_private_function\" \"all\" {\n  provider = privatelink\n}\noutput \"o\" { value = 1 }\n"),
            Kind::Fragment(why) if why.contains("`output`")
        ));
        assert_eq!(
            kind("list \"aws_instance\" \"all\" {\n  provider = aws\n}\n"),
            Kind::OtherProvider("list resource aws_instance".into())
        );
    }

    #[test]
    fn actions_are_configuration_and_what_triggers_them_refers_to_them() {
        let text = r#"
variable "name" { type = string }
resource "privatelink_private_lambda_pipeline" "orders" {
  name = var.name
  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.privatelink_dead_letter_redrive.orders]
    }
  }
}
action "privatelink_dead_letter_redrive" "orders" {
  config {
    pipeline = var.name
  }
}
"#;
        let (k, shape) = classify(text);
        assert_eq!(k, Kind::Whole);
        assert!(shape.actions && !shape.imports);
        let trigger_only = &text[..text.find("action \"privatelink").unwrap()];
        assert_eq!(
            kind(trigger_only),
            Kind::Fragment("refers to what it does not declare: action.privatelink_dead_letter_redrive.orders".into())
        );
        assert_eq!(kind("action \"aws_lambda_invoke\" \"x\" {}\n"), Kind::OtherProvider("action type aws_lambda_invoke".into()));
    }

    #[test]
    fn fences_are_read_with_their_line_and_indentation() {
        let md =
            "# T\n\n```hcl\nterraform {}\n```\n\n1. step\n\n   ```terraform\n   provider \"privatelink\" {}\n   ```\n\n```sh\nls\n```\n";
        let s = hcl_snippets(Path::new("x.md"), md);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].line, s[0].text.as_str()), (3, "terraform {}\n"));
        assert_eq!((s[1].line, s[1].text.as_str()), (9, "provider \"privatelink\" {}\n"));
    }
}
