//! The step graph of apply and destroy: the managed group and one part per
//! endpoint, and which step comes after which. Pure, so every shape of the
//! graph is checked by the tests below.

use crate::engine::{self, Dep, Graph};
use crate::parts::vpc_endpoint::Kind;
use crate::resources::endpoint::{short_service_name, Key};

use super::config::part_name;
use super::GROUP_PART;

/// The bundle's parts, as apply and destroy name their steps.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Part {
    Group,
    Endpoint(Key),
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Part::Group => f.write_str(GROUP_PART),
            Part::Endpoint(key) => f.write_str(&part_name(key)),
        }
    }
}

impl Part {
    /// The AWS object behind the part, for diagnostics: `known` is its id
    /// (or the group's name) when known.
    pub(super) fn object(&self, known: Option<&str>) -> String {
        let what = match self {
            Part::Group => "security group".to_string(),
            Part::Endpoint((service, kind)) => format!("{} endpoint for {}", kind.as_str(), short_service_name(service)),
        };
        match (self, known) {
            (Part::Group, Some(name)) => format!("{what} {name}"),
            (Part::Endpoint(_), Some(id)) => format!("{what} ({id})"),
            (_, None) => what,
        }
    }
}

/// A step of apply or destroy: bring a part to the configuration, or remove it.
pub(super) type Op = engine::Op<Part>;

/// What a run does: the group and endpoints brought to the configuration,
/// the endpoints and the group removed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shape {
    pub(super) ensure_group: bool,
    pub(super) ensure: Vec<Key>,
    pub(super) remove: Vec<Key>,
    pub(super) remove_group: bool,
}

impl Shape {
    /// Apply: the configuration's endpoints (`needs_group`: an Interface one
    /// among them) from the prior state's.
    pub(super) fn apply(needs_group: bool, wanted: &[Key], prior: &[Key], prior_group: bool) -> Shape {
        Shape {
            ensure_group: needs_group,
            ensure: wanted.to_vec(),
            remove: prior.iter().filter(|k| !wanted.contains(k)).cloned().collect(),
            remove_group: !needs_group && prior_group,
        }
    }

    /// Destroy: everything the state recorded.
    pub(super) fn destroy(prior: &[Key], group: bool) -> Shape {
        Shape { ensure_group: false, ensure: vec![], remove: prior.to_vec(), remove_group: group }
    }
}

