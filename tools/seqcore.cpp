// seqcore: the command-line tool. Uses only the public C API.
//
//   seqcore list [--json]
//   seqcore info MODEL [--json]
//   seqcore run MODEL --in X.npy --out Y.npy [--chunk N]
//   seqcore generate MODEL --prompt TEXT [--tokens N] [--temperature T]
//                          [--top-k K] [--top-p P] [--seed S] [--skip-special] [--no-stop]
//   seqcore tokenize MODEL TEXT [--add-special] [--special-as-text] [--json]
//   seqcore detokenize MODEL ID... [--skip-special]
//   seqcore bench MODEL [--steps N] [--positions T] [--output all|last] [--batch B] [--generate] [--json]
//   seqcore convert SRC DST
//   seqcore version
// MODEL (and convert's SRC) is a .safetensors file or a HuggingFace model
// directory (docs/hf-import.md). Common option: --threads N (default: one per core).
#include <seqcore/seqcore.h>

#include <algorithm>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "npy.hpp"

namespace {

constexpr int kExitError = 1;
constexpr int kExitUsage = 2;

const char* kUsage =
    "usage: seqcore <command> [options]\n"
    "\n"
    "commands:\n"
    "  list [--json]                       plugins in the registry\n"
    "  info MODEL [--json]                 describe a model\n"
    "  run MODEL --in X.npy --out Y.npy [--chunk N]\n"
    "                                      run a sequence (float32 [T, d_in] frames or\n"
    "                                      int32 [T] tokens) and save float32 [T, d_out];\n"
    "                                      --chunk N feeds N positions per call (1 = steps)\n"
    "  generate MODEL --prompt TEXT [--tokens N] [--temperature T] [--top-k K]\n"
    "           [--top-p P] [--seed S] [--skip-special] [--no-stop]\n"
    "                                      stream text from a language model through its\n"
    "                                      tokenizer (bytes or BPE); a BPE model stops at a\n"
    "                                      special token (end of text) unless --no-stop\n"
    "  tokenize MODEL TEXT [--add-special] [--special-as-text] [--json]\n"
    "                                      print the token ids of TEXT\n"
    "  detokenize MODEL ID... [--skip-special]\n"
    "                                      print the text of token ids\n"
    "  bench MODEL [--steps N] [--positions T] [--output all|last] [--batch B] [--generate] [--json]\n"
    "                                      step latency, forward throughput, bandwidth floor;\n"
    "                                      --batch B: step_many over B streams as well\n"
    "  convert SRC DST                     write a model, a PyTorch state dict or a\n"
    "                                      HuggingFace Mamba directory as a native file\n"
    "  version                             print the library version\n"
    "\n"
    "MODEL: a .safetensors file, or a HuggingFace Mamba / Mamba-2 directory\n"
    "options for every command: --threads N (default: one per core)\n"
    "                                      --generate: steps sample a token (greedy) instead of\n"
    "                                      returning logits (generate / generate_many)\n"
    "info, run, generate and bench: --device cpu|cuda|cuda:N (default cpu),\n"
    "  --dtype f32|bf16|f16 (weight matrices; default f32)\n";

struct Usage : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A library failure: the message is seqc_last_error().
struct LibError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check(int rc, const char* what) {
  if (rc != SEQC_OK)
    throw LibError(std::string(what) + ": " + seqc_status_string(rc) + ": " + seqc_last_error());
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> opts;
  bool flag(const std::string& k) const { return opts.count(k) != 0; }
  std::string str(const std::string& k, const std::string& dflt = "") const {
    auto it = opts.find(k);
    return it == opts.end() ? dflt : it->second;
  }
  long long integer(const std::string& k, long long dflt) const {
    auto it = opts.find(k);
    if (it == opts.end()) return dflt;
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (it->second.empty() || *end) throw Usage("--" + k + " needs an integer, got '" + it->second + "'");
    return v;
  }
  double number(const std::string& k, double dflt) const {
    auto it = opts.find(k);
    if (it == opts.end()) return dflt;
    char* end = nullptr;
    const double v = std::strtod(it->second.c_str(), &end);
    if (it->second.empty() || *end) throw Usage("--" + k + " needs a number, got '" + it->second + "'");
    return v;
  }
};

Args parse(int argc, char** argv, const std::vector<std::string>& valued, const std::vector<std::string>& flags) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) == 0) {
      const std::string k(s.begin() + 2, s.end());
      if (std::find(flags.begin(), flags.end(), k) != flags.end()) {
        a.opts[k].assign(1, '1');  // not = "1": GCC 12 -Wrestrict false positive (PR 105329)
      } else if (std::find(valued.begin(), valued.end(), k) != valued.end()) {
        if (i + 1 >= argc) throw Usage("--" + k + " needs a value");
        a.opts[k] = argv[++i];
      } else {
        throw Usage("unknown option " + s);
      }
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

struct Handles {
  seqc_runtime* rt = nullptr;
  seqc_model* model = nullptr;
  std::vector<seqc_stream*> streams;
  ~Handles() {
    for (auto* s : streams) seqc_stream_destroy(s);
    seqc_model_unref(model);
    seqc_runtime_unref(rt);
  }
  seqc_stream* new_stream() {
    seqc_stream* s = nullptr;
    check(seqc_stream_create(model, &s), "creating a stream");
    streams.push_back(s);
    return s;
  }
};

// --device cpu (default), cuda or cuda:N.
void open_model(Handles& h, const Args& a, const std::string& path) {
  const std::string dev = a.str("device", "cpu");
  int32_t kind = SEQC_DEVICE_CPU, index = 0;
  if (dev == "cuda" || dev.rfind("cuda:", 0) == 0) {
    kind = SEQC_DEVICE_CUDA;
    if (dev.size() > 5) {
      char* end = nullptr;
      const long v = std::strtol(dev.c_str() + 5, &end, 10);
      if (*end || v < 0 || v > 1024) throw Usage("--device cuda:N needs a device number, got '" + dev + "'");
      index = int32_t(v);
    }
  } else if (dev != "cpu") {
    throw Usage("--device is cpu, cuda or cuda:N, got '" + dev + "'");
  }
  check(seqc_runtime_create(kind, index, int32_t(a.integer("threads", 0)), &h.rt), "creating the runtime");
  const std::string dt = a.str("dtype", "f32");
  int32_t wdt = SEQC_DTYPE_F32;
  if (dt == "bf16") wdt = SEQC_DTYPE_BF16;
  else if (dt == "f16") wdt = SEQC_DTYPE_F16;
  else if (dt != "f32") throw Usage("--dtype is f32, bf16 or f16, got '" + dt + "'");
  seqc_load_options* opts = nullptr;
  check(seqc_load_options_create(&opts), "creating load options");
  const int rc_dt = seqc_load_options_set_weight_dtype(opts, wdt);
  const int rc = rc_dt == SEQC_OK ? seqc_model_load_file_with(h.rt, path.c_str(), opts, &h.model) : rc_dt;
  seqc_load_options_destroy(opts);
  check(rc, ("loading " + path).c_str());
}

std::string describe(seqc_model* m) {
  size_t n = 0;
  seqc_model_describe(m, nullptr, 0, &n);
  std::string s(n, '\0');
  check(seqc_model_describe(m, s.data(), s.size(), &n), "describing the model");
  s.resize(n - 1);
  return s;
}

int cmd_list(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads"}, {"json"});
  const size_t n = seqc_registry_count();
  static const char* kinds[] = {"layer", "recurrent", "quantizer", "memory"};
  if (a.flag("json")) {
    std::printf("[");
    for (size_t i = 0; i < n; ++i) {
      size_t len = 0;
      seqc_registry_describe(seqc_registry_name(i), nullptr, 0, &len);
      std::string s(len, '\0');
      check(seqc_registry_describe(seqc_registry_name(i), s.data(), s.size(), &len), "describing a plugin");
      std::printf("%s%s", i ? ",\n" : "\n", s.c_str());
    }
    std::printf("\n]\n");
    return 0;
  }
  for (int k = 0; k < 4; ++k) {
    std::printf("%s:\n", kinds[k]);
    bool any = false;
    for (size_t i = 0; i < n; ++i) {
      if (seqc_registry_kind(i) != k) continue;
      any = true;
      std::printf("  %-20s v%-3u %s\n", seqc_registry_name(i), seqc_registry_version(i), seqc_registry_summary(i));
    }
    if (!any) std::printf("  (none in this release)\n");
  }
  return 0;
}

int cmd_info(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads", "device", "dtype"}, {"json"});
  if (a.positional.size() != 1) throw Usage("info needs one MODEL");
  Handles h;
  open_model(h, a, a.positional[0]);
  if (a.flag("json")) {
    std::printf("%s\n", describe(h.model).c_str());
    return 0;
  }
  seqc_model* m = h.model;
  const bool tokens = seqc_model_input_kind(m) == SEQC_INPUT_TOKENS;
  std::printf("model:   %s\n", a.positional[0].c_str());
  std::printf("input:   %s, %s %lld\n", tokens ? "tokens" : "frames", tokens ? "vocabulary" : "width",
              (long long)seqc_model_input_width(m));
  std::printf("output:  %s, width %lld\n", seqc_model_output_is_logits(m) ? "logits" : "features",
              (long long)seqc_model_output_width(m));
  std::printf("weights: %.2f MiB\n", double(seqc_model_weight_bytes(m)) / (1 << 20));
  std::printf("state:   %zu bytes per stream\n", seqc_model_state_bytes(m));
  std::printf("blocks:\n");
  for (size_t i = 0; i < seqc_model_block_count(m); ++i)
    std::printf("  %-12s %s\n", seqc_model_block_name(m, i), seqc_model_block_plugin(m, i));
  std::printf("state tensors:\n");
  for (size_t i = 0; i < seqc_model_state_count(m); ++i) {
    std::string shape;
    for (int32_t d = 0; d < seqc_model_state_ndim(m, i); ++d)
      shape += (d ? ", " : "") + std::to_string(seqc_model_state_dim(m, i, d));
    std::printf("  %-12s f32 [%s]\n", seqc_model_state_name(m, i), shape.c_str());
  }
  return 0;
}

int cmd_run(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads", "device", "dtype", "in", "out", "chunk"}, {});
  if (a.positional.size() != 1 || !a.flag("in") || !a.flag("out"))
    throw Usage("run needs MODEL --in X.npy --out Y.npy");
  const long long chunk = a.integer("chunk", 0);
  if (chunk < 0) throw Usage("--chunk must be >= 1 (or 0 for one call)");
  Handles h;
  open_model(h, a, a.positional[0]);
  seqc_model* m = h.model;
  const npy::Array x = npy::load(a.str("in"));
  const bool tokens = seqc_model_input_kind(m) == SEQC_INPUT_TOKENS;
  const int64_t din = seqc_model_input_width(m), dout = seqc_model_output_width(m);
  int64_t T;
  if (tokens) {
    if (x.is_float || x.shape.size() != 1)
      throw std::runtime_error(a.str("in") + ": this model takes an int32 [T] array of token ids");
    T = x.shape[0];
  } else {
    if (!x.is_float || x.shape.size() != 2 || x.shape[1] != din)
      throw std::runtime_error(a.str("in") + ": this model takes a float32 [T, " + std::to_string(din) + "] array");
    T = x.shape[0];
  }
  std::vector<float> y(size_t(T * dout));
  seqc_stream* s = h.new_stream();
  const int64_t step = chunk == 0 ? std::max<int64_t>(T, 1) : chunk;
  for (int64_t t = 0; t < T; t += step) {
    const int64_t n = std::min(step, T - t);
    float* out = y.data() + t * dout;
    if (chunk == 1) {
      if (tokens) check(seqc_stream_step_token(s, x.i[size_t(t)], out, size_t(dout)), "step");
      else check(seqc_stream_step(s, x.f.data() + t * din, size_t(din), out, size_t(dout)), "step");
    } else if (tokens) {
      check(seqc_stream_forward_tokens(s, x.i.data() + t, size_t(n), SEQC_OUTPUT_ALL, out, size_t(n * dout)),
            "forward");
    } else {
      check(seqc_stream_forward(s, x.f.data() + t * din, size_t(n * din), SEQC_OUTPUT_ALL, out, size_t(n * dout)),
            "forward");
    }
  }
  npy::save_f32(a.str("out"), {T, dout}, y.data());
  return 0;
}

// The model's tokenizer, or the identity over bytes for an older byte-level
// model (vocabulary 256) whose graph names none.
struct Text {
  seqc_model* m;
  bool bytes_fallback;
  explicit Text(seqc_model* model) : m(model) {
    const int32_t kind = seqc_model_tokenizer_kind(m);
    bytes_fallback = kind == SEQC_TOKENIZER_NONE && seqc_model_input_kind(m) == SEQC_INPUT_TOKENS &&
                     seqc_model_input_width(m) == 256;
    if (kind == SEQC_TOKENIZER_NONE && !bytes_fallback)
      throw std::runtime_error(
          "this model has no tokenizer (neither byte-level nor BPE): its graph names none");
  }
  std::vector<int32_t> tokenize(const std::string& text, uint32_t flags) const {
    if (bytes_fallback) {
      std::vector<int32_t> ids;
      for (unsigned char c : text) ids.push_back(c);
      return ids;
    }
    size_t n = 0;
    int rc = seqc_model_tokenize(m, text.data(), text.size(), flags, nullptr, 0, &n);
    if (rc != SEQC_OK && rc != SEQC_ERR_BUFFER_TOO_SMALL) check(rc, "tokenize");
    std::vector<int32_t> ids(n);
    check(seqc_model_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n), "tokenize");
    return ids;
  }
  std::string token_bytes(int32_t id, uint32_t flags) const {
    if (bytes_fallback) return std::string(1, char(id));
    char buf[256];
    size_t len = 0;
    const int rc = seqc_model_token_bytes(m, id, flags, buf, sizeof buf, &len);
    if (rc == SEQC_OK) return std::string(buf, len);
    if (rc != SEQC_ERR_BUFFER_TOO_SMALL) check(rc, "token bytes");
    std::string big(len, '\0');
    check(seqc_model_token_bytes(m, id, flags, big.data(), big.size(), &len), "token bytes");
    return big;
  }
  std::string detokenize(const std::vector<int32_t>& ids, uint32_t flags) const {
    std::string out;
    for (int32_t id : ids) out += token_bytes(id, flags);
    return out;
  }
};

