//! The GraphQL edge: the Python original's own interface (queries
//! `products`, `product`, `cart`; mutations `createProduct`,
//! `updateProductInfo`, `createCart`, `addToCart` and five more), a second
//! driving adapter over the same application services as the REST handlers
//! of `http/`. Like them it only translates: arguments → domain values →
//! service call → GraphQL objects, and application errors → the REST
//! edge's `ApiError` → a GraphQL error with its code.
//!
//! The transport (`POST /graphql`, the IDE, the SDL) is in `http/graphql.rs`.

mod errors;
mod operation;
mod schema;
mod types;

use std::sync::OnceLock;

pub(crate) use errors::{graphql_error, with_code};
pub(crate) use operation::{MAX_ROOT_FIELDS, Operation};
use schema::ShopSchema;
pub(crate) use schema::{Caller, KeyUse};

/// The schema, built once: building it walks every type.
pub(crate) fn schema() -> &'static ShopSchema {
    static SCHEMA: OnceLock<ShopSchema> = OnceLock::new();
    SCHEMA.get_or_init(schema::build)
}

/// The schema in SDL, as `GET /graphql/schema.graphql` serves it and
/// `docs/schema.graphql` keeps it.
pub fn sdl() -> String {
    schema().sdl()
}
