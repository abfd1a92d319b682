//! AWS calls that got no answer: which host was tried, what failed (the
//! name did not resolve, nothing listened, no connection in time, TLS was
//! refused, the connection broke), the usual causes, and whether another
//! attempt in this run can help.
//!
//! The SDK reports these as a dispatch failure whose source chain ends in
//! hyper's and the OS's errors, without the host. Every client carries
//! `NameFailures`: it notes the host of each attempt, and when an attempt
//! fails before AWS answered, it logs the SDK's whole error at DEBUG and
//! puts an `Unreachable` (host, attempt, cause) in its place, of the same
//! kind, so the SDK's own retry rules see no difference. `NoHopelessRetries`
//! then stops the retries that cannot succeed in this run: a name that does
//! not resolve, a port where nothing listens and a TLS handshake refused
//! fail the same way every time (the SDK retried them for about a minute);
//! a connect timeout is tried once more. Throttling, 5xx answers and broken
//! connections are retried as before (`max_retries`).

use std::error::Error;
use std::fmt;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::interceptors::context::{BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextMut};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction, RetryClassifierPriority};
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};

/// What failed before AWS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// The host name did not resolve; the resolver's words.
    Dns(String),
    /// Nothing accepted the connection (connection refused).
    Refused,
    /// No connection within the connect timeout.
    ConnectTimeout,
    /// The TLS handshake failed; the TLS library's words.
    Tls(String),
    /// The connection broke, or timed out, before a whole answer came.
    Broken(String),
}

impl Cause {
    /// Whether another attempt in this run can succeed: not when the name
    /// does not resolve, nothing listens, or TLS was refused; a connect
    /// timeout gets one more attempt (a lost packet); a broken connection
    /// is left to the SDK's rules.
    fn worth_another_attempt(&self, attempt: u32) -> bool {
        match self {
            Cause::Dns(_) | Cause::Refused | Cause::Tls(_) => false,
            Cause::ConnectTimeout => attempt < 2,
            Cause::Broken(_) => true,
        }
    }

    /// What failed, in a few words: "the name did not resolve (...)".
    pub fn what(&self) -> String {
        match self {
            Cause::Dns(why) => format!("its name did not resolve (DNS: {why})"),
            Cause::Refused => "the connection was refused: nothing listens there".into(),
            Cause::ConnectTimeout => "no connection could be made in time (connect timeout)".into(),
            Cause::Tls(why) => format!("the TLS handshake failed ({why})"),
            Cause::Broken(why) => format!("the connection broke before AWS answered ({why})"),
        }
    }

    /// The usual reasons, for the user to check.
    pub fn usual_causes(&self) -> &'static str {
        match self {
            Cause::Dns(_) => {
                "Usual causes: no network or no DNS where Terraform runs; a proxy that must be set (HTTPS_PROXY); \
                 a VPC without a VPC endpoint for this service and without a NAT gateway; a mistyped endpoint in the provider's `endpoints` block; \
                 a region that does not exist."
            }
            Cause::Refused => {
                "Usual causes: an `endpoints` override pointing at an emulator that is not running or at the wrong port; \
                 a proxy (HTTPS_PROXY) that is down."
            }
            Cause::ConnectTimeout => {
                "Usual causes: a firewall or security group dropping outbound HTTPS; a private subnet with neither a NAT gateway nor a VPC endpoint \
                 for this service; a proxy that must be set (HTTPS_PROXY); a wrong address in the provider's `endpoints` block."
            }
            Cause::Tls(_) => {
                "Usual causes: an `endpoints` override with https:// on a port that speaks plain http:// (emulators usually do); \
                 a proxy or firewall that intercepts TLS with a certificate the system does not trust."
            }
            Cause::Broken(_) => "Usual causes: an unstable network, a proxy closing connections, an overloaded emulator. Try again.",
        }
    }
}

