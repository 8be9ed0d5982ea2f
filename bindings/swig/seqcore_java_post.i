/* seqcore_java_post.i: java overlay (post declarations); see seqcore.i. */
