//! Load options (the weight dtype) and generate_many (libseqcore 0.3), on
//! the CPU. The same on a GPU: tests/gpu.rs.

mod common;

use common::{check_many_equals_solo, many_settings, status};
use seqcore::{Dtype, LoadOptions, Model, OutputMode, Runtime, Status, Stream, Token};

fn token_model() -> Model {
    Model::load(common::token_model()).unwrap()
}

/// max |a - b| / max(1, max |a|).
fn rel_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let err = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    let scale = a.iter().map(|x| x.abs()).fold(1.0, f32::max);
    err / scale
}


// -------------------------------------------------------------- weight dtype

#[test]
fn load_options_builder() {
    assert_eq!(LoadOptions::default(), LoadOptions::new());
    assert_eq!(LoadOptions::new().get_weight_dtype(), Dtype::F32);
    let o = LoadOptions::new().weight_dtype(Dtype::BF16);
    assert_eq!(o.get_weight_dtype(), Dtype::BF16);
    assert!(format!("{o:?}").contains("BF16"));
}

#[test]
fn load_with_weight_dtype() {
    let path = common::token_model();
    let bytes = std::fs::read(&path).unwrap();
    let rt = Runtime::cpu(1).unwrap();
    assert_eq!(token_model().weight_dtype(), Dtype::F32);
    for dtype in [Dtype::F32, Dtype::BF16, Dtype::F16] {
        let o = LoadOptions::new().weight_dtype(dtype);
        let models = [
            Model::load_with(None, &path, &o).unwrap(),
            Model::load_with(Some(&rt), &path, &o).unwrap(),
            Model::from_bytes_with(None, &bytes, &o).unwrap(),
            Model::from_bytes_with(Some(&rt), &bytes, &o).unwrap(),
        ];
        for m in &models {
            assert_eq!(m.weight_dtype(), dtype);
            assert_eq!(m.clone().weight_dtype(), dtype);
        }
    }
}

#[test]
fn unsupported_weight_dtype() {
    let path = common::token_model();
    for dtype in [
        Dtype::I8,
        Dtype::F64,
        Dtype::I32,
        Dtype::U8,
        Dtype::I64,
        Dtype::Other(99),
    ] {
        let o = LoadOptions::new().weight_dtype(dtype);
        assert_eq!(status(Model::load_with(None, &path, &o)), Status::Dtype);
        assert_eq!(
            status(Model::from_bytes_with(None, &[0u8; 8], &o)),
            Status::Dtype
        );
    }
    // the other load errors still come through
    let o = LoadOptions::new().weight_dtype(Dtype::BF16);
    assert_eq!(
        status(Model::load_with(None, "/nonexistent/m.safetensors", &o)),
        Status::Io
    );
    assert_eq!(
        status(Model::from_bytes_with(None, b"not a model", &o)),
        Status::Format
    );
}

#[test]
fn reduced_precision_close_to_f32() {
    let reference = token_model();
    for dtype in [Dtype::BF16, Dtype::F16] {
        let m = Model::load_with(
            None,
            common::token_model(),
            &LoadOptions::new().weight_dtype(dtype),
        )
        .unwrap();
        let (mut a, mut b) = (reference.stream().unwrap(), m.stream().unwrap());
        for t in "In the beginning God".bytes() {
            let d = rel_diff(
                &a.step_token(t.into()).unwrap(),
                &b.step_token(t.into()).unwrap(),
            );
            assert!(d <= 2e-2, "{dtype}: relative difference {d}");
        }
        // Snapshots move between precisions.
        let mut c = reference.stream().unwrap();
        c.restore(&b.snapshot().unwrap()).unwrap();
        assert_eq!(c.position(), b.position());
    }
}

// ------------------------------------------------------------- generate_many

#[test]
fn generate_many_equals_solo_generate() {
    let m = token_model();
    for s in &many_settings() {
        check_many_equals_solo(&m, s, 24);
    }
}

#[test]
fn generate_many_forms() {
    let m = token_model();
    let (mut a, mut b) = (m.stream().unwrap(), m.stream().unwrap());
    let (mut ta, mut tb) = (a.fork().unwrap(), b.fork().unwrap());
    let got = Stream::generate_many(&mut [&mut a, &mut b], &[73, 65]).unwrap();
    assert_eq!(
        got,
        vec![ta.generate(&[73]).unwrap(), tb.generate(&[65]).unwrap()]
    );
    assert_eq!(
        seqcore::generate_many(&mut [], &[]).unwrap(),
        Vec::<Token>::new()
    );
}

#[test]
fn generate_many_errors_change_nothing() {
    let m = token_model();
    let (mut a, mut b) = (m.stream().unwrap(), m.stream().unwrap());
    a.forward_tokens(&[97, 98, 99], OutputMode::None).unwrap();
    let before = (a.snapshot().unwrap(), b.snapshot().unwrap());
    let e = |r: seqcore::Result<Vec<Token>>| status(r);
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut a, &mut b], &[1, 256])),
        Status::InvalidArgument
    );
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut a, &mut b], &[-1, 2])),
        Status::InvalidArgument
    );
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut a, &mut b], &[1])),
        Status::Shape
    );
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut a, &mut b], &[1, 2, 3])),
        Status::Shape
    );
    let mut out = [7; 1];
    assert_eq!(
        status(seqcore::generate_many_into(
            &mut [&mut a, &mut b],
            &[1, 2],
            &mut out
        )),
        Status::Shape
    );
    assert_eq!(out, [7]);
    let other = token_model();
    let mut c = other.stream().unwrap();
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut a, &mut c], &[1, 2])),
        Status::Mismatch
    );
    let frames = Model::load(common::frame_model()).unwrap();
    let mut f = frames.stream().unwrap();
    assert_eq!(
        e(seqcore::generate_many(&mut [&mut f], &[1])),
        Status::InvalidArgument
    );
    assert_eq!((a.snapshot().unwrap(), b.snapshot().unwrap()), before);
}
