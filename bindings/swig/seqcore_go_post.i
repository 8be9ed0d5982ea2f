/* seqcore_go_post.i: go overlay (post declarations); see seqcore.i. */
