// Generates the protocol types from proto/. protoc comes from the
// protoc-bin-vendored crate so a bare machine needs no system package.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    std::env::set_var("PROTOC", protoc);
    println!("cargo:rerun-if-changed=proto");
    // Servers for the binary, clients for the protocol tests (they drive the
    // binary exactly as Terraform does).
    tonic_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_protos(&["proto/tfplugin6.proto", "proto/go_plugin.proto"], &["proto"])?;
    Ok(())
}
