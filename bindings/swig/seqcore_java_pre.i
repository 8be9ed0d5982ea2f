/*
 * seqcore_java_pre.i: the Java overlay, included by seqcore.i before the
 * declarations.
 *
 * SWIG generates the low-level layer into the package org.seqcore.internal
 * (swig -java -package org.seqcore.internal -module SeqcoreNative): the
 * proxies NativeRuntime, NativeModel, NativeStream, NativeStreamBatch and the
 * module classes SeqcoreNative, SeqcoreNativeJNI, SeqcoreNativeConstants.
 * That layer is not API: the public classes of org.seqcore (bindings/java/src)
 * wrap it and own the idioms (AutoCloseable, Cleaner, enums, NIO buffers).
 *
 * What this file adds:
 *  - Errors: %exception turns seqc_swig_rc / seqc_swig_msg into an
 *    org.seqcore.SeqcoreException(status, message) within the same JNI call.
 *    It does not return early, so the freearg typemaps still release every
 *    array (JNI permits Release*ArrayElements with an exception pending).
 *  - Arrays: each fixed-name (pointer, length) pair of seqcore.i takes a Java
 *    Object that is either a primitive array (float[], int[], byte[]) or a
 *    direct NIO buffer of the same element type (FloatBuffer, IntBuffer,
 *    ByteBuffer). The public layer passes buffers sliced at their position,
 *    so GetDirectBufferAddress/GetDirectBufferCapacity see exactly the
 *    remaining elements; direct buffers are used in place (no copy).
 *    Validation happens in the "in" typemaps, before anything is acquired,
 *    and acquisition in the "check" typemaps, so a bad argument never leaks
 *    an earlier one's pinned elements (only an OutOfMemoryError while pinning
 *    a second array could). An empty array or buffer passes a non-NULL
 *    pointer with length 0, so the library sees "empty", not "missing".
 *  - Strings: UTF-8 both ways (byte[] across JNI, decoded in Java), instead
 *    of JNI's modified UTF-8, which mangles NUL and non-BMP characters.
 *  - The JNI class loads libseqcore_java with a clear error when it is missing.
 */

%rename(NativeRuntime) SeqcRuntime;
%rename(NativeModel) SeqcModel;
%rename(NativeStream) SeqcStream;
%rename(NativeStreamBatch) SeqcStreamBatch;

