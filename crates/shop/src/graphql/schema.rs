//! The queries and mutations: each turns its arguments into domain values,
//! calls the same application service as the REST handler of the same use
//! case, and turns the answer into GraphQL objects.

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Guard, Object, Result, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shaku::HasComponent;
use shop_application::idempotency::{Answer, Claim, Idempotent};
use shop_application::services::{CartService, Expected, ListProducts, ProductService};
use shop_application::{GetCartError, ProductError};
use shop_domain::{
    Cart, CartId, Description, NewProduct, Price, Product as DomainProduct, ProductId, ProductName, ProductPatch,
    Quantity, SearchText, Version,
};

use super::errors::{graphql_error, malformed};
use super::types::{CartView, Long, Product, ProductConnection, ProductInput, ProductPatchInput, Uuid};
use crate::container::{AppModule, AppSettings};
use crate::edge::cursor::decode_cursor;
use crate::edge::rate_limit::ClientLimits;
use crate::edge::{ApiError, Errors, unless_cart_missing};

/// The schema: queries and mutations, no subscriptions.
pub type ShopSchema = Schema<Query, Mutation, EmptySubscription>;

/// The most levels of selection in a document, leaf fields counted.
pub const MAX_DEPTH: usize = 15;

/// The schema. Introspection is switched off per request (`graphql.introspection`).
pub fn build() -> ShopSchema {
    Schema::build(Query, Mutation, EmptySubscription).limit_depth(MAX_DEPTH).finish()
}

/// What the resolvers of one request see besides their arguments.
pub struct Caller {
    /// The container, where the services are.
    pub module: Arc<AppModule>,
    /// Whether catalog writes are allowed: the admin token came, or none is configured.
    pub admin: bool,
    /// The rate limits of the request's client, when limits are on.
    pub limits: Option<ClientLimits>,
    /// What the request's idempotency key asks of its one mutation.
    pub key: KeyUse,
}

/// What an `Idempotency-Key` asks of a document's one mutation.
pub enum KeyUse {
    /// No key: run it.
    None,
    /// Run it under this claim, keeping its result with its change.
    Claim(Claim),
    /// It ran before: give its kept result again.
    Replay(Answer),
}

fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}

impl Caller {
    fn carts(&self) -> &dyn CartService {
        self.module.resolve_ref()
    }

    fn products(&self) -> &dyn ProductService {
        self.module.resolve_ref()
    }

    fn currency(&self) -> shop_domain::Currency {
        let settings: &dyn AppSettings = self.module.resolve_ref();
        settings.currency()
    }

    fn cart(&self, cart: Cart) -> CartView {
        let expires_at = self.carts().expires_at(&cart);
        CartView::new(cart, self.currency(), expires_at)
    }
}

/// What a mutation must pass before it runs, in REST's order: the client's
/// rate limits first, then, for the catalog, the admin token.
enum Write {
    /// A catalog write: the token is needed.
    Catalog,
    /// Creating a cart: the cart limit counts too.
    NewCart,
    /// Any other cart write.
    Cart,
}

impl Guard for Write {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        let caller = caller(ctx);
        if let Some(limits) = &caller.limits {
            limits
                .check(matches!(self, Self::NewCart))
                .map_err(|retry_after| graphql_error(ApiError::RateLimited { retry_after }, None))?;
        }
        match self {
            Self::Catalog if !caller.admin => Err(graphql_error(ApiError::Unauthorized, None)),
            _ => Ok(()),
        }
    }
}

/// An error of the REST edge's mapping, as GraphQL carries it.
fn api(error: impl Into<ApiError>) -> async_graphql::Error {
    graphql_error(error.into(), None)
}

/// A result, kept as an answer.
fn kept<T: Serialize>(view: &T) -> Answer {
    Answer(serde_json::to_vec(view).unwrap_or_default())
}

impl Caller {
    /// The result this mutation gave before, when its key was answered.
    fn replayed<T: DeserializeOwned>(&self) -> Result<Option<T>> {
        match &self.key {
            KeyUse::Replay(answer) => {
                serde_json::from_slice(&answer.0).map(Some).map_err(|err| api(ApiError::Internal(Box::new(err))))
            }
            _ => Ok(None),
        }
    }

    /// The use case's idempotent write under the key's claim, answered by `answer`.
    fn once<'a, T>(&'a self, answer: &'a (dyn Fn(&T) -> Answer + Sync)) -> Option<Idempotent<'a, T>> {
        match &self.key {
            KeyUse::Claim(claim) => Some(Idempotent { claim, answer }),
            _ => None,
        }
    }
}

