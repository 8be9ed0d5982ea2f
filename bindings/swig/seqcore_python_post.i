/* seqcore_python_post.i: python overlay (post declarations); see seqcore.i. */