/// The steps of a run: Interface endpoints after the group (Gateway ones
/// use none); the group removed after the endpoints removed. A service's
/// Interface endpoint comes after its Gateway endpoint of the bundle (S3:
/// AWS takes inbound-only private DNS on the Interface endpoint only once
/// the VPC has the Gateway one), and a Gateway endpoint goes only after its
/// service's Interface endpoint was updated or removed (it may rely on it).
pub(super) fn graph(shape: &Shape) -> Graph<Op> {
    let endpoint = |key: &Key, kind: Kind| Part::Endpoint((key.0.clone(), kind));
    let mut g = Vec::new();
    if shape.ensure_group {
        g.push((Op::Ensure(Part::Group), vec![]));
    }
    for key in &shape.ensure {
        let after = match key.1 {
            Kind::Interface => vec![Dep::On(Op::Ensure(Part::Group)), Dep::IfPresent(Op::Ensure(endpoint(key, Kind::Gateway)))],
            Kind::Gateway => vec![],
        };
        g.push((Op::Ensure(Part::Endpoint(key.clone())), after));
    }
    for key in &shape.remove {
        let after = match key.1 {
            Kind::Gateway => {
                let interface = endpoint(key, Kind::Interface);
                vec![Dep::IfPresent(Op::Ensure(interface.clone())), Dep::IfPresent(Op::Remove(interface))]
            }
            Kind::Interface => vec![],
        };
        g.push((Op::Remove(Part::Endpoint(key.clone())), after));
    }
    if shape.remove_group {
        let after = shape.remove.iter().map(|key| Dep::On(Op::Remove(Part::Endpoint(key.clone())))).collect();
        g.push((Op::Remove(Part::Group), after));
    }
    g
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn key(service: &str, kind: Kind) -> Key {
        (format!("com.amazonaws.us-east-1.{service}"), kind)
    }

    fn keys() -> Vec<Key> {
        vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway), key("s3", Kind::Interface), key("logs", Kind::Interface)]
    }

    /// Every subset of `keys()`.
    fn subsets() -> Vec<Vec<Key>> {
        (0..16).map(|m| keys().into_iter().enumerate().filter(|(i, _)| m & (1 << i) != 0).map(|(_, k)| k).collect()).collect()
    }

    fn needs_group(keys: &[Key]) -> bool {
        keys.iter().any(|k| k.1 == Kind::Interface)
    }

    fn edges(shape: &Shape) -> BTreeMap<String, Vec<String>> {
        engine::edges(&graph(shape))
    }

    #[test]
    fn every_apply_and_destroy_graph_is_valid() {
        for wanted in subsets() {
            for prior in subsets() {
                for prior_group in [false, true] {
                    edges(&Shape::apply(needs_group(&wanted), &wanted, &prior, prior_group));
                }
            }
        }
        for prior in subsets() {
            for group in [false, true] {
                edges(&Shape::destroy(&prior, group));
            }
        }
    }

    #[test]
    fn interface_endpoints_come_after_the_group_gateways_do_not() {
        let wanted = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        let e = edges(&Shape::apply(true, &wanted, &[], false));
        assert_eq!(e["security-group"], Vec::<String>::new());
        assert_eq!(e["endpoint/sqs/interface"], ["security-group"]);
        assert_eq!(e["endpoint/s3/gateway"], Vec::<String>::new());
        assert_eq!(e.len(), 3);
    }

    #[test]
    fn an_update_removes_what_is_no_longer_wanted_and_the_group_last() {
        let prior = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        // Keeping an Interface endpoint keeps the group.
        let e = edges(&Shape::apply(true, &prior[..1], &prior, true));
        assert_eq!(e.keys().collect::<Vec<_>>(), ["endpoint/sqs/interface", "remove endpoint/s3/gateway", "security-group"]);
        // Gateway only: the Interface endpoint goes, then the group.
        let e = edges(&Shape::apply(false, &prior[1..], &prior, true));
        assert_eq!(e.keys().collect::<Vec<_>>(), ["endpoint/s3/gateway", "remove endpoint/sqs/interface", "remove security-group"]);
        assert_eq!(e["remove security-group"], ["remove endpoint/sqs/interface"]);
    }

    #[test]
    fn destroy_removes_the_endpoints_then_the_group() {
        let prior = vec![key("sqs", Kind::Interface), key("s3", Kind::Gateway)];
        let e = edges(&Shape::destroy(&prior, true));
        assert_eq!(e["remove security-group"], ["remove endpoint/s3/gateway", "remove endpoint/sqs/interface"]);
        assert_eq!(e.len(), 3);
        let e = edges(&Shape::destroy(&prior, false));
        assert!(!e.contains_key("remove security-group"));
        assert!(edges(&Shape::destroy(&[], false)).is_empty());
    }

    #[test]
    fn an_interface_endpoint_comes_after_its_services_gateway() {
        let wanted = vec![key("s3", Kind::Interface), key("s3", Kind::Gateway), key("sqs", Kind::Interface)];
        let e = edges(&Shape::apply(true, &wanted, &[], false));
        assert_eq!(e["endpoint/s3/interface"], ["endpoint/s3/gateway", "security-group"]);
        assert_eq!(e["endpoint/s3/gateway"], Vec::<String>::new());
        assert_eq!(e["endpoint/sqs/interface"], ["security-group"], "no Gateway of its service: only the group");
        // Without the Gateway in the run, only the group.
        let e = edges(&Shape::apply(true, &wanted[..1], &[], false));
        assert_eq!(e["endpoint/s3/interface"], ["security-group"]);
    }

    #[test]
    fn a_gateway_goes_after_its_services_interface_endpoint() {
        let both = vec![key("s3", Kind::Interface), key("s3", Kind::Gateway)];
        // The Gateway removed while the Interface endpoint stays: updated first.
        let e = edges(&Shape::apply(true, &both[..1], &both, true));
        assert_eq!(e["remove endpoint/s3/gateway"], ["endpoint/s3/interface"]);
        // Both removed (destroy): the Interface endpoint first.
        let e = edges(&Shape::destroy(&both, true));
        assert_eq!(e["remove endpoint/s3/gateway"], ["remove endpoint/s3/interface"]);
        assert_eq!(e["remove endpoint/s3/interface"], Vec::<String>::new());
    }

    #[test]
    fn objects_name_the_aws_object() {
        let sqs = Part::Endpoint(key("sqs", Kind::Interface));
        assert_eq!(sqs.object(None), "Interface endpoint for sqs");
        assert_eq!(sqs.object(Some("vpce-1")), "Interface endpoint for sqs (vpce-1)");
        assert_eq!(Part::Group.object(Some("orders-peb-1")), "security group orders-peb-1");
        assert_eq!(Op::Remove(sqs).to_string(), "remove endpoint/sqs/interface");
    }
}
