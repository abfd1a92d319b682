//! The bundles that exist: every owner tag holding a bundle id names one.
//! Its name, when it has one, is in its group's name (`NAME-peb-...`); a
//! bundle of Gateway endpoints alone has no group, and lists unnamed.

use std::collections::BTreeMap;

use crate::identity::REGION;
use crate::parts::tags::Owned;
use crate::resources::composite::List;
use crate::resources::listing::Listed;
use crate::value::Value;

use super::config::name_in_group;
use super::import::{is_bundle_id, IDENTITY_ID};
use super::{ServiceEndpointBundle, GROUP_PART};

impl List for ServiceEndpointBundle {
    fn listed(&self, owned: &[Owned], region: &str) -> Vec<Listed> {
        let mut bundles: BTreeMap<&str, (&str, Option<String>)> = BTreeMap::new();
        for o in owned.iter().filter(|o| is_bundle_id(&o.owner)) {
            let entry = bundles.entry(&o.owner).or_insert((&o.vpc_id, None));
            if o.part == GROUP_PART {
                entry.1 = name_in_group(&o.name, &o.owner);
            }
        }
        bundles
            .into_iter()
            .map(|(id, (vpc_id, name))| Listed {
                identity: Value::object([(IDENTITY_ID, Value::string(id)), (REGION, Value::string(region))]),
                display_name: match &name {
                    Some(n) => format!("{n} ({id}, {vpc_id})"),
                    None => format!("{id} ({vpc_id})"),
                },
                name,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "peb-0123456789abcdef";

    fn owned(kind: &'static str, name: &str, owner: &str, part: &str) -> Owned {
        Owned { kind, id: "x".into(), name: name.into(), vpc_id: "vpc-1".into(), owner: owner.into(), part: part.into() }
    }

    #[test]
    fn a_bundle_is_one_result_named_by_its_group() {
        let found = ServiceEndpointBundle.listed(
            &[
                owned("vpc endpoint", "", ID, "endpoint/sqs/interface"),
                owned("security group", &format!("shared-{ID}"), ID, GROUP_PART),
                owned("vpc endpoint", "", ID, "endpoint/s3/gateway"),
                owned("security group", "orders-function", "function/orders", "function-group"),
            ],
            "eu-west-1",
        );
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].identity, Value::object([("id", Value::string(ID)), ("region", Value::string("eu-west-1"))]));
        assert_eq!(found[0].name.as_deref(), Some("shared"));
        assert_eq!(found[0].display_name, format!("shared ({ID}, vpc-1)"));
    }

    #[test]
    fn unnamed_and_gateway_only_bundles_list_by_id() {
        assert_eq!(name_in_group(&format!("privatelink-{ID}"), ID), None);
        let found = ServiceEndpointBundle.listed(&[owned("vpc endpoint", "", ID, "endpoint/s3/gateway")], "eu-west-1");
        assert_eq!((found[0].name.clone(), found[0].display_name.clone()), (None, format!("{ID} (vpc-1)")));
    }
}
