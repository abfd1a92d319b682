//! The provider process, started exactly as Terraform starts it: magic
//! cookie, offered protocol versions, and a fresh client certificate in
//! PLUGIN_CLIENT_CERT (ECDSA P-521, self-signed and marked as a CA, like
//! go-plugin's AutoMTLS). The test then reads the handshake line and talks
//! gRPC over mTLS with the client generated from proto/.

use std::future::Future;
use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tonic::transport::{Channel, Endpoint};

use privatelink::proto::tfplugin6::provider_client::ProviderClient;

pub const MAGIC_COOKIE: (&str, &str) = ("TF_PLUGIN_MAGIC_COOKIE", "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2");

/// A client certificate and key, as Terraform makes one per plugin start.
#[derive(Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub cert: CertificateDer<'static>,
    key_der: Vec<u8>,
}

impl ClientIdentity {
    pub fn generate() -> ClientIdentity {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).expect("P-521 key");
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.distinguished_name.push(rcgen::DnType::OrganizationName, "HashiCorp");
        params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
        // go-plugin marks its client certificate as a CA and uses it as the
        // end entity too; the provider must accept exactly that shape.
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.key_usages =
            vec![rcgen::KeyUsagePurpose::DigitalSignature, rcgen::KeyUsagePurpose::KeyEncipherment, rcgen::KeyUsagePurpose::KeyCertSign];
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.self_signed(&key).unwrap();
        ClientIdentity { cert_pem: cert.pem(), cert: cert.der().clone(), key_der: key.serialize_der() }
    }
}

pub struct Plugin {
    child: Child,
    pub addr: SocketAddr,
    pub server_cert: CertificateDer<'static>,
    pub identity: ClientIdentity,
    stderr: Arc<Mutex<String>>,
}

impl Plugin {
    /// Starts the built binary with the test's extra environment.
    pub fn start(extra_env: &[(&str, &str)]) -> Plugin {
        Plugin::start_without(&[], extra_env)
    }

    /// Starts the built binary with `plugin_env` less the variables named
    /// in `without` (the test credentials, say), plus `extra_env`.
    pub fn start_without(without: &[&str], extra_env: &[(&str, &str)]) -> Plugin {
        let identity = ClientIdentity::generate();
        let mut cmd = plugin_command(&identity);
        for k in without {
            cmd.env_remove(k);
        }
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the provider binary");
        let stdout = child.stdout.take().unwrap();
        let stderr_buf = Arc::new(Mutex::new(String::new()));
        collect(child.stderr.take().unwrap(), stderr_buf.clone());
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the handshake line");
        let line = line.trim().to_string();
        if line.is_empty() {
            let _ = child.wait();
            panic!("the provider printed no handshake line; stderr:\n{}", stderr_buf.lock().unwrap());
        }
        let (addr, server_cert) = parse_handshake(&line);
        Plugin { child, addr, server_cert, identity, stderr: stderr_buf }
    }

