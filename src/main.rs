//! The `edgeleaf` binary: read flags and config, set up logging, run. Everything else lives
//! in the library's parts.

use std::process::ExitCode;

use edgeleaf::config::{Config, Invocation};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // The operator's commands against a running edgeleaf.
    match args.get(1).map(String::as_str) {
        Some("status") => return ExitCode::from(edgeleaf::uplink::cli::status(&args[2..]) as u8),
        Some("uplink") => return ExitCode::from(edgeleaf::uplink::cli::uplink(&args[2..]) as u8),
        _ => {}
    }
    let cfg = match Config::load(&args) {
        Ok(Invocation::Run(cfg)) => cfg,
        Ok(Invocation::Version) => {
            println!(
                "edgeleaf version {} (nats-server {} compatible)",
                env!("CARGO_PKG_VERSION"),
                edgeleaf::server::info::NATS_VERSION
            );
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Help(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("edgeleaf: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = edgeleaf::system::init_logging(&cfg) {
        eprintln!("edgeleaf: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("edgeleaf: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(edgeleaf::system::run(cfg));
    // Do not wait for connection tasks that are still draining: shutdown already bounded it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("edgeleaf: {e}");
            ExitCode::FAILURE
        }
    }
}
