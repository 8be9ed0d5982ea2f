/* seqcore_go_pre.i: go overlay, included by seqcore.i before the declarations. */
%rename(Runtime) SeqcRuntime;
%rename(Model) SeqcModel;
%rename(Stream) SeqcStream;
%rename(StreamBatch) SeqcStreamBatch;