%{
/* ---- Java exceptions ------------------------------------------------------ */

/* A class resolved once and kept as a global reference (race-free). */
static jclass seqc_java_class(JNIEnv *jenv, jclass *cache, const char *name) {
  jclass c = __atomic_load_n(cache, __ATOMIC_ACQUIRE);
  if (!c) {
    jclass local = (*jenv)->FindClass(jenv, name);
    jclass global, expected = NULL;
    if (!local) return NULL; /* NoClassDefFoundError pending */
    global = (jclass)(*jenv)->NewGlobalRef(jenv, local);
    (*jenv)->DeleteLocalRef(jenv, local);
    if (!global) return NULL;
    if (!__atomic_compare_exchange_n(cache, &expected, global, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
      (*jenv)->DeleteGlobalRef(jenv, global);
      global = expected;
    }
    c = global;
  }
  return c;
}

static jclass seqc_java_exception_class;
static jclass seqc_java_float_array_class, seqc_java_int_array_class, seqc_java_byte_array_class;
static jclass seqc_java_float_buffer_class, seqc_java_int_buffer_class, seqc_java_byte_buffer_class;

/* Throw org.seqcore.SeqcoreException(status, UTF-8 message bytes). The message
 * travels as bytes: the library's text is UTF-8, not JNI's modified UTF-8. */
static void seqc_java_throw(JNIEnv *jenv, int rc, const char *msg) {
  jclass cls;
  jmethodID ctor;
  jbyteArray bytes;
  jthrowable ex;
  jsize n;
  if ((*jenv)->ExceptionCheck(jenv)) return; /* keep the first exception */
  cls = seqc_java_class(jenv, &seqc_java_exception_class, "org/seqcore/SeqcoreException");
  if (!cls) return;
  ctor = (*jenv)->GetMethodID(jenv, cls, "<init>", "(I[B)V");
  if (!ctor) return;
  if (!msg) msg = "";
  n = (jsize)strlen(msg);
  bytes = (*jenv)->NewByteArray(jenv, n);
  if (!bytes) return;
  (*jenv)->SetByteArrayRegion(jenv, bytes, 0, n, (const jbyte *)msg);
  ex = (jthrowable)(*jenv)->NewObject(jenv, cls, ctor, (jint)rc, bytes);
  (*jenv)->DeleteLocalRef(jenv, bytes);
  if (!ex) return;
  (*jenv)->Throw(jenv, ex);
  (*jenv)->DeleteLocalRef(jenv, ex);
}

/* ---- arrays and direct buffers ---------------------------------------- */

enum { SEQC_JF32 = 0, SEQC_JI32 = 1, SEQC_JU8 = 2 };

/* One (pointer, length) argument: a primitive array or a direct buffer. */
typedef struct seqc_jbuf {
  jobject obj;  /* the array, when is_array */
  void *ptr;    /* the elements (NULL when there are none) */
  size_t len;   /* element count */
  int kind;     /* SEQC_JF32, SEQC_JI32, SEQC_JU8 */
  int is_array; /* elements come from Get<T>ArrayElements */
  int writable; /* copy back on release (outputs) */
} seqc_jbuf;

static const char *const seqc_jbuf_names[3][2] = {
  {"float[]", "FloatBuffer"}, {"int[]", "IntBuffer"}, {"byte[]", "ByteBuffer"}};

/* Validate obj; acquire nothing. Returns 0, or -1 with a Java exception
 * pending. A null reference is a NullPointerException. */
static int seqc_jbuf_check(JNIEnv *jenv, jobject obj, int kind, int writable, seqc_jbuf *b) {
  static const char *const array_sig[3] = {"[F", "[I", "[B"};
  static const char *const buffer_cls[3] = {"java/nio/FloatBuffer", "java/nio/IntBuffer",
                                            "java/nio/ByteBuffer"};
  static jclass *const array_cache[3] = {&seqc_java_float_array_class, &seqc_java_int_array_class,
                                         &seqc_java_byte_array_class};
  static jclass *const buffer_cache[3] = {&seqc_java_float_buffer_class,
                                          &seqc_java_int_buffer_class,
                                          &seqc_java_byte_buffer_class};
  static const size_t elem[3] = {sizeof(float), sizeof(int32_t), 1};
  jclass cls;
  void *addr;
  char msg[160];
  b->obj = NULL;
  b->ptr = NULL;
  b->len = 0;
  b->kind = kind;
  b->is_array = 0;
  b->writable = writable;
  if (!obj) {
    snprintf(msg, sizeof msg, "null %s", seqc_jbuf_names[kind][0]);
    SWIG_JavaThrowException(jenv, SWIG_JavaNullPointerException, msg);
    return -1;
  }
  cls = seqc_java_class(jenv, array_cache[kind], array_sig[kind]);
  if (!cls) return -1;
  if ((*jenv)->IsInstanceOf(jenv, obj, cls)) {
    b->obj = obj;
    b->is_array = 1;
    b->len = (size_t)(*jenv)->GetArrayLength(jenv, (jarray)obj);
    return 0;
  }
  cls = seqc_java_class(jenv, buffer_cache[kind], buffer_cls[kind]);
  if (!cls) return -1;
  if ((*jenv)->IsInstanceOf(jenv, obj, cls)) {
    /* Capacity is -1 for a heap buffer; a direct one may lack an address only when empty. */
    jlong cap = (*jenv)->GetDirectBufferCapacity(jenv, obj);
    addr = (*jenv)->GetDirectBufferAddress(jenv, obj);
    if (cap == 0 || (cap > 0 && addr)) {
      if (addr && (uintptr_t)addr % elem[kind] != 0) {
        snprintf(msg, sizeof msg, "direct %s is not aligned to %zu bytes",
                 seqc_jbuf_names[kind][1], elem[kind]);
        SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, msg);
        return -1;
      }
      b->ptr = addr;
      b->len = (size_t)cap;
      return 0;
    }
  }
  snprintf(msg, sizeof msg, "expected a %s or a direct %s", seqc_jbuf_names[kind][0],
           seqc_jbuf_names[kind][1]);
  SWIG_JavaThrowException(jenv, SWIG_JavaIllegalArgumentException, msg);
  return -1;
}

/* Where an empty array or buffer points: not NULL, which the library reads
 * as a missing argument ("data is NULL"), and never dereferenced (length 0). */
static double seqc_jbuf_empty[1];

/* Pin or copy an array's elements. Returns 0, or -1 with OutOfMemoryError pending. */
static int seqc_jbuf_acquire(JNIEnv *jenv, seqc_jbuf *b) {
  if (b->len == 0) {
    b->ptr = seqc_jbuf_empty;
    return 0;
  }
  if (!b->is_array) return 0;
  switch (b->kind) {
  case SEQC_JF32: b->ptr = (*jenv)->GetFloatArrayElements(jenv, (jfloatArray)b->obj, NULL); break;
  case SEQC_JI32: b->ptr = (*jenv)->GetIntArrayElements(jenv, (jintArray)b->obj, NULL); break;
  default: b->ptr = (*jenv)->GetByteArrayElements(jenv, (jbyteArray)b->obj, NULL); break;
  }
  return b->ptr ? 0 : -1;
}

/* Release an array's elements: copied back for an output after a successful
 * call, discarded otherwise. Safe with an exception pending. */
static void seqc_jbuf_release(JNIEnv *jenv, seqc_jbuf *b) {
  jint mode = (b->writable && seqc_swig_rc == SEQC_OK && !(*jenv)->ExceptionCheck(jenv))
                  ? 0 : JNI_ABORT;
  if (!b->is_array || !b->ptr || b->ptr == (void *)seqc_jbuf_empty) return;
  switch (b->kind) {
  case SEQC_JF32:
    (*jenv)->ReleaseFloatArrayElements(jenv, (jfloatArray)b->obj, (jfloat *)b->ptr, mode);
    break;
  case SEQC_JI32:
    (*jenv)->ReleaseIntArrayElements(jenv, (jintArray)b->obj, (jint *)b->ptr, mode);
    break;
  default:
    (*jenv)->ReleaseByteArrayElements(jenv, (jbyteArray)b->obj, (jbyte *)b->ptr, mode);
    break;
  }
  b->ptr = NULL;
}

/* ---- strings ------------------------------------------------------------ */

/* A NUL-terminated UTF-8 byte[] made by SeqcoreNativeJNI.cstr(), or null. */
static int seqc_jstr_acquire(JNIEnv *jenv, jbyteArray bytes, jbyte **out) {
  *out = NULL;
  if (!bytes) return 0;
  *out = (*jenv)->GetByteArrayElements(jenv, bytes, NULL);
  return *out ? 0 : -1;
}
%}

