//! The function block as apply wants it (`FunctionDesired`), the specs of
//! its function and role, and the work of its steps: observe, ensure,
//! remove. Where a composite puts its functions is its own (`Placement`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Path};
use crate::parts::code;
use crate::parts::function::{self, Function, FunctionSpec};
use crate::parts::role::{self, RoleSpec};
use crate::parts::tags::{self, Tags};
use crate::policy;

use super::{FunctionBlock, FunctionRole, DEFAULT_MEMORY, DEFAULT_QUEUE_URL_VAR, DEFAULT_TIMEOUT, SOURCE_TAG};

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeSource {
    Dir(std::path::PathBuf),
    File(std::path::PathBuf),
}

impl CodeSource {
    pub fn of(f: &FunctionBlock) -> Option<CodeSource> {
        match (f.source_dir.str(), f.filename.str()) {
            (Some(d), _) => Some(CodeSource::Dir(d.into())),
            (None, Some(p)) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// Where the code came from, kept in a tag on the function so an import
    /// can write the same source back (nothing else in AWS records it).
    pub fn tag(&self) -> String {
        match self {
            CodeSource::Dir(d) => format!("dir:{}", d.display()),
            CodeSource::File(f) => format!("file:{}", f.display()),
        }
    }

    pub fn from_tag(tag: &str) -> Option<CodeSource> {
        match tag.split_once(':')? {
            ("dir", p) => Some(CodeSource::Dir(p.into())),
            ("file", p) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// The zip and its hash (Lambda's CodeSha256 for it).
    pub fn load(&self) -> Result<code::Code, String> {
        match self {
            CodeSource::Dir(d) => code::from_dir(d),
            CodeSource::File(f) => code::from_file(f),
        }
    }
}

/// A function as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
pub struct FunctionDesired {
    pub role: FunctionRole,
    pub name: String,
    pub handler: String,
    pub runtime: String,
    pub memory: i32,
    pub timeout: i32,
    pub environment: BTreeMap<String, String>,
    /// The user's execution role; None: the composite makes one.
    pub role_arn: Option<String>,
    /// Extra statements for the role it makes (`policy_statements`, JSON).
    pub policy_statements: Option<String>,
    /// Managed policies attached to the role it makes (`policy_arns`).
    pub policy_arns: std::collections::BTreeSet<String>,
    pub code: Option<CodeSource>,
    pub extra_groups: Vec<String>,
    pub in_vpc: bool,
    /// The variable that carries the queue URL (a producer's).
    pub queue_url_var: String,
}

/// Where a composite puts its functions: its subnets, and the tags and
/// owner every object it makes carries.
pub struct Placement<'a> {
    pub subnets: &'a [String],
    pub tags_all: &'a Tags,
    pub owner: &'a str,
}

impl Placement<'_> {
    fn tags(&self, part: &str) -> Tags {
        tags::with_ownership(self.tags_all, self.owner, part)
    }
}

impl FunctionDesired {
    /// The block `f` in its `role`, in a composite named `prefix`.
    pub fn from(f: &FunctionBlock, prefix: &str, role: FunctionRole) -> FunctionDesired {
        FunctionDesired {
            role,
            name: role.function_name(prefix),
            handler: f.handler.owned().unwrap_or_default(),
            runtime: f.runtime.owned().unwrap_or_default(),
            memory: f.memory_size.int().unwrap_or(DEFAULT_MEMORY) as i32,
            timeout: f.timeout.int().unwrap_or(DEFAULT_TIMEOUT) as i32,
            environment: f.environment.entries(),
            role_arn: f.role_arn.owned(),
            policy_statements: f.policy_statements.owned(),
            policy_arns: f.policy_arns.strings().into_iter().collect(),
            code: CodeSource::of(f),
            extra_groups: f.security_group_ids.strings(),
            in_vpc: role == FunctionRole::Producer || f.in_vpc.bool() == Some(true),
            queue_url_var: f.queue_url_env_var.owned().unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()),
        }
    }

    /// Whether the composite makes the function's role.
    pub fn own_role(&self) -> bool {
        self.role_arn.is_none()
    }

    /// Its own execution role: Lambda may assume it, and it may do what its
    /// use needs on the one queue (and, in a VPC, manage its interfaces).
    /// `queue_key`: the queue's customer-managed KMS key (its ARN), which
    /// the role may then use as its use needs (`policy::queue_key`).
    pub fn role_spec(&self, queue_arn: &str, queue_key: Option<&str>, region: &str, at: &Placement<'_>) -> RoleSpec {
        let account = queue_arn.split(':').nth(4).unwrap_or("");
        let logs = policy::log_group_arn(region, account, &self.name);
        let doc = match self.role {
            FunctionRole::Producer => policy::producer(queue_arn, &logs, self.in_vpc),
            FunctionRole::Consumer => policy::consumer(queue_arn, &logs, self.in_vpc),
        };
        let key = queue_key.map(|k| policy::queue_key(self.role == FunctionRole::Producer, k));
        let doc = policy::with_statements(&doc, key.into_iter().collect());
        let mut inline_policies: BTreeMap<String, String> = [("pipeline".to_string(), doc)].into();
        // The user's statements in a policy of their own: refreshed and
        // compared on their own, never mixed with the composite's.
        if let Some(list) = self.policy_statements.as_deref().and_then(|s| super::role_extras::parse_statements(s).ok()) {
            inline_policies.insert(super::role_extras::STATEMENTS_POLICY.into(), super::role_extras::statements_document(list));
        }
        RoleSpec {
            name: self.name.clone(),
            trust_policy: policy::lambda_trust(),
            inline_policies,
            managed_policy_arns: self.policy_arns.clone(),
            tags: at.tags(&format!("{}-role", self.role.name())),
        }
    }

    /// The function: in the subnets with `groups` (and the user's extra
    /// ones) when in the VPC, the queue's URL in a producer's environment.
    pub fn spec(&self, role_arn: &str, groups: &[String], queue_url: Option<&str>, at: &Placement<'_>) -> FunctionSpec {
        let mut environment = self.environment.clone();
        if let (FunctionRole::Producer, Some(url)) = (self.role, queue_url) {
            environment.insert(self.queue_url_var.clone(), url.to_string());
        }
        let mut security_group_ids: Vec<String> =
            if self.in_vpc { groups.iter().chain(&self.extra_groups).cloned().collect() } else { vec![] };
        security_group_ids.sort();
        let mut tags = at.tags(self.role.name());
        if let Some(src) = self.code.as_ref().map(CodeSource::tag).filter(|v| v.len() <= 256) {
            tags.insert(SOURCE_TAG.into(), src);
        }
        FunctionSpec {
            name: self.name.clone(),
            role_arn: role_arn.to_string(),
            handler: self.handler.clone(),
            runtime: self.runtime.clone(),
            memory_size: self.memory,
            timeout: self.timeout,
            environment,
            subnet_ids: if self.in_vpc { at.subnets.to_vec() } else { vec![] },
            security_group_ids,
            tags,
        }
    }
}

/// What apply knows of one function: its role's ARN (the composite's own
/// role only) and the function.
#[derive(Debug, Clone, Default)]
pub struct FunctionRecord {
    pub role: Option<String>,
    pub function: Option<Function>,
}

/// The function's own role (`own_role`) and the function (`recorded`) as
/// AWS has them, asked only for what the state recorded; two reads, each
/// counted on its own (`calls::with_count`) for the concurrent read's log.
pub mod observe {
    use super::*;

