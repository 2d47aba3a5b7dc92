//! Graceful shutdown: services watch one token; a signal trips it.

use tokio_util::sync::CancellationToken;

/// A token cancelled on SIGINT or SIGTERM. Services finish their batch, then stop.
pub fn on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let trip = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("SIGTERM handler installs");
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested");
        trip.cancel();
    });
    token
}
