//! Test fixtures shared by the integration tests: the models and the C
//! golden results of the binding scenario (bindings/common/README.md).
//!
//! Meson's test environment names them (SEQC_TEST_FRAME_MODEL,
//! SEQC_TEST_TOKEN_MODEL, SEQC_TEST_GOLDEN); a plain `cargo test` in the
//! source tree falls back to the files there, and skips the golden
//! comparison, which needs the build's golden.bin.
#![allow(dead_code)]

use std::path::PathBuf;

fn source_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../..")
}

fn from_env(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| source_root().join(fallback), PathBuf::from)
}

/// A PyTorch nn.LSTM(8, 16, num_layers=2) state dict: frames of 8 floats in,
/// 16 floats out.
pub fn frame_model() -> PathBuf {
    from_env(
        "SEQC_TEST_FRAME_MODEL",
        "bindings/common/tiny-lstm.safetensors",
    )
}

/// The bundled byte-level LSTM language model (vocabulary 256, logits out).
pub fn token_model() -> PathBuf {
    from_env("SEQC_TEST_TOKEN_MODEL", "models/kjv-lstm.safetensors")
}

/// A BPE language model (vocabulary 704) carrying an HF tokenizer.json of
/// 700 tokens (bindings/common/make_bpe_fixture.py).
pub fn bpe_model() -> PathBuf {
    from_env("SEQC_TEST_BPE_MODEL", "bindings/common/tiny-bpe.safetensors")
}

/// golden.bin, written by bindings/common/golden.c at build time.
pub fn golden() -> Option<PathBuf> {
    std::env::var_os("SEQC_TEST_GOLDEN").map(PathBuf::from)
}

/// A scratch directory inside cargo's target directory (never the source
/// tree), unique to `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("seqcore-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub const PROMPT: &str = "In the beginning";

pub fn prompt() -> Vec<seqcore::Token> {
    PROMPT.bytes().map(seqcore::Token::from).collect()
}

/// The scenario's frames: x[t][j] = (((t*8 + j) % 17) - 8) / 8, t < 12, j < 8.
pub fn scenario_frames() -> Vec<f32> {
    (0..12 * 8).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect()
}

/// Bit patterns, so that comparisons are exact (and NaN-safe).
pub fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}
