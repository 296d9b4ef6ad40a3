//! The contract suite: the same assertions against every storage adapter
//! (in-memory, SQLite, PostgreSQL, and PostgreSQL without its fast path).
//!
//! - The ports' contracts: what `ProductRepository` and `CartRepository`
//!   must do, called directly.
//! - The cart use cases over each storage: the rules are the domain's, and
//!   every storage must keep them the same way, atomically, under concurrent
//!   writers. On PostgreSQL, adds and sets take the one-statement fast path;
//!   the `postgres_general_path` backend runs the same cases with it off, so
//!   the two are held to the same answers.

use std::sync::Arc;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use shaku::HasComponent;
use shop::container::{InMemoryStorage, SeaOrmStorage, Storage, module_builder};
use shop::settings::Settings;
use shop_application::idempotency::{
    Answer, Claim, Claimed, Completion, Fingerprint, IdempotencyKey, IdempotencyStore,
};
use shop_application::ports::{
    CartFastPath, CartRepository, NoFastPath, ProductCursor, ProductQuery, ProductRepository, Saved,
};
use shop_application::services::{CartService, Expected, ProductService};
use shop_application::{
    AddItemError, CartWriteError, GetCartError, ProductError, RemoveItemError, SetItemError, StorageError,
};
use shop_domain::{
    Cart, CartId, CartLimits, Description, LineQuantityExceeded, MaxLineQuantity, NewProduct, Price, Product,
    ProductId, ProductName, ProductPatch, Quantity, SearchText, Version,
};
use shop_infrastructure::in_memory::InMemoryStore;
use shop_tests::TestDatabase;

/// One storage, its repositories, and what keeps its database alive.
struct Backend {
    storage: Arc<dyn Storage>,
    settings: Settings,
    products: Arc<dyn ProductRepository>,
    carts: Arc<dyn CartRepository>,
    keys: Arc<dyn IdempotencyStore>,
    _database: Option<TestDatabase>,
}

impl Backend {
    fn new(storage: Arc<dyn Storage>, settings: Settings, database: Option<TestDatabase>) -> Self {
        let products: Arc<dyn ProductRepository> = storage.resolve();
        let carts: Arc<dyn CartRepository> = storage.resolve();
        let keys: Arc<dyn IdempotencyStore> = storage.resolve();
        Self { storage, settings, products, carts, keys, _database: database }
    }

    /// The cart use cases over this storage, with a line cap of `max`.
    fn cart_service(&self, max: u32) -> Arc<dyn CartService> {
        let mut settings = self.settings.clone();
        settings.cart.max_line_quantity = MaxLineQuantity::new(max).expect("a valid cap");
        module_builder(settings, self.storage.clone()).build().resolve()
    }

    fn carts(&self) -> Arc<dyn CartService> {
        self.cart_service(999)
    }

    fn product_service(&self) -> Arc<dyn ProductService> {
        module_builder(self.settings.clone(), self.storage.clone()).build().resolve()
    }
}

async fn in_memory() -> Option<Backend> {
    let settings = Settings::defaults().expect("defaults");
    Some(Backend::new(InMemoryStorage::of(&InMemoryStore::new()), settings, None))
}

/// The real SeaORM storage over `database`, migrated; with `general_path_only`,
/// without its fast path.
async fn sea_orm(database: TestDatabase, general_path_only: bool) -> Backend {
    let options = database.settings.database_options();
    let connection = database.connect().await;
    let writer = shop_infrastructure::seaorm::connect_writer(&options).await.expect("writer pool");
    let mut storage = SeaOrmStorage::over(connection, writer);
    if general_path_only {
        storage = storage.with_component_override::<dyn CartFastPath>(Box::new(NoFastPath));
    }
    Backend::new(Arc::new(storage.build()), database.settings.clone(), Some(database))
}

async fn sqlite() -> Option<Backend> {
    Some(sea_orm(TestDatabase::sqlite(), false).await)
}

async fn postgres() -> Option<Backend> {
    Some(sea_orm(TestDatabase::postgres().await?, false).await)
}

async fn postgres_general_path() -> Option<Backend> {
    Some(sea_orm(TestDatabase::postgres().await?, true).await)
}

