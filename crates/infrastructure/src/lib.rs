//! Adapters: the implementations of the application's ports.
//!
//! - [`seaorm`]: SeaORM over SQLite (the embedded default) or PostgreSQL, with
//!   the database engine and session factory as their own shaku components.
//! - [`in_memory`]: thread-safe fakes for fast service tests and for showing
//!   how an adapter is swapped, with a failure switch.
//!
//! This crate may depend on the domain and application crates and on storage
//! libraries; never on the web layer. ORM entities never leave it.

pub mod in_memory;
pub mod seaorm;
