//! Models: a block graph with its weights, loaded onto a runtime.

use std::fmt;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use seqcore_sys as sys;

use crate::error::{check, cstr_to_string, Error, Result, Status};
use crate::runtime::Runtime;
use crate::stream::{Stream, Token};

/// What a model consumes at each position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InputKind {
    /// Token ids in `0..input_width` (the vocabulary), fed with
    /// [`Stream::step_token`] and friends.
    Tokens,
    /// Frames of `input_width` floats, fed with [`Stream::step`] and friends.
    Frames,
    /// A kind this crate does not know, from a newer library.
    Other(i32),
}

/// Element type of a tensor (a state tensor, a weight in a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Dtype {
    /// 32-bit IEEE float (`f32`).
    F32,
    /// 16-bit IEEE float.
    F16,
    /// bfloat16.
    BF16,
    /// `i8`.
    I8,
    /// `i32`.
    I32,
    /// `u8`.
    U8,
    /// `i64`.
    I64,
    /// 64-bit IEEE float (`f64`).
    F64,
    /// A dtype this crate does not know, from a newer library.
    Other(i32),
}

impl Dtype {
    pub(crate) fn from_raw(raw: i32) -> Dtype {
        match raw {
            r if r == sys::SEQC_DTYPE_F32 as i32 => Dtype::F32,
            r if r == sys::SEQC_DTYPE_F16 as i32 => Dtype::F16,
            r if r == sys::SEQC_DTYPE_BF16 as i32 => Dtype::BF16,
            r if r == sys::SEQC_DTYPE_I8 as i32 => Dtype::I8,
            r if r == sys::SEQC_DTYPE_I32 as i32 => Dtype::I32,
            r if r == sys::SEQC_DTYPE_U8 as i32 => Dtype::U8,
            r if r == sys::SEQC_DTYPE_I64 as i32 => Dtype::I64,
            r if r == sys::SEQC_DTYPE_F64 as i32 => Dtype::F64,
            r => Dtype::Other(r),
        }
    }

    pub(crate) fn to_raw(self) -> i32 {
        match self {
            Dtype::F32 => sys::SEQC_DTYPE_F32 as i32,
            Dtype::F16 => sys::SEQC_DTYPE_F16 as i32,
            Dtype::BF16 => sys::SEQC_DTYPE_BF16 as i32,
            Dtype::I8 => sys::SEQC_DTYPE_I8 as i32,
            Dtype::I32 => sys::SEQC_DTYPE_I32 as i32,
            Dtype::U8 => sys::SEQC_DTYPE_U8 as i32,
            Dtype::I64 => sys::SEQC_DTYPE_I64 as i32,
            Dtype::F64 => sys::SEQC_DTYPE_F64 as i32,
            Dtype::Other(r) => r,
        }
    }

    /// Bytes per element; `None` for [`Dtype::Other`].
    pub fn size(self) -> Option<usize> {
        match self {
            Dtype::I8 | Dtype::U8 => Some(1),
            Dtype::F16 | Dtype::BF16 => Some(2),
            Dtype::F32 | Dtype::I32 => Some(4),
            Dtype::I64 | Dtype::F64 => Some(8),
            Dtype::Other(_) => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dtype::F32 => f.write_str("f32"),
            Dtype::F16 => f.write_str("f16"),
            Dtype::BF16 => f.write_str("bf16"),
            Dtype::I8 => f.write_str("i8"),
            Dtype::I32 => f.write_str("i32"),
            Dtype::U8 => f.write_str("u8"),
            Dtype::I64 => f.write_str("i64"),
            Dtype::F64 => f.write_str("f64"),
            Dtype::Other(r) => write!(f, "dtype {r}"),
        }
    }
}

/// The tokenizer a model carries (`seqc_tokenizer_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenizerKind {
    /// None: the model takes frames, or token ids made elsewhere.
    None,
    /// Token id = byte value (vocabulary 256).
    Bytes,
    /// HuggingFace byte-level BPE from a tokenizer.json, encoding exactly as
    /// HF `tokenizers` does.
    Bpe,
    /// A kind this crate does not know, from a newer library.
    Other(i32),
}

/// One block of a model's graph.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Block {
    /// The block's name in the graph (`"rnn"`).
    pub name: String,
    /// The registry entry that runs it (`"recurrent/lstm"`).
    pub plugin: String,
}

