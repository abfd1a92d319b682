//! Validation of the configuration alone (no AWS call), run at validate and again at plan.

use std::collections::BTreeMap;

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::Val;
use crate::resources::checks;
use crate::resources::composite::Validate;
use crate::resources::endpoint::{self, short_service_name};
use crate::resources::function::{self, FunctionUse, FUNCTION_NAME_CHARS};

use super::config::{function_group_name, AccessBlock, PrivateFunction};
use super::PrivateFunctionResource;

impl Validate for PrivateFunctionResource {
    fn validate(&self, c: &PrivateFunction) -> Diagnostics {
        let mut d = Diagnostics::default();
        if let Some(Err(e)) = c.name.str().map(check_name) {
            d.push(Diagnostic::error("Invalid name", e).at(c.name.path.clone()));
        }
        checks::check_id(&mut d, "vpc", &c.vpc_id);
        if c.subnet_ids.is_wholly_known() && c.subnet_ids.strings().is_empty() {
            d.push(
                Diagnostic::error("No subnets", "The function needs at least one private subnet (one per Availability Zone).")
                    .at(c.subnet_ids.path.clone()),
            );
        }
        checks::check_ids(&mut d, "subnet", &c.subnet_ids);
        checks::check_tags(&mut d, &c.tags);
        function::validate(&mut d, &c.function);
        d.extend(Diagnostics(c.timeouts.validate()));
        validate_access(&mut d, c);
        d
    }
}

/// The function's name, which also names its role and prefixes its
/// groups: Lambda's and IAM's characters and length (64), and a group's
/// name may not start with `sg-`.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.is_empty() || chars > FUNCTION_NAME_CHARS || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!(
            "{name:?}: 1 to {FUNCTION_NAME_CHARS} letters, digits, '-' or '_' (it names the Lambda function and its IAM role, each at most {FUNCTION_NAME_CHARS} characters)."
        ));
    }
    if name.starts_with("sg-") {
        return Err(format!(
            "{name:?} would name the security group {}, and EC2 refuses group names starting with \"sg-\"; choose another name.",
            function_group_name(name)
        ));
    }
    debug_assert!(FunctionUse::Private.derived_names(name).iter().all(|(_, n, limit)| n.chars().count() <= *limit));
    Ok(())
}

/// Each access block on its own, then across them: one per service.
fn validate_access(d: &mut Diagnostics, c: &PrivateFunction) {
    if c.access.0.is_empty() {
        d.push(
            Diagnostic::error(
                "No access block",
                "Give at least one access { service, actions, resources } block: the function has no NAT, so it reaches only the services it has an endpoint for.",
            )
            .at(crate::diag::Path::attr("access")),
        );
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, a) in c.access.0.iter().enumerate() {
        validate_one(d, a);
        let Some(service) = a.service.str() else { continue };
        let short = short_service_name(service);
        match seen.get(&short) {
            Some(first) => d.push(
                Diagnostic::error(
                    "Two access blocks for one service",
                    format!("access[{first}] already is for {short}: put every action and resource of a service in one block (one endpoint per service)."),
                )
                .at(a.service.path.clone()),
            ),
            None => {
                seen.insert(short, i);
            }
        }
    }
}

fn validate_one(d: &mut Diagnostics, a: &AccessBlock) {
    let service = a.service.str();
    if let Some(Err(e)) = service.map(endpoint::check_service_name) {
        d.push(Diagnostic::error("Invalid service", e).at(a.service.path.clone()));
    }
    match a.endpoint_type.str() {
        None | Some("Interface") => {}
        Some("Gateway") => {
            if let Some(s) = service.filter(|s| !endpoint::gateway_capable(s)) {
                d.push(
                    Diagnostic::error(
                        "No Gateway endpoint for this service",
                        format!(
                            "AWS offers Gateway endpoints for {} only, not for {}: use endpoint_type = \"Interface\".",
                            endpoint::GATEWAY_SERVICES.join(" and "),
                            short_service_name(s)
                        ),
                    )
                    .at(a.endpoint_type.path.clone()),
                );
            }
        }
        Some(other) => d.push(
            Diagnostic::error("Invalid endpoint_type", format!("{other:?}: \"Interface\" or \"Gateway\" (s3 and dynamodb)."))
                .at(a.endpoint_type.path.clone()),
        ),
    }
    if let Val::Known(actions) = &a.actions.val {
        let actions: Vec<String> = actions.known().cloned().collect();
        if actions.is_empty() && a.actions.is_wholly_known() {
            d.push(
                Diagnostic::error("No actions", "Give the IAM actions the function calls, e.g. [\"s3:GetObject\"].")
                    .at(a.actions.path.clone()),
            );
        }
        if let Some(s) = service {
            for action in &actions {
                if let Err(e) = check_action(action, s) {
                    d.push(Diagnostic::error("Action of another service", e).at(a.actions.path.clone()));
                }
            }
        }
    }
    if let Val::Known(resources) = &a.resources.val {
        if resources.known().next().is_none() && a.resources.is_wholly_known() {
            d.push(
                Diagnostic::error(
                    "No resources",
                    "Give the ARNs the actions apply to (\"*\" for a service without resource-level permissions).",
                )
                .at(a.resources.path.clone()),
            );
        }
        for r in resources.known().filter(|r| r.as_str() != "*" && !r.starts_with("arn:")) {
            d.push(
                Diagnostic::error("Invalid resource", format!("{r:?} is not an ARN: write arn:PARTITION:SERVICE:... or \"*\"."))
                    .at(a.resources.path.clone()),
            );
        }
    }
    if let Some(Err(e)) = a.endpoint_id.str().map(|id| crate::validate::aws_id("vpce", id)) {
        d.push(Diagnostic::error("Invalid endpoint id", e).at(a.endpoint_id.path.clone()));
    }
    if let Some(doc) = a.policy.str() {
        if !a.endpoint_id.is_null() {
            d.push(
                Diagnostic::error(
                    "A policy for a reused endpoint",
                    "policy sets the policy of an endpoint this resource makes; a reused endpoint (endpoint_id) keeps its own. Remove one of the two.",
                )
                .at(a.policy.path.clone()),
            );
        } else if let Err(e) = crate::policy::validate(doc) {
            d.push(Diagnostic::error("Invalid endpoint policy", e).at(a.policy.path.clone()));
        }
    }
}

