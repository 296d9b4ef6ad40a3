//! What the two driving adapters share, so that neither needs the other:
//! errors and the one table that names them for REST (problem+json) and
//! GraphQL (codes), the extractors that answer malformed requests with
//! problems, page cursors, the caller's token, per-client rate limits,
//! `Idempotency-Key` claims, and the OpenAPI document's shared parts.
//!
//! `http` (REST) and `graphql` each depend on this module and never on each
//! other; the router (`crate::router`) merges their routes.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod extract;
pub mod idempotency;
pub mod openapi;
pub mod rate_limit;

pub use error::{ApiError, Errors, FieldError, Problem, unless_cart_missing};

/// The largest accepted request body: 64 KiB.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
