/*
 * seqcore_go_pre.i: Go overlay, included by seqcore.i before the declarations.
 *
 * The go tool runs SWIG on bindings/go/internal/cseqcore/cseqcore.swig (a
 * symlink to seqcore.i) and finds this file through the package's
 * "#cgo CPPFLAGS: -I${SRCDIR}/../../../swig". Everything SWIG generates for Go
 * is exported, so it lives in that internal package; the idiomatic package
 * (bindings/go/seqcore) is written by hand on top of it and is the only one
 * users import.
 *
 * What this overlay adds to the shared interface:
 *  - the structs keep their plain names inside the internal package;
 *  - no default constructor for Model (models only come from the load
 *    functions);
 *  - the array parameters become Go slices, handed to C without a copy (cgo
 *    keeps the memory in place for the duration of the call; an empty or nil
 *    slice arrives as (NULL, 0));
 *  - every failure recorded by the interface (seqc_swig_rc / seqc_swig_msg)
 *    becomes a Go panic inside the same C call, carrying the status code and
 *    the message; the Go side recovers it into an error (seqcore_go_post.i
 *    has the decoder, the seqcore package the recover).
 */

%rename(Runtime) SeqcRuntime;
%rename(Model) SeqcModel;
%rename(Stream) SeqcStream;
%rename(StreamBatch) SeqcStreamBatch;

%nodefaultctor SeqcModel;

/* ---- slices ---- */

%typemap(gotype) (const float *in, size_t in_len),
                 (float *out, size_t out_len),
                 (const float *logits, size_t n_logits) "[]float32"
%typemap(gotype) (const int32_t *tokens, size_t n_tokens),
                 (int32_t *ids, size_t ids_cap) "[]int32"
%typemap(gotype) (const uint8_t *data, size_t size),
                 (uint8_t *buf, size_t cap) "[]byte"

%typemap(in) (const float *in, size_t in_len),
             (float *out, size_t out_len),
             (const float *logits, size_t n_logits),
             (const int32_t *tokens, size_t n_tokens),
             (int32_t *ids, size_t ids_cap),
             (const uint8_t *data, size_t size),
             (uint8_t *buf, size_t cap)
%{
  $1 = ($1_ltype)$input.array;
  $2 = (size_t)$input.len;
%}

/*
 * String arguments (paths, state and plugin names): SWIG's default copies the
 * Go string into malloc'd memory freed at the end of the wrapper, which a
 * failure (a panic that abandons the C frames) would skip. Copy onto the C
 * stack instead, which the unwinding discards. A NUL byte inside the string
 * would silently cut it short in C, so it is refused.
 */
%typemap(in) const char * %{
  if ($input.n > 65536 || ($input.n > 0 && memchr($input.p, 0, (size_t)$input.n))) {
    _swig_gopanic($input.n > 65536 ? "seqc:-1:string argument longer than 64 KiB"
                                   : "seqc:-1:string argument contains a NUL byte");
  }
  $1 = ($1_ltype)alloca((size_t)$input.n + 1);
  if ($input.n > 0) memcpy((char *)$1, $input.p, (size_t)$input.n);
  ((char *)$1)[$input.n] = '\0';
%}
%typemap(freearg) const char * ""

%{
#include <alloca.h>
%}

/* ---- errors ---- */

/*
 * The panic text is "seqc:<status>:<message>". _swig_gopanic unwinds straight
 * back into Go (the C frames of the wrapper are abandoned), which is safe
 * here: on failure no wrapper holds memory that would need freeing (results
 * are NULL) and no C++ frame is involved.
 */
%exception {
  seqc_swig_rc = 0;
  $action
  if (seqc_swig_rc != 0) {
    char seqc_go_panic_text[1024]; /* the Go side reads at most 1024 bytes */
    snprintf(seqc_go_panic_text, sizeof seqc_go_panic_text, "seqc:%d:%s", seqc_swig_rc,
             seqc_swig_msg);
    _swig_gopanic(seqc_go_panic_text);
  }
}
