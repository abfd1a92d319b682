//! The provider's AWS credentials as a person must hear about them: none
//! found (each place of the credential chain, what it held and how to
//! supply it), an SSO session to renew, keys AWS refuses (expired, unknown,
//! a secret that does not match), a role that cannot be assumed. Messages
//! name the access key id and the profile, never a secret.

use std::error::Error;

use aws_config::meta::ProviderChainError;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::Credentials;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::diag::Diagnostic;
use crate::dispatch::{self, Cause};

/// Whose credentials a call was made with, for messages.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Who {
    /// The access key id (an id, not a secret).
    pub key_id: Option<String>,
    /// Where the keys came from, e.g. "the environment variables
    /// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".
    pub source: Option<String>,
    /// The profile of the shared files in use: `profile`, AWS_PROFILE or
    /// "default".
    pub profile: String,
}

impl Who {
    /// Where credentials came from, by the features the SDK marks them with.
    pub fn of(creds: &Credentials, profile: &str, from_provider_block: bool) -> Who {
        use AwsCredentialFeature as F;
        let features = creds.get_property::<Vec<AwsCredentialFeature>>().cloned().unwrap_or_default();
        let has = |f: F| features.contains(&f);
        let source = if has(F::CredentialsStsAssumeRole) {
            Some("the session of the role in assume_role".to_string())
        } else if from_provider_block {
            Some("access_key and secret_key in the provider block".to_string())
        } else if has(F::CredentialsProfileSso) || has(F::CredentialsSso) {
            Some(format!("the SSO login of profile {profile:?}"))
        } else if has(F::CredentialsEnvVarsStsWebIdToken) || has(F::CredentialsProfileStsWebIdToken) {
            Some("the web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".to_string())
        } else if has(F::CredentialsEnvVars) {
            Some("the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".to_string())
        } else if has(F::CredentialsProfileProcess) || has(F::CredentialsProcess) {
            Some(format!("the credential_process of profile {profile:?}"))
        } else if has(F::CredentialsProfile) {
            Some(format!("profile {profile:?} of the shared credentials files"))
        } else if has(F::CredentialsHttp) {
            Some("the container credentials endpoint (ECS)".to_string())
        } else if has(F::CredentialsImds) {
            Some("the EC2 instance role (instance metadata)".to_string())
        } else {
            None
        };
        Who { key_id: Some(creds.access_key_id().to_string()), source, profile: profile.to_string() }
    }

    fn named(&self) -> String {
        match (&self.key_id, &self.source) {
            (Some(k), Some(s)) => format!("access key id {k} (from {s})"),
            (Some(k), None) => format!("access key id {k}"),
            (None, _) => format!("the credentials of profile {:?}", self.profile),
        }
    }
}

/// The profile the shared files are read with: the provider block's,
/// else AWS_PROFILE, else "default".
pub fn profile_in_use(configured: Option<&str>) -> String {
    configured
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()))
        .unwrap_or_else(|| "default".into())
}

/// AWS refusing the credentials a call was signed with, by error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// ExpiredToken: temporary credentials past their end.
    Expired,
    /// InvalidClientTokenId: AWS knows no such access key.
    UnknownKey,
    /// SignatureDoesNotMatch: the secret does not belong to the key (or
    /// the clock is far off).
    WrongSecret,
}

impl Refusal {
    pub fn of_code(code: &str) -> Option<Refusal> {
        match code {
            "ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" => Some(Refusal::Expired),
            "InvalidClientTokenId" | "UnrecognizedClientException" | "AuthFailure" | "InvalidAccessKeyId" => Some(Refusal::UnknownKey),
            "SignatureDoesNotMatch" | "InvalidSignatureException" => Some(Refusal::WrongSecret),
            _ => None,
        }
    }

