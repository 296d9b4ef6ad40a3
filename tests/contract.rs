//! The repository contract suite: the same assertions against every adapter
//! of `ProductRepository` and `CartRepository` (in-memory, SQLite, PostgreSQL).

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use shaku::HasComponent;
use shop::container::module_builder;
use shop_application::ports::{CartRepository, CartUpdate, ProductCursor, ProductQuery, ProductRepository};
use shop_application::{CartError, ProductError};
use shop_domain::{
    Cart, CartChange, CartId, CartRuleError, Description, MaxLineQuantity, NewProduct, Price, Product, ProductId,
    ProductName, ProductPatch, Quantity, Version,
};
use shop_infrastructure::in_memory::{InMemoryCartRepository, InMemoryProductRepository, InMemoryStore};
use shop_tests::TestDatabase;

/// Both repositories of one backend, and what keeps its database alive.
struct Repos {
    products: Arc<dyn ProductRepository>,
    carts: Arc<dyn CartRepository>,
    _database: Option<TestDatabase>,
}

async fn in_memory() -> Option<Repos> {
    let store = InMemoryStore::new();
    Some(Repos {
        products: Arc::new(InMemoryProductRepository::new(store.clone())),
        carts: Arc::new(InMemoryCartRepository::new(store)),
        _database: None,
    })
}

async fn sea_orm(database: TestDatabase) -> Repos {
    // Resolved from the real container, so this also proves its wiring reaches the database.
    let options = database.settings.database.options();
    let writer = shop_infrastructure::seaorm::connect_writer(&options).await.expect("writer pool");
    let module =
        module_builder(database.settings.clone(), database.connect().await, writer).expect("valid settings").build();
    let products: Arc<dyn ProductRepository> = module.resolve();
    let carts: Arc<dyn CartRepository> = module.resolve();
    Repos { products, carts, _database: Some(database) }
}

async fn sqlite() -> Option<Repos> {
    Some(sea_orm(TestDatabase::sqlite()).await)
}

async fn postgres() -> Option<Repos> {
    Some(sea_orm(TestDatabase::postgres().await?).await)
}

macro_rules! contract_suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    if let Some(repos) = super::$backend().await {
                        super::$case(repos).await;
                    }
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        contract_suite!(in_memory: $($case),*);
        contract_suite!(sqlite: $($case),*);
        contract_suite!(postgres: $($case),*);
    };
}

all_backends!(
    product_round_trip,
    unknown_product_is_not_found,
    product_update_applies_the_patch,
    product_delete_cascades_to_cart_lines,
    product_listing_is_ordered_and_pages_by_keyset,
    product_search_ignores_case_and_escapes_wildcards,
    new_cart_is_empty_at_version_zero,
    adding_twice_adds_to_the_line,
    lines_show_live_names_and_prices_in_added_order,
    the_cap_refuses_and_changes_nothing,
    unknown_cart_or_product_is_reported_first,
    setting_quantities,
    removing_and_clearing,
    expected_version_guards_every_write,
    deleting_a_cart,
    concurrent_adds_sum_exactly,
);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

fn product(name: &str, price: i64, created_at: DateTime<Utc>) -> Product {
    NewProduct {
        name: ProductName::new(name).expect("valid name"),
        description: Some(Description::new("a description").expect("valid")),
        price: Price::new(price).expect("valid price"),
    }
    .into_product(ProductId::new_random(), created_at)
}

async fn stored_product(repos: &Repos, name: &str, price: i64) -> Product {
    let product = product(name, price, now());
    repos.products.insert(&product).await.expect("insert product");
    product
}

async fn stored_cart(repos: &Repos) -> Cart {
    let cart = Cart::new(CartId::new_random(), now());
    repos.carts.insert(&cart).await.expect("insert cart");
    cart
}

fn qty(n: i64) -> Quantity {
    Quantity::new(n, MaxLineQuantity::default()).expect("valid quantity")
}

fn update(cart: &Cart, change: CartChange) -> CartUpdate {
    CartUpdate {
        cart_id: cart.id,
        change,
        expected_version: None,
        max_line_quantity: MaxLineQuantity::default(),
        now: now(),
    }
}

fn add(product: &Product, n: i64) -> CartChange {
    CartChange::Add { product_id: product.id, quantity: qty(n) }
}

