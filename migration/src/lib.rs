//! The shop's database migrations (sea-orm-migration), the counterpart of the
//! original's Alembic scripts.
//!
//! Tables are named without a schema; on PostgreSQL the connection's search
//! path (set by the service to `database.schema`, `homework` by default) puts
//! them, and the migrations' own `seaql_migrations` table, in that schema,
//! which [`Migrator`] creates if it is missing. SQLite has no schemas.
//!
//! This crate may depend on `sea-orm-migration` only.

pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Schema, Statement};
use sea_orm_migration::seaql_migrations;

mod m20261124_000001_create_catalog_and_carts;
mod m20261130_000001_create_idempotency_keys;
mod m20261130_000002_index_carts_by_last_change;

/// Runs the shop's migrations in order.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_catalog_and_carts::Migration),
            Box::new(m20261130_000001_create_idempotency_keys::Migration),
            Box::new(m20261130_000002_index_carts_by_last_change::Migration),
        ]
    }

    /// Creates the bookkeeping table, and before it, on PostgreSQL, the schema
    /// the search path names: the first migration of a fresh database would
    /// otherwise fail with "no schema has been selected to create in".
    async fn install<C>(db: &C) -> Result<(), DbErr>
    where
        C: ConnectionTrait,
    {
        if db.get_database_backend() == DbBackend::Postgres {
            create_search_path_schema(db).await?;
        }
        let mut table = Schema::new(db.get_database_backend()).create_table_from_entity(seaql_migrations::Entity);
        db.execute(table.if_not_exists()).await?;
        Ok(())
    }
}

async fn create_search_path_schema<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    let query = Statement::from_string(DbBackend::Postgres, "SELECT current_setting('search_path') AS search_path");
    let search_path: String = match db.query_one_raw(query).await? {
        Some(row) => row.try_get("", "search_path")?,
        None => return Ok(()),
    };
    let first = search_path.split(',').next().unwrap_or("").trim();
    // `"$user", public` is PostgreSQL's default: nothing of ours to create.
    if first.is_empty() || first.contains('$') || first == "public" {
        return Ok(());
    }
    let schema = first.trim_matches('"').replace('"', "\"\"");
    db.execute_unprepared(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")).await?;
    Ok(())
}
