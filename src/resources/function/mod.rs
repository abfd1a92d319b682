//! The private function block: a Lambda function from a directory, a zip,
//! an S3 object or a container image, with its settings, its execution role (the user's, or a least-privilege
//! one made for it), its security groups and subnets, and the waits Lambda
//! needs. One block, with its schema fragment, model, checks (validate.rs,
//! plan.rs), desired state and step work (apply.rs), and what a refresh and
//! an import see of it (read.rs). A composite uses it once per function;
//! the pipeline twice, as its producer and its consumer (`FunctionRole`), the
//! private function once (`FunctionUse::Private`).

use std::marker::PhantomData;

use crate::diag::Path;
use crate::model::{self, Attr, Field, List, Map, Model, Set};
use crate::parts::function::SOURCE_TAG;
use crate::schema::{attr, Block, Mode, Type};
use crate::value::Value;

mod apply;
mod plan;
mod read;
pub mod role_extras;
mod validate;

pub use apply::{
    ensure, ensure_log_group, ensure_role, observe, remove, remove_log_group, remove_role, CodeSource, FunctionDesired, FunctionRecord,
    Placement,
};
pub use plan::{check_layer_regions, check_reserved_concurrency, check_tracing_path, plan, plan_log_group, TRACING_SERVICE};
pub use read::{imported, observed, observed_log_group, ProducerFound};
pub use validate::{check_environment_size, validate, ENVIRONMENT_BYTES};

/// Runtimes Lambda accepts for new functions (zip packages).
pub const RUNTIMES: [&str; 16] = [
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "java11",
    "java17",
    "java21",
    "dotnet8",
    "ruby3.2",
    "ruby3.3",
    "provided.al2",
    "provided.al2023",
];

pub const DEFAULT_MEMORY: i64 = 128;
pub const DEFAULT_TIMEOUT: i64 = 30;
pub const DEFAULT_QUEUE_URL_VAR: &str = "QUEUE_URL";
/// Lambda's instruction set architectures (`architectures`, one of them).
pub const ARCHITECTURES: [&str; 2] = ["x86_64", "arm64"];
/// Lambda's tracing modes (`tracing_mode`).
pub const TRACING_MODES: [&str; 2] = ["PassThrough", "Active"];
/// Lambda's most layers per function.
/// <https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html>
pub const MAX_LAYERS: usize = 5;
/// `/tmp` in MB, Lambda's range (512 is the default and the free part).
pub const EPHEMERAL_STORAGE_MB: (i64, i64) = (512, 10_240);
/// A function's description, at most (CreateFunction's Description).
pub const DESCRIPTION_CHARS: usize = 256;
/// Days the function's log group keeps its events unless the block says
/// otherwise: a month covers an incident noticed late and a monthly review,
/// without the never-expiring (and ever-growing) default Lambda's own
/// group would have. 0 means never expire.
pub const DEFAULT_LOG_RETENTION_DAYS: i64 = 30;
/// The tags the provider puts on a function on top of `tags_all`: the
/// ownership tags and [`SOURCE_TAG`]. The most of any object a composite
/// makes, so what a composite with a function counts against AWS's 50.
pub const PROVIDER_TAGS: usize = crate::parts::tags::OWNERSHIP_TAGS + 1;
/// Lambda's longest function name, and IAM's longest role name (the role
/// the block makes is named as its function).
pub const FUNCTION_NAME_CHARS: usize = 64;
pub const ROLE_NAME_CHARS: usize = 64;

/// Which use of the block a function is. All have the common settings; a
/// producer runs in the composite's subnets, sends to a queue (its URL in
/// the environment) and may join more groups; a consumer is fed by an event
/// source and runs outside the VPC unless `in_vpc` says otherwise; a private
/// function runs in the composite's subnets, named as the composite, and
/// may join more groups.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum FunctionUse {
    Producer,
    Consumer,
    Private,
}

impl FunctionUse {
    pub const ALL: [FunctionUse; 3] = [FunctionUse::Producer, FunctionUse::Consumer, FunctionUse::Private];

