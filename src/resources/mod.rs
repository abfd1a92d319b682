//! Composite resources. One folder per composite, with the same phase
//! files in each, built from blocks more than one composite uses: a
//! private function (`function`), a service's endpoint (`endpoint`), the
//! step record (`record`). What they share is here: the `Resource` trait
//! the protocol layer calls, the typed skeleton that implements it for
//! every composite (`composite`), the checks they make alike (`checks`),
//! the timeouts block, subnet checks, client tokens, import by identity and
//! destroy-plan warnings. Resource code never calls the AWS SDK: it goes
//! through `crate::parts`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::identity::{self, IdentitySchema};
use crate::model::Attr;
use crate::parts::network_interface::{self as eni, Interface, User};
use crate::parts::vpc::Subnet;
use crate::schema::Schema;
use crate::value::Value;

pub mod checks;
pub mod composite;
pub mod endpoint;
pub mod function;
pub mod listing;
pub mod private_function;
pub mod private_lambda_pipeline;
pub mod record;
pub mod service_endpoint_bundle;

/// The answer to PlanResourceChange.
pub struct Planned {
    pub state: Value,
    /// Attributes whose change forces a new resource.
    pub requires_replace: Vec<Path>,
    /// What the plan warns of (the checks against AWS found no error).
    pub warnings: Diagnostics,
}

#[tonic::async_trait]
pub trait Resource: Send + Sync {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks of the configuration alone: no AWS call. Unknown values are
    /// skipped here and checked at plan or apply when known.
    fn validate(&self, config: &Value) -> Diagnostics;

    /// The planned new state for a create (`prior` null) or an update.
    /// `ctx` is None when the provider could not be configured yet; checks
    /// that need AWS are then left to apply.
    async fn plan(&self, ctx: Option<&Ctx>, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics>;

    /// Create, update or (planned null) delete. Always returns the state
    /// that is true afterwards, also on failure, so nothing is lost: the
    /// next apply finishes the work or destroys what was recorded.
    async fn apply(&self, ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics);

    /// Refresh; `Value::Null` when the whole resource is gone.
    async fn read(&self, ctx: &Ctx, state: &Value) -> Result<Value, Diagnostics>;

    /// A state that `read` can complete, from the id the user gave.
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Value, Diagnostics>;

    /// Whether `import` already ends with a read, so its state is what a
    /// read would give (a list's object then needs no read of its own).
    fn import_reads(&self) -> bool;

    /// Resource identity (Terraform and OpenTofu 1.12+): what names one
    /// instance, e.g. for `import { identity = {...} }`. Only attributes
    /// that never change in place: an identity is permanent.
    fn identity_schema(&self) -> IdentitySchema;

    /// The identity of the resource in `state` (planned, applied or read)
    /// in `region`. Parts unknown in a planned state stay unknown.
    fn identity(&self, state: &Value, region: &str) -> Value;

    /// Import by identity: the id `import` takes for `identity` (whose
    /// required attributes and region are already checked), or errors
    /// naming the identity attribute that is wrong.
    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics>;

    /// The plan of a destroy (Terraform asks for one because the provider
    /// declares `plan_destroy`): warnings about what still depends on the
    /// resource. Never an error: a destroy must stay possible.
    async fn plan_destroy(&self, ctx: &Ctx, prior: &Value) -> Diagnostics;

    /// List resources (`terraform query`): the composites of this type
    /// among the objects carrying an owner tag, in `region`.
    fn listed(&self, owned: &[crate::parts::tags::Owned], region: &str) -> Vec<listing::Listed>;
}

pub fn all() -> Vec<Arc<dyn Resource>> {
    vec![
        Arc::new(service_endpoint_bundle::ServiceEndpointBundle),
        Arc::new(private_lambda_pipeline::PrivateLambdaPipeline),
        Arc::new(private_function::PrivateFunctionResource),
    ]
}

/// Import by identity (`import { identity = {...} }`): the identity is
/// checked (required attributes, the provider's region), mapped to the id
/// the resource imports by, and imported as that id would be. Returns the
/// state and its whole identity (Terraform stores the provider's, not the
/// possibly partial one the user wrote). Every error says which identity
/// was used, so a wrong `identity.name` reads as such.
pub async fn import_by_identity(r: &dyn Resource, ctx: &Ctx, asked: &Value) -> Result<(Value, Value), Diagnostics> {
    let schema = r.identity_schema();
    let region = ctx.aws.region.as_str();
    let missing = schema.missing(asked);
    if missing.has_errors() {
        return Err(missing);
    }
    identity::check_region(asked, region)?;
    let used = |d: Diagnostics| identity_used(d, &schema, asked);
    let id = r.import_id(ctx, asked).await.map_err(used)?;
    let state = r.import(ctx, &id).await.map_err(used)?;
    let found = r.identity(&state, region);
    let wrong = identity::mismatches(&schema, asked, &found);
    if wrong.has_errors() {
        return Err(wrong);
    }
    Ok((state, found))
}

/// Each error of an import by identity, with the identity it used.
fn identity_used(mut d: Diagnostics, schema: &IdentitySchema, asked: &Value) -> Diagnostics {
    let used = format!("The import used {}.", schema.describe(asked));
    for diag in d.0.iter_mut().filter(|d| d.severity == crate::diag::Severity::Error) {
        diag.detail = format!("{} {used}", diag.detail);
    }
    d
}

/// Endpoints a destroy takes away, for the warnings of its plan.
pub struct Going<'a> {
    /// What is destroyed, e.g. `the Interface endpoints of bundle peb-...`.
    pub what: String,
    /// What clients reach through it, e.g. `sqs, logs`.
    pub services: String,
    pub vpc_id: &'a str,
}

