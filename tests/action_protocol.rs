//! The `privatelink_dead_letter_redrive` action over gRPC, as Terraform
//! 1.14+ drives it (tests/common/action.rs), against moto behind the AWS
//! rules, whose proxy answers SQS's message move tasks (moto 5.2.5 has
//! none) and moves real messages (tests/common/move_tasks.rs): announced
//! with a schema Terraform accepts; bad configurations refused at validate
//! at their attribute with no AWS call; the queues checked at plan; a
//! pipeline's dead-letter queue redriven with progress, refused while
//! another task runs, and its task cancelled on StopProvider or when
//! Terraform stops reading the invoke.
//!
//! Messages are put in the dead-letter queue with SendMessage straight to
//! it; with no destination the proxy sends them to the one queue whose
//! RedrivePolicy names the dead-letter queue (moto keeps no
//! DeadLetterQueueSourceArn), the pipeline's queue.
//!
//! moto and the pipeline's event source mapping: moto runs an enabled SQS
//! mapping inside SendMessage itself (sqs/models.py, `Queue.add_message`:
//! for each enabled mapping it receives a batch, invokes the function, and
//! deletes the batch when the invoke reports no function error; without
//! Docker every invoke succeeds). So each message the redrive puts back in
//! the pipeline's queue would be consumed and deleted on arrival, and the
//! queue would look empty after a redrive that worked. The pipelines here
//! are made with `event_source { enabled = false }`: the messages stay in
//! the queue, where the test counts them, as they would on AWS until the
//! mapping's next poll.

use crate::common;

use std::time::{Duration, Instant};

use common::action::{self, redrive, REDRIVE};
use common::driver::{errors, path_of, show, warnings};
use common::moto::Moto;
use common::pipeline::{function, Bed};
use common::plugin::Plugin;
use common::{obj, s};
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

/// A pipeline `name` of the bed, its mapping disabled (see the module
/// doc), FIFO when `fifo`.
fn pipeline(b: &Bed, name: &str, fifo: bool) -> V {
    let mut queue = vec![("visibility_timeout_seconds", V::from(60))];
    if fifo {
        queue.push(("fifo", V::Boolean(true)));
    }
    let config = b.orders(
        function("producer", vec![]),
        function("consumer", vec![]),
        vec![("queue", obj(queue)), ("event_source", obj(vec![("enabled", V::Boolean(false))]))],
    );
    let V::Map(mut fields) = config else { unreachable!() };
    for (k, v) in fields.iter_mut() {
        if k.as_str() == Some("name") {
            *v = s(name);
        }
    }
    V::Map(fields)
}

/// A bed with pipeline `name` made: the bed, then the pipeline's queue and
/// its dead-letter queue (URL, ARN).
async fn bed_with_pipeline(name: &str, fifo: bool) -> (Bed, (String, String), (String, String)) {
    let mut b = Bed::start(&[]).await;
    let t = Instant::now();
    let config = pipeline(&b, name, fifo);
    b.tf.converge(&V::Nil, &config).await;
    eprintln!("action_protocol: pipeline {name} made in {:.1} s", t.elapsed().as_secs_f64());
    let suffix = if fifo { ".fifo" } else { "" };
    let queue = action::queue(&b.aws.sqs, &format!("{name}{suffix}")).await;
    let dlq = action::queue(&b.aws.sqs, &format!("{name}-dlq{suffix}")).await;
    (b, queue, dlq)
}

/// `(path, summary)` of each error.
fn error_places(d: &[pb::Diagnostic]) -> Vec<(String, String)> {
    errors(d).iter().map(|d| (path_of(d), d.summary.clone())).collect()
}

/// The one error of `d`, at `path`, whose summary is `summary`.
fn one_error<'a>(d: &'a [pb::Diagnostic], path: &str, summary: &str) -> &'a pb::Diagnostic {
    let e = errors(d);
    assert_eq!(e.len(), 1, "one error, at {path}:\n{}", show(d));
    assert_eq!((path_of(e[0]).as_str(), e[0].summary.as_str()), (path, summary), "{}", show(d));
    e[0]
}

