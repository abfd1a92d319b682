//! Apply: observe the parts, then create, update or delete them along the part graph; destroy runs it backwards.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- apply

/// What exists, as apply learns it. Every finished step writes here, so a
/// failure still returns everything that was made.
#[derive(Default, Clone)]
pub(super) struct Record {
    pub(super) dlq: Option<Queue>,
    pub(super) queue: Option<Queue>,
    pub(super) producer_role: Option<String>,
    pub(super) consumer_role: Option<String>,
    pub(super) producer_group: Option<Group>,
    pub(super) endpoint_group: Option<Group>,
    pub(super) endpoint: Option<Endpoint>,
    /// Groups of the endpoint the producer talks to (ours or a reused one).
    pub(super) endpoint_groups: Vec<String>,
    pub(super) producer: Option<Function>,
    pub(super) consumer: Option<Function>,
    pub(super) mapping: Option<Mapping>,
}

/// How much `observe` reads. Apply and destroy get what they may change
/// (a queue's tags with its settings); a refresh gets only what the state
/// shows, so a no-change plan costs one call per API object kind and no more
/// (issue 6's budget: at most 10).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Depth {
    Apply,
    Refresh,
}

/// Everything the prior state recorded, as it is now: independent reads,
/// sent together (both groups in one Describe).
pub(super) async fn observe(ctx: &Ctx, prior: &Value, depth: Depth) -> Result<Record, Diagnostic> {
    let aws = &ctx.aws;
    if prior.is_null() {
        return Ok(Record::default());
    }
    let prior = Pipeline::decode(prior);
    let name = prior.name.str().unwrap_or("");
    let queue = |url: Option<String>| async move {
        match (url, depth) {
            (None, _) => Ok(None),
            (Some(u), Depth::Apply) => queue::find(&aws.sqs, &u).await,
            (Some(u), Depth::Refresh) => queue::find_settings(&aws.sqs, &u).await,
        }
    };
    // Only the ARN: ensure_role reads the policies itself before changing them.
    let role = |own: Option<String>, who: &'static str| async move {
        match own {
            None => Ok(None),
            Some(_) => role::arn_of(&aws.iam, &format!("{name}-{who}")).await,
        }
    };
    let function = |recorded: Option<String>, who: &'static str| async move {
        match recorded {
            None => Ok(None),
            Some(_) => function::find(&aws.lambda, &format!("{name}-{who}")).await,
        }
    };
    let (producer_group_id, endpoint_group_id) = (prior.producer_security_group_id.owned(), prior.endpoint_security_group_id.owned());
    let group_ids: Vec<String> = producer_group_id.iter().chain(endpoint_group_id.iter()).cloned().collect();
    let groups = sg::find_many(&aws.ec2, &group_ids);
    let endpoint = async {
        match prior.endpoint_id.owned() {
            None => Ok(None),
            Some(e) => Ok(vpce::find_many(&aws.ec2, &[e]).await?.into_iter().find(|e| !e.is_gone())),
        }
    };
    let mapping = async {
        match prior.event_source_mapping_id.owned() {
            None => Ok(None),
            Some(u) => esm::find(&aws.lambda, &u).await,
        }
    };
    use crate::calls::with_count as n;
    let (
        (dlq, c1),
        (queue, c2),
        (producer_role, c3),
        (consumer_role, c4),
        (groups, c5),
        (endpoint, c6),
        (producer, c7),
        (consumer, c8),
        (mapping, c9),
    ) = tokio::try_join!(
        n(queue(prior.dead_letter_queue_url.owned())),
        n(queue(prior.queue_url.owned())),
        n(role(prior.own_role(true), "producer")),
        n(role(prior.own_role(false), "consumer")),
        n(groups),
        n(endpoint),
        n(function(prior.producer_function_arn.owned(), "producer")),
        n(function(prior.consumer_function_arn.owned(), "consumer")),
        n(mapping),
    )?;
    crate::calls::log_concurrent_reads("read the pipeline", &[c1, c2, c3, c4, c5, c6, c7, c8, c9]);
    let group = |id: &Option<String>| id.as_ref().and_then(|id| groups.iter().find(|g| &g.id == id).cloned());
    Ok(Record {
        dlq,
        queue,
        producer_role,
        consumer_role,
        producer_group: group(&producer_group_id),
        endpoint_group: group(&endpoint_group_id),
        endpoint,
        producer,
        consumer,
        mapping,
        ..Record::default()
    })
}