    /// Wraps a process already started and past its handshake line.
    pub fn attach(mut child: Child, addr: SocketAddr, server_cert: CertificateDer<'static>, identity: ClientIdentity) -> Plugin {
        let stderr = Arc::new(Mutex::new(String::new()));
        if let Some(e) = child.stderr.take() {
            collect(e, stderr.clone());
        }
        Plugin { child, addr, server_cert, identity, stderr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A gRPC channel over TLS that trusts only this plugin's certificate
    /// and presents `identity` (None: no client certificate at all).
    pub async fn connect_as(&self, identity: Option<&ClientIdentity>) -> Result<Channel, tonic::transport::Error> {
        let tls = client_tls(self.server_cert.clone(), identity);
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect_timeout(Duration::from_secs(10))
            .connect_with_connector(MtlsConnector { addr: self.addr, tls })
            .await
    }

    /// The provider client as Terraform has it.
    pub async fn client(&self) -> ProviderClient<Channel> {
        let channel = self.connect_as(Some(&self.identity)).await.expect("mTLS connection with Terraform's certificate");
        ProviderClient::new(channel)
    }

    pub async fn channel(&self) -> Channel {
        self.connect_as(Some(&self.identity)).await.expect("mTLS connection with Terraform's certificate")
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// SIGKILL, as a crash or an OOM kill would end it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits for the process to end by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Plugin {
    fn drop(&mut self) {
        // A failing test shows how the provider ended (its last log lines).
        if std::thread::panicking() {
            let log = self.stderr();
            let tail: Vec<&str> = log.lines().rev().take(15).collect();
            eprintln!("--- provider stderr, last lines:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Terraform's environment for the plugin, and nothing that could reach
/// real AWS: test credentials, no instance metadata probe.
pub fn plugin_env(identity: &ClientIdentity) -> Vec<(String, String)> {
    [
        ("PATH", std::env::var("PATH").unwrap_or_default()),
        (MAGIC_COOKIE.0, MAGIC_COOKIE.1.to_string()),
        ("PLUGIN_PROTOCOL_VERSIONS", "5,6".into()),
        ("PLUGIN_MIN_PORT", "10000".into()),
        ("PLUGIN_MAX_PORT", "25000".into()),
        ("PLUGIN_CLIENT_CERT", identity.cert_pem.clone()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("AWS_CONFIG_FILE", "/dev/null".into()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The provider binary the tests run: the one cargo built for them, or
/// PRIVATELINK_PROVIDER_BINARY (scripts/build-portable runs the protocol
/// tests against its glibc 2.17 release build this way).
pub fn provider_binary() -> std::path::PathBuf {
    std::env::var_os("PRIVATELINK_PROVIDER_BINARY")
        .map(Into::into)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_terraform-provider-privatelink").into())
}

/// The binary with `plugin_env` only, its stdout and stderr piped.
pub fn plugin_command(identity: &ClientIdentity) -> Command {
    let mut cmd = Command::new(provider_binary());
    cmd.env_clear().envs(plugin_env(identity)).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd
}

/// Everything `from` gives, appended to `into` as it comes; the thread
/// ends with the stream (join it to know all was read).
pub fn collect(mut from: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => into.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    })
}

/// `1|6|tcp|ADDR|grpc|CERT` -> (address, server certificate).
pub fn parse_handshake(line: &str) -> (SocketAddr, CertificateDer<'static>) {
    let parts: Vec<&str> = line.split('|').collect();
    assert_eq!(parts.len(), 6, "handshake line has six fields: {line}");
    assert_eq!(parts[0], "1", "go-plugin core protocol");
    assert_eq!(parts[1], "6", "Terraform plugin protocol");
    assert_eq!(parts[2], "tcp");
    assert_eq!(parts[4], "grpc");
    let addr: SocketAddr = parts[3].parse().expect("address");
    assert!(addr.ip().is_loopback(), "the plugin listens on loopback only, not {addr}");
    let der = base64::engine::general_purpose::STANDARD_NO_PAD.decode(parts[5]).expect("unpadded base64 certificate");
    (addr, CertificateDer::from(der))
}

/// Dials the plugin and runs the TLS handshake (tonic's connector hook).
#[derive(Clone)]
struct MtlsConnector {
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
}

type Conn = hyper_util::rt::TokioIo<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

impl tonic::codegen::Service<tonic::codegen::http::Uri> for MtlsConnector {
    type Response = Conn;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Conn>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _uri: tonic::codegen::http::Uri) -> Self::Future {
        let (addr, tls) = (self.addr, self.tls.clone());
        Box::pin(async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let conn = tokio_rustls::TlsConnector::from(tls).connect(ServerName::try_from("localhost").unwrap(), tcp).await?;
            Ok(hyper_util::rt::TokioIo::new(conn))
        })
    }
}

fn client_tls(server_cert: CertificateDer<'static>, identity: Option<&ClientIdentity>) -> Arc<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedServer { cert: server_cert, provider }));
    let mut cfg = match identity {
        Some(id) => builder
            .with_client_auth_cert(vec![id.cert.clone()], PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(id.key_der.clone())))
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(cfg)
}

/// Trusts exactly the certificate from the handshake line, as go-plugin does.
#[derive(Debug)]
struct PinnedServer {
    cert: CertificateDer<'static>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.cert.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the plugin's certificate".into()))
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
