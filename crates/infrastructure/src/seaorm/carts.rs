//! [`CartRepository`] on SeaORM.
//!
//! Reading a cart is one query (lines joined with the products' live names and
//! prices). A write is one transaction: change the lines in one statement
//! (an upsert for adds), then bump the version in a conditional `UPDATE`
//! (`… WHERE version = $expected` for `If-Match`), then read the cart back;
//! on PostgreSQL an add or set without `If-Match` is all of that in one
//! statement (`single_statement`). The database's row locks and
//! constraints make this hold across processes; only when a statement reports
//! "nothing happened" do we look closer, to say why.

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Order, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QueryResult, SqlErr,
    Statement,
};
use shaku::Component;
use shop_application::ports::{CartRepository, CartUpdate};
use shop_application::{CartError, StorageError};
use shop_domain::{
    Cart, CartChange, CartId, CartLine, CartRuleError, MaxLineQuantity, Price, ProductId, ProductName, Quantity,
    Version,
};
use uuid::Uuid;

use super::engine::SessionFactory;
use super::entities::{cart, cart_line, product};
use super::products::corrupt;
use super::storage_error;

/// Carts in the `carts` and `product_cart_association` tables.
#[derive(Component)]
#[shaku(interface = CartRepository)]
pub struct SeaOrmCartRepository {
    #[shaku(inject)]
    sessions: Arc<dyn SessionFactory>,
}

/// What the line statement of a write did.
enum LineOutcome {
    /// Lines changed: the version must go up.
    Changed,
    /// Nothing to do (setting the quantity a line already has, clearing an empty cart…).
    Unchanged,
    /// A foreign key refused the line: the cart or the product does not exist.
    MissingReference,
    /// The upsert's condition refused to pass the cap.
    CapExceeded,
    /// There was no line to remove.
    LineMissing,
}

#[async_trait]
impl CartRepository for SeaOrmCartRepository {
    async fn insert(&self, new: &Cart) -> Result<(), StorageError> {
        let row = cart::ActiveModel {
            id: Set(new.id.0),
            version: Set(version_to_db(new.version)),
            created_at: Set(new.created_at),
            updated_at: Set(new.updated_at),
        };
        cart::Entity::insert(row).exec_without_returning(self.sessions.writer()).await.map_err(storage_error)?;
        Ok(())
    }

    async fn get(&self, id: CartId) -> Result<Cart, CartError> {
        read_cart(self.sessions.connection(), id).await
    }

    async fn update(&self, update: CartUpdate) -> Result<Cart, CartError> {
        if let Some(statement) = single_statement(self.sessions.writer().get_database_backend(), &update) {
            let rows = match self.sessions.writer().query_all_raw(statement).await {
                Ok(rows) => rows,
                // `line_outcome` tells a foreign-key violation from a failure.
                Err(err) => return self.explain(&update, line_outcome(update.change, Err(err))?).await,
            };
            let Some(first) = rows.first() else {
                return self.explain(&update, line_outcome(update.change, Ok(0))?).await;
            };
            if first.try_get::<bool>("", "fresh").map_err(storage_error)? {
                return to_cart(&rows);
            }
            // Another write committed between the statement's snapshot and
            // its version bump: the lines it read may predate that write.
            return read_cart(self.sessions.connection(), update.cart_id).await;
        }
        let txn = self.sessions.begin().await.map_err(storage_error)?;
        let outcome = change_lines(&txn, &update).await?;
        if let LineOutcome::Changed = outcome
            && bump_version(&txn, &update).await?
        {
            let cart = read_cart(&txn, update.cart_id).await?;
            txn.commit().await.map_err(storage_error)?;
            return Ok(cart);
        }
        // Nothing was written, or it must not stay: undo, then say why.
        txn.rollback().await.map_err(storage_error)?;
        self.explain(&update, outcome).await
    }

    async fn delete(&self, id: CartId, expected_version: Option<Version>) -> Result<(), CartError> {
        let mut delete = cart::Entity::delete_many().filter(cart::Column::Id.eq(id.0));
        if let Some(expected) = expected_version {
            delete = delete.filter(cart::Column::Version.eq(version_to_db(expected)));
        }
        let result = delete.exec(self.sessions.writer()).await.map_err(storage_error)?;
        if result.rows_affected == 1 {
            return Ok(());
        }
        let cart = cart::Entity::find_by_id(id.0).one(self.sessions.connection()).await.map_err(storage_error)?;
        match cart {
            None => Err(CartError::CartNotFound),
            Some(row) => Err(CartError::VersionMismatch { current: version_from_db(row.version)? }),
        }
    }
}