impl Going<'_> {
    /// The clients in the VPC that reach the services through these
    /// endpoints: network interfaces carrying a group the endpoints admit
    /// (`admitted`) that are not the composite's own (`own`). A warning
    /// naming them, nothing when there are none, nothing asked of AWS when
    /// no group is admitted. A failed lookup is a warning too.
    pub async fn client_warnings(&self, ctx: &Ctx, admitted: &[String], own: impl Fn(&Interface) -> bool) -> Diagnostics {
        if admitted.is_empty() {
            return Diagnostics::default();
        }
        let found = ctx.run("looking for clients of the endpoints", eni::find_by_groups(&ctx.aws.ec2, self.vpc_id, admitted)).await;
        match found {
            Ok(interfaces) => {
                let users: BTreeSet<User> = interfaces.iter().filter(|i| !i.is_endpoint() && !own(i)).map(Interface::user).collect();
                Diagnostics(self.clients_warning(&users.into_iter().collect::<Vec<_>>()).into_iter().collect())
            }
            Err(e) => self.unchecked(e).into(),
        }
    }

    /// The warning naming `users`, none when there is no one.
    pub fn clients_warning(&self, users: &[User]) -> Option<Diagnostic> {
        if users.is_empty() {
            return None;
        }
        let names = users.iter().map(User::to_string).collect::<Vec<_>>().join(", ");
        Some(Diagnostic::warning(
            "Clients still reach AWS through endpoints this destroys",
            format!(
                "Destroying {} in {} takes away the private path to {} of: {names}. \
                 Their security groups are ones the endpoints admit; once the endpoints are gone their calls to {} fail, \
                 unless their subnets have another way there (a NAT, another endpoint). Point them at another endpoint, or destroy them first, if that is not what you want.",
                self.what, self.vpc_id, self.services, self.services
            ),
        ))
    }

    /// The lookup failed: say so (its detail names the call), and what it
    /// would have told.
    pub fn unchecked(&self, e: Diagnostic) -> Diagnostic {
        Diagnostic::warning(
            "Could not check who still uses endpoints this destroys",
            format!(
                "{} The destroy can go ahead; any client in {} that reaches {} through {} loses that private path.",
                e.detail, self.vpc_id, self.services, self.what
            ),
        )
    }
}

/// The planned subnets, when known and new or changed against `prior`
/// (None: a create), checked against AWS: one DescribeSubnets, and
/// `subnet_diagnostics` of what it found.
pub async fn check_subnets(
    ctx: &Ctx,
    prior: Option<&Attr<crate::model::Set<String>>>,
    planned: &Attr<crate::model::Set<String>>,
    vpc_id: &str,
) -> Result<Diagnostics, Diagnostic> {
    if !planned.is_wholly_known() || prior.is_some_and(|p| p == planned) {
        return Ok(Diagnostics::default());
    }
    let ids = planned.strings();
    let found = crate::parts::vpc::subnets(&ctx.aws.ec2, &ids).await?;
    Ok(Diagnostics(subnet_diagnostics(&found, vpc_id, &ctx.aws.region, &ids, &planned.path)))
}

/// Subnets of `ids` (found by `parts::vpc::subnets`) that do not exist, are
/// in another VPC than `vpc_id`, or share an Availability Zone (an
/// Interface endpoint, and a resilient function, takes one per AZ): each a
/// diagnostic at `path`, naming the subnets.
pub fn subnet_diagnostics(found: &[Subnet], vpc_id: &str, region: &str, ids: &[String], path: &Path) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut by_az: BTreeMap<&str, &str> = BTreeMap::new();
    for sid in ids {
        match found.iter().find(|s| &s.id == sid) {
            None => out.push(Diagnostic::error("Subnet not found", format!("Subnet {sid} does not exist in {region}.")).at(path.clone())),
            Some(s) if s.vpc_id != vpc_id => out.push(
                Diagnostic::error("Subnet in another VPC", format!("Subnet {sid} is in {}, not in {vpc_id}.", s.vpc_id)).at(path.clone()),
            ),
            Some(s) => {
                if let Some(other) = by_az.insert(&s.availability_zone, &s.id) {
                    out.push(
                        Diagnostic::error(
                            "Two subnets in one Availability Zone",
                            format!(
                                "Subnets {other} and {sid} are both in {}; an Interface endpoint takes at most one subnet per Availability Zone. Keep one of them.",
                                s.availability_zone
                            ),
                        )
                        .at(path.clone()),
                    );
                }
            }
        }
    }
    out
}