    /// What to do about it, for any call's diagnostic.
    pub fn fix(self) -> &'static str {
        match self {
            Refusal::Expired => {
                "Temporary credentials (a session token, an SSO login, an assumed role) last hours at most: get fresh ones \
                 (`aws sso login --profile NAME` for SSO, or run again whatever exported AWS_SESSION_TOKEN) and run Terraform again."
            }
            Refusal::UnknownKey => {
                "AWS knows no such access key: it was deleted or deactivated, is mistyped, belongs to another partition \
                 (China, GovCloud), or a session token that belongs to it is missing (AWS_SESSION_TOKEN, `token`). \
                 Check the key with `aws sts get-caller-identity` using the same profile or environment."
            }
            Refusal::WrongSecret => {
                "The secret access key does not belong to this access key id (a mistyped or rotated secret), or the local clock \
                 is more than 5 minutes off. Check the secret, and the clock (`date -u`)."
            }
        }
    }
}

/// A refusal of the credentials at configure: the key and where it came
/// from, in plain words.
pub fn refused(refusal: Refusal, code: &str, message: &str, who: &Who) -> Diagnostic {
    let (summary, what) = match refusal {
        Refusal::Expired => ("AWS credentials expired", "have expired"),
        Refusal::UnknownKey => ("AWS access key not recognized", "are not recognized by AWS"),
        Refusal::WrongSecret => ("AWS secret key does not match", "were refused: the request's signature does not match"),
    };
    let said = if message.is_empty() { code.to_string() } else { format!("{code}: {message}") };
    Diagnostic {
        aws_code: Some(code.to_string()),
        ..Diagnostic::error(
            summary,
            format!(
                "The credentials of {} {what} (STS GetCallerIdentity answered {said}).\n\n{}\n\n{}",
                who.named(),
                refusal.fix(),
                CHECK_NOTE
            ),
        )
    }
}

const CHECK_NOTE: &str =
    "The provider checks its credentials once, when it is configured. skip_credentials_validation = true in the provider block turns the check off (for an emulator that has no STS).";

/// Where the SDK's credential chain looks, in its order: the chain's name
/// for the place, what the place is, and how to supply credentials there.
const PLACES: &[(&str, &str, &str)] = &[
    (
        "Environment",
        "Environment variables",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary keys)",
    ),
    (
        "Profile",
        "Shared config and credentials files (~/.aws/config and ~/.aws/credentials, or AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE)",
        "add keys to the profile (`aws configure --profile NAME`), or an SSO login (`aws configure sso`, then `aws sso login --profile NAME`), \
         or role_arn with source_profile, or credential_process; then choose the profile with `profile` in the provider block or AWS_PROFILE",
    ),
    (
        "WebIdentityToken",
        "Web identity token (EKS service accounts, CI OIDC)",
        "set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN",
    ),
    (
        "EcsContainer",
        "ECS container credentials",
        "run in an ECS task with a task role (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI)",
    ),
    (
        "Ec2InstanceMetadata",
        "EC2 instance role (instance metadata service)",
        "run on an EC2 instance with an instance profile (a role) attached",
    ),
];

/// A credentials problem found along an error's chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// No place of the chain held credentials: each place's name and what
    /// it said (empty when the chain's places are not known).
    Missing(Vec<(String, String)>),
    /// The SSO login of a profile expired or was never made.
    Sso(String),
    /// STS refused AssumeRole: its code and message.
    AssumeRole { code: String, message: String },
    /// Any other failure to get credentials, in the SDK's words.
    Other(String),
}

