/* seqcore_java_post.i: the Java overlay after the declarations (see
 * seqcore_java_pre.i). Nothing to add: the idiomatic layer is hand-written
 * Java in bindings/java/src/org/seqcore/. */
