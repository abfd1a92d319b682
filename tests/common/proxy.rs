//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 between the provider
//! (through its `endpoints` overrides) and moto. Per request, decided by a
//! seeded generator so a run can be repeated: answer a throttling error,
//! answer a 5xx, drop the connection before the request reaches moto, drop
//! it after moto handled it (the object exists, the caller never hears),
//! or add latency. It counts every call by name (and, when asked, keeps
//! the requests' bodies), and stops when dropped.
//! Where moto is laxer than AWS it answers as AWS does: an EC2 call
//! repeated with the same ClientToken gets the first call's answer; and,
//! when started with `Rules` (`Proxy::aws_rules`, `start_with_rules`), every
//! rule of `aws_rules`: AWS's refusals, states in transition, throttling.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::aws_rules::{Call, Durations, Rules};

#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Fractions of requests (0.0 to 1.0), checked in this order.
    pub throttle: f64,
    pub server_error: f64,
    pub reset_before: f64,
    pub reset_after: f64,
    /// Added to every request.
    pub latency: Duration,
    /// At most this many faults per run (bounded, so a run converges).
    pub max_faults: usize,
}

impl Faults {
    pub fn none() -> Faults {
        Faults::default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    Throttle,
    ServerError,
    ResetBefore,
    ResetAfter,
}

struct Shared {
    upstream: u16,
    faults: Mutex<Faults>,
    requests: AtomicUsize,
    injected: AtomicUsize,
    /// Faults injected since the profile was set (what max_faults bounds).
    budget_used: AtomicUsize,
    calls: Mutex<Vec<String>>,
    /// Off unless a test asks (`keep_request_bodies`): a Lambda create
    /// carries its whole zip, and the fault suite makes thousands of calls.
    keep_bodies: AtomicBool,
    /// Call names with their request bodies, in order, while kept.
    bodies: Mutex<Vec<(String, String)>>,
    stop: AtomicBool,
    /// EC2 answers by idempotency key (see `answer_as_before`).
    answered: Mutex<HashMap<String, Vec<u8>>>,
    /// AWS's rules, consulted before and told after each forwarded call.
    rules: Option<Arc<Rules>>,
}

pub struct Proxy {
    pub port: u16,
    shared: Arc<Shared>,
}

impl Proxy {
    /// Faults on top of AWS's rules (CI durations), in front of moto at
    /// `upstream`.
    pub fn start(upstream: u16, faults: Faults) -> Proxy {
        Proxy::start_with_rules(upstream, faults, Rules::for_moto(upstream, Durations::ci()))
    }

    /// Faults in front of plain moto, without AWS's rules: for a test that
    /// needs moto's own answers, which says why.
    pub fn plain(upstream: u16, faults: Faults) -> Proxy {
        Proxy::launch(upstream, faults, None)
    }

    /// A proxy that answers as AWS does where moto does not (see
    /// `aws_rules`), with `faults` on top.
    pub fn start_with_rules(upstream: u16, faults: Faults, rules: Rules) -> Proxy {
        Proxy::launch(upstream, faults, Some(Arc::new(rules)))
    }

    /// The AWS rules on moto at `upstream`, with the CI durations
    /// (`Durations::ci()`) and no faults.
    pub fn aws_rules(upstream: u16) -> Proxy {
        Proxy::start_with_rules(upstream, Faults::none(), Rules::for_moto(upstream, Durations::ci()))
    }

    /// The rules this proxy applies, if any.
    pub fn rules(&self) -> Option<&Rules> {
        self.shared.rules.as_deref()
    }

    fn launch(upstream: u16, faults: Faults, rules: Option<Arc<Rules>>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("proxy listen");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(faults),
            requests: AtomicUsize::new(0),
            injected: AtomicUsize::new(0),
            budget_used: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
            keep_bodies: AtomicBool::new(false),
            bodies: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
            answered: Mutex::new(HashMap::new()),
            rules,
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || serve(conn, &s));
            }
        });
        Proxy { port, shared }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A new profile, with a fresh fault budget.
    pub fn set_faults(&self, f: Faults) {
        *self.shared.faults.lock().unwrap() = f;
        self.shared.budget_used.store(0, Ordering::SeqCst);
    }

    /// Requests that reached the proxy (faulted or not).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn injected(&self) -> usize {
        self.shared.injected.load(Ordering::SeqCst)
    }

    /// Call names in order (`ec2:CreateSecurityGroup`, `lambda:POST /2015-03-31/functions`...).
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// From now on, keep each request's body, to assert what the caller
    /// sent (`sent`).
    pub fn keep_request_bodies(&self) {
        self.shared.keep_bodies.store(true, Ordering::SeqCst);
    }

    /// The bodies of the kept requests named `call` (`ec2:CreateVpcEndpoint`),
    /// in order; for EC2, `Name=value` pairs joined by `&`.
    pub fn sent(&self, call: &str) -> Vec<String> {
        self.shared.bodies.lock().unwrap().iter().filter(|(name, _)| name == call).map(|(_, body)| body.clone()).collect()
    }

    /// Every kept request, in the order it came: (call name, body).
    pub fn kept(&self) -> Vec<(String, String)> {
        self.shared.bodies.lock().unwrap().clone()
    }

    pub fn reset_counts(&self) {
        self.shared.requests.store(0, Ordering::SeqCst);
        self.shared.injected.store(0, Ordering::SeqCst);
        self.shared.calls.lock().unwrap().clear();
    }
}

