//! Cart use cases: create, read, change lines and delete carts.

use std::sync::Arc;

use async_trait::async_trait;
use shaku::{Component, Interface};
use shop_domain::{Cart, CartChange, CartId, MaxLineQuantity, ProductId, Quantity, Version};

use crate::error::CartError;
use crate::ports::{CartRepository, CartUpdate};

/// The carts' use cases. Every write takes the version the caller expects
/// (`If-Match`), or `None` to write whatever the version.
#[async_trait]
pub trait CartService: Interface {
    /// The per-line cap, for validating requests.
    fn max_line_quantity(&self) -> MaxLineQuantity;
    /// Creates an empty cart.
    async fn create(&self) -> Result<Cart, CartError>;
    /// The cart with its lines and totals.
    async fn get(&self, id: CartId) -> Result<Cart, CartError>;
    /// Adds units of a product, to its line if it has one.
    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: Option<Version>,
    ) -> Result<Cart, CartError>;
    /// Sets a line's quantity; `None` (zero) removes the line.
    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: Option<Version>,
    ) -> Result<Cart, CartError>;
    /// Removes a line that must be in the cart.
    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: Option<Version>,
    ) -> Result<Cart, CartError>;
    /// Removes every line.
    async fn clear(&self, id: CartId, expected: Option<Version>) -> Result<Cart, CartError>;
    /// Deletes the cart.
    async fn delete(&self, id: CartId, expected: Option<Version>) -> Result<(), CartError>;
}

/// [`CartService`] over a [`CartRepository`], with the cap from the settings.
#[derive(Component)]
#[shaku(interface = CartService)]
pub struct CartServiceImpl {
    #[shaku(inject)]
    carts: Arc<dyn CartRepository>,
    /// The per-line cap (`cart.max_line_quantity`).
    max_line_quantity: MaxLineQuantity,
}

impl CartServiceImpl {
    async fn apply(
        &self,
        cart_id: CartId,
        change: CartChange,
        expected_version: Option<Version>,
    ) -> Result<Cart, CartError> {
        let update = CartUpdate {
            cart_id,
            change,
            expected_version,
            max_line_quantity: self.max_line_quantity,
            now: super::now(),
        };
        let cart = self.carts.update(update).await?;
        tracing::debug!(version = cart.version.0, "cart written");
        Ok(cart)
    }
}

#[async_trait]
impl CartService for CartServiceImpl {
    fn max_line_quantity(&self) -> MaxLineQuantity {
        self.max_line_quantity
    }

    #[tracing::instrument(level = "debug", skip_all)]
    async fn create(&self) -> Result<Cart, CartError> {
        let cart = Cart::new(CartId::new_random(), super::now());
        self.carts.insert(&cart).await?;
        tracing::info!(cart_id = %cart.id.0, "cart created");
        Ok(cart)
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn get(&self, id: CartId) -> Result<Cart, CartError> {
        self.carts.get(id).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: Option<Version>,
    ) -> Result<Cart, CartError> {
        self.apply(id, CartChange::Add { product_id, quantity }, expected).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: Option<Version>,
    ) -> Result<Cart, CartError> {
        self.apply(id, CartChange::Set { product_id, quantity }, expected).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0, product_id = %product_id.0))]
    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: Option<Version>,
    ) -> Result<Cart, CartError> {
        self.apply(id, CartChange::Remove { product_id }, expected).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn clear(&self, id: CartId, expected: Option<Version>) -> Result<Cart, CartError> {
        self.apply(id, CartChange::Clear, expected).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(cart_id = %id.0))]
    async fn delete(&self, id: CartId, expected: Option<Version>) -> Result<(), CartError> {
        self.carts.delete(id, expected).await?;
        tracing::info!("cart deleted");
        Ok(())
    }
}