macro_rules! contract_suite {
    ($backend:ident, ignored if $ignored:meta: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr($ignored, ignore = "needs SHOP_TEST_POSTGRES_URL")]
                async fn $case() {
                    if let Some(backend) = super::$backend().await {
                        super::$case(backend).await;
                    }
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($case:ident),* $(,)?) => {
        contract_suite!(in_memory, ignored if any(): $($case),*);
        contract_suite!(sqlite, ignored if any(): $($case),*);
        contract_suite!(postgres, ignored if not(postgres_tests): $($case),*);
        contract_suite!(postgres_general_path, ignored if not(postgres_tests): $($case),*);
    };
}

all_backends!(
    // The ports.
    product_round_trip,
    unknown_product_is_not_found,
    product_update_applies_the_patch,
    product_delete_cascades_to_cart_lines,
    product_listing_is_ordered_and_pages_by_keyset,
    product_search_ignores_case_and_escapes_wildcards,
    new_cart_is_empty_at_version_zero,
    saving_stores_each_kind_of_change,
    a_stale_save_writes_nothing,
    deleting_is_a_compare_and_set,
    // The cart use cases over the storage.
    adding_twice_adds_to_the_line,
    lines_show_live_names_and_prices_in_added_order,
    the_cap_refuses_and_changes_nothing,
    unknown_cart_or_product_is_reported_first,
    setting_quantities,
    removing_and_clearing,
    expected_version_guards_every_write,
    deleting_a_cart,
    concurrent_adds_sum_exactly,
    concurrent_changes_lose_no_update,
    fast_and_general_paths_racing_on_one_cart_never_deadlock,
    // Idempotency keys.
    a_claim_is_exclusive_and_bound_to_its_request,
    an_answer_commits_with_its_change,
    a_claim_taken_over_after_its_lease_ran_out_writes_nothing,
    releasing_frees_only_an_unanswered_claim_of_ones_own,
    expired_keys_are_claimed_again_and_purged_in_batches,
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

async fn stored_product(backend: &Backend, name: &str, price: i64) -> Product {
    let product = product(name, price, now());
    backend.products.insert(&product, None).await.expect("insert product");
    product
}

async fn stored_cart(backend: &Backend) -> Cart {
    let cart = Cart::new(CartId::new_random(), now());
    backend.carts.insert(&cart, None).await.expect("insert cart");
    cart
}

async fn read(backend: &Backend, id: CartId) -> Cart {
    backend.carts.get(id).await.expect("read").expect("the cart exists")
}

fn qty(n: i64) -> Quantity {
    Quantity::new(n, MaxLineQuantity::default()).expect("valid quantity")
}

fn quantities(cart: &Cart) -> Vec<(ProductId, u32)> {
    cart.lines().iter().map(|line| (line.product_id, line.quantity.get())).collect()
}

// ---------------------------------------------------------------- the ports

async fn product_round_trip(backend: Backend) {
    let product = stored_product(&backend, "Green tea", 450).await;
    assert_eq!(backend.products.get(product.id).await.expect("found"), product);
}

async fn unknown_product_is_not_found(backend: Backend) {
    let unknown = ProductId::new_random();
    assert!(matches!(backend.products.get(unknown).await, Err(ProductError::NotFound)));
    let patch = ProductPatch { price: Some(Price::new(1).expect("valid")), ..ProductPatch::default() };
    assert!(matches!(backend.products.update(unknown, &patch, now()).await, Err(ProductError::NotFound)));
    assert!(matches!(backend.products.delete(unknown).await, Err(ProductError::NotFound)));
}

async fn product_update_applies_the_patch(backend: Backend) {
    let product = stored_product(&backend, "Green tea", 450).await;
    let later = now() + Duration::seconds(5);
    let patch = ProductPatch {
        name: Some(ProductName::new("Black tea").expect("valid")),
        description: Some(None),
        price: Some(Price::new(500).expect("valid")),
    };
    let updated = backend.products.update(product.id, &patch, later).await.expect("updated");
    let mut expected = product.clone();
    expected.apply(patch, later);
    assert_eq!(updated, expected);
    assert_eq!(updated.description, None);
    assert_eq!(backend.products.get(product.id).await.expect("found"), expected);
}

async fn product_delete_cascades_to_cart_lines(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 450).await;
    let cake = stored_product(&backend, "Cake", 300).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("add tea");
    carts.add_item(cart.id(), cake.id, qty(2), &Expected::Any, None).await.expect("add cake");
    backend.products.delete(tea.id).await.expect("deleted");
    assert!(matches!(backend.products.get(tea.id).await, Err(ProductError::NotFound)));
    let cart = read(&backend, cart.id()).await;
    assert_eq!(quantities(&cart), vec![(cake.id, 2)]);
    assert_eq!(cart.subtotal(), 600);
}

