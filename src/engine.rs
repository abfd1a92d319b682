//! The reconciler's executor: a set of steps with explicit "after"
//! dependencies, run concurrently (bounded) along the graph. A step starts
//! once everything it comes after has succeeded; a step whose dependency
//! failed is skipped, while independent steps carry on, so one failed
//! endpoint never stops its siblings and everything that did finish is
//! recorded by the steps themselves.
//!
//! Steps are typed: each composite names its steps with its own key type
//! (an enum whose `Display` is the step's name in the logs), builds the
//! graph (keys and dependencies) with a pure function its tests check with
//! [`check`], then gives each key its work. A dependency is either required
//! ([`Dep::On`]: that step must be in the graph, or nothing runs) or
//! optional ([`Dep::IfPresent`]: an ordering only if that part needs work
//! this time).
//!
//! The engine knows no direction: deleting is a graph like any other, of
//! `Op::Remove` steps. Each composite writes its destroy graph itself, in
//! its `steps.rs`, with the edges of its apply graph turned around (a part
//! is removed after what uses it), and its tests check that graph as well.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};

use crate::diag::Diagnostic;

/// How many AWS-facing steps run at once: enough to overlap the waits of a
/// composite's parts without tripping API rate limits.
pub const CONCURRENCY: usize = 8;

/// What names a step: a composite's own key type.
pub trait StepKey: Clone + Ord + fmt::Debug + fmt::Display + Send {}
impl<K: Clone + Ord + fmt::Debug + fmt::Display + Send> StepKey for K {}

/// One "after" edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dep<K> {
    /// The step must be in the graph: a graph without it is a programming
    /// error, reported before anything starts.
    On(K),
    /// An ordering only if the step is in the graph (a part that needs no
    /// work this time, e.g. a role the user brings, is simply absent).
    IfPresent(K),
}

impl<K> Dep<K> {
    pub fn key(&self) -> &K {
        match self {
            Dep::On(k) | Dep::IfPresent(k) => k,
        }
    }
}

/// A graph: each step and what it comes after.
pub type Graph<K> = Vec<(K, Vec<Dep<K>>)>;

/// A graph resolved: each step and the steps of the graph it waits for.
pub type Resolved<K> = BTreeMap<K, Vec<K>>;

/// What a composite's step does with one of its parts: bring it to the
/// configuration, or remove it. Shown as the part's name, or `remove` and
/// the name, in logs and diagnostics.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Op<P> {
    Ensure(P),
    Remove(P),
}

impl<P: fmt::Display> fmt::Display for Op<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Ensure(p) => write!(f, "{p}"),
            Op::Remove(p) => write!(f, "remove {p}"),
        }
    }
}

pub struct Step<'a, K> {
    pub key: K,
    /// The AWS object the step works on, for the user: `SQS queue orders-dlq`.
    pub object: String,
    pub after: Vec<Dep<K>>,
    pub run: BoxFuture<'a, Result<(), Diagnostic>>,
}