impl SeaOrmCartRepository {
    /// After a write that did not go through: reads the cart once and returns
    /// the error of highest precedence (see the port's contract), or the
    /// unchanged cart when there was simply nothing to do.
    async fn explain(&self, update: &CartUpdate, outcome: LineOutcome) -> Result<Cart, CartError> {
        let connection = self.sessions.connection();
        let cart = read_cart(connection, update.cart_id).await?;
        if let Some(expected) = update.expected_version
            && cart.version != expected
        {
            return Err(CartError::VersionMismatch { current: cart.version });
        }
        let line_quantity = |id: ProductId| cart.lines.iter().find(|l| l.product_id == id).map(|l| l.quantity.get());
        match (outcome, update.change) {
            (LineOutcome::MissingReference, _) => Err(CartError::ProductNotFound),
            (LineOutcome::CapExceeded, CartChange::Add { product_id, quantity }) => {
                let current = line_quantity(product_id).unwrap_or(0);
                let requested = u64::from(current) + u64::from(quantity.get());
                Err(CartRuleError::LineQuantityExceeded { requested, max: update.max_line_quantity.get() }.into())
            }
            (LineOutcome::LineMissing, _) => Err(CartRuleError::LineNotFound.into()),
            (LineOutcome::Unchanged, CartChange::Set { product_id, .. }) if line_quantity(product_id).is_none() => {
                // `PUT` quantity 0 of a product not in the cart: fine, if the product exists.
                let exists =
                    product::Entity::find_by_id(product_id.0).one(connection).await.map_err(storage_error)?.is_some();
                if exists { Ok(cart) } else { Err(CartError::ProductNotFound) }
            }
            // Unchanged, or a lost race with a concurrent delete of the cart's
            // row between our statements: the cart as it is now is the answer.
            _ => Ok(cart),
        }
    }
}

/// The one statement that changes the lines.
async fn change_lines(db: &impl ConnectionTrait, update: &CartUpdate) -> Result<LineOutcome, CartError> {
    use cart_line::{Column, Entity as Lines};
    let cart_id = update.cart_id.0;
    let line = |product_id: ProductId, quantity: Quantity| cart_line::ActiveModel {
        cart_id: Set(cart_id),
        product_id: Set(product_id.0),
        quantity: Set(quantity_to_db(quantity)),
        added_at: Set(update.now),
    };
    let current_quantity = || Expr::col((Lines, Column::Quantity));
    let excluded_quantity = || Expr::col((Alias::new("excluded"), Column::Quantity));
    let key = [Column::CartId, Column::ProductId];

    let result = match update.change {
        CartChange::Add { product_id, quantity } => {
            // INSERT … ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = quantity + excluded.quantity
            //   WHERE quantity + excluded.quantity <= cap: one atomic statement, no lost update.
            let upsert = OnConflict::columns(key)
                .value(Column::Quantity, current_quantity().add(excluded_quantity()))
                .action_and_where(
                    current_quantity().add(excluded_quantity()).lte(i64::from(update.max_line_quantity.get())),
                )
                .to_owned();
            Lines::insert(line(product_id, quantity)).on_conflict(upsert).exec_without_returning(db).await
        }
        CartChange::Set { product_id, quantity: Some(quantity) } => {
            let upsert = OnConflict::columns(key)
                .update_column(Column::Quantity)
                .action_and_where(current_quantity().ne(excluded_quantity()))
                .to_owned();
            Lines::insert(line(product_id, quantity)).on_conflict(upsert).exec_without_returning(db).await
        }
        CartChange::Set { product_id, quantity: None } | CartChange::Remove { product_id } => Lines::delete_many()
            .filter(Column::CartId.eq(cart_id))
            .filter(Column::ProductId.eq(product_id.0))
            .exec(db)
            .await
            .map(|result| result.rows_affected),
        CartChange::Clear => {
            Lines::delete_many().filter(Column::CartId.eq(cart_id)).exec(db).await.map(|result| result.rows_affected)
        }
    };
    line_outcome(update.change, result)
}

