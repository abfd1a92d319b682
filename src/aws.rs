//! The shared AWS context: built once at ConfigureProvider from the
//! provider block, then handed to every resource and data source.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_types::region::Region;

use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Attr, Map, Model};
use crate::validate;
use crate::value::Value;
use crate::{credentials, dispatch};

/// The services whose endpoints can be overridden (for an emulator).
pub const SERVICES: [&str; 7] = ["ec2", "sqs", "lambda", "iam", "sts", "logs", "kms"];

/// Default for `max_retries`: enough to ride out API throttling on a busy
/// account without hanging an apply for long.
pub const DEFAULT_MAX_RETRIES: u32 = 10;

/// The provider block, parsed. `Debug` is written by hand so that a
/// secret can never be printed through it.
#[derive(Clone, Default, PartialEq)]
pub struct ProviderConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
    pub max_retries: Option<u32>,
    /// No STS GetCallerIdentity at configure (`skip_credentials_validation`).
    pub skip_credentials_validation: bool,
    pub assume_role: Option<AssumeRole>,
    pub endpoints: BTreeMap<String, String>,
    pub default_tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AssumeRole {
    pub role_arn: String,
    pub session_name: Option<String>,
    pub external_id: Option<String>,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "(set)" } else { "(unset)" };
        f.debug_struct("ProviderConfig")
            .field("region", &self.region)
            .field("profile", &self.profile)
            .field("access_key", &set(&self.access_key))
            .field("secret_key", &set(&self.secret_key))
            .field("token", &set(&self.token))
            .field("max_retries", &self.max_retries)
            .field("skip_credentials_validation", &self.skip_credentials_validation)
            .field("assume_role", &self.assume_role)
            .field("endpoints", &self.endpoints)
            .field("default_tags", &self.default_tags)
            .finish()
    }
}

/// The assume_role block's role ARN and session name.
fn validate_assume_role(diags: &mut Diagnostics, ar: &AssumeRoleBlock) {
    if let Some(Err(e)) = ar.role_arn.str().map(validate::role_arn) {
        diags.push(Diagnostic::error("Invalid role ARN", e).at(ar.role_arn.path.clone()));
    }
    if let Some(s) = ar.session_name.str() {
        let ok = (2..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c));
        if !ok {
            diags.push(
                Diagnostic::error("Invalid session_name", format!("{s:?}: 2 to 64 characters of letters, digits and =,.@-_"))
                    .at(ar.session_name.path.clone()),
            );
        }
    }
}

crate::model! {
    /// The provider block as Terraform sends it.
    pub struct ProviderBlock {
        region: Attr<String>,
        profile: Attr<String>,
        access_key: Attr<String>,
        secret_key: Attr<String>,
        token: Attr<String>,
        max_retries: Attr<f64>,
        skip_credentials_validation: Attr<bool>,
        assume_role: AssumeRoleBlock,
        endpoints: EndpointsBlock,
        default_tags: DefaultTagsBlock,
    }
}

crate::model! {
    pub struct AssumeRoleBlock {
        role_arn: Attr<String>,
        session_name: Attr<String>,
        external_id: Attr<String>,
    }
}

crate::model! {
    /// One endpoint URL per service of `SERVICES`.
    pub struct EndpointsBlock {
        ec2: Attr<String>,
        sqs: Attr<String>,
        lambda: Attr<String>,
        iam: Attr<String>,
        sts: Attr<String>,
        logs: Attr<String>,
        kms: Attr<String>,
    }
}

crate::model! {
    pub struct DefaultTagsBlock {
        tags: Attr<Map<String>>,
    }
}

