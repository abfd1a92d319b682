//! IAM roles for a composite's functions: a trust policy, inline policies
//! (written by the composite), the managed policies the spec names
//! (exactly those: one attached by hand is detached by the next update, and
//! reported meanwhile so a composite can show the drift), and tags. Every
//! managed policy is detached on delete.
//!
//! A role is named: CreateRole of an existing name answers
//! EntityAlreadyExists, and `create` then adopts that role and brings it to
//! the spec, so a create whose answer was lost is never duplicated.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_iam::types::Tag;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::tags::{self, Tags};
use super::wait::{self, Poll};
use super::{has_code, PartResult};
use crate::aws::call_failed;
use crate::diag::Diagnostic;
use crate::policy;

const PART: &str = "iam role";

const MISSING: [&str; 1] = ["NoSuchEntity"];
const NAME_TAKEN: [&str; 1] = ["EntityAlreadyExists"];
/// DeleteRole while something still hangs on the role (a policy attached
/// meanwhile, an instance profile).
const IN_USE: [&str; 1] = ["DeleteConflict"];

/// IAM is eventually consistent: a new role may not show in GetRole at
/// once (terraform-provider-aws allows 2 minutes for it).
const PROPAGATION: Duration = Duration::from_secs(120);
/// How long DeleteRole is retried while AWS answers DeleteConflict.
const DELETE_CONFLICT_WAIT: Duration = Duration::from_secs(60);

/// What a composite asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    /// JSON: who may assume the role.
    pub trust_policy: String,
    /// Policy name -> JSON document: exactly the role's inline policies.
    pub inline_policies: BTreeMap<String, String>,
    /// Exactly the managed policies attached to the role.
    pub managed_policy_arns: BTreeSet<String>,
    /// All tags to put on the role (user tags + ownership).
    pub tags: Tags,
}

/// A role as observed; policy documents decoded to plain JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub trust_policy: String,
    pub inline_policies: BTreeMap<String, String>,
    pub managed_policy_arns: Vec<String>,
    pub tags: Tags,
}

/// CreateRole (trust policy and tags), then the inline policies. A role of
/// that name that already exists is adopted: brought to the spec.
pub async fn create(iam: &aws_sdk_iam::Client, spec: &RoleSpec) -> PartResult<Role> {
    let answer = iam
        .create_role()
        .role_name(&spec.name)
        .assume_role_policy_document(&spec.trust_policy)
        .set_tags(non_empty(to_iam(&spec.tags)?))
        .send()
        .await;
    match answer {
        Ok(_) => {}
        Err(e) if has_code(&e, &NAME_TAKEN) => {}
        Err(e) => return Err(call_failed(PART, "iam:CreateRole", &e)),
    }
    // New or adopted, the role is brought to the spec the same way: for a
    // new one that is one PutRolePolicy per inline policy.
    let current = wait_visible(iam, &spec.name).await?;
    update(iam, &current, spec).await?;
    find(iam, &spec.name).await?.ok_or_else(|| vanished(&spec.name))
}

/// GetRole only: the role's ARN, `None` when it does not exist. For
/// refreshes and for recording what exists; `find` reads the policies.
pub async fn arn_of(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<Option<String>> {
    Ok(get_role(iam, name).await?.map(|r| r.arn().to_string()))
}

/// GetRole; `None` when the role does not exist.
async fn get_role(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<Option<aws_sdk_iam::types::Role>> {
    match iam.get_role().role_name(name).send().await {
        Ok(out) => match out.role() {
            Some(role) => Ok(Some(role.clone())),
            None => Err(Diagnostic::error(
                format!("{PART}: iam:GetRole answered no role"),
                format!("AWS's answer for role {name:?} carried no Role."),
            )),
        },
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "iam:GetRole", &e)),
    }
}

