//! Extra rights on the role the block makes for its function, so a user
//! needs no role of their own for one more permission: `policy_statements`
//! (IAM statements, a JSON list, written as the role's inline policy
//! `policy_statements` beside the composite's own) and `policy_arns`
//! (managed policies, attached exactly). Neither goes with `role_arn`: a
//! role the user brings is theirs to grant. Checked at validate, counted
//! in IAM's limits at plan, refreshed (only when set, so a pipeline
//! without them refreshes in as few calls as before) and imported.

use serde_json::Value;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Set, Val};
use crate::parts::role;
use crate::policy;

use super::FunctionBlock;

/// The name of the inline policy that holds `policy_statements`.
pub const STATEMENTS_POLICY: &str = "policy_statements";

/// IAM quotas, "Managed policies attached to an IAM role": 10 by default,
/// at most 20 once raised through Service Quotas (IAM User Guide, IAM and
/// AWS STS quotas; AWS re:Post "How do I increase the default managed
/// policy or character size limit for an IAM role or user?").
/// <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html>
pub const MANAGED_POLICIES_DEFAULT: usize = 10;
pub const MANAGED_POLICIES_MAX: usize = 20;

/// The keys a statement of an identity policy may have. `Principal` and
/// `NotPrincipal` belong to resource policies: IAM refuses them in a
/// role's permissions (MalformedPolicyDocument).
const STATEMENT_KEYS: [&str; 7] = ["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"];

/// Every mistake in the block's extra rights, each at its attribute.
pub fn validate(d: &mut Diagnostics, f: &FunctionBlock) {
    let own_role = f.role_arn.is_null();
    for (set, path, what) in [
        (!f.policy_statements.is_null(), &f.policy_statements.path, "policy_statements"),
        (!f.policy_arns.is_null(), &f.policy_arns.path, "policy_arns"),
    ] {
        if set && !f.role_arn.is_unknown() && !own_role {
            d.push(
                Diagnostic::error(
                    format!("{what} with role_arn"),
                    format!(
                        "{what} adds rights to the role the pipeline makes; with role_arn the function runs with your own role, so grant them there, or remove role_arn."
                    ),
                )
                .at(path.clone()),
            );
        }
    }
    if let Some(Err(e)) = f.policy_statements.str().map(parse_statements) {
        d.push(Diagnostic::error("Invalid policy_statements", e).at(f.policy_statements.path.clone()));
    }
    if let Some(set) = f.policy_arns.get() {
        for arn in set.known() {
            if !is_managed_policy_arn(arn) {
                d.push(
                    Diagnostic::error(
                        "Invalid managed policy ARN",
                        format!(
                            "{arn:?} is not an IAM managed policy ARN such as arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess or arn:aws:iam::123456789012:policy/reports-read."
                        ),
                    )
                    .at(f.policy_arns.path.clone()),
                );
            }
        }
        let n = set.len();
        if n > MANAGED_POLICIES_MAX {
            d.push(
                Diagnostic::error(
                    "Too many managed policies",
                    format!("{n} managed policies; IAM attaches at most {MANAGED_POLICIES_MAX} to a role, and {MANAGED_POLICIES_DEFAULT} unless the account's quota was raised."),
                )
                .at(f.policy_arns.path.clone()),
            );
        } else if n > MANAGED_POLICIES_DEFAULT {
            d.push(
                Diagnostic::warning(
                    "More managed policies than IAM's default quota",
                    format!("{n} managed policies; IAM attaches {MANAGED_POLICIES_DEFAULT} to a role unless the account's quota (\"Managed policies per role\", at most {MANAGED_POLICIES_MAX}) was raised, and refuses the rest with LimitExceeded."),
                )
                .at(f.policy_arns.path.clone()),
            );
        }
    }
}