impl EndpointsBlock {
    /// Each service's attribute, in `SERVICES`' order.
    fn by_service(&self) -> [(&'static str, &Attr<String>); 7] {
        [
            ("ec2", &self.ec2),
            ("sqs", &self.sqs),
            ("lambda", &self.lambda),
            ("iam", &self.iam),
            ("sts", &self.sts),
            ("logs", &self.logs),
            ("kms", &self.kms),
        ]
    }
}

impl ProviderConfig {
    /// Check the provider block. Unknown values (not known until apply)
    /// are skipped here and checked again at configure, when they are known.
    pub fn validate(config: &Value) -> Diagnostics {
        let c = ProviderBlock::decode(config);
        let mut diags = Diagnostics::default();
        if let Some(Err(e)) = c.region.str().map(validate::region) {
            diags.push(Diagnostic::error("Invalid region", e).at(c.region.path.clone()));
        }
        let (ak, sk) = (&c.access_key, &c.secret_key);
        if !ak.is_unknown() && !sk.is_unknown() && ak.is_null() != sk.is_null() {
            let (missing, given) = if ak.is_null() { (ak, sk) } else { (sk, ak) };
            let (missing_name, given_name) = (missing.path.to_string(), given.path.to_string());
            diags.push(
                Diagnostic::error(
                    "Incomplete static credentials",
                    format!("{given_name} is set but {missing_name} is not: set both, or neither to use the AWS credential chain (environment, profile, SSO, web identity, instance metadata)."),
                )
                .at(missing.path.clone()),
            );
        }
        if c.token.str().is_some() && ak.is_null() {
            diags.push(
                Diagnostic::error("token without access_key", "A session token is only used together with access_key and secret_key.")
                    .at(c.token.path.clone()),
            );
        }
        if let Some(n) = c.max_retries.number().filter(|n| !(0.0..=100.0).contains(n) || n.fract() != 0.0) {
            diags.push(
                Diagnostic::error("Invalid max_retries", format!("{n} is not a whole number from 0 to 100."))
                    .at(c.max_retries.path.clone()),
            );
        }
        validate_assume_role(&mut diags, &c.assume_role);
        for (_, url) in c.endpoints.by_service() {
            if let Some(Err(e)) = url.str().map(validate::endpoint_url) {
                diags.push(Diagnostic::error("Invalid endpoint URL", e).at(url.path.clone()));
            }
        }
        let tags = &c.default_tags.tags;
        for (k, v) in tags.get().map(|m| m.0.iter().collect::<Vec<_>>()).unwrap_or_default() {
            if let Err(e) = validate::tag(k, v.known().map(String::as_str).unwrap_or("")) {
                diags.push(Diagnostic::error("Invalid default tag", e).at(tags.path.key(k)));
            }
        }
        diags
    }

