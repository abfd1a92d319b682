use std::process::ExitCode;
use std::sync::Arc;

use privatelink::provider::Provider;
use privatelink::server;

fn main() -> ExitCode {
    // Before anything else: the process that started us, which the server
    // outlives by at most a second (server::host).
    let host = server::host::Host::current();
    if std::env::args().any(|a| a == "--version" || a == "-v") {
        println!("{}", privatelink::VERSION_LINE);
        return ExitCode::SUCCESS;
    }
    // The AWS SDK and the plugin server share one rustls crypto provider;
    // aws-lc-rs verifies Terraform's P-521 client certificate (ring cannot).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    privatelink::logging::init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        // A composite's apply is one deep future (the step graph, each part's
        // waits); unoptimised builds lay it out on the worker's stack, which
        // 2 MiB (tokio's default) does not hold. Untouched stack costs no RSS.
        .thread_stack_size(8 * 1024 * 1024)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("terraform-provider-privatelink: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let served = rt.block_on(server::serve(Arc::new(Provider::new()), host));
    // Calls still in flight (after the host vanished) are dropped, not
    // awaited: the process ends now.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-privatelink: {e}");
            ExitCode::FAILURE
        }
    }
}
