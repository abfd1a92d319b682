//! `privatelink_service_endpoint_bundle`: private access from a VPC to AWS
//! services with no NAT. One security group in front of the Interface
//! endpoints (TCP 443 from the named clients only, no egress) and one VPC
//! endpoint per `endpoint` block.
//!
//! Parts: `security-group`, `endpoint/<service>/<type>`. Endpoints come
//! after the group; removed endpoints go before the group is deleted.

use crate::model::Attr;
use crate::resources::composite::Composite;
use crate::resources::Timeouts;
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};

// One file per phase, the same in every composite: config (the typed
// model of its values, the desired state and the parts' specs), validate
// (the configuration alone), plan (with the plan-time checks and a destroy
// plan's warnings), steps (the step graph), apply, read (observe and
// refresh) and import. Each phase file implements its phase trait of
// `composite`; this file keeps the schema and what the bundle is.
mod apply;
mod config;
mod import;
mod list;
mod plan;
mod read;
mod steps;
mod validate;

pub use crate::resources::endpoint::Key;
use apply::Record;
pub use config::bundle_id;
use config::{Bundle, Desired};
use steps::Part;

pub const TYPE_NAME: &str = "privatelink_service_endpoint_bundle";
const GROUP_PART: &str = "security-group";

// ---------------------------------------------------------------- schema

fn schema() -> Schema {
    let set = || Type::set(Type::String);
    let endpoint = Block::new("One VPC endpoint.")
        .attr(attr(
            "service",
            Type::String,
            Mode::Required,
            "Service: a short name (`sqs`, `s3`, `logs`, `ecr.api`) or a full name `com.amazonaws.REGION.x`.",
        ))
        .attr(attr("type", Type::String, Mode::OptionalComputed, "`Interface` (default) or `Gateway` (s3 and dynamodb only)."))
        .attr(attr(
            "private_dns_enabled",
            Type::Bool,
            Mode::OptionalComputed,
            "Resolve the service's public name to the endpoint inside the VPC. Default true for Interface; not allowed for Gateway.",
        ))
        .attr(attr(
            "private_dns_only_for_inbound_resolver_endpoint",
            Type::Bool,
            Mode::OptionalComputed,
            "S3 Interface endpoint with private DNS only: true answers the private DNS name to inbound Resolver endpoints only (on-premises clients), and clients in the VPC reach S3 through the VPC's S3 Gateway endpoint, which AWS requires then. Default: true when the bundle has an S3 Gateway endpoint (or the VPC already has one), else false.",
        ))
        .attr(attr(
            "policy",
            Type::String,
            Mode::OptionalComputed,
            "Endpoint policy (JSON). Unset: AWS's default full-access policy. Semantically equal JSON shows no diff.",
        ))
        .attr(attr("subnet_ids", set(), Mode::OptionalComputed, "Subnets for this Interface endpoint; default the bundle's `subnet_ids`."))
        .attr(attr(
            "route_table_ids",
            set(),
            Mode::OptionalComputed,
            "Route tables for this Gateway endpoint; default the bundle's `route_table_ids`.",
        ))
        .attr(attr("id", Type::String, Mode::Computed, "Endpoint id (vpce-...)."))
        .attr(attr("service_name", Type::String, Mode::Computed, "Full service name."))
        .attr(attr("state", Type::String, Mode::Computed, "Endpoint state as AWS reports it (lower case)."))
        .attr(attr("dns_names", Type::list(Type::String), Mode::Computed, "DNS names of an Interface endpoint."))
        .attr(attr("network_interface_ids", set(), Mode::Computed, "Network interfaces of an Interface endpoint."))
        .attr(attr("prefix_list_id", Type::String, Mode::Computed, "Prefix list of a Gateway endpoint's service."))
        .attr(attr("security_group_ids", set(), Mode::Computed, "Security groups attached to an Interface endpoint."));
    let timeouts = crate::resources::timeouts_schema("How long create, update and delete may take (default 10m each).", ["e.g. `10m`."; 3]);
    Schema::new(
        Block::new("Private access from a VPC to AWS services with no NAT: VPC endpoints, the one security group in front of them, subnets, route tables, private DNS and endpoint policies.")
            .attr(attr("id", Type::String, Mode::Computed, "Bundle id (`peb-` + 16 hex digits); every object made carries it in the `privatelink:owner` tag."))
            .attr(attr("name", Type::String, Mode::Optional, "Label used in the security group's name and to tell two bundles in one VPC apart. Changing it replaces the bundle."))
            .attr(attr("vpc_id", Type::String, Mode::Required, "The VPC. Changing it replaces the bundle."))
            .attr(attr("subnet_ids", set(), Mode::Optional, "Subnets for Interface endpoints, at most one per Availability Zone."))
            .attr(attr("route_table_ids", set(), Mode::Optional, "Route tables for Gateway endpoints."))
            .attr(attr("allowed_security_group_ids", set(), Mode::Optional, "Security groups of the clients that may connect (TCP 443)."))
            .attr(attr("allowed_cidr_blocks", set(), Mode::Optional, "CIDR blocks of the clients that may connect (TCP 443)."))
            .attr(attr("security_group_ids", set(), Mode::Optional, "Extra security groups you own, attached to every Interface endpoint besides the managed one."))
            .attr(attr("adopt_existing", Type::Bool, Mode::Optional, "Take over an endpoint that already exists in the VPC for a service instead of failing at plan."))
            .attr(attr("tags", Type::map(Type::String), Mode::Optional, "Tags for every object, over the provider's `default_tags`."))
            .attr(attr("tags_all", Type::map(Type::String), Mode::Computed, "`tags` merged over the provider's `default_tags`."))
            .attr(attr("security_group_id", Type::String, Mode::Computed, "The managed security group in front of the Interface endpoints."))
            .attr(attr("unexpected_rules", Type::list(Type::String), Mode::Computed, "Rules found on the managed group that the bundle did not make; the next apply removes them."))
            .block_at_least("endpoint", Nesting::List, 1, endpoint)
            // A Group block: in the state whether written or not, so an
            // import that leaves it out plans no change.
            .block("timeouts", Nesting::Group, timeouts),
    )
}