/// One named tensor of the recurrent state every stream of a model holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StateTensor {
    /// Its name (`"lstm.h"`), as [`Stream::read_state`] takes it.
    pub name: String,
    /// Element type.
    pub dtype: Dtype,
    /// Extent of each dimension.
    pub shape: Vec<usize>,
    /// Size in bytes.
    pub nbytes: usize,
}

impl StateTensor {
    /// Number of elements (the product of the shape).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a model is loaded (`seqc_load_options`), for [`Model::load_with`]
/// and [`Model::from_bytes_with`]. [`LoadOptions::default`] (or
/// [`LoadOptions::new`]) is what [`Model::load`] uses; set what differs:
///
/// ```
/// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
/// use seqcore::{Dtype, LoadOptions, Model};
/// let options = LoadOptions::new().weight_dtype(Dtype::BF16);
/// let model = Model::load_with(None, "models/kjv-lstm.safetensors", &options)?;
/// assert_eq!(model.weight_dtype(), Dtype::BF16);
/// # Ok::<(), seqcore::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LoadOptions {
    weight_dtype: Dtype,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            weight_dtype: Dtype::F32,
        }
    }
}

impl LoadOptions {
    /// The defaults: weights held as [`Dtype::F32`].
    pub fn new() -> LoadOptions {
        LoadOptions::default()
    }

    /// The precision the weight matrices (projections, recurrent weights,
    /// embedding tables, the LM head) are held in: [`Dtype::F32`] (the
    /// default), [`Dtype::BF16`] or [`Dtype::F16`], whatever the file
    /// stores. On a CUDA runtime the matrices are stored in that dtype and
    /// multiplied with f32 accumulation; on the CPU they are rounded to it
    /// and computed in f32. Biases, norms and the state stay f32. Another
    /// dtype makes the load fail with [`Status::Dtype`].
    pub fn weight_dtype(mut self, dtype: Dtype) -> LoadOptions {
        self.weight_dtype = dtype;
        self
    }

    /// The weight precision these options ask for.
    pub fn get_weight_dtype(&self) -> Dtype {
        self.weight_dtype
    }

    /// The library's options object for one load call.
    fn to_raw(self) -> Result<RawLoadOptions> {
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_load_options_create(&mut raw) })?;
        let raw = RawLoadOptions(raw);
        check(unsafe {
            sys::seqc_load_options_set_weight_dtype(raw.0, self.weight_dtype.to_raw())
        })?;
        Ok(raw)
    }
}

/// A `seqc_load_options` owned for the duration of a load.
struct RawLoadOptions(*mut sys::seqc_load_options);

impl Drop for RawLoadOptions {
    fn drop(&mut self) {
        unsafe { sys::seqc_load_options_destroy(self.0) }
    }
}

fn runtime_ptr(runtime: Option<&Runtime>) -> *mut sys::seqc_runtime {
    runtime.map_or(ptr::null_mut(), Runtime::as_raw)
}

/// A model: a block graph with its weights on one runtime, immutable after
/// loading. Streams ([`Model::stream`]) run it.
///
/// A model is reference counted by the library: [`Clone`] adds a reference
/// (cheap, the weights are shared), [`Drop`] releases one, and every stream
/// holds its own, so a model may be dropped while its streams live on. It is
/// `Send` and `Sync`: threads may share one model and each run streams of
/// it.
///
/// ```
/// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
/// use seqcore::{InputKind, Model};
/// let model = Model::load("models/kjv-lstm.safetensors")?;
/// assert_eq!(model.input_kind(), InputKind::Tokens);
/// assert_eq!(model.input_width(), 256); // byte vocabulary
/// assert!(model.output_is_logits());
/// for block in model.blocks() {
///     println!("{}: {}", block.name, block.plugin);
/// }
/// # Ok::<(), seqcore::Error>(())
/// ```
pub struct Model {
    raw: NonNull<sys::seqc_model>,
}

// SAFETY: models are immutable after load, atomically reference counted, and
// every function on them may be called from any thread (seqcore.h).
unsafe impl Send for Model {}
unsafe impl Sync for Model {}

