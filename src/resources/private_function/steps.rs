//! The step graph of apply and destroy: the function, its role, log group
//! and group, the endpoints' group, one part per endpoint it makes, and
//! which step comes after which. Pure, so every shape of the graph is
//! checked by the tests below.

use crate::engine::{self, Dep, Graph};
use crate::parts::vpc_endpoint::Kind;
use crate::resources::endpoint::{short_service_name, Key};

/// The parts, as apply and destroy name their steps.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Part {
    /// The role it makes for the function.
    Role,
    /// The function's CloudWatch Logs group, `/aws/lambda/<name>`.
    LogGroup,
    Function,
    FunctionGroup,
    /// The group of the Interface endpoints it makes.
    EndpointGroup,
    /// The function group's egress rules to its endpoints.
    FunctionEgress,
    /// The endpoints' group's ingress rule from the function's group.
    EndpointIngress,
    /// An endpoint it makes: its service (full name) and type.
    Endpoint(Key),
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Role => f.write_str("role"),
            Part::LogGroup => f.write_str("log-group"),
            Part::Function => f.write_str("function"),
            Part::FunctionGroup => f.write_str("function-group"),
            Part::EndpointGroup => f.write_str("endpoint-group"),
            Part::FunctionEgress => f.write_str("function-egress"),
            Part::EndpointIngress => f.write_str("endpoint-ingress"),
            Part::Endpoint((service, kind)) => {
                write!(f, "endpoint/{}/{}", short_service_name(service), kind.as_str().to_ascii_lowercase())
            }
        }
    }
}

/// A step of apply or destroy: bring a part to the configuration, or remove it.
pub(super) type Op = engine::Op<Part>;

/// Which optional parts it makes: its own role, the endpoints' group (for
/// Interface endpoints) and the endpoints (the accesses without endpoint_id).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub(super) struct Own {
    pub(super) role: bool,
    pub(super) endpoints: Vec<Key>,
}

impl Own {
    /// Whether it has (or wants) the endpoints' group: an Interface endpoint of its own.
    pub(super) fn endpoint_group(&self) -> bool {
        self.endpoints.iter().any(|k| k.1 == Kind::Interface)
    }
}

/// Apply's steps for a configuration that wants `wants`, from a prior state
/// that made `had` (`None`: creating).
pub(super) fn apply_graph(wants: &Own, had: Option<&Own>) -> Graph<Op> {
    use engine::Op::{Ensure, Remove};
    use Dep::{IfPresent, On};
    let mut g = vec![
        (Ensure(Part::FunctionGroup), vec![]),
        (Ensure(Part::LogGroup), vec![]),
        // The egress names the endpoints' group when there is one; reused
        // endpoints' groups and the Gateway services' prefix lists are
        // looked up by the step itself.
        (Ensure(Part::FunctionEgress), vec![On(Ensure(Part::FunctionGroup)), IfPresent(Ensure(Part::EndpointGroup))]),
        // Not after the endpoints: making the function does not need them,
        // and on AWS an Interface endpoint is `pending` for about two
        // minutes; side by side, the create takes that wait instead of both
        // in a row. The apply still ends only once each endpoint is
        // available. After its log group: a function that runs before its
        // group exists has nowhere to write (its role may not make one).
        (Ensure(Part::Function), vec![IfPresent(Ensure(Part::Role)), On(Ensure(Part::FunctionEgress)), On(Ensure(Part::LogGroup))]),
    ];
    if wants.role {
        // Its policy names the log group's ARN, which the group's step learns.
        g.push((Ensure(Part::Role), vec![On(Ensure(Part::LogGroup))]));
    }
    if wants.endpoint_group() {
        // The two groups name each other in their rules: each is made with
        // what is known and completed by a rule step once both exist.
        g.push((Ensure(Part::EndpointGroup), vec![]));
        g.push((Ensure(Part::EndpointIngress), vec![On(Ensure(Part::EndpointGroup)), On(Ensure(Part::FunctionGroup))]));
    }
    for key in &wants.endpoints {
        // An Interface endpoint is made behind its group; a Gateway one
        // has none.
        let after = match key.1 {
            Kind::Interface => vec![On(Ensure(Part::EndpointGroup))],
            Kind::Gateway => vec![],
        };
        g.push((Ensure(Part::Endpoint(key.clone())), after));
    }
    // What the new configuration no longer wants (an access removed, now
    // reused or of another type; a role the user now brings) goes once the
    // function moved to its new configuration.
    let had = had.cloned().unwrap_or_default();
    let dropped: Vec<&Key> = had.endpoints.iter().filter(|k| !wants.endpoints.contains(k)).collect();
    for key in &dropped {
        g.push((Remove(Part::Endpoint((*key).clone())), vec![On(Ensure(Part::Function))]));
    }
    if had.endpoint_group() && !wants.endpoint_group() {
        // A group is deleted once no endpoint sits behind it and the
        // function's egress no longer names it.
        let mut after = vec![On(Ensure(Part::FunctionEgress))];
        after.extend(dropped.iter().filter(|k| k.1 == Kind::Interface).map(|k| On(Remove(Part::Endpoint((*k).clone())))));
        g.push((Remove(Part::EndpointGroup), after));
    }
    if had.role && !wants.role {
        g.push((Remove(Part::Role), vec![On(Ensure(Part::Function))]));
    }
    g
}

