//! [`IdempotencyStore`] on SeaORM, and [`complete`], which the repositories
//! run inside the transaction of the change a completion answers.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use shaku::Component;
use shop_application::StorageError;
use shop_application::idempotency::{Answer, Claim, Claimed, Completion, Fingerprint, IdempotencyStore};

use super::engine::SessionFactory;
use super::entities::idempotency_key::{self, Column, Entity as Keys};
use super::storage_error;

/// Idempotency keys in the `idempotency_keys` table.
#[derive(Component)]
#[shaku(interface = IdempotencyStore)]
pub struct SeaOrmIdempotencyStore {
    #[shaku(inject)]
    sessions: Arc<dyn SessionFactory>,
}

#[async_trait]
impl IdempotencyStore for SeaOrmIdempotencyStore {
    async fn claim(
        &self,
        claim: &Claim,
        fingerprint: Fingerprint,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claimed, StorageError> {
        let row = idempotency_key::ActiveModel {
            key: Set(claim.key.as_str().to_owned()),
            fingerprint: Set(fingerprint.0.to_vec()),
            claim: Set(claim.token),
            answer: Set(None),
            expires_at: Set(lease_until),
        };
        // Insert the claim, or take over a key whose claim or answer expired:
        // one statement, so two claims of one key never both succeed.
        let take_over_expired = OnConflict::column(Column::Key)
            .update_columns([Column::Fingerprint, Column::Claim, Column::Answer, Column::ExpiresAt])
            .action_and_where(Expr::col((Keys, Column::ExpiresAt)).lte(now))
            .to_owned();
        let writer = self.sessions.writer();
        // A key deleted between the two statements (released, purged) is claimed again.
        for _ in 0..3 {
            let inserted =
                Keys::insert(row.clone()).on_conflict(take_over_expired.clone()).exec_without_returning(writer).await;
            if inserted.map_err(storage_error)? == 1 {
                return Ok(Claimed::Mine(claim.clone()));
            }
            let Some(held) = Keys::find_by_id(claim.key.as_str()).one(writer).await.map_err(storage_error)? else {
                continue;
            };
            return Ok(if held.fingerprint != fingerprint.0 {
                Claimed::OtherRequest
            } else if let Some(answer) = held.answer {
                Claimed::Answered(Answer(answer))
            } else {
                Claimed::Running { until: held.expires_at }
            });
        }
        Err(StorageError::Unavailable("the idempotency key kept changing under the claim".into()))
    }

    async fn release(&self, claim: &Claim) -> Result<(), StorageError> {
        Keys::delete_many()
            .filter(Column::Key.eq(claim.key.as_str()))
            .filter(Column::Claim.eq(claim.token))
            .filter(Column::Answer.is_null())
            .exec(self.sessions.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn purge_expired(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
        let expired = Query::select()
            .column(Column::Key)
            .from(Keys)
            .and_where(Expr::col(Column::ExpiresAt).lte(now))
            .limit(u64::from(limit))
            .to_owned();
        let deleted = Keys::delete_many()
            .filter(Column::Key.in_subquery(expired))
            .exec(self.sessions.writer())
            .await
            .map_err(storage_error)?;
        Ok(deleted.rows_affected)
    }
}

/// Stores `completion`'s answer under its key, in the caller's transaction.
/// The key's claim must still be `completion`'s and unanswered: if the lease
/// ran out and another request took the key, the caller's change must not
/// commit either, and this is [`StorageError::Unavailable`].
pub(super) async fn complete(db: &impl ConnectionTrait, completion: &Completion) -> Result<(), StorageError> {
    let claim = &completion.claim;
    let answered = Keys::update_many()
        .col_expr(Column::Answer, Expr::val(completion.answer.0.clone()))
        .col_expr(Column::ExpiresAt, Expr::val(claim.keep_until))
        .filter(Column::Key.eq(claim.key.as_str()))
        .filter(Column::Claim.eq(claim.token))
        .filter(Column::Answer.is_null())
        .exec(db)
        .await
        .map_err(storage_error)?;
    if answered.rows_affected == 1 {
        Ok(())
    } else {
        Err(StorageError::Unavailable("the idempotency key is no longer this request's claim (its lease ran out and another request took it, or it was swept)".into()))
    }
}
