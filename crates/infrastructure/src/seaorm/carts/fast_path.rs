//! The fast path: on PostgreSQL, an add to or a set of a line already in the
//! cart, without `If-Match`, in one statement and one round trip, where the
//! general path takes four statements (read the cart, read the product, then
//! the line and the version's compare-and-set in a transaction). It is 20 % of the
//! benchmark's requests (BENCHMARKS.md); SQLite, which has no data-modifying
//! CTEs, new lines and every other write take the general path.
//!
//! The statement re-expresses, in SQL, these rules of the domain's
//! `Cart::add`, `Cart::set_quantity` and `Cart::is_expired`:
//! - adding adds to the line that holds the product (`UPDATE`);
//! - a line never passes the cap (its `WHERE`);
//! - setting the quantity a line already has changes nothing (its `WHERE`);
//! - an expired cart (no change for `cart.ttl`) takes no change (its `WHERE`);
//! - every effective change moves the version up by exactly one and sets
//!   `updated_at` (the `bumped` CTE runs only if the line was written).
//!
//! A new line is never made here: the cap of lines per cart is the general
//! path's to keep (its compare-and-set on the version serialises new lines;
//! a count in this statement's snapshot could not). It never decides a
//! refusal either: when its `UPDATE` writes nothing (no such line, over the
//! cap, nothing to change, an unknown or expired cart), nothing was written
//! and it returns `None`; the general path then runs and the domain says
//! why. `tests/contract.rs` runs the same cart cases on PostgreSQL with and
//! without this path, which holds the two equal.
//!
//! The CTEs' changes are invisible to the rest of the statement, so the cart
//! it returns joins the other lines (as of the statement's snapshot) with the
//! changed one, and `fresh` says whether that snapshot was the cart's state
//! just before the bump: every change of the lines bumps the version under
//! the cart row's lock, so a write that committed in between shows as a
//! version more than one ahead, and then the cart is read again.

use std::sync::{Arc, LazyLock};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, Value};
use shaku::Component;
use shop_application::StorageError;
use shop_application::ports::CartFastPath;
use shop_domain::{Cart, CartId, CartLimits, MaxLineQuantity, ProductId, Quantity};

use super::{quantity_to_db, read_cart, rows};
use crate::seaorm::engine::SessionFactory;
use crate::seaorm::storage_error;

/// [`CartFastPath`] on SeaORM: one statement on PostgreSQL, none elsewhere.
#[derive(Component)]
#[shaku(interface = CartFastPath)]
pub struct SeaOrmCartFastPath {
    #[shaku(inject)]
    sessions: Arc<dyn SessionFactory>,
}