fn expected(version: Option<Long>) -> Expected {
    match version {
        None => Expected::Any,
        Some(Long(version)) => Expected::OneOf(u64::try_from(version).map(Version).into_iter().collect()),
    }
}

/// The queries.
pub struct Query;

#[Object]
impl Query {
    /// Oldest first, ties by id. `first` 1..=100 (default 20); `after`: an `endCursor` or REST `next_cursor`; `query`: case-insensitive substring of the name.
    async fn products(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: Option<i32>,
        after: Option<String>,
        query: Option<String>,
    ) -> Result<ProductConnection> {
        let caller = caller(ctx);
        // An explicit null is the default, as for any optional argument here.
        let limit = u32::try_from(first.unwrap_or(20))
            .ok()
            .filter(|first| (1..=100).contains(first))
            .ok_or_else(|| malformed("first must be between 1 and 100"))?;
        let after = after.as_deref().map(decode_cursor).transpose().map_err(api)?;
        let name_contains = query
            .filter(|query| !query.is_empty())
            .map(|query| SearchText::new(&query))
            .transpose()
            .map_err(|err| malformed(err.to_string()))?;
        let page = caller.products().list(ListProducts { after, name_contains, limit }).await.map_err(api)?;
        Ok(ProductConnection::new(page.items, page.next.is_some(), caller.currency()))
    }

    /// null when no product has this id.
    async fn product(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<Product>> {
        let caller = caller(ctx);
        match caller.products().get(ProductId(id.0)).await {
            Ok(product) => Ok(Some(Product::new(product, caller.currency()))),
            Err(ProductError::NotFound) => Ok(None),
            Err(err) => Err(api(err)),
        }
    }

    /// null when no cart has this id.
    async fn cart(&self, ctx: &Context<'_>, id: Uuid) -> Result<Option<CartView>> {
        let caller = caller(ctx);
        match caller.carts().get(CartId(id.0)).await {
            Ok(cart) => Ok(Some(caller.cart(cart))),
            Err(GetCartError::NotFound) => Ok(None),
            Err(err) => Err(api(err)),
        }
    }
}

/// The mutations.
pub struct Mutation;

#[Object]
impl Mutation {
    #[graphql(guard = "Write::Catalog")]
    async fn create_product(&self, ctx: &Context<'_>, product_info: ProductInput) -> Result<Product> {
        let caller = caller(ctx);
        let new = new_product(&product_info).map_err(|err| graphql_error(err, Some("productInfo")))?;
        if let Some(product) = caller.replayed()? {
            return Ok(product);
        }
        let currency = caller.currency();
        let answer = |product: &DomainProduct| kept(&Product::new(product.clone(), currency));
        let product = caller.products().create(new, caller.once(&answer)).await.map_err(api)?;
        Ok(Product::new(product, currency))
    }

    #[graphql(guard = "Write::Catalog")]
    async fn update_product_info(
        &self,
        ctx: &Context<'_>,
        id: Uuid,
        product_info: ProductPatchInput,
    ) -> Result<Product> {
        let caller = caller(ctx);
        let patch = product_patch(&product_info).map_err(|err| graphql_error(err, Some("productInfo")))?;
        let product = caller.products().update(ProductId(id.0), patch).await.map_err(api)?;
        Ok(Product::new(product, caller.currency()))
    }

    /// Returns the deleted product's id; its cart lines go with it.
    #[graphql(guard = "Write::Catalog")]
    async fn delete_product(&self, ctx: &Context<'_>, id: Uuid) -> Result<Uuid> {
        let caller = caller(ctx);
        caller.products().delete(ProductId(id.0)).await.map_err(api)?;
        Ok(id)
    }

    #[graphql(guard = "Write::NewCart")]
    async fn create_cart(&self, ctx: &Context<'_>) -> Result<CartView> {
        let caller = caller(ctx);
        if let Some(cart) = caller.replayed()? {
            return Ok(cart);
        }
        let answer = |cart: &Cart| kept(&caller.cart(cart.clone()));
        let cart = caller.carts().create(caller.once(&answer)).await.map_err(api)?;
        Ok(caller.cart(cart))
    }

