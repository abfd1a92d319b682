//! Checks and plan steps every composite makes alike: ids, tags, whole
//! numbers in a range, `tags_all`, the tags an import gives back, and a
//! group's rules against what a composite needs.
//! (What private DNS needs is the endpoint block's, `endpoint::checks`;
//! which prior a plan and its checks see is decided once, in `composite`.)

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Map, Set, Val};
use crate::parts::security_group::{self as sg, Rule};
use crate::parts::tags::{self, Tags};

/// An AWS id (`vpc-...`, `subnet-...`) when known.
pub fn check_id(d: &mut Diagnostics, prefix: &str, a: &Attr<String>) {
    if let Some(Err(e)) = a.str().map(|s| crate::validate::aws_id(prefix, s)) {
        d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(a.path.clone()));
    }
}

/// Each known id of a set.
pub fn check_ids(d: &mut Diagnostics, prefix: &str, a: &Attr<Set<String>>) {
    for s in a.get().iter().flat_map(|set| set.known()) {
        if let Err(e) = crate::validate::aws_id(prefix, s) {
            d.push(Diagnostic::error(format!("Invalid {prefix} id"), e).at(a.path.clone()));
        }
    }
}

/// Each known tag, at its key.
pub fn check_tags(d: &mut Diagnostics, a: &Attr<Map<String>>) {
    for (k, v) in a.entries() {
        if let Err(e) = crate::validate::tag(&k, &v) {
            d.push(Diagnostic::error("Invalid tag", e).at(a.path.key(&k)));
        }
    }
}

/// AWS's tags per resource (EC2, Lambda, IAM and SQS alike).
pub const AWS_TAGS_PER_RESOURCE: usize = 50;

/// The number of tags: the provider's `default_tags` merged with the
/// resource's `tags` (what `tags_all` will be), plus the `provider_tags`
/// the provider itself puts on its most-tagged object (ownership and the
/// like), which AWS counts too. An error at `tags` when over AWS's 50.
/// Keys of unknown values count (the keys are known); an unknown map waits.
pub fn check_tag_count(d: &mut Diagnostics, default_tags: &Tags, user: &Attr<Map<String>>, provider_tags: usize) {
    if user.is_unknown() {
        return;
    }
    let own: Vec<&String> = user.get().map(|m| m.0.keys().collect()).unwrap_or_default();
    let from_defaults = default_tags.keys().filter(|k| !own.contains(k)).count();
    let total = own.len() + from_defaults + provider_tags;
    if total > AWS_TAGS_PER_RESOURCE {
        let room = AWS_TAGS_PER_RESOURCE.saturating_sub(provider_tags + from_defaults);
        d.push(
            Diagnostic::error(
                "Too many tags",
                format!(
                    "{} tags here and {from_defaults} more from the provider's default_tags, plus the {provider_tags} the provider puts on \
                     each object it makes to find it again ({}), make {total}; AWS allows {AWS_TAGS_PER_RESOURCE} tags per resource. \
                     Give at most {room} tags here (or fewer default_tags).",
                    own.len(),
                    provider_tag_names(provider_tags),
                ),
            )
            .at(user.path.clone()),
        );
    }
}

/// The provider's own tags, by name, for messages.
fn provider_tag_names(n: usize) -> String {
    let mut names = vec![tags::OWNER_TAG, tags::PART_TAG];
    if n > tags::OWNERSHIP_TAGS {
        names.push("privatelink:source on functions");
    }
    names.join(", ")
}

/// A whole number within `lo..=hi`, when known.
pub fn check_range(d: &mut Diagnostics, a: &Attr<f64>, lo: i64, hi: i64, what: &str) {
    let Some(n) = a.number() else { return };
    if n.fract() != 0.0 || (n as i64) < lo || (n as i64) > hi {
        let name = a.path.last_attr().unwrap_or_default();
        d.push(
            Diagnostic::error(format!("Invalid {name}"), format!("{n} is not a whole number of {what} from {lo} to {hi}."))
                .at(a.path.clone()),
        );
    }
}

