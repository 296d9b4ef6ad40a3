//! In-memory adapters: one shared [`InMemoryStore`] behind a mutex, seen
//! through [`InMemoryProductRepository`], [`InMemoryCartRepository`],
//! [`InMemoryIdempotencyStore`] and [`InMemoryStorageHealth`].
//!
//! They keep the same contract as the SQL adapters (the contract suite runs
//! against both) and have a failure switch, so service and HTTP tests can
//! exercise the "storage is down" paths. They exist for fast tests and to
//! show how a whole storage is swapped, not for production: the data lives
//! in one process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Component;
use shop_application::idempotency::{
    Answer, Claim, Claimed, Completion, Fingerprint, IdempotencyKey, IdempotencyStore,
};
use shop_application::ports::{
    CartRepository, PoolStatus, ProductQuery, ProductRepository, Readiness, Saved, StorageHealth,
};
use shop_application::{ProductError, StorageError};
use shop_domain::{Cart, CartId, CartLine, LineChange, Product, ProductId, ProductPatch};
use uuid::Uuid;

#[derive(Debug, Default)]
struct State {
    products: HashMap<ProductId, Product>,
    carts: HashMap<CartId, Cart>,
    keys: HashMap<IdempotencyKey, KeyRecord>,
}

/// An idempotency key: claimed (no answer yet) or answered, until `expires_at`.
#[derive(Debug)]
struct KeyRecord {
    fingerprint: Fingerprint,
    claim: Uuid,
    answer: Option<Answer>,
    expires_at: DateTime<Utc>,
}

/// The data behind the in-memory adapters. Share one `Arc` between them.
#[derive(Debug, Default)]
pub struct InMemoryStore {
    state: Mutex<State>,
    unavailable: AtomicBool,
}

