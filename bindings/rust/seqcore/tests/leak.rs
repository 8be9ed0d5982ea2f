//! Leak check: 10,000 create/step/destroy cycles with resident memory
//! bounded.
//!
//! Each cycle creates a stream (and a fork of it), steps it, snapshots and
//! restores it, makes a failing call (errors carry heap-allocated messages),
//! clones and drops a model handle, and drops everything; every 50th cycle
//! also loads and drops a model from bytes. Resident memory is read from
//! /proc/self/statm after a warm-up of 500 cycles and after the 10,000: a
//! leak of even one stream per cycle would add megabytes, so the growth must
//! stay under RSS_BOUND.
//!
//! This file holds a single test so that no other test runs in the process
//! at the same time.

mod common;

use seqcore::{Model, Status};

const CYCLES: usize = 10_000;
const WARMUP: usize = 500;
/// Allowed resident-memory growth over the 10,000 cycles.
const RSS_BOUND: usize = 1 << 20; // 1 MiB

extern "C" {
    fn getpagesize() -> std::os::raw::c_int;
}

/// Resident set size in bytes (second field of /proc/self/statm, in pages).
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * unsafe { getpagesize() } as usize
}

fn cycle(i: usize, model: &Model, bytes: &[u8], frame: &[f32], out: &mut [f32]) {
    let handle = model.clone();
    let mut s = handle.stream().unwrap();
    s.step_into(frame, out).unwrap();
    let mut f = s.fork().unwrap();
    f.step_into(frame, out).unwrap();
    let snap = s.snapshot().unwrap();
    f.restore(&snap).unwrap();
    assert_eq!(s.step(&frame[..3]).unwrap_err().status, Status::Shape);
    drop(handle);
    drop(s);
    drop(f);
    if i % 50 == 0 {
        let m = Model::from_bytes(bytes).unwrap();
        m.stream().unwrap().step_into(frame, out).unwrap();
    }
}

#[test]
fn ten_thousand_cycles_with_bounded_rss() {
    let bytes = std::fs::read(common::frame_model()).unwrap();
    let model = Model::from_bytes(&bytes).unwrap();
    let frame: Vec<f32> = (0..model.input_width()).map(|j| j as f32 / 8.0).collect();
    let mut out = vec![0f32; model.output_width()];

    for i in 0..WARMUP {
        cycle(i, &model, &bytes, &frame, &mut out);
    }
    let before = rss_bytes();
    let mut peak = before;
    for i in 0..CYCLES {
        cycle(i, &model, &bytes, &frame, &mut out);
        if i % 1000 == 999 {
            peak = peak.max(rss_bytes());
        }
    }
    let after = rss_bytes();
    let growth = after.saturating_sub(before);
    println!(
        "leak check: {CYCLES} cycles, RSS {} KiB -> {} KiB (peak {} KiB), growth {} KiB, bound {} KiB",
        before >> 10,
        after >> 10,
        peak >> 10,
        growth >> 10,
        RSS_BOUND >> 10
    );
    assert!(
        growth <= RSS_BOUND && peak.saturating_sub(before) <= RSS_BOUND,
        "resident memory grew by {} KiB (peak +{} KiB) over {CYCLES} cycles; bound {} KiB",
        growth >> 10,
        peak.saturating_sub(before) >> 10,
        RSS_BOUND >> 10
    );
}
