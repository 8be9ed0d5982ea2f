//! Every capability of the safe API, its error paths, and the ownership
//! rules, against the two bundled models.

mod common;

use common::{bits, prompt, scenario_frames, status};
use seqcore::registry::{self, PluginKind};
use seqcore::{
    Device, Dtype, Error, InputKind, Model, OutputMode, Runtime, Sampling, Status, Stream, Token,
};

fn frame_model() -> Model {
    Model::load(common::frame_model()).unwrap()
}

fn token_model() -> Model {
    Model::load(common::token_model()).unwrap()
}


// ------------------------------------------------------------------ versions

#[test]
fn versions() {
    assert_eq!(seqcore::version(), seqcore::HEADER_VERSION);
    assert_eq!(seqcore::version().to_string(), seqcore::version_string());
    assert_eq!(seqcore::abi_version(), seqcore::HEADER_ABI_VERSION);
    let v = seqcore::Version::from_number(10203);
    assert_eq!((v.major, v.minor, v.patch), (1, 2, 3));
}

#[test]
fn status_codes_round_trip() {
    for code in -18..=-1 {
        let s = Status::from_code(code).unwrap();
        assert!(!matches!(s, Status::Other(_)), "code {code} is named");
        assert_eq!(s.code(), code);
        assert!(!s.description().is_empty() && s.description() != "unknown status");
    }
    assert_eq!(Status::from_code(0), None);
    assert_eq!(Status::Other(-1000).description(), "unknown status");
    assert_eq!(Status::Io.to_string(), "i/o error");
}

#[test]
fn error_has_status_message_and_display() {
    let err: Error = Model::load("/nonexistent/dir/model.safetensors").unwrap_err();
    assert_eq!(err.status, Status::Io);
    assert_eq!(err.code(), seqcore::sys::SEQC_ERR_IO);
    assert!(
        err.message.contains("/nonexistent/dir/model.safetensors"),
        "{}",
        err.message
    );
    assert_eq!(err.to_string(), format!("i/o error: {}", err.message));
    // Usable as a boxed std error.
    let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(err);
    assert!(boxed.to_string().starts_with("i/o error"));
}

// ------------------------------------------------------------------- runtime

#[test]
fn runtimes() {
    let rt = Runtime::cpu(2).unwrap();
    assert_eq!(rt.threads(), 2);
    assert_eq!(rt.device(), Device::Cpu);
    let rt2 = rt.clone();
    drop(rt);
    assert_eq!(rt2.threads(), 2);
    assert!(
        Runtime::cpu(0).unwrap().threads() >= 1,
        "0 means one per core"
    );
    assert!(format!("{rt2:?}").contains("Cpu"));

    assert_eq!(Runtime::new(Device::Cpu, 0, 1).unwrap().threads(), 1);
    assert_eq!(
        status(Runtime::new(Device::Other(77), 0, 1)),
        Status::InvalidArgument
    );
    assert_eq!(status(Runtime::cpu(usize::MAX)), Status::InvalidArgument);
    if seqcore::cuda_device_count() == 0 {
        let s = status(Runtime::new(Device::Cuda, 0, 0));
        assert!(matches!(s, Status::NoDevice | Status::Unsupported), "{s:?}");
    }
    if !seqcore::has_cuda() {
        assert_eq!(seqcore::cuda_device_count(), 0);
    }
}

// --------------------------------------------------------------------- model

#[test]
fn model_info() {
    let m = frame_model();
    assert_eq!(m.input_kind(), InputKind::Frames);
    assert_eq!((m.input_width(), m.output_width()), (8, 16));
    assert!(!m.output_is_logits());
    let blocks = m.blocks();
    assert!(!blocks.is_empty());
    assert!(
        blocks.iter().any(|b| b.plugin == "recurrent/lstm"),
        "{blocks:?}"
    );
    assert!(m.weight_bytes() > 0);
    let layout = m.state_layout();
    assert!(!layout.is_empty());
    for t in &layout {
        assert_eq!(t.dtype, Dtype::F32);
        assert_eq!(t.nbytes, t.len() * 4);
    }
    assert_eq!(
        layout.iter().map(|t| t.nbytes).sum::<usize>(),
        m.state_bytes()
    );
    assert_eq!(m.state_tensor(&layout[0].name).as_ref(), Some(&layout[0]));
    assert_eq!(m.state_tensor("no.such.tensor"), None);
    let json = m.describe().unwrap();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert!(json.contains("lstm"));
    assert!(format!("{m:?}").contains("Frames"));

    let t = token_model();
    assert_eq!(t.input_kind(), InputKind::Tokens);
    assert_eq!((t.input_width(), t.output_width()), (256, 256));
    assert!(t.output_is_logits());
}