fn quantities(cart: &Cart) -> Vec<(ProductId, u32)> {
    cart.lines.iter().map(|line| (line.product_id, line.quantity.get())).collect()
}

async fn product_round_trip(repos: Repos) {
    let product = stored_product(&repos, "Green tea", 450).await;
    assert_eq!(repos.products.get(product.id).await.expect("found"), product);
}

async fn unknown_product_is_not_found(repos: Repos) {
    let unknown = ProductId::new_random();
    assert!(matches!(repos.products.get(unknown).await, Err(ProductError::NotFound)));
    let patch = ProductPatch { price: Some(Price::new(1).expect("valid")), ..ProductPatch::default() };
    assert!(matches!(repos.products.update(unknown, &patch, now()).await, Err(ProductError::NotFound)));
    assert!(matches!(repos.products.delete(unknown).await, Err(ProductError::NotFound)));
}

async fn product_update_applies_the_patch(repos: Repos) {
    let product = stored_product(&repos, "Green tea", 450).await;
    let later = now() + Duration::seconds(5);
    let patch = ProductPatch {
        name: Some(ProductName::new("Black tea").expect("valid")),
        description: Some(None),
        price: Some(Price::new(500).expect("valid")),
    };
    let updated = repos.products.update(product.id, &patch, later).await.expect("updated");
    let mut expected = product.clone();
    expected.apply(patch, later);
    assert_eq!(updated, expected);
    assert_eq!(updated.description, None);
    assert_eq!(repos.products.get(product.id).await.expect("found"), expected);
}

async fn product_delete_cascades_to_cart_lines(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 450).await;
    let cake = stored_product(&repos, "Cake", 300).await;
    let cart = stored_cart(&repos).await;
    repos.carts.update(update(&cart, add(&tea, 1))).await.expect("add tea");
    repos.carts.update(update(&cart, add(&cake, 2))).await.expect("add cake");
    repos.products.delete(tea.id).await.expect("deleted");
    assert!(matches!(repos.products.get(tea.id).await, Err(ProductError::NotFound)));
    let cart = repos.carts.get(cart.id).await.expect("cart");
    assert_eq!(quantities(&cart), vec![(cake.id, 2)]);
    assert_eq!(cart.subtotal(), 600);
}

async fn product_listing_is_ordered_and_pages_by_keyset(repos: Repos) {
    let t0 = now();
    let mut expected = Vec::new();
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        // Two products share a creation time: the id breaks the tie.
        let at = t0 + Duration::milliseconds([0, 1, 1, 2, 3][i]);
        let product = product(name, 100, at);
        repos.products.insert(&product).await.expect("insert");
        expected.push(product);
    }
    expected.sort_by_key(|p| (p.created_at, p.id));
    let query = |after, limit| ProductQuery { after, name_contains: None, limit };
    let all = repos.products.list(&query(None, 100)).await.expect("list");
    assert_eq!(all, expected);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = repos.products.list(&query(after, 2)).await.expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(ProductCursor::from);
        seen.extend(page);
    }
    assert_eq!(seen, expected);
}

async fn product_search_ignores_case_and_escapes_wildcards(repos: Repos) {
    let tea = stored_product(&repos, "Grüner TEE", 1).await;
    let percent = stored_product(&repos, "100% cotton", 1).await;
    stored_product(&repos, "1000 cottons", 1).await;
    let search = |text: &str| ProductQuery { after: None, name_contains: Some(text.to_owned()), limit: 10 };
    let names = |products: Vec<Product>| products.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(names(repos.products.list(&search("grÜNER t")).await.expect("list")), vec![tea.id]);
    assert_eq!(names(repos.products.list(&search("0% c")).await.expect("list")), vec![percent.id]);
    assert_eq!(names(repos.products.list(&search("_")).await.expect("list")), Vec::<ProductId>::new());
}

async fn new_cart_is_empty_at_version_zero(repos: Repos) {
    let cart = stored_cart(&repos).await;
    let read = repos.carts.get(cart.id).await.expect("found");
    assert_eq!(read, cart);
    assert_eq!(read.version, Version(0));
    assert!(matches!(repos.carts.get(CartId::new_random()).await, Err(CartError::CartNotFound)));
}

