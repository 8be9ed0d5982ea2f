/* seqcore_python_pre.i: python overlay, included by seqcore.i before the declarations. */
%rename(Runtime) SeqcRuntime;
%rename(Model) SeqcModel;
%rename(Stream) SeqcStream;
%rename(StreamBatch) SeqcStreamBatch;
/* quick smoke overlay; replaced by the Python binding */
%exception {
  seqc_swig_rc = 0;
  $action
  if (seqc_swig_rc != 0) { PyErr_SetString(PyExc_RuntimeError, seqc_swig_msg); SWIG_fail; }
}
