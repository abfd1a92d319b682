//! Import by name or by identity: a state that `read` can complete.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- import

/// A state `read_state` can complete, found from the pipeline's name: the
/// objects are named after it and tagged with it.
pub(super) async fn import_state(ctx: &Ctx, name: &str) -> Result<Value, Diagnostic> {
    let aws = &ctx.aws;
    let bad = |why: String| Diagnostic::error("Cannot import the pipeline", why);
    check_name(name).map_err(|e| bad(format!("{e} Import with the pipeline's `name`, e.g. terraform import ADDRESS orders")))?;
    let producer = function::find(&aws.lambda, &format!("{name}-producer")).await?;
    let consumer = function::find(&aws.lambda, &format!("{name}-consumer")).await?;
    let (Some(producer), Some(consumer)) = (producer, consumer) else {
        return Err(bad(format!("No functions {name}-producer and {name}-consumer in {}: is {name:?} the pipeline's name?", aws.region)));
    };
    let mut queue = queue::find_by_name(&aws.sqs, name).await?;
    if queue.is_none() {
        queue = queue::find_by_name(&aws.sqs, &format!("{name}.fifo")).await?;
    }
    let fifo = queue.as_ref().is_some_and(|q| q.name.ends_with(".fifo"));
    let dlq = queue::find_by_name(&aws.sqs, &format!("{name}-dlq{}", if fifo { ".fifo" } else { "" })).await?;
    // The function's VpcConfig names its VPC, but moto always answers
    // vpc-123abc there; the subnets' own VPC is right on both.
    let vpc_id = vpc::subnets(&aws.ec2, &producer.subnet_ids)
        .await?
        .first()
        .map(|s| s.vpc_id.clone())
        .ok_or_else(|| bad(format!("{name}-producer is in no subnet of this account")))?;
    let found = imported_network(ctx, name, &vpc_id).await?;
    let mapping = match &queue {
        Some(q) => esm::find_for(&aws.lambda, &consumer.name, &q.arn).await?,
        None => None,
    };
    let mut s = Pipeline::default();
    s.id.set_known(name.to_string());
    s.name.set_known(name.to_string());
    s.vpc_id.set_known(vpc_id);
    s.subnet_ids.set_known(Set::of(&producer.subnet_ids));
    let (own_tags, all_tags) = checks::imported_tags(&producer.tags, &aws.default_tags);
    s.tags.set(own_tags);
    s.tags_all.set_known(all_tags);
    s.producer.0 = imported_function(&producer, Some((queue.as_ref(), found.producer_group.as_deref())));
    s.consumer.0 = imported_function(&consumer, None);
    if fifo {
        s.queue.fifo.set_known(true);
    }
    s.endpoint.create.set_known(found.reused.is_none());
    s.endpoint.endpoint_id.set(Val::from_option(found.reused.clone()));
    s.queue_url.set(Val::from_option(queue.as_ref().map(|q| q.url.clone())));
    s.queue_arn.set(Val::from_option(queue.as_ref().map(|q| q.arn.clone())));
    s.dead_letter_queue_url.set(Val::from_option(dlq.as_ref().map(|q| q.url.clone())));
    s.dead_letter_queue_arn.set(Val::from_option(dlq.as_ref().map(|q| q.arn.clone())));
    s.producer_function_arn.set_known(producer.arn.clone());
    s.consumer_function_arn.set_known(consumer.arn.clone());
    s.event_source_mapping_id.set(Val::from_option(mapping.map(|m| m.uuid)));
    s.producer_security_group_id.set(Val::from_option(found.producer_group));
    s.endpoint_id.set(Val::from_option(found.endpoint.or(found.reused)));
    s.endpoint_security_group_id.set(Val::from_option(found.endpoint_group));
    s.producer_role_arn.set_known(producer.role_arn.clone());
    s.consumer_role_arn.set_known(consumer.role_arn.clone());
    Ok(s.encode())
}

/// The pipeline's network parts found by their tags: its groups, its own
/// endpoint, or the SQS endpoint it reuses.
struct ImportedNetwork {
    producer_group: Option<String>,
    endpoint_group: Option<String>,
    endpoint: Option<String>,
    reused: Option<String>,
}

async fn imported_network(ctx: &Ctx, name: &str, vpc_id: &str) -> Result<ImportedNetwork, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let owner = format!("pipeline/{name}");
    let tagged = |part: &str| {
        let mut t = Tags::new();
        t.insert(tags::OWNER_TAG.into(), owner.clone());
        t.insert(tags::PART_TAG.into(), part.into());
        t
    };
    let producer_group = sg::find_by_tags(ec2, vpc_id, &tagged("producer-group")).await?.into_iter().next();
    let endpoint_group = sg::find_by_tags(ec2, vpc_id, &tagged("endpoint-group")).await?.into_iter().next();
    let endpoint = vpce::find_by_tags(ec2, vpc_id, &tagged("endpoint")).await?.into_iter().next().map(|e| e.id);
    let reused = match (&endpoint, &producer_group) {
        (None, Some(g)) => reused_endpoint(ctx, vpc_id, g).await?,
        _ => None,
    };
    Ok(ImportedNetwork { producer_group, endpoint_group, endpoint, reused })
}