// Writes bytes as they come but flushes only whole UTF-8 characters: an
// incomplete sequence at the end waits for the next token's bytes. Bytes are
// written unchanged (an invalid sequence is passed through, not replaced).
class Utf8Out {
 public:
  void write(const std::string& bytes) {
    pending_ += bytes;
    const size_t keep = incomplete_tail(pending_);
    const size_t n = pending_.size() - keep;
    if (n) {
      std::fwrite(pending_.data(), 1, n, stdout);
      std::fflush(stdout);
      pending_.erase(0, n);
    }
  }
  void finish() {
    std::fwrite(pending_.data(), 1, pending_.size(), stdout);
    pending_.clear();
  }

 private:
  // Bytes at the end that start a UTF-8 sequence not yet complete.
  static size_t incomplete_tail(const std::string& s) {
    for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
      const unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
      if ((c & 0xC0) == 0x80) continue;  // continuation byte: look further back
      const size_t need = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 1;
      return need > back ? back : 0;
    }
    return 0;
  }
  std::string pending_;
};

int cmd_generate(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads", "device", "dtype", "prompt", "tokens", "temperature", "top-k", "top-p", "seed"},
                       {"skip-special", "no-stop"});
  if (a.positional.size() != 1) throw Usage("generate needs one MODEL");
  const std::string prompt = a.str("prompt", "\n");
  if (prompt.empty()) throw Usage("--prompt must not be empty");
  const long long n = a.integer("tokens", 400);
  if (n < 0) throw Usage("--tokens must be >= 0");
  Handles h;
  open_model(h, a, a.positional[0]);
  seqc_model* m = h.model;
  if (seqc_model_input_kind(m) != SEQC_INPUT_TOKENS || !seqc_model_output_is_logits(m) ||
      (seqc_model_tokenizer_kind(m) == SEQC_TOKENIZER_NONE && seqc_model_input_width(m) != 256))
    throw std::runtime_error(
        "generate needs a language model with a tokenizer (token ids to logits; byte-level or BPE)");
  const Text text(m);
  seqc_stream* s = h.new_stream();
  check(seqc_stream_set_sampling(s, float(a.number("temperature", 0.8)), int32_t(a.integer("top-k", 0)),
                                 float(a.number("top-p", 1.0))),
        "sampling settings");
  check(seqc_stream_set_seed(s, uint64_t(a.integer("seed", 0))), "seed");
  // The prompt as HF would encode it for generation (with the post-processor's
  // BOS, if the tokenizer has one).
  const std::vector<int32_t> ids = text.tokenize(prompt, SEQC_TOKENIZE_ADD_SPECIAL);
  if (ids.empty()) throw std::runtime_error("the prompt encodes to no tokens");
  std::fwrite(prompt.data(), 1, prompt.size(), stdout);
  std::fflush(stdout);
  const uint32_t dflags = a.flag("skip-special") ? SEQC_DETOKENIZE_SKIP_SPECIAL : 0;
  const bool stop_at_special = !a.flag("no-stop") && !text.bytes_fallback &&
                               seqc_model_tokenizer_kind(m) == SEQC_TOKENIZER_BPE;
  Utf8Out out;
  int32_t next = 0;
  check(seqc_stream_generate(s, ids.data(), ids.size(), &next), "generate");
  for (long long i = 0; i < n; ++i) {
    // A special token (end of text) ends generation unless --no-stop.
    if (stop_at_special && text.token_bytes(next, SEQC_DETOKENIZE_SKIP_SPECIAL).empty() &&
        !text.token_bytes(next, 0).empty())
      break;
    out.write(text.token_bytes(next, dflags));
    if (i + 1 < n) check(seqc_stream_generate(s, &next, 1, &next), "generate");
  }
  out.finish();
  std::fputc('\n', stdout);
  return 0;
}

