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
    let subnets = producer.subnet_ids.clone();
    // The function's VpcConfig names its VPC, but moto always answers
    // vpc-123abc there; the subnets' own VPC is right on both.
    let vpc_id = vpc::subnets(&aws.ec2, &subnets)
        .await?
        .first()
        .map(|s| s.vpc_id.clone())
        .ok_or_else(|| bad(format!("{name}-producer is in no subnet of this account")))?;
    let owner = format!("pipeline/{name}");
    let tagged = |part: &str| {
        let mut t = Tags::new();
        t.insert(tags::OWNER_TAG.into(), owner.clone());
        t.insert(tags::PART_TAG.into(), part.into());
        t
    };
    let producer_group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("producer-group")).await?.into_iter().next();
    let endpoint_group = sg::find_by_tags(&aws.ec2, &vpc_id, &tagged("endpoint-group")).await?.into_iter().next();
    let endpoint = vpce::find_by_tags(&aws.ec2, &vpc_id, &tagged("endpoint")).await?.into_iter().next();
    let reused = match (&endpoint, &producer_group) {
        (Some(_), _) | (None, None) => None,
        // The producer's egress names the groups of the endpoint it uses.
        (None, Some(g)) => {
            let targets: Vec<String> = sg::find(&aws.ec2, g)
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
            let sqs = vpce::find_for_service(&aws.ec2, &vpc_id, &format!("com.amazonaws.{}.sqs", aws.region)).await?;
            sqs.into_iter().find(|e| e.security_group_ids.iter().any(|x| targets.contains(x))).map(|e| e.id)
        }
    };
    let mapping = match &queue {
        Some(q) => esm::find_for(&aws.lambda, &consumer.name, &q.arn).await?,
        None => None,
    };
    let own_role = |f: &Function, role: &str| f.role_arn.ends_with(&format!(":role/{role}"));
    let function_block = |f: &Function, is_producer: bool| {
        let source = f.tags.get(SOURCE_TAG).and_then(|t| CodeSource::from_tag(t));
        let mut b: BTreeMap<String, Value> = BTreeMap::new();
        b.insert(
            "source_dir".into(),
            Value::opt_string(match &source {
                Some(CodeSource::Dir(d)) => Some(d.display().to_string()),
                _ => None,
            }),
        );
        b.insert(
            "filename".into(),
            Value::opt_string(match &source {
                Some(CodeSource::File(p)) => Some(p.display().to_string()),
                _ => None,
            }),
        );
        b.insert("role_arn".into(), if own_role(f, &f.name) { Value::Null } else { Value::string(f.role_arn.clone()) });
        if is_producer {
            let var = queue.as_ref().and_then(|q| f.environment.iter().find(|(_, v)| **v == q.url).map(|(k, _)| k.clone()));
            b.insert("queue_url_env_var".into(), Value::string(var.unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into())));
            let ours: Vec<&String> = producer_group.iter().collect();
            let extra: Vec<String> = f.security_group_ids.iter().filter(|g| !ours.contains(g)).cloned().collect();
            b.insert("security_group_ids".into(), if extra.is_empty() { Value::Null } else { Value::string_set(&extra) });
        } else {
            b.insert("in_vpc".into(), Value::Bool(!f.subnet_ids.is_empty()));
        }
        Value::Object(b)
    };
    let user_tags = tags::without_ownership(&producer.tags);
    let own_tags: Tags =
        user_tags.iter().filter(|(k, v)| aws.default_tags.get(*k) != Some(*v)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut state: BTreeMap<String, Value> = BTreeMap::new();
    state.insert("id".into(), Value::string(name));
    state.insert("name".into(), Value::string(name));
    state.insert("vpc_id".into(), Value::string(vpc_id));
    state.insert("subnet_ids".into(), Value::string_set(&subnets));
    state.insert("tags".into(), if own_tags.is_empty() { Value::Null } else { Value::from_string_map(&own_tags) });
    state.insert("tags_all".into(), Value::from_string_map(&user_tags));
    state.insert("producer".into(), function_block(&producer, true));
    state.insert("consumer".into(), function_block(&consumer, false));
    if fifo {
        state.insert("queue".into(), Value::object([("fifo", Value::Bool(true))]));
    }
    state.insert(
        "endpoint".into(),
        Value::object([("create", Value::Bool(reused.is_none())), ("endpoint_id", Value::opt_string(reused.clone()))]),
    );
    let ids: [(&str, Option<String>); 12] = [
        ("queue_url", queue.as_ref().map(|q| q.url.clone())),
        ("queue_arn", queue.as_ref().map(|q| q.arn.clone())),
        ("dead_letter_queue_url", dlq.as_ref().map(|q| q.url.clone())),
        ("dead_letter_queue_arn", dlq.as_ref().map(|q| q.arn.clone())),
        ("producer_function_arn", Some(producer.arn.clone())),
        ("consumer_function_arn", Some(consumer.arn.clone())),
        ("event_source_mapping_id", mapping.map(|m| m.uuid)),
        ("producer_security_group_id", producer_group),
        ("endpoint_id", endpoint.map(|e| e.id).or(reused)),
        ("endpoint_security_group_id", endpoint_group),
        ("producer_role_arn", Some(producer.role_arn.clone())),
        ("consumer_role_arn", Some(consumer.role_arn.clone())),
    ];
    for (k, v) in ids {
        state.insert(k.into(), Value::opt_string(v));
    }
    Ok(Value::Object(state))
}

// ---------------------------------------------------------------- identity

/// The pipeline's identity: its name, which every object's name and owner
/// tag derive from and which replaces the pipeline when changed, and the
/// region (one name per region).
pub(super) fn identity_schema() -> crate::identity::IdentitySchema {
    use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
    IdentitySchema::new(vec![
        IdentityAttribute::required("name", "The pipeline's `name`."),
        IdentityAttribute::optional(REGION, "The pipeline's region; default the provider's."),
    ])
}

pub(super) fn identity_of(state: &Value, region: &str) -> Value {
    Value::object([("name", state.get("name").clone()), (crate::identity::REGION, Value::string(region))])
}

/// Import by identity is import by name.
pub(super) fn import_id_of(identity: &Value) -> Result<String, Diagnostics> {
    let name = identity.get("name").as_str().unwrap_or("");
    check_name(name).map_err(|e| Diagnostic::error("Invalid import identity", format!("identity.name: {e}")))?;
    Ok(name.to_string())
}

/// Destroy plan: the pipeline's own SQS endpoint goes with it (a reused
/// one stays: nothing to check). Clients it admits, network interfaces in
/// a group its endpoint group lets in other than the pipeline's own
/// functions (e.g. another function put in the producer's group), lose
/// their private path to SQS.
pub(super) async fn destroy_warnings(ctx: &Ctx, prior: &Value) -> Diagnostics {
    let ids = Ids(prior);
    let (true, Some(group_id), Some(vpc_id)) = (ids.own_endpoint(), ids.get("endpoint_security_group_id"), prior.get("vpc_id").as_str())
    else {
        return Diagnostics::default();
    };
    let name = prior.get("name").as_str().unwrap_or("");
    let going = crate::resources::Going { what: format!("the SQS endpoint of pipeline {name}"), services: "SQS".into(), vpc_id };
    let admitted = match ctx.run("reading the endpoint's group", sg::find(&ctx.aws.ec2, &group_id)).await {
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
