/*
 * libseqcore: an embeddable runtime for stateful sequence models.
 *
 * This header is the whole public contract: the stable C ABI. Nothing
 * outside include/seqcore/ is API.
 *
 * Conventions (docs/abi.md has the long form):
 *  - Every fallible function returns an int status: SEQC_OK (0) or one of
 *    the negative SEQC_ERR_* codes, which are pinned forever. The detail
 *    message of the last failure on the calling thread is seqc_last_error().
 *  - On failure, out-parameters are untouched and every object is left as
 *    it was before the call (a failed step does not advance the stream).
 *  - Objects are opaque handles. Runtimes and models are reference counted
 *    (seqc_*_ref / seqc_*_unref) and may be shared by any number of threads.
 *    A stream has one owner and is used by one thread at a time; it may move
 *    between threads. A stream retains its model and a model its runtime, so
 *    handles may be released in any order.
 *  - Every destroy/unref accepts NULL as a harmless no-op.
 *  - Variable-size results use the two-call pattern: ask for the size, then
 *    copy into a caller buffer.
 *  - No C++ exception, abort or exit crosses this interface.
 *  - Functions are only ever added; a signature never changes within one
 *    ABI major (SEQC_ABI_VERSION, carried in the soname libseqcore.so.N).
 *
 * Thread rule, stated once: functions on a runtime, a model, the registry
 * and the version/status queries are safe to call from any thread at any
 * time. Functions on one stream must not run concurrently; a second
 * concurrent call on the same stream is refused with SEQC_ERR_BUSY rather
 * than corrupting it.
 */
#ifndef SEQCORE_SEQCORE_H
#define SEQCORE_SEQCORE_H

#include <stddef.h>
#include <stdint.h>

#ifndef SEQC_API /* SWIG and bindgen may predefine it empty */
#  if defined(_WIN32)
#    define SEQC_API __declspec(dllexport)
#  else
#    define SEQC_API __attribute__((visibility("default")))
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Versions                                                                  */
/* ------------------------------------------------------------------------ */

/** Compile-time version of this header. @since 0.1 */
#define SEQC_VERSION_MAJOR 0
#define SEQC_VERSION_MINOR 1
#define SEQC_VERSION_PATCH 0
#define SEQC_VERSION_STRING "0.1.0"
/** MAJOR * 10000 + MINOR * 100 + PATCH, comparable with seqc_version(). */
#define SEQC_VERSION_NUMBER \
  (SEQC_VERSION_MAJOR * 10000 + SEQC_VERSION_MINOR * 100 + SEQC_VERSION_PATCH)
/** ABI major: the N of the soname libseqcore.so.N. @since 0.1 */
#define SEQC_ABI_VERSION 0

/**
 * Version of the library actually loaded, as SEQC_VERSION_NUMBER.
 * Compare with SEQC_VERSION_NUMBER to detect a header/library mismatch.
 * @thread any  @since 0.1
 */
SEQC_API uint32_t seqc_version(void);

/** Version string of the loaded library ("0.1.0"); static storage. @since 0.1 */
SEQC_API const char *seqc_version_string(void);

