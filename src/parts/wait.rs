//! Waiting on real state transitions: poll with backoff until the check
//! says done, or the caller's timeout runs out.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::diag::Diagnostic;

/// Polls `check` until it returns `Poll::Done`. Backoff starts at `first`
/// and doubles up to 5 s. On timeout the error says what was being waited
/// on and the last state a `Poll::Pending` round reported.
pub async fn until<T, F, Fut>(what: &str, timeout: Duration, first: Duration, mut check: F) -> Result<T, Diagnostic>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, Diagnostic>>,
{
    let start = Instant::now();
    let mut delay = first;
    let mut last;
    loop {
        match check().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending(state) => last = state,
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(Diagnostic::error(
                format!("Timed out waiting for {what}"),
                format!(
                    "Waited {} for {what}; the last state seen was {last:?}. Raise the timeout in the resource's `timeouts` block if this is expected, or check the object in the AWS console.",
                    human(timeout)
                ),
            ));
        }
        tokio::time::sleep(delay.min(timeout - elapsed)).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// One round of a wait: done with a value, or still pending in some state.
pub enum Poll<T> {
    Done(T),
    Pending(String),
}

pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn returns_when_done() {
        let mut n = 0;
        let v = until("a thing", Duration::from_secs(5), Duration::from_millis(1), || {
            n += 1;
            let done = n == 3;
            async move { Ok(if done { Poll::Done(n) } else { Poll::Pending("pending".into()) }) }
        })
        .await
        .unwrap();
        assert_eq!(v, 3);
    }

    #[tokio::test]
    async fn timeout_names_what_and_last_state() {
        let e = until::<(), _, _>("endpoint vpce-1 to be available", Duration::from_millis(30), Duration::from_millis(5), || async {
            Ok(Poll::Pending("pending".into()))
        })
        .await
        .unwrap_err();
        assert!(e.summary.contains("vpce-1"));
        assert!(e.detail.contains("\"pending\""));
    }
}
