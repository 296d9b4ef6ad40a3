//! Catalog use cases: create, read, list, change and delete products.

use std::sync::Arc;

use async_trait::async_trait;
use shaku::{Component, Interface};
use shop_domain::{NewProduct, Product, ProductId, ProductPatch, SearchText};

use super::now;
use crate::error::ProductError;
use crate::idempotency::Idempotent;
use crate::ports::{ProductCursor, ProductQuery, ProductRepository};

/// A request for one page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListProducts {
    /// Start after this position; `None` for the first page.
    pub after: Option<ProductCursor>,
    /// Only names containing this text, ignoring case.
    pub name_contains: Option<SearchText>,
    /// The page size.
    pub limit: u32,
}

/// One page of the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductPage {
    /// The products of this page, oldest first.
    pub items: Vec<Product>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ProductCursor>,
}

/// The catalog's use cases.
#[async_trait]
pub trait ProductService: Interface {
    /// Creates a product; `once`: at most once for its idempotency key.
    async fn create(&self, new: NewProduct, once: Option<Idempotent<'_, Product>>) -> Result<Product, ProductError>;
    /// The product with this id.
    async fn get(&self, id: ProductId) -> Result<Product, ProductError>;
    /// One page of products, oldest first.
    async fn list(&self, request: ListProducts) -> Result<ProductPage, ProductError>;
    /// Changes some fields of a product; an empty patch changes nothing.
    async fn update(&self, id: ProductId, patch: ProductPatch) -> Result<Product, ProductError>;
    /// Deletes a product, and with it every cart line that holds it.
    async fn delete(&self, id: ProductId) -> Result<(), ProductError>;
}

/// [`ProductService`] over a [`ProductRepository`].
#[derive(Component)]
#[shaku(interface = ProductService)]
pub struct ProductServiceImpl {
    #[shaku(inject)]
    products: Arc<dyn ProductRepository>,
}

#[async_trait]
impl ProductService for ProductServiceImpl {
    #[tracing::instrument(level = "debug", skip_all)]
    async fn create(&self, new: NewProduct, once: Option<Idempotent<'_, Product>>) -> Result<Product, ProductError> {
        let product = new.into_product(ProductId::new_random(), now());
        let completion = once.map(|once| once.complete(&product));
        self.products.insert(&product, completion.as_ref()).await?;
        tracing::info!(product_id = %product.id.0, "product created");
        Ok(product)
    }

    #[tracing::instrument(level = "debug", skip(self), fields(product_id = %id.0))]
    async fn get(&self, id: ProductId) -> Result<Product, ProductError> {
        self.products.get(id).await
    }

    #[tracing::instrument(level = "debug", skip(self))]
    async fn list(&self, request: ListProducts) -> Result<ProductPage, ProductError> {
        // One more than asked tells whether a next page exists, in the same query.
        let query =
            ProductQuery { after: request.after, name_contains: request.name_contains, limit: request.limit + 1 };
        let mut items = self.products.list(&query).await?;
        let next = if items.len() > request.limit as usize {
            items.truncate(request.limit as usize);
            items.last().map(ProductCursor::from)
        } else {
            None
        };
        Ok(ProductPage { items, next })
    }

    #[tracing::instrument(skip(self, patch), fields(product_id = %id.0))]
    async fn update(&self, id: ProductId, patch: ProductPatch) -> Result<Product, ProductError> {
        if patch.is_empty() {
            return self.products.get_latest(id).await;
        }
        self.products.update(id, &patch, now()).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(product_id = %id.0))]
    async fn delete(&self, id: ProductId) -> Result<(), ProductError> {
        self.products.delete(id).await?;
        tracing::info!("product deleted");
        Ok(())
    }
}
