//! The binding on a CUDA runtime, checked against the CPU. Every test here
//! returns early, printing that it skipped, unless the library was built with
//! CUDA (`has_cuda`) and a CUDA device is present (`cuda_device_count`).

mod common;

use common::{check_many_equals_solo, many_settings, prefilled};
use seqcore::{Device, Dtype, LoadOptions, Model, OutputMode, Runtime, Sampling, Stream, Token};

const STEPS: usize = 20;
const TEXT: &str = "In the beginning God created the heaven and the earth.";

fn text() -> Vec<Token> {
    TEXT.bytes().map(Token::from).collect()
}

/// The CUDA runtime, the token model on the CPU and on the GPU (loaded with
/// `options`); `None`, with a note on stderr, without a GPU.
fn gpu_models(test: &str, options: &LoadOptions) -> Option<(Runtime, Model, Model)> {
    if !seqcore::has_cuda() || seqcore::cuda_device_count() == 0 {
        eprintln!(
            "{test}: skipped, needs a CUDA device (has_cuda={}, cuda_device_count={})",
            seqcore::has_cuda(),
            seqcore::cuda_device_count()
        );
        return None;
    }
    let rt = Runtime::new(Device::Cuda, 0, 0).unwrap();
    assert_eq!(rt.device(), Device::Cuda);
    let gpu = Model::load_with(Some(&rt), common::token_model(), options).unwrap();
    let cpu = Model::load(common::token_model()).unwrap();
    Some((rt, cpu, gpu))
}

/// max |cpu - other| <= rel * max(1, max |cpu|).
#[track_caller]
fn within(cpu: &[f32], other: &[f32], rel: f32, what: &str) {
    assert_eq!(cpu.len(), other.len());
    assert!(other.iter().all(|v| v.is_finite()), "{what}: not finite");
    let err = cpu
        .iter()
        .zip(other)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let bound = rel * cpu.iter().map(|a| a.abs()).fold(1.0, f32::max);
    assert!(
        err <= bound,
        "{what}: max |cpu - gpu| = {err} exceeds {bound}"
    );
}

#[test]
fn gpu_step_matches_cpu() {
    let Some((_rt, cpu, gpu)) = gpu_models("gpu_step_matches_cpu", &LoadOptions::new()) else {
        return;
    };
    assert_eq!(gpu.weight_dtype(), Dtype::F32);
    let (mut c, mut g) = (cpu.stream().unwrap(), gpu.stream().unwrap());
    for (i, &t) in text()[..STEPS].iter().enumerate() {
        within(
            &c.step_token(t).unwrap(),
            &g.step_token(t).unwrap(),
            1e-4,
            &format!("step {i}"),
        );
    }
    assert_eq!(g.position(), STEPS as u64);
}

#[test]
fn gpu_snapshot_restores_on_cpu() {
    let Some((_rt, cpu, gpu)) = gpu_models("gpu_snapshot_restores_on_cpu", &LoadOptions::new())
    else {
        return;
    };
    let text = text();
    let mut g = gpu.stream().unwrap();
    g.forward_tokens(&text[..STEPS], OutputMode::None).unwrap();
    let mut c = cpu.stream().unwrap();
    c.restore(&g.snapshot().unwrap()).unwrap();
    assert_eq!(c.position(), STEPS as u64);
    for &t in &text[STEPS..2 * STEPS] {
        within(
            &c.step_token(t).unwrap(),
            &g.step_token(t).unwrap(),
            1e-4,
            "after restore",
        );
    }
    // And a CPU snapshot restores on the GPU.
    let mut back = gpu.stream().unwrap();
    back.restore(&c.snapshot().unwrap()).unwrap();
    for &t in &text[2 * STEPS..2 * STEPS + 5] {
        within(
            &c.step_token(t).unwrap(),
            &back.step_token(t).unwrap(),
            1e-4,
            "CPU to GPU",
        );
    }
}

#[test]
fn gpu_bf16_close_to_f32_cpu() {
    let options = LoadOptions::new().weight_dtype(Dtype::BF16);
    let Some((_rt, cpu, gpu)) = gpu_models("gpu_bf16_close_to_f32_cpu", &options) else {
        return;
    };
    assert_eq!(gpu.weight_dtype(), Dtype::BF16);
    let (mut c, mut g) = (cpu.stream().unwrap(), gpu.stream().unwrap());
    for &t in &text()[..STEPS] {
        within(
            &c.step_token(t).unwrap(),
            &g.step_token(t).unwrap(),
            2e-2,
            "bf16 step",
        );
    }
}

#[test]
fn gpu_generate_many_equals_solo_generate() {
    let Some((_rt, cpu, gpu)) = gpu_models(
        "gpu_generate_many_equals_solo_generate",
        &LoadOptions::new(),
    ) else {
        return;
    };
    let greedy = [Sampling::GREEDY; 3];
    let (mut many, mut last_many) = prefilled(&gpu, &greedy);
    let mut solo: Vec<Stream> = many.iter().map(|s| s.fork().unwrap()).collect();
    let (mut on_cpu, mut last_cpu) = prefilled(&cpu, &greedy);
    let mut last_solo = last_many.clone();
    let mut agree = [true; 3];
    let mut agreed = [0; 3];
    for step in 0..16 {
        let mut refs: Vec<&mut Stream> = many.iter_mut().collect();
        last_many = seqcore::generate_many(&mut refs, &last_many).unwrap();
        for (s, t) in solo.iter_mut().zip(last_solo.iter_mut()) {
            *t = s.generate(&[*t]).unwrap();
        }
        assert_eq!(
            last_many, last_solo,
            "GPU generate_many vs GPU generate, step {step}"
        );
        let mut refs: Vec<&mut Stream> = on_cpu.iter_mut().collect();
        last_cpu = seqcore::generate_many(&mut refs, &last_cpu).unwrap();
        for i in 0..3 {
            // greedy may part on a near-tie: count only
            agree[i] = agree[i] && last_cpu[i] == last_many[i];
            agreed[i] += usize::from(agree[i]);
        }
    }
    eprintln!("GPU greedy agrees with the CPU for {agreed:?} steps of 16");
    // Per-stream sampling settings and seeds, including more than 64 candidates.
    let s = many_settings();
    check_many_equals_solo(&gpu, &s[1], 16);
    check_many_equals_solo(&gpu, &s[2], 16);
}
