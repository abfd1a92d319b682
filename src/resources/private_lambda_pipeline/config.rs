//! The pipeline as the plan says it should be (`Desired`, defaults applied) and the specs of its parts built from it.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- model

crate::model! {
    /// The pipeline as Terraform holds it: configuration, plan and state.
    pub struct Pipeline {
        id: Attr<String>,
        name: Attr<String>,
        vpc_id: Attr<String>,
        subnet_ids: Attr<Set<String>>,
        tags: Attr<Map<String>>,
        tags_all: Attr<Map<String>>,
        rule_drift: Attr<List<String>>,
        queue_url: Attr<String>,
        queue_arn: Attr<String>,
        dead_letter_queue_url: Attr<String>,
        dead_letter_queue_arn: Attr<String>,
        producer_function_arn: Attr<String>,
        consumer_function_arn: Attr<String>,
        event_source_mapping_id: Attr<String>,
        producer_security_group_id: Attr<String>,
        endpoint_id: Attr<String>,
        endpoint_security_group_id: Attr<String>,
        producer_role_arn: Attr<String>,
        consumer_role_arn: Attr<String>,
        producer: Producer,
        consumer: Consumer,
        queue: QueueBlock,
        event_source: EventSourceBlock,
        endpoint: EndpointBlock,
        timeouts: TimeoutsBlock,
    }
}

crate::model! {
    /// A function block: the producer's and the consumer's attributes
    /// (`in_vpc` is the consumer's, `queue_url_env_var` and
    /// `security_group_ids` the producer's; the other's stay null).
    pub struct FunctionBlock {
        source_dir: Attr<String>,
        filename: Attr<String>,
        source_code_hash: Attr<String>,
        handler: Attr<String>,
        runtime: Attr<String>,
        memory_size: Attr<f64>,
        timeout: Attr<f64>,
        environment: Attr<Map<String>>,
        role_arn: Attr<String>,
        code_sha256: Attr<String>,
        in_vpc: Attr<bool>,
        queue_url_env_var: Attr<String>,
        security_group_ids: Attr<Set<String>>,
    }
}

crate::model! {
    pub struct QueueBlock {
        fifo: Attr<bool>,
        visibility_timeout_seconds: Attr<f64>,
        message_retention_seconds: Attr<f64>,
        max_receive_count: Attr<f64>,
        dead_letter_retention_seconds: Attr<f64>,
        kms_master_key_id: Attr<String>,
    }
}

crate::model! {
    pub struct EventSourceBlock {
        batch_size: Attr<f64>,
        maximum_batching_window_seconds: Attr<f64>,
        report_batch_item_failures: Attr<bool>,
        maximum_concurrency: Attr<f64>,
        enabled: Attr<bool>,
        filter_patterns: Attr<List<String>>,
    }
}

crate::model! {
    pub struct EndpointBlock {
        create: Attr<bool>,
        endpoint_id: Attr<String>,
    }
}

/// Attributes of a function block only the other function has.
pub(super) const CONSUMER_ONLY: [&str; 1] = ["in_vpc"];
pub(super) const PRODUCER_ONLY: [&str; 2] = ["queue_url_env_var", "security_group_ids"];

/// The producer's block: a function block without the consumer's attributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Producer(pub FunctionBlock);

/// The consumer's block: a function block without the producer's attributes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Consumer(pub FunctionBlock);

impl Field for Producer {
    fn decode_field(v: &Value, at: &Path) -> Self {
        Producer(FunctionBlock::decode_at(v, at))
    }
    fn encode_field(&self) -> Value {
        model::without(self.0.encode(), &CONSUMER_ONLY)
    }
}

impl Field for Consumer {
    fn decode_field(v: &Value, at: &Path) -> Self {
        Consumer(FunctionBlock::decode_at(v, at))
    }
    fn encode_field(&self) -> Value {
        model::without(self.0.encode(), &PRODUCER_ONLY)
    }
}

impl std::ops::Deref for Producer {
    type Target = FunctionBlock;
    fn deref(&self) -> &FunctionBlock {
        &self.0
    }
}

impl std::ops::DerefMut for Producer {
    fn deref_mut(&mut self) -> &mut FunctionBlock {
        &mut self.0
    }
}

impl std::ops::Deref for Consumer {
    type Target = FunctionBlock;
    fn deref(&self) -> &FunctionBlock {
        &self.0
    }
}

impl std::ops::DerefMut for Consumer {
    fn deref_mut(&mut self) -> &mut FunctionBlock {
        &mut self.0
    }
}

