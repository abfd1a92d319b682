//! "AWS rules" for the test proxy: where moto accepts a call that AWS
//! refuses, or answers at once where AWS takes a while, the proxy answers
//! as AWS does. A stateful rule set is consulted before each request is
//! forwarded (`Rules::before`: forward, or an AWS-shaped refusal) and told
//! about each answer afterwards (`Rules::after`: learns ids and times, and
//! may rewrite the answer, e.g. an endpoint still `pending`).
//!
//! Facts moto already holds (a VPC's DNS attributes, a subnet's zone, the
//! endpoints of a VPC, the groups referencing a group) are asked of moto
//! through `Upstream` with unsigned requests (moto checks no signature).
//! How long things take comes from one `Durations` value: `ci()` scaled
//! down so tests stay fast, `aws()` with AWS's figures and their sources.
//! Time comes from a `Clock`, manual in the unit tests.
//!
//! SQS message move tasks, which moto lacks, are answered by `move_tasks`
//! (hooked from `Rules::sqs_before`), moving real messages in moto.
//!
//! Each rule names where AWS documents it or where users report it. Rules
//! that moto already enforces itself are not repeated here: DeleteRole
//! with policies left (moto answers DeleteConflict) and CreateQueue of an
//! existing name with other attributes (moto answers QueueAlreadyExists).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

// ---------------------------------------------------------------- settings

/// A token bucket: `size` tokens, `refill` tokens added per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub size: f64,
    pub refill: f64,
}

/// Request rates AWS enforces, per bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// EC2 mutating actions, one bucket per action. "Request throttling for
    /// the Amazon EC2 API", request token bucket sizes and refill rates:
    /// mutating actions 200 tokens, 5 per second.
    /// https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html
    pub ec2_mutating: Bucket,
    /// EC2 non-mutating actions (Describe*, Get*), one bucket per action:
    /// 100 tokens, 20 per second (same page, its DescribeHosts example).
    pub ec2_describe: Bucket,
    /// Lambda control plane, all actions but GetFunction (and Invoke):
    /// "Remainder of the control plane API requests ... 15 requests per
    /// second", Lambda quotas, "Lambda API requests".
    /// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
    pub lambda_control: Bucket,
    /// Lambda GetFunction: "100 requests per second" (same page).
    pub lambda_get_function: Bucket,
}

impl Limits {
    pub fn aws() -> Limits {
        Limits {
            ec2_mutating: Bucket { size: 200.0, refill: 5.0 },
            ec2_describe: Bucket { size: 100.0, refill: 20.0 },
            lambda_control: Bucket { size: 15.0, refill: 15.0 },
            lambda_get_function: Bucket { size: 100.0, refill: 100.0 },
        }
    }
}

/// How long AWS takes, in one place.
#[derive(Debug, Clone, PartialEq)]
pub struct Durations {
    /// A new Interface endpoint stays `pending` before `available`.
    pub endpoint_pending: Duration,
    /// A new function stays `Pending` before `Active`.
    pub function_pending: Duration,
    /// An updated function stays `LastUpdateStatus: InProgress`.
    pub function_update: Duration,
    /// A new role, or a role's new policy, is not yet seen by Lambda.
    pub iam_propagation: Duration,
    /// An event source mapping stays `Creating` / `Updating`.
    pub mapping_transition: Duration,
    /// A VPC function's network interfaces (and so its groups) linger
    /// after the function is deleted or leaves its VPC.
    pub lambda_eni_linger: Duration,
    /// An Interface endpoint's network interfaces linger after its delete.
    pub endpoint_eni_linger: Duration,
    /// A queue name cannot be created again for this long after a delete.
    pub queue_deleted_recently: Duration,
    /// A security group just made is not yet found by id.
    pub sg_consistency: Duration,
    /// Request rates; None: no throttling.
    pub limits: Option<Limits>,
}

impl Durations {
    /// Scaled down so tests stay fast; throttling at AWS's real sizes
    /// (tests make few calls, so it only bites a runaway loop).
    pub fn ci() -> Durations {
        Durations {
            endpoint_pending: Duration::from_millis(300),
            function_pending: Duration::from_millis(300),
            function_update: Duration::from_millis(300),
            iam_propagation: Duration::from_millis(300),
            mapping_transition: Duration::from_millis(300),
            lambda_eni_linger: Duration::from_millis(500),
            endpoint_eni_linger: Duration::from_millis(300),
            queue_deleted_recently: Duration::from_secs(2),
            sg_consistency: Duration::from_millis(200),
            limits: Some(Limits::aws()),
        }
    }

    /// Typical AWS figures.
    pub fn aws() -> Durations {
        Durations {
            // Users time endpoints going pending -> available at about
            // 120-150 s (terraform-provider-aws #32774, "takes approximately
            // 120-150 seconds to go from Pending to Available"); the
            // interface endpoint lifecycle is in
            // https://docs.aws.amazon.com/vpc/latest/privatelink/vpce-interface.html
            endpoint_pending: Duration::from_secs(120),
            // "Lambda function states": Pending while Lambda creates the
            // VPC network interfaces; no figure is documented, users see
            // tens of seconds for VPC functions.
            // https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
            function_pending: Duration::from_secs(30),
            // Same page, "Function states during updates" (InProgress).
            function_update: Duration::from_secs(10),
            // IAM is eventually consistent; users add 5-10 s sleeps before
            // CreateFunction (convox/rack #1120 "longer than 5sec",
            // marvinpinto/irc-hooky #23), a Pulumi maintainer cites ~2 s
            // usually (pulumi-aws #2411), and an AWS support answer quoted
            // in terraform-provider-aws #44517 says up to 15 minutes.
            iam_propagation: Duration::from_secs(10),
            // terraform-provider-aws waits for Creating/Updating to settle
            // (PR #14765); UpdateEventSourceMapping documents
            // ResourceInUseException for a mapping in CREATING/UPDATING.
            // https://docs.aws.amazon.com/lambda/latest/api/API_UpdateEventSourceMapping.html
            mapping_transition: Duration::from_secs(30),
            // "up to 20 minutes" for Lambda ENIs to be deleted after the
            // function (awslabs/aws-support-tools #174; pulumi-aws #2642
            // citing the Lambda networking docs); terraform-provider-aws
            // waits up to 45 minutes (PR #10347), Pulumi sees ~35 min P99
            // (pulumi-aws #4382).
            lambda_eni_linger: Duration::from_secs(20 * 60),
            // DependencyViolation deleting a group an endpoint used
            // (terraform-provider-aws #16165); the endpoint passes through
            // `deleting` for about a minute.
            endpoint_eni_linger: Duration::from_secs(60),
            // "You must wait 60 seconds after deleting a queue before you
            // can create another queue with the same name."
            // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
            queue_deleted_recently: Duration::from_secs(60),
            // "Eventual consistency in the Amazon EC2 API": InvalidGroup.NotFound
            // right after CreateSecurityGroup; retry "starting with a couple
            // of seconds". https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html
            sg_consistency: Duration::from_secs(2),
            limits: Some(Limits::aws()),
        }
    }
}

// ------------------------------------------------------------------- clock

/// Where the rules read the time: the real clock, or a manual one the unit
/// tests advance.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Instant + Send + Sync>);

impl Clock {
    pub fn real() -> Clock {
        Clock(Arc::new(Instant::now))
    }

    /// A clock that moves only when the returned handle says so.
    pub fn manual() -> (Clock, ManualTime) {
        let t = ManualTime(Arc::new(Mutex::new(Instant::now())));
        let r = t.clone();
        (Clock(Arc::new(move || *r.0.lock().unwrap())), t)
    }

    pub fn now(&self) -> Instant {
        (self.0)()
    }
}

#[derive(Clone)]
pub struct ManualTime(Arc<Mutex<Instant>>);

impl ManualTime {
    pub fn advance(&self, d: Duration) {
        *self.0.lock().unwrap() += d;
    }
}

// ---------------------------------------------------------------- requests

/// One AWS call as the rules see it.
#[derive(Debug, Clone, Default)]
pub struct Call {
    /// `ec2`, `iam`, `sqs`, `lambda`... (the credential scope).
    pub service: String,
    /// The caller's access key id (the credential's first part).
    pub access_key: String,
    /// Query/JSON protocols: the action. REST (Lambda): empty.
    pub action: String,
    pub method: String,
    /// REST path, percent-decoded, without the query string.
    pub path: String,
    /// Form parameters (query protocol).
    pub params: Vec<(String, String)>,
    /// JSON body (JSON and REST-JSON protocols), Null otherwise.
    pub json: Value,
}

impl Call {
    /// Parses an HTTP request head and body.
    pub fn parse(head: &str, body: &[u8]) -> Call {
        let header = |name: &str| {
            head.lines().skip(1).find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
        };
        let credential = |i: usize| {
            header("authorization")
                .and_then(|a| a.split("Credential=").nth(1).and_then(|c| c.split('/').nth(i)).map(str::to_string))
                .unwrap_or_default()
        };
        let (service, access_key) = (credential(3), credential(0));
        let mut line = head.lines().next().unwrap_or("").split_whitespace();
        let method = line.next().unwrap_or("").to_string();
        let path = percent_decode(line.next().unwrap_or("").split('?').next().unwrap_or(""));
        let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let is_form = header("content-type").is_some_and(|c| c.contains("x-www-form-urlencoded"));
        let params: Vec<(String, String)> = if is_form { url::form_urlencoded::parse(body).into_owned().collect() } else { Vec::new() };
        let action = if let Some(t) = header("x-amz-target") {
            t.rsplit('.').next().unwrap_or("").to_string()
        } else {
            params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone()).unwrap_or_default()
        };
        Call { service, access_key, action, method, path, params, json }
    }

    fn query(service: &str, action: &str, params: &[(&str, &str)]) -> Call {
        let mut all = vec![("Action".to_string(), action.to_string())];
        all.extend(params.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let service = service.into();
        Call { service, action: action.into(), method: "POST".into(), path: "/".into(), params: all, json: Value::Null, ..Call::default() }
    }

    pub fn ec2(action: &str, params: &[(&str, &str)]) -> Call {
        Call::query("ec2", action, params)
    }

    pub fn iam(action: &str, params: &[(&str, &str)]) -> Call {
        Call::query("iam", action, params)
    }

    pub fn sqs(action: &str, json: Value) -> Call {
        Call { service: "sqs".into(), action: action.into(), method: "POST".into(), path: "/".into(), json, ..Call::default() }
    }

    pub fn lambda(method: &str, path: &str, json: Value) -> Call {
        Call { service: "lambda".into(), method: method.into(), path: path.into(), json, ..Call::default() }
    }

    /// The same call made with the credentials of access key `key`.
    pub fn by(mut self, key: &str) -> Call {
        self.access_key = key.into();
        self
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A query-protocol list: `SubnetId.1`, `SubnetId.2`...
    pub fn list(&self, prefix: &str) -> Vec<String> {
        let mut items: Vec<(u32, String)> =
            self.params.iter().filter_map(|(k, v)| Some((k.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()?, v.clone()))).collect();
        items.sort();
        items.into_iter().map(|(_, v)| v).collect()
    }

    fn json_str(&self, key: &str) -> Option<&str> {
        self.json.get(key).and_then(Value::as_str)
    }

    /// Lambda REST calls by name: `CreateFunction`, `GetFunction`... and
    /// the function name or mapping UUID of the path.
    fn lambda_op(&self) -> (&'static str, String) {
        // Each group of Lambda's actions has its API date: `/2015-03-31/`
        // for most, `/2017-10-31/` for concurrency, `/2016-08-19/` for the
        // account's settings.
        let rest = self.path.trim_start_matches('/').split_once('/').map(|(_, r)| r).unwrap_or("");
        let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
        let m = self.method.as_str();
        let op = match (parts.as_slice(), m) {
            (["functions"], "POST") => "CreateFunction",
            (["functions", _], "GET") => "GetFunction",
            (["functions", _], "DELETE") => "DeleteFunction",
            (["functions", _, "configuration"], "GET") => "GetFunctionConfiguration",
            (["functions", _, "configuration"], "PUT") => "UpdateFunctionConfiguration",
            (["functions", _, "code"], "PUT") => "UpdateFunctionCode",
            (["functions", _, "invocations"], _) => "Invoke",
            (["functions", _, "concurrency"], "PUT") => "PutFunctionConcurrency",
            (["functions", _, "concurrency"], "DELETE") => "DeleteFunctionConcurrency",
            (["account-settings"], "GET") => "GetAccountSettings",
            (["event-source-mappings"], "POST") => "CreateEventSourceMapping",
            (["event-source-mappings"], "GET") => "ListEventSourceMappings",
            (["event-source-mappings", _], "GET") => "GetEventSourceMapping",
            (["event-source-mappings", _], "PUT") => "UpdateEventSourceMapping",
            (["event-source-mappings", _], "DELETE") => "DeleteEventSourceMapping",
            _ => "Other",
        };
        (op, parts.get(1).map(|n| function_name(n)).unwrap_or_default())
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A function's name from a name, a partial or a full ARN (`...:function:name[:qualifier]`).
fn function_name(s: &str) -> String {
    match s.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest).to_string(),
        None if s.contains(':') => s.split(':').next().unwrap_or(s).to_string(),
        None => s.to_string(),
    }
}

/// A role's name from its ARN (`arn:aws:iam::123:role/path/name`).
fn role_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

// ---------------------------------------------------------------- verdicts

/// An error answered in AWS's shape for the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub service: String,
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Forward,
    Refuse(Refusal),
    /// AWS's answer (a JSON body, 200) to a call moto does not have.
    Answer(String),
}

