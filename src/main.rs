//! Parses the command line, starts logging, runs the bridge or one of the tools. Nothing else.

use std::process::ExitCode;

use anyhow::Context;
use tencent_kafka_bridge::cli::{self, Tool};
use tencent_kafka_bridge::config::{Config, LogFormat};

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command {
        None => serve(cli.config),
        Some(Tool::CheckConfig(config)) => check_config(*config),
        Some(Tool::Send(args)) => {
            match runtime().and_then(|rt| Ok(rt.block_on(tencent_kafka_bridge::tools::send::run(args))?)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => fail(e),
            }
        }
        Some(Tool::Tail(args)) => match tencent_kafka_bridge::tools::tail::run(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(anyhow::Error::new(e).context("tail")),
        },
        Some(Tool::Spool(command)) => match tencent_kafka_bridge::tools::spool::run(command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => fail(anyhow::Error::new(e).context("spool")),
        },
        Some(Tool::Dlq(command)) => match tencent_kafka_bridge::tools::run_dlq(command) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => fail(anyhow::Error::new(e).context("dlq")),
        },
        Some(Tool::Presence(args)) => presence(*args),
    }
}

fn presence(args: tencent_kafka_bridge::presence::PresenceArgs) -> ExitCode {
    init_tracing(args.log_format);
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let signals = shutdown_signal()?;
            tencent_kafka_bridge::presence::run(args, signals)
                .await
                .context("presence failed")
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn check_config(config: Config) -> ExitCode {
    match tencent_kafka_bridge::validate(config) {
        Ok(config) => {
            print!("{}", config.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn serve(config: Config) -> ExitCode {
    let config = match tencent_kafka_bridge::validate(config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    let result = runtime().and_then(|rt| {
        rt.block_on(async {
            let signals = shutdown_signal()?;
            tencent_kafka_bridge::run(config, signals)
                .await
                .context("bridge failed")
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn fail(e: anyhow::Error) -> ExitCode {
    eprintln!("error: {e:#}");
    ExitCode::FAILURE
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// Resolves on the first SIGTERM or SIGINT.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = int.recv() => tracing::info!("SIGINT received"),
        }
    })
}

/// rdkafka warns "Ignored event 'Error' on base producer poll" for every client-wide error
/// event, which the bridge has already seen through its own error callback (kafka_log.rs):
/// several lines a second while a broker is away. Kept at debug unless `BRIDGE_LOG` says
/// what it wants of rdkafka itself.
const QUIET_POLL_WARNING: &str = "rdkafka::producer::base_producer=error";

fn init_tracing(format: LogFormat) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_env("BRIDGE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,librdkafka=warn,rdkafka=warn"));
    let user_chose = std::env::var("BRIDGE_LOG").is_ok_and(|v| v.contains("rdkafka"));
    if !user_chose {
        if let Ok(quiet) = QUIET_POLL_WARNING.parse() {
            filter = filter.add_directive(quiet);
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in files or log pipelines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
