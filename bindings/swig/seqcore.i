/*
 * seqcore.i: the one SWIG interface for the Python, Java and Go bindings.
 *
 * The C ABI (include/seqcore/seqcore.h) is wrapped through small binding-side
 * handle structs rather than exposed raw:
 *
 *   struct SeqcRuntime { seqc_runtime *h; }   -> Runtime
 *   struct SeqcModel   { seqc_model   *h; }   -> Model
 *   struct SeqcStream  { seqc_stream  *h; }   -> Stream
 *   struct SeqcStreamBatch                    -> StreamBatch (step_many,
 *                                                generate_many)
 *
 * The target language never sees the library pointer (the structs are
 * declared empty to SWIG, so no getter or setter exists). close() releases
 * the library object and sets h to NULL; closing twice is a no-op; any call
 * on a closed handle fails with SEQC_ERR_INVALID_ARGUMENT and the message
 * "<Kind> is closed". The language's destructor (GC, finalizer, Delete)
 * closes what close() did not. Streams retain their model and models their
 * runtime inside the library, so handles can be closed in any order.
 *
 * Errors: every wrapped call records a status in the thread-local
 * seqc_swig_rc and, on failure, the message in seqc_swig_msg, both read by
 * the language's %exception block within the same C call (Go goroutines may
 * change OS thread between two cgo calls, so reading later is not safe).
 *
 * Array parameters use fixed names, so each language's typemaps key on them:
 *   (const float *in, size_t in_len)         float input
 *   (float *out, size_t out_len)             float output, caller-owned
 *   (const int32_t *tokens, size_t n_tokens) token ids
 *   (const float *logits, size_t n_logits)   logits to sample from
 *   (const uint8_t *data, size_t size)       bytes input (model, snapshot, state)
 *   (uint8_t *buf, size_t cap)               bytes output, caller-owned
 *   (int32_t *ids, size_t ids_cap)           token ids output, caller-owned
 *
 * Per-language typemaps, exceptions and idioms live in seqcore_<lang>_pre.i
 * (included before the declarations) and seqcore_<lang>_post.i (after). The
 * pre file also names the four structs in the language (%rename), e.g.
 * SeqcStream -> Stream.
 */
%module seqcore

%{
#include <seqcore/seqcore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct SeqcRuntime { seqc_runtime *h; };
struct SeqcModel { seqc_model *h; };
struct SeqcStream { seqc_stream *h; };
struct SeqcStreamBatch { struct SeqcStream **items; size_t n, cap; seqc_stream **raw; };

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#  define SEQC_SWIG_TLS _Thread_local
#else
#  define SEQC_SWIG_TLS __thread
#endif
static SEQC_SWIG_TLS int seqc_swig_rc;
static SEQC_SWIG_TLS char seqc_swig_msg[1024];

/* Record a failure with a message of the binding's own. */
static void seqc_swig_fail(int rc, const char *msg) {
  seqc_swig_rc = rc;
  snprintf(seqc_swig_msg, sizeof seqc_swig_msg, "%s", msg ? msg : "");
}
/* Record the status of a library call; on failure keep its message. */
static int seqc_swig_check(int rc) {
  if (rc != SEQC_OK) {
    const char *m = seqc_last_error();
    seqc_swig_fail(rc, (m && *m) ? m : seqc_status_string(rc));
  }
  return rc;
}
/* Non-zero (and the failure recorded) when a handle is closed or absent. */
static int seqc_swig_closed(const void *self, const void *h, const char *kind) {
  if (!self || !h) {
    char m[96];
    snprintf(m, sizeof m, "%s is closed", kind);
    seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, m);
    return 1;
  }
  return 0;
}
static int seqc_swig_index(size_t i, size_t n, const char *what) {
  if (i >= n) {
    char m[128];
    snprintf(m, sizeof m, "%s index %zu out of range (%zu)", what, i, n);
    seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, m);
    return 1;
  }
  return 0;
}
/* Copy a two-call JSON result into a malloc'd string (freed by SWIG). */
static char *seqc_swig_json(int (*fn)(const void *, char *, size_t, size_t *), const void *arg) {
  size_t need = 0;
  char *buf;
  int rc = fn(arg, NULL, 0, &need);
  if (rc != SEQC_OK && rc != SEQC_ERR_BUFFER_TOO_SMALL) { seqc_swig_check(rc); return NULL; }
  buf = (char *)malloc(need ? need : 1);
  if (!buf) { seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return NULL; }
  if (seqc_swig_check(fn(arg, buf, need, &need)) != SEQC_OK) { free(buf); return NULL; }
  return buf;
}
static int seqc_swig_model_describe(const void *m, char *b, size_t c, size_t *n) {
  return seqc_model_describe((const seqc_model *)m, b, c, n);
}
static int seqc_swig_registry_describe(const void *name, char *b, size_t c, size_t *n) {
  return seqc_registry_describe((const char *)name, b, c, n);
}

