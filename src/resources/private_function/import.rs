//! Import by name or by identity: a state that `read` can complete. The
//! accesses come back from what records them: the role's statements (one
//! per service, `AccessS3`), the endpoints tagged as its own, and the
//! endpoints of the VPC its group's egress reaches.

use serde_json::Value as Json;

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
use crate::model::{Blocks, Field, Set, Val};
use crate::parts::function as lambda;
use crate::parts::role;
use crate::parts::security_group::{self as sg, Direction, Peer};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc;
use crate::parts::vpc_endpoint::{self as vpce, Endpoint, Kind};
use crate::policy;
use crate::resources::checks;
use crate::resources::composite::Import;
use crate::resources::endpoint::short_service_name;
use crate::resources::function::{self, FunctionUse, ProducerFound};
use crate::value::Value;

use super::config::{owner_of, statement_sid, AccessBlock, PrivateFunction};
use super::validate::check_name;
use super::PrivateFunctionResource;

/// The identity's attribute naming it.
const IDENTITY_NAME: &str = "name";

#[tonic::async_trait]
impl Import for PrivateFunctionResource {
    async fn import(&self, ctx: &Ctx, name: &str) -> Result<PrivateFunction, Diagnostics> {
        import_state(ctx, name).await.map_err(Diagnostics::from)
    }

    /// Its identity: the function's name, which names every object and
    /// replaces the resource when changed, and the region.
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new(vec![
            IdentityAttribute::required(IDENTITY_NAME, "The function's `name`."),
            IdentityAttribute::optional(REGION, "The function's region; default the provider's."),
        ])
    }

    fn identity(&self, state: &PrivateFunction, region: &str) -> Value {
        Value::object([(IDENTITY_NAME, state.name.encode_field()), (REGION, Value::string(region))])
    }

    /// Import by identity is import by name.
    async fn import_id(&self, _ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        let name = identity.get(IDENTITY_NAME).as_str().unwrap_or("");
        check_name(name).map_err(|e| Diagnostic::error("Invalid import identity", format!("identity.name: {e}")))?;
        Ok(name.to_string())
    }
}

async fn import_state(ctx: &Ctx, name: &str) -> Result<PrivateFunction, Diagnostic> {
    let aws = &ctx.aws;
    let bad = |why: String| Diagnostic::error("Cannot import the private function", why);
    check_name(name).map_err(|e| bad(format!("{e} Import with the function's `name`, e.g. terraform import ADDRESS metadata-reader")))?;
    let f = lambda::find(&aws.lambda, name).await?.ok_or_else(|| bad(format!("No Lambda function {name} in {}.", aws.region)))?;
    if f.tags.get(tags::OWNER_TAG).map(String::as_str) != Some(owner_of(name).as_str()) {
        return Err(bad(format!(
            "Lambda function {name} does not carry the tag {} = {}: it was not made by a privatelink_private_function.",
            tags::OWNER_TAG,
            owner_of(name)
        )));
    }
    // The function's VpcConfig names its VPC, but moto always answers
    // vpc-123abc there; the subnets' own VPC is right on both.
    let vpc_id = vpc::subnets(&aws.ec2, &f.subnet_ids)
        .await?
        .first()
        .map(|s| s.vpc_id.clone())
        .ok_or_else(|| bad(format!("{name} is in no subnet of this account")))?;
    let tagged = |part: &str| {
        let mut t = Tags::new();
        t.insert(tags::OWNER_TAG.into(), owner_of(name));
        t.insert(tags::PART_TAG.into(), part.into());
        t
    };
    let group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("function-group")).await?.into_iter().next();
    let endpoint_group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("endpoint-group")).await?.into_iter().next();
    let owner: Tags = [(tags::OWNER_TAG.to_string(), owner_of(name))].into();
    let own: Vec<Endpoint> = vpce::find_by_tags(&aws.ec2, &vpc_id, &owner).await?.into_iter().filter(|e| !e.is_gone()).collect();
    let own_role = f.role_arn.ends_with(&format!(":role/{name}"));
    let statements = match own_role {
        true => access_statements(&role::inline_policy(&aws.iam, name, "function").await?.unwrap_or_default()),
        false => vec![],
    };
    let reused = reused_endpoints(ctx, &vpc_id, group.as_deref(), &own).await?;

    let mut s = PrivateFunction::default();
    s.id.set_known(name.to_string());
    s.name.set_known(name.to_string());
    s.vpc_id.set_known(vpc_id);
    s.subnet_ids.set_known(Set::of(&f.subnet_ids));
    let (own_tags, all_tags) = checks::imported_tags(&f.tags, &aws.default_tags);
    s.tags.set(own_tags);
    s.tags_all.set_known(all_tags);
    s.function.0 = function::imported(&f, FunctionUse::Private, ProducerFound { queue: None, group: group.as_deref() });
    s.access = Blocks(imported_access(&own, &reused, &statements));
    s.function_arn.set_known(f.arn.clone());
    s.role_arn.set_known(f.role_arn.clone());
    s.security_group_id.set(Val::from_option(group));
    s.endpoint_security_group_id.set(Val::from_option(endpoint_group));
    let ids: std::collections::BTreeMap<String, String> =
        s.access.0.iter().filter_map(|a| Some((a.service.owned()?, a.endpoint_id.owned().or_else(|| own_id(&own, a))?))).collect();
    s.endpoints.set_known(crate::model::Map::of(&ids));
    for a in &mut s.access.0 {
        if own_id(&own, a).is_some() {
            a.endpoint_id.set(Val::Null);
        }
    }
    Ok(s)
}