    /// The block's name (and, but for a private function, the suffix of
    /// the function's and role's names).
    pub fn name(self) -> &'static str {
        match self {
            FunctionUse::Producer => "producer",
            FunctionUse::Consumer => "consumer",
            FunctionUse::Private => "function",
        }
    }

    /// The attributes of the block only this use has.
    fn own_attributes(self) -> &'static [&'static str] {
        match self {
            FunctionUse::Producer => &["queue_url_env_var", "security_group_ids"],
            FunctionUse::Consumer => &["in_vpc"],
            FunctionUse::Private => &["security_group_ids"],
        }
    }

    /// The attributes of the model this use does not have.
    pub fn other_attributes(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = FunctionUse::ALL
            .iter()
            .filter(|u| **u != self)
            .flat_map(|u| u.own_attributes().iter().copied())
            .filter(|a| !self.own_attributes().contains(a))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Whether the function runs in the composite's subnets whatever the
    /// block says (a consumer only with `in_vpc`).
    pub fn always_in_vpc(self) -> bool {
        self != FunctionUse::Consumer
    }

    /// The function's name in a composite named `prefix`: a pipeline's
    /// are `<prefix>-producer` and `<prefix>-consumer`, a private function
    /// is named as its composite.
    pub fn function_name(self, prefix: &str) -> String {
        match self {
            FunctionUse::Private => prefix.to_string(),
            _ => format!("{prefix}-{}", self.name()),
        }
    }

    /// The names this use derives from a composite named `prefix`, each
    /// with what it names and AWS's limit: the function's and the role's
    /// (the role it makes is named as the function, `FunctionDesired::role_spec`).
    pub fn derived_names(self, prefix: &str) -> [(String, String, usize); 2] {
        let name = self.function_name(prefix);
        [
            (format!("the {} Lambda function", self.name()), name.clone(), FUNCTION_NAME_CHARS),
            (format!("the {}'s IAM role", self.name()), name, ROLE_NAME_CHARS),
        ]
    }
}

/// The block's uses in a pipeline: its two functions, either side of the
/// queue.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum FunctionRole {
    Producer,
    Consumer,
}

impl From<FunctionRole> for FunctionUse {
    fn from(role: FunctionRole) -> FunctionUse {
        match role {
            FunctionRole::Producer => FunctionUse::Producer,
            FunctionRole::Consumer => FunctionUse::Consumer,
        }
    }
}

impl FunctionRole {
    pub const ALL: [FunctionRole; 2] = [FunctionRole::Producer, FunctionRole::Consumer];

    /// The block's name, and the suffix of the function's and role's names.
    pub fn name(self) -> &'static str {
        FunctionUse::from(self).name()
    }

    /// The attributes of the model this use does not have.
    pub fn other_attributes(self) -> Vec<&'static str> {
        FunctionUse::from(self).other_attributes()
    }

    /// The function's name in a pipeline named `prefix`.
    pub fn function_name(self, prefix: &str) -> String {
        FunctionUse::from(self).function_name(prefix)
    }

    /// See [`FunctionUse::derived_names`].
    pub fn derived_names(self, prefix: &str) -> [(String, String, usize); 2] {
        FunctionUse::from(self).derived_names(prefix)
    }
}

/// One value per use of the block, e.g. what apply knows of each function.
#[derive(Debug, Clone, Default)]
pub struct PerRole<T> {
    pub producer: T,
    pub consumer: T,
}

impl<T> std::ops::Index<FunctionRole> for PerRole<T> {
    type Output = T;
    fn index(&self, role: FunctionRole) -> &T {
        match role {
            FunctionRole::Producer => &self.producer,
            FunctionRole::Consumer => &self.consumer,
        }
    }
}

impl<T> std::ops::IndexMut<FunctionRole> for PerRole<T> {
    fn index_mut(&mut self, role: FunctionRole) -> &mut T {
        match role {
            FunctionRole::Producer => &mut self.producer,
            FunctionRole::Consumer => &mut self.consumer,
        }
    }
}

