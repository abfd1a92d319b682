//! Call accounting: how many AWS calls a unit of work made, so the engine
//! can tell the longest chain of dependent calls (the critical path: what
//! an apply must wait for when every call costs a round trip) from the
//! total. Every SDK client carries `CountCalls`; it adds one per attempt
//! (retries pay a round trip too) to the counter of the task-local scope it
//! runs in, and to nothing outside one. The figures go to the DEBUG log,
//! where the benchmarks read them; nothing decides on them.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

tokio::task_local! {
    static CALLS: Arc<AtomicUsize>;
}

/// The SDK interceptor: one per attempt sent.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountCalls;

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    fn read_before_attempt(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let _ = CALLS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
        Ok(())
    }
}

/// Runs `fut` and counts the AWS calls made inside it (its own scope: an
/// enclosing `counted` does not see them).
pub async fn counted<F: Future>(fut: F) -> (F::Output, usize) {
    let counter = Arc::new(AtomicUsize::new(0));
    let out = CALLS.scope(counter.clone(), fut).await;
    (out, counter.load(Ordering::Relaxed))
}

/// `counted` for a fallible read: its value and its calls, or its error.
pub async fn with_count<T, E>(fut: impl Future<Output = Result<T, E>>) -> Result<(T, usize), E> {
    let (out, made) = counted(fut).await;
    out.map(|v| (v, made))
}

/// Reads sent together: the phase waits for its longest read only.
pub fn log_concurrent_reads(phase: &str, counts: &[usize]) {
    let longest = counts.iter().copied().max().unwrap_or(0);
    let total: usize = counts.iter().sum();
    tracing::debug!(phase, critical_path_calls = longest, total_calls = total, "calls of a concurrent read");
}

/// The longest chain through `after` (step -> the steps it waits for),
/// weighted by each step's calls: its weight, and the steps along it in
/// order. Steps missing from `calls` (skipped) weigh nothing.
pub fn critical_path(after: &BTreeMap<String, Vec<String>>, calls: &BTreeMap<String, usize>) -> (usize, Vec<String>) {
    fn best<'a>(
        step: &'a str,
        after: &'a BTreeMap<String, Vec<String>>,
        calls: &BTreeMap<String, usize>,
        memo: &mut BTreeMap<&'a str, (usize, Vec<String>)>,
        depth: usize,
    ) -> (usize, Vec<String>) {
        if let Some(hit) = memo.get(step) {
            return hit.clone();
        }
        // A cycle is refused by the engine; the depth bound only keeps this
        // function total.
        let mut longest = (0, Vec::new());
        if depth < after.len() {
            for dep in after.get(step).into_iter().flatten() {
                let candidate = best(dep, after, calls, memo, depth + 1);
                if candidate.0 > longest.0 {
                    longest = candidate;
                }
            }
        }
        let mut chain = longest.1;
        chain.push(step.to_string());
        let result = (longest.0 + calls.get(step).copied().unwrap_or(0), chain);
        memo.insert(step, result.clone());
        result
    }
    let mut memo = BTreeMap::new();
    let mut overall = (0, Vec::new());
    for step in after.keys() {
        let candidate = best(step, after, calls, &mut memo, 0);
        if candidate.0 > overall.0 {
            overall = candidate;
        }
    }
    overall
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(edges: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        edges.iter().map(|(s, a)| (s.to_string(), a.iter().map(|x| x.to_string()).collect())).collect()
    }

    #[test]
    fn the_heaviest_chain_wins_not_the_longest_in_steps() {
        let after = graph(&[("group", &[]), ("endpoint", &["group"]), ("role", &[]), ("function", &["role", "endpoint"])]);
        let calls: BTreeMap<String, usize> =
            [("group", 3), ("endpoint", 2), ("role", 7), ("function", 2)].map(|(k, v)| (k.to_string(), v)).into();
        assert_eq!(critical_path(&after, &calls), (9, vec!["role".to_string(), "function".to_string()]));
    }

    #[test]
    fn independent_steps_do_not_add_up() {
        let after = graph(&[("a", &[]), ("b", &[]), ("c", &[])]);
        let calls: BTreeMap<String, usize> = [("a", 4), ("b", 5), ("c", 1)].map(|(k, v)| (k.to_string(), v)).into();
        assert_eq!(critical_path(&after, &calls).0, 5);
    }

    #[tokio::test]
    async fn counts_stay_in_their_scope() {
        let (_, outer) = counted(async {
            let _ = CALLS.try_with(|c| c.fetch_add(1, Ordering::Relaxed));
            let (_, inner) = counted(async {
                let _ = CALLS.try_with(|c| c.fetch_add(2, Ordering::Relaxed));
            })
            .await;
            assert_eq!(inner, 2);
        })
        .await;
        assert_eq!(outer, 1);
    }
}
