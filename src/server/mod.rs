//! Serving the plugin as go-plugin (Terraform's plugin client) expects:
//! magic cookie, protocol negotiation, AutoMTLS, the handshake line on
//! stdout, then gRPC: the provider service, the `plugin` health check,
//! GRPCController, GRPCStdio and GRPCBroker.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use crate::provider::Provider;

mod actions;
mod grpc;
pub mod host;
mod lifecycle;
mod lists;
mod plugin;
pub mod tls;
mod wire;

/// go-plugin's cookie for Terraform providers: a plugin started by
/// anything else refuses to run.
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
/// go-plugin's core protocol version and our application protocol version.
pub const CORE_PROTOCOL: u32 = 1;
pub const APP_PROTOCOL: u32 = 6;

/// Why the plugin cannot start; printed on stderr, exit status 1.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "This binary is a plugin for Terraform and OpenTofu. It is not meant to be run directly: \
             put it where Terraform finds providers and run terraform (see the README)."
    )]
    NotStartedByTerraform,
    #[error("Terraform offered plugin protocol versions {0:?}; this provider speaks only version 6 (Terraform >= 1.0, any OpenTofu).")]
    NoCommonProtocol(String),
    #[error(
        "PLUGIN_CLIENT_CERT is not set: this provider only serves Terraform's own mTLS client (AutoMTLS). \
             Do not set TF_DISABLE_PLUGIN_TLS."
    )]
    NoClientCertificate,
    #[error("{0}")]
    Setup(String),
}

/// The checks go-plugin makes before a plugin may serve.
pub fn check_environment(get: impl Fn(&str) -> Option<String>) -> Result<String, StartError> {
    if get(MAGIC_COOKIE_KEY).as_deref() != Some(MAGIC_COOKIE_VALUE) {
        return Err(StartError::NotStartedByTerraform);
    }
    if let Some(offered) = get("PLUGIN_PROTOCOL_VERSIONS").filter(|s| !s.is_empty()) {
        if !offered.split(',').any(|v| v.trim() == APP_PROTOCOL.to_string()) {
            return Err(StartError::NoCommonProtocol(offered));
        }
    }
    get("PLUGIN_CLIENT_CERT").filter(|s| !s.trim().is_empty()).ok_or(StartError::NoClientCertificate)
}

/// The one line Terraform reads from the plugin's stdout.
pub fn handshake_line(addr: std::net::SocketAddr, server_cert_der: &[u8]) -> String {
    let cert = base64::engine::general_purpose::STANDARD_NO_PAD.encode(server_cert_der);
    format!("{CORE_PROTOCOL}|{APP_PROTOCOL}|tcp|{addr}|grpc|{cert}")
}

/// A TLS connection that passed the client-certificate check.
struct TlsConn(tokio_rustls::server::TlsStream<TcpStream>);

impl Connected for TlsConn {
    type ConnectInfo = ();
    fn connect_info(&self) -> Self::ConnectInfo {}
}

impl AsyncRead for TlsConn {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsConn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// Accept TCP connections and hand on only those whose TLS handshake
/// proves Terraform's client certificate. Handshakes run concurrently so
/// a stalled peer cannot hold up the next connection.
fn accept_tls(listener: TcpListener, tls: Arc<rustls::ServerConfig>) -> ReceiverStream<Result<TlsConn, std::io::Error>> {
    let (tx, rx) = mpsc::channel(16);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    tokio::spawn(async move {
        loop {
            let (tcp, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => {
                        let _ = tx.send(Ok(TlsConn(tls))).await;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(%peer, error = %e, "refused a connection: TLS handshake failed (only Terraform's client certificate is accepted)")
                    }
                    Err(_) => tracing::warn!(%peer, "refused a connection: TLS handshake timed out"),
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// Serve until Terraform calls GRPCController.Shutdown, or until `host`,
/// the process that started the provider, is gone.
pub async fn serve(provider: Arc<Provider>, host: host::Host) -> Result<(), StartError> {
    let client_pem = check_environment(|k| std::env::var(k).ok())?;
    let client_cert = tls::parse_client_cert(&client_pem).map_err(StartError::Setup)?;
    let (cert, key) = tls::server_identity().map_err(StartError::Setup)?;
    let tls = tls::server_config(cert.clone(), key, client_cert).map_err(StartError::Setup)?;
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| StartError::Setup(format!("listen on 127.0.0.1: {e}")))?;
    let addr = listener.local_addr().map_err(|e| StartError::Setup(e.to_string()))?;

    let (mut health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_service_status("plugin", tonic_health::ServingStatus::Serving).await;
    let shutdown = Arc::new(Notify::new());

    let router = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(grpc::service(provider.clone()))
        .add_service(plugin::controller(shutdown.clone()))
        .add_service(plugin::stdio())
        .add_service(plugin::broker());
    let incoming = accept_tls(listener, tls);

    // Terraform starts reading gRPC right after this line: print it only
    // once everything above is ready.
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", handshake_line(addr, cert.as_ref())).map_err(|e| StartError::Setup(e.to_string()))?;
        out.flush().map_err(|e| StartError::Setup(e.to_string()))?;
    }
    tracing::info!(%addr, version = crate::VERSION, "provider serving plugin protocol 6");

    ignore_interrupts();
    tokio::select! {
        r = router.serve_with_incoming(incoming) => r.map_err(|e| StartError::Setup(format!("gRPC server: {e}")))?,
        _ = shutdown.notified() => {
            // Let the Shutdown answer reach Terraform before the process ends;
            // open streams (stdio, broker) would hold a graceful stop forever.
            tokio::time::sleep(Duration::from_millis(50)).await;
            tracing::debug!("shut down by GRPCController.Shutdown");
        }
        _ = host.gone() => {
            // Nobody is left to save what the calls in flight would return;
            // the next apply adopts what they made (by ownership tags).
            provider.stop();
            tracing::warn!(host_pid = host.pid(), "Terraform (pid {}) is gone without shutting the provider down: calls in flight cancelled, exiting", host.pid());
        }
    }
    Ok(())
}

/// Terraform forwards Ctrl-C as a StopProvider call; the SIGINT that the
/// terminal also sends to the plugin's process group must not kill it
/// mid-apply (go-plugin plugins ignore it the same way).
fn ignore_interrupts() {
    #[cfg(unix)]
    tokio::spawn(async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()) {
            while s.recv().await.is_some() {
                tracing::debug!("SIGINT ignored: waiting for Terraform's StopProvider");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn refuses_to_run_without_the_cookie() {
        assert!(matches!(check_environment(env(&[])), Err(StartError::NotStartedByTerraform)));
    }

    #[test]
    fn refuses_when_protocol_6_not_offered() {
        let e = check_environment(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "4,5")]));
        assert!(matches!(e, Err(StartError::NoCommonProtocol(_))));
    }

    #[test]
    fn refuses_without_a_client_certificate() {
        let e = check_environment(env(&[(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE), ("PLUGIN_PROTOCOL_VERSIONS", "5,6")]));
        assert!(matches!(e, Err(StartError::NoClientCertificate)));
    }

    #[test]
    fn handshake_line_layout() {
        let l = handshake_line("127.0.0.1:4242".parse().unwrap(), &[0xff, 0x00, 0x10]);
        assert_eq!(l, "1|6|tcp|127.0.0.1:4242|grpc|/wAQ");
    }
}
