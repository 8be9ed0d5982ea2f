//! stream.rs: the streaming workflow of libseqcore from Rust.
//!
//!   load the bundled language model -> generate text token by token ->
//!   snapshot mid-way -> restore into a new stream -> both continue
//!   identically.
//!
//! Run from the repository root (the model path defaults to the bundled one):
//!
//! ```sh
//! cargo run --manifest-path bindings/rust/Cargo.toml --example stream -- [MODEL]
//! ```

use std::io::Write;
use std::process::ExitCode;

use seqcore::{Model, Sampling, Stream, Token};

const PROMPT: &str = "In the beginning";

/// Generate `n` tokens, feeding `first` and then each sampled token, and
/// print them as text (the model is byte-level: a token is a byte). Returns
/// the tokens; the last one has not been fed to the stream yet.
fn generate(stream: &mut Stream, first: &[Token], n: usize) -> seqcore::Result<Vec<Token>> {
    let mut out = std::io::stdout().lock();
    let mut tokens = Vec::with_capacity(n);
    for token in stream.generate_iter(first).take(n) {
        let token = token?;
        // Written as it is generated, the way a chat UI would stream it.
        let _ = out.write_all(&[token as u8]);
        let _ = out.flush();
        tokens.push(token);
    }
    let _ = writeln!(out);
    Ok(tokens)
}

fn run(path: &str) -> seqcore::Result<bool> {
    let model = Model::load(path)?;
    println!(
        "loaded {path}: {} blocks, vocabulary {}, {} bytes of state per stream",
        model.blocks().len(),
        model.input_width(),
        model.state_bytes()
    );

    // Sampled rather than greedy, so that the random generator's state, which
    // the snapshot carries, matters too.
    let mut a = model.stream()?;
    a.set_sampling(Sampling::temperature(0.8).top_k(40).top_p(0.95))?;
    a.set_seed(2024)?;

    let prompt: Vec<Token> = PROMPT.bytes().map(Token::from).collect();
    print!("{PROMPT}");
    let first = generate(&mut a, &prompt, 60)?;
    let pending = *first.last().expect("60 tokens");

    // Snapshot mid-way: state, position, sampler settings and generator.
    let blob = a.snapshot()?;
    println!(
        "snapshot at position {}: {} bytes",
        a.position(),
        blob.len()
    );

    // Restore into a fresh stream. The model handle is no longer needed:
    // each stream keeps its model alive.
    let mut b = model.stream()?;
    b.restore(&blob)?;
    drop(model);

    // Both continue from the token sampled last, and must agree exactly.
    print!("stream A: ");
    let cont_a = generate(&mut a, &[pending], 80)?;
    print!("stream B: ");
    let cont_b = generate(&mut b, &[pending], 80)?;
    let same = cont_a == cont_b;
    println!(
        "after {} more tokens the streams are {}",
        cont_a.len(),
        if same { "identical" } else { "DIFFERENT" }
    );
    Ok(same)
}

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/kjv-lstm.safetensors".to_owned());
    match run(&path) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("stream: {e}");
            ExitCode::FAILURE
        }
    }
}
