//! KMS keys, read only: what a configured key id, key ARN, alias name or
//! alias ARN stands for (DescribeKey), so a role can be granted rights on
//! the key's ARN, the only form IAM matches a KMS key by. The provider never
//! makes or changes keys.

use super::{has_code, PartResult};
use crate::aws::call_failed;

const PART: &str = "kms key";

/// DescribeKey of a key or alias that does not exist (or that the caller
/// may not see, which KMS answers the same way across accounts).
const MISSING: [&str; 2] = ["NotFoundException", "NotFound"];

/// A key as DescribeKey answers it.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub arn: String,
    /// `CUSTOMER` or `AWS` (AWS-managed: its key policy is AWS's).
    pub manager: String,
    /// `Enabled`, `Disabled`, `PendingDeletion`...
    pub state: String,
    /// `SYMMETRIC_DEFAULT` for a symmetric encryption key.
    pub spec: String,
}

impl Key {
    pub fn customer_managed(&self) -> bool {
        !self.manager.eq_ignore_ascii_case("AWS")
    }
}

/// Whether `id` names an AWS-managed key by its alias (`alias/aws/sqs`,
/// or an alias ARN ending so): such keys' policies are AWS's and already let
/// every principal of the account use them through their service, so they
/// need no IAM rights and no lookup.
pub fn is_aws_managed_alias(id: &str) -> bool {
    let alias = match id.strip_prefix("arn:") {
        Some(_) => id.split_once(":alias/").map(|(_, a)| a),
        None => id.strip_prefix("alias/"),
    };
    alias.is_some_and(|a| a.starts_with("aws/"))
}

/// What a KMS key reference must look like: a key id (a UUID, or a
/// multi-Region `mrk-` id), a key ARN, an alias name (`alias/...`) or an
/// alias ARN. The error says what is valid.
pub fn check_reference(id: &str) -> Result<(), String> {
    let valid_id = |k: &str| {
        let hex = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        (k.len() == 36 && hex(k)) || k.strip_prefix("mrk-").is_some_and(|rest| rest.len() == 32 && hex(rest))
    };
    let valid_alias = |a: &str| {
        a.strip_prefix("alias/")
            .is_some_and(|n| !n.is_empty() && n.len() <= 250 && n.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c)))
    };
    let ok = if let Some(rest) = id.strip_prefix("arn:") {
        // arn:PARTITION:kms:REGION:ACCOUNT:key/ID | alias/NAME
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        match parts.as_slice() {
            [_, "kms", region, account, resource] if !region.is_empty() && account.len() == 12 => {
                resource.strip_prefix("key/").is_some_and(valid_id) || valid_alias(resource)
            }
            _ => false,
        }
    } else {
        valid_id(id) || valid_alias(id)
    };
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} is not a KMS key reference: give a key id (1234abcd-12ab-34cd-56ef-1234567890ab), a key ARN, an alias (alias/orders) or an alias ARN."
        ))
    }
}

/// DescribeKey; `None` when no such key or alias exists.
pub async fn describe(kms: &aws_sdk_kms::Client, id: &str) -> PartResult<Option<Key>> {
    match kms.describe_key().key_id(id).send().await {
        Ok(out) => {
            let Some(m) = out.key_metadata() else { return Ok(None) };
            Ok(Some(Key {
                arn: m.arn().unwrap_or_default().to_string(),
                manager: m.key_manager().map(|k| k.as_str().to_string()).unwrap_or_default(),
                state: m.key_state().map(|s| s.as_str().to_string()).unwrap_or_default(),
                spec: m.key_spec().map(|s| s.as_str().to_string()).unwrap_or_default(),
            }))
        }
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "kms:DescribeKey", &e)),
    }
    .inspect(|k| tracing::debug!(key = %id, found = ?k.as_ref().map(|k| &k.arn), "kms key described"))
}

/// Why a described key cannot encrypt a queue, if it cannot: SQS uses only
/// symmetric encryption keys, and a key that is not enabled fails every
/// SendMessage (KMS.DisabledException, KMS.InvalidStateException).
pub fn unusable_for_sqs(key: &Key) -> Option<String> {
    if !key.state.is_empty() && key.state != "Enabled" {
        return Some(format!("{} is {}; SQS needs an enabled key.", key.arn, key.state));
    }
    if !key.spec.is_empty() && key.spec != "SYMMETRIC_DEFAULT" {
        return Some(format!("{} is a {} key; SQS encrypts only with symmetric encryption keys (SYMMETRIC_DEFAULT).", key.arn, key.spec));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_managed_aliases_are_known_without_a_call() {
        assert!(is_aws_managed_alias("alias/aws/sqs"));
        assert!(is_aws_managed_alias("arn:aws:kms:us-east-1:123456789012:alias/aws/sqs"));
        assert!(!is_aws_managed_alias("alias/orders"));
        assert!(!is_aws_managed_alias("alias/awsome"));
        assert!(!is_aws_managed_alias("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(!is_aws_managed_alias("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"));
    }

    #[test]
    fn key_references_take_every_form_kms_does() {
        for ok in [
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            "alias/orders",
            "alias/aws/sqs",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-cn:kms:cn-north-1:123456789012:alias/orders-queue",
        ] {
            assert_eq!(check_reference(ok), Ok(()), "{ok}");
        }
        for bad in
            ["", "orders", "alias/", "alias/has space", "arn:aws:kms:us-east-1:1234:key/x", "arn:aws:sqs:us-east-1:123456789012:q", "1234"]
        {
            let e = check_reference(bad).unwrap_err();
            assert!(e.contains("alias/orders"), "{e}");
        }
    }

    #[test]
    fn only_enabled_symmetric_keys_serve_sqs() {
        let key = |state: &str, spec: &str| Key { arn: "arn:k".into(), manager: "CUSTOMER".into(), state: state.into(), spec: spec.into() };
        assert_eq!(unusable_for_sqs(&key("Enabled", "SYMMETRIC_DEFAULT")), None);
        assert!(unusable_for_sqs(&key("PendingDeletion", "SYMMETRIC_DEFAULT")).unwrap().contains("PendingDeletion"));
        assert!(unusable_for_sqs(&key("Enabled", "RSA_2048")).unwrap().contains("symmetric"));
        assert!(key("Enabled", "").customer_managed());
        assert!(!Key { manager: "AWS".into(), ..key("Enabled", "") }.customer_managed());
    }
}