/// "moved K of N" in a progress message: K.
fn moved_of(message: &str, total: usize) -> Option<usize> {
    let rest = message.strip_prefix("moved ")?;
    let (k, tail) = rest.split_once(' ')?;
    tail.starts_with(&format!("of {total}")).then(|| k.parse().ok()).flatten()
}

#[tokio::test]
async fn the_action_is_announced_with_a_schema_terraform_accepts() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    let meta = client.get_metadata(pb::get_metadata::Request {}).await.unwrap().into_inner();
    let announced: Vec<&str> = meta.actions.iter().map(|a| a.type_name.as_str()).collect();
    assert_eq!(announced, [REDRIVE]);

    let r = client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let schemas: Vec<&str> = r.action_schemas.keys().map(String::as_str).collect();
    assert_eq!(schemas, [REDRIVE]);
    let schema = r.action_schemas[REDRIVE].schema.as_ref().expect("the action's schema");
    assert_eq!(privatelink::schema::protocol_errors(schema), Vec::<String>::new(), "Terraform would refuse the action's schema");
    let block = schema.block.as_ref().unwrap();
    assert!(!block.description.is_empty());
    assert!(block.block_types.is_empty(), "attributes only");
    let mut attributes: Vec<(&str, bool, bool, bool)> =
        block.attributes.iter().map(|a| (a.name.as_str(), a.optional, a.required, a.computed)).collect();
    attributes.sort();
    // (name, optional, required, computed): four optional arguments.
    assert_eq!(
        attributes,
        [
            ("destination_arn", true, false, false),
            ("max_messages_per_second", true, false, false),
            ("pipeline", true, false, false),
            ("source_arn", true, false, false),
        ]
    );
    for a in &block.attributes {
        assert!(!a.description.is_empty(), "{} has no description", a.name);
    }
}

/// cty's unknown value, as Terraform sends it for a value known at apply.
fn unknown() -> V {
    V::Ext(0, vec![0])
}

