//! `privatelink_private_function`: one Lambda function in private subnets
//! with no NAT, and a private path to every AWS service it calls: per
//! `access` block an endpoint (Interface behind the composite's endpoint
//! group, or Gateway on the subnets' route tables) or one reused, and a
//! role statement with exactly that block's actions on its resources.
//!
//! Parts and their order: the function's group and the endpoints' group
//! first, each completed by a rule step once both exist; the endpoints
//! after their group; the role after the log group (its policy names the
//! group); the function after its role, its egress and its log group.
//! Delete runs it backwards, taking the function out of the VPC first. The
//! function is the function block in its private use, each endpoint the
//! endpoint block.

use crate::model::Attr;
use crate::resources::composite::Composite;
use crate::resources::function::{self, FunctionUse};
use crate::resources::Timeouts;
use crate::schema::{attr, Block, Mode, Nesting, Schema, Type};

// One file per phase, the same in every composite (see the pipeline's
// mod.rs); this file keeps the schema and what the composite is.
mod apply;
mod config;
mod import;
mod list;
mod plan;
mod read;
mod steps;
mod validate;

use apply::Record;
use config::{Desired, PrivateFunction};
use steps::Part;

pub const TYPE_NAME: &str = "privatelink_private_function";

/// The `timeouts` defaults: as the pipeline's, 45 minutes to delete, for
/// Lambda to release the function's network interfaces (see
/// `private_lambda_pipeline::TIMEOUTS`).
pub const TIMEOUTS: Timeouts = crate::resources::private_lambda_pipeline::TIMEOUTS;

fn access_block() -> Block {
    Block::new("One AWS service the function calls: its endpoint and the role's rights on it.")
        .attr(attr(
            "service",
            Type::String,
            Mode::Required,
            "The service: a short name (`s3`, `sqs`, `dynamodb`, `secretsmanager`, `ecr.api`) or a full name `com.amazonaws.REGION.x`; at most one block per service.",
        ))
        .attr(attr(
            "actions",
            Type::set(Type::String),
            Mode::Required,
            "IAM actions of that service the function may call, e.g. `s3:GetObject`; the role and (unless `policy` is given) the endpoint's policy allow exactly these.",
        ))
        .attr(attr(
            "resources",
            Type::set(Type::String),
            Mode::Required,
            "ARNs the actions apply to (`*` where the service has no resource-level permissions).",
        ))
        .attr(attr(
            "endpoint_type",
            Type::String,
            Mode::OptionalComputed,
            "`Interface` (default: in the subnets, behind a group admitting only the function) or `Gateway` (s3 and dynamodb: on the subnets' route tables, free of charge).",
        ))
        .attr(attr(
            "endpoint_id",
            Type::String,
            Mode::Optional,
            "Use this existing endpoint of the service instead of making one (e.g. a privatelink_service_endpoint_bundle's); the function's group gets egress to it.",
        ))
        .attr(attr(
            "policy",
            Type::String,
            Mode::Optional,
            "The endpoint's policy (JSON) instead of the one allowing exactly `actions` on `resources`; not with endpoint_id.",
        ))
}

