//! The reconciler's executor: a set of steps with explicit "after"
//! dependencies, run concurrently (bounded) along the graph. A step starts
//! once everything it comes after has succeeded; a step whose dependency
//! failed is skipped, while independent steps carry on, so one failed
//! endpoint never stops its siblings and everything that did finish is
//! recorded by the steps themselves.
//!
//! Deleting runs the same graph backwards: build the steps with the
//! reverse edges (`Graph::reversed`).

use std::collections::{BTreeMap, BTreeSet};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::diag::Diagnostic;

/// How many AWS-facing steps run at once: enough to overlap the waits of a
/// composite's parts without tripping API rate limits.
pub const CONCURRENCY: usize = 8;

pub struct Step<'a> {
    pub name: String,
    pub after: Vec<String>,
    pub run: BoxFuture<'a, Result<(), Diagnostic>>,
}

impl<'a> Step<'a> {
    pub fn new(name: impl Into<String>, after: &[&str], run: BoxFuture<'a, Result<(), Diagnostic>>) -> Step<'a> {
        Step { name: name.into(), after: after.iter().map(|s| s.to_string()).collect(), run }
    }
}

/// What happened to each step.
#[derive(Debug, Default)]
pub struct Outcome {
    pub done: Vec<String>,
    pub failed: Vec<(String, Diagnostic)>,
    pub skipped: Vec<String>,
}

impl Outcome {
    pub fn errors(self) -> Vec<Diagnostic> {
        self.failed.into_iter().map(|(_, d)| d).collect()
    }
}

/// A step not started yet: the steps it still waits on, and its work.
type Waiting<'a> = (BTreeSet<String>, BoxFuture<'a, Result<(), Diagnostic>>);

