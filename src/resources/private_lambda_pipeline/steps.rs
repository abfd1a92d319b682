//! The step graph of apply and destroy: the pipeline's parts, which of
//! them it makes itself, and which step comes after which. Pure, so every
//! shape of the graph is checked by the tests below.

use crate::engine::{self, Dep, Graph};
use crate::resources::function::FunctionRole;

use super::config::{Desired, Pipeline};

/// The pipeline's parts, as apply and destroy name their steps.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Part {
    DeadLetterQueue,
    Queue,
    /// The role the pipeline makes for a function.
    Role(FunctionRole),
    ProducerGroup,
    EndpointGroup,
    /// The producer group's egress rule to the endpoint's groups.
    ProducerEgress,
    /// The endpoint group's ingress rule from the producer's group.
    EndpointIngress,
    Endpoint,
    /// The function's CloudWatch Logs group, `/aws/lambda/<function>`.
    LogGroup(FunctionRole),
    Function(FunctionRole),
    Mapping,
}

const PRODUCER: Part = Part::Function(FunctionRole::Producer);
const CONSUMER: Part = Part::Function(FunctionRole::Consumer);
const PRODUCER_ROLE: Part = Part::Role(FunctionRole::Producer);
const CONSUMER_ROLE: Part = Part::Role(FunctionRole::Consumer);
const PRODUCER_LOGS: Part = Part::LogGroup(FunctionRole::Producer);
const CONSUMER_LOGS: Part = Part::LogGroup(FunctionRole::Consumer);

impl Part {
    pub(super) fn name(self) -> &'static str {
        match self {
            Part::DeadLetterQueue => "dead-letter-queue",
            Part::Queue => "queue",
            Part::Role(FunctionRole::Producer) => "producer-role",
            Part::Role(FunctionRole::Consumer) => "consumer-role",
            Part::ProducerGroup => "producer-group",
            Part::EndpointGroup => "endpoint-group",
            Part::ProducerEgress => "producer-egress",
            Part::EndpointIngress => "endpoint-ingress",
            Part::Endpoint => "endpoint",
            Part::LogGroup(FunctionRole::Producer) => "producer-log-group",
            Part::LogGroup(FunctionRole::Consumer) => "consumer-log-group",
            Part::Function(role) => role.name(),
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
            Part::Role(role) => format!("IAM role {}", d.functions[role].name),
            Part::ProducerGroup => format!("security group {name}-producer"),
            Part::EndpointGroup => format!("security group {name}-endpoint"),
            Part::ProducerEgress => format!("egress rules of security group {name}-producer"),
            Part::EndpointIngress => format!("ingress rules of security group {name}-endpoint"),
            Part::Endpoint => match endpoint {
                Some(id) => format!("Interface endpoint for sqs ({id})"),
                None => "Interface endpoint for sqs".to_string(),
            },
            Part::LogGroup(role) => format!("CloudWatch Logs log group {}", d.functions[role].log_group_name()),
            Part::Function(role) => format!("Lambda function {}", d.functions[role].name),
            Part::Mapping => {
                format!("event source mapping from SQS queue {} to Lambda function {}", d.queue_name(false), d.functions.consumer.name)
            }
        }
    }
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A step of apply or destroy: bring a part to the configuration, or remove it.
pub(super) type Op = engine::Op<Part>;

/// Which optional parts the pipeline makes itself (instead of using the user's).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Own {
    pub(super) producer_role: bool,
    pub(super) consumer_role: bool,
    pub(super) endpoint: bool,
}

impl Own {
    /// Nothing of the optional parts (before a create).
    pub(super) const NOTHING: Own = Own { producer_role: false, consumer_role: false, endpoint: false };

    /// What the configuration has the pipeline make.
    pub(super) fn wanted(d: &Desired) -> Own {
        Own {
            producer_role: d.functions.producer.own_role(),
            consumer_role: d.functions.consumer.own_role(),
            endpoint: d.endpoint_id.is_none(),
        }
    }
    /// What a (non-null) state records the pipeline made.
    pub(super) fn recorded(state: &Pipeline) -> Own {
        Own {
            producer_role: state.own_role(FunctionRole::Producer).is_some(),
            consumer_role: state.own_role(FunctionRole::Consumer).is_some(),
            endpoint: state.own_endpoint(),
        }
    }
}

