//! [`CartRepository`] on SeaORM: it stores what the domain decided.
//!
//! - Reading a cart is one query: the cart joined with its lines and the
//!   products' live names and prices ([`sql::cart_read`], decoded by [`rows`]).
//! - Saving a change is one transaction: the one line statement the change
//!   needs, then a compare-and-set on the cart's version (`UPDATE carts …
//!   WHERE id = $id AND version = $previous`). The row the `UPDATE` matched
//!   stays locked until the commit, so a concurrent save of the same cart
//!   waits, then finds the version moved, and its transaction, line
//!   included, is rolled back: `Saved::Stale`.
//! - [`fast_path`]: [`SeaOrmCartFastPath`], on PostgreSQL an add or a set in
//!   one statement.

mod fast_path;
mod rows;
mod sql;

use std::sync::Arc;

pub use fast_path::{SeaOrmCartFastPath, SeaOrmCartFastPathParameters};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, SqlErr, Statement};
use shaku::Component;
use shop_application::StorageError;
use shop_application::idempotency::Completion;
use shop_application::ports::{CartRepository, Saved};
use shop_domain::{Cart, CartId, LineChange, Quantity, Version};

use super::engine::SessionFactory;
use super::entities::{cart, cart_line};
use super::{idempotency, storage_error};

/// Carts in the `carts` and `product_cart_association` tables.
#[derive(Component)]
#[shaku(interface = CartRepository)]
pub struct SeaOrmCartRepository {
    #[shaku(inject)]
    sessions: Arc<dyn SessionFactory>,
}