/// Each bad configuration is refused at ValidateActionConfig, at the
/// attribute to fix, and again at PlanAction before any AWS call: the
/// proxy sees no call at all (the provider is configured without its
/// credentials check).
#[tokio::test]
async fn bad_configurations_are_refused_at_their_attribute_with_no_aws_call() {
    const DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:orders-dlq";
    const FIFO_DLQ: &str = "arn:aws:sqs:us-east-1:123456789012:orders-dlq.fifo";
    const STANDARD: &str = "arn:aws:sqs:us-east-1:123456789012:orders";
    let moto = Moto::start();
    let plugin = Plugin::start(&[]);
    let mut client = common::driver::Driver::new(&plugin, REDRIVE, &moto.url(), &[]).await.client;
    let before = moto.rules().calls();

    let rate = |r: V| redrive(vec![("source_arn", s(DLQ)), ("max_messages_per_second", r)]);
    let cases: Vec<(&str, V, &str, &str)> = vec![
        ("both sources", redrive(vec![("pipeline", s("orders")), ("source_arn", s(DLQ))]), "pipeline", "Two dead-letter queues named"),
        ("no source", redrive(vec![]), "", "No dead-letter queue named"),
        ("a bad pipeline name", redrive(vec![("pipeline", s("no spaces"))]), "pipeline", "Invalid pipeline"),
        (
            "an SNS topic as source",
            redrive(vec![("source_arn", s("arn:aws:sns:us-east-1:123456789012:orders"))]),
            "source_arn",
            "Invalid source_arn",
        ),
        ("a queue name, not an ARN", redrive(vec![("source_arn", s("orders-dlq"))]), "source_arn", "Invalid source_arn"),
        (
            "a bad destination",
            redrive(vec![("pipeline", s("orders")), ("destination_arn", s("https://sqs.us-east-1.amazonaws.com/123456789012/orders"))]),
            "destination_arn",
            "Invalid destination_arn",
        ),
        ("rate 0", rate(V::from(0)), "max_messages_per_second", "Invalid max_messages_per_second"),
        ("rate 501", rate(V::from(501)), "max_messages_per_second", "Invalid max_messages_per_second"),
        ("rate 2.5", rate(V::F64(2.5)), "max_messages_per_second", "Invalid max_messages_per_second"),
        (
            "FIFO to standard",
            redrive(vec![("source_arn", s(FIFO_DLQ)), ("destination_arn", s(STANDARD))]),
            "destination_arn",
            "Queues of two types",
        ),
        (
            "standard to FIFO",
            redrive(vec![("source_arn", s(DLQ)), ("destination_arn", s("arn:aws:sqs:us-east-1:123456789012:orders.fifo"))]),
            "destination_arn",
            "Queues of two types",
        ),
        (
            "the destination is the source",
            redrive(vec![("source_arn", s(DLQ)), ("destination_arn", s(DLQ))]),
            "destination_arn",
            "The destination is the dead-letter queue",
        ),
    ];
    for (what, config, path, summary) in &cases {
        let d = action::validate(&mut client, config).await;
        let e = one_error(&d, path, summary);
        assert!(!e.detail.is_empty(), "{what}: an error says what would be valid");
        let planned = action::plan(&mut client, config).await;
        assert_eq!(error_places(&planned), error_places(&d), "{what}: plan refuses as validate does");
    }
    let d = action::validate(&mut client, &rate(V::F64(2.5))).await;
    assert!(d[0].detail.contains("1 to 500"), "{}", show(&d));
    let d = action::validate(&mut client, &cases[9].1).await;
    assert!(
        d[0].detail.contains("FIFO") && d[0].detail.contains("sqs-configure-dead-letter-queue-redrive"),
        "the rule and where SQS documents it: {}",
        show(&d)
    );

    // Good ones, and values only known later, pass validate.
    for config in [
        redrive(vec![("pipeline", s("orders"))]),
        redrive(vec![("source_arn", s(FIFO_DLQ)), ("destination_arn", s("arn:aws:sqs:us-east-1:123456789012:retry.fifo"))]),
        rate(V::from(1)),
        rate(V::from(500)),
        redrive(vec![("pipeline", unknown()), ("max_messages_per_second", unknown())]),
        redrive(vec![("source_arn", unknown()), ("destination_arn", s(STANDARD))]),
    ] {
        let d = action::validate(&mut client, &config).await;
        assert!(d.is_empty(), "{}", show(&d));
    }
    let calls = moto.rules().calls();
    assert_eq!(calls[before.len()..], [] as [String; 0], "validate, and plan of a bad configuration, call no AWS API");
}

