//! The pipeline's model (configuration, plan and state), the pipeline as
//! the plan says it should be (`Desired`, defaults applied), and the specs
//! of its own parts built from it. The functions' and the endpoint's specs
//! are their blocks' (`function`, `endpoint`).

use crate::model::{Attr, List, Map, Set};
use crate::parts::event_source_mapping::MappingSpec;
use crate::parts::kms_key;
use crate::parts::queue::{self, QueueSettings, QueueSpec, Redrive};
use crate::parts::security_group::{GroupSpec, Peer, Rule};
use crate::parts::tags::{self, Tags};
use crate::parts::vpc_endpoint::EndpointSpec;
use crate::resources::endpoint::{self, DesiredEndpoint};
use crate::resources::function::{Consumer, Function, FunctionDesired, FunctionRole, PerRole, Placement, Producer};
use crate::resources::{client_token, TimeoutsBlock};

use super::validate::recommended_visibility;
use super::{DEFAULT_BATCH_SIZE, DEFAULT_DLQ_RETENTION, DEFAULT_MAX_RECEIVE, DEFAULT_RETENTION};

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
        producer: Function<Producer>,
        consumer: Function<Consumer>,
        queue: QueueBlock,
        event_source: EventSourceBlock,
        endpoint: EndpointBlock,
        timeouts: TimeoutsBlock,
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
        kms_key_arn: Attr<String>,
        delay_seconds: Attr<f64>,
        receive_wait_time_seconds: Attr<f64>,
        max_message_size: Attr<f64>,
        content_based_deduplication: Attr<bool>,
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

/// The owner tag's value on everything pipeline `name` makes.
pub(super) fn owner_of(name: &str) -> String {
    format!("pipeline/{name}")
}

impl Pipeline {
    /// The block of the function in `role`.
    pub(super) fn function(&self, role: FunctionRole) -> &crate::resources::function::FunctionBlock {
        match role {
            FunctionRole::Producer => &self.producer,
            FunctionRole::Consumer => &self.consumer,
        }
    }

    /// Whether the pipeline made (or will make) its own SQS endpoint.
    pub(super) fn own_endpoint(&self) -> bool {
        self.endpoint.endpoint_id.is_null()
    }

    /// The role ARN attribute of the function in `role`.
    pub(super) fn role_arn(&self, role: FunctionRole) -> &Attr<String> {
        match role {
            FunctionRole::Producer => &self.producer_role_arn,
            FunctionRole::Consumer => &self.consumer_role_arn,
        }
    }

    pub(super) fn role_arn_mut(&mut self, role: FunctionRole) -> &mut Attr<String> {
        match role {
            FunctionRole::Producer => &mut self.producer_role_arn,
            FunctionRole::Consumer => &mut self.consumer_role_arn,
        }
    }

    /// The function ARN attribute of the function in `role`.
    pub(super) fn function_arn(&self, role: FunctionRole) -> &Attr<String> {
        match role {
            FunctionRole::Producer => &self.producer_function_arn,
            FunctionRole::Consumer => &self.consumer_function_arn,
        }
    }

    /// The role the pipeline made for a function (none when the user brings one).
    pub(super) fn own_role(&self, role: FunctionRole) -> Option<String> {
        if !self.function(role).role_arn.is_null() {
            return None;
        }
        self.role_arn(role).owned()
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
        owner_of(self.name.str().unwrap_or(""))
    }
}

