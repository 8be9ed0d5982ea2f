/*
 * The C ABI from a C program: every function, the documented error paths,
 * and the "failed call changes nothing" rule. Builds its own tiny models in
 * memory, so it needs no files. Compiled as C11 and as C++ with
 * -Wall -Wextra -Werror.
 */
#include <seqcore/seqcore.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_passed, g_failed;

#define EXPECT(cond)                                                          \
  do {                                                                        \
    if (cond) {                                                               \
      ++g_passed;                                                             \
    } else {                                                                  \
      ++g_failed;                                                             \
      fprintf(stderr, "%s:%d: expected %s (last error: %s)\n", __FILE__,     \
              __LINE__, #cond, seqc_last_error());                            \
    }                                                                         \
  } while (0)

#define EXPECT_RC(call, rc) EXPECT((call) == (rc))

/* ---------------------------------------------------------------- models */

/* Allocation that cannot return NULL (the test stops instead). */
static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

static unsigned g_rng = 12345u;
static float frand(void) {
  g_rng = g_rng * 1664525u + 1013904223u;
  return (float)((g_rng >> 8) & 0xffff) / 65536.0f - 0.5f;
}

typedef struct {
  const char *name;
  int rows, cols; /* cols 0: a vector of rows */
} tensor_spec;

/* Writes a safetensors image: header JSON (with metadata), then f32 data of
 * each tensor in the listed (name-sorted) order. Caller frees. */
static unsigned char *make_model(const char *graph_json, const tensor_spec *specs, int n, size_t *out_size) {
  enum { kHeaderCap = 16384 };
  char *header = (char *)xmalloc(kHeaderCap);
  size_t hl = 0, offset = 0;
  char *escaped = (char *)xmalloc(8192);
  size_t e = 0;
  for (const char *p = graph_json; *p; ++p) {
    if (*p == '"') escaped[e++] = '\\';
    escaped[e++] = *p;
  }
  escaped[e] = 0;
  hl += (size_t)snprintf(header + hl, kHeaderCap - hl,
                        "{\"__metadata__\":{\"seqcore.format_version\":\"1\",\"seqcore.graph\":\"%s\"}", escaped);
  for (int i = 0; i < n; ++i) {
    size_t count = (size_t)specs[i].rows * (size_t)(specs[i].cols ? specs[i].cols : 1);
    if (specs[i].cols)
      hl += (size_t)snprintf(header + hl, kHeaderCap - hl, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                            specs[i].name, specs[i].rows, specs[i].cols, offset, offset + 4 * count);
    else
      hl += (size_t)snprintf(header + hl, kHeaderCap - hl, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                            specs[i].name, specs[i].rows, offset, offset + 4 * count);
    offset += 4 * count;
  }
  hl += (size_t)snprintf(header + hl, kHeaderCap - hl, "}");
  while (hl % 8) header[hl++] = ' ';
  size_t total = 8 + hl + offset;
  unsigned char *buf = (unsigned char *)xmalloc(total);
  unsigned long long len = hl;
  for (int b = 0; b < 8; ++b) buf[b] = (unsigned char)(len >> (8 * b));
  memcpy(buf + 8, header, hl);
  float *data = (float *)(void *)(buf + 8 + hl);
  for (size_t i = 0; i < offset / 4; ++i) {
    float v = frand();
    memcpy((unsigned char *)data + 4 * i, &v, 4);
  }
  free(header);
  free(escaped);
  *out_size = total;
  return buf;
}

/* embed(11 -> 4) -> lstm(4 -> 6, 2 layers) -> head(6 -> 11), logits */
static unsigned char *make_lm(size_t *size) {
  static const char graph[] =
      "{\"input\":{\"kind\":\"tokens\",\"vocab\":11},\"output\":{\"kind\":\"logits\"},\"blocks\":["
      "{\"name\":\"embed\",\"plugin\":\"layer/embedding\",\"config\":{\"num_embeddings\":11,\"embedding_dim\":4}},"
      "{\"name\":\"rnn\",\"plugin\":\"recurrent/lstm\",\"config\":{\"input_size\":4,\"hidden_size\":6,\"num_layers\":2}},"
      "{\"name\":\"head\",\"plugin\":\"layer/linear\",\"config\":{\"in_features\":6,\"out_features\":11}}]}";
  static const tensor_spec specs[] = {
      {"embed.weight", 11, 4},       {"head.bias", 11, 0},         {"head.weight", 11, 6},
      {"rnn.bias_hh_l0", 24, 0},     {"rnn.bias_hh_l1", 24, 0},    {"rnn.bias_ih_l0", 24, 0},
      {"rnn.bias_ih_l1", 24, 0},     {"rnn.weight_hh_l0", 24, 6},  {"rnn.weight_hh_l1", 24, 6},
      {"rnn.weight_ih_l0", 24, 4},   {"rnn.weight_ih_l1", 24, 6},
  };
  return make_model(graph, specs, (int)(sizeof specs / sizeof specs[0]), size);
}

/* frames(3) -> gru(3 -> 5) */
static unsigned char *make_gru(size_t *size) {
  static const char graph[] =
      "{\"input\":{\"kind\":\"frames\",\"width\":3},\"blocks\":["
      "{\"name\":\"g\",\"plugin\":\"recurrent/gru\",\"config\":{\"input_size\":3,\"hidden_size\":5}}]}";
  static const tensor_spec specs[] = {
      {"g.bias_hh_l0", 15, 0}, {"g.bias_ih_l0", 15, 0}, {"g.weight_hh_l0", 15, 5}, {"g.weight_ih_l0", 15, 3},
  };
  return make_model(graph, specs, 4, size);
}

/* ------------------------------------------------------------- tokenizer */

/* A growing string. */
typedef struct {
  char *p;
  size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = 2 * (b->n + n + 1);
    char *q = (char *)xmalloc(b->cap);
    if (b->n) memcpy(q, b->p, b->n);
    free(b->p);
    b->p = q;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }
/* s as the body of a JSON string. */
static void sb_json(sbuf *b, const char *s) {
  for (; *s; ++s) {
    if (*s == '"' || *s == '\\') sb_add(b, "\\", 1);
    sb_add(b, s, 1);
  }
}

/* GPT-2's byte -> character map: the code point standing for byte b. */
static unsigned byte_cp(int b) {
  int n = 0;
  for (int x = 0; x < 256; ++x) {
    int printable = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
    unsigned cp = printable ? (unsigned)x : 256u + (unsigned)n++;
    if (x == b) return cp;
  }
  return 0;
}

/* A byte-level BPE tokenizer.json: ids 0..255 the bytes, 256 "\u0120t"
 * (space t), 257 "he", 258 "\u0120the", 259 the special "<|endoftext|>",
 * which the post-processor appends after the text. `extra` is spliced in
 * as further top-level members (may be ""). */
static char *tiny_tokenizer(const char *normalizer, const char *extra) {
  sbuf b = {NULL, 0, 0};
  char tmp[64];
  sb_str(&b, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":259,\"content\":\"<|endoftext|>\",\"special\":true,"
             "\"normalized\":false}],\"normalizer\":");
  sb_str(&b, normalizer);
  sb_str(&b, ",\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
             "\"decoder\":{\"type\":\"ByteLevel\"},\"post_processor\":{\"type\":\"TemplateProcessing\","
             "\"single\":[{\"Sequence\":{\"id\":\"A\",\"type_id\":0}},{\"SpecialToken\":{\"id\":\"<|endoftext|>\","
             "\"type_id\":0}}],\"special_tokens\":{\"<|endoftext|>\":{\"id\":\"<|endoftext|>\",\"ids\":[259],"
             "\"tokens\":[\"<|endoftext|>\"]}}},\"model\":{\"type\":\"BPE\",\"vocab\":{");
  for (int i = 0; i < 256; ++i) {
    snprintf(tmp, sizeof tmp, "%s\"\\u%04x\":%d", i ? "," : "", byte_cp(i), i);
    sb_str(&b, tmp);
  }
  sb_str(&b, ",\"\\u0120t\":256,\"he\":257,\"\\u0120the\":258},\"merges\":[[\"\\u0120\",\"t\"],\"h e\","
             "[\"\\u0120t\",\"he\"]]}");
  sb_str(&b, extra);
  sb_str(&b, "}");
  return b.p;
}

/* embed(V -> 4) -> head(4 -> V), logits, with the graph's tokenizer of the
 * given kind and a tokenizer.json in the metadata (NULL: none). */
static unsigned char *make_text_lm(int vocab, const char *kind, const char *tokenizer_json, size_t *out_size) {
  sbuf h = {NULL, 0, 0};
  char tmp[512];
  size_t off = 0;
  const size_t n_embed = (size_t)vocab * 4, n_bias = (size_t)vocab, n_weight = (size_t)vocab * 4;
  sb_str(&h, "{\"__metadata__\":{\"seqcore.format_version\":\"1\",\"seqcore.graph\":\"");
  snprintf(tmp, sizeof tmp,
           "{\"input\":{\"kind\":\"tokens\",\"vocab\":%d},\"output\":{\"kind\":\"logits\"},\"tokenizer\":"
           "{\"kind\":\"%s\"},\"blocks\":[{\"name\":\"embed\",\"plugin\":\"layer/embedding\",\"config\":"
           "{\"num_embeddings\":%d,\"embedding_dim\":4}},{\"name\":\"head\",\"plugin\":\"layer/linear\","
           "\"config\":{\"in_features\":4,\"out_features\":%d}}]}",
           vocab, kind, vocab, vocab);
  sb_json(&h, tmp);
  sb_str(&h, "\"");
  if (tokenizer_json) {
    sb_str(&h, ",\"seqcore.tokenizer\":\"");
    sb_json(&h, tokenizer_json);
    sb_str(&h, "\"");
  }
  snprintf(tmp, sizeof tmp,
           "},\"embed.weight\":{\"dtype\":\"F32\",\"shape\":[%d,4],\"data_offsets\":[%zu,%zu]}", vocab, off,
           off + 4 * n_embed);
  off += 4 * n_embed;
  sb_str(&h, tmp);
  snprintf(tmp, sizeof tmp, ",\"head.bias\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", vocab,
           off, off + 4 * n_bias);
  off += 4 * n_bias;
  sb_str(&h, tmp);
  snprintf(tmp, sizeof tmp, ",\"head.weight\":{\"dtype\":\"F32\",\"shape\":[%d,4],\"data_offsets\":[%zu,%zu]}}",
           vocab, off, off + 4 * n_weight);
  off += 4 * n_weight;
  sb_str(&h, tmp);
  while (h.n % 8) sb_str(&h, " ");
  size_t total = 8 + h.n + off;
  unsigned char *buf = (unsigned char *)xmalloc(total);
  for (int k = 0; k < 8; ++k) buf[k] = (unsigned char)((unsigned long long)h.n >> (8 * k));
  memcpy(buf + 8, h.p, h.n);
  for (size_t i = 0; i < off / 4; ++i) {
    float v = frand();
    memcpy(buf + 8 + h.n + 4 * i, &v, 4);
  }
  free(h.p);
  *out_size = total;
  return buf;
}

static int same_ids(const int32_t *a, const int32_t *b, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void test_tokenizer(void) {
  size_t size, n = 0, len = 0;
  seqc_model *m = NULL, *gru = NULL, *none = (seqc_model *)(void *)&g_rng;
  char *tj = tiny_tokenizer("null", "");
  unsigned char *bytes = make_text_lm(262, "bpe", tj, &size); /* ids 260, 261: no token */
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &m), SEQC_OK);
  free(bytes);
  bytes = make_gru(&size);
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &gru), SEQC_OK);
  free(bytes);

  EXPECT(seqc_model_tokenizer_kind(m) == SEQC_TOKENIZER_BPE);
  EXPECT(seqc_model_tokenizer_kind(gru) == SEQC_TOKENIZER_NONE);
  EXPECT(seqc_model_tokenizer_kind(NULL) == -1);

  /* tokenize, two-call */
  int32_t ids[64], keep[4] = {-7, -7, -7, -7};
  const int32_t the[] = {258}, bare_the[] = {116, 257}, with_eos[] = {116, 257, 259};
  EXPECT_RC(seqc_model_tokenize(m, " the", 4, 0, NULL, 0, &n), SEQC_ERR_BUFFER_TOO_SMALL);
  EXPECT(n == 1);
  EXPECT_RC(seqc_model_tokenize(m, " the", 4, 0, ids, 64, &n), SEQC_OK);
  EXPECT(n == 1 && same_ids(ids, the, 1));
  EXPECT_RC(seqc_model_tokenize(m, "the", 3, 0, ids, 64, &n), SEQC_OK);
  EXPECT(n == 2 && same_ids(ids, bare_the, 2));
  EXPECT_RC(seqc_model_tokenize(m, "the", 3, SEQC_TOKENIZE_ADD_SPECIAL, keep, 2, &n), SEQC_ERR_BUFFER_TOO_SMALL);
  EXPECT(n == 3 && keep[0] == -7 && keep[1] == -7); /* nothing written */
  EXPECT_RC(seqc_model_tokenize(m, "the", 3, SEQC_TOKENIZE_ADD_SPECIAL, ids, 3, &n), SEQC_OK);
  EXPECT(n == 3 && same_ids(ids, with_eos, 3));
  EXPECT_RC(seqc_model_tokenize(m, "the<|endoftext|>", 16, 0, ids, 64, &n), SEQC_OK);
  EXPECT(n == 3 && same_ids(ids, with_eos, 3));
  EXPECT_RC(seqc_model_tokenize(m, "<|endoftext|>", 13, SEQC_TOKENIZE_SPECIAL_AS_TEXT, ids, 64, &n), SEQC_OK);
  EXPECT(n == 13 && ids[0] == '<' && ids[12] == '>');
  EXPECT_RC(seqc_model_tokenize(m, NULL, 0, 0, NULL, 0, &n), SEQC_OK);
  EXPECT(n == 0);
  EXPECT_RC(seqc_model_tokenize(m, NULL, 0, SEQC_TOKENIZE_ADD_SPECIAL, ids, 64, &n), SEQC_OK);
  EXPECT(n == 1 && ids[0] == 259);
  /* bytes are bytes: invalid UTF-8 and NUL encode byte by byte */
  {
    const char raw[] = "\xff\xfe\0 a\xc3";
    const int32_t want[] = {255, 254, 0, 32, 97, 0xc3};
    char back[16];
    EXPECT_RC(seqc_model_tokenize(m, raw, 6, 0, ids, 64, &n), SEQC_OK);
    EXPECT(n == 6 && same_ids(ids, want, 6));
    EXPECT_RC(seqc_model_detokenize(m, ids, n, 0, back, sizeof back, &len), SEQC_OK);
    EXPECT(len == 6 && memcmp(back, raw, 6) == 0 && back[6] == 0);
  }
  EXPECT_RC(seqc_model_tokenize(NULL, "a", 1, 0, ids, 64, &n), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_tokenize(m, "a", 1, 0, ids, 64, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_tokenize(m, NULL, 1, 0, ids, 64, &n), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_tokenize(m, "a", 1, 0, NULL, 4, &n), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_tokenize(m, "a", 1, 4, ids, 64, &n), SEQC_ERR_INVALID_ARGUMENT);
  n = 99;
  EXPECT_RC(seqc_model_tokenize(gru, "a", 1, 0, ids, 64, &n), SEQC_ERR_UNSUPPORTED);
  EXPECT(n == 99 && strstr(seqc_last_error(), "no tokenizer") != NULL);

  /* detokenize, two-call; the NUL only when there is room */
  {
    const int32_t seq[] = {258, 259, 260, 116};
    char buf[32];
    memset(buf, 'x', sizeof buf);
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 0, NULL, 0, &len), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT(len == 18);
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 0, buf, 10, &len), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT(len == 18 && buf[0] == 'x');
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 0, buf, 18, &len), SEQC_OK);
    EXPECT(len == 18 && memcmp(buf, " the<|endoftext|>t", 18) == 0 && buf[18] == 'x');
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 18 && buf[18] == 0);
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, SEQC_DETOKENIZE_SKIP_SPECIAL, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 5 && strcmp(buf, " thet") == 0);
    EXPECT_RC(seqc_model_detokenize(m, NULL, 0, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 0 && buf[0] == 0);
    const int32_t bad_hi[] = {116, 262}, bad_lo[] = {-1};
    len = 77;
    EXPECT_RC(seqc_model_detokenize(m, bad_hi, 2, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_detokenize(m, bad_lo, 1, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT(len == 77);
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 2, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_detokenize(m, seq, 4, 0, buf, sizeof buf, NULL), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_detokenize(m, NULL, 2, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_detokenize(gru, seq, 1, 0, buf, sizeof buf, &len), SEQC_ERR_UNSUPPORTED);
  }

  /* token bytes: one token, possibly part of a UTF-8 character */
  {
    char buf[8];
    EXPECT_RC(seqc_model_token_bytes(m, 258, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 4 && strcmp(buf, " the") == 0);
    EXPECT_RC(seqc_model_token_bytes(m, 0xc3, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 1 && (unsigned char)buf[0] == 0xc3);
    EXPECT_RC(seqc_model_token_bytes(m, 258, 0, buf, 2, &len), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT(len == 4);
    EXPECT_RC(seqc_model_token_bytes(m, 259, SEQC_DETOKENIZE_SKIP_SPECIAL, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 0 && buf[0] == 0);
    EXPECT_RC(seqc_model_token_bytes(m, 261, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 0);
    EXPECT_RC(seqc_model_token_bytes(m, 262, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_token_bytes(m, -3, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_token_bytes(NULL, 1, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
  }

  /* token ids by spelling */
  {
    int32_t id = -5;
    EXPECT_RC(seqc_model_token_id(m, "<|endoftext|>", 13, &id), SEQC_OK);
    EXPECT(id == 259);
    EXPECT_RC(seqc_model_token_id(m, "\xc4\xa0the", 5, &id), SEQC_OK);
    EXPECT(id == 258);
    id = -5;
    EXPECT_RC(seqc_model_token_id(m, "the", 3, &id), SEQC_ERR_NOT_FOUND);
    EXPECT(id == -5);
    EXPECT_RC(seqc_model_token_id(m, "a", 1, NULL), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_token_id(gru, "a", 1, &id), SEQC_ERR_UNSUPPORTED);
  }

  /* Loading refuses what does not fit. */
  {
    seqc_model *bad = none;
    bytes = make_text_lm(262, "bpe", NULL, &size); /* graph says bpe, no tokenizer.json */
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bad), SEQC_ERR_FORMAT);
    free(bytes);
    bytes = make_text_lm(259, "bpe", tj, &size); /* ids up to 259, vocabulary 259 */
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bad), SEQC_ERR_CONFIG);
    free(bytes);
    char *lower = tiny_tokenizer("{\"type\":\"Lowercase\"}", "");
    bytes = make_text_lm(262, "bpe", lower, &size);
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bad), SEQC_ERR_UNSUPPORTED);
    EXPECT(strstr(seqc_last_error(), "Lowercase") != NULL);
    free(bytes);
    free(lower);
    char *broken = tiny_tokenizer("null", ",\"model\":{}");
    bytes = make_text_lm(262, "bpe", broken, &size);
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bad), SEQC_ERR_FORMAT); /* duplicate key */
    free(bytes);
    free(broken);
    bytes = make_text_lm(256, "bytes", tj, &size); /* a tokenizer.json with kind bytes */
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bad), SEQC_ERR_FORMAT);
    free(bytes);
    EXPECT(bad == none);
  }

  /* The bytes tokenizer: token id = byte value, the same functions. */
  {
    seqc_model *bm = NULL;
    char buf[8];
    int32_t id = -1;
    const int32_t want[] = {0x68, 0xc3, 0xa9, 0};
    bytes = make_text_lm(256, "bytes", NULL, &size);
    EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &bm), SEQC_OK);
    free(bytes);
    EXPECT(seqc_model_tokenizer_kind(bm) == SEQC_TOKENIZER_BYTES);
    EXPECT_RC(seqc_model_tokenize(bm, "h\xc3\xa9\0", 4, SEQC_TOKENIZE_ADD_SPECIAL, ids, 64, &n), SEQC_OK);
    EXPECT(n == 4 && same_ids(ids, want, 4));
    EXPECT_RC(seqc_model_detokenize(bm, want, 3, SEQC_DETOKENIZE_SKIP_SPECIAL, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 3 && strcmp(buf, "h\xc3\xa9") == 0);
    EXPECT_RC(seqc_model_token_bytes(bm, 0xa9, 0, buf, sizeof buf, &len), SEQC_OK);
    EXPECT(len == 1 && (unsigned char)buf[0] == 0xa9);
    EXPECT_RC(seqc_model_token_bytes(bm, 256, 0, buf, sizeof buf, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_token_id(bm, "A", 1, &id), SEQC_OK);
    EXPECT(id == 65);
    EXPECT_RC(seqc_model_token_id(bm, "AB", 2, &id), SEQC_ERR_NOT_FOUND);
    seqc_model_unref(bm);
  }
  free(tj);
  seqc_model_unref(m);
  seqc_model_unref(gru);
}

/* ---------------------------------------------------------------- tests */

static void test_versions_and_status(void) {
  EXPECT(seqc_version() == SEQC_VERSION_NUMBER);
  EXPECT(strcmp(seqc_version_string(), SEQC_VERSION_STRING) == 0);
  EXPECT(seqc_abi_version() == SEQC_ABI_VERSION);
  EXPECT(strcmp(seqc_status_string(SEQC_OK), "ok") == 0);
  EXPECT(strcmp(seqc_status_string(SEQC_ERR_CHECKSUM), "checksum mismatch") == 0);
  EXPECT(strcmp(seqc_status_string(12345), "unknown status") == 0);
  EXPECT(strcmp(seqc_status_string(-9999), "unknown status") == 0);
  EXPECT(seqc_last_error() != NULL);
}

static void test_runtime(void) {
  seqc_runtime *rt = NULL;
  EXPECT_RC(seqc_runtime_create_cpu(2, &rt), SEQC_OK);
  EXPECT(rt != NULL);
  EXPECT(strcmp(seqc_last_error(), "") == 0);
  EXPECT(seqc_runtime_threads(rt) == 2);
  EXPECT(seqc_runtime_device(rt) == SEQC_DEVICE_CPU);
  EXPECT(seqc_runtime_ref(rt) == rt);
  seqc_runtime_unref(rt);
  seqc_runtime_unref(rt);
  seqc_runtime_unref(NULL);
  EXPECT(seqc_runtime_ref(NULL) == NULL);
  EXPECT(seqc_runtime_threads(NULL) == 0);
  EXPECT(seqc_runtime_device(NULL) == -1);

  seqc_runtime *keep = (seqc_runtime *)(void *)&g_rng; /* sentinel: must stay untouched */
  EXPECT_RC(seqc_runtime_create(7, 0, 1, &keep), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT(keep == (seqc_runtime *)(void *)&g_rng);
  EXPECT(strlen(seqc_last_error()) > 0);
  EXPECT_RC(seqc_runtime_create_cpu(1, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_runtime_create(SEQC_DEVICE_CPU, 3, 1, &keep), SEQC_ERR_NO_DEVICE);
  {
    int rc = seqc_runtime_create(SEQC_DEVICE_CUDA, 0, 1, &keep);
    /* No GPU here, or a build without CUDA, or CUDA kernels not yet in this release. */
    EXPECT(rc == SEQC_ERR_NO_DEVICE || rc == SEQC_ERR_UNSUPPORTED);
    EXPECT(keep == (seqc_runtime *)(void *)&g_rng);
  }
  EXPECT(seqc_has_cuda() == 0 || seqc_has_cuda() == 1);
  EXPECT(seqc_cuda_device_count() >= 0);
}

static void test_registry(void) {
  size_t n = seqc_registry_count();
  int found_lstm = 0, found_gru = 0;
  EXPECT(n >= 7);
  for (size_t i = 0; i < n; ++i) {
    const char *name = seqc_registry_name(i);
    EXPECT(name != NULL && seqc_registry_summary(i) != NULL);
    EXPECT(seqc_registry_kind(i) >= SEQC_PLUGIN_LAYER && seqc_registry_kind(i) <= SEQC_PLUGIN_MEMORY);
    EXPECT(seqc_registry_version(i) >= 1);
    if (strcmp(name, "recurrent/lstm") == 0) found_lstm = seqc_registry_kind(i) == SEQC_PLUGIN_RECURRENT;
    if (strcmp(name, "recurrent/gru") == 0) found_gru = 1;
  }
  EXPECT(found_lstm && found_gru);
  EXPECT(seqc_registry_name(n) == NULL);
  EXPECT(seqc_registry_kind(n) == -1);
  EXPECT(seqc_registry_version(n) == 0);
  EXPECT(seqc_registry_summary(n) == NULL);

  size_t len = 0;
  EXPECT_RC(seqc_registry_describe("recurrent/lstm", NULL, 0, &len), SEQC_ERR_BUFFER_TOO_SMALL);
  EXPECT(len > 10);
  char *buf = (char *)xmalloc(len);
  EXPECT_RC(seqc_registry_describe("recurrent/lstm", buf, len, &len), SEQC_OK);
  EXPECT(strstr(buf, "hidden_size") != NULL && buf[len - 1] == 0);
  free(buf);
  EXPECT_RC(seqc_registry_describe("recurrent/nope", NULL, 0, &len), SEQC_ERR_NOT_FOUND);
  EXPECT_RC(seqc_registry_describe(NULL, NULL, 0, &len), SEQC_ERR_INVALID_ARGUMENT);
}

static void test_model_loading(void) {
  size_t size;
  unsigned char *bytes = make_lm(&size);
  seqc_model *m = NULL, *keep = (seqc_model *)(void *)&g_rng;

  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &m), SEQC_OK);
  EXPECT(m != NULL);
  EXPECT(seqc_model_input_kind(m) == SEQC_INPUT_TOKENS);
  EXPECT(seqc_model_input_width(m) == 11);
  EXPECT(seqc_model_output_width(m) == 11);
  EXPECT(seqc_model_output_is_logits(m) == 1);
  EXPECT(seqc_model_block_count(m) == 3);
  EXPECT(strcmp(seqc_model_block_name(m, 1), "rnn") == 0);
  EXPECT(strcmp(seqc_model_block_plugin(m, 1), "recurrent/lstm") == 0);
  EXPECT(seqc_model_block_name(m, 3) == NULL && seqc_model_block_plugin(m, 3) == NULL);
  EXPECT(seqc_model_state_bytes(m) == 2 * 2 * 6 * sizeof(float));
  EXPECT(seqc_model_weight_bytes(m) > 0);
  EXPECT(seqc_model_state_count(m) == 2);
  EXPECT(strcmp(seqc_model_state_name(m, 0), "rnn.h") == 0);
  EXPECT(strcmp(seqc_model_state_name(m, 1), "rnn.c") == 0);
  EXPECT(seqc_model_state_dtype(m, 0) == SEQC_DTYPE_F32);
  EXPECT(seqc_model_state_ndim(m, 1) == 2);
  EXPECT(seqc_model_state_dim(m, 1, 0) == 2 && seqc_model_state_dim(m, 1, 1) == 6);
  EXPECT(seqc_model_state_dim(m, 1, 2) == -1 && seqc_model_state_dim(m, 1, -1) == -1);
  EXPECT(seqc_model_state_nbytes(m, 1) == 48);
  EXPECT(seqc_model_state_name(m, 2) == NULL && seqc_model_state_dtype(m, 2) == -1);
  EXPECT(seqc_model_state_ndim(m, 2) == -1 && seqc_model_state_nbytes(m, 2) == 0);

  {
    size_t len = 0;
    char small[4];
    EXPECT_RC(seqc_model_describe(m, small, sizeof small, &len), SEQC_ERR_BUFFER_TOO_SMALL);
    char *text = (char *)xmalloc(len);
    EXPECT_RC(seqc_model_describe(m, text, len, &len), SEQC_OK);
    EXPECT(strstr(text, "\"fingerprint\"") != NULL);
    free(text);
    EXPECT_RC(seqc_model_describe(NULL, NULL, 0, &len), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_model_describe(m, NULL, 0, NULL), SEQC_ERR_INVALID_ARGUMENT);
  }

  /* Getters on NULL. */
  EXPECT(seqc_model_input_kind(NULL) == -1 && seqc_model_input_width(NULL) == -1);
  EXPECT(seqc_model_output_width(NULL) == -1 && seqc_model_output_is_logits(NULL) == 0);
  EXPECT(seqc_model_block_count(NULL) == 0 && seqc_model_state_bytes(NULL) == 0);
  EXPECT(seqc_model_state_count(NULL) == 0 && seqc_model_weight_bytes(NULL) == 0);
  EXPECT(seqc_model_ref(NULL) == NULL);
  seqc_model_unref(NULL);

  /* Failures leave out untouched. */
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size - 1, &keep), SEQC_ERR_FORMAT);
  EXPECT(keep == (seqc_model *)(void *)&g_rng);
  EXPECT(strstr(seqc_last_error(), "safetensors") != NULL);
  EXPECT_RC(seqc_model_load_buffer(NULL, NULL, 10, &keep), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_load_file(NULL, "/nonexistent/model.safetensors", &keep), SEQC_ERR_IO);
  EXPECT_RC(seqc_model_load_file(NULL, NULL, &keep), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT(keep == (seqc_model *)(void *)&g_rng);

  /* The buffer is not needed after the load. */
  memset(bytes, 0, size);
  free(bytes);
  seqc_stream *s = NULL;
  EXPECT_RC(seqc_stream_create(m, &s), SEQC_OK);
  EXPECT_RC(seqc_stream_step_token(s, 3, NULL, 0), SEQC_OK);
  seqc_stream_destroy(s);
  seqc_model_unref(m);
}