/* ---- free functions (renamed without the sq_ prefix) ---- */
static uint32_t sq_version(void) { return seqc_version(); }
static const char *sq_version_string(void) { return seqc_version_string(); }
static uint32_t sq_abi_version(void) { return seqc_abi_version(); }
static int32_t sq_has_cuda(void) { return seqc_has_cuda(); }
static int32_t sq_cuda_device_count(void) { return seqc_cuda_device_count(); }
static const char *sq_status_string(int status) { return seqc_status_string(status); }
static void sq_convert(const char *src_path, const char *dst_path) {
  seqc_swig_check(seqc_convert(src_path, dst_path));
}
static size_t sq_registry_count(void) { return seqc_registry_count(); }
static const char *sq_registry_name(size_t i) {
  if (seqc_swig_index(i, seqc_registry_count(), "registry")) return NULL;
  return seqc_registry_name(i);
}
static int32_t sq_registry_kind(size_t i) {
  if (seqc_swig_index(i, seqc_registry_count(), "registry")) return -1;
  return seqc_registry_kind(i);
}
static uint32_t sq_registry_version(size_t i) {
  if (seqc_swig_index(i, seqc_registry_count(), "registry")) return 0;
  return seqc_registry_version(i);
}
static const char *sq_registry_summary(size_t i) {
  if (seqc_swig_index(i, seqc_registry_count(), "registry")) return NULL;
  return seqc_registry_summary(i);
}
static char *sq_registry_describe(const char *name) {
  if (!name) { seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "name is null"); return NULL; }
  return seqc_swig_json(seqc_swig_registry_describe, name);
}

static struct SeqcRuntime *sq_runtime_wrap(seqc_runtime *h) {
  struct SeqcRuntime *r = (struct SeqcRuntime *)malloc(sizeof *r);
  if (!r) { seqc_runtime_unref(h); seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return NULL; }
  r->h = h;
  return r;
}
static struct SeqcModel *sq_model_wrap(seqc_model *h) {
  struct SeqcModel *r = (struct SeqcModel *)malloc(sizeof *r);
  if (!r) { seqc_model_unref(h); seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return NULL; }
  r->h = h;
  return r;
}
static struct SeqcStream *sq_stream_wrap(seqc_stream *h) {
  struct SeqcStream *r = (struct SeqcStream *)malloc(sizeof *r);
  if (!r) { seqc_stream_destroy(h); seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return NULL; }
  r->h = h;
  return r;
}

