//! The services over the in-memory adapters: fast tests of the use cases,
//! including the failure paths through the store's failure switch.

use std::sync::Arc;

use shaku::HasComponent;
use shop::container::{AppModule, InMemoryStorage, module_builder};
use shop::settings::Settings;
use shop_application::ports::StorageHealth;
use shop_application::services::{CartService, Expected, ListProducts, ProductService};
use shop_application::{AddItemError, GetCartError, ProductError, StorageError};
use shop_domain::{
    LineQuantityExceeded, MaxLineQuantity, NewProduct, Price, ProductId, ProductName, ProductPatch, Quantity, Version,
};
use shop_infrastructure::in_memory::InMemoryStore;

/// The real container over the in-memory storage.
fn module(store: &Arc<InMemoryStore>, max_line_quantity: u32) -> AppModule {
    let mut settings = Settings::defaults().expect("defaults");
    settings.cart.max_line_quantity = MaxLineQuantity::new(max_line_quantity).expect("a valid cap");
    module_builder(settings, InMemoryStorage::of(store)).build()
}

fn new_product(name: &str, price: i64) -> NewProduct {
    NewProduct {
        name: ProductName::new(name).expect("valid"),
        description: None,
        price: Price::new(price).expect("valid"),
    }
}

fn qty(n: i64) -> Quantity {
    Quantity::new(n, MaxLineQuantity::default()).expect("valid")
}

#[tokio::test]
async fn a_whole_cart_flow() {
    let store = InMemoryStore::new();
    let module = module(&store, 999);
    let products: Arc<dyn ProductService> = module.resolve();
    let carts: Arc<dyn CartService> = module.resolve();

    let tea = products.create(new_product("Green tea", 450), None).await.expect("created");
    let cake = products.create(new_product("Cake", 300), None).await.expect("created");
    let cart = carts.create(None).await.expect("created");
    carts.add_item(cart.id(), tea.id, qty(2), &Expected::Any, None).await.expect("added");
    carts.add_item(cart.id(), cake.id, qty(1), &Expected::version(Version(1)), None).await.expect("added");
    let cart = carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("added");
    assert_eq!((cart.total_quantity(), cart.subtotal(), cart.version()), (4, 3 * 450 + 300, Version(3)));

    let cart = carts.set_item_quantity(cart.id(), cake.id, None, &Expected::Any).await.expect("removed");
    assert_eq!(cart.lines().len(), 1);
    products.delete(tea.id).await.expect("deleted");
    let cart = carts.get(cart.id()).await.expect("read");
    assert!(cart.lines().is_empty(), "deleting a product empties its lines");
    carts.delete(cart.id(), &Expected::version(cart.version())).await.expect("deleted");
    assert!(matches!(carts.get(cart.id()).await, Err(GetCartError::NotFound)));
}

#[tokio::test]
async fn the_cap_comes_from_the_settings() {
    let store = InMemoryStore::new();
    let module = module(&store, 5);
    let products: Arc<dyn ProductService> = module.resolve();
    let carts: Arc<dyn CartService> = module.resolve();
    assert_eq!(carts.max_line_quantity().get(), 5);
    let tea = products.create(new_product("Tea", 1), None).await.expect("created");
    let cart = carts.create(None).await.expect("created");
    carts.add_item(cart.id(), tea.id, qty(3), &Expected::Any, None).await.expect("fits");
    let refused = carts.add_item(cart.id(), tea.id, qty(3), &Expected::Any, None).await;
    assert!(
        matches!(refused, Err(AddItemError::LineQuantityExceeded(LineQuantityExceeded { requested: 6, max: 5 }))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn listing_pages_through_everything_once() {
    let store = InMemoryStore::new();
    let module = module(&store, 999);
    let products: Arc<dyn ProductService> = module.resolve();
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(products.create(new_product(&format!("Product {i}"), i), None).await.expect("created").id);
    }
    let mut seen: Vec<ProductId> = Vec::new();
    let mut after = None;
    loop {
        let page = products.list(ListProducts { after, name_contains: None, limit: 3 }).await.expect("page");
        seen.extend(page.items.iter().map(|p| p.id));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, created);
}

#[tokio::test]
async fn an_empty_patch_changes_nothing() {
    let store = InMemoryStore::new();
    let module = module(&store, 999);
    let products: Arc<dyn ProductService> = module.resolve();
    let tea = products.create(new_product("Tea", 1), None).await.expect("created");
    assert_eq!(products.update(tea.id, ProductPatch::default()).await.expect("unchanged"), tea);
    let missing = products.update(ProductId::new_random(), ProductPatch::default()).await;
    assert!(matches!(missing, Err(ProductError::NotFound)));
}

#[tokio::test]
async fn a_storage_outage_surfaces_as_unavailable() {
    let store = InMemoryStore::new();
    let module = module(&store, 999);
    let products: Arc<dyn ProductService> = module.resolve();
    let carts: Arc<dyn CartService> = module.resolve();
    let health: Arc<dyn StorageHealth> = module.resolve();
    let cart = carts.create(None).await.expect("created");
    assert!(health.ping().await.is_ok());
    store.set_unavailable(true);
    assert!(matches!(
        products.create(new_product("Tea", 1), None).await,
        Err(ProductError::Storage(StorageError::Unavailable(_)))
    ));
    assert!(matches!(carts.get(cart.id()).await, Err(GetCartError::Storage(StorageError::Unavailable(_)))));
    assert!(matches!(health.ping().await, Err(StorageError::Unavailable(_))), "readiness sees it");
    store.set_unavailable(false);
    assert!(carts.get(cart.id()).await.is_ok(), "recovers when the store is back");
}
