//! Cart use cases: create, read, change lines and delete carts.
//!
//! Every write takes the same general path: load the cart (and the product
//! the change names), check the version the caller expects, apply the change
//! with the domain's own method (`Cart::add`, `Cart::set_quantity`, …), save
//! what changed. The save is a compare-and-set on the version: when another
//! writer got there first, nothing is written and the loop makes the change
//! again on the cart as it now is. The rules live in the domain; the
//! repository only stores.
//!
//! Storage that can do an add or a set in one step gets
//! [`super::CartServiceWithFastPath`] in front of this service (a decorator,
//! `fast_path.rs`); what it declines comes here.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::TimeDelta;
use shaku::{Component, Interface};
use shop_domain::{Cart, CartId, CartLimits, LineChange, MaxLineQuantity, Product, ProductId, Quantity, Version};

use super::now;
use crate::error::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};
use crate::idempotency::Idempotent;
use crate::ports::{CartRepository, ProductRepository, Saved};

/// The versions a write expects the cart at (`If-Match`, which may list
/// several, or `expectedVersion`): it applies only if the cart is at one of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Expected {
    /// Whatever the version.
    #[default]
    Any,
    /// One of these versions; an empty list allows none.
    OneOf(Vec<Version>),
}

impl Expected {
    /// Exactly `version`.
    pub fn version(version: Version) -> Self {
        Self::OneOf(vec![version])
    }

    /// Whether a cart at `version` may be written.
    pub fn allows(&self, version: Version) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&version),
        }
    }
}

/// The carts' use cases. Every write takes the versions the caller expects
/// the cart at ([`Expected`]).
#[async_trait]
pub trait CartService: Interface {
    /// The per-line cap, for validating requests.
    fn max_line_quantity(&self) -> MaxLineQuantity;
    /// Creates an empty cart; `once`: at most once for its idempotency key.
    async fn create(&self, once: Option<Idempotent<'_, Cart>>) -> Result<Cart, StorageError>;
    /// The cart with its lines and totals.
    async fn get(&self, id: CartId) -> Result<Cart, GetCartError>;
    /// Adds units of a product, to its line if it has one; `once`: at most
    /// once for its idempotency key.
    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: &Expected,
        once: Option<Idempotent<'_, Cart>>,
    ) -> Result<Cart, AddItemError>;
    /// Sets a line's quantity; `None` (zero) removes the line.
    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: &Expected,
    ) -> Result<Cart, SetItemError>;
    /// Removes a line that must be in the cart.
    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: &Expected,
    ) -> Result<Cart, RemoveItemError>;
    /// Removes every line.
    async fn clear(&self, id: CartId, expected: &Expected) -> Result<Cart, CartWriteError>;
    /// Deletes the cart.
    async fn delete(&self, id: CartId, expected: &Expected) -> Result<(), CartWriteError>;
    /// When `cart` expires unless its lines change (`cart.ttl` after its last change).
    fn expires_at(&self, cart: &Cart) -> chrono::DateTime<chrono::Utc>;
    /// Deletes expired carts, in batches of `batch`, until none is left; returns how many.
    async fn purge_expired(&self, batch: u32) -> Result<u64, StorageError>;
}

/// [`CartService`] over the cart and product repositories, with the cap from the settings.
#[derive(Component)]
#[shaku(interface = CartService)]
pub struct CartServiceImpl {
    #[shaku(inject)]
    carts: Arc<dyn CartRepository>,
    #[shaku(inject)]
    products: Arc<dyn ProductRepository>,
    /// What a cart may hold (`cart.max_line_quantity`, `cart.max_lines`).
    limits: CartLimits,
    /// How long a cart lives after its last change (`cart.ttl`).
    ttl: TimeDelta,
}

impl CartServiceImpl {
    /// The cart, unless there is none or it expired: an expired cart is as
    /// if it never existed, whether or not the sweeper deleted it yet.
    async fn live(&self, id: CartId) -> Result<Option<Cart>, StorageError> {
        let now = now();
        Ok(self.carts.get(id).await?.filter(|cart| !cart.is_expired(now, self.ttl)))
    }