/// `policy_statements` as IAM statements: a JSON list (one object is taken
/// as a list of one) of objects with `Effect` Allow or Deny, `Action` or
/// `NotAction` and `Resource` or `NotResource` (a string or a list of
/// strings), optionally `Sid` and `Condition`; no `Principal`.
pub fn parse_statements(json: &str) -> Result<Vec<Value>, String> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("not valid JSON: {e}; write it with jsonencode([{{ ... }}])."))?;
    let list = match v {
        Value::Array(list) => list,
        o @ Value::Object(_) => vec![o],
        other => return Err(format!("a JSON list of statements, not {other}.")),
    };
    if list.is_empty() {
        return Err("an empty list; leave policy_statements out instead.".into());
    }
    for (i, s) in list.iter().enumerate() {
        let n = i + 1;
        let Some(obj) = s.as_object() else { return Err(format!("statement {n} is not a JSON object.")) };
        if let Some(k) = obj.keys().find(|k| !STATEMENT_KEYS.contains(&k.as_str())) {
            let why = if k == "Principal" || k == "NotPrincipal" {
                "a role's permissions apply to the role itself, so IAM refuses a Principal in them"
            } else {
                "not an element of an IAM statement"
            };
            return Err(format!("statement {n}: {k:?} is {why}; use {}.", STATEMENT_KEYS.join(", ")));
        }
        match obj.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return Err(format!("statement {n}: \"Effect\" must be \"Allow\" or \"Deny\".")),
        }
        for (one, other) in [("Action", "NotAction"), ("Resource", "NotResource")] {
            let given: Vec<&str> = [one, other].into_iter().filter(|k| obj.contains_key(*k)).collect();
            if given.len() != 1 {
                return Err(format!("statement {n}: give exactly one of {one:?} and {other:?}."));
            }
            let v = &obj[given[0]];
            let ok = match v {
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty() && a.iter().all(|x| x.as_str().is_some_and(|s| !s.is_empty())),
                _ => false,
            };
            if !ok {
                return Err(format!("statement {n}: {:?} must be a string or a list of strings.", given[0]));
            }
        }
        if let Some(a) = obj.get("Action").or(obj.get("NotAction")) {
            let actions: Vec<&str> = match a {
                Value::String(s) => vec![s.as_str()],
                Value::Array(l) => l.iter().filter_map(Value::as_str).collect(),
                _ => vec![],
            };
            if let Some(bad) = actions.iter().find(|x| **x != "*" && !x.contains(':')) {
                return Err(format!("statement {n}: action {bad:?} is not service:Action, e.g. \"s3:GetObject\"."));
            }
        }
        if obj.get("Sid").is_some_and(|s| !s.as_str().is_some_and(|s| s.chars().all(|c| c.is_ascii_alphanumeric()))) {
            return Err(format!("statement {n}: \"Sid\" takes letters and digits only."));
        }
    }
    Ok(list)
}

/// The inline policy holding `statements`.
pub fn statements_document(statements: Vec<Value>) -> String {
    serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Whether `arn` names an IAM managed policy (AWS's or an account's).
pub fn is_managed_policy_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", partition, "iam", "", account, resource] => {
            partition.starts_with("aws")
                && (*account == "aws" || (account.len() == 12 && account.chars().all(|c| c.is_ascii_digit())))
                && resource.strip_prefix("policy/").is_some_and(|p| !p.is_empty() && !p.ends_with('/'))
        }
        _ => false,
    }
}

/// What a refresh reads of the role's extra rights: `None` for what it
/// did not look at.
#[derive(Debug, Clone, Default)]
pub struct RoleExtras {
    /// The `policy_statements` inline policy (`Some(None)`: there is none).
    pub statements: Option<Option<String>>,
    /// The managed policies attached.
    pub arns: Option<Vec<String>>,
}

/// The role's extra rights as IAM has them, read only where the state has
/// them set (or unknown, as an import leaves them: look): one
/// GetRolePolicy and one ListAttachedRolePolicies at most.
pub async fn observe(ctx: &Ctx, role_name: String, own_role: bool, b: &FunctionBlock) -> Result<RoleExtras, Diagnostic> {
    let mut x = RoleExtras::default();
    if !own_role {
        return Ok(x);
    }
    if !b.policy_statements.is_null() {
        x.statements = Some(role::inline_policy(&ctx.aws.iam, &role_name, STATEMENTS_POLICY).await?);
    }
    if !b.policy_arns.is_null() {
        x.arns = Some(role::managed_policies(&ctx.aws.iam, &role_name).await?.unwrap_or_default());
    }
    Ok(x)
}

/// The block with the extra rights as read: statements equal in meaning to
/// what the state holds keep its text; others (changed by hand) show as
/// IAM has them, so the next plan puts them back.
pub fn observed(b: &mut FunctionBlock, x: &RoleExtras) {
    if let Some(found) = &x.statements {
        let now = found.as_deref().and_then(|doc| serde_json::from_str::<Value>(doc).ok()).map(|v| match &v["Statement"] {
            Value::Array(l) => l.clone(),
            s @ Value::Object(_) => vec![s.clone()],
            _ => vec![],
        });
        let same = match (b.policy_statements.str().and_then(|s| parse_statements(s).ok()), &now) {
            (Some(had), Some(now)) => policy::equivalent(&statements_document(had), &statements_document(now.clone())),
            _ => false,
        };
        if !same {
            b.policy_statements.set(Val::from_option(now.filter(|l| !l.is_empty()).map(|l| Value::Array(l).to_string())));
        }
    }
    if let Some(arns) = &x.arns {
        let keep_null = arns.is_empty() && (b.policy_arns.is_null() || b.policy_arns.is_unknown());
        b.policy_arns.set(if keep_null { Val::Null } else { Val::Known(Set::of(arns)) });
    }
}