#[async_trait]
impl CartRepository for SeaOrmCartRepository {
    async fn insert(&self, new: &Cart, completion: Option<&Completion>) -> Result<(), StorageError> {
        let row = cart::ActiveModel {
            id: Set(new.id().0),
            version: Set(version_to_db(new.version())),
            created_at: Set(new.created_at()),
            updated_at: Set(new.updated_at()),
        };
        let Some(completion) = completion else {
            cart::Entity::insert(row).exec_without_returning(self.sessions.writer()).await.map_err(storage_error)?;
            return Ok(());
        };
        // Dropped without a commit on any error: nothing of it stays.
        let txn = self.sessions.begin().await.map_err(storage_error)?;
        cart::Entity::insert(row).exec_without_returning(&txn).await.map_err(storage_error)?;
        idempotency::complete(&txn, completion).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn get(&self, id: CartId) -> Result<Option<Cart>, StorageError> {
        read_cart(self.sessions.connection(), id).await
    }

    async fn save(
        &self,
        cart: &Cart,
        change: LineChange,
        completion: Option<&Completion>,
    ) -> Result<Saved, StorageError> {
        let txn = self.sessions.begin().await.map_err(storage_error)?;
        // The line first, then the cart row: the fast path's one statement
        // locks them in this order too, so the two never wait on each other.
        // If the version moved, the line written here is rolled back with it.
        let mut saved = match write_line(&txn, cart, change).await {
            Ok(Saved::Done) => match compare_and_set_version(&txn, cart).await {
                Ok(true) => Ok(Saved::Done),
                Ok(false) => Ok(Saved::Stale),
                Err(err) => lost_race(err),
            },
            Ok(Saved::Stale) => Ok(Saved::Stale),
            Err(err) => lost_race(err),
        };
        if let (Ok(Saved::Done), Some(completion)) = (&saved, completion) {
            saved = idempotency::complete(&txn, completion).await.map(|()| Saved::Done);
        }
        if let Ok(Saved::Done) = saved {
            txn.commit().await.map_err(storage_error)?;
        } else if let Err(err) = txn.rollback().await {
            // Nothing was committed either way; the pool discards a broken connection.
            tracing::debug!(error = %err, "rolling back a cart save failed");
        }
        saved
    }

    async fn delete(&self, cart: &Cart) -> Result<Saved, StorageError> {
        let deleted = cart::Entity::delete_many()
            .filter(cart::Column::Id.eq(cart.id().0))
            .filter(cart::Column::Version.eq(version_to_db(cart.version())))
            .exec(self.sessions.writer())
            .await
            .map_err(storage_error)?;
        Ok(if deleted.rows_affected == 1 { Saved::Done } else { Saved::Stale })
    }

    async fn purge_expired(&self, expired_before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
        use cart::{Column, Entity as Carts};
        let expired = Query::select()
            .column(Column::Id)
            .from(Carts)
            .and_where(Expr::col(Column::UpdatedAt).lt(expired_before))
            .limit(u64::from(limit))
            .to_owned();
        // Their lines go with them: the foreign key cascades.
        let deleted = Carts::delete_many()
            .filter(Column::Id.in_subquery(expired))
            .exec(self.sessions.writer())
            .await
            .map_err(storage_error)?;
        Ok(deleted.rows_affected)
    }
}

/// A transaction the database aborted to resolve a conflict with another
/// (a deadlock, a serialization failure) wrote nothing: the other writer won,
/// as with a version that moved. Any other error is the storage's.
fn lost_race(err: DbErr) -> Result<Saved, StorageError> {
    match super::sql_state(&err).as_deref() {
        Some("40P01" | "40001") => Ok(Saved::Stale),
        _ => Err(storage_error(err)),
    }
}

/// `UPDATE carts SET version = $new, updated_at = $now WHERE id = $id AND version = $new - 1`:
/// false if no row matched (the cart moved on, or is gone).
async fn compare_and_set_version(db: &impl ConnectionTrait, cart: &Cart) -> Result<bool, DbErr> {
    use cart::Column;
    let previous = cart
        .version()
        .0
        .checked_sub(1)
        .map(Version)
        .ok_or_else(|| DbErr::Custom(format!("cart {} at version 0 has no change to save", cart.id().0)))?;
    let result = cart::Entity::update_many()
        .col_expr(Column::Version, Expr::val(version_to_db(cart.version())))
        .col_expr(Column::UpdatedAt, Expr::val(cart.updated_at()))
        .filter(Column::Id.eq(cart.id().0))
        .filter(Column::Version.eq(version_to_db(previous)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// The one statement that stores the line `change` names, as `cart` has it.
/// A foreign key refusing the line (its product was deleted meanwhile) is
/// `Stale`: loading again tells the service the product is gone.
async fn write_line(db: &impl ConnectionTrait, cart: &Cart, change: LineChange) -> Result<Saved, DbErr> {
    use cart_line::{Column, Entity as Lines};
    let cart_id = cart.id().0;
    let written = match change {
        LineChange::Put(product_id) => {
            let line = cart.line(product_id).ok_or_else(|| {
                DbErr::Custom(format!("cart {cart_id} has no line for product {} to store", product_id.0))
            })?;
            let row = cart_line::ActiveModel {
                cart_id: Set(cart_id),
                product_id: Set(product_id.0),
                quantity: Set(quantity_to_db(line.quantity)),
                added_at: Set(line.added_at),
            };
            let upsert =
                OnConflict::columns([Column::CartId, Column::ProductId]).update_column(Column::Quantity).to_owned();
            Lines::insert(row).on_conflict(upsert).exec_without_returning(db).await.map(drop)
        }
        LineChange::Removed(product_id) => Lines::delete_many()
            .filter(Column::CartId.eq(cart_id))
            .filter(Column::ProductId.eq(product_id.0))
            .exec(db)
            .await
            .map(drop),
        LineChange::Cleared => Lines::delete_many().filter(Column::CartId.eq(cart_id)).exec(db).await.map(drop),
    };
    match written {
        Ok(()) => Ok(Saved::Done),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => Ok(Saved::Stale),
        Err(err) => Err(err),
    }
}

/// The cart with its lines, names and prices: one query.
async fn read_cart(db: &impl ConnectionTrait, id: CartId) -> Result<Option<Cart>, StorageError> {
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, sql::cart_read(backend), [id.0.into()]);
    rows::to_cart(&db.query_all_raw(statement).await.map_err(storage_error)?)
}

fn quantity_to_db(quantity: Quantity) -> i32 {
    // A quantity is at most MaxLineQuantity::CEILING (1 000 000): it fits.
    i32::try_from(quantity.get()).unwrap_or(i32::MAX)
}

fn version_to_db(version: Version) -> i64 {
    i64::try_from(version.0).unwrap_or(i64::MAX)
}
