//! `cargo run -p migration -- up|down|status|fresh|…`: runs the migrations
//! against the database the service would use: `SHOP__DATABASE__URL` (default
//! the SQLite file `shop.db`) and, on PostgreSQL, `SHOP__DATABASE__SCHEMA`
//! (default `homework`). `shop migrate …` does the same from the service binary.

use sea_orm_migration::sea_orm::{ConnectOptions, Database};

#[tokio::main]
async fn main() {
    let url = std::env::var("SHOP__DATABASE__URL").unwrap_or_else(|_| "sqlite://shop.db?mode=rwc".to_owned());
    let schema = std::env::var("SHOP__DATABASE__SCHEMA").unwrap_or_else(|_| "homework".to_owned());
    sea_orm_migration::cli::run_cli_with_custom_connection(migration::Migrator, async || {
        let mut options = ConnectOptions::new(url);
        // One connection: `fresh` turns SQLite foreign keys off per connection.
        options.set_schema_search_path(schema).sqlx_logging(false).max_connections(1);
        Database::connect(options).await
    })
    .await;
}