/* Errors: raise within this JNI call; run the cleanup typemaps regardless. */
%exception {
  seqc_swig_rc = SEQC_OK;
  $action
  if (seqc_swig_rc != SEQC_OK) seqc_java_throw(jenv, seqc_swig_rc, seqc_swig_msg);
}

/* The native library, loaded with the JNI class. */
%pragma(java) jniclassclassmodifiers="public final class"
%pragma(java) jniclasscode=%{
  /** Name of the JNI library: libseqcore_java.so on Linux. */
  public static final String LIBRARY = "seqcore_java";

  static {
    String explicit = System.getProperty("org.seqcore.library");
    try {
      if (explicit != null && !explicit.isEmpty()) {
        System.load(explicit);
      } else {
        System.loadLibrary(LIBRARY);
      }
    } catch (UnsatisfiedLinkError e) {
      UnsatisfiedLinkError error = new UnsatisfiedLinkError(
          "libseqcore: cannot load the JNI library " + System.mapLibraryName(LIBRARY)
          + " (put its directory in -Djava.library.path, or name the file with"
          + " -Dorg.seqcore.library): " + e.getMessage());
      error.initCause(e);
      throw error;
    }
  }

  private SeqcoreNativeJNI() {}

  /** A Java string as NUL-terminated UTF-8 for the C side; null stays null. */
  static byte[] cstr(String s) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0) {
      throw new IllegalArgumentException("string contains a NUL character: " + s);
    }
    byte[] utf8 = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.util.Arrays.copyOf(utf8, utf8.length + 1);
  }

  /** UTF-8 bytes from the C side as a string; null stays null. */
  static String jstr(byte[] utf8) {
    return utf8 == null ? null : new String(utf8, java.nio.charset.StandardCharsets.UTF_8);
  }
