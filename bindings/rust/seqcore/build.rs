//! Put libseqcore's directory in the rpath of this crate's tests, doctests
//! and examples: seqcore-sys's own `rustc-link-arg` does not reach dependent
//! crates, so each crate that links final binaries adds it (a downstream
//! application does the same, or installs the library system-wide).
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_SEQCORE_LIBDIR");
    if let Ok(dir) = std::env::var("DEP_SEQCORE_LIBDIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