/// GetRole + its inline policies, attached policies and tags; `None` when
/// the role does not exist (or goes away while being read).
pub async fn find(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<Option<Role>> {
    let Some(role) = get_role(iam, name).await? else { return Ok(None) };
    let Some(inline_policies) = inline_policies(iam, name).await? else { return Ok(None) };
    let Some(managed_policy_arns) = attached_policy_arns(iam, name).await? else { return Ok(None) };
    let Some(tags) = role_tags(iam, name).await? else { return Ok(None) };
    Ok(Some(Role {
        name: role.role_name().to_string(),
        arn: role.arn().to_string(),
        trust_policy: decode_policy_document(role.assume_role_policy_document().unwrap_or_default()),
        inline_policies,
        managed_policy_arns,
        tags,
    }))
}

/// The role named `spec.name` brought to `spec`, found by its name (IAM
/// names are unique per account, so a create whose answer was lost is
/// found again) and updated, else created; returns its ARN.
pub async fn ensure(iam: &aws_sdk_iam::Client, spec: &RoleSpec) -> PartResult<String> {
    match find(iam, &spec.name).await? {
        Some(current) => {
            update(iam, &current, spec).await?;
            Ok(current.arn)
        }
        None => Ok(create(iam, spec).await?.arn),
    }
}

/// Brings `current` to `desired`: UpdateAssumeRolePolicy when the trust
/// differs in meaning, PutRolePolicy for each new or changed inline policy,
/// DeleteRolePolicy for each one no longer wanted, AttachRolePolicy and
/// DetachRolePolicy for each managed policy to add or drop, at most one
/// UntagRole and one TagRole. No call when nothing differs.
pub async fn update(iam: &aws_sdk_iam::Client, current: &Role, desired: &RoleSpec) -> PartResult<()> {
    let name = &desired.name;
    if !policy::equivalent(&current.trust_policy, &desired.trust_policy) {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(&desired.trust_policy)
            .send()
            .await
            .map_err(|e| call_failed(PART, "iam:UpdateAssumeRolePolicy", &e))?;
    }
    let (put, remove) = inline_policy_changes(&current.inline_policies, &desired.inline_policies);
    for (policy_name, document) in put {
        put_inline_policy(iam, name, policy_name, document).await?;
    }
    for policy_name in remove {
        delete_inline_policy(iam, name, &policy_name).await?;
    }
    let (attach, detach) = managed_policy_changes(&current.managed_policy_arns, &desired.managed_policy_arns);
    for arn in attach {
        iam.attach_role_policy().role_name(name).policy_arn(arn).send().await.map_err(|e| {
            let mut d = call_failed(PART, "iam:AttachRolePolicy", &e);
            d.detail = format!("{} (managed policy {arn} on role {name})", d.detail);
            d
        })?;
    }
    for arn in detach {
        detach_managed_policy(iam, name, arn).await?;
    }
    update_tags(iam, name, &current.tags, &desired.tags).await
}

/// The managed policies to attach (wanted, not attached) and to detach
/// (attached, not wanted).
pub fn managed_policy_changes<'a>(current: &'a [String], desired: &'a BTreeSet<String>) -> (Vec<&'a str>, Vec<&'a str>) {
    let attach = desired.iter().filter(|a| !current.contains(a)).map(String::as_str).collect();
    let detach = current.iter().filter(|a| !desired.contains(*a)).map(String::as_str).collect();
    (attach, detach)
}

/// Detaches every managed policy, deletes every inline policy, then
/// DeleteRole. A role (or policy) already gone is fine. While AWS answers
/// DeleteConflict the whole sequence is retried (something may have been
/// attached meanwhile), for up to a minute.
pub async fn delete(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<()> {
    let what = format!("role {name} to be deleted: AWS answers DeleteConflict while a policy or an instance profile still hangs on it");
    wait::until(&what, DELETE_CONFLICT_WAIT, Duration::from_secs(1), || async move {
        detach_managed_policies(iam, name).await?;
        delete_inline_policies(iam, name).await?;
        delete_round(iam.delete_role().role_name(name).send().await)
    })
    .await
}

/// The inline policies to put (new or different in meaning) and the names
/// of those to delete.
pub fn inline_policy_changes<'a>(
    current: &BTreeMap<String, String>,
    desired: &'a BTreeMap<String, String>,
) -> (Vec<(&'a str, &'a str)>, Vec<String>) {
    let put = desired
        .iter()
        .filter(|(name, doc)| current.get(*name).is_none_or(|have| !policy::equivalent(have, doc)))
        .map(|(name, doc)| (name.as_str(), doc.as_str()))
        .collect();
    let remove = current.keys().filter(|name| !desired.contains_key(*name)).cloned().collect();
    (put, remove)
}

