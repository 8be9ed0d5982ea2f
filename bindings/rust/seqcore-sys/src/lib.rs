//! Raw FFI declarations of libseqcore's C ABI.
//!
//! Everything here is generated from `include/seqcore/seqcore.h` by bindgen,
//! at build time when the `bindgen` program is installed, otherwise from the
//! committed `src/bindings_pregenerated.rs` (see `build.rs`). Names, values
//! and doc comments are the C header's, unchanged: functions `seqc_*`,
//! opaque handle types `seqc_runtime`, `seqc_model`, `seqc_stream`, and
//! constants `SEQC_*` (the status codes and enum values are `i32`/`u32`
//! constants, as in C).
//!
//! The header documents ownership, thread rules and status codes for every
//! function; the rules are not repeated here. Use the `seqcore` crate for a
//! safe API.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]
#![allow(clippy::all)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

/// Where the declarations of this build came from: `"bindgen"` (generated
/// from the header during the build) or `"pregenerated"` (the committed
/// fallback).
pub const BINDINGS_SOURCE: &str = env!("SEQCORE_SYS_BINDINGS_SOURCE");

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;
    use std::ptr;

    fn cstr(p: *const std::os::raw::c_char) -> String {
        assert!(!p.is_null());
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }

    /// The header this crate was generated from and the library it linked
    /// belong together.
    #[test]
    fn header_and_library_versions_agree() {
        unsafe {
            assert_eq!(seqc_version() as i32, SEQC_VERSION_NUMBER);
            assert_eq!(seqc_abi_version() as i32, SEQC_ABI_VERSION);
            let s = cstr(seqc_version_string());
            let header = CStr::from_bytes_with_nul(SEQC_VERSION_STRING).unwrap();
            assert_eq!(s, header.to_str().unwrap());
        }
    }

    /// A failing call returns its status and leaves a message; NULL handles
    /// are accepted by the releasing functions.
    #[test]
    fn raw_round_trip() {
        unsafe {
            let mut rt: *mut seqc_runtime = ptr::null_mut();
            assert_eq!(seqc_runtime_create_cpu(1, &mut rt), SEQC_OK);
            assert!(!rt.is_null());
            assert_eq!(seqc_runtime_threads(rt), 1);

            let mut m: *mut seqc_model = ptr::null_mut();
            let path = b"/nonexistent/model.safetensors\0";
            let rc = seqc_model_load_file(rt, path.as_ptr().cast(), &mut m);
            assert_eq!(rc, SEQC_ERR_IO);
            assert!(m.is_null(), "out-parameter untouched on failure");
            assert!(!cstr(seqc_last_error()).is_empty());
            assert!(!cstr(seqc_status_string(SEQC_ERR_IO)).is_empty());
            assert_eq!(cstr(seqc_status_string(12345)), "unknown status");

            seqc_runtime_unref(rt);
            seqc_runtime_unref(ptr::null_mut());
            seqc_model_unref(ptr::null_mut());
            seqc_stream_destroy(ptr::null_mut());
            assert!(seqc_registry_count() > 0);
        }
    }

    /// The text without what rustfmt changes: whitespace and trailing
    /// commas. bindgen formats its output only when rustfmt is on the PATH,
    /// so either side may or may not have been formatted.
    fn squash(text: &str) -> String {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        compact
            .replace(",)", ")")
            .replace(",]", "]")
            .replace(",}", "}")
    }

    /// `src/bindings_pregenerated.rs` must be what bindgen makes of the
    /// current header. Skipped when this build did not run bindgen, or ran a
    /// bindgen of another version than the one that wrote the committed file
    /// (versions format their output differently).
    #[test]
    fn pregenerated_bindings_match_bindgen() {
        let committed = include_str!("bindings_pregenerated.rs");
        let generated = include_str!(concat!(env!("OUT_DIR"), "/bindings.rs"));
        if BINDINGS_SOURCE != "bindgen" {
            eprintln!(
                "skipped: this build used the pregenerated bindings (bindgen absent or disabled)"
            );
            return;
        }
        let stamp = |text: &str| text.lines().next().unwrap_or("").to_owned();
        if stamp(committed) != stamp(generated) {
            eprintln!(
                "skipped: committed file is `{}`, this build ran `{}`",
                stamp(committed),
                stamp(generated)
            );
            return;
        }
        assert!(
            squash(committed) == squash(generated),
            "src/bindings_pregenerated.rs differs from what bindgen generates from the current \
             header: regenerate it (bindings/rust/README.md, \"Regenerating the bindings\")"
        );
    }
}