/// A client token (CreateVpcEndpoint's idempotency key) unique to this
/// attempt at the part `part` of composite `owner`: the SDK's retry of a
/// create whose answer was lost gets the first endpoint back instead of a
/// twin, while a composite destroyed and made again never gets AWS's
/// answer for the old endpoint. (After a crash, the ownership tags find
/// the object instead.) 48 hex digits: within AWS's 64 ASCII characters.
pub fn client_token(owner: &str, part: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::time::{SystemTime, UNIX_EPOCH};
    let time = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let nonce = (time as u64) ^ (std::process::id() as u64).rotate_left(32);
    let mut h = Sha256::new();
    h.update(format!("{owner}/{part}/{nonce}").as_bytes());
    h.finalize().iter().take(24).map(|b| format!("{b:02x}")).collect()
}

/// Create / update / delete time limits from a `timeouts` block.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

impl Timeouts {
    /// Ten minutes each: ample for every part AWS makes or deletes, except
    /// a group a VPC function used (see the pipeline's own defaults).
    pub const DEFAULT: Timeouts = Timeouts { create: DEFAULT_TIMEOUT, update: DEFAULT_TIMEOUT, delete: DEFAULT_TIMEOUT };
}

crate::model! {
    /// The `timeouts` block, the same in every composite.
    pub struct TimeoutsBlock {
        create: Attr<String>,
        update: Attr<String>,
        delete: Attr<String>,
    }
}

impl TimeoutsBlock {
    /// The limits; an unset or malformed duration (validation reports it)
    /// falls back to the composite's default.
    pub fn limits(&self, defaults: Timeouts) -> Timeouts {
        let get = |a: &Attr<String>, default: Duration| a.str().and_then(|s| parse_duration(s).ok()).unwrap_or(default);
        Timeouts {
            create: get(&self.create, defaults.create),
            update: get(&self.update, defaults.update),
            delete: get(&self.delete, defaults.delete),
        }
    }

    /// Diagnostics for each malformed duration.
    pub fn validate(&self) -> Vec<Diagnostic> {
        [&self.create, &self.update, &self.delete]
            .into_iter()
            .filter_map(|a| parse_duration(a.str()?).err().map(|e| Diagnostic::error("Invalid timeout", e).at(a.path.clone())))
            .collect()
    }
}

/// The `timeouts` block's schema: `description` says the composite's
/// defaults; `examples` are the create, update and delete hints.
pub fn timeouts_schema(description: &'static str, examples: [&'static str; 3]) -> crate::schema::Block {
    use crate::schema::{attr, Block, Mode, Type};
    Block::new(description)
        .attr(attr("create", Type::String, Mode::Optional, examples[0]))
        .attr(attr("update", Type::String, Mode::Optional, examples[1]))
        .attr(attr("delete", Type::String, Mode::Optional, examples[2]))
}

/// Go-style durations as Terraform users write them: "90s", "10m", "1h30m".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration; write it like \"30s\", \"10m\" or \"1h30m\"");
    let mut total = 0u64;
    let mut num = String::new();
    let mut any = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n: u64 = num.parse().map_err(|_| bad())?;
        total += n * unit;
        num.clear();
        any = true;
    }
    if !num.is_empty() || !any || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn going() -> Going<'static> {
        Going { what: "the Interface endpoints of bundle core".into(), services: "sqs, logs".into(), vpc_id: "vpc-1" }
    }

    #[test]
    fn the_clients_warning_names_each_client() {
        assert_eq!(going().clients_warning(&[]), None, "no clients, no warning");
        let users = [User::Function("orders-worker".into()), User::Instance("i-0abc".into()), User::Other("eni-0def".into())];
        let w = going().clients_warning(&users).expect("a warning");
        assert_eq!(w.severity, crate::diag::Severity::Warning);
        for want in
            ["Lambda function orders-worker", "EC2 instance i-0abc", "network interface eni-0def", "sqs, logs", "vpc-1", "bundle core"]
        {
            assert!(w.detail.contains(want), "{want} missing: {}", w.detail);
        }
    }

    #[test]
    fn a_failed_lookup_is_a_warning_that_says_so() {
        let w = going().unchecked(Diagnostic::error(
            "network interface: ec2:DescribeNetworkInterfaces failed",
            "ec2:DescribeNetworkInterfaces answered Throttling",
        ));
        assert_eq!(w.severity, crate::diag::Severity::Warning);
        assert!(w.detail.contains("answered Throttling") && w.detail.contains("can go ahead"), "{}", w.detail);
    }

    #[test]
    fn client_tokens_fit_aws_and_differ_per_attempt() {
        let a = client_token("pipeline/orders", "endpoint");
        let b = client_token("pipeline/orders", "endpoint");
        assert_eq!(a.len(), 48);
        assert!(a.len() <= 64 && a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert_ne!(a, b, "a new attempt must not get the answer of an old one");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "10", "m", "10x", "0s", "-1m"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
