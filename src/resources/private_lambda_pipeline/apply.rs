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

/// The state's ids of what the pipeline made.
pub(super) struct Ids<'a>(pub(super) &'a Value);

impl Ids<'_> {
    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.0.get(name).as_str().map(str::to_string)
    }
    /// A role the pipeline made (not one the user brought).
    pub(super) fn own_role(&self, block: &str, attr: &str) -> Option<String> {
        if self.0.get(block).get("role_arn").is_null() {
            self.get(attr)
        } else {
            None
        }
    }
    pub(super) fn own_endpoint(&self) -> bool {
        self.0.get("endpoint").get("endpoint_id").is_null()
    }
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
    let ids = Ids(prior);
    if prior.is_null() {
        return Ok(Record::default());
    }
    let name = prior.get("name").as_str().unwrap_or("");
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
    let (producer_group_id, endpoint_group_id) = (ids.get("producer_security_group_id"), ids.get("endpoint_security_group_id"));
    let group_ids: Vec<String> = producer_group_id.iter().chain(endpoint_group_id.iter()).cloned().collect();
    let groups = sg::find_many(&aws.ec2, &group_ids);
    let endpoint = async {
        match ids.get("endpoint_id") {
            None => Ok(None),
            Some(e) => Ok(vpce::find_many(&aws.ec2, &[e]).await?.into_iter().find(|e| !e.is_gone())),
        }
    };
    let mapping = async {
        match ids.get("event_source_mapping_id") {
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
        n(queue(ids.get("dead_letter_queue_url"))),
        n(queue(ids.get("queue_url"))),
        n(role(ids.own_role("producer", "producer_role_arn"), "producer")),
        n(role(ids.own_role("consumer", "consumer_role_arn"), "consumer")),
        n(groups),
        n(endpoint),
        n(function(ids.get("producer_function_arn"), "producer")),
        n(function(ids.get("consumer_function_arn"), "consumer")),
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

pub(super) fn stopped_or<K>(outcome: Result<engine::Outcome<K>, Diagnostic>) -> Diagnostics {
    match outcome {
        Ok(o) => Diagnostics(o.errors()),
        Err(stopped) => stopped.into(),
    }
}

// ---------------------------------------------------------------- the step graph

/// The pipeline's parts, as apply and destroy name their steps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Part {
    DeadLetterQueue,
    Queue,
    ProducerRole,
    ConsumerRole,
    ProducerGroup,
    EndpointGroup,
    /// The producer group's egress rule to the endpoint's groups.
    ProducerEgress,
    Endpoint,
    Producer,
    Consumer,
    Mapping,
}

impl Part {
    pub(super) fn name(self) -> &'static str {
        match self {
            Part::DeadLetterQueue => "dead-letter-queue",
            Part::Queue => "queue",
            Part::ProducerRole => "producer-role",
            Part::ConsumerRole => "consumer-role",
            Part::ProducerGroup => "producer-group",
            Part::EndpointGroup => "endpoint-group",
            Part::ProducerEgress => "producer-egress",
            Part::Endpoint => "endpoint",
            Part::Producer => "producer",
            Part::Consumer => "consumer",
            Part::Mapping => "mapping",
        }
    }

    /// The AWS object behind the part, for diagnostics: `endpoint` is the
    /// id of the endpoint concerned, when known.
    pub(super) fn object(self, d: &Desired, endpoint: Option<&str>) -> String {
        let name = &d.name;
        match self {
            Part::DeadLetterQueue => format!("SQS queue {}", d.queue_name(true)),
            Part::Queue => format!("SQS queue {}", d.queue_name(false)),
            Part::ProducerRole => format!("IAM role {}", d.producer.name),
            Part::ConsumerRole => format!("IAM role {}", d.consumer.name),
            Part::ProducerGroup => format!("security group {name}-producer"),
            Part::EndpointGroup => format!("security group {name}-endpoint"),
            Part::ProducerEgress => format!("egress rules of security group {name}-producer"),
            Part::Endpoint => match endpoint {
                Some(id) => format!("Interface endpoint for sqs ({id})"),
                None => "Interface endpoint for sqs".to_string(),
            },
            Part::Producer => format!("Lambda function {}", d.producer.name),
            Part::Consumer => format!("Lambda function {}", d.consumer.name),
            Part::Mapping => format!("event source mapping from SQS queue {} to Lambda function {}", d.queue_name(false), d.consumer.name),
        }
    }
}

