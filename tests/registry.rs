//! The registry path, offline: scripts/release packages the built binary
//! (zip, manifest, SHA256SUMS, a detached GPG signature made with a
//! throwaway key), a local HTTPS server speaks the provider registry
//! protocol over that dist folder, and every installed Terraform installs the
//! provider from `localhost:PORT/privatelink/privatelink`, verifying the
//! checksum and the signature and writing both hashes to the lock file.
//! A tampered zip and a tampered signature must each make init fail.
//!
//! CI never builds release, so the package holds the debug binary; the
//! packaging, signing and installing are the same.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use base64::Engine;
use common::terraform::{Terraform, VERSION, VERSIONS};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAME: &str = "terraform-provider-privatelink";

/// A throwaway GPG home with one RSA signing key, no passphrase.
struct Signer {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Signer {
    fn new() -> Signer {
        let home = tempfile::tempdir().unwrap();
        let gpg = |args: &[&str]| {
            let out = Command::new("gpg")
                .env("GNUPGHOME", home.path())
                .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
                .args(args)
                .output()
                .expect("run gpg");
            assert!(out.status.success(), "gpg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8_lossy(&out.stdout).to_string()
        };
        gpg(&["--quick-gen-key", "privatelink release test <release@privatelink.invalid>", "rsa2048", "sign", "never"]);
        let listing = gpg(&["--with-colons", "--list-keys"]);
        let fingerprint =
            listing.lines().find_map(|l| l.strip_prefix("fpr:")).map(|l| l.trim_matches(':').to_string()).expect("a fingerprint");
        Signer { home, fingerprint }
    }

    fn public_key(&self) -> String {
        let out = Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--armor", "--export", &self.fingerprint])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }
}

/// scripts/release over the debug binary into a fresh dist folder.
fn release(signer: &Signer) -> tempfile::TempDir {
    let binary = format!("linux_amd64={}", env!("CARGO_BIN_EXE_terraform-provider-privatelink"));
    let (dist, out) = release_with(signer, &[binary]);
    assert!(out.status.success(), "scripts/release failed:\n{}", String::from_utf8_lossy(&out.stderr));
    dist
}

/// scripts/release with these `--binary OS_ARCH=PATH` arguments.
fn release_with(signer: &Signer, binaries: &[String]) -> (tempfile::TempDir, std::process::Output) {
    let dist = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(common::root().join("scripts/release"));
    for b in binaries {
        cmd.args(["--binary", b]);
    }
    let out = cmd
        .arg("--dist")
        .arg(dist.path())
        .env("RELEASE_GPG_KEY", &signer.fingerprint)
        .env("GNUPGHOME", signer.home.path())
        .output()
        .expect("run scripts/release");
    (dist, out)
}

fn file(dist: &Path, suffix: &str) -> PathBuf {
    dist.join(format!("{NAME}_{VERSION}_{suffix}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Terraform's `h1:` hash of a provider package: SHA-256 over the sorted
/// lines "<sha256 hex>  <file name>\n" of the files in the zip, base64.
fn h1_of_single_file(name: &str, content: &[u8]) -> String {
    let summary = format!("{}  {name}\n", sha256_hex(content));
    format!("h1:{}", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(summary.as_bytes())))
}

/// A provider registry on 127.0.0.1 over HTTPS, serving `files` (name ->
/// bytes) with the signing key; its certificate chains to `ca_pem`.
struct Registry {
    port: u16,
    ca_file: tempfile::NamedTempFile,
    _task: tokio::task::JoinHandle<()>,
}

impl Registry {
    async fn start(files: HashMap<String, Vec<u8>>, public_key: String, key_id: String) -> Registry {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(rcgen::DnType::CommonName, "privatelink registry test CA");
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign, rcgen::KeyUsagePurpose::DigitalSignature];
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let mut leaf_params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf_params.subject_alt_names.push(rcgen::SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();
        let ca_file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(ca_file.path(), ca.pem()).unwrap();

        let tls = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()))
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let routes = Arc::new(routes(port, files, &public_key, &key_id));
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, routes) = (acceptor.clone(), routes.clone());
                tokio::spawn(async move {
                    if let Ok(mut stream) = acceptor.accept(tcp).await {
                        let _ = answer(&mut stream, &routes).await;
                    }
                });
            }
        });
        Registry { port, ca_file, _task: task }
    }

    fn source(&self) -> String {
        format!("localhost:{}/privatelink/privatelink", self.port)
    }
}