/// The error an attempt that got no answer carries instead of the SDK's:
/// the host tried, the attempt's number and what failed. The SDK's own
/// error went to the DEBUG log when this was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    /// `host` or `host:port` (the port when not the scheme's default).
    pub host: String,
    pub attempt: u32,
    pub cause: Cause,
}

impl fmt::Display for Unreachable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "could not reach {}: {}", self.host, self.cause.what())
    }
}

impl Error for Unreachable {}

/// The `Unreachable` in an error's chain, if any.
pub fn unreachable_in<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a Unreachable> {
    chain(err).find_map(|e| e.downcast_ref::<Unreachable>())
}

/// `err` and its sources, outermost first. An `io::Error` wrapping another
/// error hides it from `source()` (it answers the inner one's source), so
/// the wrapped one is visited too.
pub fn chain<'a>(err: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut stack = vec![err];
    let mut seen = 0;
    std::iter::from_fn(move || {
        let e = stack.pop()?;
        seen += 1;
        if seen > 64 {
            return None;
        }
        if let Some(next) = e.source() {
            stack.push(next);
        }
        if let Some(inner) = e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            stack.push(inner);
        }
        Some(e)
    })
}

/// The errors' own words along the chain, joined by ": ", repeats left
/// out: for a person, never the debug form.
pub fn words(err: &(dyn Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let s = e.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// What failed, from a connector error's chain (hyper's, the OS's and the
/// TLS library's errors).
pub fn cause_of(err: &(dyn Error + 'static), timed_out: bool) -> Cause {
    let all: Vec<&(dyn Error + 'static)> = chain(err).collect();
    // hyper-util's connector names the failing step in its error's text
    // ("dns error", "tcp connect error"); the resolver's words follow.
    if let Some(i) = all.iter().position(|e| e.to_string() == "dns error" || e.is::<aws_smithy_runtime_api::client::dns::ResolveDnsError>())
    {
        let why = all.get(i + 1).map(|e| e.to_string()).unwrap_or_else(|| "no answer".into());
        return Cause::Dns(why);
    }
    if all.iter().any(|e| e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)) {
        return Cause::Refused;
    }
    if let Some(tls) = all.iter().find_map(|e| e.downcast_ref::<rustls::Error>()) {
        return Cause::Tls(tls.to_string());
    }
    let text = words(err);
    if timed_out && text.contains("connect timeout") {
        return Cause::ConnectTimeout;
    }
    Cause::Broken(text)
}

/// The host of a request URI: `host`, or `host:port` when a port is given.
fn host_of(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => uri.to_string(),
        },
        Err(_) => uri.to_string(),
    }
}

/// The host the current attempt was sent to, kept in the attempt's bag.
#[derive(Debug, Clone)]
struct TriedHost(String);

impl Storable for TriedHost {
    type Storer = StoreReplace<Self>;
}

/// The SDK interceptor naming failures to reach AWS (module doc).
#[derive(Debug, Default, Clone, Copy)]
pub struct NameFailures;

impl Intercept for NameFailures {
    fn name(&self) -> &'static str {
        "NameFailures"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        cfg.interceptor_state().store_put(TriedHost(host_of(context.request().uri())));
        Ok(())
    }

    fn modify_before_attempt_completion(
        &self,
        context: &mut FinalizerInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(host) = cfg.load::<TriedHost>().map(|h| h.0.clone()) else { return Ok(()) };
        let attempt = cfg.load::<RequestAttempts>().map(|a| a.attempts()).unwrap_or(1);
        let Some(Err(err)) = context.output_or_error_mut() else { return Ok(()) };
        let Some(connector) = err.as_connector_error() else { return Ok(()) };
        if connector.source().is_some_and(|s| s.is::<Unreachable>()) {
            return Ok(());
        }
        let cause = cause_of(connector, connector.is_timeout());
        tracing::debug!(host = %host, attempt, cause = ?cause, error = ?err, "AWS call got no answer");
        let named: BoxError = Box::new(Unreachable { host, attempt, cause });
        // The same kind as the SDK's error: its retry rules decide as before.
        let replacement = if connector.is_timeout() {
            ConnectorError::timeout(named)
        } else if connector.is_io() {
            ConnectorError::io(named)
        } else if connector.is_user() {
            ConnectorError::user(named)
        } else {
            ConnectorError::other(named, connector.as_other())
        };
        *err = OrchestratorError::connector(replacement);
        Ok(())
    }
}

