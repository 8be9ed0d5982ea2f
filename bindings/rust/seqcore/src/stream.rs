//! Streams: one sequence's state, stepped through a model.

use std::fmt;
use std::iter::FusedIterator;
use std::ptr::{self, NonNull};

use seqcore_sys as sys;

use crate::error::{c_name, check, Error, Result, Status};
use crate::model::{state_layout_of, Dtype, Model, StateTensor};

/// A token id, in `0..vocabulary` (the model's input width).
pub type Token = i32;

/// Which positions of a `forward` call produce output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputMode {
    /// Every position: `positions × output_width` floats, row-major.
    All,
    /// The last position only: `output_width` floats.
    Last,
    /// No output: a state update only, such as a prompt prefill.
    None,
}

impl OutputMode {
    fn to_raw(self) -> i32 {
        (match self {
            OutputMode::All => sys::SEQC_OUTPUT_ALL,
            OutputMode::Last => sys::SEQC_OUTPUT_LAST,
            OutputMode::None => sys::SEQC_OUTPUT_NONE,
        }) as i32
    }
}

/// How a stream picks tokens from logits ([`Stream::set_sampling`]).
///
/// The default is greedy: the most likely token, the lowest id on ties.
///
/// ```
/// use seqcore::Sampling;
/// let s = Sampling::temperature(0.8).top_k(40).top_p(0.95);
/// assert_eq!((s.temperature, s.top_k, s.top_p), (0.8, 40, 0.95));
/// assert_eq!(Sampling::default(), Sampling::GREEDY);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 for greedy (argmax); otherwise the softmax temperature, > 0.
    pub temperature: f32,
    /// Keep only the `top_k` most likely tokens; 0 keeps all.
    pub top_k: u32,
    /// Keep the smallest set of most likely tokens whose probability reaches
    /// `top_p`, in (0, 1]; 1 keeps all.
    pub top_p: f32,
}

impl Sampling {
    /// Greedy decoding: always the most likely token.
    pub const GREEDY: Sampling = Sampling {
        temperature: 0.0,
        top_k: 0,
        top_p: 1.0,
    };

    /// Sampling at `temperature`, with no top-k or top-p cut.
    pub fn temperature(temperature: f32) -> Sampling {
        Sampling {
            temperature,
            ..Sampling::GREEDY
        }
    }

    /// The same, keeping only the `k` most likely tokens.
    pub fn top_k(self, k: u32) -> Sampling {
        Sampling { top_k: k, ..self }
    }

    /// The same, keeping the most likely tokens up to probability `p`.
    pub fn top_p(self, p: f32) -> Sampling {
        Sampling { top_p: p, ..self }
    }
}

impl Default for Sampling {
    fn default() -> Sampling {
        Sampling::GREEDY
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that state tensors of one [`Dtype`] are read and written as
/// ([`Stream::read_state`], [`Stream::write_state`]): `f32`, `f64`, `i8`,
/// `u8`, `i32`, `i64`. `f16` and `bf16` tensors are read as bytes
/// ([`Stream::read_state_bytes`]).
pub trait Element: Copy + Default + sealed::Sealed + 'static {
    /// The dtype stored as this type.
    const DTYPE: Dtype;
}

macro_rules! element {
    ($($t:ty => $d:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: Dtype = Dtype::$d;
        }
    )*};
}
element!(f32 => F32, f64 => F64, i8 => I8, u8 => U8, i32 => I32, i64 => I64);

/// One sequence's state: every stateful block's tensors, the position, the
/// sampling settings and the random generator.
///
/// A stream is made by [`Model::stream`] (or [`Stream::new`]) and holds a
/// reference to its model, so the model may be dropped first. Dropping the
/// stream frees it.
///
/// Every call that advances or changes the stream takes `&mut self`. A
/// stream is `Send` (it may move to another thread) but not `Sync`: one
/// thread uses it at a time, as the library requires, and the borrow checker
/// enforces it.
///
/// ```
/// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
/// use seqcore::{Model, OutputMode};
/// let model = Model::load("bindings/common/tiny-lstm.safetensors")?;
/// let mut stream = model.stream()?;
///
/// let frame = [0.5f32; 8]; // one frame: input_width floats
/// let out = stream.step(&frame)?; // output_width floats
/// assert_eq!(out.len(), 16);
///
/// // Several positions in one call; bit for bit the same as stepping.
/// let frames = vec![0.25f32; 3 * 8];
/// let last = stream.forward(&frames, OutputMode::Last)?;
/// assert_eq!((last.len(), stream.position()), (16, 4));
/// # Ok::<(), seqcore::Error>(())
/// ```
///
/// A stream cannot be shared between threads:
///
/// ```compile_fail,E0277
/// fn shared<T: Sync>() {}
/// shared::<seqcore::Stream>();
/// ```
///
/// and a dropped stream cannot be used, so there is no "closed stream" error
/// to handle:
///
/// ```compile_fail,E0382
/// fn use_after_drop(model: &seqcore::Model) -> seqcore::Result<()> {
///     let mut stream = model.stream()?;
///     drop(stream);
///     stream.reset() // error[E0382]: borrow of moved value
/// }
/// ```
pub struct Stream {
    raw: NonNull<sys::seqc_stream>,
}

