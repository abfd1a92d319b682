//! `privatelink_reachability`: whether a client in a VPC (a Lambda
//! function, or subnets and security groups) reaches AWS services, hop by
//! hop, and what to fix when it does not. Reads only.
//!
//! `read` gathers the facts in a few batched calls, `analyse` judges them
//! (pure), `findings` names what can be found, `net` holds the address and
//! network ACL arithmetic.

mod analyse;
mod findings;
mod net;
mod read;
#[cfg(test)]
mod tests;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::model::{Attr, Blocks, List, Map, Model, Set, Val};
use crate::schema::{attr, Block, Mode, Schema, Type};
use crate::value::Value;

use super::DataSource;
use analyse::{analyse, Ask, FunctionFacts, Report};
use findings::Finding;
pub use findings::Kind;

pub struct Reachability;

crate::model! {
    /// The data source's configuration and state.
    pub struct ReachabilityModel {
        id: Attr<String>,
        function_name: Attr<String>,
        subnet_ids: Attr<Set<String>>,
        security_group_ids: Attr<Set<String>>,
        services: Attr<List<String>>,
        actions: Attr<Map<List<String>>>,
        vpc_id: Attr<String>,
        reachable: Attr<bool>,
        service: Blocks<ReportModel>,
        findings: Blocks<ServiceFindingModel>,
    }
}

// The computed outputs, one model per object type of the schema. `service`
// and `findings` are attributes of type list(object), not blocks: their
// values are the same lists of objects that `Blocks` encodes.

crate::model! {
    /// One entry of `service`: one service's report.
    pub struct ReportModel {
        name: Attr<String>,
        service_name: Attr<String>,
        reachable: Attr<bool>,
        path: PathModel,
        dns: DnsModel,
        findings: Blocks<FindingModel>,
    }
}

crate::model! {
    /// A report's `path`: which kind of hop carries the traffic, and its id.
    pub struct PathModel {
        kind: Attr<String>,
        id: Attr<String>,
    }
}

crate::model! {
    /// A report's `dns`: what the service's default host resolves to.
    pub struct DnsModel {
        host: Attr<String>,
        resolves_to: Attr<String>,
        reason: Attr<String>,
    }
}

crate::model! {
    /// One entry of a report's `findings`.
    pub struct FindingModel {
        kind: Attr<String>,
        severity: Attr<String>,
        object: Attr<String>,
        message: Attr<String>,
        fix: Attr<String>,
    }
}

crate::model! {
    /// One entry of the top-level `findings`: a finding with its service.
    pub struct ServiceFindingModel {
        service: Attr<String>,
        kind: Attr<String>,
        severity: Attr<String>,
        object: Attr<String>,
        message: Attr<String>,
        fix: Attr<String>,
    }
}

/// A computed attribute's value.
fn known<T>(t: T) -> Attr<T> {
    Attr { val: Val::Known(t), path: Path::root() }
}

impl From<&Report> for ReportModel {
    fn from(r: &Report) -> ReportModel {
        ReportModel {
            name: known(r.name.clone()),
            service_name: known(r.service_name.clone()),
            reachable: known(r.reachable()),
            path: PathModel { kind: known(r.path.name().to_string()), id: known(r.path_id.clone()) },
            dns: DnsModel {
                host: known(r.dns.host.clone()),
                resolves_to: known(r.dns.resolves_to.clone()),
                reason: known(r.dns.reason.clone()),
            },
            findings: Blocks(r.findings.iter().map(FindingModel::from).collect()),
        }
    }
}

impl From<&Finding> for FindingModel {
    fn from(f: &Finding) -> FindingModel {
        FindingModel {
            kind: known(f.kind.name().to_string()),
            severity: known(f.severity().to_string()),
            object: known(f.object.clone()),
            message: known(f.message.clone()),
            fix: known(f.fix.clone()),
        }
    }
}

impl ServiceFindingModel {
    fn new(service: &str, f: &Finding) -> ServiceFindingModel {
        let FindingModel { kind, severity, object, message, fix } = FindingModel::from(f);
        ServiceFindingModel { service: known(service.to_string()), kind, severity, object, message, fix }
    }
}