pub(super) async fn reconcile(ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
    let desired = Desired::from(&Pipeline::decode(planned));
    let timeout = if prior.is_null() { desired.timeouts.create } else { desired.timeouts.update };
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let record = Mutex::new(observed);
    let d = &desired;
    let rec = &record;
    let reuse = d.endpoint_id.is_some();
    let before = Pipeline::decode(prior);
    let had = if prior.is_null() { None } else { Some(Own::recorded(&before)) };
    let prior_endpoint = before.endpoint_id.owned();
    let steps = apply_graph(Own::wanted(d), had)
        .into_iter()
        .map(|(op, after)| {
            let (part, endpoint) = match op {
                Op::Ensure(p) => (p, d.endpoint_id.as_deref().or(prior_endpoint.as_deref())),
                Op::Remove(p) => (p, prior_endpoint.as_deref()),
            };
            let run = match op {
                Op::Ensure(Part::DeadLetterQueue) => ensure_dlq(ctx, d, rec).boxed(),
                Op::Ensure(Part::Queue) => ensure_queue(ctx, d, rec).boxed(),
                Op::Ensure(Part::ProducerRole) => ensure_role(ctx, d, rec, true).boxed(),
                Op::Ensure(Part::ConsumerRole) => ensure_role(ctx, d, rec, false).boxed(),
                Op::Ensure(Part::ProducerGroup) => ensure_producer_group(ctx, d, rec).boxed(),
                Op::Ensure(Part::EndpointGroup) => ensure_endpoint_group(ctx, d, rec).boxed(),
                Op::Ensure(Part::ProducerEgress) if reuse => reused_endpoint_groups(ctx, d, rec).boxed(),
                Op::Ensure(Part::ProducerEgress) => ensure_producer_egress(ctx, d, rec).boxed(),
                Op::Ensure(Part::EndpointIngress) => ensure_endpoint_ingress(ctx, d, rec).boxed(),
                Op::Ensure(Part::Endpoint) => ensure_endpoint(ctx, d, rec, timeout).boxed(),
                Op::Ensure(Part::Producer) => ensure_function(ctx, d, rec, true, timeout).boxed(),
                Op::Ensure(Part::Consumer) => ensure_function(ctx, d, rec, false, timeout).boxed(),
                Op::Ensure(Part::Mapping) => ensure_mapping(ctx, d, rec, timeout).boxed(),
                Op::Remove(Part::ProducerRole) => remove_role(ctx, format!("{}-producer", d.name), rec, true).boxed(),
                Op::Remove(Part::ConsumerRole) => remove_role(ctx, format!("{}-consumer", d.name), rec, false).boxed(),
                Op::Remove(Part::Endpoint) => remove_endpoint(ctx, rec, timeout).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, rec, timeout).boxed(),
                Op::Remove(_) => engine::no_work_for(op),
            };
            Step::new(op, part.object(d, endpoint), after, run)
        })
        .collect();
    let (_, diags) = ctx.run_steps("applying the pipeline", steps).await;
    let record = record.into_inner().unwrap_or_else(|e| e.into_inner());
    (state_after(planned, &record, reuse), diags)
}

pub(super) async fn ensure_dlq(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let known = rec.lock().unwrap().dlq.clone();
    let q = ensure_one_queue(ctx, &d.dlq_spec(), known).await?;
    rec.lock().unwrap().dlq = Some(q);
    Ok(())
}

pub(super) async fn ensure_queue(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (known, dlq) = {
        let r = rec.lock().unwrap();
        (r.queue.clone(), r.dlq.as_ref().map(|q| q.arn.clone()).unwrap_or_default())
    };
    let q = ensure_one_queue(ctx, &d.queue_spec(&dlq), known).await?;
    rec.lock().unwrap().queue = Some(q);
    Ok(())
}

/// A queue brought to `spec` (`queue::ensure`).
pub(super) async fn ensure_one_queue(ctx: &Ctx, spec: &QueueSpec, known: Option<Queue>) -> Result<Queue, Diagnostic> {
    queue::ensure(&ctx.aws.sqs, spec, known).await
}

pub(super) async fn ensure_role(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, producer: bool) -> Result<(), Diagnostic> {
    let queue_arn = rec.lock().unwrap().queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default();
    let f = if producer { &d.producer } else { &d.consumer };
    let spec = d.role_spec(f, &queue_arn, &ctx.aws.region, producer);
    let role = role::ensure(&ctx.aws.iam, &spec).await?;
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer_role = Some(role);
    } else {
        r.consumer_role = Some(role);
    }
    Ok(())
}

