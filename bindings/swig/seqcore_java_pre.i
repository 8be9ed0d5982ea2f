/* seqcore_java_pre.i: java overlay, included by seqcore.i before the declarations. */
%rename(Runtime) SeqcRuntime;
%rename(Model) SeqcModel;
%rename(Stream) SeqcStream;
%rename(StreamBatch) SeqcStreamBatch;