// SAFETY: a stream has no thread affinity; it may be used by one thread at a
// time and move between threads (seqcore.h). It is not Sync: the library
// refuses (SEQC_ERR_BUSY) rather than serializes concurrent calls, and
// methods taking &self still enter the stream.
unsafe impl Send for Stream {}

/// Pointer for an output slice: NULL when it is empty (no output wanted).
fn out_ptr(out: &mut [f32]) -> *mut f32 {
    if out.is_empty() {
        ptr::null_mut()
    } else {
        out.as_mut_ptr()
    }
}

impl Stream {
    /// A new stream of `model`, as [`Model::stream`].
    pub fn new(model: &Model) -> Result<Stream> {
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_stream_create(model.as_raw(), &mut raw) })?;
        Ok(Stream::from_owned(raw))
    }

    fn from_owned(raw: *mut sys::seqc_stream) -> Stream {
        Stream {
            raw: NonNull::new(raw).expect("seqcore returned SEQC_OK and a NULL stream"),
        }
    }

    /// The stream's handle for calls that take a mutable pointer. Calls made
    /// through `&self` do not change the stream's observable state (they take
    /// the library's busy flag, which is internal).
    fn ptr(&self) -> *mut sys::seqc_stream {
        self.raw.as_ptr()
    }

    fn model_raw(&self) -> *mut sys::seqc_model {
        unsafe { sys::seqc_stream_model(self.ptr()) }
    }

    /// The stream's model (another handle to it).
    pub fn model(&self) -> Model {
        Model::from_owned(unsafe { sys::seqc_model_ref(self.model_raw()) })
    }

    /// Positions consumed since creation or the last [`reset`](Self::reset).
    pub fn position(&self) -> u64 {
        unsafe { sys::seqc_stream_position(self.ptr()) }.max(0) as u64
    }

    fn output_width(&self) -> usize {
        unsafe { sys::seqc_model_output_width(self.model_raw()) }.max(0) as usize
    }

    fn input_width(&self) -> usize {
        unsafe { sys::seqc_model_input_width(self.model_raw()) }.max(0) as usize
    }

    /// Return to the state of a new stream: zero state, position 0, the
    /// random generator re-seeded from the last seed set. Sampling settings
    /// are kept.
    pub fn reset(&mut self) -> Result<()> {
        check(unsafe { sys::seqc_stream_reset(self.ptr()) })
    }

    // ------------------------------------------------------------ stepping

    /// Advance by one frame, writing the output to `out`.
    ///
    /// `frame` holds the model's input width of floats; `out` holds at least
    /// the output width, or is empty for a state update without output.
    ///
    /// # Errors
    /// [`Status::Shape`] for a frame of the wrong length,
    /// [`Status::BufferTooSmall`] for a short `out`,
    /// [`Status::InvalidArgument`] for a token model. On error the stream is
    /// unchanged.
    pub fn step_into(&mut self, frame: &[f32], out: &mut [f32]) -> Result<()> {
        check(unsafe {
            sys::seqc_stream_step(
                self.ptr(),
                frame.as_ptr(),
                frame.len(),
                out_ptr(out),
                out.len(),
            )
        })
    }

    /// Advance by one frame and return the output (output width floats).
    pub fn step(&mut self, frame: &[f32]) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.output_width()];
        self.step_into(frame, &mut out)?;
        Ok(out)
    }

    /// Advance by one token id, writing the output to `out` (at least the
    /// output width, or empty for no output).
    ///
    /// # Errors
    /// [`Status::InvalidArgument`] for a token outside the vocabulary or a
    /// frame model; [`Status::BufferTooSmall`]. On error the stream is
    /// unchanged.
    pub fn step_token_into(&mut self, token: Token, out: &mut [f32]) -> Result<()> {
        check(unsafe { sys::seqc_stream_step_token(self.ptr(), token, out_ptr(out), out.len()) })
    }

    /// Advance by one token id and return the output (logits for a language
    /// model).
    pub fn step_token(&mut self, token: Token) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.output_width()];
        self.step_token_into(token, &mut out)?;
        Ok(out)
    }

    /// Advance by `frames.len() / input_width` frames in one call (batched
    /// input projections), writing output as `mode` says. The outputs are
    /// bit for bit those of single steps.
    ///
    /// `out` holds `positions × output_width` floats for [`OutputMode::All`],
    /// `output_width` for [`OutputMode::Last`], and may be empty for
    /// [`OutputMode::None`].
    ///
    /// # Errors
    /// [`Status::Shape`] when `frames.len()` is not a multiple of the input
    /// width; [`Status::BufferTooSmall`]; [`Status::InvalidArgument`]. On
    /// error the stream is unchanged.
    pub fn forward_into(
        &mut self,
        frames: &[f32],
        mode: OutputMode,
        out: &mut [f32],
    ) -> Result<()> {
        check(unsafe {
            sys::seqc_stream_forward(
                self.ptr(),
                frames.as_ptr(),
                frames.len(),
                mode.to_raw(),
                out_ptr(out),
                out.len(),
            )
        })
    }

    /// Advance by several frames and return the output `mode` asks for
    /// (empty for [`OutputMode::None`]).
    pub fn forward(&mut self, frames: &[f32], mode: OutputMode) -> Result<Vec<f32>> {
        let width = self.input_width().max(1);
        let mut out = vec![0.0; self.output_len(frames.len() / width, mode)];
        self.forward_into(frames, mode, &mut out)?;
        Ok(out)
    }

    /// Advance by several token ids in one call, as
    /// [`forward_into`](Self::forward_into).
    ///
    /// # Errors
    /// A token outside the vocabulary fails the whole call with
    /// [`Status::InvalidArgument`] before any state changes.
    pub fn forward_tokens_into(
        &mut self,
        tokens: &[Token],
        mode: OutputMode,
        out: &mut [f32],
    ) -> Result<()> {
        check(unsafe {
            sys::seqc_stream_forward_tokens(
                self.ptr(),
                tokens.as_ptr(),
                tokens.len(),
                mode.to_raw(),
                out_ptr(out),
                out.len(),
            )
        })
    }

    /// Advance by several token ids and return the output `mode` asks for.
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// use seqcore::{Model, OutputMode, Token};
    /// let model = Model::load("models/kjv-lstm.safetensors")?;
    /// let mut stream = model.stream()?;
    /// let prompt: Vec<Token> = b"In the beginning".iter().map(|&b| Token::from(b)).collect();
    /// let logits = stream.forward_tokens(&prompt, OutputMode::Last)?;
    /// assert_eq!(logits.len(), 256);
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    pub fn forward_tokens(&mut self, tokens: &[Token], mode: OutputMode) -> Result<Vec<f32>> {
        let mut out = vec![0.0; self.output_len(tokens.len(), mode)];
        self.forward_tokens_into(tokens, mode, &mut out)?;
        Ok(out)
    }

    fn output_len(&self, positions: usize, mode: OutputMode) -> usize {
        match mode {
            OutputMode::All => positions * self.output_width(),
            OutputMode::Last => self.output_width(),
            OutputMode::None => 0,
        }
    }

    // -------------------------------------------------- sampling, generation

    /// Set how the stream samples tokens ([`sample`](Self::sample),
    /// [`generate`](Self::generate)).
    ///
    /// # Errors
    /// [`Status::InvalidArgument`] for a NaN or negative temperature, a
    /// `top_p` outside (0, 1] or a `top_k` above `i32::MAX`.
    pub fn set_sampling(&mut self, sampling: Sampling) -> Result<()> {
        let top_k = i32::try_from(sampling.top_k)
            .map_err(|_| Error::new(Status::InvalidArgument, "top_k exceeds i32::MAX"))?;
        check(unsafe {
            sys::seqc_stream_set_sampling(self.ptr(), sampling.temperature, top_k, sampling.top_p)
        })
    }

    /// Seed the stream's random generator. Its state is part of snapshots
    /// and forks.
    pub fn set_seed(&mut self, seed: u64) -> Result<()> {
        check(unsafe { sys::seqc_stream_set_seed(self.ptr(), seed) })
    }

    /// Sample a token id from `logits` (output width floats) with the
    /// stream's settings and generator, which advances; the recurrent state
    /// does not change.
    ///
    /// # Errors
    /// [`Status::Shape`] when `logits` is not output width long. (NaN
    /// logits are never picked.)
    pub fn sample(&mut self, logits: &[f32]) -> Result<Token> {
        let mut token = 0;
        check(unsafe {
            sys::seqc_stream_sample(self.ptr(), logits.as_ptr(), logits.len(), &mut token)
        })?;
        Ok(token)
    }

    /// Feed `tokens` (a prompt, or the token sampled last time) and sample
    /// the next token from the output at the last position.
    ///
    /// A generation loop is `generate(prompt)`, then `generate(&[token])`
    /// with each token it returns; [`generate_iter`](Self::generate_iter)
    /// does exactly that.
    ///
    /// # Errors
    /// [`Status::InvalidArgument`] for an empty `tokens`, a token outside the
    /// vocabulary, or a model that does not map tokens to logits. On error
    /// the stream is unchanged.
    pub fn generate(&mut self, tokens: &[Token]) -> Result<Token> {
        let mut token = 0;
        check(unsafe {
            sys::seqc_stream_generate(self.ptr(), tokens.as_ptr(), tokens.len(), &mut token)
        })?;
        Ok(token)
    }

    /// Generation over several streams in one batched call; the same as
    /// [`seqcore::generate_many`](crate::generate_many).
    pub fn generate_many(streams: &mut [&mut Stream], tokens: &[Token]) -> Result<Vec<Token>> {
        generate_many(streams, tokens)
    }

    /// An iterator of generated tokens: it feeds `prompt`, yields the token
    /// sampled after it, then feeds each token it yields and yields the next.
    /// It never ends by itself (use `take`, or stop at a token of your
    /// choosing); after an error it yields that error and ends.
    ///
    /// When you drop the iterator, the stream has consumed the prompt and
    /// every yielded token but the last, which
    /// [`Generation::pending`] returns: pass it as the prompt of the next
    /// `generate_iter` to continue.
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// use seqcore::{Model, Sampling, Token};
    /// let model = Model::load("models/kjv-lstm.safetensors")?;
    /// let mut stream = model.stream()?;
    /// stream.set_sampling(Sampling::temperature(0.8).top_k(40))?;
    /// stream.set_seed(7)?;
    ///
    /// let prompt: Vec<Token> = "And God said".bytes().map(Token::from).collect();
    /// let tokens = stream.generate_iter(&prompt).take(40).collect::<Result<Vec<_>, _>>()?;
    /// let text: Vec<u8> = tokens.iter().map(|&t| t as u8).collect(); // byte-level model
    /// println!("And God said{}", String::from_utf8_lossy(&text));
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    pub fn generate_iter(&mut self, prompt: &[Token]) -> Generation<'_> {
        Generation {
            stream: self,
            input: prompt.to_vec(),
            pending: None,
            done: false,
        }
    }

    // ------------------------------------------------- snapshots and forks

    /// Bytes a snapshot of this stream takes.
    pub fn snapshot_size(&self) -> Result<usize> {
        let mut size = 0;
        check(unsafe { sys::seqc_stream_snapshot_size(self.ptr(), &mut size) })?;
        Ok(size)
    }

    /// A snapshot of the stream: state, position, sampling settings and
    /// generator, with the model's fingerprint and a checksum. It restores
    /// into any stream of the same model, in any process.
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// let model = seqcore::Model::load("models/kjv-lstm.safetensors")?;
    /// let mut a = model.stream()?;
    /// a.forward_tokens(&[73, 110, 32], seqcore::OutputMode::None)?;
    /// let blob = a.snapshot()?;
    ///
    /// let mut b = model.stream()?;
    /// b.restore(&blob)?;
    /// assert_eq!(b.position(), 3);
    /// assert_eq!(a.step_token(116)?, b.step_token(116)?); // bit for bit
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    pub fn snapshot(&self) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; self.snapshot_size()?];
        let n = self.snapshot_into(&mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// Write a snapshot into `buf`; returns the bytes written.
    ///
    /// # Errors
    /// [`Status::BufferTooSmall`] when `buf` is shorter than
    /// [`snapshot_size`](Self::snapshot_size).
    pub fn snapshot_into(&self, buf: &mut [u8]) -> Result<usize> {
        let mut written = 0;
        check(unsafe {
            sys::seqc_stream_snapshot(self.ptr(), buf.as_mut_ptr().cast(), buf.len(), &mut written)
        })?;
        Ok(written)
    }

    /// Replace the stream's state, position, sampling settings and generator
    /// with a snapshot's. Everything is checked first: a refused snapshot
    /// leaves the stream unchanged.
    ///
    /// # Errors
    /// [`Status::Format`] (not a snapshot, truncated), [`Status::Version`],
    /// [`Status::Checksum`], [`Status::Mismatch`] (another model's).
    pub fn restore(&mut self, snapshot: &[u8]) -> Result<()> {
        check(unsafe {
            sys::seqc_stream_restore(self.ptr(), snapshot.as_ptr().cast(), snapshot.len())
        })
    }

    /// An independent copy of the stream (state, position, sampling settings
    /// and generator); both continue identically given the same inputs.
    pub fn fork(&self) -> Result<Stream> {
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_stream_fork(self.ptr(), &mut raw) })?;
        Ok(Stream::from_owned(raw))
    }

    // ------------------------------------------------- state introspection

    /// The layout entry of state tensor `name`, checked against `T`.
    fn typed_tensor<T: Element>(&self, name: &str) -> Result<StateTensor> {
        let tensor = state_layout_of(self.model_raw())
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| {
                Error::new(Status::NotFound, format!("no state tensor named '{name}'"))
            })?;
        if tensor.dtype != T::DTYPE {
            return Err(Error::new(
                Status::Dtype,
                format!(
                    "state tensor '{name}' holds {}, not {}",
                    tensor.dtype,
                    T::DTYPE
                ),
            ));
        }
        Ok(tensor)
    }

    /// Copy state tensor `name` out, as its element type `T` (which must
    /// match the tensor's [`Dtype`]).
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// let model = seqcore::Model::load("bindings/common/tiny-lstm.safetensors")?;
    /// let mut stream = model.stream()?;
    /// stream.step(&[1.0; 8])?;
    /// let name = &model.state_layout()[0].name;
    /// let h: Vec<f32> = stream.read_state(name)?;
    /// assert!(h.iter().any(|&x| x != 0.0));
    ///
    /// stream.write_state(name, &vec![0.0f32; h.len()])?; // position unchanged
    /// assert!(stream.read_state::<f32>(name)?.iter().all(|&x| x == 0.0));
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Status::NotFound`] for an unknown name, [`Status::Dtype`] when `T`
    /// is not the tensor's element type.
    pub fn read_state<T: Element>(&self, name: &str) -> Result<Vec<T>> {
        let tensor = self.typed_tensor::<T>(name)?;
        let mut values = vec![T::default(); tensor.nbytes / std::mem::size_of::<T>()];
        self.read_state_into(name, &mut values)?;
        Ok(values)
    }

    /// Copy state tensor `name` into `out`, which holds exactly its number of
    /// elements.
    ///
    /// # Errors
    /// As [`read_state`](Self::read_state); [`Status::Shape`] when `out` has
    /// the wrong length.
    pub fn read_state_into<T: Element>(&self, name: &str, out: &mut [T]) -> Result<()> {
        self.typed_tensor::<T>(name)?;
        let c = c_name("state tensor name", name)?;
        let nbytes = std::mem::size_of_val(out);
        check(unsafe {
            sys::seqc_stream_state_read(self.ptr(), c.as_ptr(), out.as_mut_ptr().cast(), nbytes)
        })
    }

    /// Overwrite state tensor `name` with `values` (exactly its number of
    /// elements, of its element type). The position does not change.
    ///
    /// # Errors
    /// As [`read_state_into`](Self::read_state_into).
    pub fn write_state<T: Element>(&mut self, name: &str, values: &[T]) -> Result<()> {
        self.typed_tensor::<T>(name)?;
        self.write_state_raw(name, values.as_ptr().cast(), std::mem::size_of_val(values))
    }

    /// Copy state tensor `name` out as raw bytes (native byte order), whatever
    /// its dtype.
    pub fn read_state_bytes(&self, name: &str) -> Result<Vec<u8>> {
        let nbytes = state_layout_of(self.model_raw())
            .into_iter()
            .find(|t| t.name == name)
            .map_or(0, |t| t.nbytes);
        let mut buf = vec![0u8; nbytes];
        let c = c_name("state tensor name", name)?;
        check(unsafe {
            sys::seqc_stream_state_read(self.ptr(), c.as_ptr(), buf.as_mut_ptr().cast(), buf.len())
        })?;
        Ok(buf)
    }

    /// Overwrite state tensor `name` with raw bytes (native byte order).
    ///
    /// # Errors
    /// [`Status::NotFound`]; [`Status::Shape`] when `bytes` is not the
    /// tensor's size.
    pub fn write_state_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<()> {
        self.write_state_raw(name, bytes.as_ptr().cast(), bytes.len())
    }

    fn write_state_raw(
        &mut self,
        name: &str,
        data: *const std::ffi::c_void,
        nbytes: usize,
    ) -> Result<()> {
        let c = c_name("state tensor name", name)?;
        check(unsafe { sys::seqc_stream_state_write(self.ptr(), c.as_ptr(), data, nbytes) })
    }

    /// The library handle, borrowed: valid while `self` lives, for calls
    /// through `seqcore-sys`. Do not destroy it.
    pub fn as_raw(&mut self) -> *mut sys::seqc_stream {
        self.raw.as_ptr()
    }
}

impl Drop for Stream {
    fn drop(&mut self) {
        unsafe { sys::seqc_stream_destroy(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("position", &self.position())
            .finish_non_exhaustive()
    }
}

/// The iterator of [`Stream::generate_iter`]: generated tokens, one per
/// `next`, each an `Ok(token)`; an error ends it.
pub struct Generation<'a> {
    stream: &'a mut Stream,
    /// What the next step feeds: the prompt, then the last token.
    input: Vec<Token>,
    /// The last token yielded, which the stream has not consumed yet.
    pending: Option<Token>,
    done: bool,
}

impl Generation<'_> {
    /// The token yielded last, not yet fed to the stream (`None` before the
    /// first token). To continue generating later, pass it as the prompt of
    /// [`Stream::generate_iter`] or [`Stream::generate`].
    pub fn pending(&self) -> Option<Token> {
        self.pending
    }
}

impl Iterator for Generation<'_> {
    type Item = Result<Token>;

    fn next(&mut self) -> Option<Result<Token>> {
        if self.done {
            return None;
        }
        match self.stream.generate(&self.input) {
            Ok(token) => {
                self.input.clear();
                self.input.push(token);
                self.pending = Some(token);
                Some(Ok(token))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for Generation<'_> {}

impl fmt::Debug for Generation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generation")
            .field("position", &self.stream.position())
            .field("pending", &self.pending)
            .field("done", &self.done)
            .finish()
    }
}

// --------------------------------------------------------------- step_many

fn raw_streams(streams: &mut [&mut Stream]) -> Vec<*mut sys::seqc_stream> {
    streams.iter_mut().map(|s| s.as_raw()).collect()
}

fn many_output_len(streams: &[&mut Stream]) -> usize {
    streams
        .first()
        .map_or(0, |s| streams.len() * s.output_width())
}

/// Step several streams of one model by one frame each, in one batched
/// call. Row `i` of `frames` (input width floats) and of `out` (output width
/// floats) belong to `streams[i]`; `out` may be empty for no output. Each
/// stream may be at its own position, and the results are bit for bit those
/// of stepping each stream alone.
///
/// The borrow checker guarantees the streams are distinct.
///
/// # Errors
/// [`Status::Mismatch`] for streams of different models, [`Status::Shape`],
/// [`Status::BufferTooSmall`]. On error no stream changes.
pub fn step_many_into(streams: &mut [&mut Stream], frames: &[f32], out: &mut [f32]) -> Result<()> {
    let raw = raw_streams(streams);
    check(unsafe {
        sys::seqc_stream_step_many(
            raw.as_ptr(),
            raw.len(),
            frames.as_ptr(),
            frames.len(),
            out_ptr(out),
            out.len(),
        )
    })
}

/// Step several streams by one frame each and return their outputs, row `i`
/// for `streams[i]`, as [`step_many_into`].
///
/// ```
/// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
/// let model = seqcore::Model::load("bindings/common/tiny-lstm.safetensors")?;
/// let (mut a, mut b) = (model.stream()?, model.stream()?);
/// let frames = [[0.5f32; 8], [-0.5f32; 8]].concat();
/// let out = seqcore::step_many(&mut [&mut a, &mut b], &frames)?;
/// assert_eq!(out.len(), 2 * 16);
/// # Ok::<(), seqcore::Error>(())
/// ```
pub fn step_many(streams: &mut [&mut Stream], frames: &[f32]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; many_output_len(streams)];
    step_many_into(streams, frames, &mut out)?;
    Ok(out)
}