int cmd_tokenize(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads"}, {"add-special", "special-as-text", "json"});
  if (a.positional.size() != 2) throw Usage("tokenize needs MODEL and TEXT");
  Handles h;
  open_model(h, a, a.positional[0]);
  const Text text(h.model);
  uint32_t flags = 0;
  if (a.flag("add-special")) flags |= SEQC_TOKENIZE_ADD_SPECIAL;
  if (a.flag("special-as-text")) flags |= SEQC_TOKENIZE_SPECIAL_AS_TEXT;
  const std::vector<int32_t> ids = text.tokenize(a.positional[1], flags);
  std::string line = a.flag("json") ? "[" : "";
  for (size_t i = 0; i < ids.size(); ++i)
    line += (i ? (a.flag("json") ? ", " : " ") : "") + std::to_string(ids[i]);
  if (a.flag("json")) line += "]";
  std::printf("%s\n", line.c_str());
  return 0;
}

int cmd_detokenize(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads"}, {"skip-special"});
  if (a.positional.size() < 1) throw Usage("detokenize needs MODEL and token ids");
  Handles h;
  open_model(h, a, a.positional[0]);
  const Text text(h.model);
  std::vector<int32_t> ids;
  for (size_t i = 1; i < a.positional.size(); ++i) {
    char* end = nullptr;
    const long long v = std::strtoll(a.positional[i].c_str(), &end, 10);
    if (a.positional[i].empty() || *end || v < INT32_MIN || v > INT32_MAX)
      throw Usage("token ids must be integers, got '" + a.positional[i] + "'");
    ids.push_back(int32_t(v));
  }
  const int64_t vocab = seqc_model_input_width(h.model);
  for (int32_t id : ids)
    if (id < 0 || id >= vocab)
      throw std::runtime_error("token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                               std::to_string(vocab) + ")");
  const std::string bytes = text.detokenize(ids, a.flag("skip-special") ? SEQC_DETOKENIZE_SKIP_SPECIAL : 0);
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
  std::fputc('\n', stdout);
  return 0;
}