/// The credentials problem in `err`'s chain, if any.
pub fn problem_in(err: &(dyn Error + 'static)) -> Option<Problem> {
    let all: Vec<&(dyn Error + 'static)> = dispatch::chain(err).collect();
    if let Some(c) = all.iter().find_map(|e| e.downcast_ref::<ProviderChainError<CredentialsError>>()) {
        return Some(Problem::Missing(c.attempts().iter().map(|a| (a.name().to_string(), place_said(a.name(), a.error()))).collect()));
    }
    let words = dispatch::words(err);
    if words.contains("SSO token") || words.contains("cached SSO") {
        return Some(Problem::Sso(words));
    }
    type AssumeRoleFailed = aws_sdk_sts::error::SdkError<
        aws_sdk_sts::operation::assume_role::AssumeRoleError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >;
    if let Some(e) = all.iter().find_map(|e| e.downcast_ref::<AssumeRoleFailed>()) {
        if let Some(code) = e.code() {
            return Some(Problem::AssumeRole { code: code.to_string(), message: e.message().unwrap_or("").to_string() });
        }
    }
    let credentials = all.iter().find(|e| e.is::<CredentialsError>())?;
    Some(match credentials.downcast_ref::<CredentialsError>() {
        Some(CredentialsError::CredentialsNotLoaded(_)) => Problem::Missing(vec![]),
        _ => Problem::Other(dispatch::words(*credentials)),
    })
}

/// What one place of the chain said, in plain words.
fn place_said(name: &str, err: &CredentialsError) -> String {
    let words = dispatch::words(err);
    let words = words.trim_start_matches("the credential provider was not enabled").trim_start_matches(": ").to_string();
    if name == "Ec2InstanceMetadata" {
        let endpoint = std::env::var("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|_| "http://169.254.169.254".into());
        if std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
            return "turned off (AWS_EC2_METADATA_DISABLED=true)".into();
        }
        return match dispatch::cause_of(err, words.contains("timeout")) {
            Cause::Broken(_) if words.is_empty() => format!("no role from {endpoint}"),
            Cause::Broken(_) => format!("no role from {endpoint}: {words}"),
            cause => format!("no instance metadata service at {endpoint}: {}", cause.what()),
        };
    }
    if words.is_empty() {
        "nothing found".into()
    } else {
        words
    }
}

/// The diagnostic for a credentials problem; `call` names the call that
/// could not be made without them. `profile`: the profile in use
/// (`profile_in_use`) when the caller knows it.
pub fn diagnostic(problem: &Problem, profile: Option<&str>, call: &str) -> Diagnostic {
    const ANY_PROFILE: &str = "the profile in use (`profile` in the provider block, else AWS_PROFILE, else \"default\")";
    let named = profile.map(|p| format!("profile {p:?}")).unwrap_or_else(|| ANY_PROFILE.to_string());
    match problem {
        Problem::Missing(said) => {
            let mut lines = vec![format!(
                "{call} was not sent: the provider found no AWS credentials. It looked in these places, in this order:"
            )];
            for (i, (name, place, how)) in PLACES.iter().enumerate() {
                let status = said.iter().find(|(n, _)| n == name).map(|(_, s)| format!(" Here: {s}.")).unwrap_or_default();
                let place = if *name == "Profile" {
                    format!("{place}, {named}")
                } else {
                    place.to_string()
                };
                lines.push(format!("{}. {place}: {how}.{status}", i + 1));
            }
            lines.push(
                "Supply credentials in any one of these places, or set access_key and secret_key in the provider block (keep secrets out of configuration files where you can). \
                 See https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html"
                    .into(),
            );
            Diagnostic::error("No AWS credentials found", lines.join("\n"))
        }
        Problem::Sso(words) => Diagnostic::error(
            "AWS SSO session expired",
            format!(
                "{call} was not sent: {named} signs in through AWS IAM Identity Center (SSO), and its session has expired or was never started ({words}). \
                 Run `aws sso login --profile {}` and run Terraform again.",
                profile.unwrap_or("NAME")
            ),
        ),
        Problem::AssumeRole { code, message } => Diagnostic {
            aws_code: Some(code.clone()),
            ..Diagnostic::error(
                "Could not assume the role in assume_role",
                format!(
                    "{call} was not sent: STS answered AssumeRole with {code}: {message}. The credentials found must be allowed sts:AssumeRole on the role, \
                     and the role's trust policy must name them (and the external_id, if it asks for one)."
                ),
            )
        },
        Problem::Other(words) => Diagnostic::error(
            "Could not get AWS credentials",
            format!("{call} was not sent: the credential chain failed ({words}). It read {named}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_names_the_key_and_never_the_secret() {
        let who = Who {
            key_id: Some("ASIAEXAMPLEKEY".into()),
            source: Some("the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into()),
            profile: "default".into(),
        };
        for (code, want) in
            [("ExpiredToken", "expired"), ("InvalidClientTokenId", "not recognized"), ("SignatureDoesNotMatch", "does not match")]
        {
            let r = Refusal::of_code(code).unwrap();
            let d = refused(r, code, "The security token included in the request is invalid.", &who);
            assert!(d.summary.contains(want), "{d:?}");
            assert!(d.detail.contains("ASIAEXAMPLEKEY") && d.detail.contains("AWS_ACCESS_KEY_ID"), "{d:?}");
            assert_eq!(d.aws_code.as_deref(), Some(code));
        }
        assert_eq!(Refusal::of_code("AccessDenied"), None);
    }

    #[test]
    fn the_source_of_credentials_is_named_by_their_features() {
        let with = |features: Vec<AwsCredentialFeature>| {
            let mut c = Credentials::new("AKIAEXAMPLE", "secret-not-shown", None, None, "test");
            c.set_property(features);
            c
        };
        let env = Who::of(&with(vec![AwsCredentialFeature::CredentialsEnvVars]), "default", false);
        assert_eq!(env.key_id.as_deref(), Some("AKIAEXAMPLE"));
        assert!(env.source.as_deref().unwrap().contains("AWS_ACCESS_KEY_ID"));
        let sso = Who::of(&with(vec![AwsCredentialFeature::CredentialsProfile, AwsCredentialFeature::CredentialsProfileSso]), "dev", false);
        assert_eq!(sso.source.as_deref(), Some("the SSO login of profile \"dev\""));
        // Keys of the provider block used to assume a role: the key refused is the role session's.
        let assumed = Who::of(&with(vec![AwsCredentialFeature::CredentialsStsAssumeRole]), "default", true);
        assert!(assumed.source.unwrap().contains("assume_role"));
        let block = Who::of(&with(vec![]), "default", true);
        assert!(block.source.as_deref().unwrap().contains("provider block"));
        assert!(!format!("{env:?}{block:?}").contains("secret-not-shown"));
    }

    #[test]
    fn the_missing_credentials_diagnostic_names_every_place_and_its_fix() {
        let said = vec![("Environment".to_string(), "environment variable not set".to_string())];
        let d = diagnostic(&Problem::Missing(said.clone()), Some("dev"), "sts:GetCallerIdentity");
        assert_eq!(d.summary, "No AWS credentials found");
        for needle in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "profile \"dev\"",
            "AWS_PROFILE",
            "aws sso login",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "ECS",
            "instance",
            "Here: environment variable not set.",
        ] {
            assert!(d.detail.contains(needle), "{needle}: {}", d.detail);
        }
        assert!(d.path.is_none(), "on the provider block, not an attribute");
        // A call that does not know the profile in use does not guess it.
        let d = diagnostic(&Problem::Missing(said), None, "ec2:DescribeSubnets");
        assert!(d.detail.contains("the profile in use (`profile`") && !d.detail.contains("profile \"default\":"), "{}", d.detail);
        let d = diagnostic(&Problem::Sso("the SSO token has expired".into()), None, "ec2:DescribeSubnets");
        assert!(d.detail.contains("aws sso login --profile NAME"), "{}", d.detail);
    }

    #[test]
    fn a_chain_error_is_read_place_by_place() {
        let err = CredentialsError::not_loaded("no credentials found in chain");
        assert_eq!(problem_in(&err), Some(Problem::Missing(vec![])));
        let err = CredentialsError::provider_error("the SSO token has expired and cannot be refreshed");
        assert!(matches!(problem_in(&err), Some(Problem::Sso(_))));
        let err = CredentialsError::invalid_configuration("profile `x` has no region");
        assert!(matches!(problem_in(&err), Some(Problem::Other(w)) if w.contains("profile `x`")));
        assert_eq!(problem_in(&std::io::Error::other("unrelated")), None);
    }
}