/// An action is `prefix:Name` (wildcards allowed in the name) of the
/// block's service: the role and the endpoint policy are per service, and
/// an action of another service would pass through no endpoint of it.
fn check_action(action: &str, service: &str) -> Result<(), String> {
    let want = endpoint::iam_prefix(service);
    let Some((prefix, name)) = action.split_once(':') else {
        return Err(format!(
            "{action:?} is not an IAM action: write {want}:ActionName (e.g. {want}:Get*), an action of {}.",
            short_service_name(service)
        ));
    };
    if prefix != want {
        return Err(format!(
            "{action:?} is an action of {prefix}, not of {}: put it in an access block with service = \"{prefix}\", or use {want}:... here.",
            short_service_name(service)
        ));
    }
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '*' || c == '?') {
        return Err(format!("{action:?}: the action's name is letters, digits and the wildcards * and ?."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;
    use crate::value::Value;

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    fn access(service: &str, actions: &[&str], extra: Vec<(&str, Value)>) -> Value {
        let mut f = vec![
            ("service", s(service)),
            ("actions", Value::Set(actions.iter().map(|a| s(a)).collect())),
            ("resources", Value::Set(vec![s("arn:aws:s3:::bucket/*")])),
        ];
        f.extend(extra);
        Value::object(f)
    }

    fn errors(name: &str, accesses: Vec<Value>) -> Vec<(String, String)> {
        let c = PrivateFunction::decode(&Value::object(vec![
            ("name", s(name)),
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("subnet_ids", Value::Set(vec![s("subnet-0123456789abcdef0")])),
            ("function", Value::object(vec![("source_dir", s("./src")), ("handler", s("index.handler")), ("runtime", s("python3.12"))])),
            ("access", Value::List(accesses)),
        ]));
        let d = PrivateFunctionResource.validate(&c);
        d.0.iter().map(|d| (d.path.clone().map(|p| p.to_string()).unwrap_or_default(), d.detail.clone())).collect()
    }

    fn paths(e: &[(String, String)]) -> Vec<&str> {
        e.iter().map(|(p, _)| p.as_str()).collect()
    }

    #[test]
    fn a_minimal_config_is_valid() {
        assert_eq!(errors("metadata-reader", vec![access("s3", &["s3:GetObject", "s3:ListBucket"], vec![])]), vec![]);
    }

    #[test]
    fn an_action_of_another_service_is_refused_at_its_block() {
        let e = errors("reader", vec![access("s3", &["s3:GetObject"], vec![]), access("s3x", &["sqs:SendMessage"], vec![])]);
        assert_eq!(paths(&e), ["access[1].actions"]);
        assert!(e[0].1.contains("action of sqs, not of s3x") && e[0].1.contains("service = \"sqs\""), "{}", e[0].1);
        let e = errors("reader", vec![access("com.amazonaws.us-east-1.s3", &["GetObject"], vec![])]);
        assert_eq!(paths(&e), ["access[0].actions"]);
        assert!(e[0].1.contains("s3:ActionName"), "{}", e[0].1);
    }

    #[test]
    fn one_block_per_service_whatever_its_spelling() {
        let e = errors(
            "reader",
            vec![access("s3", &["s3:GetObject"], vec![]), access("com.amazonaws.us-east-1.s3", &["s3:PutObject"], vec![])],
        );
        assert_eq!(paths(&e), ["access[1].service"]);
        assert!(e[0].1.contains("access[0]"), "{}", e[0].1);
        assert_eq!(paths(&errors("reader", vec![])), ["access"]);
    }

    #[test]
    fn endpoint_type_and_reuse() {
        let gw = |svc: &str| access(svc, &[&format!("{svc}:GetItem")], vec![("endpoint_type", s("Gateway"))]);
        assert!(errors("reader", vec![gw("dynamodb")]).is_empty());
        assert_eq!(paths(&errors("reader", vec![gw("sqs")])), ["access[0].endpoint_type"]);
        let e = errors(
            "reader",
            vec![access("s3", &["s3:GetObject"], vec![("endpoint_id", s("vpce-0123456789abcdef0")), ("policy", s("{\"Statement\":[]}"))])],
        );
        assert_eq!(paths(&e), ["access[0].policy"]);
        let e = errors("reader", vec![access("s3", &["s3:GetObject"], vec![("policy", s("{}"))])]);
        assert_eq!(paths(&e), ["access[0].policy"]);
        let e = errors("reader", vec![access("s3", &["s3:GetObject"], vec![("endpoint_id", s("sg-1"))])]);
        assert_eq!(paths(&e), ["access[0].endpoint_id"]);
    }

    #[test]
    fn names() {
        assert!(check_name("metadata-reader").is_ok() && check_name(&"a".repeat(64)).is_ok());
        assert!(check_name(&"a".repeat(65)).unwrap_err().contains("64"));
        assert!(check_name("sg-reader").unwrap_err().contains("sg-reader-function"));
        assert!(check_name("a b").is_err() && check_name("").is_err());
    }
}