impl Verdict {
    pub(crate) fn refuse(service: &str, status: u16, code: &str, message: impl Into<String>) -> Verdict {
        Verdict::Refuse(Refusal { service: service.into(), status, code: code.into(), message: message.into() })
    }

    pub fn code(&self) -> Option<&str> {
        match self {
            Verdict::Refuse(r) => Some(&r.code),
            Verdict::Forward | Verdict::Answer(_) => None,
        }
    }
}

impl Refusal {
    /// The whole HTTP answer.
    pub fn http(&self) -> Vec<u8> {
        let reason = match self.status {
            400 => "Bad Request",
            403 => "Forbidden",
            404 => "Not Found",
            409 => "Conflict",
            429 => "Too Many Requests",
            503 => "Service Unavailable",
            _ => "Error",
        };
        let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let (content_type, extra, body) = match self.service.as_str() {
            "ec2" => (
                "text/xml;charset=UTF-8",
                String::new(),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>aws-rules</RequestID></Response>",
                    self.code,
                    esc(&self.message)
                ),
            ),
            "iam" | "sts" => (
                "text/xml",
                String::new(),
                format!(
                    "<ErrorResponse><Error><Type>Sender</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>aws-rules</RequestId></ErrorResponse>",
                    self.code,
                    esc(&self.message)
                ),
            ),
            "sqs" => {
                // The query-compatible header carries the code the SDK
                // matches: SQS's model gives some errors its prefix
                // (`AWS.SimpleQueueService.QueueDeletedRecently`), the others
                // and the common errors go bare (`ResourceNotFoundException`,
                // `InvalidParameterValue`, as AWS's recorded answers to the
                // move-task calls show, see `move_tasks`); KMS's errors come
                // through under their own (`KMS.AccessDeniedException`), the
                // JSON type named as in SQS's model (`KmsAccessDenied`).
                let (query_code, json_type) = match self.code.split_once('.') {
                    Some(("KMS", rest)) => (self.code.clone(), format!("Kms{}", rest.trim_end_matches("Exception"))),
                    _ if SQS_PREFIXED.contains(&self.code.as_str()) => (format!("AWS.SimpleQueueService.{}", self.code), self.code.clone()),
                    _ => (self.code.clone(), self.code.clone()),
                };
                (
                    "application/x-amz-json-1.0",
                    format!("x-amzn-query-error: {query_code};Sender\r\n"),
                    serde_json::json!({"__type": format!("com.amazonaws.sqs#{json_type}"), "message": self.message}).to_string(),
                )
            }
            _ => (
                "application/json",
                format!("X-Amzn-ErrorType: {}\r\n", self.code),
                serde_json::json!({"Type": "User", "Message": self.message, "message": self.message}).to_string(),
            ),
        };
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: {content_type}\r\n{extra}x-amzn-RequestId: aws-rules\r\nContent-Length: {}\r\n\r\n{body}",
            self.status,
            body.len()
        )
        .into_bytes()
    }
}

/// SQS's errors whose query-compatible code carries the
/// `AWS.SimpleQueueService.` prefix: the `awsQueryError` codes of SQS's
/// Smithy model, as aws-sdk-sqs matches them.
const SQS_PREFIXED: &[&str] = &[
    "BatchEntryIdsNotDistinct",
    "BatchRequestTooLong",
    "EmptyBatchRequest",
    "InvalidBatchEntryId",
    "MessageNotInflight",
    "NonExistentQueue",
    "PurgeQueueInProgress",
    "QueueDeletedRecently",
    "TooManyEntriesInBatchRequest",
    "UnsupportedOperation",
];

// ---------------------------------------------------------------- upstream

/// Asks moto for facts it holds: a query-protocol call (EC2, IAM), its XML
/// body when it answered 200.
pub trait Upstream: Send + Sync {
    fn query(&self, service: &str, params: &[(&str, &str)]) -> Option<String>;

    /// A JSON-protocol call (SQS, KMS): `target` is the X-Amz-Target, e.g.
    /// `TrentService.DescribeKey`; the answer's JSON when it answered 200.
    fn json(&self, _service: &str, _target: &str, _body: &Value) -> Option<Value> {
        None
    }

    /// The same call, its error code when it failed (the code of moto's
    /// `x-amzn-query-error` header, else its JSON `__type`), for callers
    /// that report why (a message move task's FailureReason).
    fn json_outcome(&self, service: &str, target: &str, body: &Value) -> Result<Value, String> {
        self.json(service, target, body).ok_or_else(|| "InternalError".to_string())
    }
}

/// moto on 127.0.0.1:port, asked with unsigned requests.
pub struct MotoUpstream(pub u16);

impl MotoUpstream {
    /// POSTs `body` to moto with `headers` (each line ending in CRLF) and
    /// an unsigned `service` credential scope: the body of a 200 answer.
    fn post(&self, service: &str, headers: &str, body: &str) -> Option<String> {
        let (head, answer) = self.exchange(service, headers, body)?;
        head.starts_with("HTTP/1.1 200").then_some(answer)
    }

    /// `post`, whatever the status: the answer's head and body.
    fn exchange(&self, service: &str, headers: &str, body: &str) -> Option<(String, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.0)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok()?;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n{headers}Authorization: AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.0,
            body.len()
        );
        s.write_all(req.as_bytes()).ok()?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).ok()?;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, answer) = text.split_once("\r\n\r\n")?;
        Some((head.to_string(), answer.to_string()))
    }
}

impl Upstream for MotoUpstream {
    fn query(&self, service: &str, params: &[(&str, &str)]) -> Option<String> {
        let version = if service == "iam" { "2010-05-08" } else { "2016-11-15" };
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in params {
            form.append_pair(k, v);
        }
        form.append_pair("Version", version);
        let body = form.finish();
        self.post(service, "Content-Type: application/x-www-form-urlencoded; charset=utf-8\r\n", &body)
    }

    fn json(&self, service: &str, target: &str, body: &Value) -> Option<Value> {
        let body = body.to_string();
        let content_type = if service == "sqs" { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" };
        let answer = self.post(service, &format!("Content-Type: {content_type}\r\nX-Amz-Target: {target}\r\n"), &body)?;
        serde_json::from_str(&answer).ok()
    }

    fn json_outcome(&self, service: &str, target: &str, body: &Value) -> Result<Value, String> {
        let content_type = if service == "sqs" { "application/x-amz-json-1.0" } else { "application/x-amz-json-1.1" };
        let headers = format!("Content-Type: {content_type}\r\nX-Amz-Target: {target}\r\n");
        let (head, answer) = self.exchange(service, &headers, &body.to_string()).ok_or_else(|| "ServiceUnavailable".to_string())?;
        let parsed: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        if head.starts_with("HTTP/1.1 200") {
            return Ok(parsed);
        }
        let query_code = head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("x-amzn-query-error").then(|| v.trim().split(';').next().unwrap_or("").to_string())
        });
        let json_type = parsed["__type"].as_str().map(|t| t.rsplit('#').next().unwrap_or(t).to_string());
        Err(query_code.or(json_type).unwrap_or_else(|| "InternalError".to_string()))
    }
}

/// The texts of every `<tag>...</tag>` in `xml`, in order.
fn tags<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        rest = &rest[i + open.len()..];
        let Some(j) = rest.find(&close) else { break };
        out.push(&rest[..j]);
        rest = &rest[j + close.len()..];
    }
    out
}

fn tag<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    tags(xml, name).into_iter().next()
}

/// An endpoint as moto describes it.
#[derive(Debug, Clone)]
struct EndpointFact {
    id: String,
    vpc: String,
    kind: String,
    service: String,
    state: String,
    private_dns: bool,
    subnets: Vec<String>,
}

impl EndpointFact {
    fn live(&self) -> bool {
        !matches!(self.state.to_ascii_lowercase().as_str(), "deleted" | "deleting" | "failed" | "rejected" | "expired")
    }
}

/// Splits a DescribeVpcEndpoints answer into endpoints (each item starts
/// with its `<vpcEndpointId>` in moto's answers).
fn endpoints_of(xml: &str) -> Vec<EndpointFact> {
    xml.split("<vpcEndpointId>")
        .skip(1)
        .map(|chunk| {
            let subnet_set = tag(chunk, "subnetIdSet").unwrap_or("");
            EndpointFact {
                id: chunk.split('<').next().unwrap_or("").to_string(),
                vpc: tag(chunk, "vpcId").unwrap_or("").to_string(),
                kind: tag(chunk, "vpcEndpointType").unwrap_or("").to_string(),
                service: tag(chunk, "serviceName").unwrap_or("").to_string(),
                state: tag(chunk, "state").unwrap_or("").to_string(),
                private_dns: tag(chunk, "privateDnsEnabled") == Some("true"),
                subnets: tags(subnet_set, "item").into_iter().map(str::to_string).collect(),
            }
        })
        .collect()
}

// ------------------------------------------------------------------ rules

#[derive(Debug, Clone)]
struct FunctionSeen {
    role: String,
    arn: String,
    groups: Vec<String>,
    /// Pending (create) or InProgress (update) until then.
    busy_until: Instant,
    creating: bool,
    /// Settings of the last update that moto does not keep (see
    /// `MOTO_DROPS`), as sent: put back into its answers.
    kept: serde_json::Map<String, Value>,
}

/// What moto's UpdateFunctionConfiguration and UpdateFunctionCode accept
/// and drop (moto 5.2.5 stores only Description, Handler, MemorySize,
/// Role, Runtime, Timeout, VpcConfig, Environment and Layers; its code
/// update ignores Architectures), where AWS applies them: the
/// UpdateFunctionConfiguration and UpdateFunctionCode API references.
/// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionConfiguration.html
/// https://docs.aws.amazon.com/lambda/latest/api/API_UpdateFunctionCode.html
const MOTO_DROPS: [&str; 4] = ["EphemeralStorage", "TracingConfig", "KMSKeyArn", "Architectures"];

/// AWS's default concurrency quota per region ("Concurrent executions:
/// 1,000"), which the test servers' moto is told to enforce too
/// (MOTO_LAMBDA_CONCURRENCY_QUOTA), and the 100 it keeps unreserved.
/// https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
pub const LAMBDA_CONCURRENCY_LIMIT: i64 = 1000;

#[derive(Debug, Clone)]
struct MappingSeen {
    until: Instant,
    state: &'static str,
}

#[derive(Default)]
struct State {
    /// Interface endpoints pending until then.
    endpoint_pending: HashMap<String, Instant>,
    /// Groups of live endpoints (learnt from answers).
    endpoint_groups: HashMap<String, Vec<String>>,
    /// Groups held by lingering network interfaces until then.
    group_held: HashMap<String, Instant>,
    group_created: HashMap<String, Instant>,
    role_created: HashMap<String, Instant>,
    role_policy_changed: HashMap<String, Instant>,
    functions: HashMap<String, FunctionSeen>,
    /// Reserved concurrency by function, as PutFunctionConcurrency set it.
    reserved: HashMap<String, i64>,
    mappings: HashMap<String, MappingSeen>,
    queue_deleted: HashMap<String, Instant>,
    /// Access keys of assumed-role sessions: (role name, session ARN),
    /// learnt from STS AssumeRole answers.
    sessions: HashMap<String, (String, String)>,
    /// Token buckets by name: tokens left, last refill.
    buckets: HashMap<String, (f64, Instant)>,
    /// Access keys AWS refuses (`expire_key`, `forget_key`): the code and
    /// message it answers.
    refused_keys: HashMap<String, (u16, &'static str, &'static str)>,
}

pub struct Rules {
    pub durations: Durations,
    clock: Clock,
    upstream: Arc<dyn Upstream>,
    state: Mutex<State>,
    /// SQS message move tasks (moto has none): see `move_tasks`.
    move_tasks: super::move_tasks::MoveTasks,
}

