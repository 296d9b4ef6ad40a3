//! [`ProductRepository`] on SeaORM: each operation is one SQL statement.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QueryResult, QuerySelect, QueryTrait, Statement,
};
use shaku::Component;
use shop_application::idempotency::Completion;
use shop_application::ports::{ProductQuery, ProductRepository};
use shop_application::{ProductError, StorageError};
use shop_domain::{Description, Price, Product, ProductId, ProductName, ProductPatch};

use super::engine::SessionFactory;
use super::entities::product::{self, Column, Entity as Products};
use super::{idempotency, is_unreachable, storage_error};

/// The catalog in the `products` table.
#[derive(Component)]
#[shaku(interface = ProductRepository)]
pub struct SeaOrmProductRepository {
    #[shaku(inject)]
    sessions: Arc<dyn SessionFactory>,
}

#[async_trait]
impl ProductRepository for SeaOrmProductRepository {
    async fn insert(&self, product: &Product, completion: Option<&Completion>) -> Result<(), StorageError> {
        let row = product::ActiveModel {
            id: Set(product.id.0),
            name: Set(product.name.as_str().to_owned()),
            name_folded: Set(fold(product.name.as_str())),
            description: Set(product.description.as_ref().map(|d| d.as_str().to_owned())),
            price: Set(product.price.minor_units()),
            created_at: Set(product.created_at),
            updated_at: Set(product.updated_at),
        };
        let Some(completion) = completion else {
            Products::insert(row).exec_without_returning(self.sessions.writer()).await.map_err(storage_error)?;
            return Ok(());
        };
        // Dropped without a commit on any error: nothing of it stays.
        let txn = self.sessions.begin().await.map_err(storage_error)?;
        Products::insert(row).exec_without_returning(&txn).await.map_err(storage_error)?;
        idempotency::complete(&txn, completion).await?;
        txn.commit().await.map_err(storage_error)
    }

    async fn get(&self, id: ProductId) -> Result<Product, ProductError> {
        let (rows, on_replica) = self.read_catalog(&self.find(id)).await.map_err(storage_error)?;
        match rows.first() {
            Some(row) => Ok(decode(row)?),
            // Created a moment ago, it may not have reached the replica yet:
            // its creator must not get a 404 for it.
            None if on_replica => self.get_latest(id).await,
            None => Err(ProductError::NotFound),
        }
    }

