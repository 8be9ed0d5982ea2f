/*
 * stream.c: the core workflow of libseqcore, using only the public header.
 *
 *   load a model -> create a stream -> step a sequence -> snapshot ->
 *   restore into a second stream -> both continue identically.
 *
 * Usage: stream [MODEL]   (default: models/kjv-lstm.safetensors)
 * Works with any model: token models get the bytes of a sentence, frame
 * models get deterministic pseudo-random frames.
 */
#include <seqcore/seqcore.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(call)                                                        \
  do {                                                                     \
    int rc_ = (call);                                                      \
    if (rc_ != SEQC_OK) {                                                  \
      fprintf(stderr, "%s failed: %s: %s\n", #call, seqc_status_string(rc_), \
              seqc_last_error());                                          \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

/* Feed position t of the demo input to s, writing the output to out. */
static void feed(seqc_stream *s, seqc_model *m, int t, float *out, size_t out_len) {
  static const char text[] = "In the beginning God created the heaven and the earth. ";
  if (seqc_model_input_kind(m) == SEQC_INPUT_TOKENS) {
    int32_t token = (unsigned char)text[t % (int)(sizeof text - 1)];
    token %= (int32_t)seqc_model_input_width(m);
    CHECK(seqc_stream_step_token(s, token, out, out_len));
  } else {
    size_t width = (size_t)seqc_model_input_width(m);
    float *frame = malloc(width * sizeof *frame);
    unsigned x = 2463534242u + (unsigned)t;
    for (size_t i = 0; i < width; ++i) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      frame[i] = (float)(x % 2001u) / 1000.0f - 1.0f;
    }
    CHECK(seqc_stream_step(s, frame, width, out, out_len));
    free(frame);
  }
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "models/kjv-lstm.safetensors";
  seqc_model *model = NULL;
  seqc_stream *a = NULL, *b = NULL;

  /* NULL runtime: the process-wide CPU runtime. */
  CHECK(seqc_model_load_file(NULL, path, &model));
  printf("loaded %s: %zu blocks, %zu bytes of state per stream\n", path,
         seqc_model_block_count(model), seqc_model_state_bytes(model));

  size_t width = (size_t)seqc_model_output_width(model);
  float *out_a = malloc(width * sizeof *out_a);
  float *out_b = malloc(width * sizeof *out_b);

  /* Step the first 40 positions. */
  CHECK(seqc_stream_create(model, &a));
  for (int t = 0; t < 40; ++t) feed(a, model, t, out_a, width);

  /* Snapshot: size query, then save into our buffer. */
  size_t size = 0;
  CHECK(seqc_stream_snapshot_size(a, &size));
  void *blob = malloc(size);
  CHECK(seqc_stream_snapshot(a, blob, size, &size));
  printf("snapshot at position %lld: %zu bytes\n", (long long)seqc_stream_position(a), size);

  /* Restore into a second, fresh stream. */
  CHECK(seqc_stream_create(model, &b));
  CHECK(seqc_stream_restore(b, blob, size));

  /* Both continue with the same inputs and must agree bit for bit. */
  int same = 1;
  for (int t = 40; t < 80; ++t) {
    feed(a, model, t, out_a, width);
    feed(b, model, t, out_b, width);
    same = same && memcmp(out_a, out_b, width * sizeof *out_a) == 0;
  }
  printf("after 40 more positions the streams are %s\n", same ? "identical" : "DIFFERENT");

  free(blob);
  free(out_a);
  free(out_b);
  seqc_stream_destroy(a);
  seqc_stream_destroy(b);
  seqc_model_unref(model); /* streams were freed first here, but any order is fine */
  return same ? 0 : 1;
}