/// PlanAction checks the queues in SQS once their values are known: a
/// queue that is no queue's dead-letter queue, a pipeline that does not
/// exist, a source in another region, a destination of another type that
/// only SQS could tell (the pipeline's dead-letter queue is FIFO) and one
/// that does not exist are refused at their attribute with the reason; a
/// task already running on the dead-letter queue is a warning naming it.
#[tokio::test]
async fn plan_checks_the_queues_in_sqs() {
    let (mut b, _queue, (dlq_url, dlq_arn)) = bed_with_pipeline("ledger", true).await;
    let sqs = b.aws.sqs.clone();
    let client = &mut b.tf.client;
    let plain = sqs.create_queue().queue_name("plain").send().await.unwrap().queue_url().unwrap().to_string();
    let (_, plain_arn) = action::queue(&sqs, "plain").await;
    let _ = plain;

    let d = action::plan(client, &redrive(vec![("pipeline", s("ledger"))])).await;
    assert!(d.is_empty(), "the FIFO pipeline's dead-letter queue is found by the pipeline's name: {}", show(&d));
    let d = action::plan(client, &redrive(vec![("source_arn", s(&dlq_arn)), ("max_messages_per_second", V::from(10))])).await;
    assert!(d.is_empty(), "{}", show(&d));

    let d = action::plan(client, &redrive(vec![("source_arn", s(&plain_arn))])).await;
    let e = one_error(&d, "source_arn", "Not a dead-letter queue");
    assert!(e.detail.contains(&plain_arn) && e.detail.contains("ListDeadLetterSourceQueues"), "{}", show(&d));

    let d = action::plan(client, &redrive(vec![("pipeline", s("nosuch"))])).await;
    let e = one_error(&d, "pipeline", "No such pipeline");
    assert!(e.detail.contains("nosuch-dlq") && e.detail.contains("nosuch-dlq.fifo") && e.detail.contains("us-east-1"), "{}", show(&d));

    let elsewhere = "arn:aws:sqs:eu-west-1:123456789012:ledger-dlq.fifo";
    let d = action::plan(client, &redrive(vec![("source_arn", s(elsewhere))])).await;
    let e = one_error(&d, "source_arn", "Queue in another region");
    assert!(e.detail.contains("eu-west-1") && e.detail.contains("us-east-1"), "{}", show(&d));

    // Validate cannot know the pipeline's queue type; plan can.
    let to_standard = redrive(vec![("pipeline", s("ledger")), ("destination_arn", s(&plain_arn))]);
    let d = action::validate(client, &to_standard).await;
    assert!(d.is_empty(), "{}", show(&d));
    let d = action::plan(client, &to_standard).await;
    let e = one_error(&d, "destination_arn", "Queues of two types");
    assert!(e.detail.contains("ledger-dlq.fifo is a FIFO queue") && e.detail.contains("a standard queue"), "{}", show(&d));

    let missing = "arn:aws:sqs:us-east-1:123456789012:nowhere.fifo";
    let d = action::plan(client, &redrive(vec![("pipeline", s("ledger")), ("destination_arn", s(missing))])).await;
    one_error(&d, "destination_arn", "No such queue");

    // A task someone started, still running: a warning, not an error (it
    // may be over when the action runs).
    action::send(&sqs, &dlq_url, 3).await;
    let started = sqs.start_message_move_task().source_arn(&dlq_arn).max_number_of_messages_per_second(1).send().await.unwrap();
    let handle = started.task_handle().unwrap().to_string();
    let d = action::plan(client, &redrive(vec![("pipeline", s("ledger"))])).await;
    assert!(errors(&d).is_empty(), "{}", show(&d));
    let w = warnings(&d);
    assert_eq!(w.len(), 1, "{}", show(&d));
    assert_eq!((path_of(w[0]).as_str(), w[0].summary.as_str()), ("pipeline", "A message move task runs on the dead-letter queue"));
    assert!(w[0].detail.contains(&handle) && w[0].detail.contains("is RUNNING"), "the warning names the task: {}", show(&d));
    sqs.cancel_message_move_task().task_handle(&handle).send().await.unwrap();
    action::settled(&sqs, &dlq_arn, Duration::from_secs(10)).await;
    let d = action::plan(client, &redrive(vec![("pipeline", s("ledger"))])).await;
    assert!(d.is_empty(), "no warning once the task is over: {}", show(&d));
}