/// What a line statement's count of changed rows (or its error) means.
fn line_outcome(change: CartChange, result: Result<u64, sea_orm::DbErr>) -> Result<LineOutcome, CartError> {
    match result {
        Ok(0) => Ok(match change {
            CartChange::Add { .. } => LineOutcome::CapExceeded,
            CartChange::Remove { .. } => LineOutcome::LineMissing,
            CartChange::Set { .. } | CartChange::Clear => LineOutcome::Unchanged,
        }),
        Ok(_) => Ok(LineOutcome::Changed),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
            Ok(LineOutcome::MissingReference)
        }
        Err(err) => Err(storage_error(err).into()),
    }
}

/// On PostgreSQL, an add or a set without `If-Match` is one statement and one
/// round trip: the upsert and the version bump in data-modifying CTEs, atomic
/// by themselves, and the cart read back in the same statement (see
/// BENCHMARKS.md). The bump happens only if the upsert changed the line; no
/// row comes back otherwise. The CTEs' changes are invisible to the rest of the
/// statement, so the read joins the other lines (as of the statement's
/// snapshot) with the upserted one, and `fresh` says whether that snapshot is
/// the cart's state just before our bump: every change of the lines bumps the
/// version under the cart row's lock, so a write that committed in between
/// shows as a version more than one ahead. With `If-Match`, or on SQLite (no
/// DML in CTEs), the transaction path applies.
fn single_statement(backend: DbBackend, update: &CartUpdate) -> Option<Statement> {
    if backend != DbBackend::Postgres || update.expected_version.is_some() {
        return None;
    }
    let cap = i32::try_from(update.max_line_quantity.get()).unwrap_or(i32::MAX);
    let (product_id, quantity, set, condition, cap) = match update.change {
        CartChange::Add { product_id, quantity } => {
            (product_id, quantity, "l.quantity + excluded.quantity", "l.quantity + excluded.quantity <= $5", Some(cap))
        }
        CartChange::Set { product_id, quantity: Some(quantity) } => {
            (product_id, quantity, "excluded.quantity", "l.quantity <> excluded.quantity", None)
        }
        CartChange::Set { quantity: None, .. } | CartChange::Remove { .. } | CartChange::Clear => return None,
    };
    let sql = format!(
        "WITH line AS (
             INSERT INTO product_cart_association AS l (cart_id, product_id, quantity, added_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (cart_id, product_id) DO UPDATE SET quantity = {set} WHERE {condition}
             RETURNING product_id, quantity, added_at
         ), bumped AS (
             UPDATE carts SET version = version + 1, updated_at = $4
             WHERE id = $1 AND EXISTS (SELECT 1 FROM line)
             RETURNING id, version, created_at, updated_at
         ), lines AS (
             SELECT product_id, quantity, added_at FROM product_cart_association
              WHERE cart_id = $1 AND product_id <> $2
             UNION ALL
             SELECT product_id, quantity, added_at FROM line
         )
         SELECT c.id, c.version, c.created_at, c.updated_at, l.product_id, l.quantity, l.added_at, p.name, p.price,
                c.version = (SELECT version + 1 FROM carts WHERE id = $1) AS fresh
           FROM bumped c
          CROSS JOIN lines l
           LEFT JOIN products p ON p.id = l.product_id
          ORDER BY l.added_at, l.product_id"
    );
    let mut values: Vec<sea_orm::Value> =
        vec![update.cart_id.0.into(), product_id.0.into(), quantity_to_db(quantity).into(), update.now.into()];
    values.extend(cap.map(sea_orm::Value::from));
    Some(Statement::from_sql_and_values(backend, sql, values))
}

/// `UPDATE carts SET version = version + 1 … WHERE id = $id [AND version = $expected]`;
/// false if no row matched (unknown cart, or another writer got there first).
async fn bump_version(db: &impl ConnectionTrait, update: &CartUpdate) -> Result<bool, CartError> {
    use cart::Column;
    let mut bump = cart::Entity::update_many()
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::val(update.now))
        .filter(Column::Id.eq(update.cart_id.0));
    if let Some(expected) = update.expected_version {
        bump = bump.filter(Column::Version.eq(version_to_db(expected)));
    }
    let result = bump.exec(db).await.map_err(storage_error)?;
    Ok(result.rows_affected == 1)
}

/// A line's columns in a row of the cart read (null for an empty cart's one
/// row). Both cart queries select the cart's columns (`id`, `version`,
/// `created_at`, `updated_at`) and then these, in this order.
struct LineColumns {
    product_id: Option<Uuid>,
    quantity: Option<i32>,
    added_at: Option<chrono::DateTime<chrono::Utc>>,
    name: Option<String>,
    price: Option<i64>,
}