fn finding_type(with_service: bool) -> Type {
    let mut fields = vec![
        ("kind", Type::String),
        ("severity", Type::String),
        ("object", Type::String),
        ("message", Type::String),
        ("fix", Type::String),
    ];
    if with_service {
        fields.push(("service", Type::String));
    }
    Type::object(fields)
}

fn report_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("service_name", Type::String),
        ("reachable", Type::Bool),
        ("path", Type::object([("kind", Type::String), ("id", Type::String)])),
        ("dns", Type::object([("host", Type::String), ("resolves_to", Type::String), ("reason", Type::String)])),
        ("findings", Type::list(finding_type(false))),
    ])
}

fn schema() -> Schema {
    Schema::new(
        Block::new("Checks every hop from a Lambda function (or subnets and security groups) to AWS services: endpoints and their state, DNS, security groups, network ACLs, routes and endpoint policies. Reads only.")
            .attr(attr("id", Type::String, Mode::Computed, "The function name, or the subnets, then the services."))
            .attr(attr("function_name", Type::String, Mode::Optional, "A Lambda function: its subnets and security groups are checked. Conflicts with `subnet_ids`."))
            .attr(attr("subnet_ids", Type::set(Type::String), Mode::Optional, "The client's subnets, with `security_group_ids`, instead of a function."))
            .attr(attr("security_group_ids", Type::set(Type::String), Mode::Optional, "The client's security groups, with `subnet_ids`."))
            .attr(attr("services", Type::list(Type::String), Mode::Required, "Services as in the bundle (`sqs`, `s3`, `logs`...) or full names (`com.amazonaws.us-east-1.sqs`)."))
            .attr(attr(
                "actions",
                Type::map(Type::list(Type::String)),
                Mode::Optional,
                "Per service (as written in `services`), the actions checked against the endpoint's policy, e.g. `{ sqs = [\"sqs:SendMessage\"] }`.",
            ))
            .attr(attr("vpc_id", Type::String, Mode::Computed, "The client's VPC (empty for a function outside any VPC)."))
            .attr(attr("reachable", Type::Bool, Mode::Computed, "Whether every service is reachable."))
            .attr(attr("service", Type::list(report_type()), Mode::Computed, "One entry per service: `reachable`, `path`, `dns` and its `findings`. A function in a VPC with `Active` tracing gets an `xray` entry too, when `services` does not name it."))
            .attr(attr("findings", Type::list(finding_type(true)), Mode::Computed, "Every service's findings in one list, each naming its service.")),
    )
}

#[tonic::async_trait]
impl DataSource for Reachability {
    fn type_name(&self) -> &'static str {
        "privatelink_reachability"
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        validate(&ReachabilityModel::decode(config))
    }

    async fn read(&self, ctx: &Ctx, config: &Value) -> Result<Value, Diagnostics> {
        let mut m = ReachabilityModel::decode(config);
        let problems = validate(&m);
        if problems.has_errors() {
            return Err(problems);
        }
        let client = if let Some(name) = m.function_name.owned() {
            read::Client::Function(name)
        } else {
            read::Client::Network { subnet_ids: m.subnet_ids.strings(), group_ids: m.security_group_ids.strings() }
        };
        let net = ctx.run("checking reachability", read::network(ctx, &client)).await?;
        let actions = m.actions.get().cloned().unwrap_or_default();
        let reports: Vec<Report> = services_to_check(&m.services.strings(), net.function.as_ref())
            .iter()
            .map(|name| {
                let asked = actions.0.get(name).and_then(Val::known).map(|l| l.known().cloned().collect()).unwrap_or_default();
                analyse(&net, &Ask::new(name, &net.region, asked))
            })
            .collect();
        let vpc =
            net.subnets.as_deref().unwrap_or_default().iter().find(|s| net.client_subnet_ids.contains(&s.id)).map(|s| s.vpc_id.clone());
        tracing::debug!(
            services = reports.len(),
            findings = reports.iter().map(|r| r.findings.len()).sum::<usize>(),
            "reachability checked"
        );
        let who = m.function_name.owned().unwrap_or_else(|| m.subnet_ids.strings().join(","));
        m.id.set_known(format!("{who}:{}", m.services.strings().join(",")));
        m.vpc_id.set_known(vpc.unwrap_or_default());
        m.reachable.set_known(reports.iter().all(Report::reachable));
        m.findings = Blocks(reports.iter().flat_map(|r| r.findings.iter().map(|f| ServiceFindingModel::new(&r.name, f))).collect());
        m.service = Blocks(reports.iter().map(ReportModel::from).collect());
        Ok(m.encode())
    }
}