impl Model {
    /// Load a model file on the process-wide CPU runtime (one thread per
    /// core): the native format, or a PyTorch `nn.LSTM`/`nn.GRU` state dict
    /// saved as safetensors. Everything in the file is checked before use.
    ///
    /// # Errors
    /// [`Status::Io`] when the file cannot be read; [`Status::Format`],
    /// [`Status::Version`], [`Status::Config`], [`Status::UnknownPlugin`],
    /// [`Status::MissingTensor`], [`Status::Shape`], [`Status::Dtype`] for a
    /// file the library refuses; [`Status::InvalidArgument`] for a path with
    /// a NUL byte.
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Model::load_impl(ptr::null_mut(), path.as_ref())
    }

    /// Load a model file onto `runtime`, as [`Model::load`].
    pub fn load_on(runtime: &Runtime, path: impl AsRef<Path>) -> Result<Model> {
        Model::load_impl(runtime.as_raw(), path.as_ref())
    }

    /// Load a model from the bytes of a model file, on the process-wide CPU
    /// runtime. The bytes are only read during the call.
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// let bytes = std::fs::read("bindings/common/tiny-lstm.safetensors").unwrap();
    /// let model = seqcore::Model::from_bytes(&bytes)?;
    /// assert_eq!((model.input_width(), model.output_width()), (8, 16));
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Model::load`], except [`Status::Io`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_impl(ptr::null_mut(), bytes)
    }

    /// Load a model from bytes onto `runtime`, as [`Model::from_bytes`].
    pub fn from_bytes_on(runtime: &Runtime, bytes: &[u8]) -> Result<Model> {
        Model::from_bytes_impl(runtime.as_raw(), bytes)
    }

    /// Load a model file with [`LoadOptions`], onto `runtime` (`None`: the
    /// process-wide CPU runtime), as [`Model::load`].
    ///
    /// ```no_run
    /// use seqcore::{Device, Dtype, LoadOptions, Model, Runtime};
    /// let gpu = Runtime::new(Device::Cuda, 0, 0)?;
    /// let options = LoadOptions::new().weight_dtype(Dtype::BF16);
    /// let model = Model::load_with(Some(&gpu), "models/kjv-lstm.safetensors", &options)?;
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Model::load`]; [`Status::Dtype`] for a weight dtype other than
    /// f32, bf16 and f16.
    pub fn load_with(
        runtime: Option<&Runtime>,
        path: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<Model> {
        let c_path = path_to_cstring(path.as_ref())?;
        let opts = options.to_raw()?;
        let mut raw = ptr::null_mut();
        check(unsafe {
            sys::seqc_model_load_file_with(runtime_ptr(runtime), c_path.as_ptr(), opts.0, &mut raw)
        })?;
        Ok(Model::from_owned(raw))
    }

    /// Load a model from the bytes of a model file with [`LoadOptions`],
    /// onto `runtime` (`None`: the process-wide CPU runtime), as
    /// [`Model::from_bytes`].
    ///
    /// # Errors
    /// As [`Model::from_bytes`]; [`Status::Dtype`] for a weight dtype other
    /// than f32, bf16 and f16.
    pub fn from_bytes_with(
        runtime: Option<&Runtime>,
        bytes: &[u8],
        options: &LoadOptions,
    ) -> Result<Model> {
        let opts = options.to_raw()?;
        let mut raw = ptr::null_mut();
        check(unsafe {
            sys::seqc_model_load_buffer_with(
                runtime_ptr(runtime),
                bytes.as_ptr().cast(),
                bytes.len(),
                opts.0,
                &mut raw,
            )
        })?;
        Ok(Model::from_owned(raw))
    }

    fn load_impl(rt: *mut sys::seqc_runtime, path: &Path) -> Result<Model> {
        let c_path = path_to_cstring(path)?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_model_load_file(rt, c_path.as_ptr(), &mut raw) })?;
        Ok(Model::from_owned(raw))
    }

    fn from_bytes_impl(rt: *mut sys::seqc_runtime, bytes: &[u8]) -> Result<Model> {
        let mut raw = ptr::null_mut();
        check(unsafe {
            sys::seqc_model_load_buffer(rt, bytes.as_ptr().cast(), bytes.len(), &mut raw)
        })?;
        Ok(Model::from_owned(raw))
    }

    /// Take ownership of one reference returned by the library.
    pub(crate) fn from_owned(raw: *mut sys::seqc_model) -> Model {
        Model {
            raw: NonNull::new(raw).expect("seqcore returned SEQC_OK and a NULL model"),
        }
    }

    /// A new stream of this model at position 0, with zero state, greedy
    /// sampling and seed 0. The stream keeps the model alive.
    ///
    /// # Errors
    /// [`Status::OutOfMemory`].
    pub fn stream(&self) -> Result<Stream> {
        Stream::new(self)
    }

    /// What the model consumes at each position.
    pub fn input_kind(&self) -> InputKind {
        let raw = unsafe { sys::seqc_model_input_kind(self.as_raw()) };
        match raw {
            r if r == sys::SEQC_INPUT_TOKENS as i32 => InputKind::Tokens,
            r if r == sys::SEQC_INPUT_FRAMES as i32 => InputKind::Frames,
            r => InputKind::Other(r),
        }
    }

    /// Floats per input frame, or the vocabulary size of a token model.
    pub fn input_width(&self) -> usize {
        unsafe { sys::seqc_model_input_width(self.as_raw()) }.max(0) as usize
    }

    /// Floats per output position (logits for a language model).
    pub fn output_width(&self) -> usize {
        unsafe { sys::seqc_model_output_width(self.as_raw()) }.max(0) as usize
    }

    /// Whether the output is logits over the token vocabulary, so that
    /// sampling and generation apply.
    pub fn output_is_logits(&self) -> bool {
        unsafe { sys::seqc_model_output_is_logits(self.as_raw()) != 0 }
    }

    /// The blocks of the graph, in order (members of residual groups
    /// included, the groups themselves not).
    pub fn blocks(&self) -> Vec<Block> {
        let m = self.as_raw();
        let n = unsafe { sys::seqc_model_block_count(m) };
        (0..n)
            .map(|i| unsafe {
                Block {
                    name: cstr_to_string(sys::seqc_model_block_name(m, i)).unwrap_or_default(),
                    plugin: cstr_to_string(sys::seqc_model_block_plugin(m, i)).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Bytes of recurrent state one stream of this model holds.
    pub fn state_bytes(&self) -> usize {
        unsafe { sys::seqc_model_state_bytes(self.as_raw()) }
    }

    /// Bytes of weights as held on the device.
    pub fn weight_bytes(&self) -> usize {
        unsafe { sys::seqc_model_weight_bytes(self.as_raw()) }
    }

    /// The precision the weight matrices are held in: [`Dtype::F32`] unless
    /// loaded with other [`LoadOptions`].
    pub fn weight_dtype(&self) -> Dtype {
        Dtype::from_raw(unsafe { sys::seqc_model_weight_dtype(self.as_raw()) })
    }

    /// The model described as JSON: graph, configs, widths, state layout,
    /// fingerprint and metadata.
    pub fn describe(&self) -> Result<String> {
        let m = self.as_raw();
        read_two_call(|buf, cap, len| unsafe { sys::seqc_model_describe(m, buf, cap, len) })
    }

    /// The named tensors that make up a stream's recurrent state.
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// let model = seqcore::Model::load("bindings/common/tiny-lstm.safetensors")?;
    /// for t in model.state_layout() {
    ///     println!("{} {} {:?} ({} bytes)", t.name, t.dtype, t.shape, t.nbytes);
    /// }
    /// let total: usize = model.state_layout().iter().map(|t| t.nbytes).sum();
    /// assert_eq!(total, model.state_bytes());
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    pub fn state_layout(&self) -> Vec<StateTensor> {
        state_layout_of(self.as_raw())
    }

    /// The state tensor called `name`, if the model has one.
    pub fn state_tensor(&self, name: &str) -> Option<StateTensor> {
        self.state_layout().into_iter().find(|t| t.name == name)
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> TokenizerKind {
        match unsafe { sys::seqc_model_tokenizer_kind(self.as_raw()) } {
            r if r == sys::SEQC_TOKENIZER_NONE as i32 => TokenizerKind::None,
            r if r == sys::SEQC_TOKENIZER_BYTES as i32 => TokenizerKind::Bytes,
            r if r == sys::SEQC_TOKENIZER_BPE as i32 => TokenizerKind::Bpe,
            r => TokenizerKind::Other(r),
        }
    }

    /// The token ids of `text`, without BOS/EOS and with special tokens such
    /// as `"<|endoftext|>"` matched (HF's `encode(text, add_special_tokens=False)`).
    ///
    /// ```
    /// # std::env::set_current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../..")).unwrap();
    /// let model = seqcore::Model::load("models/kjv-lstm.safetensors")?; // byte-level
    /// assert_eq!(model.tokenize("Hi")?, vec![72, 105]);
    /// assert_eq!(model.detokenize(&[72, 105])?, "Hi");
    /// # Ok::<(), seqcore::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Status::Unsupported`] when the model has no tokenizer.
    pub fn tokenize(&self, text: &str) -> Result<Vec<Token>> {
        self.tokenize_with(text.as_bytes(), false, false)
    }

    /// The token ids of raw bytes (any bytes: invalid UTF-8 is encoded byte
    /// by byte). `add_special` adds the tokenizer's BOS/EOS (HF's
    /// `add_special_tokens`); `special_as_text` leaves special tokens in the
    /// text unmatched (for untrusted input).
    pub fn tokenize_with(
        &self,
        text: &[u8],
        add_special: bool,
        special_as_text: bool,
    ) -> Result<Vec<Token>> {
        let flags = (if add_special { sys::SEQC_TOKENIZE_ADD_SPECIAL } else { 0 })
            | (if special_as_text { sys::SEQC_TOKENIZE_SPECIAL_AS_TEXT } else { 0 });
        // A byte-level tokenizer gives at most one id per byte, plus a few
        // special tokens: one call nearly always suffices.
        let mut ids: Vec<Token> = vec![0; text.len() + 8];
        loop {
            let mut n = 0usize;
            let rc = unsafe {
                sys::seqc_model_tokenize(
                    self.as_raw(),
                    text.as_ptr().cast(),
                    text.len(),
                    flags as u32,
                    ids.as_mut_ptr(),
                    ids.len(),
                    &mut n,
                )
            };
            if rc == sys::SEQC_ERR_BUFFER_TOO_SMALL && n > ids.len() {
                ids.resize(n, 0);
                continue;
            }
            check(rc)?;
            ids.truncate(n);
            return Ok(ids);
        }
    }

    /// The text of token ids. Bytes that are not UTF-8 (a sequence cut in the
    /// middle of a character, say) become U+FFFD, one per maximal invalid
    /// subsequence, as HF's `decode` does ([`String::from_utf8_lossy`]); use
    /// [`Model::detokenize_bytes`] for the exact bytes.
    ///
    /// # Errors
    /// [`Status::InvalidArgument`] for an id outside the vocabulary;
    /// [`Status::Unsupported`] when the model has no tokenizer.
    pub fn detokenize(&self, ids: &[Token]) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.detokenize_bytes(ids, false)?).into_owned())
    }

    /// The bytes of the text of token ids; `skip_special` leaves special
    /// tokens out. Ids the tokenizer has no token for (padding rows of a
    /// larger embedding) give none.
    pub fn detokenize_bytes(&self, ids: &[Token], skip_special: bool) -> Result<Vec<u8>> {
        let flags = if skip_special { sys::SEQC_DETOKENIZE_SKIP_SPECIAL } else { 0 } as u32;
        let m = self.as_raw();
        read_bytes(4 * ids.len() + 16, |buf, cap, len| unsafe {
            sys::seqc_model_detokenize(m, ids.as_ptr(), ids.len(), flags, buf, cap, len)
        })
    }

    /// The bytes of one token, for streaming generation: they may end inside
    /// a UTF-8 character, so join consecutive tokens' bytes before decoding.
    pub fn token_bytes(&self, id: Token, skip_special: bool) -> Result<Vec<u8>> {
        let flags = if skip_special { sys::SEQC_DETOKENIZE_SKIP_SPECIAL } else { 0 } as u32;
        let m = self.as_raw();
        read_bytes(64, |buf, cap, len| unsafe {
            sys::seqc_model_token_bytes(m, id, flags, buf, cap, len)
        })
    }

    /// The id of a token given by its spelling: a special token's text
    /// (`"<|endoftext|>"`) or a vocabulary entry as the tokenizer.json writes
    /// it; `None` if there is none.
    pub fn token_id(&self, token: &str) -> Result<Option<Token>> {
        let mut id: Token = -1;
        let rc = unsafe {
            sys::seqc_model_token_id(self.as_raw(), token.as_ptr().cast(), token.len(), &mut id)
        };
        if rc == sys::SEQC_ERR_NOT_FOUND {
            return Ok(None);
        }
        check(rc)?;
        Ok(Some(id))
    }

    /// The library handle, borrowed: valid while `self` lives, for calls
    /// through `seqcore-sys`. Do not release it.
    pub fn as_raw(&self) -> *mut sys::seqc_model {
        self.raw.as_ptr()
    }
}