/// A step of apply or destroy: bring a part to the configuration, or remove it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum Op {
    Ensure(Part),
    Remove(Part),
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Ensure(p) => f.write_str(p.name()),
            Op::Remove(p) => write!(f, "remove {}", p.name()),
        }
    }
}

/// Which optional parts the pipeline makes itself (instead of using the user's).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Own {
    pub(super) producer_role: bool,
    pub(super) consumer_role: bool,
    pub(super) endpoint: bool,
}

impl Own {
    /// What the configuration has the pipeline make.
    pub(super) fn wanted(d: &Desired) -> Own {
        Own {
            producer_role: d.producer.role_arn.is_none(),
            consumer_role: d.consumer.role_arn.is_none(),
            endpoint: d.endpoint_id.is_none(),
        }
    }
    /// What a (non-null) state records the pipeline made.
    pub(super) fn recorded(state: &Value) -> Own {
        let ids = Ids(state);
        Own {
            producer_role: ids.own_role("producer", "producer_role_arn").is_some(),
            consumer_role: ids.own_role("consumer", "consumer_role_arn").is_some(),
            endpoint: ids.own_endpoint(),
        }
    }
}

/// Apply's steps for a configuration that wants `wants`, from a prior state
/// that made `had` (`None`: creating).
pub(super) fn apply_graph(wants: Own, had: Option<Own>) -> Graph<Op> {
    use Dep::{IfPresent, On};
    use Op::{Ensure, Remove};
    let mut g = vec![
        (Ensure(Part::DeadLetterQueue), vec![]),
        (Ensure(Part::Queue), vec![On(Ensure(Part::DeadLetterQueue))]),
        (Ensure(Part::ProducerGroup), vec![]),
        (
            Ensure(Part::Producer),
            vec![
                IfPresent(Ensure(Part::ProducerRole)),
                On(Ensure(Part::ProducerEgress)),
                IfPresent(Ensure(Part::Endpoint)),
                On(Ensure(Part::Queue)),
            ],
        ),
        (Ensure(Part::Consumer), vec![IfPresent(Ensure(Part::ConsumerRole)), On(Ensure(Part::ProducerEgress))]),
        (Ensure(Part::Mapping), vec![On(Ensure(Part::Consumer)), On(Ensure(Part::Queue))]),
    ];
    if wants.producer_role {
        g.push((Ensure(Part::ProducerRole), vec![On(Ensure(Part::Queue))]));
    }
    if wants.consumer_role {
        g.push((Ensure(Part::ConsumerRole), vec![On(Ensure(Part::Queue))]));
    }
    if wants.endpoint {
        g.push((Ensure(Part::EndpointGroup), vec![On(Ensure(Part::ProducerGroup))]));
        g.push((Ensure(Part::ProducerEgress), vec![On(Ensure(Part::EndpointGroup))]));
        g.push((Ensure(Part::Endpoint), vec![On(Ensure(Part::EndpointGroup))]));
    } else {
        // A reused endpoint: the egress rule goes to its groups.
        g.push((Ensure(Part::ProducerEgress), vec![On(Ensure(Part::ProducerGroup))]));
    }
    // Parts the new configuration no longer wants (a role the user now
    // brings, an endpoint now reused) go once the functions moved off them.
    let had = had.unwrap_or(Own { producer_role: false, consumer_role: false, endpoint: false });
    if had.producer_role && !wants.producer_role {
        g.push((Remove(Part::ProducerRole), vec![On(Ensure(Part::Producer))]));
    }
    if had.consumer_role && !wants.consumer_role {
        g.push((Remove(Part::ConsumerRole), vec![On(Ensure(Part::Consumer))]));
    }
    if had.endpoint && !wants.endpoint {
        g.push((Remove(Part::Endpoint), vec![On(Ensure(Part::Producer))]));
        g.push((Remove(Part::EndpointGroup), vec![On(Remove(Part::Endpoint))]));
    }
    g
}

