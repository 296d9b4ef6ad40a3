//! The composition root: [`AppModule`], one shaku module, is the container
//! the handlers resolve from, as the original's `DeclarativeContainer` was:
//!
//! | original (`dependency_injector`) | here (shaku component)             |
//! |----------------------------------|------------------------------------|
//! | `app_settings`                   | [`LoadedSettings`] (`dyn AppSettings`) |
//! | `database_engine`                | `SeaOrmDatabaseEngine` (`dyn DatabaseEngine`): the pool, a writer pool on SQLite files, a replica's pool |
//! | `session_factory`                | `SeaOrmSessionFactory` (`dyn SessionFactory`) |
//! | `product_adapter`                | `SeaOrmProductRepository` (`dyn ProductRepository`) |
//! | `cart_adapter`                   | `SeaOrmCartRepository` (`dyn CartRepository`) |
//! | (none: the original had one path) | `SeaOrmCartFastPath` (`dyn CartFastPath`), `NoFastPath` in memory |
//! | (handlers' logic)                | `ProductServiceImpl`, `CartServiceWithFastPath` around `CartServiceImpl` |
//!
//! The storage half of the container is a shaku *submodule* behind the
//! [`Storage`] trait: [`SeaOrmStorage`] (engine, session factory and the
//! SeaORM adapters) or [`InMemoryStorage`]. Swapping the whole storage is
//! choosing which one [`module_builder`] gets; unlike overriding components
//! one by one, it takes the engine and the session factory out of the graph
//! (shaku's guide to submodules), so an in-memory container holds no SeaORM
//! value at all.
//!
//! Handlers receive components with `shaku_axum::Inject<AppModule, dyn …>`.

use std::sync::Arc;

use sea_orm::DatabaseConnection;
use shaku::{Component, HasComponent, Interface, ModuleBuilder, module};
use shop_application::idempotency::{IdempotencyServiceImpl, IdempotencyServiceImplParameters, IdempotencyStore};
use shop_application::ports::{CartFastPath, CartRepository, NoFastPath, ProductRepository, StorageHealth};
use shop_application::services::{CartServiceImplParameters, CartServiceWithFastPath, ProductServiceImpl};
use shop_domain::Currency;
use shop_infrastructure::in_memory::{
    InMemoryCartRepository, InMemoryCartRepositoryParameters, InMemoryIdempotencyStore,
    InMemoryIdempotencyStoreParameters, InMemoryProductRepository, InMemoryProductRepositoryParameters,
    InMemoryStorageHealth, InMemoryStorageHealthParameters, InMemoryStore,
};
use shop_infrastructure::seaorm::{
    ReplicaPool, SeaOrmCartFastPath, SeaOrmCartRepository, SeaOrmDatabaseEngine, SeaOrmDatabaseEngineParameters,
    SeaOrmIdempotencyStore, SeaOrmProductRepository, SeaOrmSessionFactory, SeaOrmStorageHealth,
};

use crate::settings::Settings;

/// The loaded settings, as a component (the original's `app_settings`).
pub trait AppSettings: Interface {
    /// All settings, parsed and checked at start.
    fn settings(&self) -> &Settings;

    /// The shop's one currency (`shop.currency`).
    fn currency(&self) -> Currency {
        self.settings().shop.currency
    }
}

/// [`AppSettings`] holding what [`Settings::load`] returned.
#[derive(Component)]
#[shaku(interface = AppSettings)]
pub struct LoadedSettings {
    /// The settings.
    settings: Settings,
}

impl AppSettings for LoadedSettings {
    fn settings(&self) -> &Settings {
        &self.settings
    }
}

/// A storage: a module that provides every storage port of the application.
pub trait Storage:
    HasComponent<dyn ProductRepository>
    + HasComponent<dyn CartRepository>
    + HasComponent<dyn CartFastPath>
    + HasComponent<dyn IdempotencyStore>
    + HasComponent<dyn StorageHealth>
{
}

pub use wiring::{AppModule, InMemoryStorage, SeaOrmStorage};

#[allow(missing_docs)] // `module!` generates undocumented items
mod wiring {
    use super::*;

