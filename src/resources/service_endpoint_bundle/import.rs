//! Import by endpoint ids or by identity: a state that `read` can complete.

use std::collections::BTreeSet;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
use crate::model::{Blocks, Field, List, Set, Val};
use crate::parts::security_group::{self as sg, Group};
use crate::parts::tags::{OWNER_TAG, PART_TAG};
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};
use crate::policy;
use crate::resources::checks;
use crate::resources::composite::Import;
use crate::resources::endpoint::{short_service_name, Key};
use crate::value::Value;

use super::apply::{fill_observed, sorted, with_prefix_lists};
use super::config::{bundle_id, name_in_group, Bundle, EndpointBlock};
use super::read::classify_rules;
use super::{ServiceEndpointBundle, GROUP_PART};

#[tonic::async_trait]
impl Import for ServiceEndpointBundle {
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<Bundle, Diagnostics> {
        import_state(ctx, id).await
    }

    /// The bundle's identity: its id and the region. The id is derived from
    /// the VPC, name and services the bundle was made with and then kept for
    /// its life, and every object made carries it in its owner tag, so an
    /// import finds the bundle by it. `vpc_id` and `name` alone would not tell
    /// two unnamed bundles of one VPC apart; the services would, but they
    /// change in place, and an identity must not.
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new(vec![
            IdentityAttribute::required(
                IDENTITY_ID,
                "The bundle id (`peb-` + 16 hex digits): the `id` attribute, also in every object's `privatelink:owner` tag.",
            ),
            IdentityAttribute::optional(REGION, "The bundle's region; default the provider's."),
        ])
    }

    fn identity(&self, state: &Bundle, region: &str) -> Value {
        Value::object([(IDENTITY_ID, state.id.encode_field()), (REGION, Value::string(region))])
    }

    async fn import_id(&self, ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        import_id_of(ctx, identity).await
    }
}

/// The identity's attribute naming the bundle.
pub(super) const IDENTITY_ID: &str = "id";