impl Pipeline {
    /// The function block of the producer or the consumer.
    pub(super) fn function(&self, producer: bool) -> &FunctionBlock {
        if producer {
            &self.producer.0
        } else {
            &self.consumer.0
        }
    }

    /// Whether the pipeline made (or will make) its own SQS endpoint.
    pub(super) fn own_endpoint(&self) -> bool {
        self.endpoint.endpoint_id.is_null()
    }

    /// The role the pipeline made for a function (none when the user brings one).
    pub(super) fn own_role(&self, producer: bool) -> Option<String> {
        if !self.function(producer).role_arn.is_null() {
            return None;
        }
        if producer {
            self.producer_role_arn.owned()
        } else {
            self.consumer_role_arn.owned()
        }
    }

    /// The ids of what the pipeline made, in `COMPUTED`'s order.
    pub(super) fn ids(&self) -> [&Attr<String>; 12] {
        [
            &self.queue_url,
            &self.queue_arn,
            &self.dead_letter_queue_url,
            &self.dead_letter_queue_arn,
            &self.producer_function_arn,
            &self.consumer_function_arn,
            &self.event_source_mapping_id,
            &self.producer_security_group_id,
            &self.endpoint_id,
            &self.endpoint_security_group_id,
            &self.producer_role_arn,
            &self.consumer_role_arn,
        ]
    }

    pub(super) fn ids_mut(&mut self) -> [&mut Attr<String>; 12] {
        [
            &mut self.queue_url,
            &mut self.queue_arn,
            &mut self.dead_letter_queue_url,
            &mut self.dead_letter_queue_arn,
            &mut self.producer_function_arn,
            &mut self.consumer_function_arn,
            &mut self.event_source_mapping_id,
            &mut self.producer_security_group_id,
            &mut self.endpoint_id,
            &mut self.endpoint_security_group_id,
            &mut self.producer_role_arn,
            &mut self.consumer_role_arn,
        ]
    }

    pub(super) fn owner(&self) -> String {
        format!("pipeline/{}", self.name.str().unwrap_or(""))
    }
}

// ---------------------------------------------------------------- desired

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CodeSource {
    Dir(std::path::PathBuf),
    File(std::path::PathBuf),
}