async fn adding_twice_adds_to_the_line(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 450).await;
    let cart = stored_cart(&repos).await;
    let once = repos.carts.update(update(&cart, add(&tea, 2))).await.expect("add");
    assert_eq!((quantities(&once), once.version), (vec![(tea.id, 2)], Version(1)));
    let twice = repos.carts.update(update(&cart, add(&tea, 3))).await.expect("add again");
    assert_eq!((quantities(&twice), twice.version), (vec![(tea.id, 5)], Version(2)));
    assert_eq!(twice.subtotal(), 2250);
    assert!(twice.updated_at >= once.updated_at);
    assert_eq!(repos.carts.get(cart.id).await.expect("read"), twice);
}

async fn lines_show_live_names_and_prices_in_added_order(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 450).await;
    let cake = stored_product(&repos, "Cake", 300).await;
    let cart = stored_cart(&repos).await;
    repos.carts.update(update(&cart, add(&cake, 1))).await.expect("add cake");
    repos.carts.update(update(&cart, add(&tea, 1))).await.expect("add tea");
    repos.carts.update(update(&cart, add(&cake, 1))).await.expect("more cake");
    let patch = ProductPatch {
        name: Some(ProductName::new("Cheesecake").expect("valid")),
        price: Some(Price::new(350).expect("valid")),
        description: None,
    };
    repos.products.update(cake.id, &patch, now()).await.expect("reprice");
    let read = repos.carts.get(cart.id).await.expect("read");
    assert_eq!(quantities(&read), vec![(cake.id, 2), (tea.id, 1)]);
    assert_eq!(read.lines[0].name.as_str(), "Cheesecake");
    assert_eq!(read.subtotal(), 2 * 350 + 450);
    assert_eq!(read.version, Version(3), "a price change is not a change of the cart");
}

async fn the_cap_refuses_and_changes_nothing(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 1).await;
    let cart = stored_cart(&repos).await;
    let max = MaxLineQuantity::new(10).expect("valid");
    let add_seven = CartUpdate {
        max_line_quantity: max,
        ..update(&cart, CartChange::Add { product_id: tea.id, quantity: Quantity::new(7, max).expect("valid") })
    };
    let before = repos.carts.update(add_seven).await.expect("fits");
    let refused = repos.carts.update(add_seven).await;
    assert!(
        matches!(refused, Err(CartError::Rule(CartRuleError::LineQuantityExceeded { requested: 14, max: 10 }))),
        "{refused:?}"
    );
    assert_eq!(repos.carts.get(cart.id).await.expect("read"), before);
}

async fn unknown_cart_or_product_is_reported_first(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 1).await;
    let cart = stored_cart(&repos).await;
    let ghost = product("Ghost", 1, now());
    let unknown_cart = Cart::new(CartId::new_random(), now());
    let result = repos.carts.update(update(&unknown_cart, add(&ghost, 1))).await;
    assert!(matches!(result, Err(CartError::CartNotFound)), "{result:?}");
    let result = repos.carts.update(update(&unknown_cart, add(&tea, 1))).await;
    assert!(matches!(result, Err(CartError::CartNotFound)), "{result:?}");
    let result = repos.carts.update(update(&cart, add(&ghost, 1))).await;
    assert!(matches!(result, Err(CartError::ProductNotFound)), "{result:?}");
    let set_ghost = CartChange::Set { product_id: ghost.id, quantity: Some(qty(1)) };
    assert!(matches!(repos.carts.update(update(&cart, set_ghost)).await, Err(CartError::ProductNotFound)));
    let zero_ghost = CartChange::Set { product_id: ghost.id, quantity: None };
    assert!(matches!(repos.carts.update(update(&cart, zero_ghost)).await, Err(CartError::ProductNotFound)));
    for change in [CartChange::Clear, CartChange::Remove { product_id: tea.id }] {
        assert!(matches!(repos.carts.update(update(&unknown_cart, change)).await, Err(CartError::CartNotFound)));
    }
    assert_eq!(repos.carts.get(cart.id).await.expect("read").version, Version(0));
}