// Sum of n words with the widest vector loads the machine has (one clone per
// ISA, picked at load time): a scalar loop reads a fifth slower than the
// library's AVX-512 GEMV, which would make the floor too low.
__attribute__((target_clones("avx512f", "avx2", "default"))) uint64_t sum_words(const uint64_t* p, size_t n) {
  uint64_t acc[16] = {};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; ++k) acc[k] += p[i + size_t(k)];
  for (; i < n; ++i) acc[0] += p[i];
  uint64_t s = 0;
  for (uint64_t a : acc) s += a;
  return s;
}

// Read bandwidth of this machine: threads summing disjoint parts of a buffer
// far larger than the caches, in bytes per second. The threads start once and
// meet at a barrier before each pass; the best of `passes` passes is kept, so a
// pass disturbed by another process on a shared machine does not count.
double measure_read_bandwidth(int threads, int passes = 20) {
  const size_t bytes = size_t(1) << 30;
  const size_t words = bytes / 8;
  std::unique_ptr<uint64_t[]> buf(new uint64_t[words]);
  for (size_t i = 0; i < words; ++i) buf[i] = i;
  std::vector<uint64_t> sums(size_t(threads), 0);
  std::vector<double> seconds(size_t(passes), 0);
  std::barrier sync(threads);
  auto body = [&](int t) {
    const size_t lo = words * size_t(t) / size_t(threads), hi = words * size_t(t + 1) / size_t(threads);
    for (int pass = 0; pass < passes; ++pass) {
      sync.arrive_and_wait();
      const auto t0 = std::chrono::steady_clock::now();
      sums[size_t(t)] += sum_words(buf.get() + lo, hi - lo);
      sync.arrive_and_wait();
      if (t == 0)
        seconds[size_t(pass)] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(body, t);
  body(0);
  for (auto& th : pool) th.join();
  volatile uint64_t sink = 0;
  for (uint64_t v : sums) sink = sink + v;
  return double(bytes) / *std::min_element(seconds.begin(), seconds.end());
}

// The top-level "step_read_bytes" of a model's description: the weight bytes
// one batch-1 step reads (a lookup table counts one row).
double step_read_bytes(seqc_model* m) {
  const std::string d = describe(m);
  const std::string key = "\n  \"step_read_bytes\": ";
  const size_t at = d.find(key);
  if (at == std::string::npos) return double(seqc_model_weight_bytes(m));
  return std::strtod(d.c_str() + at + key.size(), nullptr);
}

int cmd_bench(int argc, char** argv) {
  const Args a =
      parse(argc, argv, {"threads", "device", "dtype", "steps", "positions", "repeats", "output", "batch"},
            {"json", "generate"});
  if (a.positional.size() != 1) throw Usage("bench needs one MODEL");
  const long long batch = a.integer("batch", 0);
  if (batch < 0 || batch > 65536) throw Usage("--batch is 0 (off) to 65536 streams");
  const long long steps = a.integer("steps", 2000), positions = a.integer("positions", 1024);
  const long long repeats = a.integer("repeats", 5);
  if (steps < 1 || positions < 1 || repeats < 1) throw Usage("--steps, --positions and --repeats must be >= 1");
  const std::string output = a.str("output", "all");
  if (output != "all" && output != "last") throw Usage("--output is all or last");
  const int out_mode = output == "all" ? SEQC_OUTPUT_ALL : SEQC_OUTPUT_LAST;
  Handles h;
  open_model(h, a, a.positional[0]);
  seqc_model* m = h.model;
  const bool tokens = seqc_model_input_kind(m) == SEQC_INPUT_TOKENS;
  const int64_t din = seqc_model_input_width(m), dout = seqc_model_output_width(m);
  const int threads = seqc_runtime_threads(h.rt);
  // --generate: steps feed a token and sample the next (greedy) instead of
  // returning the logits: seqc_stream_generate / seqc_stream_generate_many.
  const bool gen = a.flag("generate");
  if (gen && !(tokens && seqc_model_output_is_logits(m)))
    throw Usage("--generate needs a model from tokens to logits");

  std::vector<float> frames(static_cast<size_t>(positions * (tokens ? 1 : din)));
  std::vector<int32_t> ids(static_cast<size_t>(positions));
  uint64_t r = 88172645463325252ull;
  for (auto& f : frames) {
    r ^= r << 13, r ^= r >> 7, r ^= r << 17;
    f = float(int64_t(r % 2001) - 1000) / 1000.0f;
  }
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 7 + 3) % size_t(tokens ? din : 1));
  std::vector<float> out(static_cast<size_t>(positions * dout));

  // Step latency at batch 1.
  seqc_stream* s = h.new_stream();
  auto one_step = [&](int64_t t) {
    const int64_t k = t % positions;
    int32_t next = 0;
    if (gen) check(seqc_stream_generate(s, &ids[size_t(k)], 1, &next), "generate");
    else if (tokens) check(seqc_stream_step_token(s, ids[size_t(k)], out.data(), size_t(dout)), "step");
    else check(seqc_stream_step(s, frames.data() + k * din, size_t(din), out.data(), size_t(dout)), "step");
  };
  for (int64_t t = 0; t < std::min<long long>(200, steps); ++t) one_step(t);
  std::vector<double> lat(static_cast<size_t>(steps));
  for (int64_t t = 0; t < steps; ++t) {
    const auto t0 = std::chrono::steady_clock::now();
    one_step(t);
    lat[size_t(t)] = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  }
  std::sort(lat.begin(), lat.end());
  const double p50 = lat[lat.size() / 2], p10 = lat[lat.size() / 10], p90 = lat[lat.size() * 9 / 10];

  // step_many over `batch` streams: latency of one batched step and positions/s.
  double batch_p50 = 0;
  if (batch > 0) {
    std::vector<seqc_stream*> many;
    for (long long i = 0; i < batch; ++i) many.push_back(h.new_stream());
    std::vector<int32_t> bids(static_cast<size_t>(batch));
    std::vector<float> bframes(static_cast<size_t>(batch * (tokens ? 1 : din)));
    std::vector<float> bout(gen ? 0 : static_cast<size_t>(batch * dout));
    std::vector<int32_t> bnext(static_cast<size_t>(batch));
    const long long bsteps = std::max<long long>(20, steps / 4);
    std::vector<double> blat;
    for (long long t = 0; t < bsteps + 20; ++t) {
      for (long long i = 0; i < batch; ++i) {
        const size_t k = size_t((t + 13 * i) % positions);
        if (tokens) bids[size_t(i)] = ids[k];
        else std::copy_n(frames.data() + k * size_t(din), din, bframes.data() + i * din);
      }
      const auto t0 = std::chrono::steady_clock::now();
      if (gen)
        check(seqc_stream_generate_many(many.data(), size_t(batch), bids.data(), bnext.data()), "generate_many");
      else if (tokens)
        check(seqc_stream_step_many_tokens(many.data(), size_t(batch), bids.data(), bout.data(), bout.size()),
              "step_many");
      else
        check(seqc_stream_step_many(many.data(), size_t(batch), bframes.data(), bframes.size(), bout.data(),
                                    bout.size()),
              "step_many");
      if (t >= 20)
        blat.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(blat.begin(), blat.end());
    batch_p50 = blat[blat.size() / 2];
  }

  // forward() over `positions` positions, all outputs, best of repeats.
  double best_fwd = 1e30;
  for (long long rep = 0; rep < repeats; ++rep) {
    check(seqc_stream_reset(s), "reset");
    const auto t0 = std::chrono::steady_clock::now();
    if (tokens)
      check(seqc_stream_forward_tokens(s, ids.data(), size_t(positions), out_mode, out.data(), out.size()),
            "forward");
    else
      check(seqc_stream_forward(s, frames.data(), frames.size(), out_mode, out.data(), out.size()),
            "forward");
    best_fwd = std::min(best_fwd, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  const bool on_cpu = seqc_runtime_device(h.rt) == SEQC_DEVICE_CPU;
  // The floor of a CPU step: host read bandwidth. (GPU floors come from the
  // GPU bench scripts, which measure device bandwidth.)
  const double bw = on_cpu ? measure_read_bandwidth(threads) : 0.0;
  const double wbytes = double(seqc_model_weight_bytes(m)), sbytes = step_read_bytes(m);
  const double floor_us = on_cpu ? sbytes / bw * 1e6 : 0.0;
  if (a.flag("json")) {
    std::printf(
        "{\"threads\": %d, \"weight_bytes\": %.0f, \"step_read_bytes\": %.0f, \"bandwidth_gbs\": %.3f, "
        "\"floor_us\": %.3f, "
        "\"step_us_p50\": %.3f, \"step_us_p10\": %.3f, \"step_us_p90\": %.3f, \"forward_positions\": %lld, "
        "\"forward_s\": %.6f, \"forward_positions_per_s\": %.1f, \"batch\": %lld, \"batch_step_us_p50\": %.3f, "
        "\"batch_positions_per_s\": %.1f, \"generate\": %s}\n",
        threads, wbytes, sbytes, bw / 1e9, floor_us, p50, p10, p90, positions, best_fwd, double(positions) / best_fwd, batch, batch_p50,
        batch > 0 ? double(batch) / batch_p50 * 1e6 : 0.0, gen ? "true" : "false");
  } else {
    std::printf("threads                 %d\n", threads);
    std::printf("weights                 %.2f MiB (%.2f MiB read by a step)\n", wbytes / (1 << 20),
                sbytes / (1 << 20));
    if (on_cpu) std::printf("read bandwidth          %.1f GB/s (measured, %d threads)\n", bw / 1e9, threads);
    std::printf("%s, batch 1       %.2f us median (p10 %.2f, p90 %.2f)\n", gen ? "generate" : "step    ", p50, p10,
                p90);
    if (on_cpu)
      std::printf("bandwidth floor         %.2f us  (step's weight bytes / bandwidth; step = %.2fx floor)\n",
                  floor_us, p50 / floor_us);
    std::printf("forward, %lld positions  %.0f positions/s\n", positions, double(positions) / best_fwd);
    if (batch > 0)
      std::printf("%s, %lld streams  %.2f us median per batched step, %.0f positions/s\n",
                  gen ? "generate_many" : "step_many", batch, batch_p50,
                  double(batch) / batch_p50 * 1e6);
  }
  return 0;
}

int cmd_convert(int argc, char** argv) {
  const Args a = parse(argc, argv, {"threads"}, {});
  if (a.positional.size() != 2) throw Usage("convert needs SRC and DST");
  check(seqc_convert(a.positional[0].c_str(), a.positional[1].c_str()), "convert");
  std::printf("wrote %s\n", a.positional[1].c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "help")) {
    std::fputs(kUsage, argc < 2 ? stderr : stdout);
    return argc < 2 ? kExitUsage : 0;
  }
  const std::string cmd = argv[1];
  try {
    if (cmd == "list") return cmd_list(argc, argv);
    if (cmd == "info") return cmd_info(argc, argv);
    if (cmd == "run") return cmd_run(argc, argv);
    if (cmd == "generate") return cmd_generate(argc, argv);
    if (cmd == "tokenize") return cmd_tokenize(argc, argv);
    if (cmd == "detokenize") return cmd_detokenize(argc, argv);
    if (cmd == "bench") return cmd_bench(argc, argv);
    if (cmd == "convert") return cmd_convert(argc, argv);
    if (cmd == "version") {
      std::printf("libseqcore %s (ABI %u)\n", seqc_version_string(), seqc_abi_version());
      return 0;
    }
    throw Usage("unknown command '" + cmd + "'");
  } catch (const Usage& e) {
    std::fprintf(stderr, "seqcore: %s\n\n%s", e.what(), kUsage);
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "seqcore: error: %s\n", e.what());
    return kExitError;
  }
}
