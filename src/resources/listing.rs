//! List resources (Terraform 1.14+, `terraform query`): the composites that
//! exist in the region, found without any state through the owner tag every
//! object of a composite carries. What every composite's list shares is
//! here: the `config` block (`vpc_id`, `name_prefix`), the one search of
//! the region, and the filters. Each composite's `list.rs` says which of
//! the owned objects are its own and what identity they give.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics, Path};
use crate::identity::REGION;
use crate::model::Attr;
use crate::parts::security_group as sg;
use crate::parts::tags::Owned;
use crate::parts::vpc_endpoint as vpce;
use crate::schema::{attr, Block, Mode, Schema, Type};
use crate::value::Value;

crate::model! {
    /// A list block's `config`.
    pub struct ListConfig {
        vpc_id: Attr<String>,
        name_prefix: Attr<String>,
    }
}

/// The `config` block of every composite's list.
pub fn schema() -> Schema {
    Schema::new(
        Block::new("Which composites to list; with no filter, every one in the provider's region.")
            .attr(attr("vpc_id", Type::String, Mode::Optional, "Only those in this VPC (`vpc-...`)."))
            .attr(attr("name_prefix", Type::String, Mode::Optional, "Only those whose name starts with this text.")),
    )
}

/// Checks of a list's configuration: no AWS call. Paths start at the
/// `list` block, whose `config` block holds the attributes: Terraform
/// places a list's diagnostics against the whole block.
pub fn validate(c: &ListConfig) -> Diagnostics {
    let mut d = Diagnostics::default();
    if let Some(v) = c.vpc_id.str() {
        if let Err(e) = crate::validate::aws_id("vpc", v) {
            d.push(Diagnostic::error("Invalid vpc_id", e).at(Path::attr("config").then("vpc_id")));
        }
    }
    if c.name_prefix.str() == Some("") {
        d.push(
            Diagnostic::error(
                "Invalid name_prefix",
                "name_prefix is empty; leave it out to list every name, or give the start of the names to list.",
            )
            .at(Path::attr("config").then("name_prefix")),
        );
    }
    d
}

/// One composite found: what a list result carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    /// The composite's resource identity.
    pub identity: Value,
    /// Its name, for `name_prefix`; None for an unnamed one.
    pub name: Option<String>,
    /// How `terraform query` shows it.
    pub display_name: String,
}

/// The objects of the region (or of one VPC) that carry an owner tag:
/// security groups and endpoints, one paginated call each.
pub async fn owned_objects(ctx: &Ctx, vpc_id: Option<&str>) -> Result<Vec<Owned>, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let mut found = ctx.run("looking for security groups with an owner tag", sg::find_owned(ec2, vpc_id)).await?;
    found.extend(ctx.run("looking for endpoints with an owner tag", vpce::find_owned(ec2, vpc_id)).await?);
    Ok(found)
}

/// `listed` kept to those `config` asks for, in order of display name, at
/// most `limit` of them (0: no limit).
pub fn filtered(mut listed: Vec<Listed>, config: &ListConfig, limit: i64) -> Vec<Listed> {
    if let Some(prefix) = config.name_prefix.str() {
        listed.retain(|l| l.name.as_deref().is_some_and(|n| n.starts_with(prefix)));
    }
    listed.sort_by(|a, b| a.display_name.cmp(&b.display_name));
    if limit > 0 {
        listed.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    listed
}

/// The owners of `owned` whose value starts with `prefix` (`pipeline/`),
/// each once with the rest of the value and the VPC of its objects.
pub fn owners_with_prefix<'a>(owned: &'a [Owned], prefix: &str) -> Vec<(&'a str, &'a str)> {
    let mut found: Vec<(&str, &str)> = owned
        .iter()
        .filter_map(|o| o.owner.strip_prefix(prefix).map(|rest| (rest, o.vpc_id.as_str())))
        .filter(|(r, _)| !r.is_empty())
        .collect();
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    found
}