static int same_floats(const float *a, const float *b, size_t n) { return memcmp(a, b, n * sizeof(float)) == 0; }

static void test_stream_lm(void) {
  size_t size;
  unsigned char *bytes = make_lm(&size);
  seqc_runtime *rt = NULL;
  seqc_model *m = NULL;
  EXPECT_RC(seqc_runtime_create_cpu(2, &rt), SEQC_OK);
  EXPECT_RC(seqc_model_load_buffer(rt, bytes, size, &m), SEQC_OK);
  free(bytes);
  seqc_runtime_unref(rt); /* the model keeps its runtime */

  enum { T = 9, V = 11 };
  const int32_t toks[T] = {1, 5, 2, 10, 0, 3, 3, 7, 4};
  float steps[T * V], all[T * V], last[V], out[V];
  seqc_stream *s = NULL, *f = NULL, *keep = (seqc_stream *)(void *)&g_rng;
  EXPECT_RC(seqc_stream_create(m, &s), SEQC_OK);
  EXPECT_RC(seqc_stream_create(NULL, &keep), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_stream_create(m, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT(seqc_stream_model(s) == m);
  EXPECT(seqc_stream_position(s) == 0);

  for (int t = 0; t < T; ++t) EXPECT_RC(seqc_stream_step_token(s, toks[t], steps + t * V, V), SEQC_OK);
  EXPECT(seqc_stream_position(s) == T);

  /* forward == steps, bit for bit; LAST and NONE agree. */
  EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
  EXPECT(seqc_stream_position(s) == 0);
  EXPECT_RC(seqc_stream_forward_tokens(s, toks, T, SEQC_OUTPUT_ALL, all, T * V), SEQC_OK);
  EXPECT(same_floats(steps, all, T * V));
  EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
  EXPECT_RC(seqc_stream_forward_tokens(s, toks, T - 1, SEQC_OUTPUT_NONE, NULL, 0), SEQC_OK);
  EXPECT_RC(seqc_stream_forward_tokens(s, toks + T - 1, 1, SEQC_OUTPUT_LAST, last, V), SEQC_OK);
  EXPECT(same_floats(steps + (T - 1) * V, last, V));
  EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
  EXPECT_RC(seqc_stream_forward_tokens(s, toks, T, SEQC_OUTPUT_LAST, last, V), SEQC_OK);
  EXPECT(same_floats(steps + (T - 1) * V, last, V));

  /* Refused calls change nothing. */
  {
    int64_t pos = seqc_stream_position(s);
    float frame[4] = {0, 0, 0, 0};
    float tiny[3];
    const int32_t bad[2] = {1, 11};
    EXPECT_RC(seqc_stream_step_token(s, 11, out, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_step_token(s, -1, out, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_step_token(s, 1, tiny, 3), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT_RC(seqc_stream_step_token(s, 1, NULL, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_step(s, frame, 4, out, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_forward_tokens(s, bad, 2, SEQC_OUTPUT_ALL, all, 2 * V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_forward_tokens(s, toks, 2, SEQC_OUTPUT_ALL, all, 2 * V - 1), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT_RC(seqc_stream_forward_tokens(s, toks, 2, 9, all, 2 * V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_forward_tokens(s, NULL, 2, SEQC_OUTPUT_NONE, NULL, 0), SEQC_ERR_INVALID_ARGUMENT);
    /* Zero positions: nothing to do for ALL and NONE, no last position for LAST. */
    EXPECT_RC(seqc_stream_forward_tokens(s, toks, 0, SEQC_OUTPUT_ALL, all, 0), SEQC_OK);
    EXPECT_RC(seqc_stream_forward_tokens(s, toks, 0, SEQC_OUTPUT_NONE, NULL, 0), SEQC_OK);
    EXPECT_RC(seqc_stream_forward_tokens(s, toks, 0, SEQC_OUTPUT_LAST, last, V), SEQC_ERR_SHAPE);
    EXPECT_RC(seqc_stream_forward(s, frame, 0, SEQC_OUTPUT_LAST, last, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_step_token(NULL, 1, out, V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT(seqc_stream_position(s) == pos);
    /* ... and the stream still continues exactly as before. */
    EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
    for (int t = 0; t < T; ++t) EXPECT_RC(seqc_stream_step_token(s, toks[t], out, V), SEQC_OK);
    EXPECT(same_floats(out, steps + (T - 1) * V, V));
  }

  /* Snapshot mid-way, restore elsewhere, continue identically. */
  EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
  for (int t = 0; t < 4; ++t) EXPECT_RC(seqc_stream_step_token(s, toks[t], out, V), SEQC_OK);
  {
    size_t need = 0, wrote = 0;
    EXPECT_RC(seqc_stream_snapshot_size(s, &need), SEQC_OK);
    unsigned char *blob = (unsigned char *)xmalloc(need);
    EXPECT_RC(seqc_stream_snapshot(s, blob, need - 1, &wrote), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT(wrote == need);
    EXPECT_RC(seqc_stream_snapshot(s, blob, need, &wrote), SEQC_OK);
    EXPECT(wrote == need);
    seqc_stream *r = NULL;
    EXPECT_RC(seqc_stream_create(m, &r), SEQC_OK);
    EXPECT_RC(seqc_stream_restore(r, blob, need), SEQC_OK);
    EXPECT(seqc_stream_position(r) == 4);
    for (int t = 4; t < T; ++t) EXPECT_RC(seqc_stream_step_token(r, toks[t], out, V), SEQC_OK);
    EXPECT(same_floats(out, steps + (T - 1) * V, V));
    /* A corrupted blob is refused and the stream stays as it was. */
    blob[need / 2] ^= 1;
    EXPECT_RC(seqc_stream_restore(r, blob, need), SEQC_ERR_CHECKSUM);
    EXPECT(seqc_stream_position(r) == T);
    EXPECT_RC(seqc_stream_restore(r, blob, 7), SEQC_ERR_FORMAT);
    EXPECT_RC(seqc_stream_restore(r, NULL, need), SEQC_ERR_INVALID_ARGUMENT);
    seqc_stream_destroy(r);
    free(blob);
  }

  /* Fork: both continue identically, and independently. */
  EXPECT_RC(seqc_stream_fork(s, &f), SEQC_OK);
  {
    float fo[V];
    for (int t = 4; t < T; ++t) {
      EXPECT_RC(seqc_stream_step_token(s, toks[t], out, V), SEQC_OK);
      EXPECT_RC(seqc_stream_step_token(f, toks[t], fo, V), SEQC_OK);
      EXPECT(same_floats(out, fo, V));
    }
    EXPECT_RC(seqc_stream_step_token(f, 2, fo, V), SEQC_OK);
    EXPECT(seqc_stream_position(f) == T + 1 && seqc_stream_position(s) == T);
  }
  EXPECT_RC(seqc_stream_fork(NULL, &f), SEQC_ERR_INVALID_ARGUMENT);

  /* State introspection: read, write, and refusals. */
  {
    float h[12], c[12], zeros[12] = {0};
    EXPECT_RC(seqc_stream_state_read(s, "rnn.h", h, sizeof h), SEQC_OK);
    EXPECT_RC(seqc_stream_state_read(s, "rnn.c", c, sizeof c), SEQC_OK);
    EXPECT(!same_floats(h, zeros, 12));
    EXPECT_RC(seqc_stream_state_read(s, "rnn.x", h, sizeof h), SEQC_ERR_NOT_FOUND);
    EXPECT_RC(seqc_stream_state_read(s, "rnn.h", h, sizeof h - 4), SEQC_ERR_SHAPE);
    EXPECT_RC(seqc_stream_state_write(f, "rnn.h", h, sizeof h), SEQC_OK);
    EXPECT_RC(seqc_stream_state_write(f, "rnn.c", c, sizeof c), SEQC_OK);
    /* f now holds s's state: the next outputs agree. */
    float fo[V];
    EXPECT_RC(seqc_stream_step_token(s, 6, out, V), SEQC_OK);
    EXPECT_RC(seqc_stream_step_token(f, 6, fo, V), SEQC_OK);
    EXPECT(same_floats(out, fo, V));
    EXPECT_RC(seqc_stream_state_write(f, NULL, h, sizeof h), SEQC_ERR_INVALID_ARGUMENT);
  }

  /* step_many: streams at different positions == each alone. */
  {
    seqc_stream *ss[3], *solo[3];
    float many[3 * V], one[V];
    const int32_t next[3] = {4, 9, 0};
    for (int i = 0; i < 3; ++i) {
      EXPECT_RC(seqc_stream_create(m, &ss[i]), SEQC_OK);
      EXPECT_RC(seqc_stream_create(m, &solo[i]), SEQC_OK);
      for (int t = 0; t < 2 * i + 1; ++t) {
        EXPECT_RC(seqc_stream_step_token(ss[i], toks[t], NULL, 0), SEQC_OK);
        EXPECT_RC(seqc_stream_step_token(solo[i], toks[t], NULL, 0), SEQC_OK);
      }
    }
    EXPECT_RC(seqc_stream_step_many_tokens(ss, 3, next, many, 3 * V), SEQC_OK);
    for (int i = 0; i < 3; ++i) {
      EXPECT_RC(seqc_stream_step_token(solo[i], next[i], one, V), SEQC_OK);
      EXPECT(same_floats(many + i * V, one, V));
      EXPECT(seqc_stream_position(ss[i]) == 2 * i + 2);
    }
    seqc_stream *dup[2] = {ss[0], ss[0]};
    EXPECT_RC(seqc_stream_step_many_tokens(dup, 2, next, many, 2 * V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT(seqc_stream_position(ss[0]) == 2);
    const int32_t bad[3] = {1, 2, 99};
    EXPECT_RC(seqc_stream_step_many_tokens(ss, 3, bad, many, 3 * V), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_step_many_tokens(ss, 3, next, many, 3 * V - 1), SEQC_ERR_BUFFER_TOO_SMALL);
    EXPECT_RC(seqc_stream_step_many_tokens(ss, 0, NULL, NULL, 0), SEQC_OK);
    EXPECT(seqc_stream_position(ss[1]) == 4);
    for (int i = 0; i < 3; ++i) {
      seqc_stream_destroy(ss[i]);
      seqc_stream_destroy(solo[i]);
    }
  }

  /* Sampling and generation: seeded, snapshot-able, validated. */
  {
    int32_t a1[20], a2[20], tok = 0;
    EXPECT_RC(seqc_stream_set_sampling(s, -1.0f, 0, 1.0f), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_set_sampling(s, NAN, 0, 1.0f), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_set_sampling(s, 1.0f, -2, 1.0f), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_set_sampling(s, 1.0f, 0, 0.0f), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_set_sampling(s, 1.0f, 0, 1.5f), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_set_sampling(s, 1.3f, 5, 0.9f), SEQC_OK);
    EXPECT_RC(seqc_stream_set_seed(s, 42), SEQC_OK);
    EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
    EXPECT_RC(seqc_stream_generate(s, toks, 3, &tok), SEQC_OK);
    for (int i = 0; i < 20; ++i) {
      a1[i] = tok;
      EXPECT_RC(seqc_stream_generate(s, &tok, 1, &tok), SEQC_OK);
    }
    EXPECT_RC(seqc_stream_reset(s), SEQC_OK); /* re-seeds with 42, keeps the sampling settings */
    EXPECT_RC(seqc_stream_generate(s, toks, 3, &tok), SEQC_OK);
    for (int i = 0; i < 20; ++i) {
      a2[i] = tok;
      EXPECT_RC(seqc_stream_generate(s, &tok, 1, &tok), SEQC_OK);
    }
    EXPECT(memcmp(a1, a2, sizeof a1) == 0);
    for (int i = 0; i < 20; ++i) EXPECT(a1[i] >= 0 && a1[i] < V);
    EXPECT_RC(seqc_stream_generate(s, toks, 0, &tok), SEQC_ERR_INVALID_ARGUMENT);
    EXPECT_RC(seqc_stream_generate(s, toks, 1, NULL), SEQC_ERR_INVALID_ARGUMENT);

    /* Greedy sample picks the largest logit, lowest id on ties. */
    float logits[V];
    for (int i = 0; i < V; ++i) logits[i] = 0.0f;
    logits[3] = 2.0f;
    logits[7] = 2.0f;
    EXPECT_RC(seqc_stream_set_sampling(s, 0.0f, 0, 1.0f), SEQC_OK);
    EXPECT_RC(seqc_stream_sample(s, logits, V, &tok), SEQC_OK);
    EXPECT(tok == 3);
    EXPECT_RC(seqc_stream_sample(s, logits, V - 1, &tok), SEQC_ERR_SHAPE);
    /* top_k = 1 with any temperature is greedy too. */
    EXPECT_RC(seqc_stream_set_sampling(s, 5.0f, 1, 1.0f), SEQC_OK);
    EXPECT_RC(seqc_stream_sample(s, logits, V, &tok), SEQC_OK);
    EXPECT(tok == 3);
  }

  seqc_stream_destroy(f);
  /* Dropping the model before its stream is fine: the stream retains it. */
  seqc_model_unref(m);
  EXPECT_RC(seqc_stream_step_token(s, 1, out, V), SEQC_OK);
  seqc_stream_destroy(s);
  seqc_stream_destroy(NULL);
}

static void test_frames_model(void) {
  size_t size;
  unsigned char *bytes = make_gru(&size);
  seqc_model *m = NULL, *lm = NULL;
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &m), SEQC_OK);
  free(bytes);
  bytes = make_lm(&size);
  EXPECT_RC(seqc_model_load_buffer(NULL, bytes, size, &lm), SEQC_OK);
  free(bytes);
  EXPECT(seqc_model_input_kind(m) == SEQC_INPUT_FRAMES && seqc_model_input_width(m) == 3);
  EXPECT(seqc_model_output_width(m) == 5 && seqc_model_output_is_logits(m) == 0);

  enum { T = 70 };
  float in[T * 3], steps[T * 5], all[T * 5];
  for (int i = 0; i < T * 3; ++i) in[i] = frand() * 4.0f;
  seqc_stream *s = NULL, *other = NULL;
  EXPECT_RC(seqc_stream_create(m, &s), SEQC_OK);
  EXPECT_RC(seqc_stream_create(lm, &other), SEQC_OK);
  for (int t = 0; t < T; ++t) EXPECT_RC(seqc_stream_step(s, in + 3 * t, 3, steps + 5 * t, 5), SEQC_OK);
  EXPECT_RC(seqc_stream_reset(s), SEQC_OK);
  /* Longer than one internal chunk of 64 positions. */
  EXPECT_RC(seqc_stream_forward(s, in, T * 3, SEQC_OUTPUT_ALL, all, T * 5), SEQC_OK);
  EXPECT(same_floats(steps, all, T * 5));
  EXPECT_RC(seqc_stream_forward(s, in, 4, SEQC_OUTPUT_ALL, all, T * 5), SEQC_ERR_SHAPE);
  EXPECT_RC(seqc_stream_step(s, in, 2, all, 5), SEQC_ERR_SHAPE);
  EXPECT_RC(seqc_stream_step_token(s, 0, all, 5), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_stream_generate(s, NULL, 1, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_stream_forward(s, in, 0, SEQC_OUTPUT_ALL, NULL, 0), SEQC_OK); /* zero positions */
  EXPECT(seqc_stream_position(s) == T);

  /* Streams of different models cannot share a step_many call. */
  seqc_stream *mixed[2] = {s, other};
  float two[10];
  EXPECT_RC(seqc_stream_step_many(mixed, 2, in, 6, two, 10), SEQC_ERR_MISMATCH);
  EXPECT(seqc_stream_position(s) == T);

  /* A snapshot of another model's stream is refused. */
  {
    size_t need = 0;
    EXPECT_RC(seqc_stream_snapshot_size(other, &need), SEQC_OK);
    void *blob = xmalloc(need);
    EXPECT_RC(seqc_stream_snapshot(other, blob, need, NULL), SEQC_OK);
    EXPECT_RC(seqc_stream_restore(s, blob, need), SEQC_ERR_MISMATCH);
    free(blob);
  }
  seqc_stream_destroy(s);
  seqc_stream_destroy(other);
  seqc_model_unref(m);
  seqc_model_unref(lm);
}

/* Load options (weight dtype) and batched generation. */
static void test_load_options_and_generate_many(void) {
  enum { V = 11, NS = 4, STEPS = 25 };
  size_t size;
  unsigned char *bytes = make_lm(&size);
  seqc_load_options *o = NULL;
  seqc_model *m32 = NULL, *m16 = NULL, *bad = NULL;

  EXPECT_RC(seqc_load_options_create(NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_load_options_create(&o), SEQC_OK);
  EXPECT_RC(seqc_load_options_set_weight_dtype(NULL, SEQC_DTYPE_BF16), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_load_options_set_weight_dtype(o, SEQC_DTYPE_I8), SEQC_ERR_DTYPE);
  EXPECT_RC(seqc_load_options_set_weight_dtype(o, 99), SEQC_ERR_DTYPE);
  EXPECT_RC(seqc_model_load_buffer_with(NULL, bytes, size, o, NULL), SEQC_ERR_INVALID_ARGUMENT);
  EXPECT_RC(seqc_model_load_buffer_with(NULL, bytes, size, NULL, &m32), SEQC_OK); /* NULL: defaults */
  EXPECT(seqc_model_weight_dtype(m32) == SEQC_DTYPE_F32);
  EXPECT(seqc_model_weight_dtype(NULL) == -1);
  EXPECT_RC(seqc_load_options_set_weight_dtype(o, SEQC_DTYPE_BF16), SEQC_OK);
  EXPECT_RC(seqc_model_load_buffer_with(NULL, bytes, size - 1, o, &bad), SEQC_ERR_FORMAT);
  EXPECT(bad == NULL);
  EXPECT_RC(seqc_model_load_buffer_with(NULL, bytes, size, o, &m16), SEQC_OK);
  seqc_load_options_destroy(o);
  seqc_load_options_destroy(NULL);
  EXPECT(seqc_model_weight_dtype(m16) == SEQC_DTYPE_BF16);
  {
    /* bf16 weights: close to f32, not equal; the fingerprint (of the stored
     * weights) is shared, so snapshots move between the two. */
    seqc_stream *a = NULL, *b = NULL;
    float la[V], lb[V];
    double diff = 0, mag = 0;
    size_t n = 0, got = 0;
    EXPECT_RC(seqc_stream_create(m32, &a), SEQC_OK);
    EXPECT_RC(seqc_stream_create(m16, &b), SEQC_OK);
    for (int t = 0; t < 5; ++t) {
      EXPECT_RC(seqc_stream_step_token(a, t % V, la, V), SEQC_OK);
      EXPECT_RC(seqc_stream_step_token(b, t % V, lb, V), SEQC_OK);
    }
    for (int i = 0; i < V; ++i) {
      diff = fmax(diff, fabs((double)la[i] - lb[i]));
      mag = fmax(mag, fabs((double)la[i]));
    }
    EXPECT(diff > 0 && diff < 0.02 * (mag + 1));
    EXPECT_RC(seqc_stream_snapshot_size(a, &n), SEQC_OK);
    {
      void *snap = malloc(n);
      EXPECT_RC(seqc_stream_snapshot(a, snap, n, &got), SEQC_OK);
      EXPECT_RC(seqc_stream_restore(b, snap, got), SEQC_OK);
      free(snap);
    }
    seqc_stream_destroy(a);
    seqc_stream_destroy(b);
  }

  /* generate_many equals generate per stream: greedy, top-k, top-p and full
   * sampling, each stream with its own seed. */
  {
    seqc_stream *many[NS], *solo[NS];
    const float temp[NS] = {0.0f, 0.8f, 1.2f, 1.0f};
    const int32_t topk[NS] = {0, 3, 0, 64};
    const float topp[NS] = {1.0f, 1.0f, 0.9f, 0.7f};
    int32_t tok_many[NS], tok_solo[NS], feed[NS];
    const int32_t prompt[3] = {1, 4, 9};
    int ok = 1;
    for (int i = 0; i < NS; ++i) {
      EXPECT_RC(seqc_stream_create(m32, &many[i]), SEQC_OK);
      EXPECT_RC(seqc_stream_set_sampling(many[i], temp[i], topk[i], topp[i]), SEQC_OK);
      EXPECT_RC(seqc_stream_set_seed(many[i], 100 + (uint64_t)i), SEQC_OK);
      EXPECT_RC(seqc_stream_reset(many[i]), SEQC_OK);
      EXPECT_RC(seqc_stream_generate(many[i], prompt, (size_t)(1 + i % 3), &feed[i]), SEQC_OK);
      EXPECT_RC(seqc_stream_fork(many[i], &solo[i]), SEQC_OK);
    }
    for (int t = 0; t < STEPS; ++t) {
      EXPECT_RC(seqc_stream_generate_many(many, NS, feed, tok_many), SEQC_OK);
      for (int i = 0; i < NS; ++i) {
        EXPECT_RC(seqc_stream_generate(solo[i], &feed[i], 1, &tok_solo[i]), SEQC_OK);
        if (tok_many[i] != tok_solo[i] || tok_many[i] < 0 || tok_many[i] >= V) ok = 0;
        feed[i] = tok_many[i];
      }
    }
    EXPECT(ok);
    EXPECT(seqc_stream_position(many[0]) == seqc_stream_position(solo[0]));

    /* Failures change nothing. */
    {
      int32_t out[NS] = {-7, -7, -7, -7};
      const int64_t pos = seqc_stream_position(many[1]);
      seqc_stream *rep[2] = {many[1], many[1]};
      int32_t bad_tok[NS] = {0, V, 0, 0};
      EXPECT_RC(seqc_stream_generate_many(rep, 2, feed, out), SEQC_ERR_INVALID_ARGUMENT);
      EXPECT_RC(seqc_stream_generate_many(many, NS, bad_tok, out), SEQC_ERR_INVALID_ARGUMENT);
      EXPECT_RC(seqc_stream_generate_many(many, NS, NULL, out), SEQC_ERR_INVALID_ARGUMENT);
      EXPECT_RC(seqc_stream_generate_many(many, NS, feed, NULL), SEQC_ERR_INVALID_ARGUMENT);
      EXPECT_RC(seqc_stream_generate_many(NULL, NS, feed, out), SEQC_ERR_INVALID_ARGUMENT);
      EXPECT_RC(seqc_stream_generate_many(many, 0, NULL, NULL), SEQC_OK);
      EXPECT(out[0] == -7 && out[3] == -7);
      EXPECT(seqc_stream_position(many[1]) == pos);
    }
    {
      /* Streams of two models, and a model that does not output logits. */
      seqc_stream *mixed[2] = {many[0], NULL};
      int32_t out[2];
      EXPECT_RC(seqc_stream_create(m16, &mixed[1]), SEQC_OK);
      EXPECT_RC(seqc_stream_generate_many(mixed, 2, feed, out), SEQC_ERR_MISMATCH);
      seqc_stream_destroy(mixed[1]);
    }
    for (int i = 0; i < NS; ++i) {
      seqc_stream_destroy(many[i]);
      seqc_stream_destroy(solo[i]);
    }
  }
  {
    size_t gsize;
    unsigned char *gbytes = make_gru(&gsize);
    seqc_model *g = NULL;
    seqc_stream *gs = NULL;
    int32_t in = 0, out = 0;
    EXPECT_RC(seqc_model_load_buffer(NULL, gbytes, gsize, &g), SEQC_OK);
    EXPECT_RC(seqc_stream_create(g, &gs), SEQC_OK);
    EXPECT_RC(seqc_stream_generate_many(&gs, 1, &in, &out), SEQC_ERR_INVALID_ARGUMENT);
    seqc_stream_destroy(gs);
    seqc_model_unref(g);
    free(gbytes);
  }
  seqc_model_unref(m32);
  seqc_model_unref(m16);
  free(bytes);
}

int main(void) {
  test_versions_and_status();
  test_runtime();
  test_registry();
  test_model_loading();
  test_stream_lm();
  test_frames_model();
  test_tokenizer();
  test_load_options_and_generate_many();
  printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed ? 1 : 0;
}