/// `peb-` + 16 lower-case hex digits, as `bundle_id` makes them.
pub(super) fn is_bundle_id(s: &str) -> bool {
    s.strip_prefix("peb-").is_some_and(|h| h.len() == 16 && h.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
}

/// Import by identity: the ids of the endpoints carrying the bundle's
/// owner tag, which is what the import by id takes, in order of service
/// name (AWS keeps no order of the blocks; this one is stable and easy to
/// write the configuration in).
async fn import_id_of(ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
    let id = identity.get(IDENTITY_ID).as_str().unwrap_or("");
    if !is_bundle_id(id) {
        return Err(Diagnostic::error("Invalid import identity", format!("identity.id is {id:?}; a bundle id is `peb-` followed by 16 hex digits, like peb-0123456789abcdef (the bundle's `id` attribute).")).into());
    }
    let owned = [(OWNER_TAG.to_string(), id.to_string())].into_iter().collect();
    let found = ctx.run("finding the bundle's endpoints", vpce::find_by_tags_anywhere(&ctx.aws.ec2, &owned)).await?;
    if found.is_empty() {
        return Err(Diagnostic::error(
            "No bundle with this identity",
            format!(
                "identity.id = {id:?}: no VPC endpoint in {} carries {OWNER_TAG} = {id}. Check the id; a bundle imported from endpoints the provider did not make gets that tag at its first apply, until then import it by its endpoint ids.",
                ctx.aws.region
            ),
        )
        .into());
    }
    let mut found: Vec<(String, &str, &str)> =
        found.iter().map(|e| (short_service_name(&e.service_name), e.kind.as_str(), e.id.as_str())).collect();
    found.sort();
    Ok(found.iter().map(|(_, _, id)| *id).collect::<Vec<_>>().join(","))
}

// ---------------------------------------------------------------- import

/// The endpoints named by the import id (`vpce-...[,vpce-...]`), all found
/// and in one VPC.
async fn imported_endpoints(ctx: &Ctx, id: &str) -> Result<Vec<Endpoint>, Diagnostics> {
    let ids: Vec<String> = id.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let mut d = Diagnostics::default();
    if ids.is_empty() {
        d.push(Diagnostic::error("Nothing to import", "Give the endpoint ids: terraform import ADDRESS vpce-0123456789abcdef0[,vpce-...]"));
    }
    for i in &ids {
        if let Err(e) = crate::validate::aws_id("vpce", i) {
            d.push(Diagnostic::error("Invalid import id", e));
        }
    }
    if d.has_errors() {
        return Err(d);
    }
    let found = with_prefix_lists(ctx, vpce::find_many(&ctx.aws.ec2, &ids).await?).await?;
    let mut eps = Vec::new();
    for i in &ids {
        match found.iter().find(|e| &e.id == i && !e.is_gone()) {
            Some(e) => eps.push(e.clone()),
            None => d.push(Diagnostic::error("Endpoint not found", format!("{i} does not exist (or is deleted) in {}.", ctx.aws.region))),
        }
    }
    let vpcs: BTreeSet<&str> = eps.iter().map(|e| e.vpc_id.as_str()).collect();
    if vpcs.len() > 1 {
        d.push(Diagnostic::error(
            "Endpoints in several VPCs",
            format!("A bundle belongs to one VPC; these endpoints are in {}.", vpcs.into_iter().collect::<Vec<_>>().join(", ")),
        ));
    }
    if d.has_errors() {
        return Err(d);
    }
    Ok(eps)
}

/// The managed group: the one tagged as ours, else the one group every
/// Interface endpoint shares. Returns it with the other shared groups (the
/// user's extra ones).
async fn imported_group(ctx: &Ctx, interface: &[&Endpoint]) -> Result<(Option<Group>, Vec<String>), Diagnostic> {
    let mut common: Option<BTreeSet<String>> = None;
    for e in interface {
        let s: BTreeSet<String> = e.security_group_ids.iter().cloned().collect();
        common = Some(match common {
            None => s,
            Some(c) => c.intersection(&s).cloned().collect(),
        });
    }
    let common = common.unwrap_or_default();
    let mut group = None;
    for g in &common {
        if let Some(found) = sg::find(&ctx.aws.ec2, g).await? {
            let ours = found.tags.get(PART_TAG).map(String::as_str) == Some(GROUP_PART);
            if ours || group.is_none() {
                group = Some(found);
            }
            if ours {
                break;
            }
        }
    }
    let extra: Vec<String> = common.iter().filter(|g| Some(*g) != group.as_ref().map(|x: &Group| &x.id)).cloned().collect();
    Ok((group, extra))
}

/// One endpoint block as AWS has the endpoint.
fn imported_block(e: &Endpoint) -> EndpointBlock {
    let interface = e.kind == Kind::Interface;
    let mut b = EndpointBlock::default();
    b.service.set_known(short_service_name(&e.service_name));
    b.kind.set_known(e.kind.as_str().to_string());
    b.private_dns_enabled.set(if interface { Val::Known(e.private_dns_enabled) } else { Val::Null });
    b.subnet_ids.set(if interface { Val::Known(Set::of(&sorted(&e.subnet_ids))) } else { Val::Null });
    b.route_table_ids.set(if interface { Val::Null } else { Val::Known(Set::of(&sorted(&e.route_table_ids))) });
    b.policy.set(Val::from_option(e.policy.clone().filter(|p| !policy::is_default_full_access(p))));
    fill_observed(&mut b, e);
    b
}

/// A set, or null when empty.
fn nonempty(v: Vec<String>) -> Val<Set<String>> {
    if v.is_empty() {
        Val::Null
    } else {
        Val::Known(Set::of(&v))
    }
}

async fn import_state(ctx: &Ctx, id: &str) -> Result<Bundle, Diagnostics> {
    let eps = imported_endpoints(ctx, id).await?;
    let vpc_id = eps[0].vpc_id.clone();
    let interface: Vec<&Endpoint> = eps.iter().filter(|e| e.kind == Kind::Interface).collect();
    let (group, extra) = imported_group(ctx, &interface).await?;
    let owner = eps.iter().find_map(|e| e.tags.get(OWNER_TAG).cloned());
    let keys: Vec<Key> = eps.iter().map(|e| (e.service_name.clone(), e.kind)).collect();
    let bundle = owner.unwrap_or_else(|| bundle_id(&vpc_id, None, &keys));
    let mut s = Bundle::default();
    let (own_tags, all_tags) = checks::imported_tags(&eps[0].tags, &ctx.aws.default_tags);
    s.tags.set(own_tags);
    s.tags_all.set_known(all_tags);
    s.subnet_ids.set(nonempty(interface.first().map(|e| sorted(&e.subnet_ids)).unwrap_or_default()));
    s.route_table_ids.set(nonempty(eps.iter().find(|e| e.kind == Kind::Gateway).map(|e| sorted(&e.route_table_ids)).unwrap_or_default()));
    s.endpoint = Blocks(eps.iter().map(imported_block).collect());
    // The group's name is "<name>-<bundle id>" (see Desired::group_spec).
    let name = group.as_ref().and_then(|g| name_in_group(&g.name, &bundle));
    s.name.set(Val::from_option(name));
    let (allowed_groups, allowed_cidrs, unexpected) = group.as_ref().map(|g| classify_rules(&g.rules)).unwrap_or_default();
    s.allowed_security_group_ids.set(nonempty(allowed_groups));
    s.allowed_cidr_blocks.set(nonempty(allowed_cidrs));
    s.security_group_ids.set(nonempty(extra));
    s.security_group_id.set(Val::from_option(group.map(|g| g.id)));
    s.unexpected_rules.set_known(List::of(&unexpected));
    s.id.set_known(bundle);
    s.vpc_id.set_known(vpc_id);
    Ok(s)
}