/// The composites named by their owner tag, `PREFIX` + name (pipelines,
/// private functions): identity `{name, region}`, shown as `name (vpc)`.
pub fn named_by_owner(owned: &[Owned], prefix: &str, region: &str) -> Vec<Listed> {
    owners_with_prefix(owned, prefix)
        .into_iter()
        .map(|(name, vpc_id)| Listed {
            identity: Value::object([("name", Value::string(name)), (REGION, Value::string(region))]),
            name: Some(name.to_string()),
            display_name: format!("{name} ({vpc_id})"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Model;

    fn owned(owner: &str, vpc: &str) -> Owned {
        Owned {
            kind: "security group",
            id: "sg-1".into(),
            name: String::new(),
            vpc_id: vpc.into(),
            owner: owner.into(),
            part: String::new(),
        }
    }

    fn listed(name: Option<&str>, display: &str) -> Listed {
        Listed { identity: Value::Null, name: name.map(str::to_string), display_name: display.into() }
    }

    #[test]
    fn the_config_model_names_the_schemas_attributes() {
        assert_eq!(crate::model::attribute_mismatch::<ListConfig>(&schema().block), Vec::<String>::new());
    }

    #[test]
    fn owners_are_found_once_by_prefix() {
        let all = [
            owned("pipeline/orders", "vpc-1"),
            owned("pipeline/orders", "vpc-1"),
            owned("function/orders", "vpc-1"),
            owned("pipeline/", "vpc-1"),
        ];
        assert_eq!(owners_with_prefix(&all, "pipeline/"), [("orders", "vpc-1")]);
        assert_eq!(owners_with_prefix(&all, "function/"), [("orders", "vpc-1")]);
        assert!(owners_with_prefix(&all, "peb-").is_empty());
    }

    #[test]
    fn each_named_owner_is_one_result_with_its_identity() {
        let all = [owned("pipeline/orders", "vpc-1"), owned("pipeline/orders", "vpc-1"), owned("function/orders", "vpc-2")];
        let found = named_by_owner(&all, "pipeline/", "eu-west-1");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].identity, Value::object([("name", Value::string("orders")), ("region", Value::string("eu-west-1"))]));
        assert_eq!((found[0].name.as_deref(), found[0].display_name.as_str()), (Some("orders"), "orders (vpc-1)"));
    }

    #[test]
    fn name_prefix_keeps_named_matches_and_limit_cuts_in_display_order() {
        let all = vec![
            listed(Some("orders-b"), "orders-b"),
            listed(None, "peb-1"),
            listed(Some("orders-a"), "orders-a"),
            listed(Some("billing"), "billing"),
        ];
        let mut c = ListConfig::default();
        c.name_prefix.set_known("orders".into());
        let names = |l: Vec<Listed>| l.into_iter().map(|l| l.display_name).collect::<Vec<_>>();
        assert_eq!(names(filtered(all.clone(), &c, 0)), ["orders-a", "orders-b"]);
        assert_eq!(names(filtered(all.clone(), &ListConfig::default(), 2)), ["billing", "orders-a"]);
        assert_eq!(names(filtered(all, &ListConfig::default(), 0)).len(), 4);
    }

    #[test]
    fn a_bad_vpc_id_and_an_empty_prefix_are_refused_at_their_paths() {
        let d = validate(&ListConfig::decode(&Value::object([("vpc_id", Value::string("subnet-1")), ("name_prefix", Value::string(""))])));
        let paths: Vec<_> = d.0.iter().map(|d| d.path.clone().unwrap()).collect();
        assert_eq!(paths, [Path::attr("config").then("vpc_id"), Path::attr("config").then("name_prefix")]);
        assert!(validate(&ListConfig::decode(&Value::object([
            ("vpc_id", Value::string("vpc-0123456789abcdef0")),
            ("name_prefix", Value::Null)
        ])))
        .0
        .is_empty());
    }
}