impl Drop for Proxy {
    /// Stops listening, and stops the rules' background work (message
    /// move tasks) now: connection threads may keep the rules alive a
    /// while longer, and the moto server goes to the next test.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(rules) = &self.shared.rules {
            rules.stop_background();
        }
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// splitmix64: a tiny deterministic generator; request n of a run always
/// gets the same draw for the same seed.
fn draw(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn choose(f: &Faults, n: u64, injected: usize) -> Option<Fault> {
    if injected >= f.max_faults {
        return None;
    }
    let x = draw(f.seed, n);
    let mut edge = 0.0;
    for (p, fault) in [
        (f.throttle, Fault::Throttle),
        (f.server_error, Fault::ServerError),
        (f.reset_before, Fault::ResetBefore),
        (f.reset_after, Fault::ResetAfter),
    ] {
        edge += p;
        if x < edge {
            return Some(fault);
        }
    }
    None
}

struct Request {
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// `service:Action` for query and JSON protocols, `service:METHOD path`
    /// for REST (Lambda).
    /// EC2's idempotency key of a call: its action and `ClientToken`, when
    /// it has one.
    fn client_token(&self) -> Option<String> {
        let body = String::from_utf8_lossy(&self.body);
        let token = body.split('&').find_map(|p| p.strip_prefix("ClientToken="))?;
        (!token.is_empty()).then(|| format!("{}|{token}", self.call_name()))
    }

    fn call_name(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let service = self
            .header("authorization")
            .and_then(|a| a.split("Credential=").nth(1))
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or("?")
            .to_string();
        if let Some(target) = self.header("x-amz-target") {
            return format!("{service}:{}", target.rsplit('.').next().unwrap_or(target));
        }
        if let Some(action) = body.split('&').find_map(|p| p.strip_prefix("Action=")) {
            return format!("{service}:{action}");
        }
        let line = self.head.lines().next().unwrap_or("");
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("");
        let path = parts.next().unwrap_or("").split('?').next().unwrap_or("");
        format!("{service}:{method} {path}")
    }
}

fn read_request(r: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let req = Request { head, body: Vec::new() };
    let len: usize = req.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).ok()?;
    Some(Request { body, ..req })
}

