//! In-memory adapters: one shared [`InMemoryStore`] behind a mutex, seen
//! through [`InMemoryProductRepository`] and [`InMemoryCartRepository`].
//!
//! They keep the same contract as the SQL adapters (the contract suite runs
//! against both), apply the domain's own cart rules, and have a failure switch
//! so service tests can exercise the "storage is down" paths. They exist for
//! fast tests and to show how an adapter is swapped, not for production: the
//! data lives in one process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shop_application::ports::{CartRepository, CartUpdate, ProductQuery, ProductRepository};
use shop_application::{CartError, ProductError, StorageError};
use shop_domain::{Cart, CartChange, CartId, Product, ProductId, ProductPatch, Version};

#[derive(Debug, Default)]
struct State {
    products: HashMap<ProductId, Product>,
    carts: HashMap<CartId, Cart>,
}

/// The data behind the in-memory repositories. Share one `Arc` between both.
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
    /// The cart with its lines' names and prices refreshed from the catalog
    /// (stored lines keep the values of when they were added).
    fn cart(&self, id: CartId) -> Result<Cart, CartError> {
        let mut cart = self.carts.get(&id).ok_or(CartError::CartNotFound)?.clone();
        for line in &mut cart.lines {
            if let Some(product) = self.products.get(&line.product_id) {
                line.name = product.name.clone();
                line.unit_price = product.price;
            }
        }
        Ok(cart)
    }
}

/// [`ProductRepository`] over an [`InMemoryStore`].
#[derive(Debug, Clone)]
pub struct InMemoryProductRepository {
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
    async fn insert(&self, product: &Product) -> Result<(), StorageError> {
        self.store.lock()?.products.insert(product.id, product.clone());
        Ok(())
    }

    async fn get(&self, id: ProductId) -> Result<Product, ProductError> {
        self.store.lock()?.products.get(&id).cloned().ok_or(ProductError::NotFound)
    }

    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>, StorageError> {
        let state = self.store.lock()?;
        let needle = query.name_contains.as_deref().map(str::to_lowercase);
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
            cart.lines.retain(|line| line.product_id != id);
        }
        Ok(())
    }
}

/// [`CartRepository`] over an [`InMemoryStore`]; the domain's `Cart::apply`
/// enforces the rules under the store's lock, which makes every write atomic.
#[derive(Debug, Clone)]
pub struct InMemoryCartRepository {
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
    async fn insert(&self, cart: &Cart) -> Result<(), StorageError> {
        self.store.lock()?.carts.insert(cart.id, cart.clone());
        Ok(())
    }

    async fn get(&self, id: CartId) -> Result<Cart, CartError> {
        self.store.lock()?.cart(id)
    }

    async fn update(&self, update: CartUpdate) -> Result<Cart, CartError> {
        let mut state = self.store.lock()?;
        let mut cart = state.cart(update.cart_id)?;
        check_version(&cart, update.expected_version)?;
        let product = match update.change {
            CartChange::Add { product_id, .. } | CartChange::Set { product_id, .. } => {
                Some(state.products.get(&product_id).cloned().ok_or(CartError::ProductNotFound)?)
            }
            CartChange::Remove { .. } | CartChange::Clear => None,
        };
        if cart.apply(update.change, product.as_ref(), update.max_line_quantity, update.now)? {
            state.carts.insert(cart.id, cart.clone());
        }
        Ok(cart)
    }

    async fn delete(&self, id: CartId, expected_version: Option<Version>) -> Result<(), CartError> {
        let mut state = self.store.lock()?;
        let cart = state.cart(id)?;
        check_version(&cart, expected_version)?;
        state.carts.remove(&id);
        Ok(())
    }
}

fn check_version(cart: &Cart, expected: Option<Version>) -> Result<(), CartError> {
    match expected {
        Some(expected) if expected != cart.version => Err(CartError::VersionMismatch { current: cart.version }),
        _ => Ok(()),
    }
}
