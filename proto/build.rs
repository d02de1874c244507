//! Generates the tonic/prost code with a vendored `protoc`, so a fresh machine needs none.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY-free: build scripts are single-threaded, setting PROTOC here is the documented way.
    std::env::set_var("PROTOC", protoc);
    tonic_prost_build::configure().compile_protos(&["proto/raftgate.proto"], &["proto"])?;
    println!("cargo:rerun-if-changed=proto/raftgate.proto");
    Ok(())
}