/// Destroy's steps for a state that made `had`: apply's graph backwards,
/// the function out of the VPC first.
pub(super) fn destroy_graph(had: &Own) -> Graph<Op> {
    use engine::Op::Remove;
    use Dep::{IfPresent, On};
    let function = || vec![On(Remove(Part::Function))];
    let mut g = vec![
        (Remove(Part::Function), vec![]),
        // A log group goes once its function is gone, so nothing writes to it.
        (Remove(Part::LogGroup), function()),
        // A group named in another group's rule cannot be deleted: the
        // endpoints' group (whose ingress names this one) goes first.
        (Remove(Part::FunctionGroup), [function(), vec![IfPresent(Remove(Part::EndpointGroup))]].concat()),
    ];
    if had.role {
        g.push((Remove(Part::Role), function()));
    }
    for key in &had.endpoints {
        g.push((Remove(Part::Endpoint(key.clone())), function()));
    }
    if had.endpoint_group() {
        // The function's egress names the endpoints' group: it goes first.
        g.push((Remove(Part::FunctionEgress), function()));
        let mut after = vec![On(Remove(Part::FunctionEgress))];
        after.extend(had.endpoints.iter().filter(|k| k.1 == Kind::Interface).map(|k| On(Remove(Part::Endpoint(k.clone())))));
        g.push((Remove(Part::EndpointGroup), after));
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::after;

    fn key(service: &str, kind: Kind) -> Key {
        (format!("com.amazonaws.us-east-1.{service}"), kind)
    }

    /// Every combination of the optional parts: its own role or not, and
    /// each subset of an S3 Interface, an SQS Interface and a DynamoDB
    /// Gateway endpoint.
    fn all_owns() -> Vec<Own> {
        let candidates = [key("s3", Kind::Interface), key("sqs", Kind::Interface), key("dynamodb", Kind::Gateway)];
        (0..16)
            .map(|i| Own {
                role: i & 8 != 0,
                endpoints: candidates.iter().enumerate().filter(|(b, _)| i & (1 << b) != 0).map(|(_, k)| k.clone()).collect(),
            })
            .collect()
    }

    #[test]
    fn every_apply_and_destroy_graph_is_valid() {
        for wants in all_owns() {
            for had in std::iter::once(None).chain(all_owns().into_iter().map(Some)) {
                let e = engine::edges(&apply_graph(&wants, had.as_ref()));
                // Whatever else changes: the function after its log group
                // and egress; each Interface endpoint behind the group.
                assert!(after(&e, "function").contains(&"log-group") && after(&e, "function").contains(&"function-egress"));
                for k in wants.endpoints.iter().filter(|k| k.1 == Kind::Interface) {
                    assert_eq!(after(&e, &Part::Endpoint(k.clone()).to_string()), ["endpoint-group"], "{wants:?}");
                }
                // A group goes only once the endpoints behind it and the
                // egress naming it are done.
                if let Some(deps) = e.get("remove endpoint-group") {
                    assert!(deps.contains(&"function-egress".to_string()), "{deps:?}");
                }
            }
        }
        for had in all_owns() {
            let e = engine::edges(&destroy_graph(&had));
            assert_eq!(after(&e, "remove log-group"), ["remove function"]);
            assert!(after(&e, "remove function").is_empty());
            for k in &had.endpoints {
                assert_eq!(after(&e, &format!("remove {}", Part::Endpoint(k.clone()))), ["remove function"]);
            }
        }
    }

    #[test]
    fn create_with_its_own_role_and_an_s3_interface_endpoint() {
        let wants = Own { role: true, endpoints: vec![key("s3", Kind::Interface)] };
        let e = engine::edges(&apply_graph(&wants, None));
        assert_eq!(e.len(), 8, "{e:?}");
        assert_eq!(after(&e, "role"), ["log-group"]);
        assert_eq!(after(&e, "function"), ["function-egress", "log-group", "role"]);
        assert_eq!(after(&e, "function-egress"), ["endpoint-group", "function-group"]);
        assert_eq!(after(&e, "endpoint-ingress"), ["endpoint-group", "function-group"]);
        assert_eq!(after(&e, "endpoint/s3/interface"), ["endpoint-group"]);
        assert!(after(&e, "endpoint-group").is_empty() && after(&e, "function-group").is_empty());
        // An update that keeps everything removes nothing.
        assert_eq!(engine::edges(&apply_graph(&wants, Some(&wants))), e);
    }

    #[test]
    fn a_gateway_endpoint_and_the_users_role_need_no_group_or_role_step() {
        let wants = Own { role: false, endpoints: vec![key("s3", Kind::Gateway)] };
        let e = engine::edges(&apply_graph(&wants, None));
        assert_eq!(
            e.keys().map(String::as_str).collect::<Vec<_>>(),
            ["endpoint/s3/gateway", "function", "function-egress", "function-group", "log-group"]
        );
        assert_eq!(after(&e, "function-egress"), ["function-group"]);
        assert!(after(&e, "endpoint/s3/gateway").is_empty());
    }

    #[test]
    fn an_interface_endpoint_replaced_by_a_gateway_goes_with_its_group_after_the_function_moved() {
        let had = Own { role: true, endpoints: vec![key("s3", Kind::Interface)] };
        let wants = Own { role: false, endpoints: vec![key("s3", Kind::Gateway)] };
        let e = engine::edges(&apply_graph(&wants, Some(&had)));
        assert_eq!(after(&e, "remove endpoint/s3/interface"), ["function"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["function-egress", "remove endpoint/s3/interface"]);
        assert_eq!(after(&e, "remove role"), ["function"]);
        assert!(after(&e, "endpoint/s3/gateway").is_empty());
    }

    #[test]
    fn destroy_takes_the_function_out_first_and_the_groups_last() {
        let had = Own { role: true, endpoints: vec![key("s3", Kind::Interface), key("dynamodb", Kind::Gateway)] };
        let e = engine::edges(&destroy_graph(&had));
        assert_eq!(after(&e, "remove role"), ["remove function"]);
        assert_eq!(after(&e, "remove function-egress"), ["remove function"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["remove endpoint/s3/interface", "remove function-egress"]);
        assert_eq!(after(&e, "remove function-group"), ["remove endpoint-group", "remove function"]);
        // Without an endpoints' group, the function's group goes right after the function.
        let e = engine::edges(&destroy_graph(&Own { role: false, endpoints: vec![key("dynamodb", Kind::Gateway)] }));
        assert_eq!(after(&e, "remove function-group"), ["remove function"]);
        assert!(!e.contains_key("remove role") && !e.contains_key("remove endpoint-group"));
    }
}