/// The retry classifier that forbids retries which cannot succeed in this
/// run (`Cause::worth_another_attempt`); it says nothing about any other
/// error, which the SDK's classifiers decide.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHopelessRetries;

impl ClassifyRetry for NoHopelessRetries {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(err)) = ctx.output_or_error() else { return RetryAction::NoActionIndicated };
        match err.as_connector_error().and_then(|c| c.source()).and_then(|s| s.downcast_ref::<Unreachable>()) {
            Some(u) if !u.cause.worth_another_attempt(u.attempt) => RetryAction::RetryForbidden,
            _ => RetryAction::NoActionIndicated,
        }
    }

    fn name(&self) -> &'static str {
        "NoHopelessRetries"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Named(&'static str, Option<Box<dyn Error + Send + Sync>>);
    impl fmt::Display for Named {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl Error for Named {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    fn named(text: &'static str, source: impl Error + Send + Sync + 'static) -> Named {
        Named(text, Some(Box::new(source)))
    }

    #[test]
    fn causes_are_told_apart_along_the_chain() {
        let dns = named(
            "client error (Connect)",
            named("dns error", std::io::Error::other("failed to lookup address information: Name or service not known")),
        );
        assert_eq!(cause_of(&dns, false), Cause::Dns("failed to lookup address information: Name or service not known".into()));
        let refused =
            named("client error (Connect)", named("tcp connect error", std::io::Error::from(std::io::ErrorKind::ConnectionRefused)));
        assert_eq!(cause_of(&refused, false), Cause::Refused);
        // rustls' error sits inside an io::Error, which hides it from source().
        let tls = named(
            "client error (Connect)",
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            ),
        );
        assert!(matches!(cause_of(&tls, false), Cause::Tls(w) if w.contains("UnknownIssuer") || w.contains("unknown issuer")));
        let timeout = named("HTTP connect timeout occurred after 3.1s", Named("timed out", None));
        assert_eq!(cause_of(&timeout, true), Cause::ConnectTimeout);
        let reset = named("connection closed before message completed", Named("", None));
        assert!(matches!(cause_of(&reset, false), Cause::Broken(_)));
    }

    #[test]
    fn hopeless_failures_are_not_tried_again() {
        for c in [Cause::Dns("x".into()), Cause::Refused, Cause::Tls("x".into())] {
            assert!(!c.worth_another_attempt(1), "{c:?}");
        }
        assert!(Cause::ConnectTimeout.worth_another_attempt(1));
        assert!(!Cause::ConnectTimeout.worth_another_attempt(2));
        assert!(Cause::Broken("reset".into()).worth_another_attempt(5));
    }

    #[test]
    fn the_host_keeps_a_port_only_when_given() {
        assert_eq!(host_of("https://sts.us-east-1.amazonaws.com/"), "sts.us-east-1.amazonaws.com");
        assert_eq!(host_of("http://127.0.0.1:5000/2015-03-31/functions"), "127.0.0.1:5000");
    }

    #[test]
    fn words_are_display_text_only() {
        let e = named("client error (Connect)", named("tcp connect error", std::io::Error::from(std::io::ErrorKind::ConnectionRefused)));
        let w = words(&e);
        assert!(w.starts_with("client error (Connect): tcp connect error: "), "{w}");
        assert!(!w.contains("Os {") && !w.contains("kind:"), "{w}");
    }
}
