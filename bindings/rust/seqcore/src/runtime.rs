//! Runtimes: a device with its thread pool.

use std::fmt;
use std::ptr::{self, NonNull};

use seqcore_sys as sys;

use crate::error::{check, Error, Result, Status};

/// A kind of device a [`Runtime`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Device {
    /// The CPU (`SEQC_DEVICE_CPU`).
    Cpu,
    /// An NVIDIA GPU (`SEQC_DEVICE_CUDA`).
    Cuda,
    /// A device kind this crate does not know, from a newer library.
    Other(i32),
}

impl Device {
    pub(crate) fn from_raw(raw: i32) -> Device {
        match raw {
            r if r == sys::SEQC_DEVICE_CPU as i32 => Device::Cpu,
            r if r == sys::SEQC_DEVICE_CUDA as i32 => Device::Cuda,
            r => Device::Other(r),
        }
    }

    pub(crate) fn to_raw(self) -> i32 {
        match self {
            Device::Cpu => sys::SEQC_DEVICE_CPU as i32,
            Device::Cuda => sys::SEQC_DEVICE_CUDA as i32,
            Device::Other(r) => r,
        }
    }
}

/// A device with its thread pool (CPU) or stream and memory pool (CUDA);
/// models are loaded onto one.
///
/// Most programs never create one: [`Model::load`](crate::Model::load) uses
/// a process-wide CPU runtime with one thread per core. Create your own to
/// choose the number of kernel threads or the device.
///
/// A runtime is reference counted by the library: [`Clone`] adds a
/// reference, [`Drop`] releases one, and every model loaded on it holds its
/// own, so the runtime may be dropped before its models. It is `Send` and
/// `Sync`: any thread may use it at any time.
///
/// ```
/// use seqcore::{Device, Runtime};
/// let rt = Runtime::cpu(2)?;
/// assert_eq!(rt.threads(), 2);
/// assert_eq!(rt.device(), Device::Cpu);
/// # Ok::<(), seqcore::Error>(())
/// ```
pub struct Runtime {
    raw: NonNull<sys::seqc_runtime>,
}

// SAFETY: runtimes are atomically reference counted and every function on
// them may be called from any thread at any time (seqcore.h, thread rule).
unsafe impl Send for Runtime {}
unsafe impl Sync for Runtime {}

impl Runtime {
    /// A CPU runtime running kernels on `threads` threads, the calling thread
    /// included; 0 means one per available core.
    ///
    /// # Errors
    /// [`Status::InvalidArgument`] when `threads` exceeds `i32::MAX`,
    /// [`Status::OutOfMemory`].
    pub fn cpu(threads: usize) -> Result<Runtime> {
        let n = threads_arg(threads)?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_runtime_create_cpu(n, &mut raw) })?;
        Ok(Runtime::from_owned(raw))
    }

    /// A runtime on device number `index` of kind `device`, with `threads`
    /// CPU threads as for [`Runtime::cpu`].
    ///
    /// # Errors
    /// [`Status::NoDevice`] when there is no such device or no driver;
    /// [`Status::Unsupported`] when the library was built without that
    /// backend or the backend cannot run models yet;
    /// [`Status::InvalidArgument`].
    ///
    /// ```
    /// use seqcore::{Device, Runtime, Status};
    /// if seqcore::cuda_device_count() == 0 {
    ///     let err = Runtime::new(Device::Cuda, 0, 0).unwrap_err();
    ///     assert!(matches!(err.status, Status::NoDevice | Status::Unsupported));
    /// }
    /// ```
    pub fn new(device: Device, index: u32, threads: usize) -> Result<Runtime> {
        let n = threads_arg(threads)?;
        let index = i32::try_from(index)
            .map_err(|_| Error::new(Status::InvalidArgument, "device index exceeds i32::MAX"))?;
        let mut raw = ptr::null_mut();
        check(unsafe { sys::seqc_runtime_create(device.to_raw(), index, n, &mut raw) })?;
        Ok(Runtime::from_owned(raw))
    }

    /// Number of kernel threads, the calling thread included.
    pub fn threads(&self) -> usize {
        unsafe { sys::seqc_runtime_threads(self.raw.as_ptr()) }.max(0) as usize
    }

    /// The kind of device this runtime runs on.
    pub fn device(&self) -> Device {
        Device::from_raw(unsafe { sys::seqc_runtime_device(self.raw.as_ptr()) })
    }

    /// The library handle, borrowed: valid while `self` lives, for calls
    /// through `seqcore-sys`. Do not release it.
    pub fn as_raw(&self) -> *mut sys::seqc_runtime {
        self.raw.as_ptr()
    }

    /// Take ownership of the one reference a successful create returned.
    fn from_owned(raw: *mut sys::seqc_runtime) -> Runtime {
        Runtime {
            raw: NonNull::new(raw).expect("seqcore returned SEQC_OK and a NULL runtime"),
        }
    }
}

fn threads_arg(threads: usize) -> Result<i32> {
    i32::try_from(threads)
        .map_err(|_| Error::new(Status::InvalidArgument, "thread count exceeds i32::MAX"))
}

impl Clone for Runtime {
    /// Another handle to the same runtime (`seqc_runtime_ref`).
    fn clone(&self) -> Runtime {
        unsafe { sys::seqc_runtime_ref(self.raw.as_ptr()) };
        Runtime { raw: self.raw }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        unsafe { sys::seqc_runtime_unref(self.raw.as_ptr()) }
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("device", &self.device())
            .field("threads", &self.threads())
            .finish()
    }
}

/// Whether this library was built with the CUDA backend.
pub fn has_cuda() -> bool {
    unsafe { sys::seqc_has_cuda() != 0 }
}

/// Number of usable CUDA devices: 0 without the CUDA backend, a driver or a
/// GPU.
pub fn cuda_device_count() -> usize {
    unsafe { sys::seqc_cuda_device_count() }.max(0) as usize
}