#[test]
fn load_from_bytes_and_on_a_runtime_agree() {
    let bytes = std::fs::read(common::frame_model()).unwrap();
    let rt = Runtime::cpu(1).unwrap();
    let models = [
        frame_model(),
        Model::load_on(&rt, common::frame_model()).unwrap(),
        Model::from_bytes(&bytes).unwrap(),
        Model::from_bytes_on(&rt, &bytes).unwrap(),
    ];
    drop(rt); // the models keep their runtime
    let outputs: Vec<Vec<u32>> = models
        .iter()
        .map(|m| {
            bits(
                &m.stream()
                    .unwrap()
                    .forward(&scenario_frames(), OutputMode::All)
                    .unwrap(),
            )
        })
        .collect();
    for o in &outputs[1..] {
        assert_eq!(o, &outputs[0]);
    }
}

#[test]
fn load_errors() {
    assert_eq!(status(Model::load("/nonexistent.safetensors")), Status::Io);
    assert_eq!(status(Model::load("bad\0path")), Status::InvalidArgument);
    assert_eq!(status(Model::from_bytes(b"")), Status::Format);
    assert_eq!(
        status(Model::from_bytes(b"definitely not a safetensors file")),
        Status::Format
    );
    let bytes = std::fs::read(common::frame_model()).unwrap();
    assert_eq!(
        status(Model::from_bytes(&bytes[..bytes.len() / 2])),
        Status::Format
    );
    // A directory is not a model file.
    assert!(Model::load(std::env::temp_dir()).is_err());
}

