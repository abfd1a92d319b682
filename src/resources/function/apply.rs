//! The function block as apply wants it (`FunctionDesired`), the specs of
//! its function and role, and the work of its steps: observe, ensure,
//! remove. Where a composite puts its functions is its own (`Placement`).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Path};
use crate::parts::code;
use crate::parts::function::{self, Function, FunctionSettings, FunctionSpec, Package};
use crate::parts::log_group::{self, LogGroup, LogGroupSpec};
use crate::parts::role::{self, RoleSpec};
use crate::parts::tags::{self, Tags};
use crate::policy;

use super::{FunctionBlock, FunctionUse, DEFAULT_LOG_RETENTION_DAYS, DEFAULT_MEMORY, DEFAULT_QUEUE_URL_VAR, DEFAULT_TIMEOUT, SOURCE_TAG};

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeSource {
    Dir(std::path::PathBuf),
    File(std::path::PathBuf),
    S3 { bucket: String, key: String, version: Option<String> },
    Image(String),
}

impl CodeSource {
    /// The block's one source (validate checks there is exactly one).
    pub fn of(f: &FunctionBlock) -> Option<CodeSource> {
        if let Some(d) = f.source_dir.str() {
            return Some(CodeSource::Dir(d.into()));
        }
        if let Some(p) = f.filename.str() {
            return Some(CodeSource::File(p.into()));
        }
        if let (Some(bucket), Some(key)) = (f.s3_bucket.owned(), f.s3_key.owned()) {
            return Some(CodeSource::S3 { bucket, key, version: f.s3_object_version.owned() });
        }
        f.image_uri.owned().map(CodeSource::Image)
    }

    /// Whether the code is read from local files at plan and apply.
    pub fn is_local(&self) -> bool {
        matches!(self, CodeSource::Dir(_) | CodeSource::File(_))
    }

    /// Where the code came from, kept in a tag on the function so an import
    /// can write the same source back (nothing else in AWS records it), and
    /// so a new S3 bucket, key or version is seen as new code.
    pub fn tag(&self) -> String {
        match self {
            CodeSource::Dir(d) => format!("dir:{}", d.display()),
            CodeSource::File(f) => format!("file:{}", f.display()),
            CodeSource::S3 { bucket, key, version: None } => format!("s3:{bucket}/{key}"),
            CodeSource::S3 { bucket, key, version: Some(v) } => format!("s3:{bucket}/{key}@{v}"),
            CodeSource::Image(uri) => format!("image:{uri}"),
        }
    }

    pub fn from_tag(tag: &str) -> Option<CodeSource> {
        match tag.split_once(':')? {
            ("dir", p) => Some(CodeSource::Dir(p.into())),
            ("file", p) => Some(CodeSource::File(p.into())),
            ("s3", object) => {
                let (bucket, rest) = object.split_once('/')?;
                // A key may hold `@`; the version is after the last one.
                let (key, version) = match rest.rsplit_once('@') {
                    Some((k, v)) if !v.is_empty() && !v.contains('/') => (k, Some(v.to_string())),
                    _ => (rest, None),
                };
                Some(CodeSource::S3 { bucket: bucket.into(), key: key.into(), version })
            }
            ("image", uri) => Some(CodeSource::Image(uri.into())),
            _ => None,
        }
    }

    /// The package Lambda takes: a local zip read now, with its hash
    /// (Lambda's CodeSha256 for it), or a reference to S3 or ECR, with the
    /// user's `source_code_hash` for an S3 object when given.
    pub fn package(&self, source_code_hash: Option<String>) -> Result<Package, String> {
        match self {
            CodeSource::Dir(d) => code::from_dir(d).map(Package::Zip),
            CodeSource::File(f) => code::from_file(f).map(Package::Zip),
            CodeSource::S3 { bucket, key, version } => {
                Ok(Package::S3 { bucket: bucket.clone(), key: key.clone(), version: version.clone(), sha256: source_code_hash })
            }
            CodeSource::Image(uri) => Ok(Package::Image { uri: uri.clone() }),
        }
    }

    /// A local zip and its hash; `None` for S3 and images, which the plan
    /// does not read.
    pub fn load(&self) -> Option<Result<code::Code, String>> {
        match self {
            CodeSource::Dir(d) => Some(code::from_dir(d)),
            CodeSource::File(f) => Some(code::from_file(f)),
            CodeSource::S3 { .. } | CodeSource::Image(_) => None,
        }
    }
}