async fn product_listing_is_ordered_and_pages_by_keyset(backend: Backend) {
    let t0 = now();
    let mut expected = Vec::new();
    for (i, name) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        // Two products share a creation time: the id breaks the tie.
        let at = t0 + Duration::milliseconds([0, 1, 1, 2, 3][i]);
        let product = product(name, 100, at);
        backend.products.insert(&product, None).await.expect("insert");
        expected.push(product);
    }
    expected.sort_by_key(|p| (p.created_at, p.id));
    let query = |after, limit| ProductQuery { after, name_contains: None, limit };
    let all = backend.products.list(&query(None, 100)).await.expect("list");
    assert_eq!(all, expected);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = backend.products.list(&query(after, 2)).await.expect("page");
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = page.last().map(ProductCursor::from);
        seen.extend(page);
    }
    assert_eq!(seen, expected);
}

async fn product_search_ignores_case_and_escapes_wildcards(backend: Backend) {
    let tea = stored_product(&backend, "Grüner TEE", 1).await;
    let percent = stored_product(&backend, "100% cotton", 1).await;
    stored_product(&backend, "1000 cottons", 1).await;
    let search = |text: &str| ProductQuery { after: None, name_contains: SearchText::new(text).ok(), limit: 10 };
    let ids = |products: Vec<Product>| products.into_iter().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(ids(backend.products.list(&search("grÜNER t")).await.expect("list")), vec![tea.id]);
    assert_eq!(ids(backend.products.list(&search("0% c")).await.expect("list")), vec![percent.id]);
    assert_eq!(ids(backend.products.list(&search("_")).await.expect("list")), Vec::<ProductId>::new());
}

async fn new_cart_is_empty_at_version_zero(backend: Backend) {
    let cart = stored_cart(&backend).await;
    let read = read(&backend, cart.id()).await;
    assert_eq!(read, cart);
    assert_eq!(read.version(), Version(0));
    assert!(backend.carts.get(CartId::new_random()).await.expect("a read").is_none());
}

async fn saving_stores_each_kind_of_change(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 450).await;
    let cake = stored_product(&backend, "Cake", 300).await;
    let mut cart = stored_cart(&backend).await;
    let max = CartLimits::default();
    let mut changes = vec![cart.add(&tea, qty(2), max, now()).expect("fits")];
    let mut expected = vec![cart.clone()];
    changes.push(cart.set_quantity(&cake, Some(qty(3)), max, now()).expect("fits").expect("a new line"));
    expected.push(cart.clone());
    changes.push(cart.add(&tea, qty(5), max, now()).expect("fits"));
    expected.push(cart.clone());
    changes.push(cart.set_quantity(&tea, None, max, now()).expect("fits").expect("removed"));
    expected.push(cart.clone());
    changes.push(cart.clear(now()).expect("cleared"));
    expected.push(cart.clone());
    let mut previous = read(&backend, cart.id()).await;
    for (change, after) in changes.into_iter().zip(expected) {
        assert_eq!(backend.carts.save(&after, change, None).await.expect("saved"), Saved::Done, "{change:?}");
        let stored = read(&backend, cart.id()).await;
        assert_eq!(stored, after, "{change:?} stored as the cart has it");
        assert_eq!(stored.version(), previous.version().next());
        previous = stored;
    }
}

