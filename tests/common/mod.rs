//! The test bed shared by the integration tests: the moto emulator, the
//! provider process spoken to like Terraform does, and the Terraform CLI.
#![allow(dead_code)]

pub mod moto;
pub mod plugin;
pub mod terraform;

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program installed by scripts/setup into .tools/bin.
pub fn tool(name: &str) -> PathBuf {
    let p = root().join(".tools/bin").join(name);
    if !p.exists() {
        panic!("{} is missing: run scripts/setup (it installs moto and Terraform 1.0.3 into .tools/)", p.display());
    }
    p
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A provider `config` value as Terraform sends it (msgpack map).
pub fn msgpack(v: rmpv::Value) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &v).unwrap();
    out
}

pub fn decode_msgpack(bytes: &[u8]) -> rmpv::Value {
    rmpv::decode::read_value(&mut &bytes[..]).expect("msgpack from the provider")
}

/// Builds an rmpv map from (key, value) pairs.
pub fn obj(pairs: Vec<(&str, rmpv::Value)>) -> rmpv::Value {
    rmpv::Value::Map(pairs.into_iter().map(|(k, v)| (rmpv::Value::from(k), v)).collect())
}

pub fn s(v: &str) -> rmpv::Value {
    rmpv::Value::from(v)
}

/// The `endpoints` block pointing every service at one URL.
pub fn endpoints(url: &str) -> rmpv::Value {
    obj(["ec2", "sqs", "lambda", "iam", "sts"].into_iter().map(|k| (k, s(url))).collect())
}

/// Looks a key up in an rmpv map.
pub fn field<'a>(v: &'a rmpv::Value, key: &str) -> &'a rmpv::Value {
    static NIL: rmpv::Value = rmpv::Value::Nil;
    v.as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v))
        .unwrap_or(&NIL)
}
