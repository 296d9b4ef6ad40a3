//! The catalog (`products`), the carts (`carts`) and the association object
//! between them (`product_cart_association`, carrying the quantity).

use sea_orm_migration::prelude::*;

/// Creates the three tables and their indexes.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Products {
    Table,
    Id,
    Name,
    NameFolded,
    Description,
    Price,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Carts {
    Table,
    Id,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ProductCartAssociation {
    Table,
    CartId,
    ProductId,
    Quantity,
    AddedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Products::Table)
                    .col(ColumnDef::new(Products::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Products::Name).string_len(200).not_null())
                    .col(ColumnDef::new(Products::NameFolded).string_len(800).not_null())
                    .col(ColumnDef::new(Products::Description).text().null())
                    .col(
                        ColumnDef::new(Products::Price)
                            .big_integer()
                            .not_null()
                            .check(Expr::col(Products::Price).between(0, 1_000_000_000)),
                    )
                    .col(ColumnDef::new(Products::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Products::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        // The listing order, and the keyset pagination over it.
        manager
            .create_index(
                Index::create()
                    .name("idx_products_created_at_id")
                    .table(Products::Table)
                    .col(Products::CreatedAt)
                    .col(Products::Id)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Carts::Table)
                    .col(ColumnDef::new(Carts::Id).uuid().not_null().primary_key())
                    .col(
                        ColumnDef::new(Carts::Version)
                            .big_integer()
                            .not_null()
                            .default(0)
                            .check(Expr::col(Carts::Version).gte(0)),
                    )
                    .col(ColumnDef::new(Carts::CreatedAt).timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new(Carts::UpdatedAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ProductCartAssociation::Table)
                    .col(ColumnDef::new(ProductCartAssociation::CartId).uuid().not_null())
                    .col(ColumnDef::new(ProductCartAssociation::ProductId).uuid().not_null())
                    .col(
                        ColumnDef::new(ProductCartAssociation::Quantity)
                            .integer()
                            .not_null()
                            .check(Expr::col(ProductCartAssociation::Quantity).gt(0)),
                    )
                    .col(ColumnDef::new(ProductCartAssociation::AddedAt).timestamp_with_time_zone().not_null())
                    .primary_key(
                        Index::create().col(ProductCartAssociation::CartId).col(ProductCartAssociation::ProductId),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_cart_association_cart")
                            .from(ProductCartAssociation::Table, ProductCartAssociation::CartId)
                            .to(Carts::Table, Carts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_product_cart_association_product")
                            .from(ProductCartAssociation::Table, ProductCartAssociation::ProductId)
                            .to(Products::Table, Products::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Deleting a product cascades to its lines: find them without a scan.
        manager
            .create_index(
                Index::create()
                    .name("idx_product_cart_association_product_id")
                    .table(ProductCartAssociation::Table)
                    .col(ProductCartAssociation::ProductId)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ProductCartAssociation::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Carts::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(Products::Table).to_owned()).await?;
        Ok(())
    }
}