/// Destroy's steps for a state that made `had`: apply's graph backwards,
/// VPC functions out of the VPC first.
pub(super) fn destroy_graph(had: Own) -> Graph<Op> {
    use Dep::{IfPresent, On};
    use Op::Remove;
    let functions = || vec![On(Remove(Part::Producer)), On(Remove(Part::Consumer))];
    let mut g = vec![
        (Remove(Part::Mapping), vec![]),
        (Remove(Part::Consumer), vec![On(Remove(Part::Mapping))]),
        (Remove(Part::Producer), vec![]),
        (Remove(Part::Queue), vec![On(Remove(Part::Mapping)), On(Remove(Part::Producer))]),
        (Remove(Part::DeadLetterQueue), vec![On(Remove(Part::Queue))]),
        (Remove(Part::ProducerGroup), [functions(), vec![IfPresent(Remove(Part::EndpointGroup))]].concat()),
    ];
    if had.producer_role {
        g.push((Remove(Part::ProducerRole), vec![On(Remove(Part::Producer))]));
    }
    if had.consumer_role {
        g.push((Remove(Part::ConsumerRole), vec![On(Remove(Part::Consumer))]));
    }
    if had.endpoint {
        g.push((Remove(Part::Endpoint), functions()));
        // A group named in another group's rule cannot be deleted: the
        // producer's egress rule goes first.
        g.push((Remove(Part::ProducerEgress), functions()));
        g.push((Remove(Part::EndpointGroup), vec![On(Remove(Part::Endpoint)), On(Remove(Part::ProducerEgress))]));
    }
    g
}