impl LineColumns {
    /// By position: this is the hot path, and a lookup by name costs a hash
    /// per column per row.
    fn decode(row: &QueryResult) -> Result<Self, DbErr> {
        Ok(Self {
            product_id: row.try_get_by_index(4)?,
            quantity: row.try_get_by_index(5)?,
            added_at: row.try_get_by_index(6)?,
            name: row.try_get_by_index(7)?,
            price: row.try_get_by_index(8)?,
        })
    }
}

/// The cart with its lines, names and prices: one query.
async fn read_cart(db: &impl ConnectionTrait, id: CartId) -> Result<Cart, CartError> {
    let backend = db.get_database_backend();
    let statement = Statement::from_sql_and_values(backend, cart_read_sql(backend), [id.0.into()]);
    to_cart(&db.query_all_raw(statement).await.map_err(storage_error)?)
}

/// The cart read's SQL, built by sea-query once per backend: only the id varies.
fn cart_read_sql(backend: DbBackend) -> &'static str {
    static POSTGRES: OnceLock<String> = OnceLock::new();
    static SQLITE: OnceLock<String> = OnceLock::new();
    let built = match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE, // the adapter runs on PostgreSQL and SQLite only
    };
    built.get_or_init(|| {
        let query = Query::select()
            .columns([
                (cart::Entity, cart::Column::Id),
                (cart::Entity, cart::Column::Version),
                (cart::Entity, cart::Column::CreatedAt),
                (cart::Entity, cart::Column::UpdatedAt),
            ])
            .columns([
                (cart_line::Entity, cart_line::Column::ProductId),
                (cart_line::Entity, cart_line::Column::Quantity),
                (cart_line::Entity, cart_line::Column::AddedAt),
            ])
            .columns([(product::Entity, product::Column::Name), (product::Entity, product::Column::Price)])
            .from(cart::Entity)
            .left_join(
                cart_line::Entity,
                Expr::col((cart_line::Entity, cart_line::Column::CartId)).equals((cart::Entity, cart::Column::Id)),
            )
            .left_join(
                product::Entity,
                Expr::col((product::Entity, product::Column::Id))
                    .equals((cart_line::Entity, cart_line::Column::ProductId)),
            )
            .and_where(Expr::col((cart::Entity, cart::Column::Id)).eq(Uuid::nil()))
            .order_by((cart_line::Entity, cart_line::Column::AddedAt), Order::Asc)
            .order_by((cart_line::Entity, cart_line::Column::ProductId), Order::Asc)
            .to_owned();
        backend.build(&query).sql
    })
}

fn to_cart(rows: &[QueryResult]) -> Result<Cart, CartError> {
    let first = rows.first().ok_or(CartError::CartNotFound)?;
    // The cart's columns repeat on every row: decode them once.
    let mut cart = Cart {
        id: CartId(first.try_get_by_index(0).map_err(storage_error)?),
        lines: Vec::with_capacity(rows.len()),
        version: version_from_db(first.try_get_by_index(1).map_err(storage_error)?)?,
        created_at: first.try_get_by_index(2).map_err(storage_error)?,
        updated_at: first.try_get_by_index(3).map_err(storage_error)?,
    };
    for row in rows {
        let line = LineColumns::decode(row).map_err(storage_error)?;
        let (Some(product_id), Some(quantity), Some(added_at), Some(name), Some(price)) =
            (line.product_id, line.quantity, line.added_at, line.name, line.price)
        else {
            continue; // the one row of an empty cart
        };
        cart.lines.push(CartLine {
            product_id: ProductId(product_id),
            name: ProductName::new(&name).map_err(corrupt)?,
            unit_price: Price::new(price).map_err(corrupt)?,
            quantity: Quantity::new(i64::from(quantity), MaxLineQuantity::HIGHEST).map_err(corrupt)?,
            added_at,
        });
    }
    Ok(cart)
}

fn quantity_to_db(quantity: Quantity) -> i32 {
    // A quantity is at most MaxLineQuantity::CEILING (1 000 000): it fits.
    i32::try_from(quantity.get()).unwrap_or(i32::MAX)
}

fn version_to_db(version: Version) -> i64 {
    i64::try_from(version.0).unwrap_or(i64::MAX)
}

fn version_from_db(version: i64) -> Result<Version, StorageError> {
    u64::try_from(version).map(Version).map_err(corrupt)
}
