/* seqcore_java_pre.i: java overlay (pre declarations); see seqcore.i. */