/// A pipeline's dead-letter queue redriven through InvokeAction: empty, it
/// completes at once saying so and starts no task; holding 6 messages, the
/// action says what it is about to move, each new count, then done, and
/// completes without error: the 6 are back in the pipeline's queue and the
/// dead-letter queue is empty. While a task someone else started runs, the
/// invoke is refused, naming that task, which it leaves running.
#[tokio::test]
async fn invoke_redrives_a_pipelines_dead_letter_queue_with_progress() {
    const N: usize = 6;
    let (mut b, (queue_url, _), (dlq_url, dlq_arn)) = bed_with_pipeline("orders", false).await;
    let sqs = b.aws.sqs.clone();
    let client = &mut b.tf.client;
    let orders = redrive(vec![("pipeline", s("orders")), ("max_messages_per_second", V::from(3))]);

    let told = action::invoke(client, &orders, Duration::from_secs(30)).await;
    told.completed_ok();
    assert_eq!(told.progress, ["orders-dlq is empty: nothing to move"]);
    assert!(action::tasks(&sqs, &dlq_arn).await.is_empty(), "an empty dead-letter queue starts no task");

    action::send(&sqs, &dlq_url, N).await;
    assert_eq!(action::waiting(&sqs, &dlq_url).await, N as i64);
    let t = Instant::now();
    let told = action::invoke(client, &orders, Duration::from_secs(60)).await;
    let took = t.elapsed();
    told.completed_ok();
    let p = &told.progress;
    assert_eq!(p[0], format!("moving about {N} messages from orders-dlq to the queues they came from, at most 3 a second"));
    assert_eq!(p.last().unwrap(), &format!("moved {N} of {N}: done"));
    let counts: Vec<usize> = p[1..p.len() - 1].iter().map(|m| moved_of(m, N).unwrap_or_else(|| panic!("{m:?} in {p:?}"))).collect();
    assert!(!counts.is_empty() && counts.iter().all(|&k| k < N), "counts under way were told: {p:?}");
    assert!(counts.windows(2).all(|w| w[0] < w[1]), "each new count once, rising: {p:?}");
    assert!(took >= Duration::from_millis(1500), "6 messages at 3 a second took {took:?}");
    assert_eq!(action::waiting(&sqs, &queue_url).await, N as i64, "the messages are back in the pipeline's queue");
    assert_eq!(action::waiting(&sqs, &dlq_url).await, 0, "the dead-letter queue is empty");
    let tasks = action::tasks(&sqs, &dlq_arn).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!((tasks[0].status(), tasks[0].approximate_number_of_messages_moved()), (Some("COMPLETED"), N as i64));
    assert_eq!(tasks[0].max_number_of_messages_per_second(), Some(3));
    assert_eq!(tasks[0].destination_arn(), None, "back to where they came from");

    // Someone else's task runs: refused, naming it; it runs on.
    action::send(&sqs, &dlq_url, 3).await;
    let theirs = sqs.start_message_move_task().source_arn(&dlq_arn).max_number_of_messages_per_second(1).send().await.unwrap();
    let handle = theirs.task_handle().unwrap().to_string();
    let told = action::invoke(client, &orders, Duration::from_secs(30)).await;
    let e = told.completed_errors();
    assert_eq!(e.len(), 1);
    assert_eq!((path_of(e[0]).as_str(), e[0].summary.as_str()), ("pipeline", "A message move task already runs on the dead-letter queue"));
    assert!(e[0].detail.contains(&handle) && e[0].detail.contains(&dlq_arn), "{}", e[0].detail);
    assert!(told.progress.is_empty(), "nothing started: {:?}", told.progress);
    let now = action::tasks(&sqs, &dlq_arn).await;
    assert_eq!((now.len(), now[0].status(), now[0].task_handle()), (2, Some("RUNNING"), Some(handle.as_str())), "theirs runs on");
    sqs.cancel_message_move_task().task_handle(&handle).send().await.unwrap();
}

/// Reads progress until the task has moved at least one message (20 s at
/// most): the invoke is under way.
async fn until_moving(stream: &mut tonic::Streaming<pb::invoke_action::Event>, told: &mut action::Told, total: usize) {
    let t = Instant::now();
    while !told.progress.iter().any(|m| moved_of(m, total).is_some_and(|k| k >= 1)) {
        assert!(t.elapsed() < Duration::from_secs(20), "nothing moved; progress: {:?}", told.progress);
        assert!(action::next(stream, told).await.is_some(), "the invoke ended early: {told:?}");
        assert!(told.completed.is_none(), "completed before the stop: {told:?}");
    }
}

