//! Checks and plan steps every composite makes alike: ids, tags, whole
//! numbers in a range, `tags_all`, and the tags an import gives back.
//! (What private DNS needs is the endpoint block's, `endpoint::checks`;
//! which prior a plan and its checks see is decided once, in `composite`.)

use crate::diag::{Diagnostic, Diagnostics};
use crate::model::{Attr, Map, Set, Val};
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