/// A function as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
pub struct FunctionDesired {
    pub usage: FunctionUse,
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
    /// The user's hash of a zip given by filename or in S3.
    pub source_code_hash: Option<String>,
    pub settings: FunctionSettings,
    pub extra_groups: Vec<String>,
    pub in_vpc: bool,
    /// The variable that carries the queue URL (a producer's).
    pub queue_url_var: String,
    /// Days the log group keeps events; `None`: never expire.
    pub log_retention: Option<i32>,
    /// The log group's KMS key ARN.
    pub log_kms_key: Option<String>,
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
    pub fn from(f: &FunctionBlock, prefix: &str, usage: impl Into<FunctionUse>) -> FunctionDesired {
        let usage = usage.into();
        FunctionDesired {
            usage,
            name: usage.function_name(prefix),
            handler: f.handler.owned().unwrap_or_default(),
            runtime: f.runtime.owned().unwrap_or_default(),
            memory: f.memory_size.int().unwrap_or(DEFAULT_MEMORY) as i32,
            timeout: f.timeout.int().unwrap_or(DEFAULT_TIMEOUT) as i32,
            environment: f.environment.entries(),
            role_arn: f.role_arn.owned(),
            policy_statements: f.policy_statements.owned(),
            policy_arns: f.policy_arns.strings().into_iter().collect(),
            code: CodeSource::of(f),
            source_code_hash: f.source_code_hash.owned(),
            settings: settings_of(f),
            extra_groups: f.security_group_ids.strings(),
            in_vpc: usage.always_in_vpc() || f.in_vpc.bool() == Some(true),
            queue_url_var: f.queue_url_env_var.owned().unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()),
            log_retention: Some(f.log_retention_in_days.int().unwrap_or(DEFAULT_LOG_RETENTION_DAYS) as i32).filter(|d| *d > 0),
            log_kms_key: f.log_kms_key_arn.owned(),
        }
    }

    /// The function's log group, named as Lambda names it.
    pub fn log_group_name(&self) -> String {
        log_group::lambda_group_name(&self.name)
    }

    /// The function's log group: its retention, key and the composite's tags.
    pub fn log_group_spec(&self, at: &Placement<'_>) -> LogGroupSpec {
        LogGroupSpec {
            name: self.log_group_name(),
            retention_in_days: self.log_retention,
            kms_key_id: self.log_kms_key.clone(),
            tags: at.tags(&self.part_name("log-group")),
        }
    }

    /// Whether the function runs a container image.
    pub fn image(&self) -> bool {
        matches!(self.code, Some(CodeSource::Image(_)))
    }

    /// Whether the composite makes the function's role.
    pub fn own_role(&self) -> bool {
        self.role_arn.is_none()
    }

    /// The name of the part `what` of this function in its composite's
    /// ownership tags: `producer-role`; a private function's is `role`.
    fn part_name(&self, what: &str) -> String {
        match self.usage {
            FunctionUse::Private => what.to_string(),
            _ => format!("{}-{what}", self.usage.name()),
        }
    }

    /// The name of the inline policy with the composite's own statements.
    pub fn own_policy_name(&self) -> &'static str {
        match self.usage {
            FunctionUse::Private => "function",
            _ => "pipeline",
        }
    }

    /// Its own execution role in a pipeline: Lambda may assume it, and it
    /// may do what its use needs on the one queue (and, in a VPC, manage
    /// its interfaces). `queue_key`: the queue's customer-managed KMS key
    /// (its ARN), which the role may then use as its use needs
    /// (`policy::queue_key`). The log group's ARN takes the queue's
    /// partition and account.
    pub fn role_spec(&self, queue_arn: &str, queue_key: Option<&str>, region: &str, at: &Placement<'_>) -> RoleSpec {
        let arn: Vec<&str> = queue_arn.split(':').collect();
        let partition = arn.get(1).copied().filter(|p| !p.is_empty()).unwrap_or("aws");
        let account = arn.get(4).copied().unwrap_or("");
        let logs = policy::log_group_arn(partition, region, account, &self.log_group_name());
        let doc = match self.usage {
            FunctionUse::Producer => policy::producer(queue_arn, &logs, self.in_vpc),
            _ => policy::consumer(queue_arn, &logs, self.in_vpc),
        };
        let key = queue_key.map(|k| policy::queue_key(self.usage == FunctionUse::Producer, k));
        self.role_spec_with(&doc, key.into_iter().collect(), at)
    }

    /// Its own execution role with `doc`, the composite's policy for it,
    /// plus `extra` statements: what `Active` tracing needs, and the user's
    /// `policy_statements` and `policy_arns`.
    pub fn role_spec_with(&self, doc: &str, mut extra: Vec<serde_json::Value>, at: &Placement<'_>) -> RoleSpec {
        extra.extend((self.settings.tracing_mode == "Active").then(policy::write_traces));
        let doc = policy::with_statements(doc, extra);
        let mut inline_policies: BTreeMap<String, String> = [(self.own_policy_name().to_string(), doc)].into();
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
            tags: at.tags(&self.part_name("role")),
        }
    }

    /// The function: in the subnets with `groups` (and the user's extra
    /// ones) when in the VPC, the queue's URL in a producer's environment.
    pub fn spec(&self, role_arn: &str, groups: &[String], queue_url: Option<&str>, at: &Placement<'_>) -> FunctionSpec {
        let mut environment = self.environment.clone();
        if let (FunctionUse::Producer, Some(url)) = (self.usage, queue_url) {
            environment.insert(self.queue_url_var.clone(), url.to_string());
        }
        let mut security_group_ids: Vec<String> =
            if self.in_vpc { groups.iter().chain(&self.extra_groups).cloned().collect() } else { vec![] };
        security_group_ids.sort();
        let mut tags = at.tags(match self.usage {
            FunctionUse::Private => "function",
            u => u.name(),
        });
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
            settings: self.settings.clone(),
            image: self.image(),
        }
    }
}