/** ABI major of the loaded library (equals SEQC_ABI_VERSION when compatible). @since 0.1 */
SEQC_API uint32_t seqc_abi_version(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                   */
/* ------------------------------------------------------------------------ */

/** Status codes. The values are pinned forever; new codes are only added. */
typedef enum seqc_status {
  SEQC_OK = 0,
  /** A NULL handle or pointer where one is required, a bad enum value, a
   *  token id outside the vocabulary, a frame where tokens are expected. */
  SEQC_ERR_INVALID_ARGUMENT = -1,
  /** An allocation failed. */
  SEQC_ERR_OUT_OF_MEMORY = -2,
  /** A file could not be opened or read. */
  SEQC_ERR_IO = -3,
  /** A model file or snapshot is malformed: truncated, a header length or
   *  offset beyond the data, overlapping or holed tensor data, bad JSON. */
  SEQC_ERR_FORMAT = -4,
  /** A format version this library does not read. */
  SEQC_ERR_VERSION = -5,
  /** A snapshot's checksum does not match its bytes. */
  SEQC_ERR_CHECKSUM = -6,
  /** A config value is invalid: negative, zero, NaN, non-integer or
   *  inconsistent sizes, an unknown or missing config key. */
  SEQC_ERR_CONFIG = -7,
  /** A block names a plugin the registry does not know. */
  SEQC_ERR_UNKNOWN_PLUGIN = -8,
  /** A weight tensor a block needs is not in the file. */
  SEQC_ERR_MISSING_TENSOR = -9,
  /** A tensor or buffer has the wrong shape or length. */
  SEQC_ERR_SHAPE = -10,
  /** A tensor has a dtype that is not accepted there. */
  SEQC_ERR_DTYPE = -11,
  /** A snapshot belongs to another model, or streams of different models
   *  were mixed in one call. */
  SEQC_ERR_MISMATCH = -12,
  /** A caller buffer is too small; the needed size is reported where the
   *  function has a size out-parameter. */
  SEQC_ERR_BUFFER_TOO_SMALL = -13,
  /** A named item (state tensor, registry entry) does not exist. */
  SEQC_ERR_NOT_FOUND = -14,
  /** A valid request this build, device or plugin cannot do. */
  SEQC_ERR_UNSUPPORTED = -15,
  /** The requested device does not exist or has no driver. */
  SEQC_ERR_NO_DEVICE = -16,
  /** The stream is in use by another call on another thread. */
  SEQC_ERR_BUSY = -17,
  /** A bug in the library; the message says where. */
  SEQC_ERR_INTERNAL = -18
} seqc_status;

/**
 * Static English text naming a status code ("invalid argument").
 * Unknown codes give "unknown status". Never NULL.
 * @thread any  @since 0.1
 */
SEQC_API const char *seqc_status_string(int status);

/**
 * Detail message of the last failed call on this thread, or "" if the last
 * call succeeded. Each call into the library that returns a status clears or
 * sets it. Valid until the next call on this thread. Never NULL.
 * @thread any (thread-local)  @since 0.1
 */
SEQC_API const char *seqc_last_error(void);

/* ------------------------------------------------------------------------ */
/* Enumerations                                                              */
/* ------------------------------------------------------------------------ */

/** Devices a runtime can run on. */
typedef enum seqc_device_kind {
  SEQC_DEVICE_CPU = 0,
  SEQC_DEVICE_CUDA = 1
} seqc_device_kind;

/** Element types of tensors (weights in files, state tensors). */
typedef enum seqc_dtype {
  SEQC_DTYPE_F32 = 0,
  SEQC_DTYPE_F16 = 1,
  SEQC_DTYPE_BF16 = 2,
  SEQC_DTYPE_I8 = 3,
  SEQC_DTYPE_I32 = 4,
  SEQC_DTYPE_U8 = 5,
  SEQC_DTYPE_I64 = 6,
  SEQC_DTYPE_F64 = 7
} seqc_dtype;

/** What a model consumes at each position. */
typedef enum seqc_input_kind {
  /** Integer token ids in [0, input width). */
  SEQC_INPUT_TOKENS = 0,
  /** Float frames of input-width values. */
  SEQC_INPUT_FRAMES = 1
} seqc_input_kind;

/** The four kinds of registry entries. */
typedef enum seqc_plugin_kind {
  SEQC_PLUGIN_LAYER = 0,
  SEQC_PLUGIN_RECURRENT = 1,
  SEQC_PLUGIN_QUANTIZER = 2,
  SEQC_PLUGIN_MEMORY = 3
} seqc_plugin_kind;

/** Which positions of a seqc_stream_forward* call write output. */
typedef enum seqc_output_mode {
  /** Every position: out holds n_positions x output width floats. */
  SEQC_OUTPUT_ALL = 0,
  /** Only the last position: out holds output width floats. */
  SEQC_OUTPUT_LAST = 1,
  /** No output (state update only, e.g. a prompt prefill); out may be NULL. */
  SEQC_OUTPUT_NONE = 2
} seqc_output_mode;

/* ------------------------------------------------------------------------ */
/* Runtime                                                                   */
/* ------------------------------------------------------------------------ */

/** A device with its thread pool (CPU) or stream and memory pool (CUDA). */
typedef struct seqc_runtime seqc_runtime;

/**
 * Create a CPU runtime.
 * @param n_threads  threads for kernels, the caller included; 0 or negative
 *                   means one per available core.
 * @param out        receives a new runtime with one reference.
 * @return SEQC_OK, SEQC_ERR_INVALID_ARGUMENT (out NULL),
 *         SEQC_ERR_OUT_OF_MEMORY.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_runtime_create_cpu(int32_t n_threads, seqc_runtime **out);

/**
 * Create a runtime on a device.
 * @param device        a seqc_device_kind.
 * @param device_index  which device of that kind (0 for the CPU).
 * @param n_threads     CPU threads, as for seqc_runtime_create_cpu.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (bad kind, out NULL);
 *         SEQC_ERR_NO_DEVICE (no such device, or no driver);
 *         SEQC_ERR_UNSUPPORTED (built without that backend, or the backend
 *         is not available in this release: CUDA kernels come in 0.3).
 * @thread any  @since 0.1
 */
SEQC_API int seqc_runtime_create(int32_t device, int32_t device_index,
                                 int32_t n_threads, seqc_runtime **out);

/** Add a reference; returns rt. NULL gives NULL. @thread any  @since 0.1 */
SEQC_API seqc_runtime *seqc_runtime_ref(seqc_runtime *rt);

/** Drop a reference; the last one frees the runtime. NULL is a no-op.
 *  @thread any  @since 0.1 */
SEQC_API void seqc_runtime_unref(seqc_runtime *rt);

/** Number of kernel threads (the caller included); 0 for NULL. @since 0.1 */
SEQC_API int32_t seqc_runtime_threads(const seqc_runtime *rt);

/** The seqc_device_kind of a runtime; -1 for NULL. @since 0.1 */
SEQC_API int32_t seqc_runtime_device(const seqc_runtime *rt);

/** 1 if this library was built with the CUDA backend, else 0. @since 0.1 */
SEQC_API int32_t seqc_has_cuda(void);

/** Number of usable CUDA devices; 0 without CUDA, a driver or a GPU. @since 0.1 */
SEQC_API int32_t seqc_cuda_device_count(void);

/* ------------------------------------------------------------------------ */
/* Model                                                                     */
/* ------------------------------------------------------------------------ */

/** A block graph with its weights on one runtime; immutable after load. */
typedef struct seqc_model seqc_model;

/**
 * Load a model from a file: the native format (safetensors with the block
 * graph in its metadata, docs/model-format.md) or a PyTorch nn.LSTM/nn.GRU
 * state dict saved as safetensors (docs/torch-import.md); or from a
 * HuggingFace model directory of model_type mamba, falcon_mamba or mamba2
 * (config.json, model.safetensors or its sharded index, tokenizer.json;
 * docs/hf-import.md). Every header field, offset, size, shape, dtype and
 * config value is checked before use.
 * @param rt    the runtime the weights go to; NULL means a process-wide CPU
 *              runtime with one thread per core.
 * @param path  UTF-8 path of a file, of a HuggingFace model directory, or of
 *              the config.json inside one.
 * @param out   receives the model with one reference; untouched on failure.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_IO; SEQC_ERR_FORMAT;
 *         SEQC_ERR_VERSION; SEQC_ERR_CONFIG; SEQC_ERR_UNKNOWN_PLUGIN;
 *         SEQC_ERR_MISSING_TENSOR; SEQC_ERR_SHAPE; SEQC_ERR_DTYPE;
 *         SEQC_ERR_UNSUPPORTED; SEQC_ERR_OUT_OF_MEMORY.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_model_load_file(seqc_runtime *rt, const char *path,
                                  seqc_model **out);

/**
 * Load a model from bytes in memory, as seqc_model_load_file. The bytes are
 * only read during the call; the caller may free them afterwards.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_model_load_buffer(seqc_runtime *rt, const void *data,
                                    size_t size, seqc_model **out);

/**
 * Options for loading a model: an opaque, single-owner object. Created with
 * the defaults (weights as f32); set what differs, pass it to
 * seqc_model_load_file_with / seqc_model_load_buffer_with, and destroy it
 * (the model keeps no reference to it).
 * @since 0.3
 */
typedef struct seqc_load_options seqc_load_options;

/** Create load options with the defaults. @return SEQC_OK;
 *  SEQC_ERR_INVALID_ARGUMENT (out NULL); SEQC_ERR_OUT_OF_MEMORY.
 *  @thread any  @since 0.3 */
SEQC_API int seqc_load_options_create(seqc_load_options **out);

/** Free load options. NULL is a no-op. @since 0.3 */
SEQC_API void seqc_load_options_destroy(seqc_load_options *o);

/**
 * The precision weight matrices (projections, recurrent weights, embedding
 * tables, the LM head) are held in: SEQC_DTYPE_F32 (the default),
 * SEQC_DTYPE_BF16 or SEQC_DTYPE_F16, whatever the file stores. Biases, norm
 * weights, convolution taps and other small vectors stay f32, and so does the
 * state. On a CUDA runtime the matrices are stored in that dtype (half the
 * bytes a step reads) and multiplied with f32 accumulation; products of more
 * than 8 rows (prefill, many streams) round their f32 inputs to the same
 * dtype for the tensor cores. On the CPU the weights are rounded to the
 * dtype and computed in f32 (the reference the GPU is checked against). The
 * model's fingerprint is that of the stored weights, so snapshots move
 * between precisions (docs/numerics.md).
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (o NULL); SEQC_ERR_DTYPE (not
 *         one of the three).
 * @since 0.3
 */
SEQC_API int seqc_load_options_set_weight_dtype(seqc_load_options *o,
                                                int32_t dtype);

/** seqc_model_load_file with options; opts NULL means the defaults.
 *  @since 0.3 */
SEQC_API int seqc_model_load_file_with(seqc_runtime *rt, const char *path,
                                       const seqc_load_options *opts,
                                       seqc_model **out);

/** seqc_model_load_buffer with options; opts NULL means the defaults.
 *  @since 0.3 */
SEQC_API int seqc_model_load_buffer_with(seqc_runtime *rt, const void *data,
                                         size_t size,
                                         const seqc_load_options *opts,
                                         seqc_model **out);

/** The seqc_dtype weight matrices are held in; -1 for NULL. @since 0.3 */
SEQC_API int32_t seqc_model_weight_dtype(const seqc_model *m);

/** Add a reference; returns m. NULL gives NULL. @thread any  @since 0.1 */
SEQC_API seqc_model *seqc_model_ref(seqc_model *m);

/** Drop a reference; the last one frees the model (streams hold their own).
 *  NULL is a no-op. @thread any  @since 0.1 */
SEQC_API void seqc_model_unref(seqc_model *m);

/** The model's seqc_input_kind; -1 for NULL. @since 0.1 */
SEQC_API int32_t seqc_model_input_kind(const seqc_model *m);

/** Floats per input frame, or the vocabulary size for token input; -1 for
 *  NULL. @since 0.1 */
SEQC_API int64_t seqc_model_input_width(const seqc_model *m);

/** Floats per output position (logits for a language model); -1 for NULL.
 *  @since 0.1 */
SEQC_API int64_t seqc_model_output_width(const seqc_model *m);

/** 1 if the output is logits over the token vocabulary, so that sampling
 *  and seqc_stream_generate apply; 0 otherwise or for NULL. @since 0.1 */
SEQC_API int32_t seqc_model_output_is_logits(const seqc_model *m);

/** Number of blocks in the graph (residual groups are not counted, their
 *  members are); 0 for NULL. @since 0.1 */
SEQC_API size_t seqc_model_block_count(const seqc_model *m);

/** Name of block i ("rnn"); NULL if out of range. Borrowed, valid while the
 *  model lives. @since 0.1 */
SEQC_API const char *seqc_model_block_name(const seqc_model *m, size_t i);

/** Plugin of block i ("recurrent/lstm"); NULL if out of range. Borrowed.
 *  @since 0.1 */
SEQC_API const char *seqc_model_block_plugin(const seqc_model *m, size_t i);

/** Bytes of recurrent state one stream of this model holds; 0 for NULL.
 *  @since 0.1 */
SEQC_API size_t seqc_model_state_bytes(const seqc_model *m);

/** Bytes of weights as held on the device; 0 for NULL. @since 0.1 */
SEQC_API size_t seqc_model_weight_bytes(const seqc_model *m);

/**
 * The model described as JSON (graph, configs, widths, state layout,
 * fingerprint, metadata), two-call pattern.
 * @param buf   destination, may be NULL when cap is 0.
 * @param cap   bytes available in buf.
 * @param out_len  receives the bytes needed including the terminating NUL;
 *              set on SEQC_OK and on SEQC_ERR_BUFFER_TOO_SMALL.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_BUFFER_TOO_SMALL.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_model_describe(const seqc_model *m, char *buf, size_t cap,
                                 size_t *out_len);

/** Number of named state tensors a stream of this model holds. @since 0.1 */
SEQC_API size_t seqc_model_state_count(const seqc_model *m);

/** Name of state tensor i ("rnn.h"); NULL if out of range. Borrowed.
 *  @since 0.1 */
SEQC_API const char *seqc_model_state_name(const seqc_model *m, size_t i);

/** seqc_dtype of state tensor i; -1 if out of range. @since 0.1 */
SEQC_API int32_t seqc_model_state_dtype(const seqc_model *m, size_t i);

/** Number of dimensions of state tensor i; -1 if out of range. @since 0.1 */
SEQC_API int32_t seqc_model_state_ndim(const seqc_model *m, size_t i);

/** Extent of dimension axis of state tensor i; -1 if out of range.
 *  @since 0.1 */
SEQC_API int64_t seqc_model_state_dim(const seqc_model *m, size_t i,
                                      int32_t axis);

/** Bytes of state tensor i; 0 if out of range. @since 0.1 */
SEQC_API size_t seqc_model_state_nbytes(const seqc_model *m, size_t i);

/**
 * Write a model as a canonical native file: read src_path as
 * seqc_model_load_file does (a native file, a PyTorch state dict or a
 * HuggingFace directory), check that it builds, and write dst_path with the
 * graph in its metadata and the tensors renamed to "<block>.<weight>"
 * (stored dtypes and bytes kept; a tied weight stored once; a tokenizer
 * carried). The result has the source's fingerprint. The
 * destination is written to a temporary file and renamed, so it is never
 * left half-written.
 * @return as seqc_model_load_file; SEQC_ERR_IO when dst_path cannot be
 *         written.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_convert(const char *src_path, const char *dst_path);

/* ------------------------------------------------------------------------ */
/* Tokenizer (text <-> token ids, for models that carry one)                 */
/* ------------------------------------------------------------------------ */

/** The tokenizer a model carries (docs/tokenizer.md). */
typedef enum seqc_tokenizer_kind {
  /** None: the model takes frames, or token ids from elsewhere. */
  SEQC_TOKENIZER_NONE = 0,
  /** Token id = byte value (vocabulary 256): the byte-level LSTM models. */
  SEQC_TOKENIZER_BYTES = 1,
  /** HuggingFace byte-level BPE from a tokenizer.json (GPT-2, GPT-NeoX,
   *  the Mamba checkpoints); encodes exactly as HF `tokenizers`. */
  SEQC_TOKENIZER_BPE = 2
} seqc_tokenizer_kind;

/** Flags of seqc_model_tokenize (bitwise or). */
typedef enum seqc_tokenize_flags {
  SEQC_TOKENIZE_DEFAULT = 0,
  /** Add the special tokens of the tokenizer's post-processor around the
   *  text (a BOS and/or EOS; HF's add_special_tokens=True). The GPT-NeoX
   *  tokenizer adds none. */
  SEQC_TOKENIZE_ADD_SPECIAL = 1,
  /** Treat special added tokens ("<|endoftext|>") in the text as plain
   *  text instead of matching them (HF's encode_special_tokens): for
   *  untrusted input. */
  SEQC_TOKENIZE_SPECIAL_AS_TEXT = 2
} seqc_tokenize_flags;

/** Flags of seqc_model_detokenize and seqc_model_token_bytes. */
typedef enum seqc_detokenize_flags {
  SEQC_DETOKENIZE_DEFAULT = 0,
  /** Leave special added tokens out (HF's skip_special_tokens=True). */
  SEQC_DETOKENIZE_SKIP_SPECIAL = 1
} seqc_detokenize_flags;

/** The model's seqc_tokenizer_kind; -1 for NULL. @since 0.2 */
SEQC_API int32_t seqc_model_tokenizer_kind(const seqc_model *m);

/**
 * Encode text as token ids with the model's tokenizer, two-call pattern.
 * Text is bytes: invalid UTF-8 is encoded byte by byte (each invalid byte
 * counts as one character that is neither letter, digit nor space).
 * @param text    len bytes, need not be NUL-terminated; may be NULL when
 *                len is 0 (empty text gives no ids, or only the special
 *                tokens of SEQC_TOKENIZE_ADD_SPECIAL).
 * @param flags   seqc_tokenize_flags.
 * @param ids     destination of cap ids; may be NULL when cap is 0.
 * @param n_ids   receives the number of ids; set on SEQC_OK and on
 *                SEQC_ERR_BUFFER_TOO_SMALL (then nothing is written to ids).
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NULL model or n_ids, text
 *         NULL with len > 0, unknown flags); SEQC_ERR_UNSUPPORTED (the
 *         model has no tokenizer); SEQC_ERR_BUFFER_TOO_SMALL;
 *         SEQC_ERR_OUT_OF_MEMORY.
 * @thread any  @since 0.2
 */
SEQC_API int seqc_model_tokenize(const seqc_model *m, const char *text,
                                 size_t len, uint32_t flags, int32_t *ids,
                                 size_t cap, size_t *n_ids);

/**
 * Decode token ids to the bytes of their text, two-call pattern. The bytes
 * are what HF's ByteLevel decoder gives before its lossy UTF-8 step: a
 * sequence cut in the middle of a character ends in an incomplete UTF-8
 * sequence, and tokens can decode to bytes that are not UTF-8 at all
 * (replace them with U+FFFD to get HF's text).
 * @param ids     n ids, each in [0, vocabulary); an id the tokenizer has no
 *                token for (padding rows of a larger embedding) gives no
 *                bytes, as in HF. May be NULL when n is 0.
 * @param flags   seqc_detokenize_flags.
 * @param buf     destination of cap bytes; may be NULL when cap is 0. A NUL
 *                is written after the bytes when cap leaves room for it.
 * @param len     receives the number of bytes, without a NUL; set on
 *                SEQC_OK and on SEQC_ERR_BUFFER_TOO_SMALL.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NULL, an id outside the
 *         vocabulary, unknown flags); SEQC_ERR_UNSUPPORTED (no tokenizer);
 *         SEQC_ERR_BUFFER_TOO_SMALL.
 * @thread any  @since 0.2
 */
SEQC_API int seqc_model_detokenize(const seqc_model *m, const int32_t *ids,
                                   size_t n, uint32_t flags, char *buf,
                                   size_t cap, size_t *len);

/**
 * The bytes of one token, for streaming generation: print each generated
 * token's bytes as it comes (they may end in the middle of a UTF-8
 * character; the terminal or the caller joins them). The concatenation of
 * the tokens' bytes equals seqc_model_detokenize of the sequence.
 * @param id      in [0, vocabulary).
 * @param flags   seqc_detokenize_flags (a skipped special token gives 0
 *                bytes).
 * @return as seqc_model_detokenize.
 * @thread any  @since 0.2
 */
SEQC_API int seqc_model_token_bytes(const seqc_model *m, int32_t id,
                                    uint32_t flags, char *buf, size_t cap,
                                    size_t *len);

/**
 * The id of a token given by its text: an added token's content
 * ("<|endoftext|>") or a vocabulary entry as the tokenizer.json spells it
 * (byte-level BPE spells a leading space as U+0120, "\u0120the"); for the
 * bytes tokenizer, a one-byte string.
 * @param token   len bytes.
 * @param id      receives the id.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_UNSUPPORTED (no
 *         tokenizer); SEQC_ERR_NOT_FOUND.
 * @thread any  @since 0.2
 */
SEQC_API int seqc_model_token_id(const seqc_model *m, const char *token,
                                 size_t len, int32_t *id);

/* ------------------------------------------------------------------------ */
/* Stream                                                                    */
/* ------------------------------------------------------------------------ */

/** One sequence's state: every stateful block's tensors, the position, the
 *  sampler settings and its random generator. */
typedef struct seqc_stream seqc_stream;

/**
 * Create a stream at position 0 with zero state, greedy sampling and seed 0.
 * The stream retains m.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_OUT_OF_MEMORY.
 * @thread any  @since 0.1
 */
SEQC_API int seqc_stream_create(seqc_model *m, seqc_stream **out);

/** Free a stream and release its model. NULL is a no-op.
 *  @thread the stream's  @since 0.1 */
SEQC_API void seqc_stream_destroy(seqc_stream *s);

/** The stream's model (borrowed); NULL for NULL. @since 0.1 */
SEQC_API seqc_model *seqc_stream_model(const seqc_stream *s);

/** Positions consumed since creation or the last reset; -1 for NULL.
 *  @since 0.1 */
SEQC_API int64_t seqc_stream_position(const seqc_stream *s);

/**
 * Return to the state of a new stream: zero state, position 0, and the
 * random generator re-seeded from the last seed set (sampling settings are
 * kept).
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_reset(seqc_stream *s);

/**
 * Advance by one position with a float frame.
 * @param in       input width floats.
 * @param in_len   must equal the input width.
 * @param out      caller-owned, output width floats; may be NULL when
 *                 out_len is 0 (state update only).
 * @param out_len  0, or at least the output width.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NULL, token model);
 *         SEQC_ERR_SHAPE (in_len); SEQC_ERR_BUFFER_TOO_SMALL (out_len);
 *         SEQC_ERR_BUSY. On failure the stream is unchanged.
 * @since 0.1
 */
SEQC_API int seqc_stream_step(seqc_stream *s, const float *in, size_t in_len,
                              float *out, size_t out_len);

/**
 * Advance by one position with a token id, as seqc_stream_step.
 * @return as seqc_stream_step; SEQC_ERR_INVALID_ARGUMENT also for a frame
 *         model or a token outside [0, vocabulary).
 * @since 0.1
 */
SEQC_API int seqc_stream_step_token(seqc_stream *s, int32_t token, float *out,
                                    size_t out_len);

/**
 * Advance by n_positions = in_len / input width frames in one call, with
 * each block's sequence algorithm (batched input projections). Outputs are
 * bit-for-bit those of n_positions single steps on the CPU backend.
 * @param in           n_positions x input width floats, row-major.
 * @param output_mode  a seqc_output_mode.
 * @param out          ALL: n_positions x output width floats; LAST: output
 *                     width floats; NONE: may be NULL.
 * Zero positions is a no-op with SEQC_OUTPUT_ALL and SEQC_OUTPUT_NONE and
 * SEQC_ERR_SHAPE with SEQC_OUTPUT_LAST (there is no last position).
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_SHAPE (in_len not a
 *         multiple of the input width); SEQC_ERR_BUFFER_TOO_SMALL;
 *         SEQC_ERR_BUSY. On failure the stream is unchanged.
 * @since 0.1
 */
SEQC_API int seqc_stream_forward(seqc_stream *s, const float *in,
                                 size_t in_len, int32_t output_mode,
                                 float *out, size_t out_len);

/**
 * Advance by n_tokens token ids in one call, as seqc_stream_forward.
 * A token outside the vocabulary fails the whole call with
 * SEQC_ERR_INVALID_ARGUMENT before any state changes.
 * @since 0.1
 */
SEQC_API int seqc_stream_forward_tokens(seqc_stream *s, const int32_t *tokens,
                                        size_t n_tokens, int32_t output_mode,
                                        float *out, size_t out_len);

/**
 * Step several streams of one model by one position each, in one batched
 * call. Each stream may be at its own position. Row i of in and out belongs
 * to streams[i]. Results are bit-for-bit those of stepping each stream
 * alone (CPU backend).
 * @param streams    n_streams distinct streams of the same model.
 * @param in         n_streams x input width floats.
 * @param out        n_streams x output width floats, or NULL with out_len 0.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NULL, repeated stream);
 *         SEQC_ERR_MISMATCH (streams of different models); SEQC_ERR_SHAPE;
 *         SEQC_ERR_BUFFER_TOO_SMALL; SEQC_ERR_BUSY. On failure no stream
 *         changes.
 * @since 0.1
 */
SEQC_API int seqc_stream_step_many(seqc_stream *const *streams,
                                   size_t n_streams, const float *in,
                                   size_t in_len, float *out, size_t out_len);

/** seqc_stream_step_many with one token id per stream. @since 0.1 */
SEQC_API int seqc_stream_step_many_tokens(seqc_stream *const *streams,
                                          size_t n_streams,
                                          const int32_t *tokens, float *out,
                                          size_t out_len);

/* ------------------------------------------------------------------------ */
/* Sampling and generation (models whose output is logits)                   */
/* ------------------------------------------------------------------------ */

/**
 * Set how the stream samples tokens.
 * @param temperature  0 for greedy (argmax, lowest id on ties); otherwise
 *                     > 0, the softmax temperature.
 * @param top_k        keep the k most likely tokens; 0 keeps all.
 * @param top_p        keep the smallest set of most likely tokens whose
 *                     probability reaches top_p, in (0, 1]; 1 keeps all.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NaN, negative, top_p outside
 *         (0, 1]); SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_set_sampling(seqc_stream *s, float temperature,
                                      int32_t top_k, float top_p);

/**
 * Seed the stream's random generator (xoshiro256**, seeded through
 * splitmix64). The generator's state is part of snapshots and forks.
 * @since 0.1
 */
SEQC_API int seqc_stream_set_seed(seqc_stream *s, uint64_t seed);

/**
 * Sample a token id from logits with the stream's settings and generator
 * (which advances); the stream's recurrent state does not change.
 * @param logits  n floats; n must equal the model's output width.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_SHAPE; SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_sample(seqc_stream *s, const float *logits, size_t n,
                                int32_t *out_token);

/**
 * Feed n_tokens >= 1 token ids (a prompt, or the token sampled last time)
 * and sample the next token from the output at the last position. A
 * generation loop is: generate(prompt) then generate(&tok, 1) repeatedly.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (not a token-to-logits model,
 *         n_tokens 0, token out of range); SEQC_ERR_BUSY. On failure the
 *         stream is unchanged.
 * @since 0.1
 */
SEQC_API int seqc_stream_generate(seqc_stream *s, const int32_t *tokens,
                                  size_t n_tokens, int32_t *out_token);

/**
 * Generation over many streams in one batched call: stream i is fed
 * tokens[i] (one token: a prompt is fed with seqc_stream_generate or
 * seqc_stream_forward_tokens first) and out_tokens[i] receives the next
 * token, sampled with stream i's own settings and generator. The result for
 * each stream is that of seqc_stream_generate(streams[i], &tokens[i], 1, ..)
 * on the same backend. On a CUDA runtime the logits stay on the device: only
 * the candidates sampling can pick (the top_k largest, one for greedy) come
 * back, unless a stream keeps more than 64 candidates (top_k 0 or > 64 with
 * temperature > 0), whose full logits then do.
 * @param streams     n_streams distinct streams of one token-to-logits model.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT (NULL, repeated stream, not a
 *         token-to-logits model, token out of range); SEQC_ERR_MISMATCH
 *         (streams of different models); SEQC_ERR_BUSY. On failure no
 *         stream changes and out_tokens is untouched.
 * @since 0.3
 */
SEQC_API int seqc_stream_generate_many(seqc_stream *const *streams,
                                       size_t n_streams,
                                       const int32_t *tokens,
                                       int32_t *out_tokens);

/* ------------------------------------------------------------------------ */
/* Snapshots, forks and state introspection                                  */
/* ------------------------------------------------------------------------ */

/**
 * Bytes a snapshot of this stream takes (docs/snapshot-format.md).
 * @since 0.1
 */
SEQC_API int seqc_stream_snapshot_size(const seqc_stream *s, size_t *out);

/**
 * Write a snapshot: magic, format version, model fingerprint, position,
 * sampler settings and generator, manifest of named state tensors, payload,
 * checksum. The blob is self-contained and little-endian; it restores into a
 * stream of the same model in any process (the model fingerprint decides).
 * @param buf      destination of cap bytes.
 * @param out_len  receives the bytes written (or needed, with
 *                 SEQC_ERR_BUFFER_TOO_SMALL); may be NULL.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_BUFFER_TOO_SMALL;
 *         SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_snapshot(seqc_stream *s, void *buf, size_t cap,
                                  size_t *out_len);

/**
 * Restore a snapshot into a stream of the same model. Everything is checked
 * before anything is written; a refused blob leaves the stream unchanged.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_FORMAT (bad magic,
 *         truncated, malformed manifest); SEQC_ERR_VERSION;
 *         SEQC_ERR_CHECKSUM; SEQC_ERR_MISMATCH (another model); SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_restore(seqc_stream *s, const void *data,
                                 size_t size);

/**
 * Create an independent copy of a stream (state, position, sampler settings
 * and generator); both then continue identically given the same inputs.
 * @since 0.1
 */
SEQC_API int seqc_stream_fork(seqc_stream *s, seqc_stream **out);

/**
 * Copy one named state tensor out of the stream.
 * @param nbytes  must equal seqc_model_state_nbytes of that tensor; buf may
 *                be NULL when that is 0 (a zero-size tensor, e.g. the conv
 *                state of a Mamba-2 mixer with d_conv 1; accepted since 0.2).
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_NOT_FOUND;
 *         SEQC_ERR_SHAPE (nbytes); SEQC_ERR_BUSY.
 * @since 0.1
 */
SEQC_API int seqc_stream_state_read(seqc_stream *s, const char *name,
                                    void *buf, size_t nbytes);

/**
 * Overwrite one named state tensor; the position does not change.
 * @return as seqc_stream_state_read.
 * @since 0.1
 */
SEQC_API int seqc_stream_state_write(seqc_stream *s, const char *name,
                                     const void *buf, size_t nbytes);

/* ------------------------------------------------------------------------ */
/* Registry                                                                  */
/* ------------------------------------------------------------------------ */

/** Number of registered plugins. @thread any  @since 0.1 */
SEQC_API size_t seqc_registry_count(void);

/** Full name of entry i ("recurrent/lstm"); NULL if out of range. Static
 *  storage. @since 0.1 */
SEQC_API const char *seqc_registry_name(size_t i);

/** seqc_plugin_kind of entry i; -1 if out of range. @since 0.1 */
SEQC_API int32_t seqc_registry_kind(size_t i);

/** Version of entry i's implementation; 0 if out of range. @since 0.1 */
SEQC_API uint32_t seqc_registry_version(size_t i);

/** One-line summary of entry i; NULL if out of range. @since 0.1 */
SEQC_API const char *seqc_registry_summary(size_t i);

/**
 * A plugin's descriptor as JSON (config schema, weights, state layout,
 * capabilities), two-call pattern as seqc_model_describe.
 * @return SEQC_OK; SEQC_ERR_INVALID_ARGUMENT; SEQC_ERR_NOT_FOUND;
 *         SEQC_ERR_BUFFER_TOO_SMALL.
 * @since 0.1
 */
SEQC_API int seqc_registry_describe(const char *name, char *buf, size_t cap,
                                    size_t *out_len);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SEQCORE_SEQCORE_H */
