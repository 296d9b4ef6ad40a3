//! Ports: what the use cases need from the outside world, as async traits that
//! adapters implement and shaku injects (`Arc<dyn Port>`).
//!
//! Every adapter must pass the same contract suite (`tests/contract`), so the
//! contracts below are binding, including which error each case returns.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shaku::Interface;
use shop_domain::{Cart, CartChange, CartId, MaxLineQuantity, Product, ProductId, ProductPatch, Version};

use crate::error::{CartError, ProductError, StorageError};

/// A position in the catalog's listing order: after this product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductCursor {
    /// The product's creation time.
    pub created_at: DateTime<Utc>,
    /// The product's id (breaks ties between equal times).
    pub id: ProductId,
}

impl From<&Product> for ProductCursor {
    fn from(product: &Product) -> Self {
        Self { created_at: product.created_at, id: product.id }
    }
}

/// Which products to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductQuery {
    /// Only products strictly after this position.
    pub after: Option<ProductCursor>,
    /// Only products whose name contains this text, ignoring case.
    pub name_contains: Option<String>,
    /// At most this many products.
    pub limit: u32,
}

/// The catalog's storage.
#[async_trait]
pub trait ProductRepository: Interface {
    /// Stores a new product.
    async fn insert(&self, product: &Product) -> Result<(), StorageError>;

    /// The product with this id. MUST return [`ProductError::NotFound`] if none.
    async fn get(&self, id: ProductId) -> Result<Product, ProductError>;

    /// Products matching `query`, oldest first (ties by id), at most `query.limit`.
    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>, StorageError>;

    /// Applies a non-empty `patch` and sets `updated_at` to `now`, in one atomic
    /// step; returns the product as stored. MUST return [`ProductError::NotFound`] if none.
    async fn update(&self, id: ProductId, patch: &ProductPatch, now: DateTime<Utc>) -> Result<Product, ProductError>;

    /// Deletes the product and every cart line that holds it.
    /// MUST return [`ProductError::NotFound`] if none.
    async fn delete(&self, id: ProductId) -> Result<(), ProductError>;
}

/// A change to one cart, with everything the storage needs to apply it atomically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartUpdate {
    /// The cart.
    pub cart_id: CartId,
    /// What to change.
    pub change: CartChange,
    /// Apply only if the cart is at this version (`If-Match`).
    pub expected_version: Option<Version>,
    /// The per-line cap.
    pub max_line_quantity: MaxLineQuantity,
    /// The time of the change.
    pub now: DateTime<Utc>,
}

/// The carts' storage. Lines are read with the products' live names and prices.
#[async_trait]
pub trait CartRepository: Interface {
    /// Stores a new, empty cart.
    async fn insert(&self, cart: &Cart) -> Result<(), StorageError>;

    /// The cart with its lines, oldest line first, in one read.
    /// MUST return [`CartError::CartNotFound`] if none.
    async fn get(&self, id: CartId) -> Result<Cart, CartError>;

    /// Applies `update.change` atomically, even against concurrent writers in
    /// other processes, and returns the cart as it then is. If the lines
    /// changed, the version goes up by exactly one; if not, nothing is written.
    /// On any error nothing changes. MUST return, in this order of precedence:
    /// [`CartError::CartNotFound`] for an unknown cart;
    /// [`CartError::VersionMismatch`] if `expected_version` differs (even when
    /// the change would change nothing);
    /// [`CartError::ProductNotFound`] for `Add`/`Set` of an unknown product;
    /// [`CartError::Rule`] when the cart's rules refuse the change
    /// (`LineQuantityExceeded`, `LineNotFound`).
    async fn update(&self, update: CartUpdate) -> Result<Cart, CartError>;

    /// Deletes the cart and its lines. MUST return [`CartError::CartNotFound`]
    /// if none, [`CartError::VersionMismatch`] if `expected_version` differs.
    async fn delete(&self, id: CartId, expected_version: Option<Version>) -> Result<(), CartError>;
}
