//! Build script of `seqcore-sys`.
//!
//! 1. Finds libseqcore: `SEQCORE_LIB_DIR` / `SEQCORE_INCLUDE_DIR` when set,
//!    otherwise `pkg-config seqcore` (in a Meson build tree,
//!    `PKG_CONFIG_PATH=<build>/meson-uninstalled` makes pkg-config read
//!    `seqcore-uninstalled.pc`), otherwise the header of the source tree this
//!    crate lives in and the linker's default search path.
//! 2. Generates the declarations from `seqcore/seqcore.h` with the bindgen
//!    command-line tool (Debian's `bindgen` package) into
//!    `$OUT_DIR/bindings.rs`. When bindgen is absent or fails, or
//!    `SEQCORE_SYS_NO_BINDGEN` is set, it copies the committed
//!    `src/bindings_pregenerated.rs` instead.
//! 3. Links `libseqcore` dynamically and puts its directory in the rpath of
//!    this crate's own test binaries; dependents get the directory as
//!    `DEP_SEQCORE_LIBDIR` (this crate has `links = "seqcore"`).
//!
//! Only the standard library is used: the crate builds offline.

use std::env;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bindgen arguments. README.md's command that regenerates
/// src/bindings_pregenerated.rs uses the same ones: keep them in step.
const BINDGEN_ARGS: &[&str] = &[
    "--allowlist-function",
    "seqc_.*",
    "--allowlist-type",
    "seqc_.*",
    "--allowlist-var",
    "SEQC_.*",
    // size_t as usize rather than a c_ulong alias.
    "--size_t-is-usize",
    // `#define SEQC_ABI_VERSION 0` as i32, comparable with the int returns.
    "--default-macro-constant-type",
    "signed",
    // `SEQC_OK`, not `seqc_status_SEQC_OK`: the C names, unchanged.
    "--no-prepend-enum-name",
];

fn main() {
    for var in [
        "SEQCORE_LIB_DIR",
        "SEQCORE_INCLUDE_DIR",
        "SEQCORE_SYS_NO_BINDGEN",
        "BINDGEN",
        "PKG_CONFIG",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/bindings_pregenerated.rs");

    let manifest_dir =
        PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    let pc = pkg_config();

    // ------------------------------------------------------------- header
    let include_dir = match env::var_os("SEQCORE_INCLUDE_DIR") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => pc
            .include_dirs
            .iter()
            .find(|d| d.join("seqcore/seqcore.h").is_file())
            .cloned()
            .or_else(|| {
                // The crate sits at bindings/rust/seqcore-sys in the source tree.
                let tree = manifest_dir.join("../../../include");
                tree.join("seqcore/seqcore.h").is_file().then_some(tree)
            }),
    };
    let header = include_dir.as_ref().map(|d| d.join("seqcore/seqcore.h"));
    if let Some(h) = &header {
        println!("cargo:rerun-if-changed={}", h.display());
    }

    // ----------------------------------------------------------- bindings
    let dest = out_dir.join("bindings.rs");
    let pregenerated = manifest_dir.join("src/bindings_pregenerated.rs");
    let source = if env::var_os("SEQCORE_SYS_NO_BINDGEN").is_some() {
        "pregenerated"
    } else {
        match &header {
            Some(h) if h.is_file() => {
                match run_bindgen(h, include_dir.as_deref().unwrap(), &dest) {
                    Ok(()) => "bindgen",
                    Err(BindgenError::NotInstalled) => "pregenerated",
                    Err(BindgenError::Failed(why)) => {
                        println!(
                            "cargo:warning=bindgen failed ({why}); using the pregenerated bindings"
                        );
                        "pregenerated"
                    }
                }
            }
            _ => "pregenerated",
        }
    };
    if source == "pregenerated" {
        fs::copy(&pregenerated, &dest).expect("copy src/bindings_pregenerated.rs to OUT_DIR");
    }
    // Which one was used, for the drift test in src/lib.rs.
    println!("cargo:rustc-env=SEQCORE_SYS_BINDINGS_SOURCE={source}");

    // -------------------------------------------------------------- link
    let lib_dirs: Vec<PathBuf> = match env::var_os("SEQCORE_LIB_DIR") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => pc.lib_dirs,
    };
    for dir in &lib_dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
        // rustc-link-arg reaches this crate's own targets only; dependents
        // add their rpath from DEP_SEQCORE_LIBDIR (see seqcore/build.rs).
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=seqcore");
    if let Some(dir) = lib_dirs.first() {
        println!("cargo:libdir={}", dir.display());
    }
    if let Some(dir) = &include_dir {
        println!("cargo:include={}", dir.display());
    }
}

/// What `pkg-config seqcore` says, or nothing when it is absent or does not
/// know the package.
#[derive(Default)]
struct PkgConfig {
    lib_dirs: Vec<PathBuf>,
    include_dirs: Vec<PathBuf>,
}

fn pkg_config() -> PkgConfig {
    let program = env::var_os("PKG_CONFIG").unwrap_or_else(|| OsString::from("pkg-config"));
    let query = |flag: &str, prefix: &str| -> Vec<PathBuf> {
        let output = match Command::new(&program).args([flag, "seqcore"]).output() {
            Ok(o) if o.status.success() => o.stdout,
            _ => return Vec::new(),
        };
        String::from_utf8_lossy(&output)
            .split_whitespace()
            .filter_map(|word| word.strip_prefix(prefix))
            .map(PathBuf::from)
            .collect()
    };
    PkgConfig {
        lib_dirs: query("--libs-only-L", "-L"),
        include_dirs: query("--cflags-only-I", "-I"),
    }
}

enum BindgenError {
    /// No bindgen program: the quiet, expected case on machines without it.
    NotInstalled,
    /// bindgen ran and failed (for instance libclang is missing).
    Failed(String),
}

fn run_bindgen(header: &Path, include_dir: &Path, dest: &Path) -> Result<(), BindgenError> {
    let program = env::var_os("BINDGEN").unwrap_or_else(|| OsString::from("bindgen"));
    let _ = fs::remove_file(dest); // so that a failed run cannot leave a stale file
    let output = Command::new(&program)
        .arg(header)
        .args(BINDGEN_ARGS)
        .arg("-o")
        .arg(dest)
        .arg("--")
        .arg(format!("-I{}", include_dir.display()))
        .output();
    match output {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BindgenError::NotInstalled),
        Err(e) => Err(BindgenError::Failed(e.to_string())),
        Ok(o) if !o.status.success() => {
            let stderr = String::from_utf8_lossy(&o.stderr);
            Err(BindgenError::Failed(
                stderr.lines().next().unwrap_or("no message").to_owned(),
            ))
        }
        Ok(_) if !dest.is_file() => Err(BindgenError::Failed("no output written".to_owned())),
        Ok(_) => Ok(()),
    }
}