// ---------------------------------------------------------------- resource

pub struct ServiceEndpointBundle;

impl Composite for ServiceEndpointBundle {
    type Model = Bundle;
    type Desired = Desired;
    type Record = Record;
    type Part = Part;
    const TYPE_NAME: &'static str = TYPE_NAME;
    const NOUN: &'static str = "the bundle";
    /// The endpoints an import reads are the whole bundle already.
    const IMPORT_READS: bool = false;

    fn schema(&self) -> Schema {
        schema()
    }

    fn vpc_id(m: &Bundle) -> &Attr<String> {
        &m.vpc_id
    }

    fn desired(m: &Bundle, region: &str) -> Desired {
        Desired::from_planned(m, region)
    }

    fn timeouts(m: &Bundle) -> Timeouts {
        m.timeouts.limits(Timeouts::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::config::EndpointBlock;
    use super::plan::{has_gateway, inbound_only_lookup, plan_state, prior_endpoint, InboundOnlyLookup};
    use super::read::classify_rules;
    use super::*;
    use crate::diag::Diagnostics;
    use crate::model::{List, Model, Set, Val};
    use crate::parts::security_group::{self as sg, Peer, Rule};
    use crate::parts::tags::Tags;
    use crate::parts::vpc_endpoint::Kind;
    use crate::resources::composite::Validate;
    use crate::resources::TimeoutsBlock;
    use crate::value::Value;

    fn s(v: &str) -> Value {
        Value::string(v)
    }
    fn set(items: &[&str]) -> Value {
        Value::Set(items.iter().map(|i| s(i)).collect())
    }
    fn obj(fields: Vec<(&str, Value)>) -> Value {
        Value::object(fields)
    }

    fn config(endpoints: Vec<Value>) -> Value {
        obj(vec![
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("subnet_ids", set(&["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"])),
            ("route_table_ids", set(&["rtb-0123456789abcdef0"])),
            ("allowed_security_group_ids", set(&["sg-0123456789abcdef0"])),
            ("endpoint", Value::List(endpoints)),
        ])
    }

    fn validate_config(v: &Value) -> Diagnostics {
        ServiceEndpointBundle.validate(&Bundle::decode(v))
    }

    #[test]
    fn the_models_name_the_schemas_attributes() {
        let s = schema();
        assert_eq!(crate::model::attribute_mismatch::<Bundle>(&s.block), Vec::<String>::new());
        let endpoint = &s.block.nested("endpoint").unwrap().block;
        assert_eq!(crate::model::attribute_mismatch::<EndpointBlock>(endpoint), Vec::<String>::new());
        let timeouts = &s.block.nested("timeouts").unwrap().block;
        assert_eq!(crate::model::attribute_mismatch::<TimeoutsBlock>(timeouts), Vec::<String>::new());
    }

    fn paths(d: &Diagnostics) -> Vec<String> {
        d.0.iter().map(|d| d.path.clone().map(|p| p.to_string()).unwrap_or_default()).collect()
    }

    #[test]
    fn bundle_id_is_stable_and_order_free() {
        let a = bundle_id("vpc-1", None, &[("x".into(), Kind::Interface), ("y".into(), Kind::Gateway)]);
        let b = bundle_id("vpc-1", None, &[("y".into(), Kind::Gateway), ("x".into(), Kind::Interface)]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4 + 16);
        assert_ne!(a, bundle_id("vpc-1", Some("other"), &[("x".into(), Kind::Interface), ("y".into(), Kind::Gateway)]));
    }

    #[test]
    fn a_good_config_validates() {
        let d = validate_config(&config(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])]));
        assert!(d.0.is_empty(), "{:?}", d.0);
    }

    #[test]
    fn bad_input_names_the_attribute() {
        let mut c = config(vec![
            obj(vec![("service", s("sqs")), ("type", s("Gateway"))]),
            obj(vec![("service", s("s3")), ("type", s("Gateway")), ("private_dns_enabled", Value::Bool(true))]),
            obj(vec![("service", s("logs")), ("policy", s("{not json"))]),
            obj(vec![("service", s("logs"))]),
            obj(vec![("service", s("SQS!")), ("type", s("interface"))]),
        ]);
        if let Value::Object(f) = &mut c {
            f.insert("vpc_id".into(), s("vpc-123"));
            f.insert("allowed_cidr_blocks".into(), set(&["10.0.0.1/16", "0.0.0.0/0"]));
        }
        let p = paths(&validate_config(&c));
        for want in [
            "vpc_id",
            "allowed_cidr_blocks",
            "endpoint[0].type",
            "endpoint[1].private_dns_enabled",
            "endpoint[2].policy",
            "endpoint[3].service",
            "endpoint[4].type",
            "endpoint[4].service",
        ] {
            assert!(p.iter().any(|x| x == want), "no diagnostic at {want}: {p:?}");
        }
    }

    #[test]
    fn missing_placement_and_clients_are_errors() {
        let c = obj(vec![
            ("vpc_id", s("vpc-0123456789abcdef0")),
            ("endpoint", Value::List(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])])),
        ]);
        let p = paths(&validate_config(&c));
        assert!(p.contains(&"endpoint[0]".to_string()), "{p:?}");
        assert!(p.contains(&"endpoint[1]".to_string()), "{p:?}");
        assert!(p.contains(&"allowed_security_group_ids".to_string()), "{p:?}");
    }

    #[test]
    fn unknown_values_are_left_for_later() {
        let c = obj(vec![
            ("vpc_id", Value::Unknown),
            ("subnet_ids", Value::Unknown),
            ("allowed_security_group_ids", Value::Unknown),
            ("endpoint", Value::List(vec![obj(vec![("service", s("sqs"))])])),
        ]);
        assert!(validate_config(&c).0.is_empty());
    }

    #[test]
    fn create_plan_has_unknown_ids_and_defaults() {
        let c = config(vec![obj(vec![("service", s("sqs"))]), obj(vec![("service", s("s3")), ("type", s("Gateway"))])]);
        let p = plan_state(Some("us-east-1"), &Tags::new(), &Value::Null, &c, &c).state;
        assert!(p.get("id").as_str().unwrap().starts_with("peb-"));
        assert!(p.get("security_group_id").is_unknown());
        let eps = p.get("endpoint").elements();
        assert_eq!(eps[0].get("type").as_str(), Some("Interface"));
        assert_eq!(eps[0].get("private_dns_enabled").as_bool(), Some(true));
        assert_eq!(eps[0].get("subnet_ids").strings().len(), 2);
        assert!(eps[0].get("route_table_ids").is_null());
        assert!(eps[0].get("id").is_unknown());
        assert_eq!(eps[1].get("private_dns_enabled"), &Value::Null);
        assert_eq!(eps[1].get("route_table_ids").strings(), vec!["rtb-0123456789abcdef0"]);
        assert_eq!(eps[1].get("service_name").as_str(), Some("com.amazonaws.us-east-1.s3"));
    }

    #[test]
    fn unchanged_config_plans_the_prior_state() {
        let c = config(vec![obj(vec![("service", s("sqs"))])]);
        let mut prior = plan_state(Some("us-east-1"), &Tags::new(), &Value::Null, &c, &c).state;
        // Fill what apply would have filled.
        if let Value::Object(f) = &mut prior {
            f.insert("security_group_id".into(), s("sg-0000000000000000a"));
            if let Some(Value::List(bs)) = f.get_mut("endpoint") {
                if let Value::Object(bf) = &mut bs[0] {
                    bf.insert("id".into(), s("vpce-0000000000000000a"));
                    bf.insert("state".into(), s("available"));
                    bf.insert("dns_names".into(), Value::List(vec![]));
                    bf.insert("network_interface_ids".into(), set(&[]));
                    bf.insert("security_group_ids".into(), set(&["sg-0000000000000000a"]));
                }
            }
        }
        let planned = plan_state(Some("us-east-1"), &Tags::new(), &prior, &c, &c);
        assert_eq!(planned.state, prior);
        assert!(planned.requires_replace.is_empty());
    }

    const INBOUND_ONLY: &str = "private_dns_only_for_inbound_resolver_endpoint";

    fn s3_interface(extra: Vec<(&str, Value)>) -> Value {
        let mut f = vec![("service", s("s3")), ("type", s("Interface"))];
        f.extend(extra);
        obj(f)
    }

    fn s3_gateway() -> Value {
        obj(vec![("service", s("s3")), ("type", s("Gateway"))])
    }

    #[test]
    fn inbound_only_dns_is_refused_where_it_does_not_apply() {
        let on = || (INBOUND_ONLY, Value::Bool(true));
        let c = config(vec![
            obj(vec![("service", s("s3")), ("type", s("Gateway")), on()]),
            obj(vec![("service", s("sqs")), on()]),
            s3_interface(vec![("private_dns_enabled", Value::Bool(false)), on()]),
        ]);
        let d = validate_config(&c);
        assert_eq!(paths(&d), (0..3).map(|i| format!("endpoint[{i}].{INBOUND_ONLY}")).collect::<Vec<_>>());
        assert!(d.0.iter().all(|d| d.detail.contains("Interface endpoint for \"s3\" with private DNS on")), "{:?}", d.0);
        assert!(d.0[0].detail.contains("Gateway endpoint") && d.0[1].detail.contains("\"sqs\""), "{:?}", d.0);
        assert!(d.0[2].detail.contains("private_dns_enabled = false"), "{:?}", d.0);
        // An s3 Interface endpoint takes it (by full name too); private DNS unknown is left for later.
        for ok in [
            obj(vec![("service", s("com.amazonaws.us-east-1.s3")), on()]),
            s3_interface(vec![("private_dns_enabled", Value::Unknown), (INBOUND_ONLY, Value::Bool(false))]),
        ] {
            let d = validate_config(&config(vec![ok]));
            assert!(d.0.is_empty(), "{:?}", d.0);
        }
        // True with no Gateway in the bundle is for the plan to check (the VPC may have one).
        assert!(validate_config(&config(vec![s3_interface(vec![on()])])).0.is_empty());
    }

    /// The planned blocks and, for each, what plan must ask AWS.
    fn planned_inbound_only(prior: &Value, c: &Value) -> Vec<(Val<bool>, Option<InboundOnlyLookup>)> {
        let planned = Bundle::decode(&plan_state(Some("us-east-1"), &Tags::new(), prior, c, c).state);
        let (prior, config) = ((!prior.is_null()).then(|| Bundle::decode(prior)), Bundle::decode(c));
        let gateway = |b: &EndpointBlock| has_gateway(&planned, &b.key("us-east-1").0, "us-east-1");
        let before = |b: &EndpointBlock| prior.as_ref().and_then(|p| prior_endpoint(p, &b.key("us-east-1"), "us-east-1")).cloned();
        let blocks = planned.endpoint.0.iter().zip(&config.endpoint.0);
        blocks
            .map(|(b, cfg)| {
                (b.private_dns_only_for_inbound_resolver_endpoint.val.clone(), inbound_only_lookup(b, cfg, before(b).as_ref(), gateway(b)))
            })
            .collect()
    }

    #[test]
    fn inbound_only_dns_defaults_to_the_gateway_of_the_bundle_else_the_vpcs() {
        // Alone: unknown until plan has looked for a Gateway endpoint in the VPC.
        let alone = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![]), obj(vec![("service", s("sqs"))])]));
        assert_eq!(alone, vec![(Val::Unknown, Some(InboundOnlyLookup::Settle)), (Val::Null, None)]);
        // Next to the bundle's Gateway: true, with no call.
        let both = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![]), s3_gateway()]));
        assert_eq!(both, vec![(Val::Known(true), None), (Val::Null, None)]);
        // Private DNS off: nothing.
        let off = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![("private_dns_enabled", Value::Bool(false))])]));
        assert_eq!(off, vec![(Val::Null, None)]);
        // Written: as written; true without the bundle's Gateway is checked against the VPC.
        let f = |v: bool| (INBOUND_ONLY, Value::Bool(v));
        assert_eq!(planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![f(false)])])), vec![(Val::Known(false), None)]);
        let t = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![f(true)])]));
        assert_eq!(t, vec![(Val::Known(true), Some(InboundOnlyLookup::Check))]);
        let t = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![f(true)]), s3_gateway()]));
        assert_eq!(t[0], (Val::Known(true), None));
        // Unknown in the configuration: unknown, and never settled by plan.
        let u = planned_inbound_only(&Value::Null, &config(vec![s3_interface(vec![(INBOUND_ONLY, Value::Unknown)])]));
        assert_eq!(u, vec![(Val::Unknown, None)]);
    }

    /// A state as apply leaves it for `c`, with `inbound_only` on the s3 Interface endpoint.
    fn applied(c: &Value, inbound_only: bool) -> Value {
        let mut state = Bundle::decode(&plan_state(Some("us-east-1"), &Tags::new(), &Value::Null, c, c).state);
        state.security_group_id.set_known("sg-0000000000000000a".into());
        for (i, b) in state.endpoint.0.iter_mut().enumerate() {
            b.id.set_known(format!("vpce-000000000000000{i}"));
            for a in [&mut b.state, &mut b.prefix_list_id] {
                a.set(Val::Known("x".into()));
            }
            b.dns_names.set_known(List::default());
            b.network_interface_ids.set_known(Set::default());
            let interface = b.kind() == Kind::Interface;
            b.security_group_ids.set(if interface { Val::Known(Set::of(&["sg-0000000000000000a".to_string()])) } else { Val::Null });
            if b.inbound_only_applies() == Some(true) {
                b.private_dns_only_for_inbound_resolver_endpoint.set_known(inbound_only);
            }
        }
        state.encode()
    }

    #[test]
    fn inbound_only_dns_of_an_existing_endpoint() {
        // Kept with no call: the value settled when it was made.
        let alone = config(vec![s3_interface(vec![])]);
        let planned = planned_inbound_only(&applied(&alone, false), &alone);
        assert_eq!(planned, vec![(Val::Known(false), None)]);
        let planned = planned_inbound_only(&applied(&alone, true), &alone);
        assert_eq!(planned, vec![(Val::Known(true), None)], "settled from the VPC's own Gateway endpoint");
        // The bundle's Gateway goes: the Interface endpoint serves the VPC now.
        let both = config(vec![s3_interface(vec![]), s3_gateway()]);
        assert_eq!(planned_inbound_only(&applied(&both, true), &alone), vec![(Val::Known(false), None)]);
        // A Gateway added: the VPC's clients take it.
        assert_eq!(planned_inbound_only(&applied(&alone, false), &both)[0], (Val::Known(true), None));
        // Turned on by hand with no Gateway in the bundle: checked against the VPC.
        let on = config(vec![s3_interface(vec![(INBOUND_ONLY, Value::Bool(true))])]);
        assert_eq!(planned_inbound_only(&applied(&alone, false), &on), vec![(Val::Known(true), Some(InboundOnlyLookup::Check))]);
        assert_eq!(planned_inbound_only(&applied(&alone, true), &on), vec![(Val::Known(true), None)], "already on: no call");
        // A change of it leaves the endpoint's state to apply.
        let planned = plan_state(Some("us-east-1"), &Tags::new(), &applied(&alone, true), &both, &both).state;
        assert!(planned.get("endpoint").elements()[0].get("state").as_str().is_some(), "unchanged: state kept");
        let planned = plan_state(Some("us-east-1"), &Tags::new(), &applied(&both, true), &alone, &alone).state;
        assert!(planned.get("endpoint").elements()[0].get("state").is_unknown(), "changed: state after apply");
    }

    #[test]
    fn rules_are_classified() {
        let rules = vec![
            Rule::https_from(Peer::Group("sg-1".into())),
            Rule::https_from(Peer::Cidr("10.0.0.0/16".into())),
            Rule {
                direction: sg::Direction::Ingress,
                protocol: "tcp".into(),
                from_port: 22,
                to_port: 22,
                peer: Peer::Cidr("0.0.0.0/0".into()),
                id: None,
            },
        ];
        let (g, c, other) = classify_rules(&rules);
        assert_eq!(g, vec!["sg-1"]);
        assert_eq!(c, vec!["10.0.0.0/16"]);
        assert_eq!(other.len(), 1);
    }
}