static struct SeqcRuntime *sq_runtime_create(int32_t device, int32_t device_index, int32_t n_threads) {
  seqc_runtime *h = NULL;
  if (seqc_swig_check(seqc_runtime_create(device, device_index, n_threads, &h)) != SEQC_OK) return NULL;
  return sq_runtime_wrap(h);
}
/* rt may be NULL (the library's default CPU runtime) but not closed. */
static int sq_runtime_arg(struct SeqcRuntime *rt, seqc_runtime **out) {
  if (rt && !rt->h) { seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "Runtime is closed"); return 1; }
  *out = rt ? rt->h : NULL;
  return 0;
}
static struct SeqcModel *sq_model_load_file(struct SeqcRuntime *rt, const char *path) {
  seqc_runtime *r;
  seqc_model *h = NULL;
  if (sq_runtime_arg(rt, &r)) return NULL;
  if (!path) { seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "path is null"); return NULL; }
  if (seqc_swig_check(seqc_model_load_file(r, path, &h)) != SEQC_OK) return NULL;
  return sq_model_wrap(h);
}
static struct SeqcModel *sq_model_load_buffer(struct SeqcRuntime *rt, const uint8_t *data, size_t size) {
  seqc_runtime *r;
  seqc_model *h = NULL;
  if (sq_runtime_arg(rt, &r)) return NULL;
  if (seqc_swig_check(seqc_model_load_buffer(r, data, size, &h)) != SEQC_OK) return NULL;
  return sq_model_wrap(h);
}
/* Load options (@since 0.3), passed flat: the seqc_load_options object lives
 * only inside the call, so no language holds one. */
static seqc_load_options *sq_load_options(int32_t weight_dtype) {
  seqc_load_options *o = NULL;
  if (seqc_swig_check(seqc_load_options_create(&o)) != SEQC_OK) return NULL;
  if (seqc_swig_check(seqc_load_options_set_weight_dtype(o, weight_dtype)) != SEQC_OK) {
    seqc_load_options_destroy(o);
    return NULL;
  }
  return o;
}
static struct SeqcModel *sq_model_load_file_with(struct SeqcRuntime *rt, const char *path,
                                                 int32_t weight_dtype) {
  seqc_runtime *r;
  seqc_load_options *o;
  seqc_model *h = NULL;
  int rc;
  if (sq_runtime_arg(rt, &r)) return NULL;
  if (!path) { seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "path is null"); return NULL; }
  if (!(o = sq_load_options(weight_dtype))) return NULL;
  rc = seqc_swig_check(seqc_model_load_file_with(r, path, o, &h));
  seqc_load_options_destroy(o);
  return rc == SEQC_OK ? sq_model_wrap(h) : NULL;
}
static struct SeqcModel *sq_model_load_buffer_with(struct SeqcRuntime *rt, const uint8_t *data,
                                                   size_t size, int32_t weight_dtype) {
  seqc_runtime *r;
  seqc_load_options *o;
  seqc_model *h = NULL;
  int rc;
  if (sq_runtime_arg(rt, &r)) return NULL;
  if (!(o = sq_load_options(weight_dtype))) return NULL;
  rc = seqc_swig_check(seqc_model_load_buffer_with(r, data, size, o, &h));
  seqc_load_options_destroy(o);
  return rc == SEQC_OK ? sq_model_wrap(h) : NULL;
}
%}

/* Export macro and the prefix of the free functions. */
#define SEQC_API
%rename("%(strip:[sq_])s") "";

