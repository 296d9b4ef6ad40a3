//! `shop`: see `shop --help`.

use std::process::ExitCode;

use clap::Parser;
use shop::cli::{Cli, run};
use shop::settings::Settings;

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
            ExitCode::FAILURE
        }
    }
}