async fn a_stale_save_writes_nothing(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let cake = stored_product(&backend, "Cake", 2).await;
    let cart = stored_cart(&backend).await;
    let max = CartLimits::default();
    // Two writers load the same cart; the first to save wins.
    let (mut first, mut second) = (cart.clone(), cart.clone());
    let first_change = first.add(&tea, qty(1), max, now()).expect("fits");
    let second_change = second.add(&cake, qty(1), max, now()).expect("fits");
    assert_eq!(backend.carts.save(&first, first_change, None).await.expect("saved"), Saved::Done);
    assert_eq!(backend.carts.save(&second, second_change, None).await.expect("answered"), Saved::Stale);
    assert_eq!(read(&backend, cart.id()).await, first);

    // A line whose product was deleted meanwhile is not stored.
    let mut racing = first.clone();
    let change = racing.add(&cake, qty(1), max, now()).expect("fits");
    backend.products.delete(cake.id).await.expect("deleted");
    assert_eq!(backend.carts.save(&racing, change, None).await.expect("answered"), Saved::Stale);
    assert_eq!(read(&backend, cart.id()).await, first);

    // Nor is a change of a cart deleted meanwhile.
    let mut gone = first.clone();
    let change = gone.add(&tea, qty(1), max, now()).expect("fits");
    assert_eq!(backend.carts.delete(&first).await.expect("deleted"), Saved::Done);
    assert_eq!(backend.carts.save(&gone, change, None).await.expect("answered"), Saved::Stale);
    assert!(backend.carts.get(cart.id()).await.expect("a read").is_none());
}

async fn deleting_is_a_compare_and_set(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let loaded = stored_cart(&backend).await;
    let mut changed = loaded.clone();
    let change = changed.add(&tea, qty(1), CartLimits::default(), now()).expect("fits");
    assert_eq!(backend.carts.save(&changed, change, None).await.expect("saved"), Saved::Done);
    assert_eq!(backend.carts.delete(&loaded).await.expect("answered"), Saved::Stale, "it moved on");
    assert_eq!(read(&backend, loaded.id()).await, changed);
    assert_eq!(backend.carts.delete(&changed).await.expect("deleted"), Saved::Done);
    assert!(backend.carts.get(loaded.id()).await.expect("a read").is_none());
    assert_eq!(backend.carts.delete(&changed).await.expect("answered"), Saved::Stale, "already gone");
}

// ---------------------------------------------------------------- the cart use cases

async fn adding_twice_adds_to_the_line(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 450).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    let once = carts.add_item(cart.id(), tea.id, qty(2), &Expected::Any, None).await.expect("add");
    assert_eq!((quantities(&once), once.version()), (vec![(tea.id, 2)], Version(1)));
    let twice = carts.add_item(cart.id(), tea.id, qty(3), &Expected::Any, None).await.expect("add again");
    assert_eq!((quantities(&twice), twice.version()), (vec![(tea.id, 5)], Version(2)));
    assert_eq!(twice.subtotal(), 2250);
    assert!(twice.updated_at() >= once.updated_at());
    assert_eq!(read(&backend, cart.id()).await, twice);
}

async fn lines_show_live_names_and_prices_in_added_order(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 450).await;
    let cake = stored_product(&backend, "Cake", 300).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    carts.add_item(cart.id(), cake.id, qty(1), &Expected::Any, None).await.expect("add cake");
    carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("add tea");
    carts.add_item(cart.id(), cake.id, qty(1), &Expected::Any, None).await.expect("more cake");
    let patch = ProductPatch {
        name: Some(ProductName::new("Cheesecake").expect("valid")),
        price: Some(Price::new(350).expect("valid")),
        description: None,
    };
    backend.product_service().update(cake.id, patch).await.expect("reprice");
    let read = carts.get(cart.id()).await.expect("read");
    assert_eq!(quantities(&read), vec![(cake.id, 2), (tea.id, 1)]);
    assert_eq!(read.lines()[0].name.as_str(), "Cheesecake");
    assert_eq!(read.subtotal(), 2 * 350 + 450);
    assert_eq!(read.version(), Version(3), "a price change is not a change of the cart");
}

async fn the_cap_refuses_and_changes_nothing(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.cart_service(10);
    let seven = Quantity::new(7, MaxLineQuantity::new(10).expect("valid")).expect("valid");
    let before = carts.add_item(cart.id(), tea.id, seven, &Expected::Any, None).await.expect("fits");
    let refused = carts.add_item(cart.id(), tea.id, seven, &Expected::Any, None).await;
    assert!(
        matches!(refused, Err(AddItemError::LineQuantityExceeded(LineQuantityExceeded { requested: 14, max: 10 }))),
        "{refused:?}"
    );
    assert_eq!(read(&backend, cart.id()).await, before);
}

