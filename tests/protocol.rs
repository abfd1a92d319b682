//! The built binary, started as Terraform starts it and driven over gRPC
//! with the client generated from proto/, against a moto server.

use crate::common;

use std::time::Duration;

use common::driver::{errors, for_people, path_of};
use common::moto::Moto;
use common::plugin::{plugin_command, ClientIdentity, Plugin};
use common::{decode_msgpack, endpoints, field, msgpack, obj, s};
use privatelink::proto::plugin as gp;
use privatelink::proto::tfplugin6 as pb;
use rmpv::Value as V;

fn dv(v: V) -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue { msgpack: msgpack(v), json: vec![] })
}

async fn configure(client: &mut pb::provider_client::ProviderClient<tonic::transport::Channel>, config: V) -> Vec<pb::Diagnostic> {
    common::driver::configure(client, &config).await
}

async fn read_caller_identity(
    client: &mut pb::provider_client::ProviderClient<tonic::transport::Channel>,
) -> Result<pb::read_data_source::Response, tonic::Status> {
    let config = obj(vec![("id", V::Nil), ("account_id", V::Nil), ("arn", V::Nil), ("user_id", V::Nil), ("region", V::Nil)]);
    client
        .read_data_source(pb::read_data_source::Request {
            type_name: "privatelink_caller_identity".into(),
            config: dv(config),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .map(|r| r.into_inner())
        .map(|r| pb::read_data_source::Response { diagnostics: for_people(r.diagnostics), ..r })
}

#[tokio::test]
async fn handshake_over_mtls_serves_the_schema() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;

    let schema = client.get_provider_schema(pb::get_provider_schema::Request {}).await.unwrap().into_inner();
    assert!(schema.diagnostics.is_empty(), "{:?}", schema.diagnostics);
    let block = schema.provider.unwrap().block.unwrap();
    let attr = |n: &str| block.attributes.iter().find(|a| a.name == n).unwrap_or_else(|| panic!("provider attribute {n}"));
    assert_eq!(attr("region").r#type, br#""string""#);
    assert!(attr("region").optional);
    for secret in ["access_key", "secret_key", "token"] {
        assert!(attr(secret).sensitive, "{secret} must be sensitive");
    }
    assert_eq!(attr("max_retries").r#type, br#""number""#);
    let blocks: Vec<&str> = block.block_types.iter().map(|b| b.type_name.as_str()).collect();
    assert_eq!(blocks, ["assume_role", "endpoints", "default_tags"]);
    let ep = block.block_types.iter().find(|b| b.type_name == "endpoints").unwrap();
    let services: Vec<&str> = ep.block.as_ref().unwrap().attributes.iter().map(|a| a.name.as_str()).collect();
    for svc in ["ec2", "sqs", "lambda", "iam", "sts"] {
        assert!(services.contains(&svc), "endpoints.{svc} missing from {services:?}");
    }
    let ds = &schema.data_source_schemas["privatelink_caller_identity"];
    let ds_attrs: Vec<&str> = ds.block.as_ref().unwrap().attributes.iter().map(|a| a.name.as_str()).collect();
    for a in ["account_id", "arn", "region", "user_id", "id"] {
        assert!(ds_attrs.contains(&a), "caller_identity.{a} missing");
    }
    // No attribute may carry both a type and a nested type (Terraform crashes on it).
    for a in &block.attributes {
        assert!(a.r#type.is_empty() != a.nested_type.is_none(), "{} has both or neither type and nested_type", a.name);
    }

    let meta = client.get_metadata(pb::get_metadata::Request {}).await.unwrap().into_inner();
    assert!(meta.data_sources.iter().any(|d| d.type_name == "privatelink_caller_identity"));
}

#[tokio::test]
async fn the_plugin_health_service_reports_serving() {
    let plugin = Plugin::start(&[]);
    let mut health = tonic_health::pb::health_client::HealthClient::new(plugin.channel().await);
    let r = health.check(tonic_health::pb::HealthCheckRequest { service: "plugin".into() }).await.unwrap().into_inner();
    assert_eq!(r.status, tonic_health::pb::health_check_response::ServingStatus::Serving as i32);
}

/// The security property of AutoMTLS: a local process without Terraform's
/// client certificate cannot drive the provider (and the user's AWS
/// credentials). Under TLS 1.3 the client may finish its side of the
/// handshake before the server rejects it, so the refusal shows either at
/// connect or at the first call; either way nothing is served.
#[tokio::test]
async fn clients_without_terraforms_certificate_are_refused() {
    let plugin = Plugin::start(&[]);

    let stranger = ClientIdentity::generate();
    let refused_foreign = match plugin.connect_as(Some(&stranger)).await {
        Err(_) => true,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch).get_provider_schema(pb::get_provider_schema::Request {}).await.is_err(),
    };
    assert!(refused_foreign, "a client with a foreign certificate was served");

    let refused_anonymous = match plugin.connect_as(None).await {
        Err(_) => true,
        Ok(ch) => pb::provider_client::ProviderClient::new(ch).get_provider_schema(pb::get_provider_schema::Request {}).await.is_err(),
    };
    assert!(refused_anonymous, "a client with no certificate was served");

    // Terraform's own client still works after the refusals.
    let mut client = plugin.client().await;
    client.get_provider_schema(pb::get_provider_schema::Request {}).await.expect("Terraform's client is served");
    let log = plugin.stderr();
    assert!(log.contains("refused a connection"), "refusals are logged:\n{log}");
}

#[test]
fn refuses_to_start_without_terraform() {
    // No magic cookie: a human ran the binary by hand.
    let out = std::process::Command::new(common::plugin::provider_binary()).env_clear().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("plugin for Terraform"));
    assert!(out.stdout.is_empty(), "no handshake line without the cookie");

    // Cookie but no client certificate (TF_DISABLE_PLUGIN_TLS): refuse to serve in clear text.
    let id = ClientIdentity::generate();
    let out = plugin_command(&id).env_remove("PLUGIN_CLIENT_CERT").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PLUGIN_CLIENT_CERT"));
    assert!(out.stdout.is_empty());

    // Only protocol 5 offered (Terraform 0.12-0.15).
    let out = plugin_command(&id).env("PLUGIN_PROTOCOL_VERSIONS", "5").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("version 6"));
}

#[tokio::test]
async fn invalid_provider_config_gets_diagnostics_with_attribute_paths() {
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    let config = obj(vec![
        ("region", s("moon-base-1")),
        ("access_key", s("AKIAEXAMPLE")),
        ("max_retries", V::from(500)),
        ("assume_role", obj(vec![("role_arn", s("admin")), ("session_name", V::Nil), ("external_id", V::Nil)])),
        ("endpoints", obj(vec![("sqs", s("localhost:4566")), ("ec2", s("http://127.0.0.1:5000"))])),
        ("default_tags", obj(vec![("tags", obj(vec![("aws:owner", s("x"))]))])),
    ]);
    let r = client.validate_provider_config(pb::validate_provider_config::Request { config: dv(config) }).await.unwrap().into_inner();
    let errs = errors(&r.diagnostics);
    let paths: Vec<String> = errs.iter().map(|d| path_of(d)).collect();
    for want in ["region", "secret_key", "max_retries", "assume_role.role_arn", "endpoints.sqs", "default_tags.tags[\"aws:owner\"]"] {
        assert!(paths.iter().any(|p| p == want), "no error at {want}; got {paths:?}: {errs:#?}");
    }
    assert!(!paths.iter().any(|p| p == "endpoints.ec2"), "a valid URL was flagged: {paths:?}");
    let region = errs.iter().find(|d| path_of(d) == "region").unwrap();
    assert!(region.detail.contains("us-east-1"), "the region error shows what is valid: {}", region.detail);

    // A valid configuration has no diagnostics.
    let good = obj(vec![("region", s("eu-west-1")), ("endpoints", endpoints("http://127.0.0.1:5000"))]);
    let r = client.validate_provider_config(pb::validate_provider_config::Request { config: dv(good) }).await.unwrap().into_inner();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
}

#[tokio::test]
async fn caller_identity_reads_sts_through_the_configured_endpoint() {
    let moto = Moto::start();
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    let diags = configure(&mut client, obj(vec![("region", s("eu-west-1")), ("endpoints", endpoints(&moto.url()))])).await;
    assert!(errors(&diags).is_empty(), "{diags:?}");

    let r = read_caller_identity(&mut client).await.unwrap();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    let state = decode_msgpack(&r.state.unwrap().msgpack);
    // moto's fixed account.
    assert_eq!(field(&state, "account_id").as_str(), Some("123456789012"));
    assert_eq!(field(&state, "id").as_str(), Some("123456789012"));
    assert_eq!(field(&state, "region").as_str(), Some("eu-west-1"));
    assert!(
        field(&state, "arn").as_str().unwrap().starts_with("arn:aws:sts::123456789012:")
            || field(&state, "arn").as_str().unwrap().starts_with("arn:aws:iam::123456789012:")
    );
    assert!(moto.log().contains("POST / HTTP"), "the call went to moto:\n{}", moto.log());
}

#[tokio::test]
async fn a_failed_aws_call_names_the_part_and_the_call() {
    // Nothing listens on this port: the STS call fails to connect. The
    // credentials check at configure is off, so the data source's own call
    // is the one that fails (first_contact has the check's failures).
    let port = common::free_port();
    let dead = format!("http://127.0.0.1:{port}");
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    let cfg = obj(vec![
        ("region", s("us-east-1")),
        ("max_retries", V::from(0)),
        ("skip_credentials_validation", V::Boolean(true)),
        ("endpoints", endpoints(&dead)),
    ]);
    assert!(errors(&configure(&mut client, cfg).await).is_empty());
    let r = read_caller_identity(&mut client).await.unwrap();
    let errs = errors(&r.diagnostics);
    assert_eq!(errs.len(), 1, "{:?}", r.diagnostics);
    assert!(errs[0].summary.contains("GetCallerIdentity"), "{:?}", errs[0]);
    assert!(errs[0].detail.contains(&format!("127.0.0.1:{port}")) && errs[0].detail.contains("refused"), "{:?}", errs[0]);
    assert!(!errs[0].detail.contains("stack backtrace"), "no backtrace reaches a user: {}", errs[0].detail);
}

/// StopProvider (Ctrl-C in Terraform) cancels the call in flight, and the
/// provider keeps serving: Terraform still has to save state after it.
#[tokio::test]
async fn stop_provider_cancels_work_in_flight_and_keeps_serving() {
    // A listener that accepts and never answers: an AWS call to it hangs.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let plugin = Plugin::start(&[]);
    let mut client = plugin.client().await;
    // The credentials check is off: at configure, it would wait on the
    // silent endpoint too (up to its limit), before the call under test.
    let cfg = obj(vec![
        ("region", s("us-east-1")),
        ("max_retries", V::from(0)),
        ("skip_credentials_validation", V::Boolean(true)),
        ("endpoints", endpoints(&url)),
    ]);
    assert!(errors(&configure(&mut client, cfg).await).is_empty());

    let mut reader = client.clone();
    let hung = tokio::spawn(async move { read_caller_identity(&mut reader).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!hung.is_finished(), "the call should be waiting on the silent endpoint");

    let stop = client.stop_provider(pb::stop_provider::Request {}).await.unwrap().into_inner();
    assert_eq!(stop.error, "");
    // A guard so a regression fails instead of hanging the suite.
    let r = tokio::time::timeout(Duration::from_secs(30), hung).await.expect("StopProvider did not end the call").unwrap().unwrap();
    let errs = errors(&r.diagnostics);
    assert!(errs.iter().any(|d| d.summary == "Stopped"), "{:?}", r.diagnostics);

    // Still serving.
    client.get_provider_schema(pb::get_provider_schema::Request {}).await.expect("still serving after StopProvider");
    drop(silent);
}

/// The methods of protocol 6.10 this provider serves.
const SERVED: [&str; 21] = [
    "GetMetadata",
    "GetProviderSchema",
    "ValidateProviderConfig",
    "ValidateResourceConfig",
    "ValidateDataResourceConfig",
    "UpgradeResourceState",
    "GetResourceIdentitySchemas",
    "UpgradeResourceIdentity",
    "ConfigureProvider",
    "ReadResource",
    "PlanResourceChange",
    "ApplyResourceChange",
    "ImportResourceState",
    "ReadDataSource",
    "GetFunctions",
    "StopProvider",
    "ListResource",
    "ValidateListResourceConfig",
    "PlanAction",
    "InvokeAction",
    "ValidateActionConfig",
];

/// The methods of protocol 6.10 for features this provider does not have.
const NOT_SERVED: [&str; 15] = [
    "MoveResourceState",
    "GenerateResourceConfig",
    "ValidateEphemeralResourceConfig",
    "OpenEphemeralResource",
    "RenewEphemeralResource",
    "CloseEphemeralResource",
    "CallFunction",
    "ValidateStateStoreConfig",
    "ConfigureStateStore",
    "ReadStateBytes",
    "WriteStateBytes",
    "LockState",
    "UnlockState",
    "GetStates",
    "DeleteState",
];

/// A call of `/tfplugin6.Provider/<method>` with an empty message, as any
/// client may send (an empty message is a valid request of every method).
async fn call_by_name(channel: tonic::transport::Channel, method: &str) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let codec: tonic::codec::ProstCodec<pb::get_metadata::Request, pb::get_metadata::Request> = Default::default();
    let path: tonic::codegen::http::uri::PathAndQuery = format!("/tfplugin6.Provider/{method}").parse().unwrap();
    grpc.unary(tonic::Request::new(pb::get_metadata::Request {}), path, codec).await.map(|_| ())
}

/// Every method of the protocol the provider has no feature for answers
/// gRPC UNIMPLEMENTED, which Terraform and OpenTofu read as "not
/// supported", never as an error diagnostic; so does a method of a future
/// protocol version. The lists cover exactly the service in proto/.
#[tokio::test]
async fn rpcs_without_a_feature_answer_unimplemented() {
    let proto = std::fs::read_to_string(common::root().join("proto/tfplugin6.proto")).unwrap();
    let mut declared: Vec<&str> = proto.lines().filter_map(|l| l.trim().strip_prefix("rpc ")?.split('(').next()).collect();
    declared.sort();
    let mut listed: Vec<&str> = SERVED.iter().chain(NOT_SERVED.iter()).copied().collect();
    listed.sort();
    assert_eq!(declared, listed, "SERVED and NOT_SERVED must list every method of the Provider service");

    let plugin = Plugin::start(&[]);
    for method in NOT_SERVED.iter().copied().chain(["SomeMethodOfAFutureProtocol"]) {
        let err = call_by_name(plugin.channel().await, method).await.expect_err(method);
        assert_eq!(err.code(), tonic::Code::Unimplemented, "{method}: {err:?}");
    }
    // The served ones are really served (an empty request may get a
    // diagnostic, never UNIMPLEMENTED).
    for method in ["GetMetadata", "GetProviderSchema", "GetResourceIdentitySchemas", "GetFunctions"] {
        call_by_name(plugin.channel().await, method).await.unwrap_or_else(|e| panic!("{method}: {e:?}"));
    }
}

#[tokio::test]
async fn grpc_controller_shutdown_ends_the_process() {
    let mut plugin = Plugin::start(&[]);
    let mut ctl = gp::grpc_controller_client::GrpcControllerClient::new(plugin.channel().await);
    // The stdio stream Terraform opens stays open until shutdown.
    let mut stdio = gp::grpc_stdio_client::GrpcStdioClient::new(plugin.channel().await);
    let _stream = stdio.stream_stdio(gp::Empty {}).await.expect("GRPCStdio.StreamStdio");
    ctl.shutdown(gp::Empty {}).await.expect("Shutdown answered");
    let status = plugin.wait_exit(Duration::from_secs(10)).expect("the process ends after Shutdown");
    assert!(status.success(), "{status:?}");
}

/// Every stderr line is a JSON log entry Terraform can parse, RPC lines
/// carry their call's fields, and no credential ever appears, even at TRACE.
#[tokio::test]
async fn logs_are_hclog_json_and_never_show_credentials() {
    let moto = Moto::start();
    let env_secret = "env-secret-Zq81vPq";
    let plugin = Plugin::start(&[("TF_LOG_PROVIDER", "TRACE"), ("AWS_SECRET_ACCESS_KEY", env_secret)]);
    let mut client = plugin.client().await;
    let (key_secret, token) = ("cfg-secret-Hh27Lm", "cfg-token-Pq93Rt");
    let cfg = obj(vec![
        ("region", s("us-east-1")),
        ("access_key", s("AKIAIOSFODNN7EXAMPLE")),
        ("secret_key", s(key_secret)),
        ("token", s(token)),
        ("endpoints", endpoints(&moto.url())),
    ]);
    assert!(errors(&configure(&mut client, cfg).await).is_empty());
    let r = read_caller_identity(&mut client).await.unwrap();
    assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let log = plugin.stderr();
    for secret in [key_secret, token, env_secret] {
        assert!(!log.contains(secret), "a credential reached the log");
    }
    let mut rpc_lines = 0;
    let mut levels = std::collections::BTreeSet::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let j: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        for key in ["@level", "@message", "@module", "@timestamp"] {
            assert!(j.get(key).is_some(), "{key} missing: {line}");
        }
        let ts = j["@timestamp"].as_str().unwrap();
        // Go's layout 2006-01-02T15:04:05.000000Z07:00
        assert_eq!(ts.len(), 27, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
        levels.insert(j["@level"].as_str().unwrap().to_string());
        if j.get("tf_rpc").and_then(|v| v.as_str()) == Some("ReadDataSource") {
            rpc_lines += 1;
            assert_eq!(j["tf_resource_type"], "privatelink_caller_identity");
            assert!(j["tf_req_id"].as_str().is_some_and(|s| !s.is_empty()));
        }
    }
    assert!(rpc_lines > 0, "no line carried tf_rpc=ReadDataSource:\n{log}");
    assert!(levels.contains("trace") || levels.contains("debug"), "TRACE shows detail: {levels:?}");
}
