//! moto servers for the tests: `moto_server` from .tools/ (scripts/setup)
//! on a free port of 127.0.0.1, one test at a time per server.
//!
//! A fresh moto server costs about 2 s of CPU before it has answered its
//! first calls: Python imports every backend it touches, and with
//! `MOTO_IAM_LOAD_MANAGED_POLICIES=true` IAM parses AWS's managed policies.
//! A reset (`/moto-api/reset`, global to a server) costs a tenth of that.
//! `MOTO_ACCOUNT_ID` names the account every call acts in: the default one,
//! 123456789012, as before. Without it moto finds the account of each
//! call's access key (`testing`, which no IAM user owns) by looking in
//! every partition's IAM (aws, aws-cn, aws-us-gov, ...), which makes five
//! more IAM backends, each parsing the managed policies again, on the first
//! call and after every reset: 1.4 s of CPU per reset instead of 0.2.
//! `MOTO_LAMBDA_CONCURRENCY_QUOTA` has moto enforce AWS's default 1,000
//! concurrent executions per region when a function reserves some (moto
//! enforces nothing without it); the AWS rules answer GetAccountSettings,
//! which moto lacks, with the same figure.
//! So servers are reused, never shared at once: a test holds a server
//! alone and resets it first, so every test starts from an empty emulator
//! as if the server were new. `Moto::start` takes, in this order, a free
//! server of the run (scripts/test-run.py starts some for all its test
//! processes; see `shared`), an idle one of this process, or a new one.
//!
//! Clients reach it through the AWS rules (`proxy::Proxy::aws_rules`):
//! `url()` answers as AWS does where moto does not (an S3 Interface endpoint
//! without its DNS option refused, endpoints `pending` a while, roles not
//! yet assumable, groups still in use...). A test that needs plain moto
//! uses `plain_url()` and says why.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{free_port, tool};

/// The account every call acts in (moto's default one); see the module doc.
pub const ACCOUNT_ID: &str = "123456789012";

/// Servers whose test has ended, ready to be reset and handed out again.
static IDLE: Mutex<Vec<Server>> = Mutex::new(Vec::new());

/// One running moto_server process.
struct Server {
    port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

pub struct Moto {
    /// moto's own port (plain moto, no rules).
    pub port: u16,
    /// The AWS rules in front of it; `url()` points here. Made anew for
    /// every test: its call log and clock start empty.
    rules: Option<super::proxy::Proxy>,
    server: Option<Lease>,
    /// Where this test's part of the server's log starts.
    log_from: u64,
}

impl Moto {
    /// A moto server with nothing in it: a free one of the run, an idle
    /// one of this process (both reset), or a new one. IAM's managed
    /// policies are loaded and Lambda runs without Docker (there is no
    /// Docker engine on these machines).
    pub fn start() -> Moto {
        let server = match shared::take() {
            Some(lease) => Lease::Shared(lease),
            None => Lease::Own(take_idle().unwrap_or_else(Server::spawn)),
        };
        let log_from = std::fs::metadata(server.log()).map(|m| m.len()).unwrap_or(0);
        configure(server.port());
        let rules = Some(super::proxy::Proxy::aws_rules(server.port()));
        Moto { port: server.port(), rules, server: Some(server), log_from }
    }

    /// The endpoint URL every AWS service of the provider is pointed at:
    /// moto behind the AWS rules.
    pub fn url(&self) -> String {
        self.rules.as_ref().map(|r| r.url()).unwrap_or_else(|| self.plain_url())
    }

    /// moto itself, without the AWS rules.
    pub fn plain_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The rules proxy in front of moto (its call log, its durations).
    pub fn rules(&self) -> &super::proxy::Proxy {
        self.rules.as_ref().expect("moto runs behind the AWS rules")
    }

    /// Wipes every object in this server (moto's reset is per server).
    pub fn reset(&self) {
        reset(self.port);
    }

    /// What the server logged since this test got it.
    pub fn log(&self) -> String {
        let Some(server) = &self.server else { return String::new() };
        let all = std::fs::read(server.log()).unwrap_or_default();
        String::from_utf8_lossy(all.get(self.log_from as usize..).unwrap_or_default()).into_owned()
    }

    /// A plain HTTP/1.1 request to moto's own API (no client library: the
    /// server closes the connection after each answer).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(self.port, method, path, body)
    }
}

impl Drop for Moto {
    /// The rules proxy goes first, so no call of this test reaches the
    /// server once it is idle. A test that failed may have left calls in
    /// flight: its server is stopped, not pooled.
    fn drop(&mut self) {
        self.rules = None;
        match self.server.take() {
            // Unlocked as the file closes; the next test resets it.
            Some(Lease::Shared(lease)) => drop(lease),
            Some(Lease::Own(server)) if std::thread::panicking() => server.stop(),
            Some(Lease::Own(server)) => IDLE.lock().unwrap_or_else(|e| e.into_inner()).push(server),
            None => {}
        }
    }
}

/// An idle server that is still running, reset; None when there is none.
fn take_idle() -> Option<Server> {
    loop {
        let mut server = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop()?;
        if matches!(server.child.try_wait(), Ok(None)) && try_reset(server.port) {
            return Some(server);
        }
        server.stop();
    }
}