impl<'a, K> Step<'a, K> {
    pub fn new(key: K, object: impl Into<String>, after: Vec<Dep<K>>, run: BoxFuture<'a, Result<(), Diagnostic>>) -> Step<'a, K> {
        Step { key, object: object.into(), after, run }
    }
}

/// What happened to each step.
#[derive(Debug)]
pub struct Outcome<K> {
    pub done: Vec<K>,
    pub failed: Vec<(K, Diagnostic)>,
    pub skipped: Vec<K>,
}

impl<K> Default for Outcome<K> {
    fn default() -> Self {
        Outcome { done: Vec::new(), failed: Vec::new(), skipped: Vec::new() }
    }
}

impl<K> Outcome<K> {
    pub fn errors(self) -> Vec<Diagnostic> {
        self.failed.into_iter().map(|(_, d)| d).collect()
    }
}

/// Each step's dependencies among the steps of `graph`: optional ones on
/// absent steps dropped. A required dependency on an absent step, or a
/// step given twice, is an error of the step concerned.
pub fn resolve<K: StepKey>(graph: &[(K, Vec<Dep<K>>)]) -> Result<Resolved<K>, Vec<(K, Diagnostic)>> {
    let mut resolved: Resolved<K> = BTreeMap::new();
    let mut errors = Vec::new();
    for (key, _) in graph {
        if resolved.insert(key.clone(), Vec::new()).is_some() {
            errors.push((key.clone(), Diagnostic::error("Internal error: duplicate step", format!("Step {key} is given twice."))));
        }
    }
    for (key, after) in graph {
        let mut deps = Vec::new();
        for dep in after {
            match dep {
                Dep::On(d) | Dep::IfPresent(d) if resolved.contains_key(d) => deps.push(d.clone()),
                Dep::IfPresent(_) => {}
                Dep::On(d) => errors.push((
                    key.clone(),
                    Diagnostic::error(
                        "Internal error: dependency on an absent step",
                        format!("Step {key} must come after step {d}, which is not part of this run; nothing was started."),
                    ),
                )),
            }
        }
        resolved.insert(key.clone(), deps);
    }
    if errors.is_empty() {
        Ok(resolved)
    } else {
        Err(errors)
    }
}

/// `resolve`, and no dependency cycle: what a composite's graph must pass
/// for every configuration (its unit tests call this).
pub fn check<K: StepKey>(graph: &[(K, Vec<Dep<K>>)]) -> Result<Resolved<K>, Vec<Diagnostic>> {
    let resolved = resolve(graph).map_err(|e| e.into_iter().map(|(_, d)| d).collect::<Vec<_>>())?;
    // Peel off steps whose dependencies are all peeled: what remains waits
    // on itself somewhere.
    let mut left: BTreeMap<&K, &Vec<K>> = resolved.iter().collect();
    loop {
        let free: Vec<&K> = left.iter().filter(|(_, deps)| deps.iter().all(|d| !left.contains_key(d))).map(|(k, _)| *k).collect();
        if free.is_empty() {
            break;
        }
        for k in free {
            left.remove(k);
        }
    }
    if left.is_empty() {
        Ok(resolved)
    } else {
        Err(left.keys().map(cycle).collect())
    }
}

fn cycle(step: &impl fmt::Display) -> Diagnostic {
    Diagnostic::error("Internal error: dependency cycle", format!("step {step} waits on itself"))
}

/// The work of a key its composite's graph never holds (a match needs an
/// arm for it): an internal error if it ever runs.
pub fn no_work_for<'a, K: fmt::Display>(key: K) -> BoxFuture<'a, Result<(), Diagnostic>> {
    let detail = format!("Step {key} has no work in this run.");
    Box::pin(async move { Err(Diagnostic::error("Internal error: step without work", detail)) })
}

/// The error a step reports, with which step failed on which object (the
/// summary stays as the part wrote it).
fn failed_on(mut d: Diagnostic, step: &impl fmt::Display, object: &str) -> Diagnostic {
    let what = format!("Step {step} failed, working on {object}.");
    d.detail = if d.detail.trim().is_empty() { what } else { format!("{}\n\n{what}", d.detail.trim_end()) };
    d
}

/// A step not started yet.
struct Waiting<'a, K> {
    key: K,
    name: String,
    object: String,
    deps: Vec<K>,
    run: BoxFuture<'a, Result<(), Diagnostic>>,
}

/// Runs `steps` along their dependencies, at most `limit` at a time.
/// Optional dependencies on absent steps are dropped; a required one on an
/// absent step fails that step and starts nothing.
pub async fn run<K: StepKey>(steps: Vec<Step<'_, K>>, limit: usize) -> Outcome<K> {
    let given: Graph<K> = steps.iter().map(|s| (s.key.clone(), s.after.clone())).collect();
    // Each step's dependencies among the steps given (also what the
    // critical-path figure logged at the end walks).
    let graph = match resolve(&given) {
        Ok(g) => g,
        Err(failed) => return refused(&steps, failed),
    };
    // Ready steps start in the order of their names.
    let mut waiting: Vec<Waiting<'_, K>> = steps
        .into_iter()
        .map(|s| Waiting { deps: graph[&s.key].clone(), name: s.key.to_string(), key: s.key, object: s.object, run: s.run })
        .collect();
    waiting.sort_by(|a, b| (&a.name, &a.key).cmp(&(&b.name, &b.key)));
    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    let mut outcome = Outcome::default();
    let mut running = FuturesUnordered::new();
    loop {
        // Skip everything downstream of a failure or a skip.
        loop {
            let (blocked, rest): (Vec<_>, Vec<_>) = waiting
                .into_iter()
                .partition(|w| w.deps.iter().any(|d| outcome.skipped.contains(d) || outcome.failed.iter().any(|(f, _)| f == d)));
            waiting = rest;
            if blocked.is_empty() {
                break;
            }
            for w in blocked {
                tracing::debug!(step = %w.name, "skipped: a step it depends on did not finish");
                outcome.skipped.push(w.key);
            }
        }
        let mut room = limit.saturating_sub(running.len());
        let mut i = 0;
        while i < waiting.len() && room > 0 {
            if !waiting[i].deps.iter().all(|d| outcome.done.contains(d)) {
                i += 1;
                continue;
            }
            let Waiting { key, name, object, run: fut, .. } = waiting.remove(i);
            room -= 1;
            tracing::debug!(step = %name, object = %object, "step started");
            running.push(async move {
                let (result, made) = crate::calls::counted(fut).await;
                (key, name, object, result, made)
            });
        }
        let Some((key, name, object, result, made)) = running.next().await else { break };
        calls.insert(name.clone(), made);
        match result {
            Ok(()) => {
                tracing::debug!(step = %name, "step done");
                outcome.done.push(key);
            }
            Err(d) => {
                tracing::warn!(step = %name, object = %object, error = %d.summary, "step failed");
                outcome.failed.push((key, failed_on(d, &name, &object)));
            }
        }
    }
    log_calls(&graph, &calls);
    // Anything still waiting has a dependency cycle: a programming error,
    // reported rather than hung on.
    for w in waiting {
        outcome.failed.push((w.key, cycle(&w.name)));
    }
    outcome
}

