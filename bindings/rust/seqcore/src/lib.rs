//! Safe Rust API of **libseqcore**, an embeddable runtime for stateful
//! sequence models (LSTM and GRU today).
//!
//! Load a [`Model`] once, then run any number of [`Stream`]s of it: a stream
//! holds one sequence's recurrent state and advances one position per
//! [`step`](Stream::step) (or many per [`forward`](Stream::forward)). Streams
//! can be [snapshotted](Stream::snapshot) to bytes and
//! [restored](Stream::restore), [forked](Stream::fork), stepped together in
//! one batched call ([`step_many`]), and, for language models, sample and
//! [generate](Stream::generate_iter) tokens, one stream at a time or many in
//! one call ([`generate_many`]).
//!
//! ```
//! # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
//! use seqcore::{Model, Token};
//!
//! // A byte-level LSTM language model: token ids are bytes.
//! let model = Model::load("models/kjv-lstm.safetensors")?;
//! let mut stream = model.stream()?;
//!
//! let prompt: Vec<Token> = "In the beginning".bytes().map(Token::from).collect();
//! let mut text = Vec::new();
//! for token in stream.generate_iter(&prompt).take(32) {
//!     text.push(token? as u8);
//! }
//! println!("In the beginning{}", String::from_utf8_lossy(&text));
//! # Ok::<(), seqcore::Error>(())
//! ```
//!
//! # Ownership and threads
//!
//! Handles free what they own on [`Drop`]; nothing is freed twice and
//! nothing is used after it is freed. The library keeps a stream's model
//! alive and a model's runtime, so handles may be dropped in any order.
//! [`Model`] and [`Runtime`] are cheap to [`Clone`] (a reference count) and
//! are `Send + Sync`. A [`Stream`] is `Send` but not `Sync`: it moves between
//! threads, one thread uses it at a time.
//!
//! # Errors
//!
//! Every fallible call returns [`Result<T, Error>`](Result). An [`Error`]
//! carries the library's [`Status`] and its detail message, and a failed call
//! changes nothing: a stream whose step was refused is exactly as before.
//!
//! # Linking
//!
//! The `seqcore-sys` crate links `libseqcore.so`, found through
//! `pkg-config seqcore` (or `SEQCORE_LIB_DIR`). Test and example binaries of
//! this workspace carry the library's directory in their rpath. An
//! application either uses a library installed where the dynamic loader
//! looks, or adds the rpath itself: with `seqcore-sys` as a direct
//! dependency, its `build.rs` reads the directory from `DEP_SEQCORE_LIBDIR`
//! (bindings/rust/README.md shows the three lines).
#![warn(missing_docs, missing_debug_implementations)]

mod error;
mod model;
pub mod registry;
mod runtime;
mod stream;

use std::ffi::CStr;
use std::fmt;
use std::path::Path;

pub use crate::error::{Error, Result, Status};
pub use crate::model::{Block, Dtype, InputKind, LoadOptions, Model, StateTensor, TokenizerKind};
pub use crate::runtime::{cuda_device_count, has_cuda, Device, Runtime};
pub use crate::stream::{
    generate_many, generate_many_into, step_many, step_many_into, step_many_tokens,
    step_many_tokens_into, Element, Generation, OutputMode, Sampling, Stream, Token,
};
/// The raw C declarations this crate is built on.
pub use seqcore_sys as sys;

/// A library version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version {
    /// Incompatible changes (the ABI major is separate: [`abi_version`]).
    pub major: u32,
    /// Additions.
    pub minor: u32,
    /// Fixes.
    pub patch: u32,
}

impl Version {
    /// The version of a `SEQC_VERSION_NUMBER`-style number
    /// (`major * 10000 + minor * 100 + patch`).
    pub const fn from_number(n: u32) -> Version {
        Version {
            major: n / 10000,
            minor: n / 100 % 100,
            patch: n % 100,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// The version of the header this crate was built against.
pub const HEADER_VERSION: Version = Version::from_number(sys::SEQC_VERSION_NUMBER as u32);

/// The ABI major of the header this crate was built against (the `N` of
/// `libseqcore.so.N`).
pub const HEADER_ABI_VERSION: u32 = sys::SEQC_ABI_VERSION as u32;

/// The version of the library actually loaded.
///
/// ```
/// assert_eq!(seqcore::version(), seqcore::HEADER_VERSION);
/// assert_eq!(seqcore::version().to_string(), seqcore::version_string());
/// assert_eq!(seqcore::abi_version(), seqcore::HEADER_ABI_VERSION);
/// ```
pub fn version() -> Version {
    Version::from_number(unsafe { sys::seqc_version() })
}

/// The version string of the library actually loaded (`"0.1.0"`).
pub fn version_string() -> &'static str {
    // Static storage in the library, never NULL.
    unsafe { CStr::from_ptr(sys::seqc_version_string()) }
        .to_str()
        .unwrap_or("")
}

/// The ABI major of the library actually loaded; equal to
/// [`HEADER_ABI_VERSION`] when they are compatible.
pub fn abi_version() -> u32 {
    unsafe { sys::seqc_abi_version() }
}

/// Write a model file as a canonical native file: read `src` as
/// [`Model::load`] does (a native file or a PyTorch state dict), check that
/// it builds, and write `dst` with the graph in its metadata. `dst` is
/// written to a temporary file and renamed, never left half-written.
///
/// # Errors
/// As [`Model::load`]; [`Status::Io`] when `dst` cannot be written.
pub fn convert(src: impl AsRef<Path>, dst: impl AsRef<Path>) -> Result<()> {
    let src = model::path_to_cstring(src.as_ref())?;
    let dst = model::path_to_cstring(dst.as_ref())?;
    error::check(unsafe { sys::seqc_convert(src.as_ptr(), dst.as_ptr()) })
}
