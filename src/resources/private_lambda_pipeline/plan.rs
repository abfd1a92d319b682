//! The planned state (unknowns, defaults, replace paths), the plan-time checks against AWS, and the warnings of a destroy plan.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- plan

/// The planned state: config values, defaults where the schema computes
/// them, prior ids for parts that stay, unknown for parts apply will make.
pub(super) fn plan_state(default_tags: &Tags, prior: &Value, proposed: &Value, config: &Value) -> Result<Planned, Diagnostics> {
    let mut state = proposed.clone();
    let mut requires_replace = Vec::new();
    if !prior.is_null() {
        for a in ["name", "vpc_id"] {
            if prior.get(a) != config.get(a) {
                requires_replace.push(Path::attr(a));
            }
        }
        let fifo = |v: &Value| v.get("queue").get("fifo").as_bool() == Some(true);
        if fifo(prior) != fifo(config) {
            requires_replace.push(Path::attr("queue").then("fifo"));
        }
    }
    let replacing = !requires_replace.is_empty();
    static NULL: Value = Value::Null;
    let prior = if replacing { &NULL } else { prior };
    let Value::Object(fields) = &mut state else { return Ok(Planned { state, requires_replace }) };
    fields.insert("id".into(), config.get("name").clone());
    let tags = config.get("tags");
    fields.insert(
        "tags_all".into(),
        if tags.is_wholly_known() { Value::from_string_map(&tags::merged(default_tags, &tags.string_map())) } else { Value::Unknown },
    );
    let mut diags = Diagnostics::default();
    for (block, producer) in [("producer", true), ("consumer", false)] {
        let cfg = config.get(block);
        let mut f = match proposed.get(block) {
            Value::Object(m) => m.clone(),
            _ => continue,
        };
        f.insert("memory_size".into(), default_number(cfg.get("memory_size"), DEFAULT_MEMORY));
        f.insert("timeout".into(), default_number(cfg.get("timeout"), DEFAULT_TIMEOUT));
        if producer {
            let var = match cfg.get("queue_url_env_var") {
                Value::Null => Value::string(DEFAULT_QUEUE_URL_VAR),
                v => v.clone(),
            };
            f.insert("queue_url_env_var".into(), var);
        } else {
            let in_vpc = match cfg.get("in_vpc") {
                Value::Null => Value::Bool(false),
                v => v.clone(),
            };
            f.insert("in_vpc".into(), in_vpc);
        }
        // The code's hash, from the files now: a change is an update of
        // the function's code, known at plan.
        let hash = match (cfg.get("source_dir"), cfg.get("filename"), cfg.get("source_code_hash")) {
            (Value::Unknown, _, _) | (_, Value::Unknown, _) => Value::Unknown,
            _ => match CodeSource::of(cfg).map(|c| c.load()) {
                Some(Ok(code)) => Value::string(code.sha256),
                Some(Err(e)) => {
                    let attr = if cfg.get("source_dir").is_null() { "filename" } else { "source_dir" };
                    diags.push(Diagnostic::error("Cannot read the function's code", e).at(Path::attr(block).then(attr)));
                    Value::Unknown
                }
                None => Value::Unknown,
            },
        };
        f.insert("code_sha256".into(), hash);
        fields.insert(block.into(), Value::Object(f));
    }
    if diags.has_errors() {
        return Err(diags);
    }
    // Settings blocks show their effective values: what the configuration
    // says, else the default. Terraform proposes the prior (observed) value
    // for an unset optional+computed setting; planning the default instead
    // is what makes a setting changed behind Terraform's back a diff that
    // apply repairs.
    let mut basis = fields.clone();
    for block in ["queue", "event_source"] {
        basis.insert(block.into(), config.get(block).clone());
    }
    let effective = Desired::from(&Value::Object(basis));
    if let Some(Value::Object(q)) = fields.get_mut("queue") {
        let cfg = config.get("queue");
        let mut fill = |k: &str, v: Value| {
            if cfg.get(k).is_null() {
                q.insert(k.into(), v);
            }
        };
        fill("fifo", Value::Bool(effective.fifo));
        fill("visibility_timeout_seconds", Value::Number(effective.visibility as f64));
        fill("message_retention_seconds", Value::Number(effective.retention as f64));
        fill("max_receive_count", Value::Number(effective.max_receive as f64));
        fill("dead_letter_retention_seconds", Value::Number(effective.dlq_retention as f64));
    }
    if let Some(Value::Object(es)) = fields.get_mut("event_source") {
        let cfg = config.get("event_source");
        let mut fill = |k: &str, v: Value| {
            if cfg.get(k).is_null() {
                es.insert(k.into(), v);
            }
        };
        fill("batch_size", Value::Number(effective.mapping.batch_size as f64));
        fill("maximum_batching_window_seconds", Value::Number(effective.mapping.window as f64));
        fill("report_batch_item_failures", Value::Bool(effective.mapping.report_failures));
        fill("enabled", Value::Bool(effective.mapping.enabled));
    }
    if let Some(Value::Object(ep)) = fields.get_mut("endpoint") {
        if config.get("endpoint").get("create").is_null() {
            let reuse = config.get("endpoint").get("endpoint_id");
            ep.insert("create".into(), if reuse.is_unknown() { Value::Unknown } else { Value::Bool(reuse.is_null()) });
        }
    }
    // Ids of the parts: kept when the part exists and stays, unknown when
    // apply makes it; the endpoint's depend on the endpoint choice.
    let reuse_endpoint = config.get("endpoint").get("endpoint_id").clone();
    for (name, _) in COMPUTED {
        let kept = prior.get(name).clone();
        let planned = match name {
            "endpoint_id" if !reuse_endpoint.is_null() => reuse_endpoint.clone(),
            "endpoint_security_group_id" if !reuse_endpoint.is_null() => Value::Null,
            "producer_role_arn" if !config.get("producer").get("role_arn").is_null() => config.get("producer").get("role_arn").clone(),
            "consumer_role_arn" if !config.get("consumer").get("role_arn").is_null() => config.get("consumer").get("role_arn").clone(),
            _ if kept.as_str().is_some() => kept,
            _ => Value::Unknown,
        };
        fields.insert(name.into(), planned);
    }
    fields.insert("rule_drift".into(), Value::List(vec![]));
    Ok(Planned { state, requires_replace })
}

