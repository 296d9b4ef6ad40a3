//! The SQL of a cart read, built by sea-query once per backend: only the id varies.

use std::sync::LazyLock;

use sea_orm::DbBackend;
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use uuid::Uuid;

use crate::seaorm::entities::{cart, cart_line, product};

/// The cart, left-joined with its lines and their products, oldest line
/// first; one parameter, the cart's id. Selects the columns `rows::to_cart` decodes.
pub(super) fn cart_read(backend: DbBackend) -> &'static str {
    static POSTGRES: LazyLock<String> = LazyLock::new(|| build_cart_read(DbBackend::Postgres));
    static SQLITE: LazyLock<String> = LazyLock::new(|| build_cart_read(DbBackend::Sqlite));
    match backend {
        DbBackend::Postgres => &POSTGRES,
        _ => &SQLITE, // the adapter runs on PostgreSQL and SQLite only
    }
}

fn build_cart_read(backend: DbBackend) -> String {
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
            Expr::col((product::Entity, product::Column::Id)).equals((cart_line::Entity, cart_line::Column::ProductId)),
        )
        .and_where(Expr::col((cart::Entity, cart::Column::Id)).eq(Uuid::nil()))
        .order_by((cart_line::Entity, cart_line::Column::AddedAt), Order::Asc)
        .order_by((cart_line::Entity, cart_line::Column::ProductId), Order::Asc)
        .to_owned();
    backend.build(&query).sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seaorm::carts::rows::{COLUMNS, selected_columns};

    #[test]
    fn the_cart_read_selects_what_the_decoder_reads_in_its_order() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            let sql = cart_read(backend);
            let select_list = &sql["SELECT ".len()..sql.find(" FROM ").expect("a FROM")];
            assert_eq!(selected_columns(select_list), COLUMNS, "{backend:?}: {sql}");
        }
    }
}