/// Path -> (content type, body): discovery, versions, download, files.
fn routes(port: u16, files: HashMap<String, Vec<u8>>, public_key: &str, key_id: &str) -> HashMap<String, (&'static str, Vec<u8>)> {
    let base = format!("https://localhost:{port}");
    let zip = format!("{NAME}_{VERSION}_linux_amd64.zip");
    let sums = String::from_utf8(files[&format!("{NAME}_{VERSION}_SHA256SUMS")].clone()).unwrap();
    let shasum = sums.lines().find(|l| l.ends_with(&zip)).and_then(|l| l.split_whitespace().next()).unwrap().to_string();
    let json = |v: serde_json::Value| ("application/json", v.to_string().into_bytes());
    let mut r = HashMap::new();
    r.insert("/.well-known/terraform.json".to_string(), json(serde_json::json!({ "providers.v1": "/v1/providers/" })));
    r.insert(
        "/v1/providers/privatelink/privatelink/versions".to_string(),
        json(serde_json::json!({ "versions": [{ "version": VERSION, "protocols": ["6.0"], "platforms": [{ "os": "linux", "arch": "amd64" }] }] })),
    );
    r.insert(
        format!("/v1/providers/privatelink/privatelink/{VERSION}/download/linux/amd64"),
        json(serde_json::json!({
            "protocols": ["6.0"],
            "os": "linux",
            "arch": "amd64",
            "filename": zip,
            "download_url": format!("{base}/files/{zip}"),
            "shasums_url": format!("{base}/files/{NAME}_{VERSION}_SHA256SUMS"),
            "shasums_signature_url": format!("{base}/files/{NAME}_{VERSION}_SHA256SUMS.sig"),
            "shasum": shasum,
            "signing_keys": { "gpg_public_keys": [{ "key_id": key_id, "ascii_armor": public_key, "trust_signature": "", "source": "privatelink", "source_url": null }] }
        })),
    );
    for (name, bytes) in files {
        r.insert(format!("/files/{name}"), ("application/octet-stream", bytes));
    }
    r
}