/* Status codes and enumerations, under their C names. */
%constant int SEQC_OK = SEQC_OK;
%constant int SEQC_ERR_INVALID_ARGUMENT = SEQC_ERR_INVALID_ARGUMENT;
%constant int SEQC_ERR_OUT_OF_MEMORY = SEQC_ERR_OUT_OF_MEMORY;
%constant int SEQC_ERR_IO = SEQC_ERR_IO;
%constant int SEQC_ERR_FORMAT = SEQC_ERR_FORMAT;
%constant int SEQC_ERR_VERSION = SEQC_ERR_VERSION;
%constant int SEQC_ERR_CHECKSUM = SEQC_ERR_CHECKSUM;
%constant int SEQC_ERR_CONFIG = SEQC_ERR_CONFIG;
%constant int SEQC_ERR_UNKNOWN_PLUGIN = SEQC_ERR_UNKNOWN_PLUGIN;
%constant int SEQC_ERR_MISSING_TENSOR = SEQC_ERR_MISSING_TENSOR;
%constant int SEQC_ERR_SHAPE = SEQC_ERR_SHAPE;
%constant int SEQC_ERR_DTYPE = SEQC_ERR_DTYPE;
%constant int SEQC_ERR_MISMATCH = SEQC_ERR_MISMATCH;
%constant int SEQC_ERR_BUFFER_TOO_SMALL = SEQC_ERR_BUFFER_TOO_SMALL;
%constant int SEQC_ERR_NOT_FOUND = SEQC_ERR_NOT_FOUND;
%constant int SEQC_ERR_UNSUPPORTED = SEQC_ERR_UNSUPPORTED;
%constant int SEQC_ERR_NO_DEVICE = SEQC_ERR_NO_DEVICE;
%constant int SEQC_ERR_BUSY = SEQC_ERR_BUSY;
%constant int SEQC_ERR_INTERNAL = SEQC_ERR_INTERNAL;
%constant int SEQC_DEVICE_CPU = SEQC_DEVICE_CPU;
%constant int SEQC_DEVICE_CUDA = SEQC_DEVICE_CUDA;
%constant int SEQC_DTYPE_F32 = SEQC_DTYPE_F32;
%constant int SEQC_DTYPE_F16 = SEQC_DTYPE_F16;
%constant int SEQC_DTYPE_BF16 = SEQC_DTYPE_BF16;
%constant int SEQC_DTYPE_I8 = SEQC_DTYPE_I8;
%constant int SEQC_DTYPE_I32 = SEQC_DTYPE_I32;
%constant int SEQC_DTYPE_U8 = SEQC_DTYPE_U8;
%constant int SEQC_DTYPE_I64 = SEQC_DTYPE_I64;
%constant int SEQC_DTYPE_F64 = SEQC_DTYPE_F64;
%constant int SEQC_INPUT_TOKENS = SEQC_INPUT_TOKENS;
%constant int SEQC_INPUT_FRAMES = SEQC_INPUT_FRAMES;
%constant int SEQC_PLUGIN_LAYER = SEQC_PLUGIN_LAYER;
%constant int SEQC_PLUGIN_RECURRENT = SEQC_PLUGIN_RECURRENT;
%constant int SEQC_PLUGIN_QUANTIZER = SEQC_PLUGIN_QUANTIZER;
%constant int SEQC_PLUGIN_MEMORY = SEQC_PLUGIN_MEMORY;
%constant int SEQC_OUTPUT_ALL = SEQC_OUTPUT_ALL;
%constant int SEQC_OUTPUT_LAST = SEQC_OUTPUT_LAST;
%constant int SEQC_OUTPUT_NONE = SEQC_OUTPUT_NONE;
%constant int SEQC_TOKENIZER_NONE = SEQC_TOKENIZER_NONE;
%constant int SEQC_TOKENIZER_BYTES = SEQC_TOKENIZER_BYTES;
%constant int SEQC_TOKENIZER_BPE = SEQC_TOKENIZER_BPE;
%constant int SEQC_TOKENIZE_ADD_SPECIAL = SEQC_TOKENIZE_ADD_SPECIAL;
%constant int SEQC_TOKENIZE_SPECIAL_AS_TEXT = SEQC_TOKENIZE_SPECIAL_AS_TEXT;
%constant int SEQC_DETOKENIZE_SKIP_SPECIAL = SEQC_DETOKENIZE_SKIP_SPECIAL;
%constant int SEQC_VERSION_NUMBER = SEQC_VERSION_NUMBER;
%constant int SEQC_ABI_VERSION = SEQC_ABI_VERSION;
%constant const char *SEQC_VERSION_STRING = SEQC_VERSION_STRING;

%include "stdint.i"