/// The statements' share of the role's inline policies at `path`, against
/// IAM's 10,240 characters for all of them together (`own`: the
/// composite's own documents, in characters as IAM counts them).
pub fn check_policy_size(d: &mut Diagnostics, statements: &str, own: usize, path: &Path) {
    let Ok(list) = parse_statements(statements) else { return };
    let extra = policy::policy_size(&statements_document(list));
    if own + extra > policy::ROLE_INLINE_POLICY_CHARS {
        d.push(
            Diagnostic::error(
                "Role policy too large",
                format!(
                    "policy_statements take {extra} characters and the pipeline's own policy about {own}; IAM allows {} for all of a role's inline policies together (whitespace not counted). Attach a managed policy with policy_arns instead.",
                    policy::ROLE_INLINE_POLICY_CHARS
                ),
            )
            .at(path.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_are_iam_identity_statements() {
        let ok = r#"[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::bucket/*"},
                     {"Sid":"NoDelete","Effect":"Deny","NotAction":"s3:Get*","NotResource":["arn:aws:s3:::other/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}]"#;
        assert_eq!(parse_statements(ok).unwrap().len(), 2);
        assert_eq!(parse_statements(r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#).unwrap().len(), 1);
        for (bad, says) in [
            ("nope", "not valid JSON"),
            ("[]", "empty list"),
            ("3", "a JSON list"),
            (r#"[1]"#, "statement 1 is not a JSON object"),
            (r#"[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]"#, "refuses a Principal"),
            (r#"[{"Effect":"allow","Action":"s3:*","Resource":"*"}]"#, "\"Allow\" or \"Deny\""),
            (r#"[{"Effect":"Allow","Resource":"*"}]"#, "exactly one of \"Action\""),
            (r#"[{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*","Resource":"*"}]"#, "exactly one of \"Action\""),
            (r#"[{"Effect":"Allow","Action":"s3:*"}]"#, "exactly one of \"Resource\""),
            (r#"[{"Effect":"Allow","Action":[],"Resource":"*"}]"#, "a string or a list of strings"),
            (r#"[{"Effect":"Allow","Action":"GetObject","Resource":"*"}]"#, "service:Action"),
            (r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*","Sid":"no spaces"}]"#, "letters and digits"),
            (r#"[{"Effect":"Allow","Action":"s3:*","Resource":"*","Actions":"x"}]"#, "not an element"),
        ] {
            let e = parse_statements(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn managed_policy_arns_are_iams() {
        assert!(is_managed_policy_arn("arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"));
        assert!(is_managed_policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"));
        assert!(is_managed_policy_arn("arn:aws-cn:iam::123456789012:policy/team/reports-read"));
        for bad in [
            "AWSXRayDaemonWriteAccess",
            "arn:aws:iam::aws:role/x",
            "arn:aws:iam::1234:policy/x",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::aws:policy/",
        ] {
            assert!(!is_managed_policy_arn(bad), "{bad}");
        }
    }

    #[test]
    fn the_size_check_counts_both_documents() {
        let mut d = Diagnostics::default();
        let one = r#"[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*"}]"#;
        check_policy_size(&mut d, one, 1000, &Path::attr("producer").then("policy_statements"));
        assert!(d.0.is_empty());
        check_policy_size(&mut d, one, policy::ROLE_INLINE_POLICY_CHARS - 50, &Path::attr("producer").then("policy_statements"));
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("10240"), "{}", d.0[0].detail);
    }

    #[test]
    fn refresh_keeps_equal_statements_and_shows_changed_ones() {
        let mut b = FunctionBlock::default();
        let written = r#"[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]"#;
        b.policy_statements.set_known(written.into());
        let same = r#"{"Version":"2012-10-17","Statement":[{"Resource":"arn:aws:s3:::b/*","Action":"s3:GetObject","Effect":"Allow"}]}"#;
        observed(&mut b, &RoleExtras { statements: Some(Some(same.into())), arns: None });
        assert_eq!(b.policy_statements.str(), Some(written));
        let changed = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        observed(&mut b, &RoleExtras { statements: Some(Some(changed.into())), arns: None });
        assert_eq!(parse_statements(b.policy_statements.str().unwrap()).unwrap()[0]["Action"], "s3:*");
        observed(&mut b, &RoleExtras { statements: Some(None), arns: Some(vec![]) });
        assert!(b.policy_statements.is_null() && b.policy_arns.is_null());
    }
}