pub(super) async fn reconcile(ctx: &Ctx, prior: &Value, planned: &Value) -> (Value, Diagnostics) {
    let desired = Desired::from(planned);
    let timeout = if prior.is_null() { desired.timeouts.create } else { desired.timeouts.update };
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let record = Mutex::new(observed);
    let d = &desired;
    let rec = &record;
    let reuse = d.endpoint_id.is_some();
    let had = if prior.is_null() { None } else { Some(Own::recorded(prior)) };
    let prior_endpoint = Ids(prior).get("endpoint_id");
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
    let diags = stopped_or(ctx.run("applying the pipeline", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await);
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

/// A queue brought to `spec`: the known one updated, or created (SQS's
/// create adopts a queue of that name).
pub(super) async fn ensure_one_queue(ctx: &Ctx, spec: &QueueSpec, known: Option<Queue>) -> Result<Queue, Diagnostic> {
    let sqs = &ctx.aws.sqs;
    match known {
        Some(q) => {
            queue::update(sqs, &q, spec).await?;
            queue::find(sqs, &q.url)
                .await?
                .ok_or_else(|| Diagnostic::error("sqs queue: vanished", format!("{} disappeared while it was updated.", q.url)))
        }
        None => queue::create(sqs, spec).await,
    }
}

pub(super) async fn ensure_role(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, producer: bool) -> Result<(), Diagnostic> {
    let iam = &ctx.aws.iam;
    let queue_arn = rec.lock().unwrap().queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default();
    let f = if producer { &d.producer } else { &d.consumer };
    let spec = d.role_spec(f, &queue_arn, &ctx.aws.region, producer);
    let role = match role::find(iam, &spec.name).await? {
        Some(current) => {
            role::update(iam, &current, &spec).await?;
            current.arn
        }
        None => role::create(iam, &spec).await?.arn,
    };
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
    let (known, producer) = {
        let r = rec.lock().unwrap();
        (r.endpoint_group.clone(), r.producer_group.as_ref().map(|g| g.id.clone()).unwrap_or_default())
    };
    let spec = d.endpoint_group_spec(&producer);
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
    let spec = d.producer_group_spec(&targets);
    sg::reconcile_rules(&ctx.aws.ec2, &group.id, &group.rules, &spec.rules).await?;
    let fresh = sg::find(&ctx.aws.ec2, &group.id).await?;
    rec.lock().unwrap().producer_group = fresh;
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
    let lambda = &ctx.aws.lambda;
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
    let current = match known {
        Some(c) => Some(c),
        None => function::find(lambda, &spec.name).await?,
    };
    let made = match current {
        Some(c) => function::update(lambda, &c, &spec, &code, timeout).await?,
        None => function::create(lambda, &spec, &code, timeout).await?,
    };
    let mut r = rec.lock().unwrap();
    if producer {
        r.producer = Some(made);
    } else {
        r.consumer = Some(made);
    }
    Ok(())
}

pub(super) async fn ensure_mapping(ctx: &Ctx, d: &Desired, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let lambda = &ctx.aws.lambda;
    let (known, queue_arn) = {
        let r = rec.lock().unwrap();
        (r.mapping.clone(), r.queue.as_ref().map(|q| q.arn.clone()).unwrap_or_default())
    };
    let spec = d.mapping_spec(&queue_arn);
    let m = match known {
        Some(m) if m.event_source_arn == queue_arn => match esm::changes(&m, &spec) {
            Some(u) => esm::update(lambda, &m.uuid, &u, timeout).await?,
            None => m,
        },
        _ => esm::create(lambda, &spec, timeout).await?,
    };
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
    let mut state = planned.clone();
    let Value::Object(fields) = &mut state else { return state };
    let mut set = |k: &str, v: Option<String>| {
        fields.insert(k.to_string(), Value::opt_string(v));
    };
    set("dead_letter_queue_url", r.dlq.as_ref().map(|q| q.url.clone()));
    set("dead_letter_queue_arn", r.dlq.as_ref().map(|q| q.arn.clone()));
    set("queue_url", r.queue.as_ref().map(|q| q.url.clone()));
    set("queue_arn", r.queue.as_ref().map(|q| q.arn.clone()));
    set("producer_security_group_id", r.producer_group.as_ref().map(|g| g.id.clone()));
    set("producer_function_arn", r.producer.as_ref().map(|f| f.arn.clone()));
    set("consumer_function_arn", r.consumer.as_ref().map(|f| f.arn.clone()));
    set("event_source_mapping_id", r.mapping.as_ref().map(|m| m.uuid.clone()));
    if !reuse {
        set("endpoint_id", r.endpoint.as_ref().map(|e| e.id.clone()));
        set("endpoint_security_group_id", r.endpoint_group.as_ref().map(|g| g.id.clone()));
    }
    for (attr, role) in [("producer_role_arn", &r.producer_role), ("consumer_role_arn", &r.consumer_role)] {
        if fields.get(attr).is_some_and(Value::is_unknown) || role.is_some() {
            fields.insert(attr.into(), Value::opt_string(role.clone()));
        }
    }
    for (block, f) in [("producer", &r.producer), ("consumer", &r.consumer)] {
        if let Some(Value::Object(b)) = fields.get_mut(block) {
            if let Some(f) = f {
                b.insert("code_sha256".into(), Value::string(f.code_sha256.clone()));
            } else if b.get("code_sha256").is_some_and(Value::is_unknown) {
                b.insert("code_sha256".into(), Value::Null);
            }
        }
    }
    state
}

pub(super) async fn destroy(ctx: &Ctx, prior: &Value) -> (Value, Diagnostics) {
    let observed = match ctx.run("reading the pipeline's parts", observe(ctx, prior, Depth::Apply)).await {
        Ok(r) => r,
        Err(e) => return (prior.clone(), e.into()),
    };
    let timeout = Timeouts::from_value(prior.get("timeouts")).delete;
    let ids = Ids(prior);
    let name = prior.get("name").as_str().unwrap_or("").to_string();
    // Only for the objects' names in diagnostics.
    let named = Desired::from(prior);
    let endpoint = ids.get("endpoint_id");
    let rec = Mutex::new(observed);
    let rec = &rec;
    let steps = destroy_graph(Own::recorded(prior))
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
                Op::Ensure(_) => engine::no_work_for(op),
            };
            let (Op::Remove(part) | Op::Ensure(part)) = op;
            Step::new(op, part.object(&named, endpoint.as_deref()), after, run)
        })
        .collect();
    let diags = stopped_or(ctx.run("destroying the pipeline", async { Ok(engine::run(steps, engine::CONCURRENCY).await) }).await);
    if !diags.has_errors() {
        return (Value::Null, diags);
    }
    // Keep what is still there, so the next destroy finishes the job.
    let r = rec.lock().unwrap_or_else(|e| e.into_inner()).clone();
    (state_after(prior, &r, !ids.own_endpoint()), diags)
}

