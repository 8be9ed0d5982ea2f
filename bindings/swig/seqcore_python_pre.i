/*
 * seqcore_python_pre.i: the Python overlay, included by seqcore.i before the
 * declarations.
 *
 * The module SWIG generates here is the private low-level layer of the
 * `seqcore` package (built as `seqcore._native` with -builtin, so it is one
 * C extension without a proxy .py); the public API is the hand-written Python
 * in bindings/python/seqcore/, which validates arguments, shapes arrays and
 * guards handles against being closed while another thread computes.
 *
 * This file provides:
 *  - the Python names of the handle structs;
 *  - numpy arrays for the float and token parameters (Debian's numpy.i): an
 *    input that already is C-contiguous float32 (int32 for tokens) is used in
 *    place, anything else is converted; outputs are caller-owned arrays filled
 *    in place;
 *  - the buffer protocol for byte parameters (models, snapshots, state
 *    tensors): bytes, bytearray, memoryview or any contiguous ndarray, never
 *    copied;
 *  - file names as str, bytes or os.PathLike, encoded as the OS does;
 *  - errors: every call resets seqc_swig_rc, and a failure raises the
 *    exception the Python layer registered for that status (seqcore.Error and
 *    its subclasses), with the library's message, inside the same C call;
 *  - the GIL is released around the library calls that compute or read
 *    files (step, forward, generate, sample, restore, step_many,
 *    generate_many, load, convert), so other Python threads run meanwhile.
 *    The Python layer holds the handles those calls use open until they
 *    return (Handle._enter), so a close() on another thread never frees an
 *    object under the library.
 */
%rename(Runtime) SeqcRuntime;
%rename(Model) SeqcModel;
%rename(Stream) SeqcStream;
%rename(StreamBatch) SeqcStreamBatch;

%{
#define SWIG_FILE_WITH_INIT
#define NPY_NO_DEPRECATED_API NPY_1_7_API_VERSION
%}
%include "numpy.i"
%init %{
  import_array();
%}

/* ------------------------------------------------------------------ arrays */

/* numpy.i instantiates its typemaps with int dimensions only. */
%numpy_typemaps(float, NPY_FLOAT, size_t)
%numpy_typemaps(int32_t, NPY_INT32, size_t)

%apply (float *IN_ARRAY1, size_t DIM1) {
  (const float *in, size_t in_len),
  (const float *logits, size_t n_logits)
};
%apply (int32_t *IN_ARRAY1, size_t DIM1) { (const int32_t *tokens, size_t n_tokens) };
/* Outputs: C-contiguous float32 arrays of any shape (the Python layer passes
 * [T, d] arrays for forward), written in place. */
%apply (float *INPLACE_ARRAY_FLAT, size_t DIM_FLAT) { (float *out, size_t out_len) };
/* Token ids out: a C-contiguous int32 array, written in place. */
%apply (int32_t *INPLACE_ARRAY1, size_t DIM1) { (int32_t *ids, size_t ids_cap) };

/* ------------------------------------------------------------------- bytes */

/* Read-only bytes: any object with the buffer protocol, used in place. */
%typemap(in) (const uint8_t *data, size_t size) (Py_buffer view, int have_view = 0) {
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE) != 0) SWIG_fail;
  have_view = 1;
  $1 = (uint8_t *)view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (const uint8_t *data, size_t size) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_POINTER) (const uint8_t *data, size_t size) {
  $1 = PyObject_CheckBuffer($input) ? 1 : 0;
}

/* Writable bytes: a writable contiguous buffer (bytearray, ndarray), filled
 * in place. */
