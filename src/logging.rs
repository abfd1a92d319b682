//! Logs on stderr as JSON lines in the hclog format that Terraform's plugin
//! client parses: `@level`, `@message`, `@timestamp` (Go layout
//! `2006-01-02T15:04:05.000000Z07:00`), `@module`, and any other key as a
//! field (`tf_rpc`, `tf_req_id`, `tf_resource_type` by convention).
//! Terraform then shows them under `TF_LOG` / `TF_LOG_PROVIDER`.
//!
//! Secrets never reach a line: every value registered with
//! [`redact`] is replaced before the line is written, whichever code
//! (ours or a dependency's) produced it.

use std::io::Write;
use std::sync::RwLock;

use serde_json::{Map, Value as J};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Never print `secret` in a log line again. Short values are not
/// registered: replacing every "a" would make logs unreadable and a
/// secret that short is not one.
pub fn redact(secret: &str) {
    if secret.len() < 6 {
        return;
    }
    let mut s = SECRETS.write().unwrap_or_else(|e| e.into_inner());
    if !s.iter().any(|x| x == secret) {
        s.push(secret.to_string());
    }
}

fn scrub(mut line: String) -> String {
    let s = SECRETS.read().unwrap_or_else(|e| e.into_inner());
    for secret in s.iter() {
        if line.contains(secret.as_str()) {
            line = line.replace(secret.as_str(), "[REDACTED]");
        }
    }
    line
}

/// The level Terraform asked for: `TF_LOG_PROVIDER`, else `TF_LOG`.
/// `JSON` is Terraform's spelling of TRACE with JSON output. Unset means
/// warnings and errors only.
pub fn level_from_env(provider: Option<&str>, global: Option<&str>) -> LevelFilter {
    let v = provider.filter(|s| !s.is_empty()).or(global.filter(|s| !s.is_empty()));
    match v.map(|s| s.trim().to_ascii_uppercase()).as_deref() {
        Some("TRACE") | Some("JSON") => LevelFilter::TRACE,
        Some("DEBUG") => LevelFilter::DEBUG,
        Some("INFO") => LevelFilter::INFO,
        Some("WARN") => LevelFilter::WARN,
        Some("ERROR") => LevelFilter::ERROR,
        Some("OFF") => LevelFilter::OFF,
        // Terraform treats any other value as TRACE.
        Some(_) => LevelFilter::TRACE,
        None => LevelFilter::WARN,
    }
}

/// Install the stderr JSON logger. Our own code logs at the requested
/// level; libraries (SDK, HTTP, TLS) at most INFO, because their request
/// dumps are noise to a Terraform user and may carry signed headers.
pub fn init() {
    let level = level_from_env(std::env::var("TF_LOG_PROVIDER").ok().as_deref(), std::env::var("TF_LOG").ok().as_deref());
    for var in ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"] {
        if let Ok(v) = std::env::var(var) {
            redact(&v);
        }
    }
    let deps = std::cmp::min(level, LevelFilter::INFO);
    let filter = Targets::new().with_target("privatelink", level).with_target("terraform_provider_privatelink", level).with_default(deps);
    let subscriber = tracing_subscriber::registry().with(JsonLines.with_filter(filter));
    let _ = tracing::subscriber::set_global_default(subscriber);
}

struct JsonLines;

#[derive(Default)]
struct Fields(Map<String, J>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), J::String(value.to_string()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_string(), J::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_string(), J::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_string(), J::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), J::String(format!("{value:?}")));
    }
}

impl<S> Layer<S> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, id: &tracing::span::Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }

    fn on_record(&self, id: &tracing::span::Id, values: &tracing::span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            if let Some(f) = ext.get_mut::<Fields>() {
                values.record(f);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<Fields>() {
                    fields.extend(f.0.clone());
                }
            }
        }
        let mut ev = Fields::default();
        event.record(&mut ev);
        let message = match ev.0.remove("message") {
            Some(J::String(s)) => s,
            Some(other) => other.to_string(),
            None => String::new(),
        };
        fields.extend(ev.0);
        let line = format_line(*event.metadata().level(), &message, module_of(event.metadata().target()), &timestamp_now(), fields);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", scrub(line));
    }
}

