//! The step record: what a composite's apply or destroy has learnt so far.
//! Steps run concurrently (`engine::run`) and each writes what it made or
//! removed, so a failure part way still returns everything that exists.
//! Steps only ever read a copy out or write a value in, never hold the
//! record across an await: `get` and `set` take a closure, and the lock is
//! an implementation detail of this file.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// A composite's record (`R`, e.g. the pipeline's queues, roles, groups and
/// functions) shared by the steps of one run.
#[derive(Default)]
pub struct StepRecord<R>(Mutex<R>);

impl<R> StepRecord<R> {
    pub fn new(r: R) -> StepRecord<R> {
        StepRecord(Mutex::new(r))
    }

    /// What `f` reads from the record (a clone of the part it needs).
    pub fn get<T>(&self, f: impl FnOnce(&R) -> T) -> T {
        f(&self.lock())
    }

    /// Writes into the record, e.g. `record.set(|r| r.queue = Some(q))`.
    pub fn set<T>(&self, f: impl FnOnce(&mut R) -> T) -> T {
        f(&mut self.lock())
    }

    /// The record once every step has ended.
    pub fn into_inner(self) -> R {
        self.0.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    /// A step that panicked leaves the record as it wrote it last, which is
    /// still the truth about AWS: keep using it rather than fail the rest.
    fn lock(&self) -> MutexGuard<'_, R> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_write_and_read_through_closures() {
        let r = StepRecord::new(Vec::<u32>::new());
        r.set(|v| v.push(1));
        r.set(|v| v.push(2));
        assert_eq!(r.get(|v| v.len()), 2);
        assert_eq!(r.into_inner(), vec![1, 2]);
    }
}
