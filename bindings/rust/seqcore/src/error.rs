//! Errors: the library's status codes and the detail message of a failure.

use std::ffi::CStr;
use std::fmt;
use std::os::raw::{c_char, c_int};

use seqcore_sys as sys;

/// The `Result` of every fallible call in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a call failed: one of the C ABI's status codes (`SEQC_ERR_*`).
///
/// The codes are pinned forever and new ones are only added, so a library
/// newer than this crate may report a code it does not name: that one
/// arrives as [`Status::Other`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// A bad argument: a token outside the vocabulary, frames given to a
    /// token model, an out-of-range setting (`SEQC_ERR_INVALID_ARGUMENT`).
    InvalidArgument,
    /// An allocation failed (`SEQC_ERR_OUT_OF_MEMORY`).
    OutOfMemory,
    /// A file could not be opened, read or written (`SEQC_ERR_IO`).
    Io,
    /// A model file or snapshot is malformed (`SEQC_ERR_FORMAT`).
    Format,
    /// A format version this library does not read (`SEQC_ERR_VERSION`).
    Version,
    /// A snapshot's checksum does not match its bytes (`SEQC_ERR_CHECKSUM`).
    Checksum,
    /// An invalid config value in a model (`SEQC_ERR_CONFIG`).
    Config,
    /// A model names a plugin the registry does not know
    /// (`SEQC_ERR_UNKNOWN_PLUGIN`).
    UnknownPlugin,
    /// A weight tensor a block needs is missing (`SEQC_ERR_MISSING_TENSOR`).
    MissingTensor,
    /// A tensor or buffer has the wrong shape or length (`SEQC_ERR_SHAPE`).
    Shape,
    /// A tensor has a dtype that is not accepted there (`SEQC_ERR_DTYPE`).
    Dtype,
    /// A snapshot of another model, or streams of different models mixed in
    /// one call (`SEQC_ERR_MISMATCH`).
    Mismatch,
    /// A caller buffer is too small (`SEQC_ERR_BUFFER_TOO_SMALL`).
    BufferTooSmall,
    /// A named item (state tensor, registry entry) does not exist
    /// (`SEQC_ERR_NOT_FOUND`).
    NotFound,
    /// A valid request this build, device or plugin cannot do
    /// (`SEQC_ERR_UNSUPPORTED`).
    Unsupported,
    /// The requested device does not exist or has no driver
    /// (`SEQC_ERR_NO_DEVICE`).
    NoDevice,
    /// The stream is in use by another call (`SEQC_ERR_BUSY`).
    Busy,
    /// A bug in the library; the message says where (`SEQC_ERR_INTERNAL`).
    Internal,
    /// A code this crate does not know, from a newer library.
    Other(i32),
}

impl Status {
    const TABLE: [(Status, sys::seqc_status); 18] = [
        (Status::InvalidArgument, sys::SEQC_ERR_INVALID_ARGUMENT),
        (Status::OutOfMemory, sys::SEQC_ERR_OUT_OF_MEMORY),
        (Status::Io, sys::SEQC_ERR_IO),
        (Status::Format, sys::SEQC_ERR_FORMAT),
        (Status::Version, sys::SEQC_ERR_VERSION),
        (Status::Checksum, sys::SEQC_ERR_CHECKSUM),
        (Status::Config, sys::SEQC_ERR_CONFIG),
        (Status::UnknownPlugin, sys::SEQC_ERR_UNKNOWN_PLUGIN),
        (Status::MissingTensor, sys::SEQC_ERR_MISSING_TENSOR),
        (Status::Shape, sys::SEQC_ERR_SHAPE),
        (Status::Dtype, sys::SEQC_ERR_DTYPE),
        (Status::Mismatch, sys::SEQC_ERR_MISMATCH),
        (Status::BufferTooSmall, sys::SEQC_ERR_BUFFER_TOO_SMALL),
        (Status::NotFound, sys::SEQC_ERR_NOT_FOUND),
        (Status::Unsupported, sys::SEQC_ERR_UNSUPPORTED),
        (Status::NoDevice, sys::SEQC_ERR_NO_DEVICE),
        (Status::Busy, sys::SEQC_ERR_BUSY),
        (Status::Internal, sys::SEQC_ERR_INTERNAL),
    ];