fn own_id(own: &[Endpoint], a: &AccessBlock) -> Option<String> {
    let service = a.service.str()?;
    own.iter().find(|e| short_service_name(&e.service_name) == service && a.endpoint_id.is_null()).map(|e| e.id.clone())
}

/// One statement per access in the role's own policy: its Sid, actions and resources.
struct AccessStatement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
}

fn access_statements(doc: &str) -> Vec<AccessStatement> {
    let Ok(v) = serde_json::from_str::<Json>(doc) else { return vec![] };
    let statements = v["Statement"].as_array().cloned().unwrap_or_default();
    statements
        .iter()
        .filter_map(|st| {
            let sid = st["Sid"].as_str()?.to_string();
            let (actions, resources) = (policy::strings(&st["Action"]), policy::strings(&st["Resource"]));
            sid.starts_with("Access").then_some(AccessStatement { sid, actions, resources })
        })
        .collect()
}

/// The endpoints of the VPC, not its own, that its group's egress reaches:
/// an Interface endpoint by one of its groups, a Gateway one by its
/// service's prefix list.
async fn reused_endpoints(ctx: &Ctx, vpc_id: &str, group: Option<&str>, own: &[Endpoint]) -> Result<Vec<Endpoint>, Diagnostic> {
    let Some(group) = group else { return Ok(vec![]) };
    let Some(g) = sg::find(&ctx.aws.ec2, group).await? else { return Ok(vec![]) };
    let peers: Vec<&Peer> = g.rules.iter().filter(|r| r.direction == Direction::Egress).map(|r| &r.peer).collect();
    let all = vpce::find_in_vpc(&ctx.aws.ec2, vpc_id).await?;
    let candidates: Vec<Endpoint> = all.into_iter().filter(|e| !e.is_gone() && !own.iter().any(|o| o.id == e.id)).collect();
    let gateways: Vec<String> = candidates.iter().filter(|e| e.kind == Kind::Gateway).map(|e| e.service_name.clone()).collect();
    let lists = if gateways.is_empty() { vec![] } else { vpc::prefix_lists(&ctx.aws.ec2, &gateways).await? };
    let reached = |e: &Endpoint| match e.kind {
        Kind::Interface => e.security_group_ids.iter().any(|id| peers.contains(&&Peer::Group(id.clone()))),
        Kind::Gateway => lists.iter().any(|(service, pl)| *service == e.service_name && peers.contains(&&Peer::PrefixList(pl.clone()))),
    };
    Ok(candidates.iter().filter(|e| reached(e)).cloned().collect())
}

/// The access blocks: one per own endpoint and per reused one, with the
/// role's statement for that service (else the endpoint policy's, for a
/// role the user brings); the policy written only when it is not the one
/// the block would make.
fn imported_access(own: &[Endpoint], reused: &[Endpoint], statements: &[AccessStatement]) -> Vec<AccessBlock> {
    let mut out: Vec<AccessBlock> = Vec::new();
    // In the role's order, which is the configuration's (apply writes one
    // statement per block, in order); a list block in another order would
    // plan a change. Endpoints without a statement (the user's role) by
    // service.
    let rank = |e: &Endpoint| {
        let sid = statement_sid(&short_service_name(&e.service_name));
        (statements.iter().position(|s| s.sid == sid).unwrap_or(usize::MAX), short_service_name(&e.service_name))
    };

    let mut found: Vec<(&Endpoint, bool)> = own.iter().map(|e| (e, true)).chain(reused.iter().map(|e| (e, false))).collect();
    found.sort_by_key(|(e, _)| rank(e));
    for (e, is_own) in found {
        let service = short_service_name(&e.service_name);
        if out.iter().any(|a| a.service.str() == Some(service.as_str())) {
            continue;
        }
        let sid = statement_sid(&service);
        let (actions, resources) = match statements.iter().find(|s| s.sid == sid) {
            Some(st) => (st.actions.clone(), st.resources.clone()),
            None => endpoint_statement(e.policy.as_deref()).unwrap_or_default(),
        };
        let mut a = AccessBlock::default();
        a.service.set_known(service.clone());
        a.actions.set_known(Set::of(&actions));
        a.resources.set_known(Set::of(&resources));
        a.endpoint_type.set_known(e.kind.as_str().to_string());
        if is_own {
            let generated = policy::endpoint_access(&sid, &actions, &resources);
            let custom = e.policy.as_deref().filter(|p| !policy::equivalent(p, &generated));
            a.policy.set(Val::from_option(custom.map(str::to_string)));
        } else {
            a.endpoint_id.set_known(e.id.clone());
        }
        out.push(a);
    }
    out
}

/// The actions and resources of an endpoint policy's first statement.
fn endpoint_statement(doc: Option<&str>) -> Option<(Vec<String>, Vec<String>)> {
    let v = serde_json::from_str::<Json>(doc?).ok()?;
    let first = v["Statement"].as_array()?.first()?;
    Some((policy::strings(&first["Action"]), policy::strings(&first["Resource"])))
}