impl Server {
    /// Starts moto_server and waits until it answers. The process is
    /// started by one long-lived thread with a parent-death signal, so the
    /// pooled servers end with the test process however it ends (the
    /// signal follows the thread that spawned the child, and test threads
    /// end with their test).
    fn spawn() -> Server {
        let bin = tool("moto_server");
        let dir = tempfile::tempdir().expect("temp dir for moto's log");
        let log = dir.path().join("moto.log");
        // Another test process may grab the port between free_port() and
        // the bind; try a few ports before giving up.
        for _attempt in 0..5 {
            let port = free_port();
            let out = std::fs::File::create(&log).expect("moto log file");
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("MOTO_ACCOUNT_ID", ACCOUNT_ID)
                .env("MOTO_LAMBDA_CONCURRENCY_QUOTA", super::aws_rules::LAMBDA_CONCURRENCY_LIMIT.to_string())
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out);
            let mut child =
                spawn_outliving_tests(cmd).unwrap_or_else(|e| panic!("cannot start {}: {e}. Run scripts/setup first.", bin.display()));
            if wait_ready(&mut child, port, Duration::from_secs(60)) {
                return Server { port, child, log, _dir: dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lambda without Docker, checked: moto keeps this across resets, but a
/// server that lost it would fail every function create.
fn configure(port: u16) {
    let (status, body) = http(port, "POST", "/moto-api/config", r#"{"lambda":{"use_docker":false}}"#);
    let applied: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    assert!(
        (200..300).contains(&status) && applied["lambda"]["use_docker"] == false,
        "moto refused the no-Docker Lambda config ({status}): {body}"
    );
}

/// The server a test holds: one of this process, or one of the runner's.
enum Lease {
    Own(Server),
    Shared(shared::Lease),
}

impl Lease {
    fn port(&self) -> u16 {
        match self {
            Lease::Own(s) => s.port,
            Lease::Shared(l) => l.port,
        }
    }

    fn log(&self) -> &std::path::Path {
        match self {
            Lease::Own(s) => &s.log,
            Lease::Shared(l) => &l.log,
        }
    }
}

/// Servers that scripts/test-run.py started for every test process of a
/// run (`PRIVATELINK_TEST_MOTO_PORTS`, `PRIVATELINK_TEST_MOTO_DIR`), so that
/// a server's start-up cost is paid once per run rather than once per test
/// process. A test holds one by an exclusive `flock` on `DIR/PORT.lock`,
/// which the kernel releases however the test process ends; it resets the
/// server once it holds it. moto writes its log to `DIR/PORT.log`.
mod shared {
    use std::fs::File;
    use std::os::fd::AsRawFd;
    use std::path::PathBuf;

    pub struct Lease {
        pub port: u16,
        pub log: PathBuf,
        _lock: File,
    }

    /// A free shared server, reset; None when the run shares none or all
    /// are busy (the caller then uses a server of its own).
    pub fn take() -> Option<Lease> {
        let ports = std::env::var("PRIVATELINK_TEST_MOTO_PORTS").ok()?;
        let dir = PathBuf::from(std::env::var_os("PRIVATELINK_TEST_MOTO_DIR")?);
        for port in ports.split(',').filter_map(|p| p.parse::<u16>().ok()) {
            let Ok(lock) = File::create(dir.join(format!("{port}.lock"))) else { continue };
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
                continue;
            }
            if !super::try_reset(port) {
                continue; // not answering: leave it, and its lock, alone
            }
            return Some(Lease { port, log: dir.join(format!("{port}.log")), _lock: lock });
        }
        None
    }
}

type SpawnRequest = (Command, mpsc::Sender<std::io::Result<Child>>);

/// Spawns `cmd` from the one thread of this process that lives as long as
/// the process, with SIGKILL as its parent-death signal.
fn spawn_outliving_tests(cmd: Command) -> std::io::Result<Child> {
    static SPAWNER: Mutex<Option<mpsc::Sender<SpawnRequest>>> = Mutex::new(None);
    let sender = {
        let mut spawner = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
        spawner
            .get_or_insert_with(|| {
                let (tx, rx) = mpsc::channel::<SpawnRequest>();
                std::thread::spawn(move || {
                    for (mut cmd, reply) in rx {
                        let _ = reply.send(spawn_with_death_signal(&mut cmd));
                    }
                });
                tx
            })
            .clone()
    };
    let (reply, answer) = mpsc::channel();
    sender.send((cmd, reply)).expect("the moto spawner thread is gone");
    answer.recv().expect("the moto spawner thread is gone")
}

fn spawn_with_death_signal(cmd: &mut Command) -> std::io::Result<Child> {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
}

fn reset(port: u16) {
    let (status, body) = http(port, "POST", "/moto-api/reset", "");
    assert_eq!(status, 200, "moto reset failed: {body}");
}

fn try_reset(port: u16) -> bool {
    http(port, "POST", "/moto-api/reset", "").0 == 200
}

fn wait_ready(child: &mut Child, port: u16, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if http(port, "GET", "/moto-api/data.json", "").0 == 200 {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

pub fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return (0, String::new()) };
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if s.write_all(req.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_string();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}
