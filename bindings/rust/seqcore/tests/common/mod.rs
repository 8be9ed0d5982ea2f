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
    from_env(
        "SEQC_TEST_BPE_MODEL",
        "bindings/common/tiny-bpe.safetensors",
    )
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

// ------------------------------------- the generate_many scenario (0.3)
// (tests/generate_many.rs on the CPU, tests/gpu.rs on a GPU)

use seqcore::{Model, OutputMode, Sampling, Stream, Token};

pub const MANY_PROMPTS: [&str; 3] = ["In the beginning", "And God said", "Let there be light"];

pub fn many_settings() -> [[Sampling; 3]; 3] {
    [
        [Sampling::GREEDY; 3],
        [
            Sampling::GREEDY,
            Sampling::temperature(0.8).top_k(40).top_p(0.95),
            Sampling::temperature(1.0),
        ],
        [
            Sampling::temperature(1.2).top_k(100),
            Sampling::temperature(0.7).top_k(5).top_p(0.9),
            Sampling::GREEDY.top_k(1),
        ],
    ]
}

/// One stream per prompt, fed all of it but its last byte, with its own
/// sampling settings and seed; and the last bytes.
pub fn prefilled(model: &Model, settings: &[Sampling; 3]) -> (Vec<Stream>, Vec<Token>) {
    let mut streams = Vec::new();
    let mut last = Vec::new();
    for (i, (p, s)) in MANY_PROMPTS.iter().zip(settings).enumerate() {
        let mut stream = model.stream().unwrap();
        stream.set_sampling(*s).unwrap();
        stream.set_seed(100 + i as u64).unwrap();
        let ids: Vec<Token> = p.bytes().map(Token::from).collect();
        stream
            .forward_tokens(&ids[..ids.len() - 1], OutputMode::None)
            .unwrap();
        streams.push(stream);
        last.push(ids[ids.len() - 1]);
    }
    (streams, last)
}

/// generate_many on streams of `model` against generate on forks of them:
/// the same tokens, and the same states at the end.
pub fn check_many_equals_solo(model: &Model, settings: &[Sampling; 3], steps: usize) {
    let (mut many, mut last_many) = prefilled(model, settings);
    let mut solo: Vec<Stream> = many.iter().map(|s| s.fork().unwrap()).collect();
    let mut last_solo = last_many.clone();
    for step in 0..steps {
        let mut refs: Vec<&mut Stream> = many.iter_mut().collect();
        if step % 2 == 0 {
            last_many = seqcore::generate_many(&mut refs, &last_many).unwrap();
        } else {
            let mut out = vec![-1; 3];
            seqcore::generate_many_into(&mut refs, &last_many, &mut out).unwrap();
            last_many = out;
        }
        for (s, t) in solo.iter_mut().zip(last_solo.iter_mut()) {
            *t = s.generate(&[*t]).unwrap();
        }
        assert_eq!(last_many, last_solo, "step {step}");
    }
    for (a, b) in many.iter().zip(&solo) {
        assert_eq!(a.snapshot().unwrap(), b.snapshot().unwrap());
    }
}

/// The status of an expected failure, with its message checked non-empty.
#[track_caller]
pub fn status<T: std::fmt::Debug>(result: seqcore::Result<T>) -> seqcore::Status {
    let err = result.expect_err("the call should fail");
    assert!(!err.message.is_empty(), "{err:?} has no message");
    err.status
}
