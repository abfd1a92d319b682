//! Who the provider acts as: STS GetCallerIdentity. Also the credentials
//! check at configure, which is the same call with its failures told as
//! what they mean for the provider's credentials.

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::aws::call_failed;
use crate::credentials::{self, Refusal, Who};
use crate::diag::Diagnostic;

const CALL: &str = "sts:GetCallerIdentity";

/// The calling identity, as STS reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Caller {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

/// One GetCallerIdentity call.
pub async fn find(sts: &aws_sdk_sts::Client) -> Result<Caller, Diagnostic> {
    let out = sts.get_caller_identity().send().await.map_err(|e| call_failed("caller identity", CALL, &e))?;
    Ok(caller(&out))
}

fn caller(out: &aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput) -> Caller {
    Caller { account: out.account().map(str::to_string), arn: out.arn().map(str::to_string), user_id: out.user_id().map(str::to_string) }
}

/// What the credentials check needs to know of the provider block to name
/// the credentials in its messages.
#[derive(Debug, Clone, Default)]
pub struct CheckContext {
    /// The `profile` attribute.
    pub profile: Option<String>,
    /// Whether `access_key` and `secret_key` are set.
    pub static_keys: bool,
    /// The clients' credentials provider (`Aws::credentials`).
    pub credentials: Option<SharedCredentialsProvider>,
    /// The `endpoints.sts` override, if any.
    pub sts_endpoint: Option<String>,
}

/// How long the check may take, credential lookups (SSO, assume role,
/// instance metadata) and retries included: a host that accepts the
/// connection and never answers must not hang `terraform plan` at
/// configure, where Ctrl-C cannot cancel it.
pub const CHECK_LIMIT: std::time::Duration = std::time::Duration::from_secs(15);

/// The credentials check at configure: one GetCallerIdentity. No
/// credentials, credentials AWS refuses, an SSO login to renew or a role
/// that cannot be assumed come back as one diagnostic saying so in plain
/// words (the access key id and profile, never a secret); any other
/// failure as `call_failed` tells it (an unreachable host, throttling).
pub async fn check_credentials(sts: &aws_sdk_sts::Client, ctx: &CheckContext) -> Result<Caller, Diagnostic> {
    let err = match tokio::time::timeout(CHECK_LIMIT, sts.get_caller_identity().send()).await {
        Ok(Ok(out)) => return Ok(caller(&out)),
        Ok(Err(e)) => e,
        Err(_) => {
            let at = ctx.sts_endpoint.as_deref().map(|u| format!(" at {u}")).unwrap_or_default();
            return Err(Diagnostic::error(
                "credentials check: sts:GetCallerIdentity failed",
                format!(
                    "The credentials check (STS GetCallerIdentity{at}) did not finish within {}s: no answer came back, \
                     or the retries of failed attempts or the credential lookup itself (SSO, assume role, instance metadata) took longer. \
                     Usual causes: a proxy or firewall holding connections open, an `endpoints` override pointing at a service that is not STS, \
                     a credential source that hangs. skip_credentials_validation = true in the provider block turns the check off.",
                    CHECK_LIMIT.as_secs()
                ),
            ));
        }
    };
    let profile = credentials::profile_in_use(ctx.profile.as_deref());
    if let Some(refusal) = err.code().and_then(Refusal::of_code) {
        tracing::debug!(error = ?err, "the credentials check was refused");
        let who = who(ctx, &profile).await;
        return Err(credentials::refused(refusal, err.code().unwrap_or(""), err.message().unwrap_or(""), &who));
    }
    if err.code().is_none() {
        if let Some(problem) = credentials::problem_in(&err) {
            tracing::debug!(error = ?err, "no credentials for the credentials check");
            return Err(credentials::diagnostic(&problem, Some(&profile), CALL));
        }
    }
    Err(call_failed("credentials check", CALL, &err))
}

/// Whose credentials the clients sign with: asked of their credentials
/// provider again (only after AWS refused them, to name them).
async fn who(ctx: &CheckContext, profile: &str) -> Who {
    let found = match &ctx.credentials {
        Some(p) => p.provide_credentials().await.ok(),
        None => None,
    };
    match found {
        Some(creds) => Who::of(&creds, profile, ctx.static_keys),
        None => Who { profile: profile.to_string(), ..Who::default() },
    }
}
