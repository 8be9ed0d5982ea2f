/* seqcore_go_pre.i: go overlay (pre declarations); see seqcore.i. */
