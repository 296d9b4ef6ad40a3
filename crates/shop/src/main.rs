//! `shop`: see `shop --help`.

use std::process::ExitCode;

use clap::Parser;
use shop::app::StartError;
use shop::cli::{Cli, run};
use shop::settings::{LogFormat, Settings};

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
    let format = settings.log.format;
    let telemetry = match shop::telemetry::init(format, settings.telemetry.otlp_endpoint()) {
        Ok(telemetry) => telemetry,
        Err(err) => {
            eprintln!("shop: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(warning) = &telemetry.warning {
        tracing::warn!("{warning}");
    }
    let outcome = run(cli, settings).await;
    telemetry.shutdown();
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // Once: as a log line where logs are collected (JSON), else as one line for a person.
            match format {
                LogFormat::Json => tracing::error!(error = %err, "shop stopped"),
                LogFormat::Pretty => eprintln!("shop: {err}"),
            }
            // 2 for what the user must fix in the invocation or settings, 1 for everything else.
            if matches!(err, StartError::Settings(_)) { ExitCode::from(2) } else { ExitCode::FAILURE }
        }
    }
}