fn young(at: Option<&Instant>, now: Instant, d: Duration) -> bool {
    at.is_some_and(|t| now.saturating_duration_since(*t) < d)
}

const FUNCTIONS_PREFIX: &str = "The operation cannot be performed at this time.";

impl Rules {
    pub fn new(durations: Durations, clock: Clock, upstream: Box<dyn Upstream>) -> Rules {
        let upstream: Arc<dyn Upstream> = Arc::from(upstream);
        let move_tasks = super::move_tasks::MoveTasks::new(upstream.clone());
        Rules { durations, clock, upstream, state: Mutex::new(State::default()), move_tasks }
    }

    /// Stops the rules' background work (the message move tasks' movers)
    /// and waits for it: the proxy calls this when it is dropped, so that
    /// nothing of a test reaches its moto server once the test is over.
    pub fn stop_background(&self) {
        self.move_tasks.stop_all();
    }

    /// The rules against moto on `port`, on the real clock.
    pub fn for_moto(port: u16, durations: Durations) -> Rules {
        Rules::new(durations, Clock::real(), Box::new(MotoUpstream(port)))
    }

    /// From now on, STS and IAM refuse every call signed with access key
    /// `key` as they refuse temporary credentials past their end: 400
    /// ExpiredToken (STS API reference, "Common Errors"; moto accepts any
    /// key). https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html
    pub fn expire_key(&self, key: &str) {
        let refusal = (400, "ExpiredToken", "The security token included in the request is expired");
        self.state.lock().unwrap().refused_keys.insert(key.to_string(), refusal);
    }

    /// From now on, STS and IAM refuse every call signed with access key
    /// `key` as they refuse a key AWS does not know (deleted, mistyped):
    /// 403 InvalidClientTokenId (same page).
    pub fn forget_key(&self, key: &str) {
        let refusal = (403, "InvalidClientTokenId", "The security token included in the request is invalid.");
        self.state.lock().unwrap().refused_keys.insert(key.to_string(), refusal);
    }

    /// Whether `call` goes on to moto, or the answer AWS would give.
    pub fn before(&self, call: &Call) -> Verdict {
        let now = self.clock.now();
        if matches!(call.service.as_str(), "sts" | "iam") {
            if let Some((status, code, message)) = self.state.lock().unwrap().refused_keys.get(&call.access_key).copied() {
                return Verdict::refuse(&call.service, status, code, message);
            }
        }
        if let Some(v) = self.throttle(call, now) {
            return v;
        }
        match call.service.as_str() {
            "ec2" => self.ec2_before(call, now),
            "lambda" => self.lambda_before(call, now),
            "sqs" => self.sqs_before(call, now),
            "logs" => logs_before(call),
            _ => Verdict::Forward,
        }
    }

    /// Learns from moto's answer to `call`; the body to send instead, when
    /// AWS would answer otherwise (a state still in transition).
    pub fn after(&self, call: &Call, status: u16, body: &str) -> Option<String> {
        if !(200..300).contains(&status) {
            return None;
        }
        let now = self.clock.now();
        match call.service.as_str() {
            "ec2" => self.ec2_after(call, body, now),
            "iam" => {
                let role = call.param("RoleName").unwrap_or("").to_string();
                let mut st = self.state.lock().unwrap();
                match call.action.as_str() {
                    "CreateRole" => {
                        st.role_created.insert(role, now);
                    }
                    "PutRolePolicy" | "AttachRolePolicy" => {
                        st.role_policy_changed.insert(role, now);
                    }
                    _ => {}
                }
                None
            }
            "lambda" => self.lambda_after(call, body, now),
            "sts" => {
                if let (true, Some(key), Some(role)) = (call.action == "AssumeRole", tag(body, "AccessKeyId"), call.param("RoleArn")) {
                    let session = tag(tag(body, "AssumedRoleUser").unwrap_or(""), "Arn").unwrap_or(role).to_string();
                    self.state.lock().unwrap().sessions.insert(key.to_string(), (role_name(role), session));
                }
                None
            }
            "sqs" => {
                if call.action == "DeleteQueue" {
                    let url = call.json_str("QueueUrl").or(call.param("QueueUrl")).unwrap_or("");
                    let name = url.rsplit('/').next().unwrap_or("").to_string();
                    self.state.lock().unwrap().queue_deleted.insert(name, now);
                }
                None
            }
            _ => None,
        }
    }

    // ---- throttling