/// IAM answers policy documents URL-encoded (RFC 3986, `%7B%22Version...`).
/// A document that is already plain JSON (some emulators answer so) is
/// kept as it is.
pub fn decode_policy_document(doc: &str) -> String {
    if doc.trim_start().starts_with('{') {
        return doc.to_string();
    }
    percent_decode(doc).unwrap_or_else(|| doc.to_string())
}

/// `%XX` sequences to bytes, read as UTF-8. RFC 3986 encoding: `+` is a
/// plus, not a space. `None` when the bytes are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%').then(|| bytes.get(i + 1..i + 3)).flatten().and_then(hex_byte);
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// One DeleteRole answer as a round of the conflict wait.
fn delete_round<O, E: ProvideErrorMetadata + std::error::Error + 'static>(answer: Result<O, E>) -> PartResult<Poll<()>> {
    match answer {
        Ok(_) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &MISSING) => Ok(Poll::Done(())),
        Err(e) if has_code(&e, &IN_USE) => {
            Ok(Poll::Pending(format!("DeleteConflict: {}", e.message().unwrap_or("the role is still in use"))))
        }
        Err(e) => Err(call_failed(PART, "iam:DeleteRole", &e)),
    }
}

/// Policy name -> decoded document; `None` when the role is gone.
async fn inline_policies(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<Option<BTreeMap<String, String>>> {
    let Some(names) = inline_policy_names(iam, role).await? else { return Ok(None) };
    let mut out = BTreeMap::new();
    for name in names {
        match iam.get_role_policy().role_name(role).policy_name(&name).send().await {
            Ok(got) => {
                out.insert(name, decode_policy_document(got.policy_document()));
            }
            // Deleted between the listing and this call: not there.
            Err(e) if has_code(&e, &MISSING) => {}
            Err(e) => return Err(call_failed(PART, "iam:GetRolePolicy", &e)),
        }
    }
    Ok(Some(out))
}

async fn inline_policy_names(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<Option<Vec<String>>> {
    let listed = iam.list_role_policies().role_name(role).into_paginator().items().send().try_collect().await;
    match listed {
        Ok(names) => Ok(Some(names)),
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "iam:ListRolePolicies", &e)),
    }
}

async fn attached_policy_arns(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<Option<Vec<String>>> {
    let listed = iam.list_attached_role_policies().role_name(role).into_paginator().items().send().try_collect().await;
    match listed {
        Ok(policies) => Ok(Some(policies.iter().filter_map(|p| p.policy_arn().map(str::to_string)).collect())),
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "iam:ListAttachedRolePolicies", &e)),
    }
}

async fn role_tags(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<Option<Tags>> {
    let listed = iam.list_role_tags().role_name(role).into_paginator().items().send().try_collect().await;
    match listed {
        Ok(tags) => Ok(Some(tags.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect())),
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "iam:ListRoleTags", &e)),
    }
}

async fn put_inline_policy(iam: &aws_sdk_iam::Client, role: &str, name: &str, document: &str) -> PartResult<()> {
    iam.put_role_policy().role_name(role).policy_name(name).policy_document(document).send().await.map_err(|e| {
        // Which of the role's policies AWS refused (MalformedPolicyDocument...).
        let mut d = call_failed(PART, "iam:PutRolePolicy", &e);
        d.detail = format!("{} (inline policy {name:?} of role {role})", d.detail);
        d
    })?;
    Ok(())
}

