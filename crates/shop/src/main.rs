//! `shop`: see `shop --help`.

use std::process::ExitCode;

use clap::Parser;
use shop::app::StartError;
use shop::cli::{Cli, run};
use shop::settings::Settings;

// mimalloc: fewer cycles per request than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("shop: {err}");
            return ExitCode::from(2);
        }
    };
    shop::telemetry::init(settings.log.format);
    match run(cli, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = %err, "shop stopped");
            eprintln!("shop: {err}");
            // 2 for what the user must fix in the invocation or settings, 1 for everything else.
            if matches!(err, StartError::Settings(_)) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
