//! Import by name or by identity: a state that `read` can complete.

use crate::ctx::Ctx;
use crate::diag::{Diagnostic, Diagnostics};
use crate::identity::{IdentityAttribute, IdentitySchema, REGION};
use crate::model::{Field, Set, Val};
use crate::parts::event_source_mapping as esm;
use crate::parts::function as lambda;
use crate::parts::queue;
use crate::parts::security_group::{self as sg, Peer};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc;
use crate::parts::vpc_endpoint as vpce;
use crate::resources::checks;
use crate::resources::composite::Import;
use crate::resources::endpoint;
use crate::resources::function::{self, FunctionRole, ProducerFound};
use crate::value::Value;

use super::config::{owner_of, Pipeline};
use super::validate::check_name;
use super::PrivateLambdaPipeline;

#[tonic::async_trait]
impl Import for PrivateLambdaPipeline {
    async fn import(&self, ctx: &Ctx, name: &str) -> Result<Pipeline, Diagnostics> {
        import_state(ctx, name).await.map_err(Diagnostics::from)
    }

    /// The pipeline's identity: its name, which every object's name and
    /// owner tag derive from and which replaces the pipeline when changed,
    /// and the region (one name per region).
    fn identity_schema(&self) -> IdentitySchema {
        IdentitySchema::new(vec![
            IdentityAttribute::required(IDENTITY_NAME, "The pipeline's `name`."),
            IdentityAttribute::optional(REGION, "The pipeline's region; default the provider's."),
        ])
    }

    fn identity(&self, state: &Pipeline, region: &str) -> Value {
        Value::object([(IDENTITY_NAME, state.name.encode_field()), (REGION, Value::string(region))])
    }

    /// Import by identity is import by name.
    async fn import_id(&self, _ctx: &Ctx, identity: &Value) -> Result<String, Diagnostics> {
        let name = identity.get(IDENTITY_NAME).as_str().unwrap_or("");
        check_name(name, true).map_err(|e| Diagnostic::error("Invalid import identity", format!("identity.name: {e}")))?;
        Ok(name.to_string())
    }
}

/// The identity's attribute naming the pipeline.
const IDENTITY_NAME: &str = "name";

/// A state `read` can complete, found from the pipeline's name: the
/// objects are named after it and tagged with it.
async fn import_state(ctx: &Ctx, name: &str) -> Result<Pipeline, Diagnostic> {
    let aws = &ctx.aws;
    let bad = |why: String| Diagnostic::error("Cannot import the pipeline", why);
    check_name(name, true).map_err(|e| bad(format!("{e} Import with the pipeline's `name`, e.g. terraform import ADDRESS orders")))?;
    let producer = lambda::find(&aws.lambda, &FunctionRole::Producer.function_name(name)).await?;
    let consumer = lambda::find(&aws.lambda, &FunctionRole::Consumer.function_name(name)).await?;
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
    let found_producer = ProducerFound { queue: queue.as_ref(), group: found.producer_group.as_deref() };
    s.producer.0 = function::imported(&producer, FunctionRole::Producer, found_producer);
    s.consumer.0 = function::imported(&consumer, FunctionRole::Consumer, ProducerFound::default());
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
    Ok(s)
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
    let owner = owner_of(name);
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
    let sqs = vpce::find_for_service(ec2, vpc_id, &endpoint::sqs(&ctx.aws.region)).await?;
    Ok(sqs.into_iter().find(|e| e.security_group_ids.iter().any(|x| targets.contains(x))).map(|e| e.id))
}