    /// AWS's token buckets: one request takes one token; an empty bucket
    /// answers the service's throttling error.
    fn throttle(&self, call: &Call, now: Instant) -> Option<Verdict> {
        let limits = self.durations.limits.as_ref()?;
        let (name, bucket) = match call.service.as_str() {
            "ec2" => {
                let describe = ["Describe", "Get", "List"].iter().any(|p| call.action.starts_with(p));
                (format!("ec2:{}", call.action), if describe { limits.ec2_describe } else { limits.ec2_mutating })
            }
            "lambda" => match call.lambda_op().0 {
                "Invoke" => return None,
                "GetFunction" => ("lambda:GetFunction".to_string(), limits.lambda_get_function),
                _ => ("lambda:control".to_string(), limits.lambda_control),
            },
            _ => return None,
        };
        let mut st = self.state.lock().unwrap();
        let (tokens, last) = st.buckets.entry(name).or_insert((bucket.size, now));
        *tokens = (*tokens + now.saturating_duration_since(*last).as_secs_f64() * bucket.refill).min(bucket.size);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            return None;
        }
        Some(if call.service == "ec2" {
            // "If you exceed an API throttling limit, you get the
            // RequestLimitExceeded error code" (EC2 throttling page).
            Verdict::refuse("ec2", 503, "RequestLimitExceeded", "Request limit exceeded.")
        } else {
            // Lambda: TooManyRequestsException, HTTP 429 (Lambda API
            // reference, common to every action).
            Verdict::refuse("lambda", 429, "TooManyRequestsException", "Rate exceeded")
        })
    }

    // ---- EC2

    fn ec2_before(&self, call: &Call, now: Instant) -> Verdict {
        match call.action.as_str() {
            "CreateVpcEndpoint" => self.create_endpoint(call),
            "ModifyVpcEndpoint" => self.modify_endpoint(call, now),
            "DeleteSecurityGroup" => self.delete_group(call, now),
            "DescribeSecurityGroups" => self.group_not_yet_found(call.list("GroupId"), now),
            "AuthorizeSecurityGroupIngress"
            | "AuthorizeSecurityGroupEgress"
            | "RevokeSecurityGroupIngress"
            | "RevokeSecurityGroupEgress" => self.group_not_yet_found(call.param("GroupId").into_iter().map(str::to_string).collect(), now),
            _ => Verdict::Forward,
        }
    }

    fn invalid(message: String) -> Verdict {
        Verdict::refuse("ec2", 400, "InvalidParameter", message)
    }

    fn subnet_zone(&self, subnet: &str) -> Option<String> {
        let xml = self.upstream.query("ec2", &[("Action", "DescribeSubnets"), ("SubnetId.1", subnet)])?;
        tag(&xml, "availabilityZone").map(str::to_string)
    }

    /// Two subnets of one endpoint in one zone: "VPC endpoint subnets
    /// should be in different availability zones" (AWS's message, quoted
    /// in terraform-aws-modules/terraform-aws-vpc #451 and #583).
    fn same_zone(&self, subnets: &[String]) -> Option<Verdict> {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for s in subnets {
            let Some(zone) = self.subnet_zone(s) else { continue };
            if seen.insert(zone, s).is_some() {
                return Some(Verdict::refuse(
                    "ec2",
                    400,
                    "DuplicateSubnetsInSameZone",
                    format!("Found another VPC endpoint subnet in the availability zone of {s}. VPC endpoint subnets should be in different availability zones supported by the VPC endpoint service."),
                ));
            }
        }
        None
    }

    fn vpc_endpoints(&self, vpc: &str) -> Vec<EndpointFact> {
        let xml = self.upstream.query("ec2", &[("Action", "DescribeVpcEndpoints"), ("Filter.1.Name", "vpc-id"), ("Filter.1.Value.1", vpc)]);
        xml.map(|x| endpoints_of(&x)).unwrap_or_default()
    }

    fn vpc_attribute(&self, vpc: &str, attribute: &str) -> Option<bool> {
        let xml = self.upstream.query("ec2", &[("Action", "DescribeVpcAttribute"), ("VpcId", vpc), ("Attribute", attribute)])?;
        Some(tag(tag(&xml, attribute)?, "value")? == "true")
    }

    fn create_endpoint(&self, call: &Call) -> Verdict {
        if !call.param("VpcEndpointType").unwrap_or("Gateway").eq_ignore_ascii_case("interface") {
            return Verdict::Forward;
        }
        let vpc = call.param("VpcId").unwrap_or("");
        let service = call.param("ServiceName").unwrap_or("");
        if let Some(v) = self.same_zone(&call.list("SubnetId")) {
            return v;
        }
        // PrivateDnsEnabled defaults to true for an Interface endpoint to
        // an AWS service (CreateVpcEndpoint, PrivateDnsEnabled: "Default:
        // true"; moto defaults it the same way).
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVpcEndpoint.html
        if call.param("PrivateDnsEnabled").is_some_and(|v| v.eq_ignore_ascii_case("false")) {
            return Verdict::Forward;
        }
        let inbound_only =
            !call.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint").is_some_and(|v| v.eq_ignore_ascii_case("false"));
        self.private_dns_refused(vpc, service, inbound_only, None).unwrap_or(Verdict::Forward)
    }

    /// What AWS checks when an Interface endpoint's private DNS is turned
    /// on, at create or by ModifyVpcEndpoint: the VPC's DNS attributes, the
    /// S3 option `inbound_only` (as it will be after the call) and another
    /// endpoint already holding the service's name (`except`: the endpoint
    /// being modified).
    fn private_dns_refused(&self, vpc: &str, service: &str, inbound_only: bool, except: Option<&str>) -> Option<Verdict> {
        // CreateVpcEndpoint, PrivateDnsEnabled: "To use a private hosted
        // zone, you must set the following VPC attributes to true:
        // enableDnsHostnames and enableDnsSupport." moto accepts the
        // endpoint regardless. (Message as AWS words it, from memory of
        // user reports.)
        for attribute in ["enableDnsSupport", "enableDnsHostnames"] {
            if self.vpc_attribute(vpc, attribute) == Some(false) {
                return Some(Self::invalid(format!(
                    "Enabling private DNS requires both enableDnsSupport and enableDnsHostnames VPC attributes set to true for {vpc}"
                )));
            }
        }
        let existing: Vec<EndpointFact> = self.vpc_endpoints(vpc).into_iter().filter(|e| Some(e.id.as_str()) != except).collect();
        // S3 supports both endpoint types; with private DNS on an Interface
        // endpoint, PrivateDnsOnlyForInboundResolverEndpoint defaults to
        // true and then needs a Gateway endpoint in the VPC. Sending it
        // false is the way out (terraform-provider-aws #32407, #33689;
        // PR #32355; EC2 DnsOptionsSpecification). #33689 is the same
        // refusal on an update turning private DNS on.
        if service.rsplit('.').next() == Some("s3") && service.starts_with("com.amazonaws.") {
            let gateway = existing.iter().any(|e| e.live() && e.service == service && e.kind.eq_ignore_ascii_case("gateway"));
            if inbound_only && !gateway {
                return Some(Self::invalid(format!(
                    "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC {vpc} must have a Gateway endpoint for the service."
                )));
            }
        }
        // One private hosted zone per service name in a VPC: a second
        // Interface endpoint with private DNS is refused
        // (terraform-provider-aws #17535, #17269).
        if existing.iter().any(|e| e.live() && e.service == service && e.kind.eq_ignore_ascii_case("interface") && e.private_dns) {
            return Some(Self::invalid(format!(
                "private-dns-enabled cannot be set because there is already a conflicting DNS domain for {} in the VPC {vpc}",
                dns_domain(service)
            )));
        }
        None
    }

    /// ModifyVpcEndpoint turning private DNS on, or turning the S3 option
    /// on with private DNS already on: the checks of a create. Unsent,
    /// the S3 option takes its default (true) when private DNS comes on.
    /// What moto holds of endpoint `id`.
    fn endpoint(&self, id: &str) -> Option<EndpointFact> {
        let xml = self.upstream.query("ec2", &[("Action", "DescribeVpcEndpoints"), ("VpcEndpointId.1", id)])?;
        endpoints_of(&xml).into_iter().find(|e| e.id == id)
    }

    fn modify_private_dns(&self, call: &Call, id: &str) -> Option<Verdict> {
        let enable = call.param("PrivateDnsEnabled").map(|v| v.eq_ignore_ascii_case("true"));
        let inbound_only = call.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint").map(|v| v.eq_ignore_ascii_case("true"));
        if enable != Some(true) && inbound_only != Some(true) {
            return None;
        }
        let ep = self.endpoint(id).filter(|e| e.kind.eq_ignore_ascii_case("interface"))?;
        let turning_on = enable == Some(true) && !ep.private_dns;
        if !(turning_on || ep.private_dns && inbound_only == Some(true)) {
            return None;
        }
        self.private_dns_refused(&ep.vpc, &ep.service, inbound_only.unwrap_or(true), Some(id))
    }

    fn modify_endpoint(&self, call: &Call, now: Instant) -> Verdict {
        let id = call.param("VpcEndpointId").unwrap_or("");
        let pending = {
            let st = self.state.lock().unwrap();
            st.endpoint_pending.get(id).is_some_and(|until| now < *until)
        };
        // An endpoint is modifiable once available; EC2 answers
        // IncorrectState for a resource in the wrong state (EC2 API error
        // codes). Wording is ours.
        if pending {
            return Verdict::refuse(
                "ec2",
                400,
                "IncorrectState",
                format!("The VPC endpoint {id} is in the pending state and cannot be modified."),
            );
        }
        if let Some(v) = self.modify_private_dns(call, id) {
            return v;
        }
        let add = call.list("AddSubnetId");
        if !add.is_empty() {
            let remove = call.list("RemoveSubnetId");
            let mut subnets: Vec<String> =
                self.endpoint(id).into_iter().flat_map(|e| e.subnets).filter(|s| !remove.contains(s) && !add.contains(s)).collect();
            subnets.extend(add);
            if let Some(v) = self.same_zone(&subnets) {
                return v;
            }
        }
        Verdict::Forward
    }

    fn delete_group(&self, call: &Call, now: Instant) -> Verdict {
        let Some(id) = call.param("GroupId") else { return Verdict::Forward };
        let dependent = Verdict::refuse("ec2", 400, "DependencyViolation", format!("resource {id} has a dependent object"));
        // A group used by network interfaces that are still being released:
        // a VPC function's (deleted, or moved out of its VPC) for up to 20
        // minutes and more (terraform-provider-aws #32129, PR #10347), an
        // endpoint's just deleted (terraform-provider-aws #16165).
        if self.state.lock().unwrap().group_held.get(id).is_some_and(|until| now < *until) {
            return dependent;
        }
        // A group another group's rule references: "you can't delete a
        // security group that is referenced by a rule of another group"
        // (DeleteSecurityGroup: DependencyViolation; terraform-provider-aws
        // revokes such rules first). moto deletes it anyway.
        // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DeleteSecurityGroup.html
        for filter in ["ip-permission.group-id", "egress.ip-permission.group-id"] {
            let xml =
                self.upstream.query("ec2", &[("Action", "DescribeSecurityGroups"), ("Filter.1.Name", filter), ("Filter.1.Value.1", id)]);
            if xml.is_some_and(|x| tags(&x, "groupId").into_iter().any(|g| g != id)) {
                return dependent;
            }
        }
        // A group still on a network interface (an endpoint's, an
        // instance's): moto deletes it anyway, AWS refuses.
        let enis =
            self.upstream.query("ec2", &[("Action", "DescribeNetworkInterfaces"), ("Filter.1.Name", "group-id"), ("Filter.1.Value.1", id)]);
        if enis.is_some_and(|x| !tags(&x, "networkInterfaceId").is_empty()) {
            return dependent;
        }
        Verdict::Forward
    }

    /// "Eventual consistency in the Amazon EC2 API": right after
    /// CreateSecurityGroup, a call with its id may answer
    /// InvalidGroup.NotFound.
    fn group_not_yet_found(&self, ids: Vec<String>, now: Instant) -> Verdict {
        let st = self.state.lock().unwrap();
        match ids.iter().find(|g| young(st.group_created.get(*g), now, self.durations.sg_consistency)) {
            Some(g) => Verdict::refuse("ec2", 400, "InvalidGroup.NotFound", format!("The security group '{g}' does not exist")),
            None => Verdict::Forward,
        }
    }

    fn ec2_after(&self, call: &Call, body: &str, now: Instant) -> Option<String> {
        let mut st = self.state.lock().unwrap();
        match call.action.as_str() {
            "CreateSecurityGroup" => {
                if let Some(id) = tag(body, "groupId") {
                    st.group_created.insert(id.to_string(), now);
                }
                None
            }
            "CreateVpcEndpoint" => {
                let e = endpoints_of(body).into_iter().next()?;
                st.endpoint_groups
                    .insert(e.id.clone(), tags(tag(body, "groupSet").unwrap_or(""), "groupId").into_iter().map(str::to_string).collect());
                if !e.kind.eq_ignore_ascii_case("interface") {
                    return None;
                }
                // A new Interface endpoint is `pending` until its network
                // interfaces are up (PrivateLink, "Interface endpoint
                // lifecycle"); moto answers `available` at once.
                st.endpoint_pending.insert(e.id.clone(), now + self.durations.endpoint_pending);
                Some(pending_states(body, &st.endpoint_pending, now))
            }
            "ModifyVpcEndpoint" => {
                let id = call.param("VpcEndpointId").unwrap_or("").to_string();
                let add = call.list("AddSecurityGroupId");
                let remove = call.list("RemoveSecurityGroupId");
                let until = now + self.durations.endpoint_eni_linger;
                for g in &remove {
                    st.group_held.insert(g.clone(), until);
                }
                let groups = st.endpoint_groups.entry(id).or_default();
                groups.retain(|g| !remove.contains(g));
                groups.extend(add);
                None
            }
            "DeleteVpcEndpoints" => {
                let until = now + self.durations.endpoint_eni_linger;
                for id in call.list("VpcEndpointId") {
                    st.endpoint_pending.remove(&id);
                    for g in st.endpoint_groups.remove(&id).unwrap_or_default() {
                        st.group_held.insert(g, until);
                    }
                }
                None
            }
            "DescribeVpcEndpoints" => {
                let any = st.endpoint_pending.values().any(|until| now < *until);
                any.then(|| pending_states(body, &st.endpoint_pending, now))
            }
            _ => None,
        }
    }

    // ---- Lambda

    fn lambda_before(&self, call: &Call, now: Instant) -> Verdict {
        let (op, name) = call.lambda_op();
        let d = &self.durations;
        let st = self.state.lock().unwrap();
        let iam_refusal = |message: &str| Verdict::refuse("lambda", 400, "InvalidParameterValueException", message);
        let has_vpc = |json: &Value| json["VpcConfig"]["SubnetIds"].as_array().is_some_and(|a| !a.is_empty());
        match op {
            "CreateFunction" => {
                let role = role_name(call.json_str("Role").unwrap_or(""));
                // A role too new for Lambda to assume (IAM is eventually
                // consistent): terraform-provider-aws #44517, Zappa #249,
                // apex/up #189 all quote this message.
                if young(st.role_created.get(&role), now, d.iam_propagation) {
                    return iam_refusal("The role defined for the function cannot be assumed by Lambda.");
                }
                // A VPC function whose role got its EC2 permissions moments
                // ago (AWSLambdaVPCAccessExecutionRole attached just before):
                // Lambda checks CreateNetworkInterface and refuses.
                if has_vpc(&call.json) && young(st.role_policy_changed.get(&role), now, d.iam_propagation) {
                    return iam_refusal("The provided execution role does not have permissions to call CreateNetworkInterface on EC2");
                }
                Verdict::Forward
            }
            "UpdateFunctionCode" | "UpdateFunctionConfiguration" => {
                // "Lambda function states": while Pending or InProgress,
                // UpdateFunctionCode and UpdateFunctionConfiguration fail
                // (ResourceConflictException, HTTP 409).
                if let Some(f) = st.functions.get(&name).filter(|f| now < f.busy_until) {
                    let message = if f.creating {
                        format!("{FUNCTIONS_PREFIX} The function is currently in the following state: Pending")
                    } else {
                        format!("{FUNCTIONS_PREFIX} An update is in progress for resource: {}", f.arn)
                    };
                    return Verdict::refuse("lambda", 409, "ResourceConflictException", message);
                }
                let role =
                    call.json_str("Role").map(role_name).or_else(|| st.functions.get(&name).map(|f| f.role.clone())).unwrap_or_default();
                if op == "UpdateFunctionConfiguration"
                    && has_vpc(&call.json)
                    && young(st.role_policy_changed.get(&role), now, d.iam_propagation)
                {
                    return iam_refusal("The provided execution role does not have permissions to call CreateNetworkInterface on EC2");
                }
                Verdict::Forward
            }
            "CreateEventSourceMapping" => {
                // The mapping's poller uses the function's role; a policy
                // granting sqs:ReceiveMessage that has not propagated yet
                // gets this refusal (aws/aws-cdk #6770: the stack's role had
                // the permissions, the mapping was refused on first deploy;
                // agiledigital/serverless-sns-sqs-lambda #705 likewise).
                let function = function_name(call.json_str("FunctionName").unwrap_or(""));
                let from_sqs = call.json_str("EventSourceArn").is_some_and(|a| a.contains(":sqs:"));
                let role = st.functions.get(&function).map(|f| f.role.clone()).unwrap_or_default();
                let fresh = young(st.role_policy_changed.get(&role), now, d.iam_propagation)
                    || young(st.role_created.get(&role), now, d.iam_propagation);
                if from_sqs && fresh {
                    return iam_refusal("The provided execution role does not have permissions to call ReceiveMessage on SQS");
                }
                Verdict::Forward
            }
            "GetAccountSettings" => {
                // moto has no GetAccountSettings. AWS answers the account's
                // limit and what no function reserves (AccountLimit), from
                // the reservations made through this proxy.
                // https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html
                let reserved: i64 = st.reserved.values().sum();
                let answer = serde_json::json!({
                    "AccountLimit": {
                        "ConcurrentExecutions": LAMBDA_CONCURRENCY_LIMIT,
                        "UnreservedConcurrentExecutions": LAMBDA_CONCURRENCY_LIMIT - reserved,
                        "CodeSizeUnzipped": 262_144_000,
                        "CodeSizeZipped": 52_428_800,
                        "TotalCodeSize": 80_530_636_800_i64,
                    },
                    "AccountUsage": {"FunctionCount": st.functions.len(), "TotalCodeSize": 0},
                });
                Verdict::Answer(answer.to_string())
            }
            "UpdateEventSourceMapping" | "DeleteEventSourceMapping" => {
                // UpdateEventSourceMapping / DeleteEventSourceMapping,
                // ResourceInUseException (409): "The operation conflicts
                // with the resource's availability. For example, you tried
                // to update an event source mapping in the CREATING state,
                // or you tried to delete an event source mapping currently
                // UPDATING."
                if let Some(m) = st.mappings.get(&name).filter(|m| now < m.until) {
                    let verb = if op == "UpdateEventSourceMapping" { "update" } else { "delete" };
                    return Verdict::refuse(
                        "lambda",
                        409,
                        "ResourceInUseException",
                        format!("Cannot {verb} the event source mapping {name} because it is in the {} state.", m.state.to_uppercase()),
                    );
                }
                Verdict::Forward
            }
            _ => Verdict::Forward,
        }
    }

    fn lambda_after(&self, call: &Call, body: &str, now: Instant) -> Option<String> {
        let (op, name) = call.lambda_op();
        let d = &self.durations;
        let mut st = self.state.lock().unwrap();
        let answer: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        let groups_of = |v: &Value| -> Option<Vec<String>> {
            v["VpcConfig"]["SecurityGroupIds"].as_array().map(|a| a.iter().filter_map(|g| g.as_str().map(str::to_string)).collect())
        };
        match op {
            "CreateFunction" => {
                let name = answer["FunctionName"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| call.json_str("FunctionName").unwrap_or("").to_string());
                let seen = FunctionSeen {
                    role: role_name(call.json_str("Role").unwrap_or("")),
                    arn: answer["FunctionArn"].as_str().unwrap_or("").to_string(),
                    groups: groups_of(&answer).or_else(|| groups_of(&call.json)).unwrap_or_default(),
                    busy_until: now + d.function_pending,
                    creating: true,
                    kept: serde_json::Map::new(),
                };
                st.functions.insert(name, seen);
            }
            "UpdateFunctionCode" | "UpdateFunctionConfiguration" => {
                let linger = now + d.lambda_eni_linger;
                if let Some(f) = st.functions.get_mut(&name) {
                    f.busy_until = now + d.function_update;
                    f.creating = false;
                    for key in MOTO_DROPS {
                        if let Some(v) = call.json.get(key) {
                            f.kept.insert(key.to_string(), v.clone());
                        }
                    }
                    if let Some(role) = call.json_str("Role") {
                        f.role = role_name(role);
                    }
                    // Leaving the VPC (empty VpcConfig) or changing groups
                    // leaves the old interfaces to be released.
                    let new_groups = if op == "UpdateFunctionConfiguration" && call.json.get("VpcConfig").is_some() {
                        groups_of(&call.json).unwrap_or_default()
                    } else {
                        f.groups.clone()
                    };
                    let dropped: Vec<String> = f.groups.iter().filter(|g| !new_groups.contains(g)).cloned().collect();
                    f.groups = new_groups;
                    for g in dropped {
                        st.group_held.insert(g, linger);
                    }
                }
            }
            "PutFunctionConcurrency" => {
                if let Some(n) = call.json.get("ReservedConcurrentExecutions").and_then(Value::as_i64) {
                    st.reserved.insert(name.clone(), n);
                }
            }
            "DeleteFunctionConcurrency" => {
                st.reserved.remove(&name);
            }
            "DeleteFunction" => {
                st.reserved.remove(&name);
                let linger = now + d.lambda_eni_linger;
                if let Some(f) = st.functions.remove(&name) {
                    for g in f.groups {
                        st.group_held.insert(g, linger);
                    }
                }
            }
            "CreateEventSourceMapping" => {
                if let Some(uuid) = answer["UUID"].as_str() {
                    st.mappings.insert(uuid.to_string(), MappingSeen { until: now + d.mapping_transition, state: "Creating" });
                }
            }
            "UpdateEventSourceMapping" => {
                st.mappings.insert(name.clone(), MappingSeen { until: now + d.mapping_transition, state: "Updating" });
            }
            "DeleteEventSourceMapping" => {
                st.mappings.remove(&name);
            }
            _ => {}
        }
        if answer.is_null() {
            return None;
        }
        let mut rewritten = answer.clone();
        rewrite_states(&mut rewritten, &st, now);
        if op == "GetFunction" {
            // moto leaves Concurrency out for a reservation of 0 (it tests
            // the number for truth); AWS reports it: a function stopped
            // with 0 is not one without a reservation.
            if let Some(n) = st.reserved.get(&name) {
                rewritten["Concurrency"] = serde_json::json!({"ReservedConcurrentExecutions": n});
            }
        }
        if op == "DeleteEventSourceMapping" {
            // DeleteEventSourceMapping answers the mapping in `Deleting`.
            rewritten["State"] = Value::from("Deleting");
        }
        (rewritten != answer).then(|| rewritten.to_string())
    }

    // ---- SQS

    fn sqs_before(&self, call: &Call, now: Instant) -> Verdict {
        // StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask:
        // moto 5.2.5 has none of them.
        if let Some(v) = self.move_tasks.before(call) {
            return v;
        }
        if matches!(call.action.as_str(), "SendMessage" | "SendMessageBatch" | "ReceiveMessage") {
            return self.queue_key_refused(call).unwrap_or(Verdict::Forward);
        }
        if call.action != "CreateQueue" {
            return Verdict::Forward;
        }
        let name = call.json_str("QueueName").or(call.param("QueueName")).unwrap_or("");
        // "You must wait 60 seconds after deleting a queue before you can
        // create another queue with the same name." (CreateQueue,
        // QueueDeletedRecently). moto creates it at once.
        if young(self.state.lock().unwrap().queue_deleted.get(name), now, self.durations.queue_deleted_recently) {
            return Verdict::refuse(
                "sqs",
                400,
                "QueueDeletedRecently",
                "You must wait 60 seconds after deleting a queue before you can create another with the same name.",
            );
        }
        Verdict::Forward
    }
}

