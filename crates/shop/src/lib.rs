//! The shop service's entry crate: the composition root (one shaku module),
//! the axum router and handlers, settings, telemetry and the command line.
//!
//! This crate may depend on every other crate of the workspace and on the web
//! stack; nothing depends on it but the binary and the end-to-end tests.

pub mod app;
pub mod cli;
pub mod container;
pub mod edge;
pub mod graphql;
pub mod http;
pub mod router;
pub mod seed;
pub mod serve;
pub mod settings;
pub mod telemetry;