%typemap(in) (uint8_t *buf, size_t cap) (Py_buffer view, int have_view = 0) {
  if (PyObject_GetBuffer($input, &view, PyBUF_SIMPLE | PyBUF_WRITABLE) != 0) SWIG_fail;
  have_view = 1;
  $1 = (uint8_t *)view.buf;
  $2 = (size_t)view.len;
}
%typemap(freearg) (uint8_t *buf, size_t cap) {
  if (have_view$argnum) PyBuffer_Release(&view$argnum);
}
%typemap(typecheck, precedence=SWIG_TYPECHECK_POINTER) (uint8_t *buf, size_t cap) {
  $1 = PyObject_CheckBuffer($input) ? 1 : 0;
}

/* ------------------------------------------------------------------- paths */

/* File names: str, bytes or os.PathLike, encoded as the OS does (so any file
 * name round-trips, as with open()). */
%typemap(in) const char *SEQC_FS_PATH (PyObject *encoded = NULL) {
  if (!PyUnicode_FSConverter($input, &encoded)) SWIG_fail;
  $1 = PyBytes_AS_STRING(encoded);
}
%typemap(freearg) const char *SEQC_FS_PATH {
  Py_XDECREF(encoded$argnum);
}
%apply const char *SEQC_FS_PATH { const char *path, const char *src_path, const char *dst_path };

/* ------------------------------------------------------------------ errors */

%{
/* Called with (status, message), returns the exception instance to raise;
 * registered by the Python layer (seqcore._errors). */
static PyObject *seqc_py_error_factory = NULL;

/* Raise the recorded failure (seqc_swig_rc, seqc_swig_msg) as a Python
 * exception. */
static void seqc_py_raise(void) {
  PyObject *msg = PyUnicode_DecodeUTF8(seqc_swig_msg, (Py_ssize_t)strlen(seqc_swig_msg), "replace");
  PyObject *exc;
  if (!msg) return; /* MemoryError is set */
  if (!seqc_py_error_factory) {
    PyErr_SetObject(PyExc_RuntimeError, msg);
    Py_DECREF(msg);
    return;
  }
  exc = PyObject_CallFunction(seqc_py_error_factory, "iO", seqc_swig_rc, msg);
  Py_DECREF(msg);
  if (!exc) return; /* the factory raised: that error stands */
  PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
  Py_DECREF(exc);
}
%}

/* Every call: reset the status, run, raise on failure. */
%exception {
  seqc_swig_rc = 0;
  $action
  if (seqc_swig_rc != 0) {
    seqc_py_raise();
    SWIG_fail;
  }
}

/* The same, with the GIL released while the library works. The action is
 * only the C call: arguments were converted before and the result is
 * converted after, both with the GIL held. Buffers stay exported (so cannot
 * be resized) for the whole call. */
%define SEQC_PY_NOGIL(name)
%exception name {
  seqc_swig_rc = 0;
  Py_BEGIN_ALLOW_THREADS
  $action
  Py_END_ALLOW_THREADS
  if (seqc_swig_rc != 0) {
    seqc_py_raise();
    SWIG_fail;
  }
}
%enddef

SEQC_PY_NOGIL(sq_model_load_file)
SEQC_PY_NOGIL(sq_model_load_buffer)
SEQC_PY_NOGIL(sq_model_load_file_with)
SEQC_PY_NOGIL(sq_model_load_buffer_with)
SEQC_PY_NOGIL(sq_convert)
SEQC_PY_NOGIL(SeqcStream::step)
SEQC_PY_NOGIL(SeqcStream::step_token)
SEQC_PY_NOGIL(SeqcStream::forward)
SEQC_PY_NOGIL(SeqcStream::forward_tokens)
SEQC_PY_NOGIL(SeqcStream::sample)
SEQC_PY_NOGIL(SeqcStream::generate)
SEQC_PY_NOGIL(SeqcStream::restore)
SEQC_PY_NOGIL(SeqcStreamBatch::step)
SEQC_PY_NOGIL(SeqcStreamBatch::step_tokens)
SEQC_PY_NOGIL(SeqcStreamBatch::generate)
SEQC_PY_NOGIL(SeqcModel::tokenize_into)
SEQC_PY_NOGIL(SeqcModel::detokenize_into)
