/*
 * seqcore_python_post.i: the Python overlay, included by seqcore.i after the
 * declarations (see seqcore_python_pre.i for the typemaps and exceptions).
 */

%{
static void seqc_py_set_error_factory(PyObject *factory) {
  if (!PyCallable_Check(factory)) {
    seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "the error factory must be callable");
    return;
  }
  Py_INCREF(factory);
  Py_XDECREF(seqc_py_error_factory);
  seqc_py_error_factory = factory;
}
%}

/* Register the callable (status, message) -> exception instance that failed
 * calls raise; seqcore._errors does this when the package is imported. */
%rename(set_error_factory) seqc_py_set_error_factory;
void seqc_py_set_error_factory(PyObject *factory);

%extend SeqcStream {
  /* The snapshot as a new bytes object, written by the library straight
   * into it (snapshot_into would need a second copy to give bytes). */
  PyObject *snapshot_bytes() {
    size_t n = 0, written = 0;
    PyObject *blob;
    if (seqc_swig_closed($self, $self->h, "Stream")) return NULL;
    if (seqc_swig_check(seqc_stream_snapshot_size($self->h, &n)) != SEQC_OK) return NULL;
    blob = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)n);
    if (!blob) return NULL;
    if (seqc_swig_check(seqc_stream_snapshot($self->h, PyBytes_AS_STRING(blob), n, &written)) != SEQC_OK) {
      Py_DECREF(blob);
      return NULL;
    }
    if (written != n) { /* never larger: the library reports BUFFER_TOO_SMALL */
      PyObject *shorter = PyBytes_FromStringAndSize(PyBytes_AS_STRING(blob), (Py_ssize_t)written);
      Py_DECREF(blob);
      blob = shorter;
    }
    return blob;
  }
}