pub(super) async fn ensure_producer_group(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    // The egress rule names the endpoint's group, which may not exist yet:
    // keep what is known now, `producer-egress` completes it.
    let (known, targets) = {
        let r = rec.lock().unwrap();
        let targets: Vec<String> = r.endpoint_group.iter().map(|g| g.id.clone()).collect();
        (r.producer_group.clone(), targets)
    };
    let spec = d.producer_group_spec(&targets);
    let on_created = |id: &str| {
        rec.lock().unwrap().producer_group =
            Some(Group { id: id.to_string(), name: spec.name.clone(), vpc_id: d.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] });
    };
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    rec.lock().unwrap().producer_group = Some(g);
    Ok(())
}

pub(super) async fn ensure_endpoint_group(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    // The ingress rule names the producer's group, which may not exist yet:
    // keep what is known now, `endpoint-ingress` completes it.
    let (known, producer) = {
        let r = rec.lock().unwrap();
        (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone()))
    };
    let spec = d.endpoint_group_spec(producer.as_deref());
    let on_created = |id: &str| {
        rec.lock().unwrap().endpoint_group =
            Some(Group { id: id.to_string(), name: spec.name.clone(), vpc_id: d.vpc_id.clone(), tags: spec.tags.clone(), rules: vec![] });
    };
    let g = sg::ensure(&ctx.aws.ec2, &spec, known, on_created).await?;
    let mut r = rec.lock().unwrap();
    r.endpoint_groups = vec![g.id.clone()];
    r.endpoint_group = Some(g);
    Ok(())
}

pub(super) async fn ensure_producer_egress(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (group, targets) = {
        let r = rec.lock().unwrap();
        (r.producer_group.clone(), r.endpoint_groups.clone())
    };
    let Some(group) = group else { return Ok(()) };
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &d.producer_group_spec(&targets).rules).await?;
    rec.lock().unwrap().producer_group = Some(done);
    Ok(())
}

pub(super) async fn ensure_endpoint_ingress(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let (group, producer) = {
        let r = rec.lock().unwrap();
        (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone()))
    };
    let Some(group) = group else { return Ok(()) };
    let done = sg::ensure_rules(&ctx.aws.ec2, &group, &d.endpoint_group_spec(producer.as_deref()).rules).await?;
    rec.lock().unwrap().endpoint_group = Some(done);
    Ok(())
}

/// With a reused endpoint the producer may reach exactly its groups.
pub(super) async fn reused_endpoint_groups(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let id = d.endpoint_id.clone().unwrap_or_default();
    let ep = vpce::find_many(&ctx.aws.ec2, std::slice::from_ref(&id)).await?.into_iter().find(|e| !e.is_gone()).ok_or_else(|| {
        Diagnostic::error("vpc endpoint: not found", format!("endpoint.endpoint_id {id} does not exist (or is deleted)."))
            .at(Path::attr("endpoint").then("endpoint_id"))
    })?;
    rec.lock().unwrap().endpoint_groups = ep.security_group_ids.clone();
    ensure_producer_egress(ctx, d, rec).await
}

pub(super) async fn ensure_endpoint(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let (known, group) = {
        let r = rec.lock().unwrap();
        (r.endpoint.clone(), r.endpoint_group.as_ref().map(|g| g.id.clone()).unwrap_or_default())
    };
    let spec = d.endpoint_spec(&ctx.aws.region, &group);
    let on_created = |id: &str| tracing::info!(endpoint = %id, "sqs endpoint created");
    let ep = vpce::ensure(&ctx.aws.ec2, &spec, known, false, timeout, on_created).await?;
    rec.lock().unwrap().endpoint = Some(ep);
    Ok(())
}

