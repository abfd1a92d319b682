//! One file per kind of AWS object a composite is made of. A part knows
//! its AWS API (create, find, update, delete, wait) and nothing about the
//! composite it belongs to; composites talk to AWS only through parts.
//!
//! Conventions, after terraform-provider-aws's find / status / wait split:
//! - `find*` returns `Ok(None)` (or leaves an id out) for an object that is
//!   gone; any other failure is an error naming the part and the call;
//! - `wait_*` polls with backoff inside the caller's timeout and says what
//!   it was waiting for when the time runs out;
//! - `delete` tolerates an object that is already gone.

pub mod code;
pub mod function;
pub mod security_group;
pub mod tags;
pub mod vpc;
pub mod vpc_endpoint;
pub mod wait;

use crate::diag::Diagnostic;

pub type PartResult<T> = Result<T, Diagnostic>;