impl InMemoryStore {
    /// A new, empty store.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// The failure switch: while on, every operation fails with
    /// [`StorageError::Unavailable`], like a database that went away.
    pub fn set_unavailable(&self, unavailable: bool) {
        self.unavailable.store(unavailable, Ordering::SeqCst);
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StorageError> {
        if self.unavailable.load(Ordering::SeqCst) {
            return Err(StorageError::Unavailable("the in-memory store is switched off".into()));
        }
        // A panic while holding the lock leaves plain data behind; carry on with it.
        Ok(self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

impl State {
    /// Checks that `completion`'s claim still holds its key, unanswered, as
    /// the SQL adapter's `complete` does; the caller then stores its change
    /// and [`State::answer`]s, under the same lock.
    fn check_claim(&self, completion: Option<&Completion>) -> Result<(), StorageError> {
        let Some(Completion { claim, .. }) = completion else {
            return Ok(());
        };
        match self.keys.get(&claim.key) {
            Some(record) if record.claim == claim.token && record.answer.is_none() => Ok(()),
            _ => {
                Err(StorageError::Unavailable("the idempotency key is no longer this request's claim (its lease ran out and another request took it, or it was swept)".into()))
            }
        }
    }

    fn answer(&mut self, completion: Option<&Completion>) {
        if let Some(Completion { claim, answer }) = completion
            && let Some(record) = self.keys.get_mut(&claim.key)
        {
            record.answer = Some(answer.clone());
            record.expires_at = claim.keep_until;
        }
    }

    /// The cart with its lines' names and prices refreshed from the catalog
    /// (stored lines keep the values of when they were added).
    fn cart(&self, id: CartId) -> Result<Option<Cart>, StorageError> {
        let Some(cart) = self.carts.get(&id) else {
            return Ok(None);
        };
        let live = |line: &CartLine| match self.products.get(&line.product_id) {
            Some(product) => CartLine { name: product.name.clone(), unit_price: product.price, ..line.clone() },
            None => line.clone(),
        };
        let lines = cart.lines().iter().map(live).collect();
        restored(cart, lines).map(Some)
    }
}

/// [`ProductRepository`] over an [`InMemoryStore`].
#[derive(Debug, Clone, Component)]
#[shaku(interface = ProductRepository)]
pub struct InMemoryProductRepository {
    /// The store it reads and writes.
    store: Arc<InMemoryStore>,
}

impl InMemoryProductRepository {
    /// The catalog of `store`.
    pub fn new(store: Arc<InMemoryStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl ProductRepository for InMemoryProductRepository {
    async fn insert(&self, product: &Product, completion: Option<&Completion>) -> Result<(), StorageError> {
        let mut state = self.store.lock()?;
        state.check_claim(completion)?;
        state.products.insert(product.id, product.clone());
        state.answer(completion);
        Ok(())
    }

    async fn get(&self, id: ProductId) -> Result<Product, ProductError> {
        self.store.lock()?.products.get(&id).cloned().ok_or(ProductError::NotFound)
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>, StorageError> {
        let state = self.store.lock()?;
        let needle = query.name_contains.as_ref().map(|text| text.as_str().to_lowercase());
        let mut matching: Vec<&Product> = state
            .products
            .values()
            .filter(|p| query.after.is_none_or(|after| (p.created_at, p.id) > (after.created_at, after.id)))
            .filter(|p| needle.as_deref().is_none_or(|n| p.name.as_str().to_lowercase().contains(n)))
            .collect();
        matching.sort_by_key(|p| (p.created_at, p.id));
        Ok(matching.into_iter().take(query.limit as usize).cloned().collect())
    }

    async fn update(&self, id: ProductId, patch: &ProductPatch, now: DateTime<Utc>) -> Result<Product, ProductError> {
        let mut state = self.store.lock()?;
        let product = state.products.get_mut(&id).ok_or(ProductError::NotFound)?;
        product.apply(patch.clone(), now);
        Ok(product.clone())
    }

    async fn delete(&self, id: ProductId) -> Result<(), ProductError> {
        let mut state = self.store.lock()?;
        state.products.remove(&id).ok_or(ProductError::NotFound)?;
        // Like the foreign key's ON DELETE CASCADE: the lines go, versions stay.
        for cart in state.carts.values_mut() {
            let kept = cart.lines().iter().filter(|line| line.product_id != id).cloned().collect();
            *cart = restored(cart, kept)?;
        }
        Ok(())
    }
}

/// [`CartRepository`] over an [`InMemoryStore`]: the store's lock makes each
/// save's compare-and-set atomic.
#[derive(Debug, Clone, Component)]
#[shaku(interface = CartRepository)]
pub struct InMemoryCartRepository {
    /// The store it reads and writes.
    store: Arc<InMemoryStore>,
}

impl InMemoryCartRepository {
    /// The carts of `store`.
    pub fn new(store: Arc<InMemoryStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl CartRepository for InMemoryCartRepository {
    async fn insert(&self, cart: &Cart, completion: Option<&Completion>) -> Result<(), StorageError> {
        let mut state = self.store.lock()?;
        state.check_claim(completion)?;
        state.carts.insert(cart.id(), cart.clone());
        state.answer(completion);
        Ok(())
    }

    async fn get(&self, id: CartId) -> Result<Option<Cart>, StorageError> {
        self.store.lock()?.cart(id)
    }

    async fn save(
        &self,
        cart: &Cart,
        change: LineChange,
        completion: Option<&Completion>,
    ) -> Result<Saved, StorageError> {
        let mut state = self.store.lock()?;
        let one_change_ahead =
            state.carts.get(&cart.id()).is_some_and(|stored| stored.version().next() == cart.version());
        let product_gone = matches!(change, LineChange::Put(id) if !state.products.contains_key(&id));
        if !one_change_ahead || product_gone {
            return Ok(Saved::Stale);
        }
        state.check_claim(completion)?;
        // The whole cart is the state; in memory, storing it is as cheap as storing the change.
        state.carts.insert(cart.id(), cart.clone());
        state.answer(completion);
        Ok(Saved::Done)
    }

    async fn delete(&self, cart: &Cart) -> Result<Saved, StorageError> {
        let mut state = self.store.lock()?;
        if state.carts.get(&cart.id()).map(|stored| stored.version()) != Some(cart.version()) {
            return Ok(Saved::Stale);
        }
        state.carts.remove(&cart.id());
        Ok(Saved::Done)
    }

    async fn purge_expired(&self, expired_before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
        let mut state = self.store.lock()?;
        let expired: Vec<CartId> = state
            .carts
            .values()
            .filter(|cart| cart.updated_at() < expired_before)
            .map(|cart| cart.id())
            .take(limit as usize)
            .collect();
        for id in &expired {
            state.carts.remove(id);
        }
        Ok(expired.len() as u64)
    }
}

/// [`StorageHealth`] of an [`InMemoryStore`]: down while its failure switch is on.
#[derive(Debug, Clone, Component)]
#[shaku(interface = StorageHealth)]
pub struct InMemoryStorageHealth {
    /// The store whose failure switch it reports.
    store: Arc<InMemoryStore>,
}

impl InMemoryStorageHealth {
    /// The health of `store`.
    pub fn new(store: Arc<InMemoryStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl StorageHealth for InMemoryStorageHealth {
    async fn ping(&self) -> Result<Readiness, StorageError> {
        self.store.lock().map(|_| Readiness::default())
    }

    fn pool(&self) -> Option<PoolStatus> {
        None
    }
}

/// [`IdempotencyStore`] over an [`InMemoryStore`]; the repositories of the
/// same store answer its keys under the same lock as their changes.
#[derive(Debug, Clone, Component)]
#[shaku(interface = IdempotencyStore)]
pub struct InMemoryIdempotencyStore {
    /// The store it reads and writes.
    store: Arc<InMemoryStore>,
}

impl InMemoryIdempotencyStore {
    /// The idempotency keys of `store`.
    pub fn new(store: Arc<InMemoryStore>) -> Self {
        Self { store }
    }
}

#[async_trait]
impl IdempotencyStore for InMemoryIdempotencyStore {
    async fn claim(
        &self,
        claim: &Claim,
        fingerprint: Fingerprint,
        lease_until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Claimed, StorageError> {
        let mut state = self.store.lock()?;
        if let Some(held) = state.keys.get(&claim.key).filter(|held| held.expires_at > now) {
            return Ok(if held.fingerprint != fingerprint {
                Claimed::OtherRequest
            } else if let Some(answer) = &held.answer {
                Claimed::Answered(answer.clone())
            } else {
                Claimed::Running { until: held.expires_at }
            });
        }
        let record = KeyRecord { fingerprint, claim: claim.token, answer: None, expires_at: lease_until };
        state.keys.insert(claim.key.clone(), record);
        Ok(Claimed::Mine(claim.clone()))
    }

    async fn release(&self, claim: &Claim) -> Result<(), StorageError> {
        let mut state = self.store.lock()?;
        if state.keys.get(&claim.key).is_some_and(|held| held.claim == claim.token && held.answer.is_none()) {
            state.keys.remove(&claim.key);
        }
        Ok(())
    }

    async fn purge_expired(&self, now: DateTime<Utc>, limit: u32) -> Result<u64, StorageError> {
        let mut state = self.store.lock()?;
        let expired: Vec<IdempotencyKey> = state
            .keys
            .iter()
            .filter(|(_, record)| record.expires_at <= now)
            .map(|(key, _)| key.clone())
            .take(limit as usize)
            .collect();
        for key in &expired {
            state.keys.remove(key);
        }
        Ok(expired.len() as u64)
    }
}

/// `cart` with other `lines` (the catalog's changes), its version and times kept.
fn restored(cart: &Cart, lines: Vec<CartLine>) -> Result<Cart, StorageError> {
    Cart::restore(cart.id(), cart.version(), cart.created_at(), cart.updated_at(), lines)
        .map_err(|err| StorageError::Internal(Box::new(err)))
}