/// Step several streams of one token model by one token each, in one
/// batched call, as [`step_many_into`]; `tokens[i]` goes to `streams[i]`.
///
/// # Errors
/// [`Status::Shape`] unless there is exactly one token per stream; as
/// [`step_many_into`] otherwise.
pub fn step_many_tokens_into(
    streams: &mut [&mut Stream],
    tokens: &[Token],
    out: &mut [f32],
) -> Result<()> {
    if tokens.len() != streams.len() {
        return Err(Error::new(
            Status::Shape,
            format!(
                "step_many_tokens: {} tokens for {} streams; one per stream is required",
                tokens.len(),
                streams.len()
            ),
        ));
    }
    let raw = raw_streams(streams);
    check(unsafe {
        sys::seqc_stream_step_many_tokens(
            raw.as_ptr(),
            raw.len(),
            tokens.as_ptr(),
            out_ptr(out),
            out.len(),
        )
    })
}

/// Step several streams by one token each and return their outputs, as
/// [`step_many_tokens_into`].
pub fn step_many_tokens(streams: &mut [&mut Stream], tokens: &[Token]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; many_output_len(streams)];
    step_many_tokens_into(streams, tokens, &mut out)?;
    Ok(out)
}

// ------------------------------------------------------------ generate_many

/// Generation over several streams of one language model in one batched
/// call: `tokens[i]` (one token) is fed to `streams[i]`, and `out[i]`
/// receives the token sampled next from it, with that stream's own sampling
/// settings and generator. Each result is exactly what
/// `streams[i].generate(&[tokens[i]])` would give; feed prompts with
/// [`Stream::generate`] or [`Stream::forward_tokens`] first. As with
/// `generate`, the tokens written have not been fed yet.
///
/// The borrow checker guarantees the streams are distinct.
///
/// # Errors
/// [`Status::Shape`] unless there is exactly one token per stream and `out`
/// holds one per stream; [`Status::Mismatch`] for streams of different
/// models; [`Status::InvalidArgument`] for a token outside the vocabulary or
/// a model that does not map tokens to logits. On error no stream changes
/// and `out` is untouched.
pub fn generate_many_into(
    streams: &mut [&mut Stream],
    tokens: &[Token],
    out: &mut [Token],
) -> Result<()> {
    if tokens.len() != streams.len() || out.len() != streams.len() {
        return Err(Error::new(
            Status::Shape,
            format!(
                "generate_many: {} tokens in and room for {} out for {} streams; \
                 one per stream is required",
                tokens.len(),
                out.len(),
                streams.len()
            ),
        ));
    }
    if streams.is_empty() {
        return Ok(());
    }
    let raw = raw_streams(streams);
    check(unsafe {
        sys::seqc_stream_generate_many(raw.as_ptr(), raw.len(), tokens.as_ptr(), out.as_mut_ptr())
    })
}

/// Feed one token to each of several streams and return the token each
/// samples next, in one batched call, as [`generate_many_into`].
///
/// ```
/// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
/// use seqcore::{Model, Sampling, Token};
/// let model = Model::load("models/kjv-lstm.safetensors")?;
/// let (mut a, mut b) = (model.stream()?, model.stream()?);
/// b.set_sampling(Sampling::temperature(0.8).top_k(40))?; // each its own settings
/// let mut last: Vec<Token> = vec![Token::from(b'I'), Token::from(b'A')];
/// for _ in 0..10 {
///     last = seqcore::generate_many(&mut [&mut a, &mut b], &last)?;
/// }
/// assert_eq!((a.position(), b.position()), (10, 10));
/// # Ok::<(), seqcore::Error>(())
/// ```
pub fn generate_many(streams: &mut [&mut Stream], tokens: &[Token]) -> Result<Vec<Token>> {
    let mut out = vec![0; streams.len()];
    generate_many_into(streams, tokens, &mut out)?;
    Ok(out)
}