pub(super) async fn ensure_function(
    ctx: &Ctx,
    d: &Desired,
    rec: &Mutex<Record>,
    producer: bool,
    timeout: Duration,
) -> Result<(), Diagnostic> {
    let f = if producer { &d.producer } else { &d.consumer };
    let block = if producer { "producer" } else { "consumer" };
    let code = f
        .code
        .as_ref()
        .ok_or_else(|| Diagnostic::error("No function code", "Give source_dir or filename.").at(Path::attr(block)))?
        .load()
        .map_err(|e| Diagnostic::error("Cannot read the function's code", e).at(Path::attr(block)))?;
    let (known, role, groups, queue_url) = {
        let r = rec.lock().unwrap();
        let known = if producer { r.producer.clone() } else { r.consumer.clone() };
        let role = f.role_arn.clone().or(if producer { r.producer_role.clone() } else { r.consumer_role.clone() }).unwrap_or_default();
        let groups: Vec<String> = r.producer_group.iter().map(|g| g.id.clone()).collect();
        (known, role, groups, r.queue.as_ref().map(|q| q.url.clone()))
    };
    let spec = d.function_spec(f, &role, &groups, if producer { queue_url.as_deref() } else { None });
    let made = function::ensure(&ctx.aws.lambda, &spec, &code, known, timeout).await?;
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer = Some(made);
    } else {
        r.consumer = Some(made);
    }
    Ok(())
}

pub(super) async fn ensure_mapping(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let (known, queue_arn) = {
        let r = rec.lock().unwrap();
        (r.mapping.clone(), r.queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default())
    };
    let m = esm::ensure(&ctx.aws.lambda, &d.mapping_spec(&queue_arn), known, timeout).await?;
    rec.lock().unwrap().mapping = Some(m);
    Ok(())
}

pub(super) async fn remove_role(ctx: &Ctx, name: String, rec: &Mutex<Record>, producer: bool) -> Result<(), Diagnostic> {
    role::delete(&ctx.aws.iam, &name).await?;
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer_role = None;
    } else {
        r.consumer_role = None;
    }
    Ok(())
}

pub(super) async fn remove_endpoint(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().endpoint.as_ref().map(|e| e.id.clone());
    if let Some(id) = id {
        vpce::delete(&ctx.aws.ec2, &[id], timeout).await?;
    }
    rec.lock().unwrap().endpoint = None;
    Ok(())
}

pub(super) async fn remove_endpoint_group(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().endpoint_group.as_ref().map(|g| g.id.clone());
    if let Some(id) = id {
        sg::delete(&ctx.aws.ec2, &id, timeout).await?;
    }
    rec.lock().unwrap().endpoint_group = None;
    Ok(())
}

/// The state after apply: the plan with every id from what exists now.
pub(super) fn state_after(planned: &Value, r: &Record, reuse: bool) -> Value {
    let mut s = Pipeline::decode(planned);
    let id = |v: Option<String>| Val::from_option(v);
    s.dead_letter_queue_url.set(id(r.dlq.as_ref().map(|q| q.url.clone())));
    s.dead_letter_queue_arn.set(id(r.dlq.as_ref().map(|q| q.arn.clone())));
    s.queue_url.set(id(r.queue.as_ref().map(|q| q.url.clone())));
    s.queue_arn.set(id(r.queue.as_ref().map(|q| q.arn.clone())));
    s.producer_security_group_id.set(id(r.producer_group.as_ref().map(|g| g.id.clone())));
    s.producer_function_arn.set(id(r.producer.as_ref().map(|f| f.arn.clone())));
    s.consumer_function_arn.set(id(r.consumer.as_ref().map(|f| f.arn.clone())));
    s.event_source_mapping_id.set(id(r.mapping.as_ref().map(|m| m.uuid.clone())));
    if !reuse {
        s.endpoint_id.set(id(r.endpoint.as_ref().map(|e| e.id.clone())));
        s.endpoint_security_group_id.set(id(r.endpoint_group.as_ref().map(|g| g.id.clone())));
    }
    for (attr, role) in [(&mut s.producer_role_arn, &r.producer_role), (&mut s.consumer_role_arn, &r.consumer_role)] {
        if attr.is_unknown() || role.is_some() {
            attr.set(id(role.clone()));
        }
    }
    for (block, f) in [(&mut s.producer.0, &r.producer), (&mut s.consumer.0, &r.consumer)] {
        match f {
            Some(f) => block.code_sha256.set_known(f.code_sha256.clone()),
            None if block.code_sha256.is_unknown() => block.code_sha256.set(Val::Null),
            None => {}
        }
    }
    s.encode()
}