    /// Only the ARN: `ensure_role` reads the policies itself before changing them.
    pub async fn role(ctx: &Ctx, name: String, own_role: bool) -> Result<Option<String>, Diagnostic> {
        if !own_role {
            return Ok(None);
        }
        role::arn_of(&ctx.aws.iam, &name).await
    }

    pub async fn function(ctx: &Ctx, name: String, recorded: bool) -> Result<Option<Function>, Diagnostic> {
        if !recorded {
            return Ok(None);
        }
        function::find(&ctx.aws.lambda, &name).await
    }
}

/// The function brought to `spec` with its code (read now, so an error
/// names the block), waiting until Lambda has it `Active`.
pub async fn ensure(
    ctx: &Ctx,
    f: &FunctionDesired,
    spec: &FunctionSpec,
    known: Option<Function>,
    timeout: Duration,
) -> Result<Function, Diagnostic> {
    let block = f.role.name();
    let code = f
        .code
        .as_ref()
        .ok_or_else(|| Diagnostic::error("No function code", "Give source_dir or filename.").at(Path::attr(block)))?
        .load()
        .map_err(|e| Diagnostic::error("Cannot read the function's code", e).at(Path::attr(block)))?;
    function::ensure(&ctx.aws.lambda, spec, &code, known, timeout).await
}

/// The function's own role brought to `spec`: its ARN.
pub async fn ensure_role(ctx: &Ctx, spec: &RoleSpec) -> Result<String, Diagnostic> {
    role::ensure(&ctx.aws.iam, spec).await
}

/// The recorded function deleted (`function::remove`: out of the VPC
/// first, so Lambda starts releasing its network interfaces, which
/// otherwise hold its groups for a long time after the delete).
pub async fn remove(ctx: &Ctx, known: Option<Function>, timeout: Duration) -> Result<(), Diagnostic> {
    match known {
        Some(f) => function::remove(&ctx.aws.lambda, &f, timeout).await,
        None => Ok(()),
    }
}

/// The function's own role deleted, with its inline policies.
pub async fn remove_role(ctx: &Ctx, name: &str) -> Result<(), Diagnostic> {
    role::delete(&ctx.aws.iam, name).await
}