/// One HTTP/1.1 GET, answered and closed.
async fn answer<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: &mut S,
    routes: &HashMap<String, (&'static str, Vec<u8>)>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_string();
    let (status, kind, body) = match routes.get(&path) {
        Some((kind, body)) => ("200 OK", *kind, body.clone()),
        None => ("404 Not Found", "text/plain", b"not found".to_vec()),
    };
    let reply = format!("HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(reply.as_bytes()).await?;
    stream.write_all(&body).await?;
    stream.shutdown().await
}

fn dist_files(dist: &Path) -> HashMap<String, Vec<u8>> {
    std::fs::read_dir(dist)
        .unwrap()
        .flatten()
        .map(|e| (e.file_name().to_string_lossy().to_string(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// A Terraform working dir requiring the provider from `registry`, with
/// the registry's CA trusted (SSL_CERT_FILE) and nothing mirrored for it.
fn workdir(registry: &Registry, version: &str) -> Terraform {
    let config = format!(
        "terraform {{\n  required_providers {{\n    privatelink = {{\n      source  = \"{}\"\n      version = \"{VERSION}\"\n    }}\n  }}\n}}\n\nprovider \"privatelink\" {{\n  region = \"us-east-1\"\n}}\n",
        registry.source()
    );
    let mut tf = Terraform::new_v(version, &[("main.tf", &config)]);
    tf.set_env("SSL_CERT_FILE", &registry.ca_file.path().display().to_string());
    tf
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_artifacts_install_through_a_signed_registry() {
    let signer = Signer::new();
    let dist = release(&signer);
    let dist = dist.path();

    // The artifacts, as the registries expect them.
    let zip_bytes = std::fs::read(file(dist, "linux_amd64.zip")).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&zip_bytes)).unwrap();
    assert_eq!(zip.len(), 1);
    let inner_name = format!("{NAME}_v{VERSION}");
    let mut inner = Vec::new();
    std::io::Read::read_to_end(&mut zip.by_name(&inner_name).expect("the binary, named with its version"), &mut inner).unwrap();
    assert_eq!(inner, std::fs::read(env!("CARGO_BIN_EXE_terraform-provider-privatelink")).unwrap());
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(file(dist, "manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["metadata"]["protocol_versions"], serde_json::json!(["6.0"]));
    let sums = std::fs::read_to_string(file(dist, "SHA256SUMS")).unwrap();
    let zip_sha = sha256_hex(&zip_bytes);
    assert!(sums.contains(&format!("{zip_sha}  {NAME}_{VERSION}_linux_amd64.zip")), "{sums}");
    assert!(sums.contains(&format!("{NAME}_{VERSION}_manifest.json")), "{sums}");
    let again = release(&signer);
    assert_eq!(std::fs::read(file(again.path(), "linux_amd64.zip")).unwrap(), zip_bytes, "the zip is reproducible");

    // terraform init from the registry verifies and locks.
    let registry = Registry::start(dist_files(dist), signer.public_key(), signer.fingerprint[24..].to_string()).await;
    // Each installed Terraform verifies, installs and locks it the same way.
    for version in VERSIONS {
        let tf = workdir(&registry, version);
        let init = tokio::task::block_in_place(|| tf.run(&["init", "-no-color"]));
        assert_eq!(init.code, 0, "Terraform {version}: init from the registry failed:\n{}", init.all());
        assert!(init.stdout.contains(&format!("Installed {} v{VERSION}", registry.source())), "Terraform {version}:\n{}", init.stdout);
        assert!(init.stdout.contains("signed"), "Terraform {version}: the signature was checked:\n{}", init.stdout);
        let lock = std::fs::read_to_string(tf.workdir().join(".terraform.lock.hcl")).unwrap();
        assert!(lock.contains(&format!("provider \"{}\"", registry.source())), "Terraform {version}:\n{lock}");
        assert!(lock.contains(&format!("\"zh:{zip_sha}\"")), "Terraform {version}: the zip's hash from SHA256SUMS is locked:\n{lock}");
        assert!(
            lock.contains(&format!("\"{}\"", h1_of_single_file(&inner_name, &inner))),
            "Terraform {version}: the package's h1 hash is locked:\n{lock}"
        );
        let validate = tokio::task::block_in_place(|| tf.run(&["validate", "-no-color"]));
        assert_eq!(validate.code, 0, "Terraform {version}: the installed provider serves a schema it accepts:\n{}", validate.all());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_zip_or_signature_fails_init() {
    let signer = Signer::new();
    let dist = release(&signer);
    let zip_name = format!("{NAME}_{VERSION}_linux_amd64.zip");
    let sig_name = format!("{NAME}_{VERSION}_SHA256SUMS.sig");
    for (what, name, expected) in [("zip", &zip_name, "checksum"), ("signature", &sig_name, "signature")] {
        let mut files = dist_files(dist.path());
        let bytes = files.get_mut(name).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        let registry = Registry::start(files, signer.public_key(), signer.fingerprint[24..].to_string()).await;
        for version in VERSIONS {
            let tf = workdir(&registry, version);
            let init = tokio::task::block_in_place(|| tf.run(&["init", "-no-color"]));
            assert_ne!(init.code, 0, "Terraform {version} accepted a tampered {what}:\n{}", init.all());
            let text = init.all().to_lowercase();
            assert!(
                text.contains(expected),
                "Terraform {version}: init with a tampered {what} should fail on the {expected}:\n{}",
                init.all()
            );
            assert!(!tf.workdir().join(".terraform.lock.hcl").exists(), "Terraform {version}: nothing locked after a tampered {what}");
            println!("Terraform {version}, tampered {what}: {}", init.stderr.trim());
        }
    }
}

/// Five platforms in one release: the real linux binary and stand-ins for
/// the others (built by the release workflow on their own runners; they
/// carry the version text, as a real build does). One zip per platform
/// with goreleaser's names, `.exe` inside the Windows one, one SHA256SUMS
/// over every zip and the manifest, and a signature gpg verifies.
#[test]
fn five_platforms_in_one_release_with_one_signed_sums_file() {
    let signer = Signer::new();
    let stand_ins = tempfile::tempdir().unwrap();
    let stand_in = |platform: &str| {
        let path = stand_ins.path().join(platform);
        std::fs::write(&path, format!("stand-in for {platform}: {NAME} {VERSION}\n")).unwrap();
        format!("{platform}={}", path.display())
    };
    let platforms = ["linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64", "windows_amd64"];
    let mut binaries = vec![format!("linux_amd64={}", env!("CARGO_BIN_EXE_terraform-provider-privatelink"))];
    binaries.extend(platforms[1..].iter().map(|p| stand_in(p)));
    let (dist, out) = release_with(&signer, &binaries);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dist = dist.path();

    let mut names: Vec<String> = std::fs::read_dir(dist).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    let mut expected: Vec<String> = platforms.iter().map(|p| format!("{NAME}_{VERSION}_{p}.zip")).collect();
    expected.extend(["SHA256SUMS", "SHA256SUMS.sig", "manifest.json"].iter().map(|s| format!("{NAME}_{VERSION}_{s}")));
    expected.sort();
    assert_eq!(names, expected);

    for p in platforms {
        let bytes = std::fs::read(file(dist, &format!("{p}.zip"))).unwrap();
        let zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let inner: Vec<&str> = zip.file_names().collect();
        let want = if p.starts_with("windows") { format!("{NAME}_v{VERSION}.exe") } else { format!("{NAME}_v{VERSION}") };
        assert_eq!(inner, [want.as_str()], "{p}");
    }

    // One line per zip and the manifest, each hash that file's.
    let sums = std::fs::read_to_string(file(dist, "SHA256SUMS")).unwrap();
    let lines: Vec<(&str, &str)> = sums.lines().map(|l| l.split_once("  ").expect("hash  name")).collect();
    assert_eq!(lines.len(), 6, "{sums}");
    let mut listed: Vec<&str> = lines.iter().map(|(_, n)| *n).collect();
    listed.sort();
    let mut files: Vec<String> = expected.iter().filter(|n| n.ends_with(".zip") || n.ends_with("manifest.json")).cloned().collect();
    files.sort();
    assert_eq!(listed, files);
    for (hash, name) in &lines {
        assert_eq!(*hash, sha256_hex(&std::fs::read(dist.join(name)).unwrap()), "{name}");
    }
    let verify = Command::new("gpg")
        .env("GNUPGHOME", signer.home.path())
        .args(["--batch", "--verify"])
        .arg(file(dist, "SHA256SUMS.sig"))
        .arg(file(dist, "SHA256SUMS"))
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    assert!(String::from_utf8_lossy(&verify.stderr).contains("Good signature"));

    // Refused: a platform the registries do not list, one given twice, and
    // a binary that does not carry this version.
    let other = stand_ins.path().join("old");
    std::fs::write(&other, "terraform-provider-privatelink 0.0.9").unwrap();
    for (args, says) in [
        (vec![stand_in("plan9_amd64")], "plan9_amd64 is not one of"),
        (vec![stand_in("darwin_arm64"), stand_in("darwin_arm64")], "darwin_arm64 is given twice"),
        (vec![format!("darwin_arm64={}", other.display())], "does not carry 'terraform-provider-privatelink"),
    ] {
        let (_, out) = release_with(&signer, &args);
        assert!(!out.status.success(), "{args:?} was packaged");
        assert!(String::from_utf8_lossy(&out.stderr).contains(says), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}