/// CloudWatch Logs takes only these retentions (PutRetentionPolicy's
/// `retentionInDays`: "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120,
/// 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, and
/// 3653"; never expiring is DeleteRetentionPolicy); moto stores any number.
/// <https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html>
fn logs_before(call: &Call) -> Verdict {
    if call.action != "PutRetentionPolicy" {
        return Verdict::Forward;
    }
    let days = call.json.get("retentionInDays").and_then(Value::as_i64);
    if days.is_some_and(|d| privatelink::parts::log_group::RETENTION_DAYS.iter().any(|ok| i64::from(*ok) == d)) {
        return Verdict::Forward;
    }
    let shown = days.map(|d| d.to_string()).unwrap_or_else(|| "null".into());
    Verdict::refuse(
        "logs",
        400,
        "InvalidParameterException",
        format!("1 validation error detected: Value '{shown}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set"),
    )
}

impl Rules {
    /// A queue encrypted with a customer-managed KMS key: SQS uses the key
    /// with the caller's own rights, so a producer needs kms:GenerateDataKey
    /// and kms:Decrypt on it and a consumer kms:Decrypt (Amazon SQS
    /// Developer Guide, "Amazon SQS key management", configuring KMS
    /// permissions:
    /// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
    /// Without them SQS answers KMS.AccessDeniedException, HTTP 400 (the
    /// KmsAccessDenied error of SendMessage and ReceiveMessage in the SQS
    /// API reference; the message as AWS re:Post's "SQS AccessDenied errors"
    /// quotes it: https://repost.aws/knowledge-center/sqs-accessdenied-errors).
    /// moto does not check. Judged for callers known as an assumed role
    /// (their access key seen in an AssumeRole answer), on the role's
    /// inline policies; the AWS-managed key (`alias/aws/sqs`) needs nothing.
    fn queue_key_refused(&self, call: &Call) -> Option<Verdict> {
        let (role, session) = self.state.lock().unwrap().sessions.get(&call.access_key).cloned()?;
        let url = call.json_str("QueueUrl").or(call.param("QueueUrl"))?;
        let attributes = self.upstream.json(
            "sqs",
            "AmazonSQS.GetQueueAttributes",
            &serde_json::json!({"QueueUrl": url, "AttributeNames": ["KmsMasterKeyId"]}),
        )?;
        let key = attributes["Attributes"]["KmsMasterKeyId"].as_str().filter(|k| !k.is_empty())?.to_string();
        if key.starts_with("alias/aws/") || key.contains(":alias/aws/") {
            return None;
        }
        let described = self.upstream.json("kms", "TrentService.DescribeKey", &serde_json::json!({"KeyId": key}))?;
        let meta = &described["KeyMetadata"];
        if meta["KeyManager"].as_str() == Some("AWS") {
            return None;
        }
        let key_arn = meta["Arn"].as_str()?.to_string();
        let documents = self.role_policies(&role);
        let docs: Vec<&str> = documents.iter().map(String::as_str).collect();
        let needed: &[&str] = if call.action == "ReceiveMessage" { &["kms:Decrypt"] } else { &["kms:GenerateDataKey", "kms:Decrypt"] };
        let missing = needed
            .iter()
            .find(|a| privatelink::policy::evaluate::decide_on(&docs, a, &key_arn) != privatelink::policy::evaluate::Decision::Allowed)?;
        Some(Verdict::refuse(
            "sqs",
            400,
            "KMS.AccessDeniedException",
            format!("User: {session} is not authorized to perform: {missing} on resource: {key_arn} because no identity-based policy allows the {missing} action"),
        ))
    }

    /// The inline policy documents of role `name`, as moto holds them.
    fn role_policies(&self, name: &str) -> Vec<String> {
        let listed = self.upstream.query("iam", &[("Action", "ListRolePolicies"), ("RoleName", name)]).unwrap_or_default();
        let names: Vec<String> = tags(tag(&listed, "PolicyNames").unwrap_or(""), "member").into_iter().map(str::to_string).collect();
        names
            .iter()
            .filter_map(|p| self.upstream.query("iam", &[("Action", "GetRolePolicy"), ("RoleName", name), ("PolicyName", p)]))
            .filter_map(|xml| tag(&xml, "PolicyDocument").map(|d| privatelink::parts::role::decode_policy_document(&xml_unescape(d))))
            .collect()
    }
}

/// XML text as written: the five entities undone.
fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"").replace("&apos;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
}

/// `com.amazonaws.us-east-1.sqs` -> `sqs.us-east-1.amazonaws.com`.
fn dns_domain(service: &str) -> String {
    let parts: Vec<&str> = service.split('.').collect();
    match parts.as_slice() {
        ["com", "amazonaws", region, rest @ ..] if !rest.is_empty() => format!("{}.{region}.amazonaws.com", rest.join(".")),
        _ => service.to_string(),
    }
}

/// Rewrites `<state>` of each endpoint still pending in an EC2 answer.
fn pending_states(xml: &str, pending: &HashMap<String, Instant>, now: Instant) -> String {
    let mut out = String::with_capacity(xml.len());
    let mut chunks = xml.split("<vpcEndpointId>");
    out.push_str(chunks.next().unwrap_or(""));
    for chunk in chunks {
        out.push_str("<vpcEndpointId>");
        let id = chunk.split('<').next().unwrap_or("");
        match (pending.get(id).is_some_and(|until| now < *until), chunk.find("<state>"), chunk.find("</state>")) {
            (true, Some(i), Some(j)) if i < j => {
                out.push_str(&chunk[..i]);
                out.push_str("<state>pending</state>");
                out.push_str(&chunk[j + "</state>".len()..]);
            }
            _ => out.push_str(chunk),
        }
    }
    out
}

/// Rewrites the states of functions and mappings still in transition,
/// wherever they appear in a Lambda answer (GetFunction's Configuration,
/// ListFunctions, ListEventSourceMappings...).
fn rewrite_states(v: &mut Value, st: &State, now: Instant) {
    match v {
        Value::Object(map) => {
            if let Some(f) = map.get("FunctionName").and_then(Value::as_str).and_then(|n| st.functions.get(n)) {
                if map.contains_key("FunctionArn") {
                    for (k, v) in &f.kept {
                        map.insert(k.clone(), v.clone());
                    }
                }
            }
            if let Some(f) =
                map.get("FunctionName").and_then(Value::as_str).and_then(|n| st.functions.get(n)).filter(|f| now < f.busy_until)
            {
                if f.creating {
                    // "Pending – After Lambda creates the function, it sets
                    // the state to pending." (Lambda function states)
                    map.insert("State".into(), Value::from("Pending"));
                    map.insert("StateReason".into(), Value::from("The function is being created."));
                    map.insert("StateReasonCode".into(), Value::from("Creating"));
                } else if map.contains_key("State") || map.contains_key("LastUpdateStatus") {
                    map.insert("LastUpdateStatus".into(), Value::from("InProgress"));
                    map.insert("LastUpdateStatusReason".into(), Value::from("The function is being updated."));
                    map.insert("LastUpdateStatusReasonCode".into(), Value::from("InProgress"));
                }
            }
            if let Some(m) = map.get("UUID").and_then(Value::as_str).and_then(|u| st.mappings.get(u)).filter(|m| now < m.until) {
                map.insert("State".into(), Value::from(m.state));
            }
            for child in map.values_mut() {
                rewrite_states(child, st, now);
            }
        }
        Value::Array(items) => {
            for child in items {
                rewrite_states(child, st, now);
            }
        }
        _ => {}
    }
}