impl Clone for Model {
    /// Another handle to the same model (`seqc_model_ref`); the weights are
    /// shared, not copied.
    fn clone(&self) -> Model {
        unsafe { sys::seqc_model_ref(self.raw.as_ptr()) };
        Model { raw: self.raw }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        unsafe { sys::seqc_model_unref(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("input_kind", &self.input_kind())
            .field("input_width", &self.input_width())
            .field("output_width", &self.output_width())
            .field("blocks", &self.blocks().len())
            .finish()
    }
}

/// The state layout of a model handle (borrowed or owned).
pub(crate) fn state_layout_of(m: *const sys::seqc_model) -> Vec<StateTensor> {
    let n = unsafe { sys::seqc_model_state_count(m) };
    (0..n)
        .map(|i| unsafe {
            let ndim = sys::seqc_model_state_ndim(m, i).max(0);
            StateTensor {
                name: cstr_to_string(sys::seqc_model_state_name(m, i)).unwrap_or_default(),
                dtype: Dtype::from_raw(sys::seqc_model_state_dtype(m, i)),
                shape: (0..ndim)
                    .map(|axis| sys::seqc_model_state_dim(m, i, axis).max(0) as usize)
                    .collect(),
                nbytes: sys::seqc_model_state_nbytes(m, i),
            }
        })
        .collect()
}

/// Run a two-call-pattern function (size query, then copy) and return the
/// text without its terminating NUL.
pub(crate) fn read_two_call(
    mut call: impl FnMut(*mut c_char, usize, *mut usize) -> i32,
) -> Result<String> {
    let mut needed = 0usize;
    let rc = call(ptr::null_mut(), 0, &mut needed);
    if rc != sys::SEQC_ERR_BUFFER_TOO_SMALL {
        check(rc)?;
    }
    // The text cannot change between the calls (models and the registry are
    // immutable), but loop rather than trust that.
    loop {
        let mut buf = vec![0u8; needed.max(1)];
        let rc = call(buf.as_mut_ptr().cast(), buf.len(), &mut needed);
        if rc == sys::SEQC_ERR_BUFFER_TOO_SMALL && needed > buf.len() {
            continue;
        }
        check(rc)?;
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        buf.truncate(end);
        return String::from_utf8(buf).map_err(|_| {
            Error::new(
                Status::Internal,
                "the library returned text that is not UTF-8",
            )
        });
    }
}

/// Run a two-call function that returns raw bytes (no NUL counted), starting
/// with a buffer of `guess` bytes.
fn read_bytes(
    guess: usize,
    mut call: impl FnMut(*mut c_char, usize, *mut usize) -> i32,
) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; guess.max(1)];
    loop {
        let mut n = 0usize;
        let rc = call(buf.as_mut_ptr().cast(), buf.len(), &mut n);
        if rc == sys::SEQC_ERR_BUFFER_TOO_SMALL && n > buf.len() {
            buf.resize(n, 0);
            continue;
        }
        check(rc)?;
        buf.truncate(n);
        return Ok(buf);
    }
}

/// A path as the C string the library takes.
pub(crate) fn path_to_cstring(path: &Path) -> Result<std::ffi::CString> {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path
        .to_str()
        .ok_or_else(|| Error::new(Status::InvalidArgument, "path is not valid UTF-8"))?
        .as_bytes()
        .to_vec();
    std::ffi::CString::new(bytes).map_err(|_| {
        Error::new(
            Status::InvalidArgument,
            format!("path {} contains a NUL byte", path.display()),
        )
    })
}