%newobject sq_registry_describe;
%newobject sq_runtime_create;
%newobject sq_model_load_file;
%newobject sq_model_load_buffer;
%newobject sq_model_load_file_with;
%newobject sq_model_load_buffer_with;
%newobject SeqcModel::describe;
%newobject SeqcStream::model;
%newobject SeqcStream::fork;

#if defined(SWIGPYTHON)
%include "seqcore_python_pre.i"
#elif defined(SWIGJAVA)
%include "seqcore_java_pre.i"
#elif defined(SWIGGO)
%include "seqcore_go_pre.i"
#endif

/* ---- declarations SWIG wraps ---- */

uint32_t sq_version(void);
const char *sq_version_string(void);
uint32_t sq_abi_version(void);
int32_t sq_has_cuda(void);
int32_t sq_cuda_device_count(void);
const char *sq_status_string(int status);
void sq_convert(const char *src_path, const char *dst_path);
size_t sq_registry_count(void);
const char *sq_registry_name(size_t i);
int32_t sq_registry_kind(size_t i);
uint32_t sq_registry_version(size_t i);
const char *sq_registry_summary(size_t i);
char *sq_registry_describe(const char *name);
struct SeqcRuntime *sq_runtime_create(int32_t device, int32_t device_index, int32_t n_threads);
struct SeqcModel *sq_model_load_file(struct SeqcRuntime *rt, const char *path);
struct SeqcModel *sq_model_load_buffer(struct SeqcRuntime *rt, const uint8_t *data, size_t size);
struct SeqcModel *sq_model_load_file_with(struct SeqcRuntime *rt, const char *path, int32_t weight_dtype);
struct SeqcModel *sq_model_load_buffer_with(struct SeqcRuntime *rt, const uint8_t *data, size_t size,
                                            int32_t weight_dtype);

struct SeqcRuntime {};
struct SeqcModel {};
struct SeqcStream {};
struct SeqcStreamBatch {};

%extend SeqcRuntime {
  /** A CPU runtime with n_threads kernel threads (0: one per core). */
  SeqcRuntime(int32_t n_threads) {
    seqc_runtime *h = NULL;
    if (seqc_swig_check(seqc_runtime_create_cpu(n_threads, &h)) != SEQC_OK) return NULL;
    return sq_runtime_wrap(h);
  }
  ~SeqcRuntime() {
    if ($self) { seqc_runtime_unref($self->h); free($self); }
  }
  void close() { seqc_runtime_unref($self->h); $self->h = NULL; }
  int is_closed() { return $self->h == NULL; }
  int32_t threads() {
    if (seqc_swig_closed($self, $self->h, "Runtime")) return 0;
    return seqc_runtime_threads($self->h);
  }
  int32_t device() {
    if (seqc_swig_closed($self, $self->h, "Runtime")) return -1;
    return seqc_runtime_device($self->h);
  }
}