// ------------------------------------------------------------------- tests

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// moto's answers, canned: the first whose parameters all match.
    #[derive(Default, Clone)]
    struct Fake(Arc<Mutex<Vec<Canned>>>, Arc<Mutex<HashMap<String, Value>>>);

    /// Parameters a query must carry, and moto's XML answer to it.
    type Canned = (Vec<(String, String)>, String);

    impl Fake {
        fn on(&self, params: &[(&str, &str)], xml: &str) -> &Fake {
            let params = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            self.0.lock().unwrap().insert(0, (params, xml.to_string()));
            self
        }

        /// moto's JSON answer to a JSON-protocol call (`target`).
        fn on_json(&self, target: &str, answer: Value) -> &Fake {
            self.1.lock().unwrap().insert(target.to_string(), answer);
            self
        }
    }

    impl Upstream for Fake {
        fn query(&self, _service: &str, params: &[(&str, &str)]) -> Option<String> {
            let all = self.0.lock().unwrap();
            all.iter()
                .find(|(want, _)| want.iter().all(|(k, v)| params.iter().any(|(pk, pv)| pk == k && pv == v)))
                .map(|(_, xml)| xml.clone())
        }

        fn json(&self, _service: &str, target: &str, _body: &Value) -> Option<Value> {
            self.1.lock().unwrap().get(target).cloned()
        }
    }

    fn rules(fake: &Fake) -> (Rules, ManualTime) {
        let (clock, time) = Clock::manual();
        let mut d = Durations::ci();
        d.limits = None;
        (Rules::new(d, clock, Box::new(fake.clone())), time)
    }

    const VPC: &str = "vpc-1";
    const S3: &str = "com.amazonaws.us-east-1.s3";
    const SQS: &str = "com.amazonaws.us-east-1.sqs";

    fn attr(name: &str, on: bool) -> String {
        format!("<DescribeVpcAttributeResponse><{name}><value>{on}</value></{name}><vpcId>{VPC}</vpcId></DescribeVpcAttributeResponse>")
    }

    fn endpoint_xml(id: &str, kind: &str, service: &str, state: &str, dns: bool, subnets: &[&str]) -> String {
        let items: String = subnets.iter().map(|s| format!("<item>{s}</item>")).collect();
        format!(
            "<item><vpcEndpointId>{id}</vpcEndpointId><vpcEndpointType>{kind}</vpcEndpointType><vpcId>{VPC}</vpcId><serviceName>{service}</serviceName><state>{state}</state><subnetIdSet>{items}</subnetIdSet><groupSet><item><groupId>sg-e</groupId></item></groupSet><privateDnsEnabled>{dns}</privateDnsEnabled></item>"
        )
    }

    fn endpoints(items: &[String]) -> String {
        format!("<DescribeVpcEndpointsResponse><vpcEndpointSet>{}</vpcEndpointSet></DescribeVpcEndpointsResponse>", items.concat())
    }

    /// A VPC with DNS on, subnets a1/a2 in us-east-1a and b1 in us-east-1b.
    fn network(fake: &Fake, existing: &[String]) {
        fake.on(&[("Attribute", "enableDnsSupport")], &attr("enableDnsSupport", true))
            .on(&[("Attribute", "enableDnsHostnames")], &attr("enableDnsHostnames", true))
            .on(&[("Action", "DescribeVpcEndpoints")], &endpoints(existing));
        for (s, z) in [("subnet-a1", "us-east-1a"), ("subnet-a2", "us-east-1a"), ("subnet-b1", "us-east-1b")] {
            fake.on(
                &[("Action", "DescribeSubnets"), ("SubnetId.1", s)],
                &format!("<DescribeSubnetsResponse><subnetSet><item><availabilityZoneId>use1-az1</availabilityZoneId><subnetId>{s}</subnetId><availabilityZone>{z}</availabilityZone></item></subnetSet></DescribeSubnetsResponse>"),
            );
        }
    }

    fn interface(service: &str, extra: &[(&str, &str)]) -> Call {
        let mut p = vec![
            ("VpcId", VPC),
            ("ServiceName", service),
            ("VpcEndpointType", "Interface"),
            ("SubnetId.1", "subnet-a1"),
            ("SubnetId.2", "subnet-b1"),
        ];
        p.extend_from_slice(extra);
        Call::ec2("CreateVpcEndpoint", &p)
    }

    fn refused(v: Verdict) -> (String, String) {
        match v {
            Verdict::Refuse(r) => (r.code, r.message),
            other => panic!("{other:?}; expected a refusal"),
        }
    }

    fn pair(code: &str, message: &str) -> (String, String) {
        (code.to_string(), message.to_string())
    }

    #[test]
    fn rules_logs_retention_is_one_of_cloudwatch_logs_values() {
        let fake = Fake::default();
        let (r, _) = rules(&fake);
        let put = |days: i64| Call {
            service: "logs".into(),
            action: "PutRetentionPolicy".into(),
            method: "POST".into(),
            path: "/".into(),
            params: vec![],
            json: serde_json::json!({"logGroupName": "/aws/lambda/f", "retentionInDays": days}),
            ..Call::default()
        };
        for ok in [1, 14, 30, 3653] {
            assert_eq!(r.before(&put(ok)), Verdict::Forward, "{ok}");
        }
        for bad in [0, 2, 31, 4000] {
            let (code, message) = refused(r.before(&put(bad)));
            assert_eq!(code, "InvalidParameterException");
            assert!(message.contains(&format!("'{bad}'")), "{message}");
        }
        let other = Call { action: "DeleteRetentionPolicy".into(), ..put(2) };
        assert_eq!(r.before(&other), Verdict::Forward);
    }

    #[test]
    fn rules_s3_interface_with_private_dns_needs_a_gateway_unless_inbound_only_is_false() {
        let fake = Fake::default();
        network(&fake, &[]);
        let (r, _) = rules(&fake);
        let v = r.before(&interface(S3, &[("PrivateDnsEnabled", "true")]));
        assert_eq!(
            refused(v),
            pair(
                "InvalidParameter",
                "To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC vpc-1 must have a Gateway endpoint for the service."
            )
        );
        let v =
            r.before(&interface(S3, &[("PrivateDnsEnabled", "true"), ("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint", "false")]));
        assert_eq!(v, Verdict::Forward);
        assert_eq!(r.before(&interface(S3, &[("PrivateDnsEnabled", "false")])), Verdict::Forward);
        // With a Gateway endpoint for S3 in the VPC, the default is fine.
        network(&fake, &[endpoint_xml("vpce-g", "Gateway", S3, "available", false, &[])]);
        assert_eq!(r.before(&interface(S3, &[("PrivateDnsEnabled", "true")])), Verdict::Forward);
        // Another service is not concerned.
        network(&fake, &[]);
        assert_eq!(r.before(&interface(SQS, &[("PrivateDnsEnabled", "true")])), Verdict::Forward);
    }

    #[test]
    fn rules_turning_private_dns_on_by_modify_is_checked_as_a_create_is() {
        let fake = Fake::default();
        network(&fake, &[endpoint_xml("vpce-s3", "Interface", S3, "available", false, &["subnet-a1"])]);
        let (r, _) = rules(&fake);
        let modify = |extra: &[(&str, &str)]| {
            let mut p = vec![("VpcEndpointId", "vpce-s3")];
            p.extend_from_slice(extra);
            Call::ec2("ModifyVpcEndpoint", &p)
        };
        // Unsent, the S3 option comes on with private DNS, and the VPC has no S3 Gateway.
        let (code, message) = refused(r.before(&modify(&[("PrivateDnsEnabled", "true")])));
        assert_eq!(code, "InvalidParameter");
        assert!(message.starts_with("To set PrivateDnsOnlyForInboundResolverEndpoint to true, the VPC vpc-1"), "{message}");
        let off = ("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint", "false");
        assert_eq!(r.before(&modify(&[("PrivateDnsEnabled", "true"), off])), Verdict::Forward);
        // Calls that do not turn private DNS on are not concerned.
        assert_eq!(r.before(&modify(&[("ResetPolicy", "true")])), Verdict::Forward);
        assert_eq!(r.before(&modify(&[("PrivateDnsEnabled", "false")])), Verdict::Forward);
        // Turning the option on later, with private DNS already on, needs the Gateway too.
        network(&fake, &[endpoint_xml("vpce-s3", "Interface", S3, "available", true, &["subnet-a1"])]);
        let on = ("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint", "true");
        assert_eq!(refused(r.before(&modify(&[on]))).0, "InvalidParameter");
        // The VPC's DNS attributes and another endpoint holding the name count as at create;
        // the endpoint being modified does not conflict with itself.
        network(&fake, &[endpoint_xml("vpce-q", "Interface", SQS, "available", false, &["subnet-a1"])]);
        let sqs = |extra: &[(&str, &str)]| {
            let mut p = vec![("VpcEndpointId", "vpce-q")];
            p.extend_from_slice(extra);
            Call::ec2("ModifyVpcEndpoint", &p)
        };
        assert_eq!(r.before(&sqs(&[("PrivateDnsEnabled", "true")])), Verdict::Forward);
        network(
            &fake,
            &[
                endpoint_xml("vpce-q", "Interface", SQS, "available", false, &["subnet-a1"]),
                endpoint_xml("vpce-other", "Interface", SQS, "available", true, &["subnet-b1"]),
            ],
        );
        let (_, message) = refused(r.before(&sqs(&[("PrivateDnsEnabled", "true")])));
        assert!(message.contains("conflicting DNS domain for sqs.us-east-1.amazonaws.com"), "{message}");
        network(&fake, &[endpoint_xml("vpce-q", "Interface", SQS, "available", false, &["subnet-a1"])]);
        fake.on(&[("Attribute", "enableDnsSupport")], &attr("enableDnsSupport", false));
        let (_, message) = refused(r.before(&sqs(&[("PrivateDnsEnabled", "true")])));
        assert!(message.contains("enableDnsSupport"), "{message}");
    }

    #[test]
    fn rules_private_dns_needs_the_vpc_dns_attributes() {
        let fake = Fake::default();
        network(&fake, &[]);
        fake.on(&[("Attribute", "enableDnsHostnames")], &attr("enableDnsHostnames", false));
        let (r, _) = rules(&fake);
        let (code, message) = refused(r.before(&interface(SQS, &[])));
        assert_eq!(code, "InvalidParameter");
        assert!(message.contains("enableDnsHostnames") && message.contains(VPC), "{message}");
        assert_eq!(r.before(&interface(SQS, &[("PrivateDnsEnabled", "false")])), Verdict::Forward);
    }

    #[test]
    fn rules_a_second_private_dns_endpoint_for_a_service_conflicts() {
        let fake = Fake::default();
        network(&fake, &[endpoint_xml("vpce-1", "Interface", SQS, "available", true, &["subnet-a1"])]);
        let (r, _) = rules(&fake);
        let (code, message) = refused(r.before(&interface(SQS, &[("PrivateDnsEnabled", "true")])));
        assert_eq!(code, "InvalidParameter");
        assert!(message.contains("conflicting DNS domain for sqs.us-east-1.amazonaws.com in the VPC vpc-1"), "{message}");
        assert_eq!(r.before(&interface(SQS, &[("PrivateDnsEnabled", "false")])), Verdict::Forward);
        // A deleted endpoint no longer holds the name.
        network(&fake, &[endpoint_xml("vpce-1", "Interface", SQS, "deleted", true, &["subnet-a1"])]);
        assert_eq!(r.before(&interface(SQS, &[("PrivateDnsEnabled", "true")])), Verdict::Forward);
    }

    #[test]
    fn rules_two_subnets_in_one_zone_are_refused_on_create_and_modify() {
        let fake = Fake::default();
        network(&fake, &[endpoint_xml("vpce-1", "Interface", SQS, "available", false, &["subnet-a1"])]);
        let (r, _) = rules(&fake);
        let create = Call::ec2(
            "CreateVpcEndpoint",
            &[
                ("VpcId", VPC),
                ("ServiceName", SQS),
                ("VpcEndpointType", "Interface"),
                ("SubnetId.1", "subnet-a1"),
                ("SubnetId.2", "subnet-a2"),
            ],
        );
        assert_eq!(refused(r.before(&create)).0, "DuplicateSubnetsInSameZone");
        let add = Call::ec2("ModifyVpcEndpoint", &[("VpcEndpointId", "vpce-1"), ("AddSubnetId.1", "subnet-a2")]);
        assert_eq!(refused(r.before(&add)).0, "DuplicateSubnetsInSameZone");
        let swap = Call::ec2(
            "ModifyVpcEndpoint",
            &[("VpcEndpointId", "vpce-1"), ("AddSubnetId.1", "subnet-a2"), ("RemoveSubnetId.1", "subnet-a1")],
        );
        assert_eq!(r.before(&swap), Verdict::Forward);
        let other_zone = Call::ec2("ModifyVpcEndpoint", &[("VpcEndpointId", "vpce-1"), ("AddSubnetId.1", "subnet-b1")]);
        assert_eq!(r.before(&other_zone), Verdict::Forward);
    }

    #[test]
    fn rules_a_new_interface_endpoint_is_pending_and_cannot_be_modified_meanwhile() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let created = format!(
            "<CreateVpcEndpointResponse><vpcEndpoint>{}</vpcEndpoint></CreateVpcEndpointResponse>",
            endpoint_xml("vpce-9", "Interface", SQS, "available", true, &[])
        );
        let create = interface(SQS, &[]);
        let answer = r.after(&create, 200, &created).expect("the create answer is rewritten");
        assert!(answer.contains("<state>pending</state>"), "{answer}");
        let describe = Call::ec2("DescribeVpcEndpoints", &[("VpcEndpointId.1", "vpce-9")]);
        let listed = endpoints(&[
            endpoint_xml("vpce-9", "Interface", SQS, "available", true, &[]),
            endpoint_xml("vpce-8", "Interface", S3, "available", false, &[]),
        ]);
        let seen = r.after(&describe, 200, &listed).unwrap();
        assert_eq!(endpoints_of(&seen).iter().map(|e| e.state.as_str()).collect::<Vec<_>>(), ["pending", "available"]);
        let modify = Call::ec2("ModifyVpcEndpoint", &[("VpcEndpointId", "vpce-9"), ("ResetPolicy", "true")]);
        assert_eq!(refused(r.before(&modify)).0, "IncorrectState");
        time.advance(r.durations.endpoint_pending);
        assert_eq!(r.after(&describe, 200, &listed), None, "available once the time has passed");
        assert_eq!(r.before(&modify), Verdict::Forward);
    }

    #[test]
    fn rules_a_group_referenced_by_another_group_or_on_an_interface_cannot_be_deleted() {
        let fake = Fake::default();
        let (r, _) = rules(&fake);
        let delete = Call::ec2("DeleteSecurityGroup", &[("GroupId", "sg-target")]);
        assert_eq!(r.before(&delete), Verdict::Forward);
        // Only itself refers to it (a self-reference): still deletable.
        fake.on(
            &[("Filter.1.Name", "ip-permission.group-id")],
            "<securityGroupInfo><item><groupId>sg-target</groupId></item></securityGroupInfo>",
        );
        assert_eq!(r.before(&delete), Verdict::Forward);
        fake.on(
            &[("Filter.1.Name", "egress.ip-permission.group-id")],
            "<securityGroupInfo><item><groupId>sg-app</groupId><ipPermissionsEgress><item><groups><item><groupId>sg-target</groupId></item></groups></item></ipPermissionsEgress></item></securityGroupInfo>",
        );
        let (code, message) = refused(r.before(&delete));
        assert_eq!((code, message), pair("DependencyViolation", "resource sg-target has a dependent object"));
        let fake = Fake::default();
        let (r, _) = rules(&fake);
        fake.on(
            &[("Action", "DescribeNetworkInterfaces")],
            "<networkInterfaceSet><item><networkInterfaceId>eni-1</networkInterfaceId></item></networkInterfaceSet>",
        );
        assert_eq!(refused(r.before(&delete)).0, "DependencyViolation");
    }

    fn create_function(name: &str, role: &str, groups: &[&str]) -> Call {
        let vpc = if groups.is_empty() { json!({}) } else { json!({"SubnetIds": ["subnet-a1"], "SecurityGroupIds": groups}) };
        Call::lambda(
            "POST",
            "/2015-03-31/functions",
            json!({"FunctionName": name, "Role": format!("arn:aws:iam::123456789012:role/{role}"), "VpcConfig": vpc}),
        )
    }

    fn function_answer(name: &str, groups: &[&str]) -> String {
        json!({"FunctionName": name, "FunctionArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"), "State": "Active", "LastUpdateStatus": "Successful", "VpcConfig": {"SecurityGroupIds": groups}}).to_string()
    }

    #[test]
    fn rules_a_group_lingers_after_its_vpc_function_is_deleted_or_leaves_the_vpc() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let delete_group = |g: &str| Call::ec2("DeleteSecurityGroup", &[("GroupId", g)]);
        r.after(&create_function("f", "role", &["sg-f"]), 201, &function_answer("f", &["sg-f"]));
        r.after(&create_function("g", "role", &["sg-g"]), 201, &function_answer("g", &["sg-g"]));
        r.after(&Call::lambda("DELETE", "/2015-03-31/functions/f", Value::Null), 204, "");
        time.advance(r.durations.function_pending);
        let leave =
            Call::lambda("PUT", "/2015-03-31/functions/g/configuration", json!({"VpcConfig": {"SubnetIds": [], "SecurityGroupIds": []}}));
        assert_eq!(r.before(&leave), Verdict::Forward);
        r.after(&leave, 200, &function_answer("g", &[]));
        assert_eq!(refused(r.before(&delete_group("sg-f"))).0, "DependencyViolation");
        assert_eq!(refused(r.before(&delete_group("sg-g"))).0, "DependencyViolation");
        time.advance(r.durations.lambda_eni_linger);
        assert_eq!(r.before(&delete_group("sg-f")), Verdict::Forward);
        assert_eq!(r.before(&delete_group("sg-g")), Verdict::Forward);
    }

    #[test]
    fn rules_an_endpoint_group_lingers_after_the_endpoint_is_deleted() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let created = format!(
            "<CreateVpcEndpointResponse><vpcEndpoint>{}</vpcEndpoint></CreateVpcEndpointResponse>",
            endpoint_xml("vpce-1", "Interface", SQS, "available", true, &[])
        );
        r.after(&interface(SQS, &[]), 200, &created);
        r.after(&Call::ec2("DeleteVpcEndpoints", &[("VpcEndpointId.1", "vpce-1")]), 200, "<ok/>");
        let delete_group = Call::ec2("DeleteSecurityGroup", &[("GroupId", "sg-e")]);
        assert_eq!(refused(r.before(&delete_group)).0, "DependencyViolation");
        time.advance(r.durations.endpoint_eni_linger);
        assert_eq!(r.before(&delete_group), Verdict::Forward);
    }

    #[test]
    fn rules_iam_changes_take_a_while_to_reach_lambda() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        r.after(&Call::iam("CreateRole", &[("RoleName", "fresh")]), 200, "<CreateRoleResponse/>");
        let (code, message) = refused(r.before(&create_function("f", "fresh", &[])));
        assert_eq!(
            (code, message),
            pair("InvalidParameterValueException", "The role defined for the function cannot be assumed by Lambda.")
        );
        time.advance(r.durations.iam_propagation);
        assert_eq!(r.before(&create_function("f", "fresh", &[])), Verdict::Forward);
        // A policy just put on the role: a VPC function is refused, a plain one is not.
        r.after(&Call::iam("AttachRolePolicy", &[("RoleName", "fresh"), ("PolicyArn", "arn:aws:iam::aws:policy/x")]), 200, "<ok/>");
        let (_, message) = refused(r.before(&create_function("f", "fresh", &["sg-1"])));
        assert_eq!(message, "The provided execution role does not have permissions to call CreateNetworkInterface on EC2");
        assert_eq!(r.before(&create_function("f", "fresh", &[])), Verdict::Forward);
        r.after(&create_function("f", "fresh", &[]), 201, &function_answer("f", &[]));
        let mapping = Call::lambda(
            "POST",
            "/2015-03-31/event-source-mappings/",
            json!({"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f", "EventSourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}),
        );
        let (_, message) = refused(r.before(&mapping));
        assert_eq!(message, "The provided execution role does not have permissions to call ReceiveMessage on SQS");
        time.advance(r.durations.iam_propagation);
        assert_eq!(r.before(&mapping), Verdict::Forward);
    }

    #[test]
    fn rules_a_new_or_updated_function_reads_pending_and_refuses_updates_meanwhile() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let created = r.after(&create_function("f", "role", &[]), 201, &function_answer("f", &[])).expect("rewritten");
        assert_eq!(serde_json::from_str::<Value>(&created).unwrap()["State"], "Pending");
        let get = Call::lambda("GET", "/2015-03-31/functions/f", Value::Null);
        let read = r
            .after(&get, 200, &json!({"Configuration": serde_json::from_str::<Value>(&function_answer("f", &[])).unwrap()}).to_string())
            .unwrap();
        assert_eq!(serde_json::from_str::<Value>(&read).unwrap()["Configuration"]["State"], "Pending");
        let code =
            Call::lambda("PUT", "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/code", json!({}));
        let code = Call { path: percent_decode(&code.path), ..code };
        let (status, message) = match r.before(&code) {
            Verdict::Refuse(x) => (x.status, x.message),
            v => panic!("{v:?}"),
        };
        assert_eq!(status, 409);
        assert!(message.ends_with("in the following state: Pending"), "{message}");
        time.advance(r.durations.function_pending);
        assert_eq!(r.after(&get, 200, &function_answer("f", &[])), None, "Active once the time has passed");
        assert_eq!(r.before(&code), Verdict::Forward);
        let updated = r.after(&code, 200, &function_answer("f", &[])).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&updated).unwrap()["LastUpdateStatus"], "InProgress");
        let config = Call::lambda("PUT", "/2015-03-31/functions/f/configuration", json!({"Timeout": 9}));
        assert!(refused(r.before(&config))
            .1
            .contains("An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:f"));
        time.advance(r.durations.function_update);
        assert_eq!(r.before(&config), Verdict::Forward);
    }

    #[test]
    fn rules_settings_moto_drops_from_an_update_read_back_as_sent() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        r.after(&create_function("f", "role", &[]), 201, &function_answer("f", &[]));
        time.advance(r.durations.function_pending);
        let config = Call::lambda(
            "PUT",
            "/2015-03-31/functions/f/configuration",
            json!({"EphemeralStorage": {"Size": 2048}, "TracingConfig": {"Mode": "Active"}, "KMSKeyArn": "arn:aws:kms:us-east-1:123456789012:key/k", "Timeout": 9}),
        );
        r.after(&config, 200, &function_answer("f", &[]));
        let code = Call::lambda("PUT", "/2015-03-31/functions/f/code", json!({"Architectures": ["arm64"], "ZipFile": "UEs="}));
        r.after(&code, 200, &function_answer("f", &[]));
        time.advance(r.durations.function_update);
        // moto's answer still has the old values: the rules put back what was sent.
        let mut stale: Value = serde_json::from_str(&function_answer("f", &[])).unwrap();
        stale["EphemeralStorage"] = json!({"Size": 512});
        stale["TracingConfig"] = json!({"Mode": "PassThrough"});
        stale["Architectures"] = json!(["x86_64"]);
        let get = Call::lambda("GET", "/2015-03-31/functions/f", Value::Null);
        let read: Value = serde_json::from_str(&r.after(&get, 200, &json!({"Configuration": stale}).to_string()).unwrap()).unwrap();
        let c = &read["Configuration"];
        assert_eq!((c["EphemeralStorage"]["Size"].as_i64(), c["TracingConfig"]["Mode"].as_str()), (Some(2048), Some("Active")));
        assert_eq!(c["Architectures"], json!(["arm64"]));
        assert_eq!(c["KMSKeyArn"], "arn:aws:kms:us-east-1:123456789012:key/k");
        // Another function's answer is left alone.
        assert_eq!(r.after(&Call::lambda("GET", "/2015-03-31/functions/g", Value::Null), 200, &function_answer("g", &[])), None);
    }

    #[test]
    fn rules_reservations_show_in_account_settings_and_a_reservation_of_0_reads_back() {
        let fake = Fake::default();
        let (r, _) = rules(&fake);
        let settings = Call::lambda("GET", "/2016-08-19/account-settings", Value::Null);
        let unreserved = |v: Verdict| match v {
            Verdict::Answer(body) => {
                serde_json::from_str::<Value>(&body).unwrap()["AccountLimit"]["UnreservedConcurrentExecutions"].as_i64()
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(unreserved(r.before(&settings)), Some(LAMBDA_CONCURRENCY_LIMIT));
        let put = |name: &str, n: i64| {
            Call::lambda("PUT", &format!("/2017-10-31/functions/{name}/concurrency"), json!({"ReservedConcurrentExecutions": n}))
        };
        r.after(&put("f", 300), 200, "{}");
        r.after(&put("g", 0), 200, "{}");
        assert_eq!(unreserved(r.before(&settings)), Some(LAMBDA_CONCURRENCY_LIMIT - 300));
        let get = Call::lambda("GET", "/2015-03-31/functions/g", Value::Null);
        let read: Value =
            serde_json::from_str(&r.after(&get, 200, &json!({"Configuration": {"FunctionName": "g"}}).to_string()).unwrap()).unwrap();
        assert_eq!(read["Concurrency"]["ReservedConcurrentExecutions"], 0);
        r.after(&Call::lambda("DELETE", "/2017-10-31/functions/f/concurrency", Value::Null), 204, "");
        assert_eq!(unreserved(r.before(&settings)), Some(LAMBDA_CONCURRENCY_LIMIT));
    }

    #[test]
    fn rules_a_mapping_is_creating_then_updating_and_refuses_changes_meanwhile() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let create = Call::lambda(
            "POST",
            "/2015-03-31/event-source-mappings/",
            json!({"FunctionName": "f", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"}),
        );
        let answer = json!({"UUID": "u-1", "State": "Enabled", "FunctionArn": "arn:aws:lambda:us-east-1:1:function:f"}).to_string();
        let created = r.after(&create, 202, &answer).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&created).unwrap()["State"], "Creating");
        let list = Call::lambda("GET", "/2015-03-31/event-source-mappings/", Value::Null);
        let listed =
            r.after(&list, 200, &json!({"EventSourceMappings": [serde_json::from_str::<Value>(&answer).unwrap()]}).to_string()).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&listed).unwrap()["EventSourceMappings"][0]["State"], "Creating");
        let update = Call::lambda("PUT", "/2015-03-31/event-source-mappings/u-1", json!({"BatchSize": 5}));
        let delete = Call::lambda("DELETE", "/2015-03-31/event-source-mappings/u-1", Value::Null);
        assert_eq!(refused(r.before(&update)).0, "ResourceInUseException");
        assert_eq!(refused(r.before(&delete)).0, "ResourceInUseException");
        time.advance(r.durations.mapping_transition);
        assert_eq!(r.before(&update), Verdict::Forward);
        let updated = r.after(&update, 202, &answer).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&updated).unwrap()["State"], "Updating");
        assert!(refused(r.before(&delete)).1.contains("UPDATING"));
        time.advance(r.durations.mapping_transition);
        assert_eq!(r.before(&delete), Verdict::Forward);
    }

    #[test]
    fn rules_a_queue_name_deleted_recently_cannot_be_created_again() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        let create = Call::sqs("CreateQueue", json!({"QueueName": "jobs"}));
        assert_eq!(r.before(&create), Verdict::Forward);
        r.after(&Call::sqs("DeleteQueue", json!({"QueueUrl": "http://127.0.0.1:1/123456789012/jobs"})), 200, "{}");
        let refusal = match r.before(&create) {
            Verdict::Refuse(x) => x,
            v => panic!("{v:?}"),
        };
        assert_eq!(refusal.code, "QueueDeletedRecently");
        let http = String::from_utf8(refusal.http()).unwrap();
        assert!(http.contains("x-amzn-query-error: AWS.SimpleQueueService.QueueDeletedRecently;Sender"), "{http}");
        assert!(http.contains("com.amazonaws.sqs#QueueDeletedRecently"), "{http}");
        assert_eq!(r.before(&Call::sqs("CreateQueue", json!({"QueueName": "other"}))), Verdict::Forward);
        time.advance(r.durations.queue_deleted_recently);
        assert_eq!(r.before(&create), Verdict::Forward);
    }

    /// IAM's XML for a role's one inline policy (`doc`, URL-encoded as IAM answers it).
    fn role_policy(fake: &Fake, role: &str, doc: &str) {
        let encoded: String = url::form_urlencoded::byte_serialize(doc.as_bytes()).collect::<String>().replace('+', "%20");
        fake.on(
            &[("Action", "ListRolePolicies"), ("RoleName", role)],
            "<ListRolePoliciesResponse><ListRolePoliciesResult><PolicyNames><member>pipeline</member></PolicyNames></ListRolePoliciesResult></ListRolePoliciesResponse>",
        )
        .on(
            &[("Action", "GetRolePolicy"), ("RoleName", role)],
            &format!("<GetRolePolicyResponse><GetRolePolicyResult><PolicyDocument>{encoded}</PolicyDocument></GetRolePolicyResult></GetRolePolicyResponse>"),
        );
    }

    #[test]
    fn rules_a_queue_with_a_customer_key_needs_kms_rights_to_send_and_receive() {
        const KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const URL: &str = "http://127.0.0.1:1/123456789012/orders";
        let fake = Fake::default();
        let (r, _) = rules(&fake);
        fake.on_json("AmazonSQS.GetQueueAttributes", json!({"Attributes": {"KmsMasterKeyId": "alias/orders"}}))
            .on_json("TrentService.DescribeKey", json!({"KeyMetadata": {"Arn": KEY, "KeyManager": "CUSTOMER"}}));
        let session = |key: &str, role: &str| {
            let answer = format!("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>{key}</AccessKeyId></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/{role}/t</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>");
            let call = Call {
                service: "sts".into(),
                ..Call::iam("AssumeRole", &[("RoleArn", &format!("arn:aws:iam::123456789012:role/{role}"))])
            };
            r.after(&call, 200, &answer);
        };
        session("ASIAPRODUCER", "orders-producer");
        session("ASIACONSUMER", "orders-consumer");
        session("ASIABARE", "bare");
        let sqs_only = r#"{"Statement":[{"Effect":"Allow","Action":["sqs:SendMessage","sqs:ReceiveMessage"],"Resource":"*"}]}"#;
        role_policy(&fake, "bare", sqs_only);
        role_policy(
            &fake,
            "orders-producer",
            &format!(r#"{{"Statement":[{{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"{KEY}"}}]}}"#),
        );
        role_policy(
            &fake,
            "orders-consumer",
            &format!(r#"{{"Statement":[{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"{KEY}"}}]}}"#),
        );
        let send = Call::sqs("SendMessage", json!({"QueueUrl": URL, "MessageBody": "x"}));
        let receive = Call::sqs("ReceiveMessage", json!({"QueueUrl": URL}));

        // Without the rights: refused, naming the first action missing.
        let refusal = match r.before(&send.clone().by("ASIABARE")) {
            Verdict::Refuse(x) => x,
            v => panic!("{v:?}"),
        };
        assert_eq!((refusal.status, refusal.code.as_str()), (400, "KMS.AccessDeniedException"));
        assert!(
            refusal.message.contains("assumed-role/bare/t is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:"),
            "{}",
            refusal.message
        );
        let http = String::from_utf8(refusal.http()).unwrap();
        assert!(
            http.contains("x-amzn-query-error: KMS.AccessDeniedException;Sender") && http.contains("com.amazonaws.sqs#KmsAccessDenied"),
            "{http}"
        );
        assert!(refused(r.before(&receive.clone().by("ASIABARE"))).1.contains("kms:Decrypt"));
        // With them: the producer sends, the consumer receives; the consumer may not send.
        assert_eq!(r.before(&send.clone().by("ASIAPRODUCER")), Verdict::Forward);
        assert_eq!(r.before(&receive.clone().by("ASIACONSUMER")), Verdict::Forward);
        assert!(refused(r.before(&send.clone().by("ASIACONSUMER"))).1.contains("kms:GenerateDataKey"));
        // Callers not known as a role (the provider's own credentials) are not judged.
        assert_eq!(r.before(&send.clone().by("AKIDDEPLOYER")), Verdict::Forward);
        // The AWS-managed key and SSE-SQS need no rights.
        fake.on_json("AmazonSQS.GetQueueAttributes", json!({"Attributes": {"KmsMasterKeyId": "alias/aws/sqs"}}));
        assert_eq!(r.before(&send.clone().by("ASIABARE")), Verdict::Forward);
        fake.on_json("AmazonSQS.GetQueueAttributes", json!({"Attributes": {"SqsManagedSseEnabled": "true"}}));
        assert_eq!(r.before(&receive.clone().by("ASIABARE")), Verdict::Forward);
        // An AWS-managed key named by its id: KMS says who manages it.
        fake.on_json("AmazonSQS.GetQueueAttributes", json!({"Attributes": {"KmsMasterKeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}}))
            .on_json("TrentService.DescribeKey", json!({"KeyMetadata": {"Arn": KEY, "KeyManager": "AWS"}}));
        assert_eq!(r.before(&send.by("ASIABARE")), Verdict::Forward);
    }

    #[test]
    fn rules_a_new_group_is_not_found_by_id_for_a_moment() {
        let fake = Fake::default();
        let (r, time) = rules(&fake);
        r.after(
            &Call::ec2("CreateSecurityGroup", &[("GroupName", "g")]),
            200,
            "<CreateSecurityGroupResponse><groupId>sg-new</groupId></CreateSecurityGroupResponse>",
        );
        let describe = Call::ec2("DescribeSecurityGroups", &[("GroupId.1", "sg-new")]);
        let authorize = Call::ec2("AuthorizeSecurityGroupEgress", &[("GroupId", "sg-new")]);
        assert_eq!(refused(r.before(&describe)), pair("InvalidGroup.NotFound", "The security group 'sg-new' does not exist"));
        assert_eq!(refused(r.before(&authorize)).0, "InvalidGroup.NotFound");
        assert_eq!(r.before(&Call::ec2("DescribeSecurityGroups", &[("GroupId.1", "sg-old")])), Verdict::Forward);
        time.advance(r.durations.sg_consistency);
        assert_eq!(r.before(&describe), Verdict::Forward);
        assert_eq!(r.before(&authorize), Verdict::Forward);
    }

    #[test]
    fn rules_throttle_with_token_buckets() {
        let (clock, time) = Clock::manual();
        let mut d = Durations::ci();
        d.limits = Some(Limits {
            ec2_mutating: Bucket { size: 2.0, refill: 1.0 },
            ec2_describe: Bucket { size: 3.0, refill: 10.0 },
            lambda_control: Bucket { size: 1.0, refill: 1.0 },
            lambda_get_function: Bucket { size: 5.0, refill: 5.0 },
        });
        let r = Rules::new(d, clock, Box::new(Fake::default()));
        let tag = Call::ec2("CreateTags", &[]);
        let describe = Call::ec2("DescribeVpcs", &[]);
        assert_eq!(r.before(&tag), Verdict::Forward);
        assert_eq!(r.before(&tag), Verdict::Forward);
        assert_eq!(r.before(&tag).code(), Some("RequestLimitExceeded"));
        // Describe calls have their own buckets.
        for _ in 0..3 {
            assert_eq!(r.before(&describe), Verdict::Forward);
        }
        assert_eq!(r.before(&describe).code(), Some("RequestLimitExceeded"));
        time.advance(Duration::from_secs(1));
        assert_eq!(r.before(&tag), Verdict::Forward, "refilled one token");
        assert_eq!(r.before(&tag).code(), Some("RequestLimitExceeded"));
        let update = Call::lambda("PUT", "/2015-03-31/functions/f/configuration", json!({}));
        assert_eq!(r.before(&update), Verdict::Forward);
        let refusal = r.before(&update);
        assert_eq!(refusal.code(), Some("TooManyRequestsException"));
        let Verdict::Refuse(x) = refusal else { unreachable!() };
        assert_eq!(x.status, 429);
        assert_eq!(
            r.before(&Call::lambda("GET", "/2015-03-31/functions/f", Value::Null)),
            Verdict::Forward,
            "GetFunction has its own quota"
        );
    }

    #[test]
    fn rules_refuse_expired_and_unknown_keys_at_sts_and_iam() {
        let (r, _) = rules(&Fake::default());
        let who = Call::query("sts", "GetCallerIdentity", &[]);
        assert_eq!(r.before(&who.clone().by("ASIAOLD")), Verdict::Forward);
        r.expire_key("ASIAOLD");
        r.forget_key("AKIAGONE");
        let Verdict::Refuse(expired) = r.before(&who.clone().by("ASIAOLD")) else { panic!("an expired key is refused") };
        assert_eq!((expired.status, expired.code.as_str()), (400, "ExpiredToken"));
        assert_eq!(r.before(&Call::iam("GetRole", &[]).by("AKIAGONE")).code(), Some("InvalidClientTokenId"));
        assert_eq!(r.before(&who.by("AKIAOTHER")), Verdict::Forward, "other keys are not refused");
        let http = String::from_utf8(expired.http()).unwrap();
        assert!(http.starts_with("HTTP/1.1 400 Bad Request") && http.contains("<Code>ExpiredToken</Code>"), "{http}");
    }

    #[test]
    fn rules_parse_requests_of_each_protocol() {
        let auth = |s: &str| {
            format!("Authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/{s}/aws4_request, SignedHeaders=host, Signature=x")
        };
        let ec2 = Call::parse(
            &format!("POST / HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n{}\r\n\r\n", auth("ec2")),
            b"Action=CreateVpcEndpoint&SubnetId.2=subnet-b&SubnetId.1=subnet-a&DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint=false&Version=2016-11-15",
        );
        assert_eq!((ec2.service.as_str(), ec2.action.as_str()), ("ec2", "CreateVpcEndpoint"));
        assert_eq!(ec2.list("SubnetId"), ["subnet-a", "subnet-b"]);
        assert_eq!(ec2.param("DnsOptions.PrivateDnsOnlyForInboundResolverEndpoint"), Some("false"));
        let sqs = Call::parse(
            &format!(
                "POST / HTTP/1.1\r\nX-Amz-Target: AmazonSQS.CreateQueue\r\nContent-Type: application/x-amz-json-1.0\r\n{}\r\n\r\n",
                auth("sqs")
            ),
            br#"{"QueueName":"q"}"#,
        );
        assert_eq!((sqs.service.as_str(), sqs.action.as_str(), sqs.json_str("QueueName")), ("sqs", "CreateQueue", Some("q")));
        let lambda = Call::parse(
            &format!(
                "PUT /2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Afn/configuration?x=1 HTTP/1.1\r\n{}\r\n\r\n",
                auth("lambda")
            ),
            b"{}",
        );
        assert_eq!(lambda.lambda_op(), ("UpdateFunctionConfiguration", "fn".to_string()));
    }
}