/// Runs `steps` along their dependencies, at most `limit` at a time.
/// Dependencies on names that are not steps are ignored (a part that needs
/// no work this time is simply absent).
pub async fn run(steps: Vec<Step<'_>>, limit: usize) -> Outcome {
    let names: BTreeSet<String> = steps.iter().map(|s| s.name.clone()).collect();
    // Each step's dependencies among the steps given (also what the
    // critical-path figure logged at the end walks).
    let graph: BTreeMap<String, Vec<String>> =
        steps.iter().map(|s| (s.name.clone(), s.after.iter().filter(|d| names.contains(*d) && **d != s.name).cloned().collect())).collect();
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    let mut waiting: BTreeMap<String, Waiting<'_>> =
        steps.into_iter().map(|s| (s.name.clone(), (graph[&s.name].iter().cloned().collect(), s.run))).collect();
    let mut outcome = Outcome::default();
    let mut running = FuturesUnordered::new();
    loop {
        // Skip everything downstream of a failure or a skip.
        loop {
            let blocked: Vec<String> = waiting
                .iter()
                .filter(|(_, (deps, _))| deps.iter().any(|d| outcome.skipped.contains(d) || outcome.failed.iter().any(|(f, _)| f == d)))
                .map(|(n, _)| n.clone())
                .collect();
            if blocked.is_empty() {
                break;
            }
            for n in blocked {
                waiting.remove(&n);
                tracing::debug!(step = %n, "skipped: a step it depends on did not finish");
                outcome.skipped.push(n);
            }
        }
        let ready: Vec<String> = waiting
            .iter()
            .filter(|(_, (deps, _))| deps.iter().all(|d| outcome.done.contains(d)))
            .map(|(n, _)| n.clone())
            .take(limit.saturating_sub(running.len()))
            .collect();
        for n in ready {
            let (_, fut) = waiting.remove(&n).expect("ready step is waiting");
            tracing::debug!(step = %n, "step started");
            running.push(async move {
                let (result, made) = crate::calls::counted(fut).await;
                (n, result, made)
            });
        }
        let next = running.next().await.map(|(n, result, made)| {
            calls.insert(n.clone(), made);
            (n, result)
        });
        match next {
            Some((n, Ok(()))) => {
                tracing::debug!(step = %n, "step done");
                outcome.done.push(n);
            }
            Some((n, Err(d))) => {
                tracing::warn!(step = %n, error = %d.summary, "step failed");
                outcome.failed.push((n, d));
            }
            None => break,
        }
    }
    let (longest, chain) = crate::calls::critical_path(&graph, &calls);
    tracing::debug!(
        phase = "steps",
        critical_path_calls = longest,
        total_calls = calls.values().sum::<usize>(),
        chain = %chain.join(" > "),
        "calls of the step graph"
    );
    // Anything still waiting has a dependency cycle: a programming error,
    // reported rather than hung on.
    for (n, _) in waiting {
        outcome.failed.push((n.clone(), Diagnostic::error("Internal error: dependency cycle", format!("step {n} waits on itself"))));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::Mutex;
    use std::time::Duration;

    fn step<'a>(log: &'a Mutex<Vec<String>>, name: &'a str, after: &[&str], ok: bool, ms: u64) -> Step<'a> {
        Step::new(
            name,
            after,
            async move {
                log.lock().unwrap().push(format!("start {name}"));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                log.lock().unwrap().push(format!("end {name}"));
                if ok {
                    Ok(())
                } else {
                    Err(Diagnostic::error(format!("{name} failed"), ""))
                }
            }
            .boxed(),
        )
    }

    fn pos(log: &[String], what: &str) -> usize {
        log.iter().position(|l| l == what).unwrap_or_else(|| panic!("{what} not in {log:?}"))
    }

    #[tokio::test]
    async fn dependencies_run_first_and_siblings_overlap() {
        let log = Mutex::new(Vec::new());
        let out = run(
            vec![
                step(&log, "endpoint/s3", &["group"], true, 20),
                step(&log, "endpoint/sqs", &["group"], true, 20),
                step(&log, "group", &[], true, 5),
            ],
            8,
        )
        .await;
        assert_eq!(out.done.len(), 3);
        let log = log.into_inner().unwrap();
        assert!(pos(&log, "end group") < pos(&log, "start endpoint/s3"));
        assert!(pos(&log, "end group") < pos(&log, "start endpoint/sqs"));
        // Both endpoints started before either ended: they ran at the same time.
        assert!(pos(&log, "start endpoint/s3") < pos(&log, "end endpoint/sqs"));
        assert!(pos(&log, "start endpoint/sqs") < pos(&log, "end endpoint/s3"));
    }

    #[tokio::test]
    async fn a_failure_skips_dependents_only() {
        let log = Mutex::new(Vec::new());
        let out = run(
            vec![
                step(&log, "group", &[], false, 1),
                step(&log, "endpoint/sqs", &["group"], true, 1),
                step(&log, "endpoint/s3", &[], true, 1),
                step(&log, "after-sqs", &["endpoint/sqs"], true, 1),
            ],
            8,
        )
        .await;
        assert_eq!(out.done, vec!["endpoint/s3".to_string()]);
        assert_eq!(out.failed.len(), 1);
        assert_eq!(out.skipped.len(), 2);
        assert!(!log.into_inner().unwrap().iter().any(|l| l.contains("sqs")));
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let log = Mutex::new(Vec::new());
        let names = ["a", "b", "c", "d"];
        let out = run(names.iter().map(|n| step(&log, n, &[], true, 10)).collect(), 2).await;
        assert_eq!(out.done.len(), 4);
        let log = log.into_inner().unwrap();
        let mut live: i32 = 0;
        let mut peak = 0;
        for l in &log {
            live += if l.starts_with("start") { 1 } else { -1 };
            peak = peak.max(live);
        }
        assert_eq!(peak, 2, "{log:?}");
    }

    #[tokio::test]
    async fn absent_dependencies_are_ignored_and_cycles_reported() {
        let log = Mutex::new(Vec::new());
        let out = run(vec![step(&log, "a", &["not-needed-this-time"], true, 1)], 8).await;
        assert_eq!(out.done, vec!["a".to_string()]);
        let out = run(vec![step(&log, "x", &["y"], true, 1), step(&log, "y", &["x"], true, 1)], 8).await;
        assert_eq!(out.failed.len(), 2);
    }
}