pub(super) fn default_number(v: &Value, default: i64) -> Value {
    match v {
        Value::Null => Value::Number(default as f64),
        v => v.clone(),
    }
}

// ---------------------------------------------------------------- plan-time checks

/// Checks that need AWS, only for what is new or changed, so a plan with
/// no changes makes no calls.
pub(super) async fn check_against_aws(ctx: &Ctx, prior: &Value, planned: &Value) -> Result<Diagnostics, Diagnostic> {
    let mut d = Diagnostics::default();
    let ec2 = &ctx.aws.ec2;
    let region = ctx.aws.region.as_str();
    let (Some(vpc_id), subnets) = (planned.get("vpc_id").as_str(), planned.get("subnet_ids")) else { return Ok(d) };
    if subnets.is_wholly_known() && prior.get("subnet_ids") != subnets {
        let ids = subnets.strings();
        let found = vpc::subnets(ec2, &ids).await?;
        d.extend(Diagnostics(subnet_diagnostics(&found, vpc_id, region, &ids, &Path::attr("subnet_ids"))));
    }
    let sqs = format!("com.amazonaws.{region}.sqs");
    let at = Path::attr("endpoint").then("endpoint_id");
    match planned.get("endpoint").get("endpoint_id") {
        Value::String(id) if prior.get("endpoint").get("endpoint_id").as_str() != Some(id) => {
            match vpce::find_many(ec2, std::slice::from_ref(id)).await?.into_iter().find(|e| !e.is_gone()) {
                None => d.push(Diagnostic::error("Endpoint not found", format!("{id} does not exist (or is deleted) in {region}.")).at(at)),
                Some(e) if e.vpc_id != vpc_id => {
                    d.push(Diagnostic::error("Endpoint in another VPC", format!("{id} is in {}, not in {vpc_id}.", e.vpc_id)).at(at))
                }
                Some(e) if e.service_name != sqs || e.kind != Kind::Interface => d.push(
                    Diagnostic::error(
                        "Not an SQS Interface endpoint",
                        format!(
                            "{id} is a {} endpoint for {}; the producer needs an Interface endpoint for {sqs}.",
                            e.kind.as_str(),
                            e.service_name
                        ),
                    )
                    .at(at),
                ),
                _ => {}
            }
        }
        Value::Null if prior.get("endpoint_id").as_str().is_none() => {
            // The endpoint will be made: its private DNS needs the VPC's DNS
            // support and host names, and no other SQS endpoint may own it.
            match vpc::dns_attributes(ec2, vpc_id).await? {
                None => d.push(Diagnostic::error("VPC not found", format!("VPC {vpc_id} does not exist in {region}.")).at(Path::attr("vpc_id"))),
                Some((support, hostnames)) if !(support && hostnames) => d.push(
                    Diagnostic::error(
                        "The SQS endpoint's private DNS needs DNS support and DNS hostnames on the VPC",
                        format!("VPC {vpc_id} has enableDnsSupport={support} and enableDnsHostnames={hostnames}. Turn both on (aws_vpc: enable_dns_support = true, enable_dns_hostnames = true)."),
                    )
                    .at(Path::attr("vpc_id")),
                ),
                _ => {}
            }
            let owner = format!("pipeline/{}", planned.get("name").as_str().unwrap_or(""));
            let existing = vpce::find_for_service(ec2, vpc_id, &sqs).await?;
            if let Some(e) = existing.iter().find(|e| e.kind == Kind::Interface && e.tags.get(tags::OWNER_TAG) != Some(&owner)) {
                d.push(
                    Diagnostic::error(
                        "The VPC already has an SQS endpoint",
                        format!("{vpc_id} already has {} for SQS, which owns the private DNS name; use it: endpoint {{ endpoint_id = \"{}\" }}.", e.id, e.id),
                    )
                    .at(Path::attr("endpoint")),
                );
            }
        }
        _ => {}
    }
    Ok(d)
}