/// `tags_all`: the user's tags over the provider's default tags, unknown
/// while any tag is.
pub fn plan_tags_all(default_tags: &Tags, user: &Attr<Map<String>>) -> Val<Map<String>> {
    if user.is_wholly_known() {
        Val::Known(Map::of(&tags::merged(default_tags, &user.entries())))
    } else {
        Val::Unknown
    }
}

/// The user's own tags and `tags_all` of an imported object, from the tags
/// AWS has on it: ownership tags dropped, and the provider's default tags
/// kept out of `tags` (they come back through `tags_all`).
pub fn imported_tags(observed: &Tags, default_tags: &Tags) -> (Val<Map<String>>, Map<String>) {
    let all = tags::without_ownership(observed);
    let own: Tags = all.iter().filter(|(k, v)| default_tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let own = if own.is_empty() { Val::Null } else { Val::Known(Map::of(&own)) };
    (own, Map::of(&all))
}

/// How a group's rules (`observed`) differ from what a composite needs
/// (`desired`), one line each, named by `group`: `producer group:
/// unexpected egress all to 0.0.0.0/0`, `... missing ...`. What a refresh
/// shows in `rule_drift`.
pub fn rule_differences(group: &str, observed: &[Rule], desired: &[Rule]) -> Vec<String> {
    let (unexpected, missing) = sg::plan_rule_changes(observed, desired);
    let unexpected = unexpected.into_iter().map(|r| format!("{group}: unexpected {}", r.describe()));
    unexpected.chain(missing.into_iter().map(|r| format!("{group}: missing {}", r.describe()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Path;
    use crate::model::{Attr, Elements};

    fn at<T>(name: &str, val: Val<T>) -> Attr<T> {
        Attr { val, path: Path::attr("block").then(name) }
    }

    #[test]
    fn ranges_name_the_attribute() {
        let mut d = Diagnostics::default();
        check_range(&mut d, &at("timeout", Val::Known(901.0)), 1, 900, "seconds");
        check_range(&mut d, &at("timeout", Val::Known(2.5)), 1, 900, "seconds");
        check_range(&mut d, &at("timeout", Val::Known(30.0)), 1, 900, "seconds");
        check_range(&mut d, &at("timeout", Val::Unknown), 1, 900, "seconds");
        assert_eq!(d.0.len(), 2);
        assert_eq!(d.0[0].summary, "Invalid timeout");
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "block.timeout");
    }

    #[test]
    fn ids_are_checked_when_known() {
        let mut d = Diagnostics::default();
        let set = Set(Elements(vec![Val::Known("subnet-0123456789abcdef0".to_string()), Val::Unknown, Val::Known("nope".to_string())]));
        check_ids(&mut d, "subnet", &at("subnet_ids", Val::Known(set)));
        check_id(&mut d, "vpc", &at("vpc_id", Val::Known("vpc-x".to_string())));
        check_id(&mut d, "vpc", &at("vpc_id", Val::Unknown));
        let summaries: Vec<&str> = d.0.iter().map(|d| d.summary.as_str()).collect();
        assert_eq!(summaries, ["Invalid subnet id", "Invalid vpc id"]);
    }

    fn tag_map(n: usize, prefix: &str) -> Map<String> {
        Map::of(&(0..n).map(|i| (format!("{prefix}{i}"), "v".to_string())).collect())
    }

    #[test]
    fn tag_count_includes_default_and_provider_tags() {
        let count = |defaults: &Tags, user: Val<Map<String>>, provider: usize| {
            let mut d = Diagnostics::default();
            check_tag_count(&mut d, defaults, &at("tags", user), provider);
            d
        };
        let none = Tags::new();
        // 48 of the user's and the 2 ownership tags: exactly AWS's 50.
        assert!(count(&none, Val::Known(tag_map(48, "k")), 2).0.is_empty());
        let d = count(&none, Val::Known(tag_map(49, "k")), 2);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].summary, "Too many tags");
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "block.tags");
        assert!(d.0[0].detail.contains("make 51") && d.0[0].detail.contains("at most 48"), "{}", d.0[0].detail);
        assert!(d.0[0].detail.contains("privatelink:owner"), "{}", d.0[0].detail);
        // A function carries a third tag (its code's source).
        assert_eq!(count(&none, Val::Known(tag_map(48, "k")), 3).0.len(), 1);
        // default_tags count, but a key in both counts once.
        let defaults: Tags = (0..10).map(|i| (format!("d{i}"), "v".to_string())).collect();
        assert_eq!(count(&defaults, Val::Known(tag_map(39, "k")), 2).0.len(), 1);
        assert!(count(&defaults, Val::Known(tag_map(38, "k")), 2).0.is_empty());
        let overlapping: Tags = (0..10).map(|i| (format!("k{i}"), "v".to_string())).collect();
        assert!(count(&overlapping, Val::Known(tag_map(48, "k")), 2).0.is_empty());
        // No tags of its own, but too many defaults: still at `tags`.
        let many: Tags = (0..49).map(|i| (format!("d{i}"), "v".to_string())).collect();
        assert_eq!(count(&many, Val::Null, 2).0.len(), 1);
        // Keys of unknown values count; an unknown map waits.
        let mut m = tag_map(48, "k");
        m.0.insert("later".into(), Val::Unknown);
        assert_eq!(count(&none, Val::Known(m), 2).0.len(), 1);
        assert!(count(&many, Val::Unknown, 2).0.is_empty());
    }

    #[test]
    fn tag_lengths_and_reserved_prefix_name_the_key() {
        let mut d = Diagnostics::default();
        let long_key = "k".repeat(129);
        let tags: Tags = [
            (long_key.clone(), "v".to_string()),
            ("aws:team".to_string(), "x".to_string()),
            ("ok".to_string(), "é".repeat(256)),
            ("long".to_string(), "é".repeat(257)),
        ]
        .into();
        check_tags(&mut d, &at("tags", Val::Known(Map::of(&tags))));
        let paths: Vec<String> = d.0.iter().map(|d| d.path.as_ref().unwrap().to_string()).collect();
        let want = ["block.tags[\"aws:team\"]".to_string(), format!("block.tags[\"{long_key}\"]"), "block.tags[\"long\"]".to_string()];
        assert_eq!(paths, want);
    }

    #[test]
    fn tags_all_merges_and_waits_for_unknowns() {
        let defaults: Tags = [("team".to_string(), "core".to_string()), ("env".to_string(), "dev".to_string())].into();
        let user = at("tags", Val::Known(Map::of(&[("env".to_string(), "prod".to_string())].into())));
        let Val::Known(all) = plan_tags_all(&defaults, &user) else { panic!("known") };
        assert_eq!(all.known().get("env").map(String::as_str), Some("prod"));
        assert_eq!(all.known().get("team").map(String::as_str), Some("core"));
        assert!(plan_tags_all(&defaults, &at("tags", Val::Unknown)).is_unknown());
    }

    #[test]
    fn imported_tags_leave_defaults_and_ownership_out_of_tags() {
        let observed: Tags = [
            (tags::OWNER_TAG.to_string(), "pipeline/x".to_string()),
            ("team".to_string(), "core".to_string()),
            ("app".to_string(), "orders".to_string()),
        ]
        .into();
        let defaults: Tags = [("team".to_string(), "core".to_string())].into();
        let (own, all) = imported_tags(&observed, &defaults);
        assert_eq!(own, Val::Known(Map::of(&[("app".to_string(), "orders".to_string())].into())));
        assert_eq!(all.known().len(), 2);
        let (own, _) = imported_tags(&observed, &observed);
        assert!(own.is_null());
    }
}
