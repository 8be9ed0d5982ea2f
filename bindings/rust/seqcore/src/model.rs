//! Models: a block graph with its weights, loaded onto a runtime.

use std::fmt;
use std::os::raw::c_char;
use std::path::Path;
use std::ptr::{self, NonNull};

use seqcore_sys as sys;

use crate::error::{check, cstr_to_string, Error, Result, Status};
use crate::runtime::Runtime;
use crate::stream::Stream;

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
