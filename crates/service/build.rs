//! Generates the tonic server and client from `proto/` with protox, a
//! protobuf compiler written in Rust, so that no system `protoc` is needed.

use std::path::PathBuf;

use protox::prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let files = [
        root.join("reviewledger/v1/events.proto"),
        root.join("reviewledger/v1/ledger.proto"),
        root.join("reviewledger/v1/review.proto"),
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    let fds = protox::compile(&files, [&root])?;
    // The encoded descriptor set feeds the reflection service.
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("reviewledger_descriptor.bin"), fds.encode_to_vec())?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;
    Ok(())
}