/// The block's settings, Lambda's defaults where it leaves them unset.
fn settings_of(f: &FunctionBlock) -> FunctionSettings {
    let default = FunctionSettings::default();
    FunctionSettings {
        description: f.description.owned().unwrap_or_default(),
        architecture: f.architectures.strings().into_iter().next().unwrap_or(default.architecture),
        layers: f.layers.strings(),
        ephemeral_storage: f.ephemeral_storage_size.int().map(|n| n as i32).unwrap_or(default.ephemeral_storage),
        tracing_mode: f.tracing_mode.owned().unwrap_or(default.tracing_mode),
        kms_key_arn: f.kms_key_arn.owned(),
        reserved_concurrency: f.reserved_concurrent_executions.int().map(|n| n as i32),
    }
}

/// What apply knows of one function: its role's ARN (the composite's own
/// role only), the function, and its log group.
#[derive(Debug, Clone, Default)]
pub struct FunctionRecord {
    pub role: Option<String>,
    pub function: Option<Function>,
    pub log_group: Option<LogGroup>,
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

    /// The log groups of `functions`, in one listing of the groups of
    /// functions whose names start with `prefix` (`with_tags`: each group's
    /// tags too, which apply compares). Looked for whether or not the state
    /// recorded them: a function's group is the composite's by its name
    /// (one Lambda made for it, or one made by hand, is adopted).
    pub async fn log_groups(ctx: &Ctx, prefix: &str, functions: &[String], with_tags: bool) -> Result<Vec<LogGroup>, Diagnostic> {
        let names: Vec<String> = functions.iter().map(|f| log_group::lambda_group_name(f)).collect();
        log_group::find_many(&ctx.aws.logs, &log_group::lambda_group_name(prefix), &names, with_tags).await
    }
}

/// The function's log group brought to `spec` (made, adopted or updated).
pub async fn ensure_log_group(ctx: &Ctx, spec: &LogGroupSpec, known: Option<LogGroup>) -> Result<LogGroup, Diagnostic> {
    log_group::ensure(&ctx.aws.logs, spec, known).await
}

/// The function's log group deleted, with its events (gone is fine).
pub async fn remove_log_group(ctx: &Ctx, name: &str) -> Result<(), Diagnostic> {
    log_group::delete(&ctx.aws.logs, name).await
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
    let block = f.usage.name();
    let code = f
        .code
        .as_ref()
        .ok_or_else(|| {
            Diagnostic::error("No function code", "Give one of source_dir, filename, s3_bucket with s3_key, or image_uri.")
                .at(Path::attr(block))
        })?
        .package(f.source_code_hash.clone())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    use super::super::FunctionRole;

    fn desired(role: FunctionRole, retention: Option<f64>) -> FunctionDesired {
        let mut b = FunctionBlock::decode_at(&crate::value::Value::Null, &crate::diag::Path::attr(role.name()));
        if let Some(days) = retention {
            b.log_retention_in_days.set_known(days);
        }
        FunctionDesired::from(&b, "orders", role)
    }

    #[test]
    fn the_roles_log_group_arn_is_in_the_queues_partition() {
        let tags = Tags::new();
        let at = Placement { subnets: &[], tags_all: &tags, owner: "pipeline/orders" };
        let f = desired(FunctionRole::Producer, None);
        let spec = f.role_spec("arn:aws-cn:sqs:cn-north-1:123456789012:orders", None, "cn-north-1", &at);
        let doc = &spec.inline_policies["pipeline"];
        assert!(doc.contains("arn:aws-cn:logs:cn-north-1:123456789012:log-group:/aws/lambda/orders-producer:*"), "{doc}");
        assert!(!doc.contains("arn:aws:logs") && !doc.contains("logs:CreateLogGroup"), "{doc}");
    }

    #[test]
    fn the_log_group_spec_has_the_retention_the_default_or_none_for_never() {
        let tags: Tags = [("team".to_string(), "a".to_string())].into();
        let at = Placement { subnets: &[], tags_all: &tags, owner: "pipeline/orders" };
        let spec = desired(FunctionRole::Consumer, None).log_group_spec(&at);
        assert_eq!(spec.name, "/aws/lambda/orders-consumer");
        assert_eq!(spec.retention_in_days, Some(30));
        assert_eq!(spec.tags["privatelink:part"], "consumer-log-group");
        assert_eq!(spec.tags["team"], "a");
        assert_eq!(desired(FunctionRole::Consumer, Some(0.0)).log_group_spec(&at).retention_in_days, None, "0: never expire");
        assert_eq!(desired(FunctionRole::Producer, Some(7.0)).log_group_spec(&at).retention_in_days, Some(7));
    }
}