%extend SeqcModel {
  ~SeqcModel() {
    if ($self) { seqc_model_unref($self->h); free($self); }
  }
  void close() { seqc_model_unref($self->h); $self->h = NULL; }
  int is_closed() { return $self->h == NULL; }
  int32_t input_kind() {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    return seqc_model_input_kind($self->h);
  }
  int64_t input_width() {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    return seqc_model_input_width($self->h);
  }
  int64_t output_width() {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    return seqc_model_output_width($self->h);
  }
  int output_is_logits() {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    return seqc_model_output_is_logits($self->h);
  }
  size_t block_count() {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    return seqc_model_block_count($self->h);
  }
  const char *block_name(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return NULL;
    if (seqc_swig_index(i, seqc_model_block_count($self->h), "block")) return NULL;
    return seqc_model_block_name($self->h, i);
  }
  const char *block_plugin(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return NULL;
    if (seqc_swig_index(i, seqc_model_block_count($self->h), "block")) return NULL;
    return seqc_model_block_plugin($self->h, i);
  }
  size_t state_bytes() {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    return seqc_model_state_bytes($self->h);
  }
  size_t weight_bytes() {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    return seqc_model_weight_bytes($self->h);
  }
  /** The seqc_dtype the weight matrices are held in (@since 0.3). */
  int32_t weight_dtype() {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    return seqc_model_weight_dtype($self->h);
  }
  /** The model as JSON (graph, configs, widths, state layout, fingerprint). */
  char *describe() {
    if (seqc_swig_closed($self, $self->h, "Model")) return NULL;
    return seqc_swig_json(seqc_swig_model_describe, $self->h);
  }
  size_t state_count() {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    return seqc_model_state_count($self->h);
  }
  const char *state_name(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return NULL;
    if (seqc_swig_index(i, seqc_model_state_count($self->h), "state")) return NULL;
    return seqc_model_state_name($self->h, i);
  }
  int32_t state_dtype(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    if (seqc_swig_index(i, seqc_model_state_count($self->h), "state")) return -1;
    return seqc_model_state_dtype($self->h, i);
  }
  int32_t state_ndim(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    if (seqc_swig_index(i, seqc_model_state_count($self->h), "state")) return -1;
    return seqc_model_state_ndim($self->h, i);
  }
  int64_t state_dim(size_t i, int32_t axis) {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    if (seqc_swig_index(i, seqc_model_state_count($self->h), "state")) return -1;
    if (axis < 0 || axis >= seqc_model_state_ndim($self->h, i)) {
      seqc_swig_fail(SEQC_ERR_INVALID_ARGUMENT, "axis out of range");
      return -1;
    }
    return seqc_model_state_dim($self->h, i, axis);
  }
  size_t state_nbytes(size_t i) {
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    if (seqc_swig_index(i, seqc_model_state_count($self->h), "state")) return 0;
    return seqc_model_state_nbytes($self->h, i);
  }
  /* ---- tokenizer (@since 0.2). The *_into methods take a caller buffer
   * and return the size the result needs: when that exceeds the buffer,
   * nothing was written and no error is raised; the language layer retries
   * with a buffer of that size. */
  int32_t tokenizer_kind() {
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    return seqc_model_tokenizer_kind($self->h);
  }
  /** Encode the bytes data into ids; returns the number of ids. */
  size_t tokenize_into(const uint8_t *data, size_t size, int32_t flags, int32_t *ids, size_t ids_cap) {
    size_t n = 0;
    int rc;
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    rc = seqc_model_tokenize($self->h, (const char *)data, size, (uint32_t)flags, ids, ids_cap, &n);
    if (rc != SEQC_ERR_BUFFER_TOO_SMALL) seqc_swig_check(rc);
    return n;
  }
  /** The bytes of the text of tokens into buf; returns their number. */
  size_t detokenize_into(const int32_t *tokens, size_t n_tokens, int32_t flags, uint8_t *buf, size_t cap) {
    size_t n = 0;
    int rc;
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    rc = seqc_model_detokenize($self->h, tokens, n_tokens, (uint32_t)flags, (char *)buf, cap, &n);
    if (rc != SEQC_ERR_BUFFER_TOO_SMALL) seqc_swig_check(rc);
    return n;
  }
  /** The bytes of one token into buf; returns their number. */
  size_t token_bytes_into(int32_t id, int32_t flags, uint8_t *buf, size_t cap) {
    size_t n = 0;
    int rc;
    if (seqc_swig_closed($self, $self->h, "Model")) return 0;
    rc = seqc_model_token_bytes($self->h, id, (uint32_t)flags, (char *)buf, cap, &n);
    if (rc != SEQC_ERR_BUFFER_TOO_SMALL) seqc_swig_check(rc);
    return n;
  }
  /** The id of the token spelled by the bytes data (NOT_FOUND if none). */
  int32_t token_id(const uint8_t *data, size_t size) {
    int32_t id = -1;
    if (seqc_swig_closed($self, $self->h, "Model")) return -1;
    seqc_swig_check(seqc_model_token_id($self->h, (const char *)data, size, &id));
    return id;
  }
}

