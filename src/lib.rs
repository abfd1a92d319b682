//! terraform-provider-privatelink: a Terraform/OpenTofu provider (plugin
//! protocol 6) whose composite resources put Lambda functions in private
//! subnets and reach AWS services through VPC endpoints, with no NAT.
//!
//! Layers, calling downwards only (docs/design.md, "Layers"):
//! `server` (protocol, mTLS, handshake, exit with the host) -> `provider`
//! (schema, configure, dispatch) -> `resources` / `data_sources` / `actions`
//! -> `ctx` (one call's AWS clients and stop signal) -> `engine` and `parts` (one
//! module per kind of AWS object) -> `aws` (the SDK clients; `credentials`
//! and `dispatch` say what went wrong when a call could not be signed or got
//! no answer). Below them all:
//! `value` and `model` (Terraform values, and the typed models every
//! resource, data source and the provider block are read through),
//! `schema`, `diag`, `validate`.

pub mod actions;
pub mod aws;
pub mod calls;
pub mod credentials;
pub mod ctx;
pub mod data_sources;
pub mod diag;
pub mod dispatch;
pub mod engine;
pub mod identity;
pub mod logging;
pub mod model;
pub mod parts;
pub mod policy;
pub mod provider;
pub mod resources;
pub mod schema;
pub mod server;
pub mod validate;
pub mod value;

/// Code generated from proto/ by tonic-build.
pub mod proto {
    pub mod tfplugin6 {
        tonic::include_proto!("tfplugin6");
    }
    pub mod plugin {
        tonic::include_proto!("plugin");
    }
}

/// The provider's type name: resources are `privatelink_*`.
pub const PROVIDER_NAME: &str = "privatelink";
/// Reported in logs and the user agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What `--version` prints. One literal, so that scripts/release finds it
/// inside a binary built for another platform, which it cannot run.
pub const VERSION_LINE: &str = concat!("terraform-provider-privatelink ", env!("CARGO_PKG_VERSION"));