async fn setting_quantities(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 2).await;
    let cart = stored_cart(&repos).await;
    let set = |q: Option<Quantity>| CartChange::Set { product_id: tea.id, quantity: q };
    let unchanged = repos.carts.update(update(&cart, set(None))).await.expect("zero of an absent line");
    assert_eq!((unchanged.version, unchanged.lines.len()), (Version(0), 0));
    let created = repos.carts.update(update(&cart, set(Some(qty(4))))).await.expect("create");
    assert_eq!((quantities(&created), created.version), (vec![(tea.id, 4)], Version(1)));
    let same = repos.carts.update(update(&cart, set(Some(qty(4))))).await.expect("same");
    assert_eq!(same.version, Version(1), "setting the same quantity changes nothing");
    let changed = repos.carts.update(update(&cart, set(Some(qty(9))))).await.expect("change");
    assert_eq!((quantities(&changed), changed.version), (vec![(tea.id, 9)], Version(2)));
    let removed = repos.carts.update(update(&cart, set(None))).await.expect("remove");
    assert_eq!((removed.lines.len(), removed.version), (0, Version(3)));
}

async fn removing_and_clearing(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 2).await;
    let cake = stored_product(&repos, "Cake", 3).await;
    let cart = stored_cart(&repos).await;
    let remove = CartChange::Remove { product_id: tea.id };
    let missing = repos.carts.update(update(&cart, remove)).await;
    assert!(matches!(missing, Err(CartError::Rule(CartRuleError::LineNotFound))), "{missing:?}");
    let cleared_empty = repos.carts.update(update(&cart, CartChange::Clear)).await.expect("clear empty");
    assert_eq!(cleared_empty.version, Version(0));
    repos.carts.update(update(&cart, add(&tea, 1))).await.expect("add");
    repos.carts.update(update(&cart, add(&cake, 1))).await.expect("add");
    let removed = repos.carts.update(update(&cart, remove)).await.expect("remove");
    assert_eq!((quantities(&removed), removed.version), (vec![(cake.id, 1)], Version(3)));
    let cleared = repos.carts.update(update(&cart, CartChange::Clear)).await.expect("clear");
    assert_eq!((cleared.lines.len(), cleared.version), (0, Version(4)));
}

async fn expected_version_guards_every_write(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 2).await;
    let ghost = product("Ghost", 1, now());
    let cart = stored_cart(&repos).await;
    let guarded = |change, version| CartUpdate { expected_version: Some(Version(version)), ..update(&cart, change) };
    let first = repos.carts.update(guarded(add(&tea, 1), 0)).await.expect("version 0 matches");
    assert_eq!(first.version, Version(1));
    for change in [
        add(&tea, 1),
        add(&ghost, 1),
        CartChange::Set { product_id: tea.id, quantity: Some(qty(1)) },
        CartChange::Set { product_id: tea.id, quantity: None },
        CartChange::Remove { product_id: tea.id },
        CartChange::Clear,
    ] {
        let stale = repos.carts.update(guarded(change, 0)).await;
        assert!(matches!(stale, Err(CartError::VersionMismatch { current: Version(1) })), "{change:?}: {stale:?}");
    }
    assert_eq!(repos.carts.get(cart.id).await.expect("read"), first, "nothing changed");
    let second = repos.carts.update(guarded(add(&tea, 1), 1)).await.expect("version 1 matches");
    assert_eq!((quantities(&second), second.version), (vec![(tea.id, 2)], Version(2)));
}

async fn deleting_a_cart(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 2).await;
    let cart = stored_cart(&repos).await;
    repos.carts.update(update(&cart, add(&tea, 1))).await.expect("add");
    let stale = repos.carts.delete(cart.id, Some(Version(0))).await;
    assert!(matches!(stale, Err(CartError::VersionMismatch { current: Version(1) })), "{stale:?}");
    repos.carts.delete(cart.id, Some(Version(1))).await.expect("deleted");
    assert!(matches!(repos.carts.get(cart.id).await, Err(CartError::CartNotFound)));
    assert!(matches!(repos.carts.delete(cart.id, None).await, Err(CartError::CartNotFound)));
    assert!(repos.products.get(tea.id).await.is_ok(), "the product stays");
}

async fn concurrent_adds_sum_exactly(repos: Repos) {
    let tea = stored_product(&repos, "Tea", 2).await;
    let cart = stored_cart(&repos).await;
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let carts = repos.carts.clone();
            let change = update(&cart, add(&tea, 1));
            tokio::spawn(async move { carts.update(change).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("every add succeeds");
    }
    let cart = repos.carts.get(cart.id).await.expect("read");
    assert_eq!((quantities(&cart), cart.version), (vec![(tea.id, 40)], Version(40)));
}