/// The services asked for, and X-Ray for a function in a VPC with
/// `Active` tracing when not asked for: Lambda sends its traces from the
/// function's own network (`function::TRACING_SERVICE` says how), so a
/// missing X-Ray path loses them as surely as a missing SQS path loses
/// messages.
fn services_to_check(asked: &[String], function: Option<&FunctionFacts>) -> Vec<String> {
    let mut services = asked.to_vec();
    let xray = crate::resources::function::TRACING_SERVICE;
    let traced = function.is_some_and(|f| f.traced && f.in_vpc);
    if traced && !asked.iter().any(|s| crate::resources::endpoint::short_service_name(s) == xray) {
        services.push(xray.to_string());
    }
    services
}

/// Checks that need no AWS call.
fn validate(m: &ReachabilityModel) -> Diagnostics {
    let mut d = Diagnostics::default();
    let by_function = !m.function_name.is_null();
    let (subnets, groups) = (!m.subnet_ids.is_null(), !m.security_group_ids.is_null());
    if by_function && (subnets || groups) {
        let at = if subnets { &m.subnet_ids.path } else { &m.security_group_ids.path };
        d.push(
            Diagnostic::error("Conflicting client", "Give function_name, or subnet_ids with security_group_ids, not both.").at(at.clone()),
        );
    } else if !by_function && !subnets && !groups {
        d.push(
            Diagnostic::error("No client", "Give function_name (a Lambda function), or subnet_ids with security_group_ids.")
                .at(m.function_name.path.clone()),
        );
    } else if subnets != groups && !by_function {
        let missing = if subnets { &m.security_group_ids.path } else { &m.subnet_ids.path };
        d.push(
            Diagnostic::error("Incomplete client", "subnet_ids and security_group_ids go together: a client has both.").at(missing.clone()),
        );
    }
    for (prefix, a) in [("subnet", &m.subnet_ids), ("sg", &m.security_group_ids)] {
        for (i, id) in a.get().iter().flat_map(|s| s.indexed()) {
            if let Err(e) = crate::validate::aws_id(prefix, id) {
                d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(a.path.index(i)));
            }
        }
    }
    let services: Vec<(usize, &String)> = m.services.get().iter().flat_map(|l| l.indexed()).collect();
    if m.services.get().is_some_and(|l| l.is_empty()) {
        d.push(Diagnostic::error("No services", "Name at least one service, e.g. [\"sqs\"].").at(m.services.path.clone()));
    }
    for (i, s) in &services {
        if let Err(e) = crate::resources::endpoint::check_service_name(s) {
            d.push(Diagnostic::error("Invalid service", e).at(m.services.path.index(*i)));
        }
        if services.iter().any(|(j, t)| j < i && t == s) {
            d.push(Diagnostic::error("Duplicate service", format!("{s} is listed twice.")).at(m.services.path.index(*i)));
        }
    }
    if let Some(actions) = m.actions.get() {
        for (service, list) in &actions.0 {
            let at = m.actions.path.key(service);
            if m.services.is_wholly_known() && !services.iter().any(|(_, s)| *s == service) {
                d.push(
                    Diagnostic::error(
                        "Actions for an unlisted service",
                        format!("{service} is not in services; the keys of actions name services listed there."),
                    )
                    .at(at.clone()),
                );
            }
            for (i, action) in list.known().into_iter().flat_map(|l| l.indexed()) {
                if let Err(e) = action_name(action) {
                    d.push(Diagnostic::error("Invalid action", e).at(at.index(i)));
                }
            }
        }
    }
    d
}

/// An IAM action, `prefix:Name`, with IAM's wildcards allowed.
fn action_name(a: &str) -> Result<(), String> {
    let valid = a.split_once(':').is_some_and(|(p, n)| {
        !p.is_empty()
            && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !n.is_empty()
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?')
    });
    if valid {
        Ok(())
    } else {
        Err(format!("{a:?} is not an IAM action: write it as service:Action, e.g. \"sqs:SendMessage\" or \"s3:Get*\"."))
    }
}