/// The block's schema for one use, `description` saying what it is for.
pub fn schema(usage: impl Into<FunctionUse>, description: &'static str) -> Block {
    let b = Block::new(description)
        .attr(attr(
            "source_dir",
            Type::String,
            Mode::Optional,
            "Directory with the function's code; the provider zips it deterministically and updates the function when its content changes.",
        ))
        .attr(attr("filename", Type::String, Mode::Optional, "A zip file with the function's code (instead of source_dir)."))
        .attr(attr("s3_bucket", Type::String, Mode::Optional, "S3 bucket of a zip built elsewhere (with s3_key), in the provider's region."))
        .attr(attr("s3_key", Type::String, Mode::Optional, "Key of the zip in s3_bucket."))
        .attr(attr(
            "s3_object_version",
            Type::String,
            Mode::Optional,
            "Version of the S3 object; a new version updates the function's code.",
        ))
        .attr(attr(
            "image_uri",
            Type::String,
            Mode::Optional,
            "A container image in ECR (instead of a zip); handler, runtime and layers then come from the image.",
        ))
        .attr(attr(
            "source_code_hash",
            Type::String,
            Mode::Optional,
            "With filename or s3_key: the zip's base64 SHA-256 (e.g. filebase64sha256); a new value updates the code. Without it, a file's content is hashed, and an S3 object's code changes with its bucket, key or version.",
        ))
        .attr(attr("handler", Type::String, Mode::Optional, "Entry point, e.g. `index.handler`. Required for a zip; not with image_uri."))
        .attr(attr("runtime", Type::String, Mode::Optional, "Lambda runtime, e.g. `python3.12`. Required for a zip; not with image_uri."))
        .attr(attr("description", Type::String, Mode::Optional, "The function's description, up to 256 characters."))
        .attr(attr(
            "architectures",
            Type::list(Type::String),
            Mode::OptionalComputed,
            "`[\"x86_64\"]` (the default) or `[\"arm64\"]` (Graviton).",
        ))
        .attr(attr(
            "layers",
            Type::list(Type::String),
            Mode::Optional,
            "Up to 5 layer version ARNs, in the provider's region, in the order Lambda applies them.",
        ))
        .attr(attr(
            "reserved_concurrent_executions",
            Type::Number,
            Mode::Optional,
            "Concurrency reserved for the function (0 stops it from running); unset: none reserved. AWS keeps 100 of the account's concurrency unreserved.",
        ))
        .attr(attr("ephemeral_storage_size", Type::Number, Mode::OptionalComputed, "`/tmp` in MB, 512 to 10240 (default 512)."))
        .attr(attr("tracing_mode", Type::String, Mode::OptionalComputed, "X-Ray tracing: `PassThrough` (the default) or `Active`."))
        .attr(attr(
            "kms_key_arn",
            Type::String,
            Mode::Optional,
            "KMS key ARN encrypting the environment variables at rest; unset: Lambda's own key.",
        ))
        .attr(attr("memory_size", Type::Number, Mode::OptionalComputed, "MB, 128 to 10240 (default 128)."))
        .attr(attr("timeout", Type::Number, Mode::OptionalComputed, "Seconds, 1 to 900 (default 30)."))
        .attr(attr("environment", Type::map(Type::String), Mode::Optional, "Environment variables."))
        .attr(attr(
            "role_arn",
            Type::String,
            Mode::Optional,
            "Bring your own execution role; otherwise the resource creates a least-privilege one.",
        ))
        .attr(attr(
            "policy_statements",
            Type::String,
            Mode::Optional,
            "Extra IAM statements for the role the resource makes, as a JSON list (jsonencode([{ Effect, Action, Resource }])); not with role_arn.",
        ))
        .attr(attr(
            "policy_arns",
            Type::set(Type::String),
            Mode::Optional,
            "Managed policies to attach to the role the resource makes (exactly these; 10 by IAM's default quota); not with role_arn.",
        ))

        .attr(attr("code_sha256", Type::String, Mode::Computed, "Base64 SHA-256 of the deployed zip, as Lambda reports it."))
        .attr(attr(
            "log_retention_in_days",
            Type::Number,
            Mode::OptionalComputed,
            "Days the function's log group keeps its events: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653, or 0 to keep them forever (default 30).",
        ))
        .attr(attr(
            "log_kms_key_arn",
            Type::String,
            Mode::Optional,
            "ARN of a KMS key to encrypt the function's log group with; its key policy must let CloudWatch Logs use it.",
        ))
        .attr(attr(
            "log_group_name",
            Type::String,
            Mode::Computed,
            "The function's CloudWatch Logs group, /aws/lambda/<function>, which the resource makes before the function and deletes after it.",
        ));
    let extra_groups = |b: Block, whose: &str| {
        b.attr(attr(
            "security_group_ids",
            Type::set(Type::String),
            Mode::Optional,
            match whose {
                "producer" => "Extra security groups for the producer, besides the one the pipeline makes.",
                _ => "Extra security groups for the function, besides the one the composite makes.",
            },
        ))
    };
    match usage.into() {
        FunctionUse::Consumer => b.attr(attr(
            "in_vpc",
            Type::Bool,
            Mode::OptionalComputed,
            "Put the consumer in the pipeline's subnets too (default false: it runs outside the VPC, as it needs no private access).",
        )),
        FunctionUse::Producer => extra_groups(
            b.attr(attr(
                "queue_url_env_var",
                Type::String,
                Mode::OptionalComputed,
                "Environment variable that carries the queue URL (default QUEUE_URL).",
            )),
            "producer",
        ),
        FunctionUse::Private => extra_groups(b, "function"),
    }
}