/// Apply's steps for a configuration that wants `wants`, from a prior state
/// that made `had` (`None`: creating).
pub(super) fn apply_graph(wants: Own, had: Option<Own>) -> Graph<Op> {
    use engine::Op::{Ensure, Remove};
    use Dep::{IfPresent, On};
    let mut g = vec![
        (Ensure(Part::DeadLetterQueue), vec![]),
        (Ensure(Part::Queue), vec![On(Ensure(Part::DeadLetterQueue))]),
        (Ensure(Part::ProducerGroup), vec![]),
        // Not after the endpoint: making the function does not need it, and
        // on AWS the endpoint is `pending` for about two minutes while the
        // function's own `Pending` takes about thirty seconds. Side by side,
        // the create takes the endpoint's wait instead of both in a row
        // (scripts/bench aws-timed). The apply still ends only once the
        // endpoint is available, so the path exists when it reports done.
        //
        // Each function after its log group: a function that runs before its
        // group exists has nowhere to write (its role may not make the group,
        // so it would not expire), and its first lines would be lost.
        (Ensure(PRODUCER_LOGS), vec![]),
        (Ensure(CONSUMER_LOGS), vec![]),
        (
            Ensure(PRODUCER),
            vec![IfPresent(Ensure(PRODUCER_ROLE)), On(Ensure(Part::ProducerEgress)), On(Ensure(Part::Queue)), On(Ensure(PRODUCER_LOGS))],
        ),
        (Ensure(CONSUMER), vec![IfPresent(Ensure(CONSUMER_ROLE)), On(Ensure(Part::ProducerEgress)), On(Ensure(CONSUMER_LOGS))]),
        (Ensure(Part::Mapping), vec![On(Ensure(CONSUMER)), On(Ensure(Part::Queue))]),
    ];
    if wants.producer_role {
        g.push((Ensure(PRODUCER_ROLE), vec![On(Ensure(Part::Queue))]));
    }
    if wants.consumer_role {
        g.push((Ensure(CONSUMER_ROLE), vec![On(Ensure(Part::Queue))]));
    }
    if wants.endpoint {
        // The two groups name each other in their rules, so each is made
        // first with what is known and completed by a rule step once both
        // exist. The endpoint waits only for its own group: it is the
        // longest wait of the create (`pending` for about two minutes on
        // AWS), and each group's read-back sits through EC2's consistency
        // delay, so making the groups one after the other would put two of
        // those delays before it instead of one.
        g.push((Ensure(Part::EndpointGroup), vec![]));
        g.push((Ensure(Part::EndpointIngress), vec![On(Ensure(Part::EndpointGroup)), On(Ensure(Part::ProducerGroup))]));
        g.push((Ensure(Part::ProducerEgress), vec![On(Ensure(Part::EndpointGroup)), On(Ensure(Part::ProducerGroup))]));
        g.push((Ensure(Part::Endpoint), vec![On(Ensure(Part::EndpointGroup))]));
    } else {
        // A reused endpoint: the egress rule goes to its groups.
        g.push((Ensure(Part::ProducerEgress), vec![On(Ensure(Part::ProducerGroup))]));
    }
    // Parts the new configuration no longer wants (a role the user now
    // brings, an endpoint now reused) go once the functions moved off them.
    let had = had.unwrap_or(Own::NOTHING);
    if had.producer_role && !wants.producer_role {
        g.push((Remove(PRODUCER_ROLE), vec![On(Ensure(PRODUCER))]));
    }
    if had.consumer_role && !wants.consumer_role {
        g.push((Remove(CONSUMER_ROLE), vec![On(Ensure(CONSUMER))]));
    }
    if had.endpoint && !wants.endpoint {
        g.push((Remove(Part::Endpoint), vec![On(Ensure(PRODUCER))]));
        g.push((Remove(Part::EndpointGroup), vec![On(Remove(Part::Endpoint))]));
    }
    g
}

