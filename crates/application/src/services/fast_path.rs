//! The fast path as a decorator: [`CartServiceWithFastPath`] is the
//! [`CartService`] of storage that can apply an add or a set in one step
//! ([`CartFastPath`]). It offers each unconditional add and set (no
//! `If-Match`, no idempotency key: a one-step statement has no room for a
//! key's answer) to the fast path first; everything else, and whatever the
//! fast path declines, goes to the general service it wraps, which decides.
//! Reading the use cases, start with the general path in `carts.rs`.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use shaku::{Component, HasComponent, Module, ModuleBuildContext};
use shop_domain::{Cart, CartId, CartLimits, MaxLineQuantity, ProductId, Quantity};

use super::carts::{CartService, CartServiceImpl, CartServiceImplParameters, Expected};
use super::now;
use crate::error::{AddItemError, CartWriteError, GetCartError, RemoveItemError, SetItemError, StorageError};
use crate::idempotency::Idempotent;
use crate::ports::{CartFastPath, CartRepository, ProductRepository};

/// [`CartServiceImpl`] with the storage's [`CartFastPath`] in front.
pub struct CartServiceWithFastPath {
    fast_path: Arc<dyn CartFastPath>,
    general: Box<dyn CartService>,
    limits: CartLimits,
    ttl: TimeDelta,
}

/// Built by hand rather than derived: it builds the general service it wraps
/// from the same parameters, which shaku's derive cannot express.
impl<M> Component<M> for CartServiceWithFastPath
where
    M: Module + HasComponent<dyn CartFastPath> + HasComponent<dyn CartRepository> + HasComponent<dyn ProductRepository>,
{
    type Interface = dyn CartService;
    type Parameters = CartServiceImplParameters;

    fn build(context: &mut ModuleBuildContext<M>, parameters: Self::Parameters) -> Box<dyn CartService> {
        let (limits, ttl) = (parameters.limits, parameters.ttl);
        let fast_path = M::build_component(context);
        let general = <CartServiceImpl as Component<M>>::build(context, parameters);
        Box::new(Self { fast_path, general, limits, ttl })
    }
}

#[async_trait]
impl CartService for CartServiceWithFastPath {
    async fn add_item(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Quantity,
        expected: &Expected,
        once: Option<Idempotent<'_, Cart>>,
    ) -> Result<Cart, AddItemError> {
        if *expected == Expected::Any
            && once.is_none()
            && let Some(cart) = self.fast_path.add(id, product_id, quantity, self.limits, self.ttl, now()).await?
        {
            return Ok(cart);
        }
        self.general.add_item(id, product_id, quantity, expected, once).await
    }

    async fn set_item_quantity(
        &self,
        id: CartId,
        product_id: ProductId,
        quantity: Option<Quantity>,
        expected: &Expected,
    ) -> Result<Cart, SetItemError> {
        if *expected == Expected::Any
            && let Some(to) = quantity
            && let Some(cart) = self.fast_path.set(id, product_id, to, self.ttl, now()).await?
        {
            return Ok(cart);
        }
        self.general.set_item_quantity(id, product_id, quantity, expected).await
    }

    // The rest is the general service's.

    fn max_line_quantity(&self) -> MaxLineQuantity {
        self.general.max_line_quantity()
    }

    async fn create(&self, once: Option<Idempotent<'_, Cart>>) -> Result<Cart, StorageError> {
        self.general.create(once).await
    }

    async fn get(&self, id: CartId) -> Result<Cart, GetCartError> {
        self.general.get(id).await
    }

    async fn remove_item(
        &self,
        id: CartId,
        product_id: ProductId,
        expected: &Expected,
    ) -> Result<Cart, RemoveItemError> {
        self.general.remove_item(id, product_id, expected).await
    }

    async fn clear(&self, id: CartId, expected: &Expected) -> Result<Cart, CartWriteError> {
        self.general.clear(id, expected).await
    }

    async fn delete(&self, id: CartId, expected: &Expected) -> Result<(), CartWriteError> {
        self.general.delete(id, expected).await
    }

    fn expires_at(&self, cart: &Cart) -> DateTime<Utc> {
        self.general.expires_at(cart)
    }

    async fn purge_expired(&self, batch: u32) -> Result<u64, StorageError> {
        self.general.purge_expired(batch).await
    }
}