pub(super) async fn remove_mapping(ctx: &Ctx, rec: &Mutex<Record>, timeout: Duration) -> Result<(), Diagnostic> {
    let uuid = rec.lock().unwrap().mapping.as_ref().map(|m| m.uuid.clone());
    if let Some(u) = uuid {
        esm::delete(&ctx.aws.lambda, &u, timeout).await?;
    }
    rec.lock().unwrap().mapping = None;
    Ok(())
}

/// A VPC function is first taken out of the VPC so Lambda starts releasing
/// its network interfaces, which otherwise hold its security group for a
/// long time after the delete; then it is deleted.
pub(super) async fn remove_function(ctx: &Ctx, rec: &Mutex<Record>, producer: bool, timeout: Duration) -> Result<(), Diagnostic> {
    let lambda = &ctx.aws.lambda;
    let f = {
        let r = rec.lock().unwrap();
        if producer {
            r.producer.clone()
        } else {
            r.consumer.clone()
        }
    };
    if let Some(f) = f {
        if !f.subnet_ids.is_empty() {
            tracing::info!(function = %f.name, "detaching the function from the VPC before deleting it");
            let spec = FunctionSpec {
                name: f.name.clone(),
                role_arn: f.role_arn.clone(),
                handler: f.handler.clone(),
                runtime: f.runtime.clone(),
                memory_size: f.memory_size,
                timeout: f.timeout,
                environment: f.environment.clone(),
                subnet_ids: vec![],
                security_group_ids: vec![],
                tags: f.tags.clone(),
            };
            function::update_config(lambda, &f.name, &spec, timeout).await?;
        }
        function::delete(lambda, &f.name, timeout).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the optional parts.
    fn all_owns() -> Vec<Own> {
        (0..8).map(|i| Own { producer_role: i & 1 != 0, consumer_role: i & 2 != 0, endpoint: i & 4 != 0 }).collect()
    }

    const MINE: Own = Own { producer_role: true, consumer_role: true, endpoint: true };
    const THEIRS: Own = Own { producer_role: false, consumer_role: false, endpoint: false };

    /// The graph checked by the engine, as step names: each step's
    /// dependencies, sorted.
    fn edges(g: Graph<Op>) -> BTreeMap<String, Vec<String>> {
        let resolved = engine::check(&g).unwrap_or_else(|e| panic!("{e:?}"));
        resolved
            .into_iter()
            .map(|(k, deps)| {
                let mut deps: Vec<String> = deps.iter().map(ToString::to_string).collect();
                deps.sort();
                (k.to_string(), deps)
            })
            .collect()
    }

    fn after<'a>(e: &'a BTreeMap<String, Vec<String>>, step: &str) -> Vec<&'a str> {
        e.get(step).unwrap_or_else(|| panic!("no step {step} in {e:?}")).iter().map(String::as_str).collect()
    }

    #[test]
    fn every_apply_and_destroy_graph_is_valid() {
        // Create (no prior) and update from every prior, for every configuration.
        for wants in all_owns() {
            for had in std::iter::once(None).chain(all_owns().into_iter().map(Some)) {
                let g = apply_graph(wants, had);
                assert!(engine::check(&g).is_ok(), "apply {wants:?} from {had:?}: {:?}", engine::check(&g).err());
            }
        }
        for had in all_owns() {
            let g = destroy_graph(had);
            assert!(engine::check(&g).is_ok(), "destroy {had:?}: {:?}", engine::check(&g).err());
        }
    }

    #[test]
    fn own_endpoint_and_roles() {
        let e = edges(apply_graph(MINE, None));
        assert_eq!(e.len(), 11, "{e:?}");
        assert_eq!(after(&e, "producer"), ["endpoint", "producer-egress", "producer-role", "queue"]);
        assert_eq!(after(&e, "consumer"), ["consumer-role", "producer-egress"]);
        assert_eq!(after(&e, "producer-egress"), ["endpoint-group"]);
        assert_eq!(after(&e, "endpoint"), ["endpoint-group"]);
        assert_eq!(after(&e, "endpoint-group"), ["producer-group"]);
        assert_eq!(after(&e, "producer-role"), ["queue"]);
        assert_eq!(after(&e, "mapping"), ["consumer", "queue"]);
        assert_eq!(after(&e, "queue"), ["dead-letter-queue"]);
        // An update that keeps everything removes nothing.
        assert_eq!(edges(apply_graph(MINE, Some(MINE))), e);
    }

    #[test]
    fn reused_endpoint_and_user_roles() {
        let e = edges(apply_graph(THEIRS, None));
        assert_eq!(
            e.keys().map(String::as_str).collect::<Vec<_>>(),
            ["consumer", "dead-letter-queue", "mapping", "producer", "producer-egress", "producer-group", "queue"]
        );
        assert_eq!(after(&e, "producer"), ["producer-egress", "queue"]);
        assert_eq!(after(&e, "consumer"), ["producer-egress"]);
        assert_eq!(after(&e, "producer-egress"), ["producer-group"]);
    }

    #[test]
    fn an_update_to_user_roles_and_a_reused_endpoint_removes_ours_after_the_functions_moved() {
        let e = edges(apply_graph(THEIRS, Some(MINE)));
        assert_eq!(after(&e, "remove producer-role"), ["producer"]);
        assert_eq!(after(&e, "remove consumer-role"), ["consumer"]);
        assert_eq!(after(&e, "remove endpoint"), ["producer"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["remove endpoint"]);
        // Only what the prior made is removed.
        let e = edges(apply_graph(THEIRS, Some(Own { producer_role: true, ..THEIRS })));
        assert!(e.contains_key("remove producer-role") && !e.contains_key("remove consumer-role") && !e.contains_key("remove endpoint"));
    }

    #[test]
    fn destroy_runs_backwards() {
        let e = edges(destroy_graph(MINE));
        assert_eq!(e.len(), 11, "{e:?}");
        assert_eq!(after(&e, "remove consumer"), ["remove mapping"]);
        assert_eq!(after(&e, "remove queue"), ["remove mapping", "remove producer"]);
        assert_eq!(after(&e, "remove dead-letter-queue"), ["remove queue"]);
        assert_eq!(after(&e, "remove producer-group"), ["remove consumer", "remove endpoint-group", "remove producer"]);
        assert_eq!(after(&e, "remove producer-role"), ["remove producer"]);
        assert_eq!(after(&e, "remove endpoint"), ["remove consumer", "remove producer"]);
        assert_eq!(after(&e, "remove producer-egress"), ["remove consumer", "remove producer"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["remove endpoint", "remove producer-egress"]);
        let e = edges(destroy_graph(THEIRS));
        assert_eq!(e.len(), 6, "{e:?}");
        assert_eq!(after(&e, "remove producer-group"), ["remove consumer", "remove producer"]);
    }

    #[test]
    fn objects_name_the_aws_object() {
        let d = Desired::from(&Value::Object([("name".to_string(), Value::string("orders"))].into()));
        assert_eq!(Part::Producer.object(&d, None), "Lambda function orders-producer");
        assert_eq!(Part::DeadLetterQueue.object(&d, None), "SQS queue orders-dlq");
        assert_eq!(Part::EndpointGroup.object(&d, None), "security group orders-endpoint");
        assert_eq!(Part::Endpoint.object(&d, None), "Interface endpoint for sqs");
        assert_eq!(Part::Endpoint.object(&d, Some("vpce-1")), "Interface endpoint for sqs (vpce-1)");
        assert_eq!(Op::Remove(Part::DeadLetterQueue).to_string(), "remove dead-letter-queue");
    }
}