#[async_trait]
impl CartFastPath for SeaOrmCartFastPath {
    async fn add(
        &self,
        cart_id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        limits: CartLimits,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError> {
        add(self.sessions.writer(), cart_id, product_id, quantity, limits.max_line_quantity, now - ttl, now).await
    }

    async fn set(
        &self,
        cart_id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError> {
        set(self.sessions.writer(), cart_id, product_id, quantity, now - ttl, now).await
    }
}

/// The columns the statement returns, in the order `rows::to_cart` decodes them.
const SELECTED: &str =
    "c.id, c.version, c.created_at, c.updated_at, l.product_id, l.quantity, l.added_at, p.name, p.price";

/// `$1` cart, `$2` product, `$3` quantity, `$4` now, `$5` expired before, `$6` the cap.
static ADD: LazyLock<String> = LazyLock::new(|| statement("l.quantity + $3", "l.quantity + $3 <= $6"));
/// `$1` cart, `$2` product, `$3` quantity, `$4` now, `$5` expired before.
static SET: LazyLock<String> = LazyLock::new(|| statement("$3", "l.quantity <> $3"));

fn statement(new_quantity: &str, condition: &str) -> String {
    format!(
        "WITH line AS (
             UPDATE product_cart_association AS l SET quantity = {new_quantity}
             WHERE l.cart_id = $1 AND l.product_id = $2 AND {condition}
               AND EXISTS (SELECT 1 FROM carts WHERE id = $1 AND updated_at > $5)
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
         SELECT {SELECTED}, c.version = (SELECT version + 1 FROM carts WHERE id = $1) AS fresh
           FROM bumped c
          CROSS JOIN lines l
           LEFT JOIN products p ON p.id = l.product_id
          ORDER BY l.added_at, l.product_id"
    )
}

/// `Cart::add` to a line already in a live cart, in one statement, on
/// PostgreSQL; `None` elsewhere or when it wrote nothing.
async fn add(
    db: &DatabaseConnection,
    cart_id: CartId,
    product_id: ProductId,
    quantity: Quantity,
    max: MaxLineQuantity,
    expired_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Cart>, StorageError> {
    let cap = i32::try_from(max.get()).unwrap_or(i32::MAX);
    let mut values = values(cart_id, product_id, quantity, expired_before, now);
    values.push(cap.into());
    run(db, cart_id, &ADD, values).await
}

/// `Cart::set_quantity` (to a quantity, not zero) of a line already in a
/// live cart, in one statement, on PostgreSQL; `None` elsewhere or when it
/// wrote nothing.
async fn set(
    db: &DatabaseConnection,
    cart_id: CartId,
    product_id: ProductId,
    quantity: Quantity,
    expired_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<Cart>, StorageError> {
    run(db, cart_id, &SET, values(cart_id, product_id, quantity, expired_before, now)).await
}

fn values(
    cart_id: CartId,
    product_id: ProductId,
    quantity: Quantity,
    expired_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Value> {
    vec![cart_id.0.into(), product_id.0.into(), quantity_to_db(quantity).into(), now.into(), expired_before.into()]
}

async fn run(
    db: &DatabaseConnection,
    cart_id: CartId,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<Cart>, StorageError> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Ok(None);
    }
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, sql, values);
    let rows = db.query_all_raw(statement).await.map_err(storage_error)?;
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    if first.try_get::<bool>("", "fresh").map_err(storage_error)? {
        return rows::to_cart(&rows);
    }
    // Another write committed between the statement's snapshot and its bump.
    read_cart(db, cart_id).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seaorm::carts::rows::{COLUMNS, selected_columns};

    #[test]
    fn the_statement_selects_what_the_decoder_reads_in_its_order() {
        assert_eq!(selected_columns(SELECTED), COLUMNS);
        for sql in [&*ADD, &*SET] {
            assert!(sql.contains(&format!("SELECT {SELECTED}, c.version = ")), "{sql}");
        }
    }

    /// A pgbench script's statement: its SQL without comments, `\set` lines
    /// and the final `;`, with whitespace collapsed.
    fn baseline(script: &str) -> String {
        let sql: Vec<&str> = script.lines().filter(|line| !line.starts_with("--") && !line.starts_with('\\')).collect();
        collapsed(sql.join(" ").trim_end().trim_end_matches(';'))
    }

    fn collapsed(sql: &str) -> String {
        sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// The benchmark's baseline is the statement the service sends, with the
    /// seed's values for its parameters: a change to one fails here until
    /// the other follows.
    #[test]
    fn the_benchmark_baseline_is_the_statement_the_fast_path_sends() {
        let bound = |sql: &str, quantity: &str| {
            let values = [
                ("$1", "md5('cart' || :c)::uuid"),
                ("$2", "md5('product' || :p)::uuid"),
                ("$3", quantity),
                ("$4", "now()"),
                ("$5", "now() - interval '30 days'"),
                ("$6", "999"),
            ];
            values.iter().fold(collapsed(sql), |sql, (parameter, value)| sql.replace(parameter, value))
        };
        let add = include_str!("../../../../../bench/pgbench/add.sql");
        let put = include_str!("../../../../../bench/pgbench/put.sql");
        assert_eq!(bound(&ADD, "1"), baseline(add), "bench/pgbench/add.sql");
        assert_eq!(bound(&SET, ":q"), baseline(put), "bench/pgbench/put.sql");
    }
}
