//! A moto server per test: `moto_server` from .tools/ (scripts/setup) on a
//! free port of 127.0.0.1. Each test gets its own server, so moto's global
//! `/moto-api/reset` of one test can never wipe another test's objects.
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
use std::time::{Duration, Instant};

use super::{free_port, tool};

pub struct Moto {
    /// moto's own port (plain moto, no rules).
    pub port: u16,
    /// The AWS rules in front of it; `url()` points here.
    rules: Option<super::proxy::Proxy>,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Moto {
    /// Starts moto with IAM's managed policies loaded and Lambda set to run
    /// without Docker (there is no Docker engine on these machines), and
    /// waits until it answers.
    pub fn start() -> Moto {
        let bin = tool("moto_server");
        let dir = tempfile::tempdir().expect("temp dir for moto's log");
        let log = dir.path().join("moto.log");
        let out = std::fs::File::create(&log).expect("moto log file");
        let err = out.try_clone().expect("moto log file");
        // Another test binary may grab the port between free_port() and the
        // bind; try a few ports before giving up.
        for _attempt in 0..5 {
            let port = free_port();
            let child = Command::new(&bin)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(err.try_clone().unwrap())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}. Run scripts/setup first.", bin.display()));
            let mut child = child;
            if wait_ready(&mut child, port, Duration::from_secs(60)) {
                let mut moto = Moto { port, rules: None, child, log, _dir: dir };
                let (status, body) = moto.http("POST", "/moto-api/config", r#"{"lambda":{"use_docker":false}}"#);
                let applied: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                assert!(
                    (200..300).contains(&status) && applied["lambda"]["use_docker"] == false,
                    "moto refused the no-Docker Lambda config ({status}): {body}"
                );
                moto.rules = Some(super::proxy::Proxy::aws_rules(port));
                return moto;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("moto_server did not start; its log:\n{}", std::fs::read_to_string(&log).unwrap_or_default());
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
        let (status, body) = self.http("POST", "/moto-api/reset", "");
        assert_eq!(status, 200, "moto reset failed: {body}");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A plain HTTP/1.1 request to moto's own API (no client library: the
    /// server closes the connection after each answer).
    pub fn http(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http(self.port, method, path, body)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
