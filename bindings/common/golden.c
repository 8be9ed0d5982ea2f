/*
 * golden: the C results every binding must reproduce bit for bit.
 *
 *   golden FRAME_MODEL TOKEN_MODEL OUT.bin
 *
 * Runs the scenario of bindings/common/README.md through the public C API and
 * writes its results, little-endian, back to back:
 *   1. float32[12 * 16]  forward over 12 frames of the frame model, all outputs
 *   2. float32[256]      logits after the prompt "In the beginning" (token model)
 *   3. int32[32]         greedy generation after that prompt
 *   4. int32[32]         sampled generation: temperature 0.8, top_k 40,
 *                        top_p 0.95, seed 1234, same prompt, fresh stream
 */
#include <seqcore/seqcore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != SEQC_OK) {                                                  \
      fprintf(stderr, "golden: %s failed: %s (%s)\n", #call,               \
              seqc_status_string(rc_), seqc_last_error());                 \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

enum { T = 12, D_IN = 8, D_OUT = 16, N_GEN = 32, VOCAB = 256 };

static void generate(seqc_model *m, int sampled, int32_t *tokens_out) {
  static const char prompt[] = "In the beginning";
  int32_t ids[sizeof prompt - 1];
  seqc_stream *s = NULL;
  size_t i;
  int32_t tok;
  for (i = 0; i < sizeof prompt - 1; i++) ids[i] = (unsigned char)prompt[i];
  CHECK(seqc_stream_create(m, &s));
  if (sampled) {
    CHECK(seqc_stream_set_sampling(s, 0.8f, 40, 0.95f));
    CHECK(seqc_stream_set_seed(s, 1234));
  }
  CHECK(seqc_stream_generate(s, ids, sizeof prompt - 1, &tok));
  tokens_out[0] = tok;
  for (i = 1; i < N_GEN; i++) {
    CHECK(seqc_stream_generate(s, &tok, 1, &tok));
    tokens_out[i] = tok;
  }
  seqc_stream_destroy(s);
}

int main(int argc, char **argv) {
  static float frames[T * D_IN], out[T * D_OUT], logits[VOCAB];
  static int32_t greedy[N_GEN], sampled[N_GEN];
  static const char prompt[] = "In the beginning";
  int32_t ids[sizeof prompt - 1];
  seqc_model *fm = NULL, *tm = NULL;
  seqc_stream *s = NULL;
  FILE *f;
  int t, j;
  size_t i;

  if (argc != 4) {
    fprintf(stderr, "usage: golden FRAME_MODEL TOKEN_MODEL OUT.bin\n");
    return 2;
  }
  /* Inputs are exact binary fractions, so every language builds the same bits. */
  for (t = 0; t < T; t++)
    for (j = 0; j < D_IN; j++)
      frames[t * D_IN + j] = (float)(((t * D_IN + j) % 17) - 8) / 8.0f;

  CHECK(seqc_model_load_file(NULL, argv[1], &fm));
  CHECK(seqc_stream_create(fm, &s));
  CHECK(seqc_stream_forward(s, frames, T * D_IN, SEQC_OUTPUT_ALL, out, T * D_OUT));
  seqc_stream_destroy(s);

  CHECK(seqc_model_load_file(NULL, argv[2], &tm));
  for (i = 0; i < sizeof prompt - 1; i++) ids[i] = (unsigned char)prompt[i];
  CHECK(seqc_stream_create(tm, &s));
  CHECK(seqc_stream_forward_tokens(s, ids, sizeof prompt - 1, SEQC_OUTPUT_LAST, logits, VOCAB));
  seqc_stream_destroy(s);
  generate(tm, 0, greedy);
  generate(tm, 1, sampled);

  f = fopen(argv[3], "wb");
  if (!f || fwrite(out, sizeof out, 1, f) != 1 || fwrite(logits, sizeof logits, 1, f) != 1 ||
      fwrite(greedy, sizeof greedy, 1, f) != 1 || fwrite(sampled, sizeof sampled, 1, f) != 1 ||
      fclose(f) != 0) {
    fprintf(stderr, "golden: cannot write %s\n", argv[3]);
    return 1;
  }
  seqc_model_unref(fm);
  seqc_model_unref(tm);
  return 0;
}