/// Ctrl-C during an invoke at 1 message a second: StopProvider (from
/// another connection, as Terraform sends it) cancels the task the invoke
/// started; the completed event says Stopped and how many had moved;
/// SQS lists the task CANCELLED, none runs, the rest is still in the
/// dead-letter queue. The provider serves on, and the next invoke moves
/// the rest. Then Terraform going away (the invoke's stream dropped, as
/// when the client cancels the call) cancels the task too.
#[tokio::test]
async fn a_stop_or_a_dropped_invoke_cancels_the_task_it_started() {
    const N: usize = 10;
    let (mut b, (queue_url, _), (dlq_url, dlq_arn)) = bed_with_pipeline("orders", false).await;
    let sqs = b.aws.sqs.clone();
    let mut stopper = b.tf.client.clone();
    let client = &mut b.tf.client;
    let slow = redrive(vec![("pipeline", s("orders")), ("max_messages_per_second", V::from(1))]);

    action::send(&sqs, &dlq_url, N).await;
    let mut stream = action::start(client, &slow).await;
    let mut told = action::Told::default();
    until_moving(&mut stream, &mut told, N).await;
    stopper.stop_provider(pb::stop_provider::Request {}).await.expect("StopProvider answered");
    action::finish(&mut stream, &mut told, Duration::from_secs(30)).await;
    let e = told.completed_errors();
    assert_eq!(e.len(), 1, "{told:?}");
    assert_eq!(e[0].summary, "Stopped");
    let tasks = action::settled(&sqs, &dlq_arn, Duration::from_secs(10)).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].status(), Some("CANCELLED"), "{tasks:?}");
    let moved = tasks[0].approximate_number_of_messages_moved();
    assert!((1..N as i64).contains(&moved), "{moved} of {N} moved at 1 a second before the stop");
    // The count CancelMessageMoveTask answered; a message the task was
    // sending as the cancel came may still be counted after it.
    let said = action::said_moved(&e[0].detail);
    assert!(said <= moved && moved - said <= 1, "the completed event says {said} moved, SQS lists {moved}: {}", e[0].detail);
    assert!(e[0].detail.contains(&dlq_arn) && e[0].detail.contains("invoke the action again"), "{}", e[0].detail);
    // Nothing but the completed event after a stop (see `actions::Progress`):
    // no "done", no word of the cancel, only counts under way.
    assert!(
        told.progress[1..].iter().all(|m| moved_of(m, N).is_some_and(|k| k < N)),
        "only counts under way were told: {:?}",
        told.progress
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(action::waiting(&sqs, &dlq_url).await, N as i64 - moved, "the rest is still in the dead-letter queue");
    assert_eq!(action::waiting(&sqs, &queue_url).await, moved, "nothing moved after the cancel");

    // The provider serves on after a stop: the next invoke moves the rest.
    let told = action::invoke(client, &redrive(vec![("pipeline", s("orders"))]), Duration::from_secs(30)).await;
    told.completed_ok();
    assert_eq!(told.progress.last().unwrap(), &format!("moved {0} of {0}: done", N as i64 - moved));
    assert_eq!((action::waiting(&sqs, &dlq_url).await, action::waiting(&sqs, &queue_url).await), (0, N as i64));

    // Terraform stops reading: the stream dropped cancels the task too.
    sqs.purge_queue().queue_url(&queue_url).send().await.unwrap();
    action::send(&sqs, &dlq_url, N).await;
    let mut stream = action::start(client, &slow).await;
    let mut told = action::Told::default();
    until_moving(&mut stream, &mut told, N).await;
    drop(stream);
    let t = Instant::now();
    let tasks = loop {
        let tasks = action::tasks(&sqs, &dlq_arn).await;
        if tasks[0].status() != Some("RUNNING") {
            break action::settled(&sqs, &dlq_arn, Duration::from_secs(10)).await;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the task runs on 10 s after the invoke was dropped: {tasks:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert_eq!(tasks[0].status(), Some("CANCELLED"), "{tasks:?}");
    let moved = tasks[0].approximate_number_of_messages_moved();
    assert!(moved < N as i64, "{moved} of {N}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(action::waiting(&sqs, &dlq_url).await, N as i64 - moved, "the rest is still in the dead-letter queue");

    // And the provider still answers.
    let d = action::plan(client, &redrive(vec![("pipeline", s("orders"))])).await;
    assert!(d.is_empty(), "{}", show(&d));
}