    async fn get_latest(&self, id: ProductId) -> Result<Product, ProductError> {
        let rows = self.sessions.connection().query_all_raw(self.find(id)).await.map_err(storage_error)?;
        Ok(decode(rows.first().ok_or(ProductError::NotFound)?)?)
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>, StorageError> {
        let mut select = Products::find();
        if let Some(after) = query.after {
            // Keyset pagination: a row comparison the (created_at, id) index serves.
            select = select.filter(
                Expr::tuple([Expr::col(Column::CreatedAt), Expr::col(Column::Id)])
                    .gt(Expr::tuple([Expr::val(after.created_at), Expr::val(after.id.0)])),
            );
        }
        if let Some(text) = &query.name_contains {
            let pattern = format!("%{}%", escape_like(&fold(text.as_str())));
            select = select.filter(Column::NameFolded.like(LikeExpr::new(pattern).escape('\\')));
        }
        let page = select.order_by_asc(Column::CreatedAt).order_by_asc(Column::Id).limit(u64::from(query.limit));
        let (rows, _) = self.read_catalog(&self.statement(page)).await.map_err(storage_error)?;
        rows.iter().map(|row| to_product(ByPosition::from_query_result(row, "").map_err(storage_error)?.0)).collect()
    }

    async fn update(&self, id: ProductId, patch: &ProductPatch, now: DateTime<Utc>) -> Result<Product, ProductError> {
        let mut update = Products::update_many().col_expr(Column::UpdatedAt, Expr::val(now));
        if let Some(name) = &patch.name {
            update = update
                .col_expr(Column::Name, Expr::val(name.as_str()))
                .col_expr(Column::NameFolded, Expr::val(fold(name.as_str())));
        }
        if let Some(description) = &patch.description {
            let text = description.as_ref().map(|d| d.as_str().to_owned());
            update = update.col_expr(Column::Description, Expr::val(text));
        }
        if let Some(price) = patch.price {
            update = update.col_expr(Column::Price, Expr::val(price.minor_units()));
        }
        let rows = update
            .filter(Column::Id.eq(id.0))
            .exec_with_returning(self.sessions.writer())
            .await
            .map_err(storage_error)?;
        let row = rows.into_iter().next().ok_or(ProductError::NotFound)?;
        Ok(to_product(row)?)
    }

    async fn delete(&self, id: ProductId) -> Result<(), ProductError> {
        // Cart lines go with it: the foreign key cascades.
        let result = Products::delete_by_id(id.0).exec(self.sessions.writer()).await.map_err(storage_error)?;
        if result.rows_affected == 0 {
            return Err(ProductError::NotFound);
        }
        Ok(())
    }
}

impl SeaOrmProductRepository {
    /// Runs a catalog read on the replica, where one answers, else on the
    /// primary; says whether the replica answered. A replica that cannot be
    /// reached costs this read a second try on the primary, and the next
    /// reads for a while none (see `ReplicaPool`).
    async fn read_catalog(&self, statement: &Statement) -> Result<(Vec<QueryResult>, bool), DbErr> {
        if let Some(replica) = self.sessions.replica() {
            match replica.query_all_raw(statement.clone()).await {
                Err(err) if is_unreachable(&err) => {
                    tracing::debug!(error = %err, "a catalog read could not reach the replica");
                    self.sessions.replica_unreachable();
                }
                read => return read.map(|rows| (rows, true)),
            }
        }
        self.sessions.connection().query_all_raw(statement.clone()).await.map(|rows| (rows, false))
    }

    fn find(&self, id: ProductId) -> Statement {
        self.statement(Products::find_by_id(id.0))
    }

    /// `select` as the SQL of the database's backend.
    fn statement(&self, select: impl QueryTrait) -> Statement {
        select.build(self.sessions.connection().get_database_backend())
    }
}

/// A `products` row decoded by position, in the entity's column order (the
/// order `find()` selects them in): a lookup by name costs a hash per column
/// per row, and a catalog page is 51 rows.
struct ByPosition(product::Model);

impl FromQueryResult for ByPosition {
    fn from_query_result(row: &QueryResult, _prefix: &str) -> Result<Self, DbErr> {
        Ok(Self(product::Model {
            id: row.try_get_by_index(0)?,
            name: row.try_get_by_index(1)?,
            name_folded: row.try_get_by_index(2)?,
            description: row.try_get_by_index(3)?,
            price: row.try_get_by_index(4)?,
            created_at: row.try_get_by_index(5)?,
            updated_at: row.try_get_by_index(6)?,
        }))
    }
}

/// The search key of a name: lower case, the same on every database.
fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern escaped by `\`.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

fn decode(row: &QueryResult) -> Result<Product, StorageError> {
    to_product(product::Model::from_query_result(row, "").map_err(storage_error)?)
}

pub(super) fn to_product(row: product::Model) -> Result<Product, StorageError> {
    Ok(Product {
        id: ProductId(row.id),
        name: ProductName::new(&row.name).map_err(corrupt)?,
        description: row.description.as_deref().map(Description::new).transpose().map_err(corrupt)?,
        price: Price::new(row.price).map_err(corrupt)?,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// A stored value that breaks a domain rule: the data is corrupt.
pub(super) fn corrupt(err: impl std::error::Error + Send + Sync + 'static) -> StorageError {
    StorageError::Internal(Box::new(err))
}

#[cfg(test)]
mod tests {
    use sea_orm::{IdenStatic, Iterable};

    use super::Column;

    #[test]
    fn find_selects_the_columns_in_the_order_by_position_decodes_them() {
        let selected: Vec<&str> = Column::iter().map(|column| column.as_str()).collect();
        assert_eq!(selected, ["id", "name", "name_folded", "description", "price", "created_at", "updated_at"]);
    }
}
