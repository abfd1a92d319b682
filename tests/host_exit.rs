//! The provider ends with its host (issue 14). A host that dies abruptly
//! never calls GRPCController.Shutdown; the provider must notice and exit
//! on its own, closing the stderr pipe it inherited, so nothing that reads
//! Terraform's output to its end hangs on it. While the host lives, idle
//! or not, the provider keeps serving.

use crate::common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::plugin::{parse_handshake, plugin_env, ClientIdentity, Plugin};
use privatelink::proto::tfplugin6 as pb;

/// Whether `pid` has ended: gone from /proc, or a zombie nobody reaped yet
/// (PID 1 of a container need not reap).
fn ended(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // "PID (comm) STATE ...": the state follows the last ')'.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// Kills the provider if the test ends with it still running, so a failure
/// leaves no orphan behind.
struct Reap(u32);

impl Drop for Reap {
    fn drop(&mut self) {
        if !ended(self.0) {
            let _ = Command::new("kill").args(["-KILL", &self.0.to_string()]).status();
        }
    }
}

fn wait_until(limit: Duration, done: impl Fn() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A host that starts the provider as Terraform does (its child, with the
/// plugin environment, stderr on a pipe the test holds the read end of) and
/// is then killed with SIGKILL. The provider is gone within 3 s, says why,
/// and its end of the pipe closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_exits_when_its_host_is_killed() {
    let identity = ClientIdentity::generate();
    let (stderr_read, stderr_write) = std::io::pipe().expect("a pipe for the provider's stderr");
    // The host: a shell that starts the provider in the background, prints
    // its pid, and waits; the provider's stdout (the handshake) is the
    // shell's.
    let mut host = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" & echo \"$!\"; wait")
        .arg(env!("CARGO_BIN_EXE_terraform-provider-privatelink"))
        .env_clear()
        .envs(plugin_env(&identity))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_write)
        .spawn()
        .expect("start the host");
    // Only the host and the provider hold the write end now.
    let stderr_text = Arc::new(Mutex::new(String::new()));
    let eof_at = Arc::new(Mutex::new(None::<Instant>));
    {
        let (text, eof_at) = (stderr_text.clone(), eof_at.clone());
        let mut reader = stderr_read;
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                text.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            *eof_at.lock().unwrap() = Some(Instant::now());
        });
    }
    let mut lines = BufReader::new(host.stdout.take().unwrap()).lines();
    let (mut provider_pid, mut handshake) = (None, None);
    while provider_pid.is_none() || handshake.is_none() {
        let line = lines.next().expect("the host's output ended early").unwrap();
        match line.trim().parse::<u32>() {
            Ok(pid) => provider_pid = Some(pid),
            Err(_) => handshake = Some(line),
        }
    }
    let provider_pid = provider_pid.unwrap();
    let _reap = Reap(provider_pid);
    let (addr, cert) = parse_handshake(handshake.as_deref().unwrap());
    let host_pid = host.id();
    let mut plugin = Plugin::attach(host, addr, cert, identity);
    let schema = plugin.client().await.get_provider_schema(pb::get_provider_schema::Request {}).await;
    assert!(schema.is_ok(), "the provider serves its host: {schema:?}");

    let killed = Instant::now();
    plugin.kill(); // SIGKILL to the host alone, as an OOM kill would.
    assert!(ended(host_pid));
    let exited = tokio::task::block_in_place(|| wait_until(Duration::from_secs(3), || ended(provider_pid)));
    assert!(exited.is_some(), "the provider (pid {provider_pid}) still runs 3 s after its host was killed");
    let eof = tokio::task::block_in_place(|| wait_until(Duration::from_secs(3), || eof_at.lock().unwrap().is_some()));
    assert!(eof.is_some(), "the provider's stderr pipe is still open 3 s after its host was killed");
    let log = stderr_text.lock().unwrap().clone();
    assert!(log.contains("is gone without shutting the provider down"), "the provider should log why it exits:\n{log}");
    println!(
        "provider gone {:?} after its host was killed; stderr EOF after {:?}",
        exited.unwrap(),
        eof_at.lock().unwrap().unwrap() - killed
    );
}

/// The provider started from a thread that then ends (the kernel sends the
/// parent-death signal when that thread exits, though the host lives on),
/// then left idle for longer than the parent poll: it keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_provider_under_a_living_host_keeps_serving() {
    let mut plugin = std::thread::spawn(|| Plugin::start(&[])).join().expect("start the provider from a short-lived thread");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(plugin.wait_exit(Duration::from_millis(10)).is_none(), "the provider exited while its host lives:\n{}", plugin.stderr());
    let schema = plugin.client().await.get_provider_schema(pb::get_provider_schema::Request {}).await;
    assert!(schema.is_ok(), "the provider still serves after idling: {schema:?}");
    assert!(!plugin.stderr().contains("is gone"), "{}", plugin.stderr());
}
