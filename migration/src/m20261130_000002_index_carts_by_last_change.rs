//! Carts expire `cart.ttl` after their last change: the sweeper finds them by
//! `updated_at`, without a scan.

use sea_orm_migration::prelude::*;

/// Creates the index of carts by their last change.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Carts {
    Table,
    UpdatedAt,
}

const INDEX: &str = "idx_carts_updated_at";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.create_index(Index::create().name(INDEX).table(Carts::Table).col(Carts::UpdatedAt).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Carts::Table).to_owned()).await
    }
}