    /// Parse a validated, wholly known provider block.
    pub fn from_value(config: &Value) -> Result<ProviderConfig, Diagnostics> {
        let diags = Self::validate(config);
        if diags.has_errors() {
            return Err(diags);
        }
        if !config.is_wholly_known() {
            return Err(Diagnostic::error(
                "Provider configuration not known",
                "Some provider arguments depend on values known only after apply. Give them values known at plan time (variables or literals).",
            )
            .into());
        }
        let c = ProviderBlock::decode(config);
        let ar = &c.assume_role;
        let assume_role = ar.role_arn.owned().map(|role_arn| AssumeRole {
            role_arn,
            session_name: ar.session_name.owned(),
            external_id: ar.external_id.owned(),
        });
        let endpoints = c.endpoints.by_service().iter().filter_map(|(s, u)| Some((s.to_string(), u.owned()?))).collect();
        Ok(ProviderConfig {
            region: c.region.owned(),
            profile: c.profile.owned(),
            access_key: c.access_key.owned(),
            secret_key: c.secret_key.owned(),
            token: c.token.owned(),
            max_retries: c.max_retries.number().map(|n| n as u32),
            skip_credentials_validation: c.skip_credentials_validation.bool().unwrap_or(false),
            assume_role,
            endpoints,
            default_tags: c.default_tags.tags.entries(),
        })
    }
}

/// SDK clients and settings every resource shares.
#[derive(Clone, Debug)]
pub struct Aws {
    pub region: String,
    pub default_tags: BTreeMap<String, String>,
    pub ec2: aws_sdk_ec2::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub kms: aws_sdk_kms::Client,
    /// Where the clients' credentials come from (the chain, the provider
    /// block's keys or the assumed role), to name them in a message.
    pub credentials: Option<SharedCredentialsProvider>,
}

impl Aws {
    /// Build the clients: region and credentials through the standard
    /// chain unless given, then the optional role to assume.
    pub async fn connect(cfg: &ProviderConfig) -> Result<Aws, Diagnostic> {
        for secret in [&cfg.access_key, &cfg.secret_key, &cfg.token].into_iter().flatten() {
            crate::logging::redact(secret);
        }
        let attempts = cfg.max_retries.unwrap_or(DEFAULT_MAX_RETRIES) + 1;
        let retry = RetryConfig::standard().with_max_attempts(attempts).with_max_backoff(Duration::from_secs(20));
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry);
        if let Some(r) = &cfg.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(p) = &cfg.profile {
            loader = loader.profile_name(p);
        }
        if let (Some(ak), Some(sk)) = (&cfg.access_key, &cfg.secret_key) {
            loader = loader.credentials_provider(Credentials::new(ak, sk, cfg.token.clone(), None, "provider-block"));
        }
        let mut base = loader.load().await;
        let region = match base.region() {
            Some(r) => r.to_string(),
            None => {
                return Err(Diagnostic::error(
                    "No AWS region",
                    "Set region in the provider block, or AWS_REGION in the environment, or a region in the shared config profile.",
                )
                .at(Path::attr("region")))
            }
        };
        if let Some(ar) = &cfg.assume_role {
            let mut sts_base = base.to_builder();
            if let Some(u) = cfg.endpoints.get("sts") {
                sts_base = sts_base.endpoint_url(u);
            }
            let mut b = AssumeRoleProvider::builder(&ar.role_arn)
                .session_name(ar.session_name.clone().unwrap_or_else(|| "terraform-provider-privatelink".into()))
                .configure(&sts_base.build());
            if let Some(x) = &ar.external_id {
                b = b.external_id(x);
            }
            let provider = b.build().await;
            base = base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
        }
        let ep = |s: &str| cfg.endpoints.get(s).cloned();
        macro_rules! client {
            ($krate:ident, $svc:literal) => {{
                // Every attempt is counted (src/calls.rs) for the DEBUG log's
                // critical-path figures; an attempt that got no answer is
                // named, and not repeated when it cannot succeed
                // (src/dispatch.rs).
                let mut b = $krate::config::Builder::from(&base)
                    .interceptor(crate::calls::CountCalls)
                    .interceptor(crate::dispatch::NameFailures)
                    .retry_classifier(crate::dispatch::NoHopelessRetries);
                if let Some(u) = ep($svc) {
                    b = b.endpoint_url(u);
                }
                $krate::Client::from_conf(b.build())
            }};
        }
        Ok(Aws {
            region,
            default_tags: cfg.default_tags.clone(),
            ec2: client!(aws_sdk_ec2, "ec2"),
            sqs: client!(aws_sdk_sqs, "sqs"),
            lambda: client!(aws_sdk_lambda, "lambda"),
            iam: client!(aws_sdk_iam, "iam"),
            sts: client!(aws_sdk_sts, "sts"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            kms: client!(aws_sdk_kms, "kms"),
            credentials: base.credentials_provider(),
        })
    }
}

/// An AWS call that failed, as a diagnostic naming the part and the call,
/// written for a person: AWS's error code and message when AWS answered;
/// the host tried, what failed and the usual causes when it did not
/// (`dispatch`); the credentials problem when the call could not be signed
/// (`credentials`). The SDK's whole error goes to the DEBUG log only.
pub fn call_failed<E>(part: &str, call: &str, err: &E) -> Diagnostic
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::debug!(part, call, error = ?err, "AWS call failed");
    let summary = format!("{part}: {call} failed");
    let detail = match (err.code(), err.message()) {
        (Some(code), msg) => {
            let answered = match msg {
                Some(msg) => format!("{call} answered {code}: {msg}"),
                None => format!("{call} answered {code}"),
            };
            match credentials::Refusal::of_code(code) {
                Some(r) => format!("{answered}\n\nAWS refused the provider's credentials. {}", r.fix()),
                None => answered,
            }
        }
        _ => return not_answered(summary, call, err),
    };
    Diagnostic { aws_code: err.code().map(str::to_string), ..Diagnostic::error(summary, detail) }
}

