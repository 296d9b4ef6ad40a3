//! SeaORM adapters. One engine (the connection pool) is shared by the session
//! factory and every repository, as in the original `DeclarativeContainer`.

mod carts;
mod engine;
mod entities;
mod health;
mod idempotency;
mod products;

pub use carts::{
    SeaOrmCartFastPath, SeaOrmCartFastPathParameters, SeaOrmCartRepository, SeaOrmCartRepositoryParameters,
};
pub use engine::{
    DatabaseEngine, DatabaseOptions, ReplicaPool, SeaOrmDatabaseEngine, SeaOrmDatabaseEngineParameters,
    SeaOrmSessionFactory, SeaOrmSessionFactoryParameters, SessionFactory, connect, connect_replica, connect_writer,
    describe,
};
pub use health::{SeaOrmStorageHealth, SeaOrmStorageHealthParameters};
pub use idempotency::{SeaOrmIdempotencyStore, SeaOrmIdempotencyStoreParameters};
pub use products::{SeaOrmProductRepository, SeaOrmProductRepositoryParameters};

use sea_orm::{DbErr, RuntimeErr};
use shop_application::StorageError;

/// Sorts a database error into "try again later" and "something is broken".
pub(crate) fn storage_error(err: DbErr) -> StorageError {
    if is_unavailable(&err) { StorageError::Unavailable(Box::new(err)) } else { StorageError::Internal(Box::new(err)) }
}

/// Unreachable, an operator's intervention (57…: a statement timeout or
/// cancel), or a standby's conflict with recovery (40001: "canceling
/// statement due to conflict with recovery"), which a retry gets past; on a
/// primary, 40001 is a serialization failure, retryable too.
fn is_unavailable(err: &DbErr) -> bool {
    is_unreachable(err) || sql_state(err).is_some_and(|code| code.starts_with("57") || code == "40001")
}

/// The SQLSTATE of a database's error.
pub(crate) fn sql_state(err: &DbErr) -> Option<String> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            e.as_database_error().and_then(|db| db.code()).map(|code| code.into_owned())
        }
        _ => None,
    }
}

/// The database cannot be reached now: no connection, or it is shutting
/// down or starting up.
pub(crate) fn is_unreachable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Protocol(_) => true,
                // PostgreSQL: connection exceptions (08…), and shutting down or starting up (57P0…).
                Sqlx::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P0")),
                _ => false,
            }
        }
        _ => false,
    }
}