crate::model! {
    /// A function block: every use's attributes (`in_vpc` is the
    /// consumer's, `queue_url_env_var` and `security_group_ids` the
    /// producer's; the other's stay null).
    pub struct FunctionBlock {
        source_dir: Attr<String>,
        filename: Attr<String>,
        s3_bucket: Attr<String>,
        s3_key: Attr<String>,
        s3_object_version: Attr<String>,
        image_uri: Attr<String>,
        source_code_hash: Attr<String>,
        handler: Attr<String>,
        runtime: Attr<String>,
        description: Attr<String>,
        architectures: Attr<List<String>>,
        layers: Attr<List<String>>,
        reserved_concurrent_executions: Attr<f64>,
        ephemeral_storage_size: Attr<f64>,
        tracing_mode: Attr<String>,
        kms_key_arn: Attr<String>,
        memory_size: Attr<f64>,
        timeout: Attr<f64>,
        environment: Attr<Map<String>>,
        role_arn: Attr<String>,
        policy_statements: Attr<String>,
        policy_arns: Attr<Set<String>>,
        code_sha256: Attr<String>,
        log_retention_in_days: Attr<f64>,
        log_kms_key_arn: Attr<String>,
        log_group_name: Attr<String>,
        in_vpc: Attr<bool>,
        queue_url_env_var: Attr<String>,
        security_group_ids: Attr<Set<String>>,
    }
}

/// A use of the block, as a type: what a composite's model names its
/// function fields with (`Function<Producer>`), so each encodes only its
/// own attributes.
pub trait Use: Clone + PartialEq + Default + std::fmt::Debug + Send + Sync {
    const USE: FunctionUse;
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Producer;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer;

/// A private function's use (`privatelink_private_function`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Private;

impl Use for Producer {
    const USE: FunctionUse = FunctionUse::Producer;
}

impl Use for Consumer {
    const USE: FunctionUse = FunctionUse::Consumer;
}

impl Use for Private {
    const USE: FunctionUse = FunctionUse::Private;
}

/// A function block in a composite's model, in one use.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Function<U: Use>(pub FunctionBlock, PhantomData<U>);

impl<U: Use> Function<U> {
    pub fn new(block: FunctionBlock) -> Function<U> {
        Function(block, PhantomData)
    }
}

impl<U: Use> Field for Function<U> {
    fn decode_field(v: &Value, at: &Path) -> Self {
        Function::new(FunctionBlock::decode_at(v, at))
    }
    fn encode_field(&self) -> Value {
        model::without(self.0.encode(), &U::USE.other_attributes())
    }
}

impl<U: Use> std::ops::Deref for Function<U> {
    type Target = FunctionBlock;
    fn deref(&self) -> &FunctionBlock {
        &self.0
    }
}

impl<U: Use> std::ops::DerefMut for Function<U> {
    fn deref_mut(&mut self) -> &mut FunctionBlock {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_use_has_the_models_attributes_but_the_others() {
        for usage in FunctionUse::ALL {
            let mismatch = model::attribute_mismatch::<FunctionBlock>(&schema(usage, "x"));
            let others: Vec<String> = usage.other_attributes().iter().map(|a| format!("{a}: in the model, not in the schema")).collect();
            assert_eq!(mismatch, others, "{usage:?}");
        }
        assert_eq!(FunctionUse::Private.other_attributes(), ["in_vpc", "queue_url_env_var"]);
        assert_eq!(FunctionUse::Private.function_name("reader"), "reader");
        assert_eq!(FunctionRole::Producer.function_name("orders"), "orders-producer");
    }
}
