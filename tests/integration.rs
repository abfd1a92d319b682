//! Every integration test, in one test binary: the shared test bed
//! (`common`) is compiled and linked once instead of once per file, and
//! `scripts/test` runs this binary's modules side by side as separate
//! processes (see `scripts/test-run.py`). One module alone:
//! `cargo test --test integration -- faults::`.

mod common;

mod action_protocol;
mod aws_rules;
mod bundle_protocol;
mod docs_and_examples;
mod faults;
mod first_contact;
mod function_settings;
mod host_exit;
mod identity_protocol;
mod import_blocks;
mod list_protocol;
mod log_groups;
mod modules;
mod move_tasks;
mod parts_event_source_mapping;
mod parts_function;
mod parts_network;
mod parts_queue_role;
mod parts_vpc_endpoint;
mod permissions;
mod pipeline_protocol;
mod pipeline_queue;
mod pipeline_roles;
mod portable;
mod private_function;
mod protocol;
mod reachability;
mod registry;
mod terraform_actions;
mod terraform_cli;
mod terraform_features;
mod terraform_query;
mod terraform_test;
