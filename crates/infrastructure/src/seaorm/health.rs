//! [`StorageHealth`] of the SeaORM engine: a ping of each pool, and the main pool's figures.

use std::sync::Arc;

use async_trait::async_trait;
use sea_orm::DatabaseConnectionType as Pool;
use shaku::Component;
use shop_application::StorageError;
use shop_application::ports::{PoolStatus, Readiness, StorageHealth};

use super::engine::DatabaseEngine;

/// Pings the engine's pool and reads its figures.
#[derive(Component)]
#[shaku(interface = StorageHealth)]
pub struct SeaOrmStorageHealth {
    #[shaku(inject)]
    engine: Arc<dyn DatabaseEngine>,
}

#[async_trait]
impl StorageHealth for SeaOrmStorageHealth {
    async fn ping(&self) -> Result<Readiness, StorageError> {
        let replica = async {
            let replica = self.engine.replica()?;
            let answering = replica.pool().ping().await.is_ok();
            replica.set_answering(answering);
            Some(answering)
        };
        let (primary, replica) = tokio::join!(self.engine.connection().ping(), replica);
        primary.map_err(|err| StorageError::Unavailable(Box::new(err)))?;
        Ok(Readiness { replica })
    }

    fn pool(&self) -> Option<PoolStatus> {
        let connection = self.engine.connection();
        // Matched on the variant: each backend's pool getter panics on the other.
        let (size, idle) = match &connection.inner {
            Pool::SqlxPostgresPoolConnection(_) => {
                let pool = connection.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Pool::SqlxSqlitePoolConnection(_) => {
                let pool = connection.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => return None,
        };
        Some(PoolStatus { size, idle: u32::try_from(idle).unwrap_or(u32::MAX) })
    }
}
