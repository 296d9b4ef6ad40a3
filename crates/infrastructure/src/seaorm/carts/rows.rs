//! Decoding the rows of a cart read (and of the fast path, which selects the
//! same columns) into the domain's [`Cart`].

use chrono::{DateTime, Utc};
use sea_orm::{DbErr, QueryResult};
use shop_application::StorageError;
use shop_domain::{Cart, CartId, CartLine, MaxLineQuantity, Price, ProductId, ProductName, Quantity, Version};
use uuid::Uuid;

use crate::seaorm::products::corrupt;
use crate::seaorm::storage_error;

/// What a cart query selects, in this order: the cart's columns, then its
/// line's (null in the one row of an empty cart), then the line's product's.
/// [`to_cart`] decodes them by position (a lookup by name costs a hash per
/// column per row on the busiest read); the tests hold each query to this list.
#[cfg(test)]
pub(super) const COLUMNS: [&str; 9] =
    ["id", "version", "created_at", "updated_at", "product_id", "quantity", "added_at", "name", "price"];

/// The cart in `rows` (one per line, or one for an empty cart); `None` for no
/// rows. The columns are, by position: the cart's `id`, `version`,
/// `created_at`, `updated_at`; the line's `product_id`, `quantity`,
/// `added_at`; the product's `name`, `price`.
pub(super) fn to_cart(rows: &[QueryResult]) -> Result<Option<Cart>, StorageError> {
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    // The cart's columns repeat on every row: decode them once.
    let id = CartId(first.try_get_by_index(0).map_err(storage_error)?);
    let version = version_from_db(first.try_get_by_index(1).map_err(storage_error)?)?;
    let created_at = first.try_get_by_index(2).map_err(storage_error)?;
    let updated_at = first.try_get_by_index(3).map_err(storage_error)?;
    let mut lines = Vec::with_capacity(rows.len());
    for row in rows {
        lines.extend(line(row)?);
    }
    // No cart is ever given more lines or two lines of one product: a row that says so is corrupt.
    Cart::restore(id, version, created_at, updated_at, lines).map(Some).map_err(corrupt)
}

/// The line in `row`; `None` for the one row of an empty cart.
fn line(row: &QueryResult) -> Result<Option<CartLine>, StorageError> {
    let Some((product_id, quantity, added_at, name, price)) = line_columns(row).map_err(storage_error)? else {
        return Ok(None);
    };
    Ok(Some(CartLine {
        product_id: ProductId(product_id),
        name: ProductName::new(&name).map_err(corrupt)?,
        unit_price: Price::new(price).map_err(corrupt)?,
        quantity: Quantity::new(i64::from(quantity), MaxLineQuantity::HIGHEST).map_err(corrupt)?,
        added_at,
    }))
}

type LineColumns = (Uuid, i32, DateTime<Utc>, String, i64);

fn line_columns(row: &QueryResult) -> Result<Option<LineColumns>, DbErr> {
    let columns = (
        row.try_get_by_index(4)?,
        row.try_get_by_index(5)?,
        row.try_get_by_index(6)?,
        row.try_get_by_index(7)?,
        row.try_get_by_index(8)?,
    );
    Ok(match columns {
        (Some(product_id), Some(quantity), Some(added_at), Some(name), Some(price)) => {
            Some((product_id, quantity, added_at, name, price))
        }
        _ => None,
    })
}

fn version_from_db(version: i64) -> Result<Version, StorageError> {
    u64::try_from(version).map(Version).map_err(corrupt)
}

/// The column names of a SELECT list (`"carts"."id", l.quantity, …`), without
/// quotes or table names: what the tests compare with [`COLUMNS`].
#[cfg(test)]
pub(super) fn selected_columns(select_list: &str) -> Vec<String> {
    select_list
        .split(',')
        .map(|column| column.trim().rsplit('.').next().unwrap_or_default().trim_matches('"').to_owned())
        .collect()
}