    /// Adds to the line that holds the product, or adds a line.
    #[graphql(guard = "Write::Cart")]
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        cart_id: Uuid,
        product_id: Uuid,
        #[graphql(default = 1)] quantity: Option<i32>,
        expected_version: Option<Long>,
    ) -> Result<CartView> {
        let caller = caller(ctx);
        let carts = caller.carts();
        let id = CartId(cart_id.0);
        let quantity = Quantity::new(i64::from(quantity.unwrap_or(1)), carts.max_line_quantity())
            .map_err(|err| ApiError::invalid_field("quantity", err.to_string()));
        let quantity = unless_cart_missing(carts, id, quantity).await.map_err(api)?;
        let (product_id, expected) = (ProductId(product_id.0), expected(expected_version));
        if let Some(cart) = caller.replayed()? {
            return Ok(cart);
        }
        let answer = |cart: &Cart| kept(&caller.cart(cart.clone()));
        let once = caller.once(&answer);
        let cart = carts.add_item(id, product_id, quantity, &expected, once).await.map_err(api)?;
        Ok(caller.cart(cart))
    }

    /// Sets a line's quantity (creates the line if absent); 0 removes it.
    #[graphql(guard = "Write::Cart")]
    async fn set_item_quantity(
        &self,
        ctx: &Context<'_>,
        cart_id: Uuid,
        product_id: Uuid,
        quantity: i32,
        expected_version: Option<Long>,
    ) -> Result<CartView> {
        let caller = caller(ctx);
        let carts = caller.carts();
        let id = CartId(cart_id.0);
        let quantity = Quantity::new_or_zero(i64::from(quantity), carts.max_line_quantity())
            .map_err(|err| ApiError::invalid_field("quantity", err.to_string()));
        let quantity = unless_cart_missing(carts, id, quantity).await.map_err(api)?;
        let cart = carts.set_item_quantity(id, ProductId(product_id.0), quantity, &expected(expected_version)).await;
        Ok(caller.cart(cart.map_err(api)?))
    }

    #[graphql(guard = "Write::Cart")]
    async fn remove_from_cart(
        &self,
        ctx: &Context<'_>,
        cart_id: Uuid,
        product_id: Uuid,
        expected_version: Option<Long>,
    ) -> Result<CartView> {
        let caller = caller(ctx);
        let expected = expected(expected_version);
        let cart = caller.carts().remove_item(CartId(cart_id.0), ProductId(product_id.0), &expected).await;
        Ok(caller.cart(cart.map_err(api)?))
    }

    #[graphql(guard = "Write::Cart")]
    async fn clear_cart(&self, ctx: &Context<'_>, cart_id: Uuid, expected_version: Option<Long>) -> Result<CartView> {
        let caller = caller(ctx);
        let cart = caller.carts().clear(CartId(cart_id.0), &expected(expected_version)).await;
        Ok(caller.cart(cart.map_err(api)?))
    }

    /// Returns the deleted cart's id.
    #[graphql(guard = "Write::Cart")]
    async fn delete_cart(&self, ctx: &Context<'_>, cart_id: Uuid, expected_version: Option<Long>) -> Result<Uuid> {
        let caller = caller(ctx);
        caller.carts().delete(CartId(cart_id.0), &expected(expected_version)).await.map_err(api)?;
        Ok(cart_id)
    }
}

fn new_product(input: &ProductInput) -> Result<NewProduct, ApiError> {
    let mut errors = Errors::default();
    let name = errors.check("name", ProductName::new(&input.name).map_err(|err| err.to_string()));
    let description = errors.check(
        "description",
        input.description.as_deref().map(Description::new).transpose().map_err(|err| err.to_string()),
    );
    let price = errors.check("price", Price::new(i64::from(input.price)).map_err(|err| err.to_string()));
    errors.finish(|| Some(NewProduct { name: name?, description: description?, price: price? }))
}

fn product_patch(input: &ProductPatchInput) -> Result<ProductPatch, ApiError> {
    use async_graphql::MaybeUndefined::{Null, Undefined, Value};
    let mut errors = Errors::default();
    let name = errors.check(
        "name",
        match &input.name {
            Undefined => Ok(None),
            Null => Err("name must not be null".to_owned()),
            Value(name) => ProductName::new(name).map(Some).map_err(|err| err.to_string()),
        },
    );
    let description = errors.check(
        "description",
        match &input.description {
            Undefined => Ok(None),
            Null => Ok(Some(None)),
            Value(text) => Description::new(text).map(|d| Some(Some(d))).map_err(|err| err.to_string()),
        },
    );
    let price = errors.check(
        "price",
        match &input.price {
            Undefined => Ok(None),
            Null => Err("price must not be null".to_owned()),
            Value(price) => Price::new(i64::from(*price)).map(Some).map_err(|err| err.to_string()),
        },
    );
    errors.finish(|| Some(ProductPatch { name: name?, description: description?, price: price? }))
}