/// The SQS endpoint the producer's egress names the groups of (a pipeline
/// that reuses an endpoint).
async fn reused_endpoint(ctx: &Ctx, vpc_id: &str, producer_group: &str) -> Result<Option<String>, Diagnostic> {
    let ec2 = &ctx.aws.ec2;
    let targets: Vec<String> = sg::find(ec2, producer_group)
        .await?
        .map(|g| {
            g.rules
                .iter()
                .filter_map(|r| match &r.peer {
                    Peer::Group(x) => Some(x.clone()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let sqs = vpce::find_for_service(ec2, vpc_id, &format!("com.amazonaws.{}.sqs", ctx.aws.region)).await?;
    Ok(sqs.into_iter().find(|e| e.security_group_ids.iter().any(|x| targets.contains(x))).map(|e| e.id))
}

/// A function block as an import sees it: where the code came from (the
/// source tag), the role when it is not the pipeline's own, and for the
/// producer (`producer` = its queue and group) the queue URL variable and
/// the groups the user added.
fn imported_function(f: &Function, producer: Option<(Option<&Queue>, Option<&str>)>) -> FunctionBlock {
    let mut b = FunctionBlock::default();
    match f.tags.get(SOURCE_TAG).and_then(|t| CodeSource::from_tag(t)) {
        Some(CodeSource::Dir(d)) => b.source_dir.set_known(d.display().to_string()),
        Some(CodeSource::File(p)) => b.filename.set_known(p.display().to_string()),
        None => {}
    }
    let own_role = f.role_arn.ends_with(&format!(":role/{}", f.name));
    b.role_arn.set(if own_role { Val::Null } else { Val::Known(f.role_arn.clone()) });
    match producer {
        Some((queue, group)) => {
            let var = queue.and_then(|q| f.environment.iter().find(|(_, v)| **v == q.url).map(|(k, _)| k.clone()));
            b.queue_url_env_var.set_known(var.unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()));
            let extra: Vec<String> = f.security_group_ids.iter().filter(|g| Some(g.as_str()) != group).cloned().collect();
            b.security_group_ids.set(if extra.is_empty() { Val::Null } else { Val::Known(Set::of(&extra)) });
        }
        None => b.in_vpc.set_known(!f.subnet_ids.is_empty()),
    }
    b
}

// ---------------------------------------------------------------- identity

/// The pipeline's identity: its name, which every object's name and owner
/// tag derive from and which replaces the pipeline when changed, and the
/// region (one name per region).
/// The identity's attribute naming the pipeline.
const IDENTITY_NAME: &str = "name";

pub(super) fn identity_schema() -> crate::identity::IdentitySchema {
    use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
    IdentitySchema::new(vec![
        IdentityAttribute::required(IDENTITY_NAME, "The pipeline's `name`."),
        IdentityAttribute::optional(REGION, "The pipeline's region; default the provider's."),
    ])
}

pub(super) fn identity_of(state: &Pipeline, region: &str) -> Value {
    Value::object([(IDENTITY_NAME, state.name.encode_field()), (crate::identity::REGION, Value::string(region))])
}

/// Import by identity is import by name.
pub(super) fn import_id_of(identity: &Value) -> Result<String, Diagnostics> {
    let name = identity.get(IDENTITY_NAME).as_str().unwrap_or("");
    check_name(name).map_err(|e| Diagnostic::error("Invalid import identity", format!("identity.name: {e}")))?;
    Ok(name.to_string())
}

/// Destroy plan: the pipeline's own SQS endpoint goes with it (a reused
/// one stays: nothing to check). Clients it admits, network interfaces in
/// a group its endpoint group lets in other than the pipeline's own
/// functions (e.g. another function put in the producer's group), lose
/// their private path to SQS.
pub(super) async fn destroy_warnings(ctx: &Ctx, prior: &Pipeline) -> Diagnostics {
    let (true, Some(group_id), Some(vpc_id)) = (prior.own_endpoint(), prior.endpoint_security_group_id.str(), prior.vpc_id.str()) else {
        return Diagnostics::default();
    };
    let name = prior.name.str().unwrap_or("");
    let going = crate::resources::Going { what: format!("the SQS endpoint of pipeline {name}"), services: "SQS".into(), vpc_id };
    let admitted = match ctx.run("reading the endpoint's group", sg::find(&ctx.aws.ec2, group_id)).await {
        Ok(Some(g)) => admitted_groups(&g),
        Ok(None) => return Diagnostics::default(),
        Err(e) => return going.unchecked(e).into(),
    };
    let own = [format!("{name}-producer"), format!("{name}-consumer")];
    going.client_warnings(ctx, &admitted, |i| i.lambda_function().is_some_and(|f| own.contains(&f))).await
}

/// The groups a group lets in (ingress rules naming a group).
pub(super) fn admitted_groups(g: &Group) -> Vec<String> {
    let groups = g.rules.iter().filter(|r| r.direction == Direction::Ingress).filter_map(|r| match &r.peer {
        Peer::Group(id) => Some(id.clone()),
        _ => None,
    });
    groups.collect::<std::collections::BTreeSet<_>>().into_iter().collect()
}
