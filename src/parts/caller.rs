//! Who the provider acts as: STS GetCallerIdentity.

use crate::aws::call_failed;
use crate::diag::Diagnostic;

/// The calling identity, as STS reports it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Caller {
    pub account: Option<String>,
    pub arn: Option<String>,
    pub user_id: Option<String>,
}

/// One GetCallerIdentity call.
pub async fn find(sts: &aws_sdk_sts::Client) -> Result<Caller, Diagnostic> {
    let out = sts.get_caller_identity().send().await.map_err(|e| call_failed("caller identity", "sts:GetCallerIdentity", &e))?;
    Ok(Caller {
        account: out.account().map(str::to_string),
        arn: out.arn().map(str::to_string),
        user_id: out.user_id().map(str::to_string),
    })
}
