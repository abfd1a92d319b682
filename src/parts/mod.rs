//! One module per kind of AWS object the provider makes or reads (a file,
//! or a folder for the bigger ones), and beside them what they share:
//! `tags`, `wait`, and `code` (a function's package). A part knows its AWS
//! API (create, find, update, delete, wait) and nothing about the composite
//! it belongs to; composites and data sources talk to AWS only through
//! parts.
//!
//! Conventions, after terraform-provider-aws's find / status / wait split:
//! - `find*` returns `Ok(None)` (or leaves an id out) for an object that is
//!   gone; any other failure is an error naming the part and the call;
//! - `wait_*` polls with backoff inside the caller's timeout and says what
//!   it was waiting for when the time runs out;
//! - `delete` tolerates an object that is already gone.

pub mod caller;
pub mod code;
pub mod event_source_mapping;
pub mod function;
pub mod kms_key;
pub mod log_group;
pub mod network_acl;
pub mod network_interface;
pub mod queue;
pub mod role;
pub mod route_table;
pub mod security_group;
pub mod tags;
pub mod vpc;
pub mod vpc_endpoint;
pub mod wait;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::diag::Diagnostic;

pub type PartResult<T> = Result<T, Diagnostic>;

/// True when AWS answered one of these error codes.
pub(crate) fn has_code<E: ProvideErrorMetadata>(err: &E, codes: &[&str]) -> bool {
    err.code().is_some_and(|c| codes.contains(&c))
}

/// An EC2 Describe* filter. Filters, unlike id lists, never fail the whole
/// call because one id is unknown: it is simply absent from the answer.
pub(crate) fn ec2_filter<S: Into<String>>(name: &str, values: impl IntoIterator<Item = S>) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder().name(name).set_values(Some(values.into_iter().map(Into::into).collect())).build()
}