#[test]
fn convert_writes_an_equivalent_native_file() {
    let dir = common::scratch("convert");
    let dst = dir.join("tiny-native.safetensors");
    seqcore::convert(common::frame_model(), &dst).unwrap();
    let native = Model::load(&dst).unwrap();
    let a = frame_model()
        .stream()
        .unwrap()
        .forward(&scenario_frames(), OutputMode::All)
        .unwrap();
    let b = native
        .stream()
        .unwrap()
        .forward(&scenario_frames(), OutputMode::All)
        .unwrap();
    assert_eq!(bits(&a), bits(&b));

    assert_eq!(
        status(seqcore::convert("/nonexistent.safetensors", dir.join("x"))),
        Status::Io
    );
    assert_eq!(
        status(seqcore::convert(
            common::frame_model(),
            "/nonexistent/dir/out.safetensors"
        )),
        Status::Io
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// ------------------------------------------------------------------- streams

#[test]
fn step_forward_and_slices_agree_bit_for_bit() {
    let m = frame_model();
    let frames = scenario_frames();
    let all = m
        .stream()
        .unwrap()
        .forward(&frames, OutputMode::All)
        .unwrap();
    assert_eq!(all.len(), 12 * 16);

    // One step at a time, Vec and slice variants.
    let mut s = m.stream().unwrap();
    let mut stepped = Vec::new();
    for (t, frame) in frames.chunks(8).enumerate() {
        if t % 2 == 0 {
            stepped.extend(s.step(frame).unwrap());
        } else {
            let mut out = [0f32; 16];
            s.step_into(frame, &mut out).unwrap();
            stepped.extend_from_slice(&out);
        }
        assert_eq!(s.position(), t as u64 + 1);
    }
    assert_eq!(bits(&stepped), bits(&all));

    // Chunks of 5 + 7 with forward_into, output LAST and NONE.
    let mut s = m.stream().unwrap();
    let mut last = [0f32; 16];
    s.forward_into(&frames[..5 * 8], OutputMode::Last, &mut last)
        .unwrap();
    assert_eq!(bits(&last), bits(&all[4 * 16..5 * 16]));
    assert!(s
        .forward(&frames[5 * 8..11 * 8], OutputMode::None)
        .unwrap()
        .is_empty());
    s.forward_into(&frames[11 * 8..], OutputMode::None, &mut [])
        .unwrap();
    assert_eq!(s.position(), 12);

    // reset: a new stream again.
    s.reset().unwrap();
    assert_eq!(s.position(), 0);
    assert_eq!(
        bits(&s.forward(&frames, OutputMode::All).unwrap()),
        bits(&all)
    );

    // A state update without output.
    s.step_into(&frames[..8], &mut []).unwrap();
    assert_eq!(s.position(), 13);
}

#[test]
fn tokens_step_and_forward_agree() {
    let m = token_model();
    let p = prompt();
    let all = m
        .stream()
        .unwrap()
        .forward_tokens(&p, OutputMode::All)
        .unwrap();
    assert_eq!(all.len(), p.len() * 256);
    let mut s = m.stream().unwrap();
    let mut out = vec![0f32; 256];
    for (t, &tok) in p.iter().enumerate() {
        if t % 2 == 0 {
            out = s.step_token(tok).unwrap();
        } else {
            s.step_token_into(tok, &mut out).unwrap();
        }
        assert_eq!(bits(&out), bits(&all[t * 256..(t + 1) * 256]));
    }
    let mut s = m.stream().unwrap();
    let mut last = vec![0f32; 256];
    s.forward_tokens_into(&p, OutputMode::Last, &mut last)
        .unwrap();
    assert_eq!(bits(&last), bits(&all[(p.len() - 1) * 256..]));
}

/// Fails with `expected` and leaves the stream exactly as it was: its
/// snapshot is unchanged.
#[track_caller]
fn refused<T: std::fmt::Debug>(
    s: &mut Stream,
    expected: Status,
    call: impl FnOnce(&mut Stream) -> seqcore::Result<T>,
) {
    let before = s.snapshot().unwrap();
    assert_eq!(status(call(s)), expected);
    assert_eq!(
        s.snapshot().unwrap(),
        before,
        "a failed call changed the stream"
    );
}

#[test]
fn bad_shapes_and_arguments_change_nothing() {
    let fm = frame_model();
    let mut s = fm.stream().unwrap();
    s.step(&[0.5; 8]).unwrap();
    refused(&mut s, Status::Shape, |s| s.step(&[0.5; 7]));
    refused(&mut s, Status::Shape, |s| s.step(&[]));
    refused(&mut s, Status::BufferTooSmall, |s| {
        s.step_into(&[0.5; 8], &mut [0.0; 15])
    });
    refused(&mut s, Status::Shape, |s| {
        s.forward(&[0.5; 12], OutputMode::All)
    });
    refused(&mut s, Status::BufferTooSmall, |s| {
        s.forward_into(&[0.5; 16], OutputMode::All, &mut [0.0; 16])
    });
    refused(&mut s, Status::InvalidArgument, |s| s.step_token(1));
    refused(&mut s, Status::InvalidArgument, |s| {
        s.forward_tokens(&[1, 2], OutputMode::Last)
    });
    refused(&mut s, Status::InvalidArgument, |s| s.generate(&[1]));
    assert_eq!(s.position(), 1);

    let tm = token_model();
    let mut s = tm.stream().unwrap();
    s.step_token(65).unwrap();
    refused(&mut s, Status::InvalidArgument, |s| s.step(&[0.0; 256]));
    refused(&mut s, Status::InvalidArgument, |s| s.step_token(256));
    refused(&mut s, Status::InvalidArgument, |s| s.step_token(-1));
    refused(&mut s, Status::InvalidArgument, |s| {
        s.forward_tokens(&[1, 2, 300], OutputMode::All)
    });
    refused(&mut s, Status::BufferTooSmall, |s| {
        s.step_token_into(1, &mut [0.0; 10])
    });
    refused(&mut s, Status::InvalidArgument, |s| s.generate(&[]));
    refused(&mut s, Status::InvalidArgument, |s| s.generate(&[1, 999]));
    assert_eq!(s.position(), 1);
}

#[test]
fn step_many_matches_single_steps() {
    let m = frame_model();
    let frames = scenario_frames();
    // Three streams at different positions.
    let mut streams: Vec<Stream> = (0..3).map(|_| m.stream().unwrap()).collect();
    for (i, s) in streams.iter_mut().enumerate() {
        s.forward(&frames[..i * 8], OutputMode::None).unwrap();
    }
    let mut alone: Vec<Stream> = streams.iter().map(|s| s.fork().unwrap()).collect();
    let batch_in = &frames[4 * 8..7 * 8];

    let expected: Vec<f32> = alone
        .iter_mut()
        .zip(batch_in.chunks(8))
        .flat_map(|(s, f)| s.step(f).unwrap())
        .collect();
    let mut refs: Vec<&mut Stream> = streams.iter_mut().collect();
    let got = seqcore::step_many(&mut refs, batch_in).unwrap();
    assert_eq!(bits(&got), bits(&expected));

    // Slice variant, and no output at all.
    let mut out = vec![0f32; 3 * 16];
    seqcore::step_many_into(&mut refs, batch_in, &mut out).unwrap();
    seqcore::step_many_into(&mut refs, batch_in, &mut []).unwrap();
    for (i, s) in streams.iter().enumerate() {
        assert_eq!(s.position(), i as u64 + 3);
    }

    // Errors change no stream.
    let mut refs: Vec<&mut Stream> = streams.iter_mut().collect();
    let before: Vec<Vec<u8>> = refs.iter().map(|s| s.snapshot().unwrap()).collect();
    assert_eq!(
        status(seqcore::step_many(&mut refs, &frames[..2 * 8])),
        Status::Shape
    );
    assert_eq!(
        status(seqcore::step_many_into(&mut refs, batch_in, &mut [0.0; 20])),
        Status::BufferTooSmall
    );
    let other = frame_model(); // same file, another model object
    let mut stranger = other.stream().unwrap();
    let mut mixed: Vec<&mut Stream> = vec![&mut *refs[0], &mut stranger];
    let st = status(seqcore::step_many(&mut mixed, &frames[..16]));
    assert_eq!(st, Status::Mismatch);
    let after: Vec<Vec<u8>> = streams.iter().map(|s| s.snapshot().unwrap()).collect();
    assert_eq!(before, after);
}

#[test]
fn step_many_tokens_matches_single_steps() {
    let m = token_model();
    let mut a = m.stream().unwrap();
    let mut b = m.stream().unwrap();
    a.step_token(10).unwrap();
    let (mut a1, mut b1) = (a.fork().unwrap(), b.fork().unwrap());
    let expected = [a1.step_token(72).unwrap(), b1.step_token(105).unwrap()].concat();
    let got = seqcore::step_many_tokens(&mut [&mut a, &mut b], &[72, 105]).unwrap();
    assert_eq!(bits(&got), bits(&expected));
    let mut out = vec![0f32; 512];
    seqcore::step_many_tokens_into(&mut [&mut a, &mut b], &[1, 2], &mut out).unwrap();
    assert_eq!((a.position(), b.position()), (3, 2));

    assert_eq!(
        status(seqcore::step_many_tokens(&mut [&mut a, &mut b], &[1])),
        Status::Shape
    );
    assert_eq!(
        status(seqcore::step_many_tokens(&mut [&mut a, &mut b], &[1, 256])),
        Status::InvalidArgument
    );
    assert_eq!(
        status(seqcore::step_many(&mut [&mut a, &mut b], &[0.0; 512])),
        Status::InvalidArgument
    );
    assert_eq!((a.position(), b.position()), (3, 2));
}

// ------------------------------------------------------ sampling, generation

#[test]
fn sampling_settings_and_seeds() {
    let m = token_model();
    let mut s = m.stream().unwrap();
    for bad in [
        Sampling::temperature(f32::NAN),
        Sampling::temperature(-1.0),
        Sampling::temperature(1.0).top_p(0.0),
        Sampling::temperature(1.0).top_p(1.5),
        Sampling::temperature(1.0).top_k(u32::MAX),
    ] {
        assert_eq!(
            status(s.set_sampling(bad)),
            Status::InvalidArgument,
            "{bad:?}"
        );
    }

    // Greedy sample: the argmax, lowest id on ties.
    let mut logits = vec![0f32; 256];
    logits[200] = 3.0;
    logits[100] = 3.0;
    assert_eq!(s.sample(&logits).unwrap(), 100);
    assert_eq!(status(s.sample(&logits[..10])), Status::Shape);
    // Any model's output may be sampled from: 16 floats give an id in 0..16.
    let mut fs = frame_model().stream().unwrap();
    let mut sixteen = [0f32; 16];
    sixteen[9] = 1.0;
    assert_eq!(fs.sample(&sixteen).unwrap(), 9);
    assert_eq!(status(fs.sample(&[0.0; 256])), Status::Shape);

    // Same seed, same draws; the recurrent state does not move.
    let uniform = vec![0f32; 256];
    s.set_sampling(Sampling::temperature(1.0)).unwrap();
    let draw = |s: &mut Stream, seed| {
        s.set_seed(seed).unwrap();
        (0..20)
            .map(|_| s.sample(&uniform).unwrap())
            .collect::<Vec<Token>>()
    };
    let first = draw(&mut s, 99);
    assert_eq!(draw(&mut s, 99), first);
    assert_ne!(draw(&mut s, 100), first);
    assert_eq!(s.position(), 0);
    assert!(first.iter().all(|t| (0..256).contains(t)));
}

#[test]
fn generation_iterator() {
    let m = token_model();
    let mut s = m.stream().unwrap();
    s.set_sampling(Sampling::temperature(0.9).top_k(20))
        .unwrap();
    s.set_seed(5).unwrap();
    let p = prompt();

    let mut gen = s.generate_iter(&p);
    assert_eq!(gen.pending(), None);
    let tokens: Vec<Token> = gen.by_ref().take(10).map(Result::unwrap).collect();
    assert_eq!(gen.pending(), tokens.last().copied());
    let pending = gen.pending().unwrap();
    drop(gen);
    assert_eq!(
        s.position(),
        (p.len() + 9) as u64,
        "the last token is not fed yet"
    );

    // Continuing from `pending` equals one uninterrupted run.
    let more: Vec<Token> = s
        .generate_iter(&[pending])
        .take(10)
        .map(Result::unwrap)
        .collect();
    let mut t = m.stream().unwrap();
    t.set_sampling(Sampling::temperature(0.9).top_k(20))
        .unwrap();
    t.set_seed(5).unwrap();
    let whole: Vec<Token> = t.generate_iter(&p).take(20).map(Result::unwrap).collect();
    assert_eq!([tokens, more].concat(), whole);

    // reset re-seeds from the last seed: the same run again.
    t.reset().unwrap();
    let again: Vec<Token> = t.generate_iter(&p).take(20).map(Result::unwrap).collect();
    assert_eq!(again, whole);

    // An error is yielded once, then the iterator ends.
    let mut gen = t.generate_iter(&[]);
    assert_eq!(
        gen.next().unwrap().unwrap_err().status,
        Status::InvalidArgument
    );
    assert!(gen.next().is_none());
    assert!(gen.next().is_none());
}

// ------------------------------------------------------ snapshots and forks

#[test]
fn snapshot_restore_round_trip() {
    let m = token_model();
    let mut a = m.stream().unwrap();
    a.set_sampling(Sampling::temperature(0.8).top_k(40).top_p(0.95))
        .unwrap();
    a.set_seed(1234).unwrap();
    let mut gen = a.generate_iter(&prompt());
    gen.by_ref().take(8).for_each(|t| {
        t.unwrap();
    });
    let pending = gen.pending().unwrap();
    drop(gen);

    let blob = a.snapshot().unwrap();
    assert_eq!(blob.len(), a.snapshot_size().unwrap());
    let mut buf = vec![0u8; blob.len() + 10];
    assert_eq!(a.snapshot_into(&mut buf).unwrap(), blob.len());
    assert_eq!(&buf[..blob.len()], &blob[..]);
    assert_eq!(
        status(a.snapshot_into(&mut buf[..blob.len() - 1])),
        Status::BufferTooSmall
    );

    // Restored into a fresh stream (default sampling, seed 0): position,
    // sampler and generator come back too.
    let mut b = m.stream().unwrap();
    b.restore(&blob).unwrap();
    assert_eq!(b.position(), a.position());
    let ca: Vec<Token> = a
        .generate_iter(&[pending])
        .take(30)
        .map(Result::unwrap)
        .collect();
    let cb: Vec<Token> = b
        .generate_iter(&[pending])
        .take(30)
        .map(Result::unwrap)
        .collect();
    assert_eq!(ca, cb);
}

#[test]
fn bad_snapshots_are_refused_and_change_nothing() {
    let m = token_model();
    let mut a = m.stream().unwrap();
    a.forward_tokens(&prompt(), OutputMode::None).unwrap();
    let blob = a.snapshot().unwrap();

    let mut s = m.stream().unwrap();
    s.step_token(42).unwrap();
    let mut corrupt = blob.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0x40;
    refused(&mut s, Status::Checksum, |s| s.restore(&corrupt));
    refused(&mut s, Status::Format, |s| {
        s.restore(&blob[..blob.len() - 7])
    });
    refused(&mut s, Status::Format, |s| {
        s.restore(b"not a snapshot at all")
    });
    refused(&mut s, Status::Format, |s| s.restore(&[]));
    // Another model's snapshot.
    let frame_blob = frame_model().stream().unwrap().snapshot().unwrap();
    refused(&mut s, Status::Mismatch, |s| s.restore(&frame_blob));
    assert_eq!(s.position(), 1);
}

#[test]
fn fork_is_an_independent_copy() {
    let m = frame_model();
    let frames = scenario_frames();
    let mut a = m.stream().unwrap();
    a.forward(&frames[..5 * 8], OutputMode::None).unwrap();
    let mut b = a.fork().unwrap();
    assert_eq!(b.position(), 5);
    let snap = a.snapshot().unwrap();
    // Stepping the fork leaves the original alone.
    b.forward(&frames[5 * 8..9 * 8], OutputMode::None).unwrap();
    assert_eq!(a.snapshot().unwrap(), snap);
    let mut c = a.fork().unwrap();
    let oa = a.forward(&frames[5 * 8..], OutputMode::All).unwrap();
    let oc = c.forward(&frames[5 * 8..], OutputMode::All).unwrap();
    assert_eq!(bits(&oa), bits(&oc));
}

// --------------------------------------------------------- state tensors

#[test]
fn state_read_write_typed_by_layout() {
    let m = frame_model();
    let layout = m.state_layout();
    let mut s = m.stream().unwrap();
    for t in &layout {
        assert!(
            s.read_state::<f32>(&t.name)
                .unwrap()
                .iter()
                .all(|&x| x == 0.0),
            "a new stream is zero"
        );
    }
    s.forward(&scenario_frames(), OutputMode::None).unwrap();
    let name = layout[0].name.as_str();
    let values: Vec<f32> = s.read_state(name).unwrap();
    assert_eq!(values.len(), layout[0].len());
    assert!(values.iter().any(|&x| x != 0.0));

    // Slice and byte variants agree.
    let mut into = vec![0f32; values.len()];
    s.read_state_into(name, &mut into).unwrap();
    assert_eq!(bits(&into), bits(&values));
    let bytes = s.read_state_bytes(name).unwrap();
    let from_bytes: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(bits(&from_bytes), bits(&values));

    // Errors.
    assert_eq!(
        status(s.read_state::<f32>("no.such.tensor")),
        Status::NotFound
    );
    assert_eq!(
        status(s.read_state_bytes("no.such.tensor")),
        Status::NotFound
    );
    assert_eq!(status(s.read_state::<i32>(name)), Status::Dtype);
    assert_eq!(status(s.read_state::<f64>(name)), Status::Dtype);
    assert_eq!(
        status(s.read_state_into(name, &mut vec![0f32; values.len() - 1])),
        Status::Shape
    );
    assert_eq!(status(s.read_state::<f32>("bad\0name")), Status::NotFound);
    refused(&mut s, Status::Shape, |s| s.write_state(name, &values[1..]));
    refused(&mut s, Status::Dtype, |s| {
        s.write_state(name, &vec![0i32; values.len()])
    });
    refused(&mut s, Status::Shape, |s| {
        s.write_state_bytes(name, &bytes[1..])
    });
    refused(&mut s, Status::NotFound, |s| {
        s.write_state_bytes("nope", &bytes)
    });

    // Writing zeros into every tensor makes the stream behave like a new one
    // (the position is kept).
    let pos = s.position();
    for t in &layout {
        s.write_state(&t.name, &vec![0f32; t.len()]).unwrap();
    }
    assert_eq!(s.position(), pos);
    let fresh = m.stream().unwrap().step(&[0.25; 8]).unwrap();
    assert_eq!(bits(&s.step(&[0.25; 8]).unwrap()), bits(&fresh));

    // Copy a state over by bytes: then both streams agree.
    let mut t2 = m.stream().unwrap();
    for t in &layout {
        t2.write_state_bytes(&t.name, &s.read_state_bytes(&t.name).unwrap())
            .unwrap();
    }
    assert_eq!(
        bits(&s.step(&[0.5; 8]).unwrap()),
        bits(&t2.step(&[0.5; 8]).unwrap())
    );
}

// ------------------------------------------------------------------ registry

#[test]
fn registry_listing_and_describe() {
    let plugins = registry::plugins();
    assert!(!plugins.is_empty());
    let lstm = plugins
        .iter()
        .find(|p| p.name == "recurrent/lstm")
        .expect("recurrent/lstm is registered");
    assert_eq!(lstm.kind, PluginKind::Recurrent);
    assert!(lstm.version >= 1);
    assert!(!lstm.summary.is_empty());
    assert!(plugins.iter().any(|p| p.name == "recurrent/gru"));
    assert!(plugins.iter().any(|p| p.kind == PluginKind::Layer));
    for p in &plugins {
        let json = registry::describe(&p.name).unwrap();
        assert!(json.starts_with('{'), "{}: {json}", p.name);
    }
    assert_eq!(
        status(registry::describe("recurrent/nope")),
        Status::NotFound
    );
    assert_eq!(
        status(registry::describe("bad\0name")),
        Status::InvalidArgument
    );
}

// ------------------------------------------------------- ownership, threads

fn assert_send_sync<T: Send + Sync>() {}
fn assert_send<T: Send>() {}

#[test]
fn handle_traits() {
    assert_send_sync::<Model>();
    assert_send_sync::<Runtime>();
    assert_send::<Stream>();
    assert_send_sync::<Error>();
    // (Stream is not Sync: a compile_fail doctest on Stream checks that.)
}

#[test]
fn handles_may_be_dropped_in_any_order() {
    let rt = Runtime::cpu(1).unwrap();
    let m = Model::load_on(&rt, common::frame_model()).unwrap();
    let mut s = m.stream().unwrap();
    let f = s.fork().unwrap();
    let m2 = s.model();
    drop(rt);
    drop(m);
    drop(m2);
    // The stream still has its model (and the model its runtime).
    assert_eq!(s.step(&[0.5; 8]).unwrap().len(), 16);
    assert_eq!(s.model().output_width(), 16);
    drop(s);
    drop(f);
}

#[test]
fn streams_move_between_threads_and_models_are_shared() {
    let m = frame_model();
    let frames = scenario_frames();
    let expected = m
        .stream()
        .unwrap()
        .forward(&frames, OutputMode::All)
        .unwrap();

    // One model shared by reference among threads, each with its own streams.
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    let mut s = m.stream().unwrap();
                    frames
                        .chunks(8)
                        .flat_map(|f| s.step(f).unwrap())
                        .collect::<Vec<f32>>()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(bits(&h.join().unwrap()), bits(&expected));
        }
    });

    // A stream started here, finished on another thread; a model clone moved.
    let mut s = m.stream().unwrap();
    s.forward(&frames[..6 * 8], OutputMode::None).unwrap();
    let m2 = m.clone();
    let tail = std::thread::spawn(move || {
        let out = s.forward(&frames[6 * 8..], OutputMode::All).unwrap();
        assert_eq!(m2.output_width(), 16);
        out
    })
    .join()
    .unwrap();
    assert_eq!(bits(&tail), bits(&expected[6 * 16..]));
}

#[test]
fn debug_output() {
    let m = frame_model();
    let mut s = m.stream().unwrap();
    s.step(&[0.0; 8]).unwrap();
    assert!(format!("{s:?}").contains("position: 1"));
    let gen = format!("{:?}", token_model().stream().unwrap().generate_iter(&[1]));
    assert!(gen.contains("Generation"));
}
