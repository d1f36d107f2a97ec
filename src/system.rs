//! Owns the process's contract with its supervisor: systemd readiness, stopping and
//! watchdog notifications (sd_notify over NOTIFY_SOCKET, no libsystemd), log output
//! (journald when systemd started us, a file or stderr otherwise) and the pid file.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use tracing::Level;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::Config;

/// Sends one sd_notify message (e.g. `READY=1`). Without NOTIFY_SOCKET (not under
/// systemd, or Type≠notify) it does nothing.
pub fn notify(state: &str) -> io::Result<()> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(());
    };
    let sock = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        // Abstract socket namespace (Linux).
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        sock.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        sock.send_to(state.as_bytes(), &path)?;
    }
    Ok(())
}

/// The watchdog interval systemd asked for (WATCHDOG_USEC), if it is meant for us.
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var("WATCHDOG_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
    {
        if pid != std::process::id() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

/// Pets the watchdog at half the interval from a runtime task: if the runtime stalls, the
/// pings stop and systemd restarts us.
pub fn spawn_watchdog() {
    if let Some(interval) = watchdog_interval() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval / 2);
            loop {
                tick.tick().await;
                if let Err(e) = notify("WATCHDOG=1") {
                    tracing::warn!("systemd watchdog notification failed: {e}");
                }
            }
        });
    }
}

/// Sets up `tracing` output. Under systemd (JOURNAL_STREAM set) logs go to journald with
/// priorities; with `log_file` to that file; otherwise to stderr, where tools and tests
/// read nats-server's startup lines.
pub fn init_logging(cfg: &Config) -> anyhow::Result<()> {
    let level = if cfg.trace {
        Level::TRACE
    } else if cfg.debug {
        Level::DEBUG
    } else {
        Level::INFO
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("edgeleaf", level)
        .with_default(Level::WARN);
    let registry = tracing_subscriber::registry().with(filter);
    if std::env::var_os("JOURNAL_STREAM").is_some() && cfg.log_file.is_none() {
        if let Ok(journald) = tracing_journald::layer() {
            registry
                .with(journald.with_syslog_identifier("edgeleaf".into()))
                .try_init()?;
            return Ok(());
        }
    }
    let writer = match &cfg.log_file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| anyhow::anyhow!("cannot open log file {path}: {e}"))?;
            BoxMakeWriter::new(std::sync::Mutex::new(file))
        }
        None => BoxMakeWriter::new(io::stderr),
    };
    // `logtime: false` (nats-server's option) drops timestamps, e.g. when another logger
    // adds its own.
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(writer);
    if cfg.log_time {
        registry.with(layer).try_init()?;
    } else {
        registry.with(layer.without_time()).try_init()?;
    }
    Ok(())
}

/// Writes our pid, as nats-server's `-P` does.
pub fn write_pid_file(path: &str) -> anyhow::Result<()> {
    std::fs::write(path, std::process::id().to_string())
        .map_err(|e| anyhow::anyhow!("cannot write pid file {path}: {e}"))
}

/// Runs the broker until SIGTERM/SIGINT (or the end of lame duck mode after SIGUSR2):
/// listeners first, then READY=1, then serve; on the way out STOPPING=1, flush, close.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    use crate::server::Server;
    use tokio::signal::unix::{signal, SignalKind};
    use tracing::info;

    // Subscribe to signals before READY so an early SIGTERM is not lost.
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;

    info!("Starting edgeleaf");
    info!(
        "  Version:  {} (nats-server {} protocol)",
        env!("CARGO_PKG_VERSION"),
        crate::server::info::NATS_VERSION
    );
    let server = Server::new(cfg)?;
    info!("  Name:     {}", server.name);
    info!("  ID:       {}", server.id);
    server.warn_config();
    if let Some(path) = &server.config.pid_file {
        write_pid_file(path)?;
    }
    crate::monitor::start(server.clone()).await?;
    server.start_jetstream()?;
    server.start_clients().await?;
    server.start_leafs();
    server.start_uplinks();
    info!("Server is ready");
    if let Err(e) = notify("READY=1") {
        tracing::warn!("systemd readiness notification failed: {e}");
    }
    spawn_watchdog();

    tokio::select! {
        _ = term.recv() => info!("Trapped \"terminated\" signal"),
        _ = int.recv() => info!("Trapped \"interrupt\" signal"),
        _ = usr2.recv() => {
            info!("Trapped \"user defined signal 2\" signal");
            let _ = notify("STOPPING=1");
            tokio::select! {
                _ = server.lame_duck() => {}
                _ = term.recv() => info!("Trapped \"terminated\" signal"),
                _ = int.recv() => info!("Trapped \"interrupt\" signal"),
            }
        }
    }
    let _ = notify("STOPPING=1");
    server.shutdown(Duration::from_secs(4)).await;
    if let Some(path) = &server.config.pid_file {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_a_datagram_socket() {
        let dir = std::env::temp_dir().join(format!("edgeleaf-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let listener = UnixDatagram::bind(&dir).unwrap();
        // Only this test sets NOTIFY_SOCKET in this test binary.
        std::env::set_var("NOTIFY_SOCKET", &dir);
        notify("READY=1").unwrap();
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 64];
        let n = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1");
        let _ = std::fs::remove_file(&dir);
    }
}
