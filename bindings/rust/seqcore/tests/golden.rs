//! The shared binding scenario (bindings/common/README.md) through the Rust
//! API, compared bit for bit with what the C API produced (golden.bin).

mod common;

use common::{bits, prompt, scenario_frames};
use seqcore::{Model, OutputMode, Sampling, Token};

struct Golden {
    forward: Vec<f32>, // 12 x 16
    logits: Vec<f32>,  // 256
    greedy: Vec<Token>,
    sampled: Vec<Token>,
}

fn load_golden() -> Option<Golden> {
    let Some(path) = common::golden() else {
        eprintln!("skipped: SEQC_TEST_GOLDEN is not set (meson test sets it)");
        return None;
    };
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        bytes.len(),
        2048,
        "golden.bin is 192*4 + 256*4 + 32*4 + 32*4 bytes"
    );
    let words: Vec<[u8; 4]> = bytes
        .chunks_exact(4)
        .map(|c| c.try_into().unwrap())
        .collect();
    let floats =
        |r: std::ops::Range<usize>| words[r].iter().map(|w| f32::from_le_bytes(*w)).collect();
    let ints =
        |r: std::ops::Range<usize>| words[r].iter().map(|w| i32::from_le_bytes(*w)).collect();
    Some(Golden {
        forward: floats(0..192),
        logits: floats(192..448),
        greedy: ints(448..480),
        sampled: ints(480..512),
    })
}

/// Step 3: generate(prompt), then generate([previous]) 31 times, by hand.
fn generate_by_hand(model: &Model, sampling: Option<(Sampling, u64)>) -> Vec<Token> {
    let mut s = model.stream().unwrap();
    if let Some((sampling, seed)) = sampling {
        s.set_sampling(sampling).unwrap();
        s.set_seed(seed).unwrap();
    }
    let mut tokens = vec![s.generate(&prompt()).unwrap()];
    while tokens.len() < 32 {
        let last = *tokens.last().unwrap();
        tokens.push(s.generate(&[last]).unwrap());
    }
    tokens
}

/// The same through the iterator.
fn generate_iter(model: &Model, sampling: Option<(Sampling, u64)>) -> Vec<Token> {
    let mut s = model.stream().unwrap();
    if let Some((sampling, seed)) = sampling {
        s.set_sampling(sampling).unwrap();
        s.set_seed(seed).unwrap();
    }
    s.generate_iter(&prompt())
        .take(32)
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn scenario_matches_c_bit_for_bit() {
    let Some(golden) = load_golden() else { return };
    let frame_model = Model::load(common::frame_model()).unwrap();
    let token_model = Model::load(common::token_model()).unwrap();

    // 1. forward over 12 frames, every output.
    let mut s = frame_model.stream().unwrap();
    let out = s.forward(&scenario_frames(), OutputMode::All).unwrap();
    assert_eq!(bits(&out), bits(&golden.forward), "forward outputs");

    // ... and the same bits one step at a time, through the slice API.
    let mut s = frame_model.stream().unwrap();
    let mut row = [0f32; 16];
    for (t, frame) in scenario_frames().chunks(8).enumerate() {
        s.step_into(frame, &mut row).unwrap();
        assert_eq!(
            bits(&row),
            bits(&golden.forward[t * 16..(t + 1) * 16]),
            "step {t}"
        );
    }

    // 2. logits after the prompt.
    let mut s = token_model.stream().unwrap();
    let logits = s.forward_tokens(&prompt(), OutputMode::Last).unwrap();
    assert_eq!(bits(&logits), bits(&golden.logits), "prompt logits");

    // 3. greedy generation (the default sampling).
    assert_eq!(
        generate_by_hand(&token_model, None),
        golden.greedy,
        "greedy tokens"
    );
    assert_eq!(
        generate_iter(&token_model, None),
        golden.greedy,
        "greedy tokens, iterator"
    );

    // 4. sampled generation.
    let sampling = Some((Sampling::temperature(0.8).top_k(40).top_p(0.95), 1234));
    assert_eq!(
        generate_by_hand(&token_model, sampling),
        golden.sampled,
        "sampled tokens"
    );
    assert_eq!(
        generate_iter(&token_model, sampling),
        golden.sampled,
        "sampled tokens, iterator"
    );

    // 3 and 4 at once: the prompt fed to each stream by generate, then
    // generate_many for the other 31 tokens.
    let (mut greedy, mut sampled) = (token_model.stream().unwrap(), token_model.stream().unwrap());
    sampled.set_sampling(sampling.unwrap().0).unwrap();
    sampled.set_seed(1234).unwrap();
    let mut last = vec![
        greedy.generate(&prompt()).unwrap(),
        sampled.generate(&prompt()).unwrap(),
    ];
    let (mut many_greedy, mut many_sampled) = (vec![last[0]], vec![last[1]]);
    while many_greedy.len() < 32 {
        last = seqcore::generate_many(&mut [&mut greedy, &mut sampled], &last).unwrap();
        many_greedy.push(last[0]);
        many_sampled.push(last[1]);
    }
    assert_eq!(many_greedy, golden.greedy, "greedy tokens, generate_many");
    assert_eq!(
        many_sampled, golden.sampled,
        "sampled tokens, generate_many"
    );
}