/// The pipeline as the plan says it should be, defaults applied.
#[derive(Debug, Clone)]
pub struct Desired {
    pub(super) name: String,
    pub(super) owner: String,
    pub(super) vpc_id: String,
    pub(super) subnets: Vec<String>,
    pub(super) tags_all: Tags,
    pub(super) fifo: bool,
    pub(super) visibility: i32,
    pub(super) retention: i32,
    pub(super) dlq_retention: i32,
    pub(super) max_receive: i32,
    /// The queues' KMS key as configured (`None`: SSE-SQS).
    pub(super) kms: Option<String>,
    /// The ARN of that key when it is customer-managed, as plan resolved
    /// it; the roles get rights on it (`None` with a customer key: not
    /// resolved yet, see `key_to_resolve`).
    pub(super) kms_key_arn: Option<String>,
    /// The queue's delivery settings (the dead-letter queue takes only its
    /// message size; SQS's defaults otherwise).
    pub(super) settings: QueueSettings,
    pub(super) mapping: MappingDesired,
    pub(super) endpoint_id: Option<String>,
    pub(super) functions: PerRole<FunctionDesired>,
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

/// The queue's (or dead-letter queue's) name in a pipeline named `name`.
pub(super) fn queue_name(name: &str, fifo: bool, dead_letter: bool) -> String {
    let base = if dead_letter { format!("{name}-dlq") } else { name.to_string() };
    if fifo {
        format!("{base}.fifo")
    } else {
        base
    }
}

pub(super) fn producer_group_name(name: &str) -> String {
    format!("{name}-producer")
}

pub(super) fn endpoint_group_name(name: &str) -> String {
    format!("{name}-endpoint")
}

/// SQS's longest queue name (a FIFO queue's `.fifo` included), and EC2's
/// longest security group name.
pub(super) const QUEUE_NAME_CHARS: usize = 80;
pub(super) const GROUP_NAME_CHARS: usize = 255;

/// Every name the pipeline derives from its `name`: what it names, the
/// name, and AWS's limit for it. The same functions name the objects at
/// apply, so this list is what AWS will see.
pub(super) fn derived_names(name: &str, fifo: bool) -> Vec<(String, String, usize)> {
    let mut out: Vec<(String, String, usize)> = FunctionRole::ALL.iter().flat_map(|r| r.derived_names(name)).collect();
    out.push(("the SQS queue".into(), queue_name(name, fifo, false), QUEUE_NAME_CHARS));
    out.push(("the dead-letter queue".into(), queue_name(name, fifo, true), QUEUE_NAME_CHARS));
    out.push(("the producer's security group".into(), producer_group_name(name), GROUP_NAME_CHARS));
    out.push(("the endpoint's security group".into(), endpoint_group_name(name), GROUP_NAME_CHARS));
    out
}

/// The most bytes the queue's URL can take, as the producer's environment
/// carries it: `https://sqs.REGION.amazonaws.com/ACCOUNT/QUEUE` (`.com.cn`
/// in China), the account 12 digits. Without a region, a 14-character one
/// (the longest of AWS's commercial regions, e.g. ap-southeast-1).
pub(super) fn queue_url_bytes(name: &str, fifo: bool, region: Option<&str>) -> usize {
    let region = region.unwrap_or("ap-southeast-1");
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://sqs.{region}.{domain}/123456789012/{}", queue_name(name, fifo, false)).len()
}

impl Desired {
    pub(super) fn from(p: &Pipeline) -> Desired {
        let name = p.name.owned().unwrap_or_default();
        let (q, es) = (&p.queue, &p.event_source);
        let functions = PerRole {
            producer: FunctionDesired::from(&p.producer, &name, FunctionRole::Producer),
            consumer: FunctionDesired::from(&p.consumer, &name, FunctionRole::Consumer),
        };
        let window = es.maximum_batching_window_seconds.int().unwrap_or(0) as i32;
        let visibility =
            q.visibility_timeout_seconds.int().unwrap_or_else(|| recommended_visibility(functions.consumer.timeout as i64, window as i64))
                as i32;
        Desired {
            owner: owner_of(&name),
            vpc_id: p.vpc_id.owned().unwrap_or_default(),
            subnets: p.subnet_ids.strings(),
            tags_all: p.tags_all.entries(),
            fifo: q.fifo.bool() == Some(true),
            visibility,
            retention: q.message_retention_seconds.int().unwrap_or(DEFAULT_RETENTION) as i32,
            dlq_retention: q.dead_letter_retention_seconds.int().unwrap_or(DEFAULT_DLQ_RETENTION) as i32,
            max_receive: q.max_receive_count.int().unwrap_or(DEFAULT_MAX_RECEIVE) as i32,
            kms: q.kms_master_key_id.owned(),
            kms_key_arn: q.kms_key_arn.owned(),
            settings: QueueSettings {
                delay_seconds: q.delay_seconds.int().unwrap_or(0) as i32,
                receive_wait_time_seconds: q.receive_wait_time_seconds.int().unwrap_or(0) as i32,
                maximum_message_size: q.max_message_size.int().map(|n| n as i32).unwrap_or(queue::MAX_MESSAGE_BYTES),
                content_based_deduplication: q.content_based_deduplication.bool() == Some(true),
            },
            mapping: MappingDesired {
                batch_size: es.batch_size.int().unwrap_or(DEFAULT_BATCH_SIZE) as i32,
                window,
                report_failures: es.report_batch_item_failures.bool().unwrap_or(true),
                max_concurrency: es.maximum_concurrency.int().map(|n| n as i32),
                enabled: es.enabled.bool().unwrap_or(true),
                filters: es.filter_patterns.strings(),
            },
            endpoint_id: p.endpoint.endpoint_id.owned(),
            functions,
            name,
        }
    }