fn schema() -> Schema {
    let timeouts = crate::resources::timeouts_schema(
        "How long create, update and delete may take (default 10m, 10m and 45m: a destroy waits for Lambda to release the function's network interfaces).",
        ["e.g. `15m`.", "e.g. `10m`.", "e.g. `60m` (VPC functions release their network interfaces slowly)."],
    );
    let mut root = Block::new("A private Lambda function (no NAT) with an endpoint for every AWS service it calls, its security group (egress HTTPS to those endpoints only), the endpoints' group (HTTPS from the function only), a least-privilege role and its log group.")
        .attr(attr("id", Type::String, Mode::Computed, "The function's name."))
        .attr(attr("name", Type::String, Mode::Required, "The function's name (and its role's), and the prefix of its groups' names. Changing it replaces the resource."))
        .attr(attr("vpc_id", Type::String, Mode::Required, "The VPC. Changing it replaces the resource."))
        .attr(attr("subnet_ids", Type::set(Type::String), Mode::Required, "Private subnets of the function and its Interface endpoints, one per Availability Zone; their route tables get the Gateway endpoints."))
        .attr(attr("tags", Type::map(Type::String), Mode::Optional, "Tags for every object, over the provider's default_tags."))
        .attr(attr("tags_all", Type::map(Type::String), Mode::Computed, "tags merged over the provider's default_tags."))
        .attr(attr("rule_drift", Type::list(Type::String), Mode::Computed, "How the security groups' rules differ from what the function needs (changed outside Terraform); the next apply repairs them."))
        .attr(attr("endpoints", Type::map(Type::String), Mode::Computed, "The endpoint each access uses (made or reused), by service as written in `access`."));
    for (name, description) in COMPUTED {
        root = root.attr(attr(name, Type::String, Mode::Computed, description));
    }
    Schema::new(
        root.required_block("function", function::schema(FunctionUse::Private, "The function, placed in the subnets."))
            .block_at_least("access", Nesting::List, 1, access_block())
            .block("timeouts", Nesting::Group, timeouts),
    )
}

/// The ids of what the composite made, all computed.
const COMPUTED: [(&str, &str); 4] = [
    ("function_arn", "ARN of the function."),
    ("role_arn", "The function's execution role (the one it made, or function.role_arn)."),
    ("security_group_id", "The function's security group (egress TCP 443 to its endpoints only, no ingress)."),
    (
        "endpoint_security_group_id",
        "The group of the Interface endpoints it made (TCP 443 in from the function only); null when it made none.",
    ),
];

pub struct PrivateFunctionResource;

impl Composite for PrivateFunctionResource {
    type Model = PrivateFunction;
    type Desired = Desired;
    type Record = Record;
    type Part = Part;
    const TYPE_NAME: &'static str = TYPE_NAME;
    const NOUN: &'static str = "the private function";
    const IMPORT_READS: bool = true;

    fn schema(&self) -> Schema {
        schema()
    }

    fn vpc_id(m: &PrivateFunction) -> &Attr<String> {
        &m.vpc_id
    }

    fn desired(m: &PrivateFunction, region: &str) -> Desired {
        Desired::from(m, region)
    }

    fn timeouts(m: &PrivateFunction) -> Timeouts {
        m.timeouts.limits(TIMEOUTS)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::config::AccessBlock;
    use super::*;
    use crate::model::{self, Model};
    use crate::resources::function::FunctionBlock;
    use crate::resources::TimeoutsBlock;

    #[test]
    fn the_models_name_the_schemas_attributes() {
        let s = schema();
        assert_eq!(model::attribute_mismatch::<PrivateFunction>(&s.block), Vec::<String>::new());
        let f = &s.block.nested("function").unwrap().block;
        let others: Vec<String> =
            FunctionUse::Private.other_attributes().iter().map(|a| format!("{a}: in the model, not in the schema")).collect();
        assert_eq!(model::attribute_mismatch::<FunctionBlock>(f), others);
        assert_eq!(model::attribute_mismatch::<AccessBlock>(&s.block.nested("access").unwrap().block), Vec::<String>::new());
        assert_eq!(model::attribute_mismatch::<TimeoutsBlock>(&s.block.nested("timeouts").unwrap().block), Vec::<String>::new());
        let ids: Vec<String> = PrivateFunction::decode(&crate::value::Value::Null).ids().iter().map(|a| a.path.to_string()).collect();
        assert_eq!(ids, COMPUTED.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>());
        assert_eq!(s.block.nested("access").unwrap().min_items, 1);
    }

    #[test]
    fn delete_waits_45_minutes_by_default() {
        assert_eq!(TIMEOUTS.delete, Duration::from_secs(45 * 60));
    }
}