async fn unknown_cart_or_product_is_reported_first(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    let ghost = product("Ghost", 1, now()).id;
    let nowhere = CartId::new_random();
    let cart_not_found =
        |result: Result<Cart, AddItemError>| matches!(result, Err(AddItemError::Cart(CartWriteError::CartNotFound)));
    assert!(cart_not_found(carts.add_item(nowhere, ghost, qty(1), &Expected::Any, None).await));
    assert!(cart_not_found(carts.add_item(nowhere, tea.id, qty(1), &Expected::Any, None).await));
    let result = carts.add_item(cart.id(), ghost, qty(1), &Expected::Any, None).await;
    assert!(matches!(result, Err(AddItemError::ProductNotFound)), "{result:?}");
    for quantity in [Some(qty(1)), None] {
        let result = carts.set_item_quantity(cart.id(), ghost, quantity, &Expected::Any).await;
        assert!(matches!(result, Err(SetItemError::ProductNotFound)), "{quantity:?}: {result:?}");
        let result = carts.set_item_quantity(nowhere, tea.id, quantity, &Expected::Any).await;
        assert!(matches!(result, Err(SetItemError::Cart(CartWriteError::CartNotFound))), "{result:?}");
    }
    assert!(matches!(carts.clear(nowhere, &Expected::Any).await, Err(CartWriteError::CartNotFound)));
    let result = carts.remove_item(nowhere, tea.id, &Expected::Any).await;
    assert!(matches!(result, Err(RemoveItemError::Cart(CartWriteError::CartNotFound))), "{result:?}");
    assert!(matches!(carts.get(nowhere).await, Err(GetCartError::NotFound)));
    assert_eq!(read(&backend, cart.id()).await.version(), Version(0));
}

async fn setting_quantities(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 2).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    let set = |quantity| carts.set_item_quantity(cart.id(), tea.id, quantity, &Expected::Any);
    let unchanged = set(None).await.expect("zero of an absent line");
    assert_eq!((unchanged.version(), unchanged.lines().len()), (Version(0), 0));
    let created = set(Some(qty(4))).await.expect("create");
    assert_eq!((quantities(&created), created.version()), (vec![(tea.id, 4)], Version(1)));
    let same = set(Some(qty(4))).await.expect("same");
    assert_eq!(same, created, "setting the same quantity changes nothing");
    let changed = set(Some(qty(9))).await.expect("change");
    assert_eq!((quantities(&changed), changed.version()), (vec![(tea.id, 9)], Version(2)));
    let removed = set(None).await.expect("remove");
    assert_eq!((removed.lines().len(), removed.version()), (0, Version(3)));
    assert_eq!(read(&backend, cart.id()).await, removed);
}

async fn removing_and_clearing(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 2).await;
    let cake = stored_product(&backend, "Cake", 3).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    let missing = carts.remove_item(cart.id(), tea.id, &Expected::Any).await;
    assert!(matches!(missing, Err(RemoveItemError::LineNotFound(_))), "{missing:?}");
    let cleared_empty = carts.clear(cart.id(), &Expected::Any).await.expect("clear empty");
    assert_eq!(cleared_empty.version(), Version(0));
    carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("add");
    carts.add_item(cart.id(), cake.id, qty(1), &Expected::Any, None).await.expect("add");
    let removed = carts.remove_item(cart.id(), tea.id, &Expected::Any).await.expect("remove");
    assert_eq!((quantities(&removed), removed.version()), (vec![(cake.id, 1)], Version(3)));
    let cleared = carts.clear(cart.id(), &Expected::Any).await.expect("clear");
    assert_eq!((cleared.lines().len(), cleared.version()), (0, Version(4)));
    assert_eq!(read(&backend, cart.id()).await, cleared);
}

