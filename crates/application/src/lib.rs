//! The shop's use cases (services) and the ports they need (repositories).
//!
//! This crate may depend on the domain crate, `async-trait`, `shaku` (so that
//! ports and services can be injected as `Arc<dyn Trait>`) and `tracing`; never
//! on a web framework or a database library. Adapters implement the ports;
//! the entry crate wires everything together.

pub mod error;
pub mod idempotency;
pub mod ports;
pub mod services;

pub use error::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};