%}

/* The public layer frees handles itself (close() and a Cleaner): no finalize(). */
%typemap(javafinalize) SWIGTYPE ""

/* The proxies are final and say they are not API. (Keyed on the struct
 * names: typemaps on other spellings are silently ignored.) */
%typemap(javaclassmodifiers) struct SeqcRuntime, struct SeqcModel, struct SeqcStream,
                             struct SeqcStreamBatch "public final class"
%typemap(javaimports) struct SeqcRuntime, struct SeqcModel, struct SeqcStream,
                      struct SeqcStreamBatch %{
/**
 * Generated JNI proxy of the handle struct in bindings/swig/seqcore.i. Not API:
 * use the classes of {@code org.seqcore}, which own its life cycle.
 */%}

/* ---- strings: UTF-8 in and out ------------------------------------------ */
%typemap(jni) const char * "jbyteArray"
%typemap(jtype) const char * "byte[]"
%typemap(jstype) const char * "String"
%typemap(javain) const char * "SeqcoreNativeJNI.cstr($javainput)"
%typemap(in) const char * (jbyte *bytes = NULL) %{
  $1 = NULL;
%}
%typemap(check) const char * %{
  if (seqc_jstr_acquire(jenv, $input, &bytes$argnum) != 0) return $null;
  $1 = ($1_ltype)bytes$argnum;
%}
%typemap(freearg) const char * %{
  if (bytes$argnum) (*jenv)->ReleaseByteArrayElements(jenv, $input, bytes$argnum, JNI_ABORT);
%}

%typemap(jni) char *, const char * "jbyteArray"
%typemap(jtype) char *, const char * "byte[]"
%typemap(jstype) char *, const char * "String"
%typemap(out) char *, const char * %{
  if ($1) {
    jsize n_ = (jsize)strlen((const char *)$1);
    $result = (*jenv)->NewByteArray(jenv, n_);
    if ($result) (*jenv)->SetByteArrayRegion(jenv, $result, 0, n_, (const jbyte *)$1);
  }
%}
%typemap(javaout) char *, const char * {
    return SeqcoreNativeJNI.jstr($jnicall);
  }
%typemap(newfree) char * "free($1);"

/* The seed is an unsigned 64-bit value; Java passes its bits as a long. */
%apply int64_t { uint64_t seed };

/* ---- arrays: (pointer, length) pairs ------------------------------------ */
%define SEQC_JAVA_ARRAY(PTR, LEN, KIND, WRITABLE)
%typemap(jni) (PTR, size_t LEN) "jobject"
%typemap(jtype) (PTR, size_t LEN) "Object"
%typemap(jstype) (PTR, size_t LEN) "Object"
%typemap(javain) (PTR, size_t LEN) "$javainput"
%typemap(in) (PTR, size_t LEN) (seqc_jbuf jb) %{
  if (seqc_jbuf_check(jenv, $input, KIND, WRITABLE, &jb) != 0) return $null;
  $1 = NULL;
  $2 = 0;
%}
%typemap(check) (PTR, size_t LEN) %{
  if (seqc_jbuf_acquire(jenv, &jb$argnum) != 0) return $null;
  $1 = ($1_ltype)jb$argnum.ptr;
  $2 = jb$argnum.len;
%}
%typemap(freearg) (PTR, size_t LEN) %{
  seqc_jbuf_release(jenv, &jb$argnum);
%}
%enddef

SEQC_JAVA_ARRAY(const float *in, in_len, SEQC_JF32, 0)
SEQC_JAVA_ARRAY(float *out, out_len, SEQC_JF32, 1)
SEQC_JAVA_ARRAY(const float *logits, n_logits, SEQC_JF32, 0)
SEQC_JAVA_ARRAY(const int32_t *tokens, n_tokens, SEQC_JI32, 0)
SEQC_JAVA_ARRAY(const uint8_t *data, size, SEQC_JU8, 0)
SEQC_JAVA_ARRAY(uint8_t *buf, cap, SEQC_JU8, 1)
SEQC_JAVA_ARRAY(int32_t *ids, ids_cap, SEQC_JI32, 1)