    /// The cart, if it is live and at the `expected` version.
    async fn load(&self, id: CartId, expected: &Expected) -> Result<Cart, CartWriteError> {
        let cart = self.live(id).await?.ok_or(CartWriteError::CartNotFound)?;
        if expected.allows(cart.version()) {
            Ok(cart)
        } else {
            Err(CartWriteError::VersionMismatch { current: cart.version() })
        }
    }

    /// Saves what one change did (`None`: nothing to write). `false` when
    /// another writer got there first and nothing was written: the caller
    /// then loads the cart again and redoes its change.
    async fn saved(
        &self,
        cart: &Cart,
        change: Option<LineChange>,
        once: Option<&Idempotent<'_, Cart>>,
    ) -> Result<bool, StorageError> {
        let Some(change) = change else {
            return Ok(true);
        };
        let completion = once.map(|once| once.complete(cart));
        let saved = self.carts.save(cart, change, completion.as_ref()).await? == Saved::Done;
        if saved {
            tracing::debug!(version = cart.version().0, "cart written");
        }
        Ok(saved)
    }

    /// The product a change names, as last written; `None` if the catalog has no such product.
    async fn product(&self, id: ProductId) -> Result<Option<Product>, StorageError> {
        match self.products.get_latest(id).await {
            Ok(product) => Ok(Some(product)),
            Err(ProductError::NotFound) => Ok(None),
            Err(ProductError::Storage(err)) => Err(err),
        }
    }
}

#[async_trait]
impl CartService for CartServiceImpl {
    fn max_line_quantity(&self) -> MaxLineQuantity {
        self.limits.max_line_quantity
    }

    fn expires_at(&self, cart: &Cart) -> chrono::DateTime<chrono::Utc> {
        cart.expires_at(self.ttl)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create(&self, once: Option<Idempotent<'_, Cart>>) -> Result<Cart, StorageError> {
        let cart = Cart::new(CartId::new_random(), now());
        let completion = once.map(|once| once.complete(&cart));
        self.carts.insert(&cart, completion.as_ref()).await?;
        tracing::info!(cart_id = %cart.id().0, "cart created");
        Ok(cart)
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn get(&self, id: CartId) -> Result<Cart, GetCartError> {
        self.live(id).await?.ok_or(GetCartError::NotFound)
    }

    #[tracing::instrument(level = "debug", skip(self, once), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: &Expected,
        once: Option<Idempotent<'_, Cart>>,
    ) -> Result<Cart, AddItemError> {
        loop {
            let mut cart = self.load(id, expected).await?;
            let product = self.product(product_id).await?.ok_or(AddItemError::ProductNotFound)?;
            let change = cart.add(&product, quantity, self.limits, now())?;
            if self.saved(&cart, Some(change), once.as_ref()).await? {
                return Ok(cart);
            }
        }
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: &Expected,
    ) -> Result<Cart, SetItemError> {
        loop {
            let mut cart = self.load(id, expected).await?;
            let product = self.product(product_id).await?.ok_or(SetItemError::ProductNotFound)?;
            let change = cart.set_quantity(&product, quantity, self.limits, now())?;
            if self.saved(&cart, change, None).await? {
                return Ok(cart);
            }
        }
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: &Expected,
    ) -> Result<Cart, RemoveItemError> {
        loop {
            let mut cart = self.load(id, expected).await?;
            let change = cart.remove(product_id, now())?;
            if self.saved(&cart, Some(change), None).await? {
                return Ok(cart);
            }
        }
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn clear(&self, id: CartId, expected: &Expected) -> Result<Cart, CartWriteError> {
        loop {
            let mut cart = self.load(id, expected).await?;
            let change = cart.clear(now());
            if self.saved(&cart, change, None).await? {
                return Ok(cart);
            }
        }
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn delete(&self, id: CartId, expected: &Expected) -> Result<(), CartWriteError> {
        loop {
            let cart = self.load(id, expected).await?;
            if self.carts.delete(&cart).await? == Saved::Done {
                tracing::info!("cart deleted");
                return Ok(());
            }
        }
    }

    async fn purge_expired(&self, batch: u32) -> Result<u64, StorageError> {
        let expired_before = now() - self.ttl;
        let mut purged = 0;
        loop {
            let deleted = self.carts.purge_expired(expired_before, batch).await?;
            purged += deleted;
            if deleted < u64::from(batch) {
                return Ok(purged);
            }
        }
    }
}