/// Destroy's steps for a state that made `had`: apply's graph backwards,
/// VPC functions out of the VPC first.
pub(super) fn destroy_graph(had: Own) -> Graph<Op> {
    use engine::Op::Remove;
    use Dep::{IfPresent, On};
    let functions = || vec![On(Remove(PRODUCER)), On(Remove(CONSUMER))];
    let mut g = vec![
        (Remove(Part::Mapping), vec![]),
        (Remove(CONSUMER), vec![On(Remove(Part::Mapping))]),
        (Remove(PRODUCER), vec![]),
        (Remove(Part::Queue), vec![On(Remove(Part::Mapping)), On(Remove(PRODUCER))]),
        (Remove(Part::DeadLetterQueue), vec![On(Remove(Part::Queue))]),
        (Remove(Part::ProducerGroup), [functions(), vec![IfPresent(Remove(Part::EndpointGroup))]].concat()),
        // A log group goes once its function is gone, so nothing writes to
        // it any more.
        (Remove(PRODUCER_LOGS), vec![On(Remove(PRODUCER))]),
        (Remove(CONSUMER_LOGS), vec![On(Remove(CONSUMER))]),
    ];
    if had.producer_role {
        g.push((Remove(PRODUCER_ROLE), vec![On(Remove(PRODUCER))]));
    }
    if had.consumer_role {
        g.push((Remove(CONSUMER_ROLE), vec![On(Remove(CONSUMER))]));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::after;
    use crate::model::Model;
    use crate::value::Value;

    /// Every combination of the optional parts.
    fn all_owns() -> Vec<Own> {
        (0..8).map(|i| Own { producer_role: i & 1 != 0, consumer_role: i & 2 != 0, endpoint: i & 4 != 0 }).collect()
    }

    const MINE: Own = Own { producer_role: true, consumer_role: true, endpoint: true };
    const THEIRS: Own = Own { producer_role: false, consumer_role: false, endpoint: false };

    #[test]
    fn every_apply_and_destroy_graph_is_valid() {
        // Create (no prior) and update from every prior, for every configuration.
        for wants in all_owns() {
            for had in std::iter::once(None).chain(all_owns().into_iter().map(Some)) {
                let g = apply_graph(wants, had);
                assert!(engine::check(&g).is_ok(), "apply {wants:?} from {had:?}: {:?}", engine::check(&g).err());
                // Whatever else changes, each function comes after its log group.
                let e = engine::edges(&g);
                for role in FunctionRole::ALL {
                    assert!(after(&e, role.name()).contains(&format!("{}-log-group", role.name()).as_str()), "{wants:?} {had:?}");
                }
            }
        }
        for had in all_owns() {
            let g = destroy_graph(had);
            assert!(engine::check(&g).is_ok(), "destroy {had:?}: {:?}", engine::check(&g).err());
            let e = engine::edges(&g);
            for role in FunctionRole::ALL {
                assert_eq!(after(&e, &format!("remove {}-log-group", role.name())), [format!("remove {}", role.name())], "{had:?}");
            }
        }
    }

    #[test]
    fn own_endpoint_and_roles() {
        let e = engine::edges(&apply_graph(MINE, None));
        assert_eq!(e.len(), 14, "{e:?}");
        // The producer is made while the endpoint becomes available, after its log group.
        assert_eq!(after(&e, "producer"), ["producer-egress", "producer-log-group", "producer-role", "queue"]);
        assert_eq!(after(&e, "consumer"), ["consumer-log-group", "consumer-role", "producer-egress"]);
        assert!(after(&e, "producer-log-group").is_empty() && after(&e, "consumer-log-group").is_empty());
        assert_eq!(after(&e, "producer-egress"), ["endpoint-group", "producer-group"]);
        assert_eq!(after(&e, "endpoint-ingress"), ["endpoint-group", "producer-group"]);
        // The endpoint waits for its own group only, not for the producer's.
        assert_eq!(after(&e, "endpoint"), ["endpoint-group"]);
        assert!(after(&e, "endpoint-group").is_empty());
        assert_eq!(after(&e, "producer-role"), ["queue"]);
        assert_eq!(after(&e, "mapping"), ["consumer", "queue"]);
        assert_eq!(after(&e, "queue"), ["dead-letter-queue"]);
        // An update that keeps everything removes nothing.
        assert_eq!(engine::edges(&apply_graph(MINE, Some(MINE))), e);
    }

    #[test]
    fn reused_endpoint_and_user_roles() {
        let e = engine::edges(&apply_graph(THEIRS, None));
        assert_eq!(
            e.keys().map(String::as_str).collect::<Vec<_>>(),
            [
                "consumer",
                "consumer-log-group",
                "dead-letter-queue",
                "mapping",
                "producer",
                "producer-egress",
                "producer-group",
                "producer-log-group",
                "queue"
            ]
        );
        assert_eq!(after(&e, "producer"), ["producer-egress", "producer-log-group", "queue"]);
        assert_eq!(after(&e, "consumer"), ["consumer-log-group", "producer-egress"]);
        assert_eq!(after(&e, "producer-egress"), ["producer-group"]);
    }

    #[test]
    fn an_update_to_user_roles_and_a_reused_endpoint_removes_ours_after_the_functions_moved() {
        let e = engine::edges(&apply_graph(THEIRS, Some(MINE)));
        assert_eq!(after(&e, "remove producer-role"), ["producer"]);
        assert_eq!(after(&e, "remove consumer-role"), ["consumer"]);
        assert_eq!(after(&e, "remove endpoint"), ["producer"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["remove endpoint"]);
        // Only what the prior made is removed.
        let e = engine::edges(&apply_graph(THEIRS, Some(Own { producer_role: true, ..THEIRS })));
        assert!(e.contains_key("remove producer-role") && !e.contains_key("remove consumer-role") && !e.contains_key("remove endpoint"));
    }

    #[test]
    fn destroy_runs_backwards() {
        let e = engine::edges(&destroy_graph(MINE));
        assert_eq!(e.len(), 13, "{e:?}");
        assert_eq!(after(&e, "remove consumer"), ["remove mapping"]);
        assert_eq!(after(&e, "remove queue"), ["remove mapping", "remove producer"]);
        assert_eq!(after(&e, "remove dead-letter-queue"), ["remove queue"]);
        assert_eq!(after(&e, "remove producer-group"), ["remove consumer", "remove endpoint-group", "remove producer"]);
        assert_eq!(after(&e, "remove producer-role"), ["remove producer"]);
        assert_eq!(after(&e, "remove endpoint"), ["remove consumer", "remove producer"]);
        assert_eq!(after(&e, "remove producer-egress"), ["remove consumer", "remove producer"]);
        assert_eq!(after(&e, "remove endpoint-group"), ["remove endpoint", "remove producer-egress"]);
        assert_eq!(after(&e, "remove producer-log-group"), ["remove producer"]);
        assert_eq!(after(&e, "remove consumer-log-group"), ["remove consumer"]);
        let e = engine::edges(&destroy_graph(THEIRS));
        assert_eq!(e.len(), 8, "{e:?}");
        assert_eq!(after(&e, "remove consumer-log-group"), ["remove consumer"]);
        assert_eq!(after(&e, "remove producer-group"), ["remove consumer", "remove producer"]);
    }

    #[test]
    fn objects_name_the_aws_object() {
        let d = Desired::from(&Pipeline::decode(&Value::object([("name", Value::string("orders"))])));
        assert_eq!(PRODUCER.object(&d, None), "Lambda function orders-producer");
        assert_eq!(CONSUMER_LOGS.object(&d, None), "CloudWatch Logs log group /aws/lambda/orders-consumer");
        assert_eq!(Part::DeadLetterQueue.object(&d, None), "SQS queue orders-dlq");
        assert_eq!(Part::EndpointGroup.object(&d, None), "security group orders-endpoint");
        assert_eq!(Part::Endpoint.object(&d, None), "Interface endpoint for sqs");
        assert_eq!(Part::Endpoint.object(&d, Some("vpce-1")), "Interface endpoint for sqs (vpce-1)");
        assert_eq!(Op::Remove(Part::DeadLetterQueue).to_string(), "remove dead-letter-queue");
    }
}