fn serve(client: TcpStream, s: &Shared) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let mut reader = BufReader::new(client.try_clone().expect("clone"));
    let mut client = client;
    while let Some(req) = read_request(&mut reader) {
        let n = s.requests.fetch_add(1, Ordering::SeqCst) as u64;
        s.calls.lock().unwrap().push(req.call_name());
        if s.keep_bodies.load(Ordering::SeqCst) {
            s.bodies.lock().unwrap().push((req.call_name(), String::from_utf8_lossy(&req.body).into_owned()));
        }
        let faults = s.faults.lock().unwrap().clone();
        if !faults.latency.is_zero() {
            std::thread::sleep(faults.latency);
        }
        let fault = choose(&faults, n, s.budget_used.load(Ordering::SeqCst));
        if fault.is_some() {
            s.injected.fetch_add(1, Ordering::SeqCst);
            s.budget_used.fetch_add(1, Ordering::SeqCst);
        }
        match fault {
            Some(Fault::Throttle) => {
                if client.write_all(&throttle_answer(&req)).is_err() {
                    return;
                }
            }
            Some(Fault::ServerError) => {
                let body = r#"{"__type":"ServiceUnavailable","message":"injected by the fault proxy"}"#;
                let answer = format!(
                    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                if client.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
            Some(Fault::ResetBefore) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Fault::ResetAfter) => {
                let _ = forward_once(&req, s);
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            None => {
                let Some((answer, keep_alive)) = forward_once(&req, s) else {
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                };
                if client.write_all(&answer).is_err() || !keep_alive {
                    let _ = client.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
    }
}

/// Forwards `req`, unless it repeats an EC2 call with the same
/// `ClientToken`: then the first call's answer comes back and moto never
/// sees the repeat. That is what EC2 does ("Ensuring idempotency in Amazon
/// EC2 API requests", EC2 Developer Guide: a retried request with the same
/// client token returns the result of the original); moto ignores the
/// token and makes a second object, so a create whose answer was lost and
/// that the SDK sent again left twins that AWS never makes.
/// With rules, a call that is not such a repeat is first put to them (they
/// may answer in moto's place), and they learn from moto's answer, which
/// they may rewrite.
fn forward_once(req: &Request, s: &Shared) -> Option<(Vec<u8>, bool)> {
    let key = req.client_token();
    if let Some(answer) = key.as_ref().and_then(|k| s.answered.lock().unwrap().get(k).cloned()) {
        return Some((answer, true));
    }
    let call = s.rules.as_ref().map(|_| Call::parse(&req.head, &req.body));
    if let (Some(rules), Some(call)) = (&s.rules, &call) {
        match rules.before(call) {
            super::aws_rules::Verdict::Refuse(refusal) => return Some((refusal.http(), true)),
            super::aws_rules::Verdict::Answer(body) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
                return Some(([head.into_bytes(), body.into_bytes()].concat(), true));
            }
            super::aws_rules::Verdict::Forward => {}
        }
    }
    let (mut answer, keep_alive) = forward(req, s.upstream)?;
    if let (Some(rules), Some(call)) = (&s.rules, &call) {
        if let Some(rewritten) = told(rules, call, &answer) {
            answer = rewritten;
        }
    }
    if let (Some(k), true) = (key, answer.starts_with(b"HTTP/1.1 200")) {
        s.answered.lock().unwrap().insert(k, answer.clone());
    }
    Some((answer, keep_alive))
}

/// Tells the rules moto's answer; the answer to send instead when they
/// rewrite its body (not for chunked answers, which moto does not send).
fn told(rules: &Rules, call: &Call, answer: &[u8]) -> Option<Vec<u8>> {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = String::from_utf8_lossy(&answer[split + 4..]).into_owned();
    let new_body = rules.after(call, status, &body)?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        return None;
    }
    let mut out: String =
        head.split("\r\n").filter(|l| !l.to_ascii_lowercase().starts_with("content-length:")).map(|l| format!("{l}\r\n")).collect();
    out.push_str(&format!("Content-Length: {}\r\n\r\n{new_body}", new_body.len()));
    Some(out.into_bytes())
}

/// Sends the request to moto on a fresh connection and reads the whole
/// answer; whether the client connection may stay open after it.
fn forward(req: &Request, upstream: u16) -> Option<(Vec<u8>, bool)> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    up.set_read_timeout(Some(Duration::from_secs(300))).ok()?;
    let mut head: String = req
        .head
        .lines()
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).ok()?;
    up.write_all(&req.body).ok()?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer[..answer.len().min(4096)]).to_ascii_lowercase();
    let head_end = text.find("\r\n\r\n").unwrap_or(text.len());
    let keep_alive = text[..head_end].contains("content-length:") && !text[..head_end].contains("connection: close");
    Some((answer, keep_alive))
}

/// A throttling error in the shape the calling SDK expects for its service.
fn throttle_answer(req: &Request) -> Vec<u8> {
    let body = String::from_utf8_lossy(&req.body);
    let (status, content_type, extra, text) = if req.header("x-amz-target").is_some()
        || req.header("content-type").is_some_and(|c| c.contains("json"))
        || req.head.starts_with("GET")
        || req.head.starts_with("DELETE")
        || req.head.starts_with("PUT")
    {
        (
            "429 Too Many Requests",
            "application/json",
            "x-amzn-ErrorType: ThrottlingException\r\n",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded (injected)"}"#.to_string(),
        )
    } else if body.contains("Version=2016-11-15") {
        (
            "503 Service Unavailable",
            "text/xml",
            "",
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded (injected).</Message></Error></Errors><RequestID>injected</RequestID></Response>".to_string(),
        )
    } else {
        (
            "400 Bad Request",
            "text/xml",
            "",
            "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded (injected)</Message></Error><RequestId>injected</RequestId></ErrorResponse>".to_string(),
        )
    };
    format!("HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\n\r\n{text}", text.len()).into_bytes()
}