/// DeleteRolePolicy; a policy (or role) already gone is fine.
async fn delete_inline_policy(iam: &aws_sdk_iam::Client, role: &str, name: &str) -> PartResult<()> {
    match iam.delete_role_policy().role_name(role).policy_name(name).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &MISSING) => Ok(()),
        Err(e) => Err(call_failed(PART, "iam:DeleteRolePolicy", &e)),
    }
}

async fn delete_inline_policies(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<()> {
    for name in inline_policy_names(iam, role).await?.unwrap_or_default() {
        delete_inline_policy(iam, role, &name).await?;
    }
    Ok(())
}

/// DetachRolePolicy for every attached managed policy; gone is fine.
async fn detach_managed_policies(iam: &aws_sdk_iam::Client, role: &str) -> PartResult<()> {
    for arn in attached_policy_arns(iam, role).await?.unwrap_or_default() {
        detach_managed_policy(iam, role, &arn).await?;
    }
    Ok(())
}

/// DetachRolePolicy; a policy (or role) already gone is fine.
async fn detach_managed_policy(iam: &aws_sdk_iam::Client, role: &str, arn: &str) -> PartResult<()> {
    match iam.detach_role_policy().role_name(role).policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, &MISSING) => Ok(()),
        Err(e) => Err(call_failed(PART, "iam:DetachRolePolicy", &e)),
    }
}

/// The managed policies attached to role `name`; `None` when the role is
/// gone. For refreshes that show them (one call).
pub async fn managed_policies(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<Option<Vec<String>>> {
    attached_policy_arns(iam, name).await
}

/// One inline policy of role `name`, decoded; `None` when it (or the
/// role) does not exist. For refreshes that show it (one call).
pub async fn inline_policy(iam: &aws_sdk_iam::Client, name: &str, policy_name: &str) -> PartResult<Option<String>> {
    match iam.get_role_policy().role_name(name).policy_name(policy_name).send().await {
        Ok(got) => Ok(Some(decode_policy_document(got.policy_document()))),
        Err(e) if has_code(&e, &MISSING) => Ok(None),
        Err(e) => Err(call_failed(PART, "iam:GetRolePolicy", &e)),
    }
}

/// At most one UntagRole and one TagRole. Keys under `aws:` belong to AWS
/// and cannot be removed by anyone else.
async fn update_tags(iam: &aws_sdk_iam::Client, role: &str, current: &Tags, desired: &Tags) -> PartResult<()> {
    let (remove, add) = tags::tag_changes(current, desired);
    let remove: Vec<String> = remove.into_iter().filter(|k| !k.starts_with("aws:")).collect();
    if !remove.is_empty() {
        iam.untag_role().role_name(role).set_tag_keys(Some(remove)).send().await.map_err(|e| call_failed(PART, "iam:UntagRole", &e))?;
    }
    if !add.is_empty() {
        iam.tag_role().role_name(role).set_tags(Some(to_iam(&add)?)).send().await.map_err(|e| call_failed(PART, "iam:TagRole", &e))?;
    }
    Ok(())
}

/// `find` until the new role answers.
async fn wait_visible(iam: &aws_sdk_iam::Client, name: &str) -> PartResult<Role> {
    let what = format!("role {name} to be visible after creation");
    wait::until(&what, PROPAGATION, Duration::from_millis(500), || async move {
        Ok(match find(iam, name).await? {
            Some(role) => Poll::Done(role),
            None => Poll::Pending("not found yet".into()),
        })
    })
    .await
}

fn to_iam(tags: &Tags) -> PartResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Diagnostic::error(format!("{PART}: tag {k:?} cannot be sent"), format!("The AWS SDK refused the tag: {e}")))
        })
        .collect()
}

fn non_empty<T>(list: Vec<T>) -> Option<Vec<T>> {
    (!list.is_empty()).then_some(list)
}

fn vanished(name: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{PART}: role {name} vanished right after it was created"),
        "The role answered while being set up, then iam:GetRole said it does not exist: something else deleted it.",
    )
}

