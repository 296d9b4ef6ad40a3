//! SeaORM adapters. One engine (the connection pool) is shared by the session
//! factory and every repository, as in the original `DeclarativeContainer`.

mod carts;
mod engine;
mod entities;
mod health;
mod idempotency;
mod products;

pub use carts::{SeaOrmCartRepository, SeaOrmCartRepositoryParameters};
pub use engine::{
    DatabaseEngine, DatabaseOptions, SeaOrmDatabaseEngine, SeaOrmDatabaseEngineParameters, SeaOrmSessionFactory,
    SeaOrmSessionFactoryParameters, SessionFactory, connect, connect_writer, describe,
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

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Sqlx;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed | Sqlx::Protocol(_) => true,
                // PostgreSQL: connection exceptions (08…) and operator interventions (57…: shutdown, cancel).
                Sqlx::Database(db) => db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57")),
                _ => false,
            }
        }
        _ => false,
    }
}
