//! The composition root: one shaku module wires every singleton, as the
//! original's `DeclarativeContainer` did:
//!
//! | original (`dependency_injector`) | here (shaku component)             |
//! |----------------------------------|------------------------------------|
//! | `app_settings`                   | [`LoadedSettings`] (`dyn AppSettings`) |
//! | `database_engine`                | `SeaOrmDatabaseEngine` (`dyn DatabaseEngine`): the pool, and a writer pool on SQLite files |
//! | `session_factory`                | `SeaOrmSessionFactory` (`dyn SessionFactory`) |
//! | `product_adapter`                | `SeaOrmProductRepository` (`dyn ProductRepository`) |
//! | `cart_adapter`                   | `SeaOrmCartRepository` (`dyn CartRepository`) |
//! | (handlers' logic)                | `ProductServiceImpl`, `CartServiceImpl` |
//!
//! Handlers receive services with `shaku_axum::Inject<AppModule, dyn …>`.
//! Swap an adapter with `with_component_override` on the builder.

use sea_orm::DatabaseConnection;
use shaku::{Component, Interface, ModuleBuilder, module};
use shop_application::services::{CartServiceImpl, CartServiceImplParameters, ProductServiceImpl};
use shop_domain::Currency;
use shop_infrastructure::seaorm::{
    SeaOrmCartRepository, SeaOrmDatabaseEngine, SeaOrmDatabaseEngineParameters, SeaOrmProductRepository,
    SeaOrmSessionFactory,
};

use crate::settings::{Settings, SettingsError};

/// The loaded settings, as a component (the original's `app_settings`).
pub trait AppSettings: Interface {
    /// All settings.
    fn settings(&self) -> &Settings;
    /// The shop's currency, validated at start.
    fn currency(&self) -> Currency;
}

/// [`AppSettings`] holding what [`Settings::load`] returned.
#[derive(Component)]
#[shaku(interface = AppSettings)]
pub struct LoadedSettings {
    /// The settings.
    settings: Settings,
    /// The currency, parsed from the settings.
    currency: Currency,
}

impl AppSettings for LoadedSettings {
    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn currency(&self) -> Currency {
        self.currency
    }
}

/// The container: every component is a singleton of this module.
pub use wiring::AppModule;

#[allow(missing_docs)] // `module!` generates undocumented items
mod wiring {
    use super::*;

    module! {
        pub AppModule {
            components = [
                LoadedSettings,
                SeaOrmDatabaseEngine,
                SeaOrmSessionFactory,
                SeaOrmProductRepository,
                SeaOrmCartRepository,
                ProductServiceImpl,
                CartServiceImpl,
            ],
            providers = []
        }
    }
}

/// The builder of [`AppModule`].
pub type AppModuleBuilder = ModuleBuilder<AppModule>;

/// The module's builder with every parameter set from `settings` and the
/// opened pools (`writer`: see `seaorm::connect_writer`). Add overrides before `.build()`.
pub fn module_builder(
    settings: Settings,
    connection: DatabaseConnection,
    writer: Option<DatabaseConnection>,
) -> Result<AppModuleBuilder, SettingsError> {
    let currency = settings.currency()?;
    let max_line_quantity = settings.max_line_quantity()?;
    Ok(AppModule::builder()
        .with_component_parameters::<LoadedSettings>(LoadedSettingsParameters { settings, currency })
        .with_component_parameters::<SeaOrmDatabaseEngine>(SeaOrmDatabaseEngineParameters { connection, writer })
        .with_component_parameters::<CartServiceImpl>(CartServiceImplParameters { max_line_quantity }))
}
