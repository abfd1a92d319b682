//! The pipeline as the plan says it should be (`Desired`, defaults applied) and the specs of its parts built from it.

#[allow(unused_imports)]
use super::*;

// ---------------------------------------------------------------- desired

/// Where a function's code comes from.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum CodeSource {
    Dir(std::path::PathBuf),
    File(std::path::PathBuf),
}

impl CodeSource {
    pub(super) fn of(f: &Value) -> Option<CodeSource> {
        match (f.get("source_dir").as_str(), f.get("filename").as_str()) {
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
    pub(super) fn from(f: &Value, name: String, producer: bool) -> FunctionDesired {
        FunctionDesired {
            name,
            handler: f.get("handler").as_str().unwrap_or("").into(),
            runtime: f.get("runtime").as_str().unwrap_or("").into(),
            memory: number(f.get("memory_size")).unwrap_or(DEFAULT_MEMORY) as i32,
            timeout: number(f.get("timeout")).unwrap_or(DEFAULT_TIMEOUT) as i32,
            environment: f.get("environment").string_map(),
            role_arn: f.get("role_arn").as_str().map(str::to_string),
            code: CodeSource::of(f),
            extra_groups: f.get("security_group_ids").strings(),
            in_vpc: producer || f.get("in_vpc").as_bool() == Some(true),
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
    pub(super) fn from(v: &Value) -> Desired {
        let name = v.get("name").as_str().unwrap_or("").to_string();
        let q = v.get("queue");
        let es = v.get("event_source");
        let consumer = FunctionDesired::from(v.get("consumer"), format!("{name}-consumer"), false);
        let window = number(es.get("maximum_batching_window_seconds")).unwrap_or(0) as i32;
        let visibility = number(q.get("visibility_timeout_seconds"))
            .unwrap_or_else(|| recommended_visibility(consumer.timeout as i64, window as i64)) as i32;
        Desired {
            vpc_id: v.get("vpc_id").as_str().unwrap_or("").into(),
            subnets: v.get("subnet_ids").strings(),
            tags_all: v.get("tags_all").string_map(),
            fifo: q.get("fifo").as_bool() == Some(true),
            visibility,
            retention: number(q.get("message_retention_seconds")).unwrap_or(DEFAULT_RETENTION) as i32,
            dlq_retention: number(q.get("dead_letter_retention_seconds")).unwrap_or(DEFAULT_DLQ_RETENTION) as i32,
            max_receive: number(q.get("max_receive_count")).unwrap_or(DEFAULT_MAX_RECEIVE) as i32,
            kms: q.get("kms_master_key_id").as_str().map(str::to_string),
            mapping: MappingDesired {
                batch_size: number(es.get("batch_size")).unwrap_or(DEFAULT_BATCH_SIZE) as i32,
                window,
                report_failures: es.get("report_batch_item_failures").as_bool().unwrap_or(true),
                max_concurrency: number(es.get("maximum_concurrency")).map(|n| n as i32),
                enabled: es.get("enabled").as_bool().unwrap_or(true),
                filters: es.get("filter_patterns").elements().iter().filter_map(|p| p.as_str().map(str::to_string)).collect(),
            },
            endpoint_id: v.get("endpoint").get("endpoint_id").as_str().map(str::to_string),
            queue_url_var: v.get("producer").get("queue_url_env_var").as_str().unwrap_or(DEFAULT_QUEUE_URL_VAR).into(),
            producer: FunctionDesired::from(v.get("producer"), format!("{name}-producer"), true),
            consumer,
            timeouts: Timeouts::from_value(v.get("timeouts")),
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

    /// The endpoint's group: in on TCP 443 from the producer's group only.
    pub(super) fn endpoint_group_spec(&self, producer_group: &str) -> GroupSpec {
        GroupSpec {
            name: format!("{}-endpoint", self.name),
            description: format!("SQS endpoint of pipeline {}: HTTPS from its functions only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("endpoint-group"),
            rules: vec![Rule::https_from(Peer::Group(producer_group.to_string()))],
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
