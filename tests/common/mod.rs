//! The test bed shared by the integration tests: the moto emulator, the
//! provider process spoken to like Terraform does, and the Terraform CLI.
#![allow(dead_code)]

pub mod action;
pub mod aws_rules;
pub mod census;
pub mod driver;
pub mod moto;
pub mod move_tasks;
pub mod pipeline;
pub mod plugin;
pub mod private_function;
pub mod proxy;
pub mod terraform;

use std::path::PathBuf;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A program installed by scripts/setup into .tools/bin.
pub fn tool(name: &str) -> PathBuf {
    let p = root().join(".tools/bin").join(name);
    if !p.exists() {
        panic!(
            "{} is missing: run scripts/setup (it installs moto and Terraform {} into .tools/)",
            p.display(),
            terraform::VERSIONS.join(", ")
        );
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
    obj(["ec2", "sqs", "lambda", "iam", "sts", "logs", "kms"].into_iter().map(|k| (k, s(url))).collect())
}

/// Looks a key up in an rmpv map.
pub fn field<'a>(v: &'a rmpv::Value, key: &str) -> &'a rmpv::Value {
    static NIL: rmpv::Value = rmpv::Value::Nil;
    v.as_map().and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v)).unwrap_or(&NIL)
}

/// Creates the user's network in moto with scripts/network.py (what users
/// make with the hashicorp/aws provider): returns its `name=value` lines
/// as pairs (vpc_id, subnet_ids, route_table_ids, app_security_group_id...).
pub fn network(moto_url: &str) -> Vec<(String, String)> {
    let out = std::process::Command::new(tool("python"))
        .arg(root().join("scripts/network.py"))
        .arg(moto_url)
        .output()
        .expect("run scripts/network.py");
    assert!(out.status.success(), "scripts/network.py failed:\n{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_string(), v.to_string()))).collect()
}

/// A value of `network()` by name.
pub fn var<'a>(vars: &'a [(String, String)], name: &str) -> &'a str {
    vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("network.py printed no {name}"))
}

/// The ids of an HCL/JSON list printed by network.py.
pub fn list_var(vars: &[(String, String)], name: &str) -> Vec<String> {
    serde_json::from_str(var(vars, name)).unwrap_or_else(|e| panic!("{name} is not a JSON list: {e}"))
}

/// `call()` again while AWS answers that what it names is still
/// propagating (a role Lambda cannot assume yet, a group not found yet), for
/// at most 60 s: what AWS tools do (EC2 "Eventual consistency", IAM
/// "Changes that I make are not always immediately visible").
pub async fn while_propagating<T, E, F, Fut>(call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    retrying(&["cannot be assumed", "InvalidGroup.NotFound", "does not have permissions"], call).await
}

/// `call()` again while its error mentions one of `marks`, for at most 60 s.
pub async fn retrying<T, E, F, Fut>(marks: &[&str], mut call: F) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let start = std::time::Instant::now();
    loop {
        match call().await {
            Err(e) if start.elapsed() < std::time::Duration::from_secs(60) && marks.iter().any(|m| format!("{e:?}").contains(m)) => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => return other,
        }
    }
}

/// A proxy applying AWS's rules (`aws_rules`, CI durations) in front of
/// `moto`, and the URL to point clients at. Keep the proxy alive as long
/// as the URL is used.
pub fn aws_url(moto: &moto::Moto) -> (proxy::Proxy, String) {
    let proxy = proxy::Proxy::aws_rules(moto.port);
    let url = proxy.url();
    (proxy, url)
}

/// The provider's AWS context pointed at moto, for tests that look at the
/// emulator directly (what exists, what is left behind).
pub async fn aws(moto_url: &str) -> privatelink::aws::Aws {
    let endpoints = ["ec2", "sqs", "lambda", "iam", "sts", "logs", "kms"].iter().map(|s| (s.to_string(), moto_url.to_string())).collect();
    privatelink::aws::Aws::connect(&privatelink::aws::ProviderConfig {
        region: Some("us-east-1".into()),
        access_key: Some("testing".into()),
        secret_key: Some("testing".into()),
        max_retries: Some(1),
        endpoints,
        ..Default::default()
    })
    .await
    .expect("AWS context for moto")
}

/// The network scripts/network.py made, by part.
pub struct Net {
    pub vpc: String,
    pub subnets: Vec<String>,
    pub route_tables: Vec<String>,
    /// The application functions' group (egress 443 only).
    pub app_group: String,
}

impl Net {
    /// Runs scripts/network.py against the emulator at `moto_url`.
    pub fn make(moto_url: &str) -> Net {
        let vars = network(moto_url);
        Net {
            vpc: var(&vars, "vpc_id").to_string(),
            subnets: list_var(&vars, "subnet_ids"),
            route_tables: list_var(&vars, "route_table_ids"),
            app_group: var(&vars, "app_security_group_id").to_string(),
        }
    }
}

/// Clients of a VPC's endpoints, made in the emulator as AWS makes them.
pub mod clients {
    /// The network interface AWS Lambda makes for a VPC function
    /// `function` (InterfaceType `lambda`, described after the function),
    /// in `subnet` with `group`; moto's Lambda makes none itself.
    pub async fn lambda_interface(aws: &privatelink::aws::Aws, subnet: &str, group: &str, function: &str) -> String {
        let description = format!("AWS Lambda VPC ENI-{function}-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b");
        let out = aws.ec2.create_network_interface().subnet_id(subnet).groups(group).description(description).send().await.unwrap();
        out.network_interface().and_then(|n| n.network_interface_id()).unwrap().to_string()
    }

    /// An EC2 instance in `subnet` with `group` (RunInstances gives it an
    /// interface carrying the group); its id.
    pub async fn instance(aws: &privatelink::aws::Aws, subnet: &str, group: &str) -> String {
        let image = aws.ec2.describe_images().owners("amazon").send().await.unwrap().images()[0].image_id().unwrap().to_string();
        let run = aws
            .ec2
            .run_instances()
            .image_id(image)
            .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .subnet_id(subnet)
            .security_group_ids(group)
            .send()
            .await
            .unwrap();
        run.instances()[0].instance_id().unwrap().to_string()
    }
}