/// `call_failed` for a call AWS did not answer: not reached, not signed
/// (no credentials), no answer in time.
fn not_answered(summary: String, call: &str, err: &(dyn std::error::Error + 'static)) -> Diagnostic {
    if let Some(u) = dispatch::unreachable_in(err) {
        let tries = if u.attempt == 1 { "1 attempt".to_string() } else { format!("{} attempts", u.attempt) };
        return Diagnostic::error(
            summary,
            format!("{call} could not reach {}: {} ({tries}).\n\n{}", u.host, u.cause.what(), u.cause.usual_causes()),
        );
    }
    if let Some(problem) = credentials::problem_in(err) {
        return credentials::diagnostic(&problem, None, call);
    }
    // A connection failure `dispatch::NameFailures` did not name (it names
    // those of the provider's clients): the cause, without the host.
    if let Some(c) = dispatch::chain(err).find_map(|e| e.downcast_ref::<ConnectorError>()) {
        let cause = dispatch::cause_of(c, c.is_timeout());
        return Diagnostic::error(summary, format!("{call} got no answer from AWS: {}.\n\n{}", cause.what(), cause.usual_causes()));
    }
    let top = err.to_string();
    let detail = if top == "request has timed out" {
        format!("{call} got no answer within the operation's time limit.")
    } else if top == "response error" {
        format!("{call} got an answer that could not be read ({}). An `endpoints` override may point at something that is not this AWS service.", dispatch::words(err))
    } else {
        format!("{call} failed: {}", dispatch::words(err))
    };
    Diagnostic::error(summary, detail)
}

/// Whether a `call_failed` diagnostic is AWS refusing the call for lack
/// of permission: EC2 UnauthorizedOperation, IAM/STS AccessDenied, Lambda
/// AccessDeniedException.
pub fn is_access_denied(d: &Diagnostic) -> bool {
    d.aws_code.as_deref().is_some_and(|code| ["UnauthorizedOperation", "AccessDenied", "AccessDeniedException"].contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(fields: Vec<(&str, Value)>) -> Value {
        Value::object(fields)
    }

    #[test]
    fn access_denied_is_told_apart_from_other_failures() {
        use aws_smithy_types::error::ErrorMetadata;
        let answered = |code: &str| {
            let err = ErrorMetadata::builder().code(code).message("as AWS words it").build();
            call_failed("network ACL", "ec2:DescribeNetworkAcls", &err)
        };
        for code in ["UnauthorizedOperation", "AccessDenied", "AccessDeniedException"] {
            assert!(is_access_denied(&answered(code)), "{code}");
        }
        assert!(!is_access_denied(&answered("RequestLimitExceeded")));
        // The code decides, not the words of the detail.
        assert!(!is_access_denied(&Diagnostic::error("x", "ec2:DescribeVpcs answered AccessDenied: ...")));
    }

    /// Rust debug formatting, which no diagnostic may show (the tests'
    /// driver checks every diagnostic for the same marks).
    const DEBUG_MARKS: [&str; 4] = ["{ source:", "DispatchFailure(", "Some(", "kind:"];

    fn for_people(d: &Diagnostic) {
        for text in [&d.summary, &d.detail] {
            assert!(!DEBUG_MARKS.iter().any(|m| text.contains(m)), "debug formatting in {d:?}");
        }
    }

    type Failed = aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >;

    fn response(status: u16) -> aws_smithy_runtime_api::client::orchestrator::HttpResponse {
        aws_smithy_runtime_api::http::Response::new(status.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty())
    }

    /// Each kind of failure `call_failed` meets, told in words for a
    /// person: what AWS answered, which host could not be reached and why,
    /// the credentials missing, no answer in time, an answer not understood.
    #[test]
    fn every_kind_of_failure_is_told_in_words() {
        use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;
        use aws_smithy_runtime_api::client::result::ConnectorError;
        use aws_smithy_types::error::ErrorMetadata;
        let call = "sts:GetCallerIdentity";
        let told = |err: Failed| {
            let d = call_failed("caller identity", call, &err);
            for_people(&d);
            d
        };
        let answered = |code: &str| {
            let meta = ErrorMetadata::builder().code(code).message("as AWS words it").build();
            Failed::service_error(GetCallerIdentityError::generic(meta), response(400))
        };
        let d = told(answered("Throttling"));
        assert_eq!(
            (d.summary.as_str(), d.detail.as_str()),
            ("caller identity: sts:GetCallerIdentity failed", "sts:GetCallerIdentity answered Throttling: as AWS words it")
        );
        let d = told(answered("ExpiredToken"));
        assert!(d.detail.contains("ExpiredToken") && d.detail.contains("refused the provider's credentials"), "{d:?}");
        for (cause, says) in [
            (dispatch::Cause::Dns("Name or service not known".into()), "did not resolve"),
            (dispatch::Cause::Refused, "refused"),
            (dispatch::Cause::ConnectTimeout, "connect timeout"),
            (dispatch::Cause::Tls("received corrupt message".into()), "TLS handshake failed"),
            (dispatch::Cause::Broken("connection closed before message completed".into()), "broke"),
        ] {
            let unreachable = dispatch::Unreachable { host: "sts.example.invalid".into(), attempt: 2, cause };
            let d = told(Failed::dispatch_failure(ConnectorError::io(Box::new(unreachable))));
            assert!(d.detail.contains("sts.example.invalid") && d.detail.contains(says) && d.detail.contains("2 attempts"), "{d:?}");
            assert!(d.detail.contains("Usual causes"), "{d:?}");
        }
        let no_credentials = aws_credential_types::provider::error::CredentialsError::not_loaded("no credentials in the chain");
        let d = told(Failed::dispatch_failure(ConnectorError::other(Box::new(no_credentials), None)));
        assert_eq!(d.summary, "No AWS credentials found");
        assert!(d.detail.contains("sts:GetCallerIdentity was not sent") && d.detail.contains("AWS_ACCESS_KEY_ID"), "{d:?}");
        let d = told(Failed::timeout_error("operation timeout (all attempts including retries) occurred after 1s"));
        assert!(d.detail.contains("no answer"), "{d:?}");
        let d = told(Failed::response_error("invalid XML", response(200)));
        assert!(d.detail.contains("could not be read") && d.detail.contains("invalid XML"), "{d:?}");
        let d = told(Failed::construction_failure("missing field `RoleArn`"));
        assert!(d.detail.contains("missing field `RoleArn`"), "{d:?}");
        // A connector error the interceptor did not name (it names every
        // one the clients make): still no debug form.
        let raw = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        let d = told(Failed::dispatch_failure(ConnectorError::io(Box::new(raw))));
        assert!(d.detail.contains("connection reset by peer") && d.detail.contains("no answer from AWS"), "{d:?}");
    }

    #[test]
    fn debug_never_prints_secrets() {
        let c = ProviderConfig { secret_key: Some("SECRETVALUE123".into()), ..Default::default() };
        assert!(!format!("{c:?}").contains("SECRETVALUE123"));
    }

    #[test]
    fn validation_names_attribute_paths() {
        let v = cfg(vec![
            ("region", Value::string("mars-1")),
            ("access_key", Value::string("AKIA")),
            ("assume_role", Value::object([("role_arn", Value::string("admin"))])),
            ("endpoints", Value::object([("sqs", Value::string("localhost:5000"))])),
            ("max_retries", Value::Number(-1.0)),
        ]);
        let d = ProviderConfig::validate(&v);
        let paths: Vec<String> = d.0.iter().map(|d| d.path.clone().unwrap().to_string()).collect();
        assert_eq!(paths, vec!["region", "secret_key", "max_retries", "assume_role.role_arn", "endpoints.sqs"]);
    }

    #[test]
    fn unknown_values_wait_for_configure() {
        let v = cfg(vec![("region", Value::Unknown), ("access_key", Value::Unknown)]);
        assert!(!ProviderConfig::validate(&v).has_errors());
        assert!(ProviderConfig::from_value(&v).is_err());
    }

    #[test]
    fn parses_nested_blocks() {
        let v = cfg(vec![
            ("region", Value::string("eu-west-1")),
            ("endpoints", Value::object([("sqs", Value::string("http://127.0.0.1:5000")), ("ec2", Value::Null)])),
            ("default_tags", Value::object([("tags", Value::Map([("team".into(), Value::string("core"))].into()))])),
            ("assume_role", Value::object([("role_arn", Value::string("arn:aws:iam::123456789012:role/x"))])),
        ]);
        let c = ProviderConfig::from_value(&v).unwrap();
        assert_eq!(c.endpoints.len(), 1);
        assert_eq!(c.default_tags["team"], "core");
        assert_eq!(c.assume_role.unwrap().role_arn, "arn:aws:iam::123456789012:role/x");
    }
}
