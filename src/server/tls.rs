//! AutoMTLS as go-plugin does it: the plugin makes a fresh server
//! certificate per process and prints it in the handshake line; Terraform
//! gives the plugin its own client certificate in `PLUGIN_CLIENT_CERT`.
//! The server requires a client certificate on every connection and
//! accepts exactly that one, so no other local process can drive the
//! provider with the user's AWS credentials.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};

/// A fresh self-signed server certificate for `localhost`, as the DER
/// certificate and its PKCS#8 key.
pub fn server_identity() -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), String> {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| format!("server key: {e}"))?;
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).map_err(|e| format!("server certificate: {e}"))?;
    params.distinguished_name.push(rcgen::DnType::CommonName, "localhost");
    params.distinguished_name.push(rcgen::DnType::OrganizationName, "terraform-provider-privatelink");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(30);
    let cert = params.self_signed(&key).map_err(|e| format!("server certificate: {e}"))?;
    Ok((cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()))))
}

/// The one certificate in `PLUGIN_CLIENT_CERT` (PEM).
pub fn parse_client_cert(pem: &str) -> Result<CertificateDer<'static>, String> {
    let mut rd = pem.as_bytes();
    let mut certs = rustls_pemfile::certs(&mut rd);
    match certs.next() {
        Some(Ok(c)) => Ok(c),
        Some(Err(e)) => Err(format!("PLUGIN_CLIENT_CERT is not a PEM certificate: {e}")),
        None => Err("PLUGIN_CLIENT_CERT holds no certificate".to_string()),
    }
}

/// Accepts only a client presenting exactly `expected`, and checks that the
/// client proves possession of its key (the handshake signature).
///
/// Not a webpki chain check on purpose: Terraform's certificate is a
/// self-signed CA certificate (P-521) used as an end entity, which webpki
/// rejects (`CaUsedAsEndEntity`); comparing the exact DER is both stricter
/// and what go-plugin itself does with a one-certificate pool.
#[derive(Debug)]
pub struct ExactClientCert {
    expected: CertificateDer<'static>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ExactClientCert {
    pub fn new(expected: CertificateDer<'static>, provider: &CryptoProvider) -> Self {
        ExactClientCert { expected, algorithms: provider.signature_verification_algorithms }
    }
}

impl ClientCertVerifier for ExactClientCert {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // An empty hint list lets Go's client offer its certificate.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.expected.as_ref() {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }

    fn client_auth_mandatory(&self) -> bool {
        true
    }
}

/// The server side TLS configuration: our certificate, ALPN h2 (gRPC),
/// and the exact-client-certificate check.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    client: CertificateDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(ExactClientCert::new(client, &provider));
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert], key)
        .map_err(|e| format!("TLS server certificate: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}