pub(super) async fn destroy(ctx: &Ctx, prior: &Value) -> (Value, Diagnostics) {
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let before = Pipeline::decode(prior);
    let timeout = before.timeouts.limits(TIMEOUTS).delete;
    let name = before.name.owned().unwrap_or_default();
    // Only for the objects' names in diagnostics.
    let named = Desired::from(&before);
    let endpoint = before.endpoint_id.owned();
    let rec = Mutex::new(observed);
    let rec = &rec;
    let steps = destroy_graph(Own::recorded(&before))
        .into_iter()
        .map(|(op, after)| {
            let run = match op {
                Op::Remove(Part::Mapping) => remove_mapping(ctx, rec, timeout).boxed(),
                Op::Remove(Part::Consumer) => remove_function(ctx, rec, false, timeout).boxed(),
                Op::Remove(Part::Producer) => remove_function(ctx, rec, true, timeout).boxed(),
                Op::Remove(Part::Queue) => remove_queue(ctx, rec, false).boxed(),
                Op::Remove(Part::DeadLetterQueue) => remove_queue(ctx, rec, true).boxed(),
                Op::Remove(Part::ProducerGroup) => remove_producer_group(ctx, rec, timeout).boxed(),
                Op::Remove(Part::ProducerRole) => remove_role(ctx, format!("{name}-producer"), rec, true).boxed(),
                Op::Remove(Part::ConsumerRole) => remove_role(ctx, format!("{name}-consumer"), rec, false).boxed(),
                Op::Remove(Part::Endpoint) => remove_endpoint(ctx, rec, timeout).boxed(),
                Op::Remove(Part::ProducerEgress) => remove_producer_egress(ctx, rec).boxed(),
                Op::Remove(Part::EndpointGroup) => remove_endpoint_group(ctx, rec, timeout).boxed(),
                // Not a step of destroy: the endpoint group's ingress rule goes
                // with that group, before the producer's group (destroy_graph).
                Op::Remove(Part::EndpointIngress) | Op::Ensure(_) => engine::no_work_for(op),
            };
            let (Op::Remove(part) | Op::Ensure(part)) = op;
            Step::new(op, part.object(&named, endpoint.as_deref()), after, run)
        })
        .collect();
    let (_, diags) = ctx.run_steps("destroying the pipeline", steps).await;
    if !diags.has_errors() {
        return (Value::Null, diags);
    }
    // Keep what is still there, so the next destroy finishes the job.
    let r = rec.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (state_after(prior, &r, !before.own_endpoint()), diags)
}

pub(super) async fn remove_mapping(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let uuid = rec.lock().unwrap().mapping.as_ref().map(|m| m.uuid.clone());
    if let Some(u) = uuid {
        esm::delete(&ctx.aws.lambda, &u, timeout).await?;
    }
    rec.lock().unwrap().mapping = None;
    Ok(())
}

/// The recorded function deleted (`function::remove`: out of the VPC
/// first, so Lambda starts releasing its network interfaces, which
/// otherwise hold the producer's group for a long time after the delete).
pub(super) async fn remove_function(ctx: &Ctx, rec: &Mutex<Record>, producer: bool, timeout: Duration) -> Result<(), Diagnostic> {
    let f = {
        let r = rec.lock().unwrap();
        if producer {
            r.producer.clone()
        } else {
            r.consumer.clone()
        }
    };
    if let Some(f) = f {
        function::remove(&ctx.aws.lambda, &f, timeout).await?;
    }
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer = None;
    } else {
        r.consumer = None;
    }
    Ok(())
}

pub(super) async fn remove_queue(ctx: &Ctx, rec: &Mutex<Record>, dead_letter: bool) -> Result<(), Diagnostic> {
    let url = {
        let r = rec.lock().unwrap();
        if dead_letter {
            r.dlq.as_ref().map(|q| q.url.clone())
        } else {
            r.queue.as_ref().map(|q| q.url.clone())
        }
    };
    if let Some(u) = url {
        queue::delete(&ctx.aws.sqs, &u).await?;
    }
    let mut r = rec.lock().unwrap();
    if dead_letter {
        r.dlq = None;
    } else {
        r.queue = None;
    }
    Ok(())
}

pub(super) async fn remove_producer_egress(ctx: &Ctx, rec: &Mutex<Record>) -> Result<(), Diagnostic> {
    let group = rec.lock().unwrap().producer_group.clone();
    if let Some(g) = group {
        sg::reconcile_rules(&ctx.aws.ec2, &g.id, &g.rules, &[]).await?;
        rec.lock().unwrap().producer_group = sg::find(&ctx.aws.ec2, &g.id).await?;
    }
    Ok(())
}

pub(super) async fn remove_producer_group(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let id = rec.lock().unwrap().producer_group.as_ref().map(|g| g.id.clone());
    if let Some(id) = id {
        sg::delete(&ctx.aws.ec2, &id, timeout).await?;
    }
    rec.lock().unwrap().producer_group = None;
    Ok(())
}