/// A graph that cannot run: the steps at fault failed, the others skipped,
/// none started.
fn refused<K: StepKey>(steps: &[Step<'_, K>], failed: Vec<(K, Diagnostic)>) -> Outcome<K> {
    for (k, d) in &failed {
        tracing::error!(step = %k, error = %d.detail, "step graph refused");
    }
    let at_fault: BTreeSet<&K> = failed.iter().map(|(k, _)| k).collect();
    let skipped = steps.iter().map(|s| s.key.clone()).filter(|k| !at_fault.contains(k)).collect();
    Outcome { done: vec![], failed, skipped }
}

/// The critical-path figure of a run (`crate::calls`), by step name.
fn log_calls<K: StepKey>(graph: &Resolved<K>, calls: &BTreeMap<String, usize>) {
    let named: BTreeMap<String, Vec<String>> =
        graph.iter().map(|(k, deps)| (k.to_string(), deps.iter().map(ToString::to_string).collect())).collect();
    let (longest, chain) = crate::calls::critical_path(&named, calls);
    tracing::debug!(
        phase = "steps",
        critical_path_calls = longest,
        total_calls = calls.values().sum::<usize>(),
        chain = %chain.join(" > "),
        "calls of the step graph"
    );
}

/// A graph `check` accepts, as step names, each with its dependencies'
/// names sorted: what the composites' step tests compare. Panics with the
/// engine's diagnostics when `check` refuses the graph.
#[cfg(test)]
pub fn edges<K: StepKey>(graph: &[(K, Vec<Dep<K>>)]) -> BTreeMap<String, Vec<String>> {
    let resolved = check(graph).unwrap_or_else(|e| panic!("{e:?}"));
    let sorted = |deps: Vec<K>| {
        let mut names: Vec<String> = deps.iter().map(ToString::to_string).collect();
        names.sort();
        names
    };
    resolved.into_iter().map(|(k, deps)| (k.to_string(), sorted(deps))).collect()
}

/// The dependencies of `step` in `edges`' map (a panic naming the graph
/// when there is no such step).
#[cfg(test)]
pub fn after<'a>(edges: &'a BTreeMap<String, Vec<String>>, step: &str) -> Vec<&'a str> {
    edges.get(step).unwrap_or_else(|| panic!("no step {step} in {edges:?}")).iter().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::FutureExt;
    use std::sync::Mutex;
    use std::time::Duration;

    fn on(names: &[&'static str]) -> Vec<Dep<&'static str>> {
        names.iter().map(|n| Dep::On(*n)).collect()
    }

    fn step<'a>(
        log: &'a Mutex<Vec<String>>,
        name: &'static str,
        after: Vec<Dep<&'static str>>,
        ok: bool,
        ms: u64,
    ) -> Step<'a, &'static str> {
        Step::new(
            name,
            format!("object of {name}"),
            after,
            async move {
                log.lock().unwrap().push(format!("start {name}"));
                tokio::time::sleep(Duration::from_millis(ms)).await;
                log.lock().unwrap().push(format!("end {name}"));
                if ok {
                    Ok(())
                } else {
                    Err(Diagnostic::error(format!("{name} failed"), "AccessDenied: no"))
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
                step(&log, "endpoint/s3", on(&["group"]), true, 20),
                step(&log, "endpoint/sqs", on(&["group"]), true, 20),
                step(&log, "group", vec![], true, 5),
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
                step(&log, "group", vec![], false, 1),
                step(&log, "endpoint/sqs", on(&["group"]), true, 1),
                step(&log, "endpoint/s3", vec![], true, 1),
                step(&log, "after-sqs", on(&["endpoint/sqs"]), true, 1),
            ],
            8,
        )
        .await;
        assert_eq!(out.done, vec!["endpoint/s3"]);
        assert_eq!(out.skipped.len(), 2);
        assert!(!log.into_inner().unwrap().iter().any(|l| l.contains("sqs")));
        let [(key, d)] = &out.failed[..] else { panic!("{:?}", out.failed) };
        assert_eq!(*key, "group");
        assert_eq!(d.summary, "group failed", "the summary is the step's own");
        assert_eq!(d.detail, "AccessDenied: no\n\nStep group failed, working on object of group.");
    }

    #[tokio::test]
    async fn concurrency_is_bounded() {
        let log = Mutex::new(Vec::new());
        let names = ["a", "b", "c", "d"];
        let out = run(names.iter().map(|n| step(&log, n, vec![], true, 10)).collect(), 2).await;
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
    async fn an_absent_optional_dependency_is_dropped() {
        let log = Mutex::new(Vec::new());
        let out = run(vec![step(&log, "a", vec![Dep::IfPresent("not-needed-this-time")], true, 1)], 8).await;
        assert_eq!(out.done, vec!["a"]);
        // A present one still orders.
        let out = run(vec![step(&log, "b", vec![Dep::IfPresent("c")], true, 1), step(&log, "c", vec![], true, 5)], 8).await;
        assert_eq!(out.done, vec!["c", "b"]);
    }

    #[tokio::test]
    async fn an_unknown_required_dependency_is_an_error_and_nothing_starts() {
        let log = Mutex::new(Vec::new());
        let out = run(vec![step(&log, "producer", on(&["producer-rol"]), true, 1), step(&log, "queue", vec![], true, 1)], 8).await;
        assert!(log.into_inner().unwrap().is_empty(), "nothing ran");
        assert!(out.done.is_empty());
        assert_eq!(out.skipped, vec!["queue"]);
        let [(key, d)] = &out.failed[..] else { panic!("{:?}", out.failed) };
        assert_eq!(*key, "producer");
        assert!(d.summary.starts_with("Internal error"), "{d:?}");
        assert!(d.detail.contains("producer") && d.detail.contains("producer-rol"), "names both steps: {}", d.detail);
        let err = check(&[("producer", on(&["producer-rol"]))]).unwrap_err();
        assert_eq!(err.len(), 1);
        assert!(err[0].detail.contains("producer-rol"));
    }

    #[tokio::test]
    async fn cycles_are_reported() {
        let log = Mutex::new(Vec::new());
        let out = run(vec![step(&log, "x", on(&["y"]), true, 1), step(&log, "y", on(&["x"]), true, 1)], 8).await;
        assert_eq!(out.failed.len(), 2);
        assert!(out.failed.iter().all(|(_, d)| d.summary == "Internal error: dependency cycle"));
        let graph = vec![("x", on(&["y"])), ("y", on(&["x"])), ("z", on(&[]))];
        assert_eq!(check(&graph).unwrap_err().len(), 2);
        assert_eq!(check(&[("x", on(&["x"]))]).unwrap_err().len(), 1, "a step after itself is a cycle");
    }

    /// The old contract, as the typed steps keep it: a dependency declared
    /// optional on a step absent this time is ignored (a required one is
    /// an error, above), and a cycle is reported rather than hung on.
    #[tokio::test]
    async fn absent_dependencies_are_ignored_and_cycles_reported() {
        let log = Mutex::new(Vec::new());
        let out = run(vec![step(&log, "a", vec![Dep::IfPresent("not-needed-this-time")], true, 1)], 8).await;
        assert_eq!(out.done, vec!["a"]);
        let out = run(vec![step(&log, "x", on(&["y"]), true, 1), step(&log, "y", on(&["x"]), true, 1)], 8).await;
        assert_eq!(out.failed.len(), 2);
    }

    #[test]
    fn check_resolves_a_valid_graph() {
        let graph = vec![("a", vec![]), ("b", vec![Dep::On("a"), Dep::IfPresent("gone")]), ("c", vec![Dep::IfPresent("b")])];
        let resolved = check(&graph).unwrap();
        assert_eq!(resolved["b"], vec!["a"]);
        assert_eq!(resolved["c"], vec!["b"]);
        assert!(check(&[("a", vec![]), ("a", vec![])]).is_err(), "a step given twice");
    }
}
