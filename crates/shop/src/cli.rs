//! The command line: `shop [serve]`, `shop migrate …`.

use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::app::{Server, StartError, shutdown_signal};
use crate::settings::Settings;

/// The shop service: a product catalog and shopping carts over HTTP.
///
/// Settings come from config/default.toml (compiled in), config/$SHOP_ENV.toml
/// and SHOP__SECTION__KEY environment variables.
#[derive(Debug, Parser)]
#[command(name = "shop", version, about, long_about)]
pub struct Cli {
    /// What to do; `serve` if omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve,
    /// Manage the database schema.
    Migrate {
        /// The migration step.
        #[command(subcommand)]
        action: MigrateAction,
    },
}

/// What `shop migrate` does.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last applied migration.
    Down,
    /// List migrations and whether each is applied.
    Status,
    /// Drop every table, then apply all migrations (destroys data).
    Fresh,
}

/// Runs the command; errors are for `main` to print.
pub async fn run(cli: Cli, mut settings: Settings) -> Result<(), StartError> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let server = Server::build(settings).await?;
            tracing::info!(address = %server.local_addr().map_err(|source| StartError::Bind { address: ([0, 0, 0, 0], 0).into(), source })?, "serving");
            server
                .run_until(shutdown_signal())
                .await
                .map_err(|source| StartError::Bind { address: ([0, 0, 0, 0], 0).into(), source })
        }
        Command::Migrate { action } => {
            settings.database.auto_migrate = false;
            let connection = crate::app::open_database(&settings).await?;
            let result = match action {
                MigrateAction::Up => Migrator::up(&connection, None).await,
                MigrateAction::Down => Migrator::down(&connection, Some(1)).await,
                MigrateAction::Status => print_status(&connection).await,
                MigrateAction::Fresh => Migrator::fresh(&connection).await,
            };
            result.map_err(StartError::Migration)
        }
    }
}

async fn print_status(connection: &sea_orm::DatabaseConnection) -> Result<(), sea_orm::DbErr> {
    Migrator::install(connection).await?;
    for migration in Migrator::get_migration_with_status(connection).await? {
        println!("{}\t{}", migration.name(), migration.status());
    }
    Ok(())
}