#[cfg(test)]
mod tests {
    use aws_sdk_iam::operation::delete_role::DeleteRoleError;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    fn docs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn decodes_url_encoded_documents() {
        let encoded = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D";
        assert_eq!(decode_policy_document(encoded), r#"{"Version": "2012-10-17", "Statement": []}"#);
        // A plus is a plus (RFC 3986), and multi-byte UTF-8 comes back whole.
        assert_eq!(decode_policy_document("%7B%22a%2Bb%22%3A%22caf%C3%A9+x%22%7D"), r#"{"a+b":"café+x"}"#);
    }

    #[test]
    fn plain_documents_and_odd_escapes_are_kept() {
        let plain = r#"{"Statement":[{"Effect":"Allow","Action":"s3:Get%2A","Resource":"*"}]}"#;
        assert_eq!(decode_policy_document(plain), plain);
        assert_eq!(decode_policy_document("%7B100%%7D"), "{100%}");
        assert_eq!(decode_policy_document("%zz%4"), "%zz%4");
        // Not UTF-8 once decoded: kept as it came.
        assert_eq!(decode_policy_document("%FF%FE"), "%FF%FE");
    }

    #[test]
    fn inline_changes_compare_by_meaning() {
        let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:q"}]}"#;
        let a_reformatted =
            r#"{"Statement":[{"Resource":["arn:q"],"Action":["sqs:SendMessage"],"Effect":"Allow"}],"Version":"2012-10-17"}"#;
        let b = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:ReceiveMessage","Resource":"arn:q"}]}"#;
        let current = docs(&[("same", a_reformatted), ("changed", a), ("gone", a)]);
        let desired = docs(&[("same", a), ("changed", b), ("new", a)]);
        let (put, remove) = inline_policy_changes(&current, &desired);
        assert_eq!(put, vec![("changed", b), ("new", a)]);
        assert_eq!(remove, vec!["gone".to_string()]);
        let (put, remove) = inline_policy_changes(&desired, &desired);
        assert!(put.is_empty() && remove.is_empty());
    }

    #[test]
    fn managed_policies_become_exactly_the_wanted_ones() {
        let a = "arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess".to_string();
        let b = "arn:aws:iam::123456789012:policy/reports-read".to_string();
        let c = "arn:aws:iam::aws:policy/AdministratorAccess".to_string();
        let current = vec![a.clone(), c.clone()];
        let desired: BTreeSet<String> = [a.clone(), b.clone()].into();
        assert_eq!(managed_policy_changes(&current, &desired), (vec![b.as_str()], vec![c.as_str()]));
        assert_eq!(managed_policy_changes(&current, &current.iter().cloned().collect()), (vec![], vec![]));
        assert_eq!(managed_policy_changes(&[], &BTreeSet::new()), (vec![], vec![]));
    }

    fn delete_error(code: &str) -> DeleteRoleError {
        DeleteRoleError::generic(
            ErrorMetadata::builder().code(code).message("Cannot delete entity, must detach all policies first.").build(),
        )
    }

    #[test]
    fn delete_rounds_classify_the_answer() {
        assert!(matches!(delete_round(Ok::<_, DeleteRoleError>(())), Ok(Poll::Done(()))));
        assert!(matches!(delete_round::<(), _>(Err(delete_error("NoSuchEntity"))), Ok(Poll::Done(()))));
        match delete_round::<(), _>(Err(delete_error("DeleteConflict"))) {
            Ok(Poll::Pending(state)) => assert!(state.contains("DeleteConflict") && state.contains("detach"), "{state}"),
            _ => panic!("a conflict is a wait"),
        }
        let e = delete_round::<(), _>(Err(delete_error("AccessDenied"))).err().unwrap();
        assert!(e.summary.contains("iam role: iam:DeleteRole") && e.detail.contains("AccessDenied"), "{e:?}");
    }

    #[test]
    fn tags_convert_for_iam() {
        let t: Tags = [("a".to_string(), "1".to_string())].into();
        let iam = to_iam(&t).unwrap();
        assert_eq!((iam[0].key(), iam[0].value()), ("a", "1"));
        assert_eq!(non_empty(to_iam(&Tags::new()).unwrap()), None);
    }
}
