//! Writes that apply at most once per idempotency key, however often a
//! client retries them.
//!
//! A key goes through three states in its store ([`IdempotencyStore`]):
//! claimed (a request with this key is running; others wait), answered (the
//! write succeeded; its answer is kept for replays until it expires), or
//! gone (never used, released after a failure, or expired). The one rule that
//! makes retries safe: **the answer is stored in the same transaction as the
//! change it answers** ([`Completion`], passed to the repositories' writes).
//! No crash, timeout or restart can leave a change without its answer, or an
//! answer without its change; a claim left behind by a crash only expires.
//!
//! The use cases decide which writes are idempotent: those that take an
//! [`Idempotent`] (creating a product, creating a cart, adding to a cart).
//! The caller (the HTTP edge) claims the key, says how it answers a result
//! ([`Idempotent::answer`]), and releases the claim if the write fails.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use shaku::{Component, Interface};
use uuid::Uuid;

use crate::error::StorageError;

/// A client's idempotency key: 16 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an idempotency key is 16 to 255 visible ASCII characters")]
pub struct IdempotencyKeyError;

impl IdempotencyKey {
    /// The shortest key: shorter ones are too easy to guess or to repeat by accident.
    pub const MIN_LEN: usize = 16;
    /// The longest key.
    pub const MAX_LEN: usize = 255;

    /// The key `text`, if it is 16 to 255 visible ASCII characters.
    pub fn new(text: &str) -> Result<Self, IdempotencyKeyError> {
        let visible = text.bytes().all(|b| b.is_ascii_graphic());
        if visible && (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len()) {
            Ok(Self(text.to_owned()))
        } else {
            Err(IdempotencyKeyError)
        }
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What identifies a request, so that a key sent again with another request
/// is told apart: a digest the caller makes of the request (method, path, body).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

/// A write's answer as the caller will give it again: opaque bytes, which the
/// caller encodes from the write's result and decodes when it replays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer(pub Vec<u8>);

/// The right to run the request with this key, held until it succeeds (the
/// answer replaces the claim), fails (released), or its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The key.
    pub key: IdempotencyKey,
    /// Tells this claim from a later one of the same key (after the lease ran out).
    pub token: Uuid,
    /// Until when an answer is kept for replays.
    pub keep_until: DateTime<Utc>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is ours: run the request.
    Mine(Claim),
    /// The same request succeeded before: give its answer again.
    Answered(Answer),
    /// The same key is running for a request now, here or elsewhere, until this time at most.
    Running {
        /// When its lease runs out.
        until: DateTime<Utc>,
    },
    /// The key was used for another request.
    OtherRequest,
}

/// What a write stores together with its change, in the same transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The claim the write was made under.
    pub claim: Claim,
    /// The answer to give to retries.
    pub answer: Answer,
}

/// A write to be made once for its key: the claim the caller holds, and how
/// the caller answers the write's result.
pub struct Idempotent<'a, T> {
    /// The claim.
    pub claim: &'a Claim,
    /// The caller's answer to the result, made before the write commits and stored with it.
    pub answer: &'a (dyn Fn(&T) -> Answer + Sync),
}

impl<T> Idempotent<'_, T> {
    /// The completion that answers `result`.
    pub fn complete(&self, result: &T) -> Completion {
        Completion { claim: self.claim.clone(), answer: (self.answer)(result) }
    }
}

/// The store of idempotency keys. A completion is written by the repository
/// whose change it answers (`CartRepository::save` and the `insert`s); this
/// port claims, releases and purges.
#[async_trait]
pub trait IdempotencyStore: Interface {
    /// Claims `key` for a request with `fingerprint` until `lease_until`, in
    /// one atomic step against claims in any process. A key that is gone, or
    /// whose claim or answer expired before `now`, becomes `claim`'s
    /// ([`Claimed::Mine`]). Else it MUST return, for the same fingerprint,
    /// [`Claimed::Answered`] (answered) or [`Claimed::Running`] (claimed);
    /// for another fingerprint, [`Claimed::OtherRequest`].
    async fn claim(
        &self,
        claim: &Claim,
        fingerprint: Fingerprint,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claimed, StorageError>;

    /// Gives the key up if it is still held by `claim` and unanswered; does
    /// nothing otherwise (answered, or claimed again after the lease ran out).
    async fn release(&self, claim: &Claim) -> Result<(), StorageError>;

    /// Deletes at most `limit` keys whose claim or answer expired before
    /// `now`; returns how many. Safe to run from several processes at once.
    async fn purge_expired(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;
}

/// Claiming and releasing keys for the caller of an idempotent write.
#[async_trait]
pub trait IdempotencyService: Interface {
    /// Claims `key` for the request `fingerprint` identifies.
    async fn claim(&self, key: IdempotencyKey, fingerprint: Fingerprint) -> Result<Claimed, StorageError>;
    /// Releases a claim whose request failed: a retry runs again.
    async fn release(&self, claim: &Claim) -> Result<(), StorageError>;
    /// Deletes expired keys, in batches of `batch`, until none is left; returns how many.
    async fn purge_expired(&self, batch: u32) -> Result<u64, StorageError>;
}

/// [`IdempotencyService`] over an [`IdempotencyStore`].
#[derive(Component)]
#[shaku(interface = IdempotencyService)]
pub struct IdempotencyServiceImpl {
    #[shaku(inject)]
    store: Arc<dyn IdempotencyStore>,
    /// How long an answer is kept (`idempotency.ttl`).
    ttl: TimeDelta,
    /// How long a claim holds before another request may take the key over:
    /// longer than any request can run (the request timeout), so a request
    /// that still holds its claim can still finish.
    lease: TimeDelta,
}

#[async_trait]
impl IdempotencyService for IdempotencyServiceImpl {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn claim(&self, key: IdempotencyKey, fingerprint: Fingerprint) -> Result<Claimed, StorageError> {
        let now = crate::services::now();
        let claim = Claim { key, token: Uuid::new_v4(), keep_until: now + self.ttl };
        self.store.claim(&claim, fingerprint, now + self.lease, now).await
    }

    async fn release(&self, claim: &Claim) -> Result<(), StorageError> {
        self.store.release(claim).await
    }

    async fn purge_expired(&self, batch: u32) -> Result<u64, StorageError> {
        let now = crate::services::now();
        let mut purged = 0;
        loop {
            let deleted = self.store.purge_expired(now, batch).await?;
            purged += deleted;
            if deleted < u64::from(batch) {
                return Ok(purged);
            }
        }
    }
}