async fn expected_version_guards_every_write(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 2).await;
    let ghost = product("Ghost", 1, now()).id;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    let first = carts
        .add_item(cart.id(), tea.id, qty(1), &Expected::version(Version(0)), None)
        .await
        .expect("version 0 matches");
    assert_eq!(first.version(), Version(1));
    let stale = &Expected::version(Version(0));
    let mismatch = |err: CartWriteError| matches!(err, CartWriteError::VersionMismatch { current: Version(1) });
    let as_write = |err| match err {
        AddItemError::Cart(err) => err,
        other => panic!("not a version mismatch: {other:?}"),
    };
    assert!(mismatch(as_write(carts.add_item(cart.id(), tea.id, qty(1), stale, None).await.expect_err("stale"))));
    assert!(mismatch(as_write(carts.add_item(cart.id(), ghost, qty(1), stale, None).await.expect_err("stale"))));
    for quantity in [Some(qty(1)), None] {
        match carts.set_item_quantity(cart.id(), tea.id, quantity, stale).await {
            Err(SetItemError::Cart(err)) => assert!(mismatch(err)),
            other => panic!("{other:?}"),
        }
    }
    match carts.remove_item(cart.id(), tea.id, stale).await {
        Err(RemoveItemError::Cart(err)) => assert!(mismatch(err)),
        other => panic!("{other:?}"),
    }
    assert!(mismatch(carts.clear(cart.id(), stale).await.expect_err("stale")));
    assert!(mismatch(carts.delete(cart.id(), stale).await.expect_err("stale")));
    assert_eq!(read(&backend, cart.id()).await, first, "nothing changed");
    let second = carts
        .add_item(cart.id(), tea.id, qty(1), &Expected::version(Version(1)), None)
        .await
        .expect("version 1 matches");
    assert_eq!((quantities(&second), second.version()), (vec![(tea.id, 2)], Version(2)));
}

async fn deleting_a_cart(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 2).await;
    let cart = stored_cart(&backend).await;
    let carts = backend.carts();
    carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("add");
    carts.delete(cart.id(), &Expected::version(Version(1))).await.expect("deleted");
    assert!(matches!(carts.get(cart.id()).await, Err(GetCartError::NotFound)));
    assert!(matches!(carts.delete(cart.id(), &Expected::Any).await, Err(CartWriteError::CartNotFound)));
    assert!(backend.products.get(tea.id).await.is_ok(), "the product stays");
}