%extend SeqcStream {
  /** A new stream of model m at position 0; it keeps m alive. */
  SeqcStream(struct SeqcModel *m) {
    seqc_stream *h = NULL;
    if (seqc_swig_closed(m, m ? m->h : NULL, "Model")) return NULL;
    if (seqc_swig_check(seqc_stream_create(m->h, &h)) != SEQC_OK) return NULL;
    return sq_stream_wrap(h);
  }
  ~SeqcStream() {
    if ($self) { seqc_stream_destroy($self->h); free($self); }
  }
  void close() { seqc_stream_destroy($self->h); $self->h = NULL; }
  int is_closed() { return $self->h == NULL; }
  /** The stream's model, as a new handle holding its own reference. */
  struct SeqcModel *model() {
    if (seqc_swig_closed($self, $self->h, "Stream")) return NULL;
    return sq_model_wrap(seqc_model_ref(seqc_stream_model($self->h)));
  }
  int64_t position() {
    if (seqc_swig_closed($self, $self->h, "Stream")) return -1;
    return seqc_stream_position($self->h);
  }
  void reset() {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_reset($self->h));
  }
  void step(const float *in, size_t in_len, float *out, size_t out_len) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_step($self->h, in, in_len, out, out_len));
  }
  void step_token(int32_t token, float *out, size_t out_len) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_step_token($self->h, token, out, out_len));
  }
  void forward(const float *in, size_t in_len, int32_t output_mode, float *out, size_t out_len) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_forward($self->h, in, in_len, output_mode, out, out_len));
  }
  void forward_tokens(const int32_t *tokens, size_t n_tokens, int32_t output_mode, float *out,
                      size_t out_len) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_forward_tokens($self->h, tokens, n_tokens, output_mode, out, out_len));
  }
  void set_sampling(float temperature, int32_t top_k, float top_p) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_set_sampling($self->h, temperature, top_k, top_p));
  }
  void set_seed(uint64_t seed) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_set_seed($self->h, seed));
  }
  int32_t sample(const float *logits, size_t n_logits) {
    int32_t tok = -1;
    if (seqc_swig_closed($self, $self->h, "Stream")) return -1;
    seqc_swig_check(seqc_stream_sample($self->h, logits, n_logits, &tok));
    return tok;
  }
  /** Feed tokens (a prompt or the last sampled token); returns the next token. */
  int32_t generate(const int32_t *tokens, size_t n_tokens) {
    int32_t tok = -1;
    if (seqc_swig_closed($self, $self->h, "Stream")) return -1;
    seqc_swig_check(seqc_stream_generate($self->h, tokens, n_tokens, &tok));
    return tok;
  }
  size_t snapshot_size() {
    size_t n = 0;
    if (seqc_swig_closed($self, $self->h, "Stream")) return 0;
    seqc_swig_check(seqc_stream_snapshot_size($self->h, &n));
    return n;
  }
  /** Write a snapshot into buf; returns the bytes written. */
  size_t snapshot_into(uint8_t *buf, size_t cap) {
    size_t n = 0;
    if (seqc_swig_closed($self, $self->h, "Stream")) return 0;
    seqc_swig_check(seqc_stream_snapshot($self->h, buf, cap, &n));
    return n;
  }
  void restore(const uint8_t *data, size_t size) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_restore($self->h, data, size));
  }
  /** An independent copy: state, position, sampler and generator. */
  struct SeqcStream *fork() {
    seqc_stream *h = NULL;
    if (seqc_swig_closed($self, $self->h, "Stream")) return NULL;
    if (seqc_swig_check(seqc_stream_fork($self->h, &h)) != SEQC_OK) return NULL;
    return sq_stream_wrap(h);
  }
  void state_read(const char *name, uint8_t *buf, size_t cap) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_state_read($self->h, name, buf, cap));
  }
  void state_write(const char *name, const uint8_t *data, size_t size) {
    if (seqc_swig_closed($self, $self->h, "Stream")) return;
    seqc_swig_check(seqc_stream_state_write($self->h, name, data, size));
  }
}