fn module_of(target: &str) -> String {
    match target.split("::").next() {
        Some("privatelink") | Some("terraform_provider_privatelink") => {
            let rest: Vec<&str> = target.split("::").skip(1).collect();
            if rest.is_empty() {
                "privatelink".to_string()
            } else {
                format!("privatelink.{}", rest.join("."))
            }
        }
        Some(dep) => format!("privatelink.dep.{dep}"),
        None => "privatelink".to_string(),
    }
}

fn hclog_level(l: Level) -> &'static str {
    match l {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Go's `2006-01-02T15:04:05.000000Z07:00` in UTC: exactly six fraction
/// digits (Go's parser insists) and a literal `Z`.
pub fn format_timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn timestamp_now() -> String {
    format_timestamp(time::OffsetDateTime::now_utc())
}

/// One log line. `@`-keys first, as hclog writes them.
pub fn format_line(level: Level, message: &str, module: String, timestamp: &str, fields: Map<String, J>) -> String {
    let mut m = Map::new();
    m.insert("@level".into(), J::String(hclog_level(level).into()));
    m.insert("@message".into(), J::String(message.to_string()));
    m.insert("@module".into(), J::String(module));
    m.insert("@timestamp".into(), J::String(timestamp.to_string()));
    for (k, v) in fields {
        if !k.starts_with('@') {
            m.insert(k, v);
        }
    }
    J::Object(m).to_string()
}

/// The span one provider RPC runs in: every log line inside it carries
/// `tf_rpc`, a fresh `tf_req_id` and `tf_resource_type` (empty when the
/// call is not about one resource or data source type).
pub fn span(rpc: &'static str, type_name: &str) -> tracing::Span {
    tracing::info_span!("rpc", tf_rpc = rpc, tf_req_id = %request_id(), tf_resource_type = type_name)
}

/// A request id for `tf_req_id`: unique within the process and across
/// restarts (time-seeded), without pulling in a UUID crate.
pub fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!("{:012x}-{:04x}-{:06x}", (t >> 16) as u64 & 0xffff_ffff_ffff, std::process::id() & 0xffff, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_has_go_microsecond_layout() {
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        assert_eq!(format_timestamp(t), "2023-11-14T22:13:20.123456Z");
    }

    #[test]
    fn line_is_hclog_json() {
        let mut f = Map::new();
        f.insert("tf_rpc".into(), J::String("ConfigureProvider".into()));
        f.insert("@level".into(), J::String("spoof".into()));
        let line = format_line(Level::DEBUG, "configured", "privatelink".into(), "2023-11-14T22:13:20.123456Z", f);
        let v: J = serde_json::from_str(&line).unwrap();
        assert_eq!(v["@level"], "debug");
        assert_eq!(v["@message"], "configured");
        assert_eq!(v["@module"], "privatelink");
        assert_eq!(v["tf_rpc"], "ConfigureProvider");
        assert!(line.starts_with(r#"{"@level":"debug","#));
    }

    #[test]
    fn level_prefers_provider_variable() {
        assert_eq!(level_from_env(Some("ERROR"), Some("TRACE")), LevelFilter::ERROR);
        assert_eq!(level_from_env(None, Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level_from_env(Some(""), Some("JSON")), LevelFilter::TRACE);
        assert_eq!(level_from_env(None, None), LevelFilter::WARN);
    }

    #[test]
    fn registered_secrets_are_scrubbed() {
        redact("wJalrXUtnFEMI/K7MDENG");
        redact("abc"); // too short to register
        let out = scrub("key=wJalrXUtnFEMI/K7MDENG abc".to_string());
        assert_eq!(out, "key=[REDACTED] abc");
    }

    #[test]
    fn modules_name_our_code_and_dependencies() {
        assert_eq!(module_of("privatelink::server"), "privatelink.server");
        assert_eq!(module_of("aws_smithy_runtime::client"), "privatelink.dep.aws_smithy_runtime");
    }
}
