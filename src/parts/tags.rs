//! Tags on the objects a composite makes: the user's tags merged with the
//! provider's default tags, plus the ownership tags that let a composite
//! find (and adopt) an object whose create answer was lost; and EC2's form
//! of them (tag specifications, CreateTags / DeleteTags).

use std::collections::BTreeMap;

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};

use super::PartResult;
use crate::aws::call_failed;

/// The prefix of every tag the provider itself puts on an object. Refresh
/// leaves such tags out of the user's, so a user may not set one.
pub const PREFIX: &str = "privatelink:";
/// The composite's id; every object of a composite carries it.
pub const OWNER_TAG: &str = "privatelink:owner";
/// Which part of the composite the object is (`security-group`, `endpoint/s3`...).
pub const PART_TAG: &str = "privatelink:part";

pub type Tags = BTreeMap<String, String>;

/// How many tags [`with_ownership`] adds to every object (owner and part):
/// AWS counts them against its 50 tags per resource like any other.
pub const OWNERSHIP_TAGS: usize = 2;

/// Tags a user manages (`tags_all`): defaults overridden by the resource's own.
pub fn merged(default_tags: &Tags, tags: &Tags) -> Tags {
    let mut all = default_tags.clone();
    all.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
    all
}

/// What goes on the object: the user's tags plus ownership.
pub fn with_ownership(user: &Tags, owner: &str, part: &str) -> Tags {
    let mut t = user.clone();
    t.insert(OWNER_TAG.into(), owner.into());
    t.insert(PART_TAG.into(), part.into());
    t
}

/// The user's tags of an object: everything but ownership tags.
pub fn without_ownership(tags: &Tags) -> Tags {
    tags.iter().filter(|(k, _)| !k.starts_with(PREFIX)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

pub fn from_ec2(tags: &[Tag]) -> Tags {
    tags.iter().filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string()))).collect()
}

pub fn to_ec2(tags: &Tags) -> Vec<Tag> {
    tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect()
}

pub fn specification(kind: ResourceType, tags: &Tags) -> TagSpecification {
    TagSpecification::builder().resource_type(kind).set_tags(Some(to_ec2(tags))).build()
}

/// Brings an object's tags from `current` to `desired` with at most one
/// DeleteTags and one CreateTags call.
pub async fn update(ec2: &aws_sdk_ec2::Client, part: &str, id: &str, current: &Tags, desired: &Tags) -> PartResult<()> {
    let (remove, add) = tag_changes(current, desired);
    if !remove.is_empty() {
        let keys = remove.iter().map(|k| Tag::builder().key(k.as_str()).build()).collect();
        ec2.delete_tags().resources(id).set_tags(Some(keys)).send().await.map_err(|e| call_failed(part, "ec2:DeleteTags", &e))?;
    }
    if !add.is_empty() {
        ec2.create_tags().resources(id).set_tags(Some(to_ec2(&add))).send().await.map_err(|e| call_failed(part, "ec2:CreateTags", &e))?;
    }
    Ok(())
}

/// Keys to delete, and keys to (over)write.
pub fn tag_changes(current: &Tags, desired: &Tags) -> (Vec<String>, Tags) {
    let remove = current.keys().filter(|k| !desired.contains_key(*k)).cloned().collect();
    let add = desired.iter().filter(|(k, v)| current.get(*k) != Some(v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    (remove, add)
}

/// An object carrying an owner tag, as a search of the region finds it:
/// what lists the composites that exist without any state.
#[derive(Debug, Clone, PartialEq)]
pub struct Owned {
    /// `security group` or `vpc endpoint`.
    pub kind: &'static str,
    pub id: String,
    /// A group's name; empty for an endpoint.
    pub name: String,
    pub vpc_id: String,
    /// The owner tag's value: the composite's id.
    pub owner: String,
    /// The part tag's value (empty when the object has none).
    pub part: String,
}

impl Owned {
    /// The object as found, when it carries an owner tag.
    pub fn from_tags(kind: &'static str, id: &str, name: &str, vpc_id: &str, tags: &Tags) -> Option<Owned> {
        Some(Owned {
            kind,
            id: id.to_string(),
            name: name.to_string(),
            vpc_id: vpc_id.to_string(),
            owner: tags.get(OWNER_TAG)?.clone(),
            part: tags.get(PART_TAG).cloned().unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(pairs: &[(&str, &str)]) -> Tags {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn resource_tags_win_over_defaults() {
        assert_eq!(merged(&t(&[("team", "a"), ("env", "dev")]), &t(&[("team", "b")])), t(&[("team", "b"), ("env", "dev")]));
    }

    #[test]
    fn ownership_is_added_and_stripped() {
        let all = with_ownership(&t(&[("team", "a")]), "peb-1", "security-group");
        assert_eq!(all[OWNER_TAG], "peb-1");
        assert_eq!(without_ownership(&all), t(&[("team", "a")]));
        assert_eq!(all.len(), 1 + OWNERSHIP_TAGS, "OWNERSHIP_TAGS is what AWS counts on top of the user's");
    }

    #[test]
    fn changes_are_minimal() {
        let (remove, add) = tag_changes(&t(&[("a", "1"), ("b", "2"), ("c", "3")]), &t(&[("a", "1"), ("b", "9"), ("d", "4")]));
        assert_eq!(remove, vec!["c".to_string()]);
        assert_eq!(add, t(&[("b", "9"), ("d", "4")]));
    }
}