impl CodeSource {
    pub(super) fn of(f: &FunctionBlock) -> Option<CodeSource> {
        match (f.source_dir.str(), f.filename.str()) {
            (Some(d), _) => Some(CodeSource::Dir(d.into())),
            (None, Some(p)) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// Where the code came from, kept in a tag on the function so an import
    /// can write the same source back (nothing else in AWS records it).
    pub(super) fn tag(&self) -> String {
        match self {
            CodeSource::Dir(d) => format!("dir:{}", d.display()),
            CodeSource::File(f) => format!("file:{}", f.display()),
        }
    }

    pub(super) fn from_tag(tag: &str) -> Option<CodeSource> {
        match tag.split_once(':')? {
            ("dir", p) => Some(CodeSource::Dir(p.into())),
            ("file", p) => Some(CodeSource::File(p.into())),
            _ => None,
        }
    }

    /// The zip and its hash (Lambda's CodeSha256 for it).
    pub(super) fn load(&self) -> Result<code::Code, String> {
        match self {
            CodeSource::Dir(d) => code::from_dir(d),
            CodeSource::File(f) => code::from_file(f),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct FunctionDesired {
    pub(super) name: String,
    pub(super) handler: String,
    pub(super) runtime: String,
    pub(super) memory: i32,
    pub(super) timeout: i32,
    pub(super) environment: BTreeMap<String, String>,
    pub(super) role_arn: Option<String>,
    pub(super) code: Option<CodeSource>,
    pub(super) extra_groups: Vec<String>,
    pub(super) in_vpc: bool,
}

impl FunctionDesired {
    pub(super) fn from(f: &FunctionBlock, name: String, producer: bool) -> FunctionDesired {
        FunctionDesired {
            name,
            handler: f.handler.owned().unwrap_or_default(),
            runtime: f.runtime.owned().unwrap_or_default(),
            memory: f.memory_size.int().unwrap_or(DEFAULT_MEMORY) as i32,
            timeout: f.timeout.int().unwrap_or(DEFAULT_TIMEOUT) as i32,
            environment: f.environment.entries(),
            role_arn: f.role_arn.owned(),
            code: CodeSource::of(f),
            extra_groups: f.security_group_ids.strings(),
            in_vpc: producer || f.in_vpc.bool() == Some(true),
        }
    }
}

/// The pipeline as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
pub(super) struct Desired {
    pub(super) name: String,
    pub(super) vpc_id: String,
    pub(super) subnets: Vec<String>,
    pub(super) tags_all: Tags,
    pub(super) fifo: bool,
    pub(super) visibility: i32,
    pub(super) retention: i32,
    pub(super) dlq_retention: i32,
    pub(super) max_receive: i32,
    pub(super) kms: Option<String>,
    pub(super) mapping: MappingDesired,
    pub(super) endpoint_id: Option<String>,
    pub(super) queue_url_var: String,
    pub(super) producer: FunctionDesired,
    pub(super) consumer: FunctionDesired,
    pub(super) timeouts: Timeouts,
}

#[derive(Debug, Clone)]
pub(super) struct MappingDesired {
    pub(super) batch_size: i32,
    pub(super) window: i32,
    pub(super) report_failures: bool,
    pub(super) max_concurrency: Option<i32>,
    pub(super) enabled: bool,
    pub(super) filters: Vec<String>,
}

impl Desired {
    pub(super) fn from(p: &Pipeline) -> Desired {
        let name = p.name.owned().unwrap_or_default();
        let (q, es) = (&p.queue, &p.event_source);
        let consumer = FunctionDesired::from(&p.consumer, format!("{name}-consumer"), false);
        let window = es.maximum_batching_window_seconds.int().unwrap_or(0) as i32;
        let visibility =
            q.visibility_timeout_seconds.int().unwrap_or_else(|| recommended_visibility(consumer.timeout as i64, window as i64)) as i32;
        Desired {
            vpc_id: p.vpc_id.owned().unwrap_or_default(),
            subnets: p.subnet_ids.strings(),
            tags_all: p.tags_all.entries(),
            fifo: q.fifo.bool() == Some(true),
            visibility,
            retention: q.message_retention_seconds.int().unwrap_or(DEFAULT_RETENTION) as i32,
            dlq_retention: q.dead_letter_retention_seconds.int().unwrap_or(DEFAULT_DLQ_RETENTION) as i32,
            max_receive: q.max_receive_count.int().unwrap_or(DEFAULT_MAX_RECEIVE) as i32,
            kms: q.kms_master_key_id.owned(),
            mapping: MappingDesired {
                batch_size: es.batch_size.int().unwrap_or(DEFAULT_BATCH_SIZE) as i32,
                window,
                report_failures: es.report_batch_item_failures.bool().unwrap_or(true),
                max_concurrency: es.maximum_concurrency.int().map(|n| n as i32),
                enabled: es.enabled.bool().unwrap_or(true),
                filters: es.filter_patterns.strings(),
            },
            endpoint_id: p.endpoint.endpoint_id.owned(),
            queue_url_var: p.producer.queue_url_env_var.owned().unwrap_or_else(|| DEFAULT_QUEUE_URL_VAR.into()),
            producer: FunctionDesired::from(&p.producer, format!("{name}-producer"), true),
            consumer,
            timeouts: p.timeouts.limits(TIMEOUTS),
            name,
        }
    }

    pub(super) fn owned(&self, part: &str) -> Tags {
        tags::with_ownership(&self.tags_all, &format!("pipeline/{}", self.name), part)
    }

    pub(super) fn queue_name(&self, dead_letter: bool) -> String {
        let base = if dead_letter { format!("{}-dlq", self.name) } else { self.name.clone() };
        if self.fifo {
            format!("{base}.fifo")
        } else {
            base
        }
    }

    pub(super) fn dlq_spec(&self) -> QueueSpec {
        QueueSpec {
            name: self.queue_name(true),
            fifo: self.fifo,
            visibility_timeout_seconds: self.visibility,
            message_retention_seconds: self.dlq_retention,
            kms_master_key_id: self.kms.clone(),
            redrive: None,
            tls_only: true,
            tags: self.owned("dead-letter-queue"),
        }
    }

    pub(super) fn queue_spec(&self, dlq_arn: &str) -> QueueSpec {
        QueueSpec {
            name: self.queue_name(false),
            fifo: self.fifo,
            visibility_timeout_seconds: self.visibility,
            message_retention_seconds: self.retention,
            kms_master_key_id: self.kms.clone(),
            redrive: Some(Redrive { dead_letter_arn: dlq_arn.to_string(), max_receive_count: self.max_receive }),
            tls_only: true,
            tags: self.owned("queue"),
        }
    }

    pub(super) fn role_spec(&self, f: &FunctionDesired, queue_arn: &str, region: &str, producer: bool) -> RoleSpec {
        let account = queue_arn.split(':').nth(4).unwrap_or("");
        let logs = policy::log_group_arn(region, account, &f.name);
        let doc = if producer { policy::producer(queue_arn, &logs, f.in_vpc) } else { policy::consumer(queue_arn, &logs, f.in_vpc) };
        RoleSpec {
            name: f.name.clone(),
            trust_policy: policy::lambda_trust(),
            inline_policies: [("pipeline".to_string(), doc)].into(),
            tags: self.owned(if producer { "producer-role" } else { "consumer-role" }),
        }
    }

    /// The producer's group: out on TCP 443 to the endpoint's groups only.
    pub(super) fn producer_group_spec(&self, endpoint_groups: &[String]) -> GroupSpec {
        GroupSpec {
            name: format!("{}-producer", self.name),
            description: format!("Functions of pipeline {}: HTTPS to the SQS endpoint only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("producer-group"),
            rules: endpoint_groups
                .iter()
                .map(|g| Rule {
                    direction: Direction::Egress,
                    protocol: "tcp".into(),
                    from_port: 443,
                    to_port: 443,
                    peer: Peer::Group(g.clone()),
                    id: None,
                })
                .collect(),
        }
    }

    /// The endpoint's group: in on TCP 443 from the producer's group only
    /// (no rule at all while that group is not known yet).
    pub(super) fn endpoint_group_spec(&self, producer_group: Option<&str>) -> GroupSpec {
        GroupSpec {
            name: format!("{}-endpoint", self.name),
            description: format!("SQS endpoint of pipeline {}: HTTPS from its functions only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("endpoint-group"),
            rules: producer_group.map(|g| Rule::https_from(Peer::Group(g.to_string()))).into_iter().collect(),
        }
    }

    pub(super) fn endpoint_spec(&self, region: &str, group: &str) -> EndpointSpec {
        EndpointSpec {
            vpc_id: self.vpc_id.clone(),
            service_name: format!("com.amazonaws.{region}.sqs"),
            kind: Kind::Interface,
            subnet_ids: self.subnets.clone(),
            route_table_ids: vec![],
            security_group_ids: vec![group.to_string()],
            private_dns_enabled: Some(true),
            // SQS has no Gateway endpoints, so no inbound-only option.
            private_dns_only_for_inbound_resolver_endpoint: None,
            policy: None,
            tags: self.owned("endpoint"),
            client_token: crate::resources::client_token(&format!("pipeline/{}", self.name), "endpoint"),
        }
    }

    pub(super) fn function_spec(&self, f: &FunctionDesired, role_arn: &str, groups: &[String], queue_url: Option<&str>) -> FunctionSpec {
        let mut environment = f.environment.clone();
        if let Some(url) = queue_url {
            environment.insert(self.queue_url_var.clone(), url.to_string());
        }
        let mut security_group_ids: Vec<String> = if f.in_vpc { groups.iter().chain(&f.extra_groups).cloned().collect() } else { vec![] };
        security_group_ids.sort();
        FunctionSpec {
            name: f.name.clone(),
            role_arn: role_arn.to_string(),
            handler: f.handler.clone(),
            runtime: f.runtime.clone(),
            memory_size: f.memory,
            timeout: f.timeout,
            environment,
            subnet_ids: if f.in_vpc { self.subnets.clone() } else { vec![] },
            security_group_ids,
            tags: {
                let mut t = self.owned(if queue_url.is_some() { "producer" } else { "consumer" });
                if let Some(src) = f.code.as_ref().map(CodeSource::tag).filter(|v| v.len() <= 256) {
                    t.insert(SOURCE_TAG.into(), src);
                }
                t
            },
        }
    }

    pub(super) fn mapping_spec(&self, queue_arn: &str) -> MappingSpec {
        MappingSpec {
            function_name: self.consumer.name.clone(),
            event_source_arn: queue_arn.to_string(),
            batch_size: self.mapping.batch_size,
            maximum_batching_window_seconds: self.mapping.window,
            report_batch_item_failures: self.mapping.report_failures,
            maximum_concurrency: self.mapping.max_concurrency,
            enabled: self.mapping.enabled,
            filter_patterns: self.mapping.filters.clone(),
        }
    }
}