    module! {
        // The storage on SeaORM (SQLite or PostgreSQL).
        pub SeaOrmStorage: Storage {
            components = [
                SeaOrmDatabaseEngine,
                SeaOrmSessionFactory,
                SeaOrmProductRepository,
                SeaOrmCartRepository,
                SeaOrmCartFastPath,
                SeaOrmIdempotencyStore,
                SeaOrmStorageHealth,
            ],
            providers = []
        }
    }

    module! {
        // The storage in memory (tests, demos).
        pub InMemoryStorage: Storage {
            components = [
                InMemoryProductRepository,
                InMemoryCartRepository,
                NoFastPath,
                InMemoryIdempotencyStore,
                InMemoryStorageHealth,
            ],
            providers = []
        }
    }

    module! {
        // The container: every component is a singleton of this module.
        pub AppModule {
            components = [LoadedSettings, ProductServiceImpl, CartServiceWithFastPath, IdempotencyServiceImpl],
            providers = [],

            use dyn Storage {
                components = [
                    dyn ProductRepository,
                    dyn CartRepository,
                    dyn CartFastPath,
                    dyn IdempotencyStore,
                    dyn StorageHealth,
                ],
                providers = []
            }
        }
    }
}

impl SeaOrmStorage {
    /// The builder of the SeaORM storage over opened pools (`writer`: see
    /// `seaorm::connect_writer`); add overrides before `.build()`.
    pub fn over(connection: DatabaseConnection, writer: Option<DatabaseConnection>) -> ModuleBuilder<Self> {
        Self::with_replica(connection, writer, None)
    }

    /// As [`Self::over`], with a standby for catalog reads (`seaorm::connect_replica`).
    pub fn with_replica(
        connection: DatabaseConnection,
        writer: Option<DatabaseConnection>,
        replica: Option<ReplicaPool>,
    ) -> ModuleBuilder<Self> {
        let pools = SeaOrmDatabaseEngineParameters { connection, writer, replica };
        Self::builder().with_component_parameters::<SeaOrmDatabaseEngine>(pools)
    }
}

impl InMemoryStorage {
    /// The in-memory storage of `store`.
    pub fn of(store: &Arc<InMemoryStore>) -> Arc<dyn Storage> {
        let products = InMemoryProductRepositoryParameters { store: store.clone() };
        let carts = InMemoryCartRepositoryParameters { store: store.clone() };
        let keys = InMemoryIdempotencyStoreParameters { store: store.clone() };
        let health = InMemoryStorageHealthParameters { store: store.clone() };
        Arc::new(
            Self::builder()
                .with_component_parameters::<InMemoryProductRepository>(products)
                .with_component_parameters::<InMemoryCartRepository>(carts)
                .with_component_parameters::<InMemoryIdempotencyStore>(keys)
                .with_component_parameters::<InMemoryStorageHealth>(health)
                .build(),
        )
    }
}

/// The builder of [`AppModule`].
pub type AppModuleBuilder = ModuleBuilder<AppModule>;

/// The container's builder over `storage`, with every parameter set from
/// `settings`. The one line that chooses the storage:
///
/// ```text
/// module_builder(settings, Arc::new(SeaOrmStorage::over(connection, writer).build())).build()
/// module_builder(settings, InMemoryStorage::of(&store)).build()
/// ```
pub fn module_builder(settings: Settings, storage: Arc<dyn Storage>) -> AppModuleBuilder {
    let carts = CartServiceImplParameters { limits: settings.cart.limits(), ttl: to_delta(settings.cart.ttl) };
    let keys = IdempotencyServiceImplParameters {
        ttl: to_delta(settings.idempotency.ttl),
        lease: to_delta(settings.idempotency_lease()),
    };
    AppModule::builder(storage)
        .with_component_parameters::<CartServiceWithFastPath>(carts)
        .with_component_parameters::<IdempotencyServiceImpl>(keys)
        .with_component_parameters::<LoadedSettings>(LoadedSettingsParameters { settings })
}

/// A duration setting as chrono's, saturating: settings are checked at start.
fn to_delta(duration: std::time::Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}
