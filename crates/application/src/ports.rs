//! Ports: what the use cases need from the outside world, as async traits that
//! adapters implement and shaku injects (`Arc<dyn Port>`).
//!
//! Every adapter must pass the same contract suite (`tests/contract.rs`), so
//! the contracts below are binding, including which error each case returns.

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use shaku::{Component, Interface};
use shop_domain::{Cart, CartId, CartLimits, LineChange, Product, ProductId, ProductPatch, Quantity, SearchText};

use crate::error::{ProductError, StorageError};
use crate::idempotency::Completion;

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
    pub name_contains: Option<SearchText>,
    /// At most this many products.
    pub limit: u32,
}

/// The catalog's storage.
#[async_trait]
pub trait ProductRepository: Interface {
    /// Stores a new product, and `completion` (if any) in the same
    /// transaction (see [`CartRepository::save`]).
    async fn insert(&self, product: &Product, completion: Option<&Completion>) -> Result<(), StorageError>;

    /// The product with this id, possibly from a read replica that trails
    /// the last writes. MUST return [`ProductError::NotFound`] if none.
    async fn get(&self, id: ProductId) -> Result<Product, ProductError>;

    /// The product as last written, never from a replica: what a write
    /// decides on. Storage without replicas needs no other implementation.
    async fn get_latest(&self, id: ProductId) -> Result<Product, ProductError> {
        self.get(id).await
    }

    /// Products matching `query`, oldest first (ties by id), at most `query.limit`.
    async fn list(&self, query: &ProductQuery) -> Result<Vec<Product>, StorageError>;

    /// Applies a non-empty `patch` and sets `updated_at` to `now`, in one atomic
    /// step; returns the product as stored. MUST return [`ProductError::NotFound`] if none.
    async fn update(&self, id: ProductId, patch: &ProductPatch, now: DateTime<Utc>) -> Result<Product, ProductError>;

    /// Deletes the product and every cart line that holds it.
    /// MUST return [`ProductError::NotFound`] if none.
    async fn delete(&self, id: ProductId) -> Result<(), ProductError>;
}

/// What became of a [`CartRepository::save`] or [`CartRepository::delete`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Saved {
    /// Written.
    Done,
    /// Nothing written: the stored cart moved on since it was loaded (another
    /// writer changed or deleted it, or a product its new line names was
    /// deleted). Load it again and redo the change.
    Stale,
}

/// The carts' storage. It stores what the domain decided; it decides nothing.
/// Lines are read with the products' live names and prices.
#[async_trait]
pub trait CartRepository: Interface {
    /// Stores a new, empty cart, and `completion` (if any) in the same
    /// transaction (see [`CartRepository::save`]).
    async fn insert(&self, cart: &Cart, completion: Option<&Completion>) -> Result<(), StorageError>;

    /// The cart with its lines, oldest line first, in one read; `None` if
    /// no cart has this id.
    async fn get(&self, id: CartId) -> Result<Option<Cart>, StorageError>;

    /// Stores `cart` as one effective change (`change`, from the `Cart`
    /// method that made it) left it: its version and `updated_at`, and the
    /// line `change` names. Atomic, against writers in any process: it writes
    /// only if the stored cart is still at the version before
    /// (`cart.version` − 1) and, for [`LineChange::Put`], the product still
    /// exists; otherwise it writes nothing and MUST return [`Saved::Stale`].
    ///
    /// With a `completion`, the same transaction stores its answer under its
    /// key, which its claim must still hold (unanswered); if it does not (the
    /// lease ran out and another request took the key), it writes nothing and
    /// MUST return [`StorageError::Unavailable`].
    async fn save(
        &self,
        cart: &Cart,
        change: LineChange,
        completion: Option<&Completion>,
    ) -> Result<Saved, StorageError>;

    /// Deletes the cart and its lines if it is still at `cart.version`;
    /// otherwise (changed or gone) deletes nothing and MUST return [`Saved::Stale`].
    async fn delete(&self, cart: &Cart) -> Result<Saved, StorageError>;

    /// Deletes at most `limit` carts (and their lines) whose last change was
    /// before `expired_before`; returns how many. Safe to run from several
    /// processes at once.
    async fn purge_expired(&self, expired_before: DateTime<Utc>, limit: u32) -> Result<u64, StorageError>;
}

/// **Optional**: one-step versions of the commonest cart writes, for storage
/// that can apply a change in one atomic statement where the general path
/// (load, the domain's rule, compare-and-set) takes several round trips.
/// Storage without one provides [`NoFastPath`]. [`crate::services::CartServiceWithFastPath`]
/// offers each unconditional add and set here first.
///
/// Each method either applies exactly what the domain's method would, version
/// bump included, and returns the cart as it then is, or applies nothing and
/// returns `None`: no such line yet (a new line's cap is the general path's
/// to keep), over the cap, nothing to change, an unknown or expired cart
/// (`ttl` after its last change, by `now`). It never refuses: on `None`
/// the general path runs and the domain says why.
#[async_trait]
pub trait CartFastPath: Interface {
    /// Adds `quantity` units to the line that already holds the product, as
    /// [`Cart::add`] would within `limits`.
    async fn add(
        &self,
        cart_id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        limits: CartLimits,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError>;

    /// Sets the quantity of a line already in the cart, as
    /// [`Cart::set_quantity`] would.
    async fn set(
        &self,
        cart_id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        ttl: TimeDelta,
        now: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError>;
}

/// No fast path: every write takes the general path.
#[derive(Debug, Default, Component)]
#[shaku(interface = CartFastPath)]
pub struct NoFastPath;

#[async_trait]
impl CartFastPath for NoFastPath {
    async fn add(
        &self,
        _: CartId,
        _: ProductId,
        _: Quantity,
        _: CartLimits,
        _: TimeDelta,
        _: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError> {
        Ok(None)
    }

    async fn set(
        &self,
        _: CartId,
        _: ProductId,
        _: Quantity,
        _: TimeDelta,
        _: DateTime<Utc>,
    ) -> Result<Option<Cart>, StorageError> {
        Ok(None)
    }
}

/// How a connection pool is doing, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections, busy or idle.
    pub size: u32,
    /// Open connections waiting for work.
    pub idle: u32,
}

/// What a readiness probe found, beyond "the storage answers".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Readiness {
    /// Whether the catalog's read replica answers; `None` without one (a
    /// replica that does not answer leaves the storage ready: its reads go
    /// to the primary).
    pub replica: Option<bool>,
}

/// Whether the storage answers: what readiness and metrics report.
#[async_trait]
pub trait StorageHealth: Interface {
    /// `Ok` when the storage answers now; MUST return
    /// [`StorageError::Unavailable`] when it cannot be reached.
    async fn ping(&self) -> Result<Readiness, StorageError>;

    /// The connection pool's figures; `None` for storage without a pool.
    fn pool(&self) -> Option<PoolStatus>;
}