/*
 * A list of streams stepped together by one seqc_stream_step_many call
 * (or seqc_stream_step_many_tokens, seqc_stream_generate_many).
 * It holds the language-side Stream handles, not references: the language
 * layer keeps the Stream objects alive while they are in a batch (the
 * idiomatic step_many / generate_many helpers build one per call).
 */
%extend SeqcStreamBatch {
  SeqcStreamBatch() {
    struct SeqcStreamBatch *b = (struct SeqcStreamBatch *)calloc(1, sizeof *b);
    if (!b) seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory");
    return b;
  }
  ~SeqcStreamBatch() {
    if ($self) { free($self->items); free($self->raw); free($self); }
  }
  void add(struct SeqcStream *s) {
    if (seqc_swig_closed(s, s ? s->h : NULL, "Stream")) return;
    if ($self->n == $self->cap) {
      size_t cap = $self->cap ? 2 * $self->cap : 8;
      struct SeqcStream **items = (struct SeqcStream **)realloc($self->items, cap * sizeof *items);
      seqc_stream **raw;
      if (!items) { seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return; }
      $self->items = items;
      raw = (seqc_stream **)realloc($self->raw, cap * sizeof *raw);
      if (!raw) { seqc_swig_fail(SEQC_ERR_OUT_OF_MEMORY, "out of memory"); return; }
      $self->raw = raw;
      $self->cap = cap;
    }
    $self->items[$self->n++] = s;
  }
  void clear() { $self->n = 0; }
  size_t size() { return $self->n; }
  void step(const float *in, size_t in_len, float *out, size_t out_len) {
    size_t i;
    for (i = 0; i < $self->n; i++) {
      if (seqc_swig_closed($self->items[i], $self->items[i]->h, "Stream")) return;
      $self->raw[i] = $self->items[i]->h;
    }
    seqc_swig_check(seqc_stream_step_many($self->raw, $self->n, in, in_len, out, out_len));
  }
  void step_tokens(const int32_t *tokens, size_t n_tokens, float *out, size_t out_len) {
    size_t i;
    if (n_tokens != $self->n) {
      seqc_swig_fail(SEQC_ERR_SHAPE, "step_many_tokens: one token per stream is required");
      return;
    }
    for (i = 0; i < $self->n; i++) {
      if (seqc_swig_closed($self->items[i], $self->items[i]->h, "Stream")) return;
      $self->raw[i] = $self->items[i]->h;
    }
    seqc_swig_check(seqc_stream_step_many_tokens($self->raw, $self->n, tokens, out, out_len));
  }
  /** seqc_stream_generate_many (@since 0.3): feed tokens[i] to stream i and
   * write the token it samples next into ids[i]. */
  void generate(const int32_t *tokens, size_t n_tokens, int32_t *ids, size_t ids_cap) {
    size_t i;
    if (n_tokens != $self->n) {
      seqc_swig_fail(SEQC_ERR_SHAPE, "generate_many: one token per stream is required");
      return;
    }
    if (ids_cap < $self->n) {
      seqc_swig_fail(SEQC_ERR_SHAPE, "generate_many: the output holds fewer tokens than there are streams");
      return;
    }
    for (i = 0; i < $self->n; i++) {
      if (seqc_swig_closed($self->items[i], $self->items[i]->h, "Stream")) return;
      $self->raw[i] = $self->items[i]->h;
    }
    seqc_swig_check(seqc_stream_generate_many($self->raw, $self->n, tokens, ids));
  }
}

#if defined(SWIGPYTHON)
%include "seqcore_python_post.i"
#elif defined(SWIGJAVA)
%include "seqcore_java_post.i"
#elif defined(SWIGGO)
%include "seqcore_go_post.i"
#endif
