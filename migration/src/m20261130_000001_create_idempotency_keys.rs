//! The idempotency keys of retried writes: a claim while the first request
//! runs, then the answer it gave, kept until `expires_at`.

use sea_orm_migration::prelude::*;

/// Creates `idempotency_keys` and the index the sweeper reads.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Key,
    Fingerprint,
    Claim,
    Answer,
    ExpiresAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(IdempotencyKeys::Table)
                    .col(ColumnDef::new(IdempotencyKeys::Key).string_len(255).not_null().primary_key())
                    // SHA-256 of the request (method, path, body).
                    .col(ColumnDef::new(IdempotencyKeys::Fingerprint).binary().not_null())
                    // The claim that holds the key (a UUID per claim).
                    .col(ColumnDef::new(IdempotencyKeys::Claim).uuid().not_null())
                    // Null while the claim runs; the answer once it succeeded.
                    .col(ColumnDef::new(IdempotencyKeys::Answer).binary().null())
                    // The claim's lease, then how long the answer is kept.
                    .col(ColumnDef::new(IdempotencyKeys::ExpiresAt).timestamp_with_time_zone().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_keys_expires_at")
                    .table(IdempotencyKeys::Table)
                    .col(IdempotencyKeys::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(IdempotencyKeys::Table).to_owned()).await
    }
}