    /// A customer-managed key configured whose ARN the plan could not
    /// learn (planned without a configured provider): apply asks KMS.
    pub(super) fn key_to_resolve(&self) -> Option<&str> {
        match (&self.kms, &self.kms_key_arn) {
            (Some(id), None) if !kms_key::is_aws_managed_alias(id) => Some(id),
            _ => None,
        }
    }

    pub(super) fn owned(&self, part: &str) -> Tags {
        tags::with_ownership(&self.tags_all, &self.owner, part)
    }

    /// Where the functions go: the pipeline's subnets, tags and owner.
    pub(super) fn placement(&self) -> Placement<'_> {
        Placement { subnets: &self.subnets, tags_all: &self.tags_all, owner: &self.owner }
    }

    pub(super) fn queue_name(&self, dead_letter: bool) -> String {
        queue_name(&self.name, self.fifo, dead_letter)
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
            // Messages move here from the queue: room for the largest it takes.
            settings: QueueSettings { maximum_message_size: self.settings.maximum_message_size, ..QueueSettings::default() },
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
            settings: self.settings.clone(),
            tags: self.owned("queue"),
        }
    }

    /// The producer's group: out on TCP 443 to the endpoint's groups only.
    pub(super) fn producer_group_spec(&self, endpoint_groups: &[String]) -> GroupSpec {
        GroupSpec {
            name: producer_group_name(&self.name),
            description: format!("Functions of pipeline {}: HTTPS to the SQS endpoint only", self.name),
            vpc_id: self.vpc_id.clone(),
            tags: self.owned("producer-group"),
            rules: endpoint_groups.iter().map(|g| Rule::https_to(Peer::Group(g.clone()))).collect(),
        }
    }

    /// The endpoint's group: in on TCP 443 from the producer's group only
    /// (no rule at all while that group is not known yet).
    pub(super) fn endpoint_group_spec(&self, producer_group: Option<&str>) -> GroupSpec {
        endpoint::group_spec(
            endpoint_group_name(&self.name),
            format!("SQS endpoint of pipeline {}: HTTPS from its functions only", self.name),
            &self.vpc_id,
            self.owned("endpoint-group"),
            producer_group.map(|g| Peer::Group(g.to_string())).into_iter().collect(),
        )
    }

    /// The pipeline's own SQS Interface endpoint, behind its group. (SQS has
    /// no Gateway endpoints, so no inbound-only private DNS.)
    pub(super) fn endpoint_spec(&self, region: &str, group: &str) -> EndpointSpec {
        let sqs = DesiredEndpoint::interface(endpoint::sqs(region), self.subnets.clone());
        sqs.spec(&self.vpc_id, vec![group.to_string()], self.owned("endpoint"), client_token(&self.owner, "endpoint"))
    }

    pub(super) fn mapping_spec(&self, queue_arn: &str) -> MappingSpec {
        MappingSpec {
            function_name: self.functions.consumer.name.clone(),
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