    /// The status of a C status code; `None` for `SEQC_OK` (0).
    ///
    /// ```
    /// use seqcore::Status;
    /// assert_eq!(Status::from_code(-3), Some(Status::Io));
    /// assert_eq!(Status::from_code(0), None);
    /// assert_eq!(Status::from_code(-99), Some(Status::Other(-99)));
    /// ```
    pub fn from_code(code: i32) -> Option<Status> {
        if code == sys::SEQC_OK {
            return None;
        }
        Some(
            Self::TABLE
                .iter()
                .find(|(_, c)| *c == code)
                .map_or(Status::Other(code), |(s, _)| *s),
        )
    }

    /// The C status code (`SEQC_ERR_*`, negative).
    pub fn code(self) -> i32 {
        match self {
            Status::Other(code) => code,
            known => Self::TABLE
                .iter()
                .find(|(s, _)| *s == known)
                .map(|(_, c)| *c)
                .unwrap(),
        }
    }

    /// The library's short English name of the status ("i/o error"), from
    /// `seqc_status_string`.
    pub fn description(self) -> &'static str {
        // Static storage in the library, never NULL, always ASCII.
        let text = unsafe { CStr::from_ptr(sys::seqc_status_string(self.code())) };
        text.to_str().unwrap_or("unknown status")
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A failed call: its [`Status`] and the library's detail message.
///
/// The message is the library's `seqc_last_error()` text, read on the
/// failing thread right after the call, or a message of this crate for the
/// few checks it makes itself (a path with a NUL byte, a state tensor read
/// with the wrong element type). `Display` shows both:
/// `"i/o error: cannot open 'x.safetensors': No such file or directory"`.
///
/// ```
/// use seqcore::{Model, Status};
/// let err = Model::load("no/such/model.safetensors").unwrap_err();
/// assert_eq!(err.status, Status::Io);
/// assert!(err.message.contains("no/such/model.safetensors"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Error {
    /// What kind of failure.
    pub status: Status,
    /// The detail message (never empty).
    pub message: String,
}

impl Error {
    /// The C status code of the failure (`SEQC_ERR_*`).
    pub fn code(&self) -> i32 {
        self.status.code()
    }

    /// An error made by this crate rather than reported by the library.
    pub(crate) fn new(status: Status, message: impl Into<String>) -> Error {
        Error {
            status,
            message: message.into(),
        }
    }

    /// The error of a failed library call `rc`, with the calling thread's
    /// last-error message.
    fn from_last(rc: c_int) -> Error {
        let status = Status::from_code(rc).unwrap_or(Status::Internal);
        let message = unsafe { cstr_to_string(sys::seqc_last_error()) }
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| status.description().to_owned());
        Error { status, message }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for Error {}

/// `Ok(())` for `SEQC_OK`, otherwise the error with the last-error message.
/// Call it directly on the return value, before any other library call on
/// this thread.
pub(crate) fn check(rc: c_int) -> Result<()> {
    if rc == sys::SEQC_OK {
        Ok(())
    } else {
        Err(Error::from_last(rc))
    }
}

/// Copy a NUL-terminated C string; `None` for NULL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string valid for this call.
pub(crate) unsafe fn cstr_to_string(p: *const c_char) -> Option<String> {
    if p.is_null() {
        None
    } else {
        Some(CStr::from_ptr(p).to_string_lossy().into_owned())
    }
}

/// A C string of a name, or an `InvalidArgument` error when it holds a NUL.
pub(crate) fn c_name(what: &str, name: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(name).map_err(|_| {
        Error::new(
            Status::InvalidArgument,
            format!("{what} contains a NUL byte"),
        )
    })
}