async fn concurrent_adds_sum_exactly(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 2).await;
    let cart = stored_cart(&backend).await;
    let cart_id = cart.id();
    let carts = backend.carts();
    let tasks: Vec<_> = (0..40)
        .map(|_| {
            let carts = carts.clone();
            tokio::spawn(async move { carts.add_item(cart_id, tea.id, qty(1), &Expected::Any, None).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("every add succeeds");
    }
    let cart = read(&backend, cart.id()).await;
    assert_eq!((quantities(&cart), cart.version()), (vec![(tea.id, 40)], Version(40)));
}

/// Writes that always take the general path (removing lines), racing on one
/// cart: each compare-and-set that loses loads the cart again, so every
/// removal lands once and the version counts each.
async fn concurrent_changes_lose_no_update(backend: Backend) {
    let cart = stored_cart(&backend).await;
    let cart_id = cart.id();
    let carts = backend.carts();
    let mut products = Vec::new();
    for i in 0..20 {
        let product = stored_product(&backend, &format!("Product {i}"), 1).await;
        carts.add_item(cart.id(), product.id, qty(1), &Expected::Any, None).await.expect("add");
        products.push(product.id);
    }
    let tasks: Vec<_> = products
        .into_iter()
        .map(|product| {
            let carts = carts.clone();
            tokio::spawn(async move { carts.remove_item(cart_id, product, &Expected::Any).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("every removal succeeds");
    }
    let cart = read(&backend, cart.id()).await;
    assert_eq!((cart.lines().len(), cart.version()), (0, Version(40)));
}

// ---------------------------------------------------------------- idempotency keys

fn claim(key: &str) -> Claim {
    let key = IdempotencyKey::new(&format!("contract-key-{key}-0123456789")).expect("a valid key");
    Claim { key, token: uuid::Uuid::new_v4(), keep_until: now() + Duration::hours(24) }
}

const SAME: Fingerprint = Fingerprint([1; 32]);
const OTHER: Fingerprint = Fingerprint([2; 32]);

fn completion(claim: &Claim, answer: &str) -> Completion {
    Completion { claim: claim.clone(), answer: Answer(answer.as_bytes().to_vec()) }
}

async fn a_claim_is_exclusive_and_bound_to_its_request(backend: Backend) {
    let first = claim("exclusive");
    let lease = now() + Duration::seconds(30);
    assert_eq!(backend.keys.claim(&first, SAME, lease, now()).await.expect("claimed"), Claimed::Mine(first.clone()));
    let second = Claim { token: uuid::Uuid::new_v4(), ..first.clone() };
    assert_eq!(
        backend.keys.claim(&second, SAME, lease, now()).await.expect("answered"),
        Claimed::Running { until: lease }
    );
    assert_eq!(backend.keys.claim(&second, OTHER, lease, now()).await.expect("answered"), Claimed::OtherRequest);
}

async fn an_answer_commits_with_its_change(backend: Backend) {
    let lease = now() + Duration::seconds(30);
    let tea = product("Tea", 1, now());
    let for_product = claim("product");
    backend.keys.claim(&for_product, SAME, lease, now()).await.expect("claimed");
    backend.products.insert(&tea, Some(&completion(&for_product, "product answer"))).await.expect("inserted");
    let again = Claim { token: uuid::Uuid::new_v4(), ..for_product };
    let replay = backend.keys.claim(&again, SAME, lease, now()).await.expect("answered");
    assert_eq!(replay, Claimed::Answered(Answer(b"product answer".to_vec())));
    assert_eq!(backend.products.get(tea.id).await.expect("stored"), tea);

    let for_cart = claim("cart");
    let cart = Cart::new(CartId::new_random(), now());
    backend.keys.claim(&for_cart, SAME, lease, now()).await.expect("claimed");
    backend.carts.insert(&cart, Some(&completion(&for_cart, "cart answer"))).await.expect("inserted");
    let replay = backend.keys.claim(&claim("cart"), SAME, lease, now()).await.expect("answered");
    assert_eq!(replay, Claimed::Answered(Answer(b"cart answer".to_vec())));

    let for_line = claim("line");
    backend.keys.claim(&for_line, SAME, lease, now()).await.expect("claimed");
    let mut changed = cart.clone();
    let change = changed.add(&tea, qty(2), CartLimits::default(), now()).expect("fits");
    let saved = backend.carts.save(&changed, change, Some(&completion(&for_line, "line answer"))).await;
    assert_eq!(saved.expect("saved"), Saved::Done);
    let replay = backend.keys.claim(&claim("line"), SAME, lease, now()).await.expect("answered");
    assert_eq!(replay, Claimed::Answered(Answer(b"line answer".to_vec())));
    assert_eq!(read(&backend, cart.id()).await, changed);
}

async fn a_claim_taken_over_after_its_lease_ran_out_writes_nothing(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let cart = stored_cart(&backend).await;
    let start = now();
    let slow = claim("ran-out");
    backend.keys.claim(&slow, SAME, start + Duration::seconds(1), start).await.expect("claimed");
    // Its lease ran out; another request took the key over.
    let later = start + Duration::seconds(2);
    let taker = Claim { token: uuid::Uuid::new_v4(), ..slow.clone() };
    let taken = backend.keys.claim(&taker, SAME, later + Duration::seconds(30), later).await.expect("claimed");
    assert_eq!(taken, Claimed::Mine(taker.clone()));

    let mut changed = cart.clone();
    let change = changed.add(&tea, qty(1), CartLimits::default(), now()).expect("fits");
    let late = backend.carts.save(&changed, change, Some(&completion(&slow, "late"))).await;
    assert!(matches!(late, Err(StorageError::Unavailable(_))), "{late:?}");
    let late = backend.carts.insert(&Cart::new(CartId::new_random(), now()), Some(&completion(&slow, "late"))).await;
    assert!(matches!(late, Err(StorageError::Unavailable(_))), "{late:?}");
    let ghost = product("Ghost", 1, now());
    assert!(backend.products.insert(&ghost, Some(&completion(&slow, "late"))).await.is_err());
    assert_eq!(read(&backend, cart.id()).await, cart, "the change did not land");
    assert!(matches!(backend.products.get(ghost.id).await, Err(ProductError::NotFound)));
    let state = backend.keys.claim(&claim("ran-out"), SAME, later + Duration::seconds(30), later).await;
    assert!(matches!(state.expect("answered"), Claimed::Running { .. }), "the taker still holds it, unanswered");
}

async fn releasing_frees_only_an_unanswered_claim_of_ones_own(backend: Backend) {
    let lease = now() + Duration::seconds(30);
    let held = claim("release");
    backend.keys.claim(&held, SAME, lease, now()).await.expect("claimed");
    let stranger = Claim { token: uuid::Uuid::new_v4(), ..held.clone() };
    backend.keys.release(&stranger).await.expect("released");
    assert!(matches!(backend.keys.claim(&stranger, SAME, lease, now()).await, Ok(Claimed::Running { .. })));
    backend.keys.release(&held).await.expect("released");
    let next = claim("release");
    assert_eq!(backend.keys.claim(&next, OTHER, lease, now()).await.expect("claimed"), Claimed::Mine(next.clone()));

    backend.carts.insert(&Cart::new(CartId::new_random(), now()), Some(&completion(&next, "kept"))).await.expect("ok");
    backend.keys.release(&next).await.expect("released");
    let replay = backend.keys.claim(&claim("release"), OTHER, lease, now()).await.expect("answered");
    assert_eq!(replay, Claimed::Answered(Answer(b"kept".to_vec())), "an answer is never released");
}

async fn expired_keys_are_claimed_again_and_purged_in_batches(backend: Backend) {
    let start = now();
    let short = Duration::seconds(1);
    let mut answered = Vec::new();
    for i in 0..5 {
        let claim = Claim { keep_until: start + short, ..claim(&format!("expiring-{i}")) };
        backend.keys.claim(&claim, SAME, start + short, start).await.expect("claimed");
        if i < 3 {
            backend
                .carts
                .insert(&Cart::new(CartId::new_random(), now()), Some(&completion(&claim, "a")))
                .await
                .expect("ok");
            answered.push(claim);
        }
    }
    let later = start + Duration::seconds(2);
    let renewed = claim("expiring-0");
    let taken = backend.keys.claim(&renewed, OTHER, later + Duration::seconds(30), later).await.expect("claimed");
    assert_eq!(taken, Claimed::Mine(renewed), "an expired answer is gone, even for another request");
    assert_eq!(backend.keys.purge_expired(later, 3).await.expect("purged"), 3, "a batch at most");
    assert_eq!(backend.keys.purge_expired(later, 3).await.expect("purged"), 1, "the rest; the renewed key stays");
    assert_eq!(backend.keys.purge_expired(later, 3).await.expect("purged"), 0);
    let state = backend.keys.claim(&claim("expiring-0"), OTHER, later + Duration::seconds(30), later).await;
    assert!(matches!(state, Ok(Claimed::Running { .. })), "{state:?}");
}

/// On PostgreSQL, adds to a line already in the cart take the fast path and
/// adds of new products the general path; racing on one cart, they must
/// take their locks in the same order (line, then cart), or the database
/// aborts one of them as a deadlock.
async fn fast_and_general_paths_racing_on_one_cart_never_deadlock(backend: Backend) {
    let tea = stored_product(&backend, "Tea", 1).await;
    let cart = stored_cart(&backend).await;
    let cart_id = cart.id();
    let carts = backend.carts();
    carts.add_item(cart.id(), tea.id, qty(1), &Expected::Any, None).await.expect("the first line");
    let mut others = Vec::new();
    for i in 0..20 {
        others.push(stored_product(&backend, &format!("Product {i}"), 1).await.id);
    }
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let carts = carts.clone();
            let product = if i % 3 == 0 { others[i / 3] } else { tea.id };
            tokio::spawn(async move { carts.add_item(cart_id, product, qty(1), &Expected::Any, None).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("every add succeeds");
    }
    let cart = read(&backend, cart.id()).await;
    assert_eq!(cart.line(tea.id).map(|line| line.quantity.get()), Some(41));
    assert_eq!((cart.lines().len(), cart.version()), (21, Version(61)));
}
