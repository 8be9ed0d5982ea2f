#include "io/hf_import.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "core/status.hpp"
#include "io/json_util.hpp"
#include "io/tokenizer.hpp"

namespace seqc {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();

// Typed reads of config.json values with transformers' defaults. Every
// failure is Code::config naming the key.
class HfConfig {
 public:
  HfConfig(const json& j, std::string model_type) : j_(j), type_(std::move(model_type)) {}

  bool has(const char* key) const { return j_.contains(key); }

  int64_t integer(const char* key, int64_t dflt, int64_t lo = 1, int64_t hi = kMaxDim) const {
    if (!has(key)) return dflt;
    const json& v = j_[key];
    int64_t x = 0;
    if (v.is_number_integer()) {
      if (v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(hi)) bad_int(key, v.dump(), lo, hi);
      x = v.get<int64_t>();
    } else if (v.is_number_float()) {
      const double d = v.get<double>();
      if (!(d == std::floor(d) && d >= double(lo) && d <= double(hi))) bad_int(key, v.dump(), lo, hi);
      x = int64_t(d);
    } else {
      bad_int(key, v.dump(), lo, hi);
    }
    if (x < lo || x > hi) bad_int(key, v.dump(), lo, hi);
    return x;
  }

  // A finite number (or, with allow_inf, also the Python tokens Infinity and
  // -Infinity, which hf_json_text turned into strings).
  double number(const char* key, double dflt, bool allow_inf = false) const {
    return has(key) ? to_number(j_[key], key, allow_inf) : dflt;
  }

  // Non-finite values come as {"__float__": "Infinity"} (transformers 5.x
  // writes strict JSON so) or as Python's bare Infinity (hf_json_text).
  double to_number(const json& v, const std::string& key, bool allow_inf) const {
    if (v.is_number()) return v.get<double>();
    const json* text = &v;
    if (v.is_object() && v.size() == 1 && v.contains("__float__")) text = &v["__float__"];
    if (allow_inf && text->is_string()) {
      if (*text == "Infinity") return std::numeric_limits<double>::infinity();
      if (*text == "-Infinity") return -std::numeric_limits<double>::infinity();
    }
    fail(Code::config, where(), "'", key, "' must be a ", allow_inf ? "number" : "finite number", ", got ", v.dump());
  }

  bool boolean(const char* key, bool dflt) const {
    if (!has(key)) return dflt;
    if (!j_[key].is_boolean()) fail(Code::config, where(), "'", key, "' must be true or false, got ", j_[key].dump());
    return j_[key].get<bool>();
  }

  const json& raw(const char* key) const { return j_[key]; }
  std::string where() const { return "config.json (model_type '" + type_ + "'): "; }

 private:
  [[noreturn]] void bad_int(const char* key, const std::string& got, int64_t lo, int64_t hi) const {
    fail(Code::config, where(), "'", key, "' must be an integer in [", lo, ", ", hi, "], got ", got);
  }

  const json& j_;
  std::string type_;
};

// Python's int(expand * hidden_size), which transformers uses for the
// intermediate size: the double product truncated toward zero.
int64_t expanded_size(const HfConfig& c, int64_t hidden) {
  const double expand = c.number("expand", 2.0);
  const double prod = expand * double(hidden);
  if (!(prod >= 1 && prod <= double(kMaxDim)))
    fail(Code::config, c.where(), "'expand' (", expand, ") times 'hidden_size' (", hidden,
         ") must give an intermediate size in [1, ", kMaxDim, "]");
  return int64_t(std::trunc(prod));
}

void check_activation(const HfConfig& c) {
  if (!c.has("hidden_act")) return;
  const json& v = c.raw("hidden_act");
  if (!v.is_string() || (v != "silu" && v != "swish"))
    fail(Code::unsupported, c.where(), "'hidden_act' ", v.dump(),
         " is not supported: the Mamba mixers here apply SiLU (\"silu\" or \"swish\")");
}

json rmsnorm(const std::string& name, int64_t dim, double eps) {
  return {{"name", name}, {"plugin", "layer/rmsnorm"}, {"config", {{"dim", dim}, {"eps", eps}}}};
}

bool same_tensor(const StTensor& a, const StTensor& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.nbytes == b.nbytes &&
         (a.nbytes == 0 || std::memcmp(a.data, b.data, a.nbytes) == 0);
}

// A file name from the index: relative, inside the directory, no "." or ".."
// components, no backslashes or NULs.
void check_relative_name(const std::string& name) {
  if (name.empty() || name.size() > 1024)
    fail(Code::format, "model.safetensors.index.json: shard file name '", name,
         "' must be a relative path inside the model directory, 1 to 1024 bytes");
  if (name.front() == '/' || name.find('\\') != std::string::npos || name.find('\0') != std::string::npos)
    fail(Code::format, "model.safetensors.index.json: shard file name '", name,
         "' must be a relative path inside the model directory");
  size_t start = 0;
  while (start <= name.size()) {
    const size_t end = std::min(name.find('/', start), name.size());
    const std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..")
      fail(Code::format, "model.safetensors.index.json: shard file name '", name,
           "' must stay inside the model directory (no empty, '.' or '..' components)");
    start = end + 1;
  }
}

std::string read_text_file(const std::string& path, const char* what, size_t limit) {
  MappedFile f(path);
  if (f.size() > limit)
    fail(Code::format, what, " is ", f.size(), " bytes; the limit is ", limit);
  return std::string(reinterpret_cast<const char*>(f.data()), f.size());
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

std::string hf_json_text(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') {
      in_string = true;
      out += ch;
      continue;
    }
    bool replaced = false;
    for (std::string_view tok : {std::string_view("-Infinity"), std::string_view("Infinity"), std::string_view("NaN")}) {
      if (text.compare(i, tok.size(), tok) == 0) {
        out += '"';
        out += tok;
        out += '"';
        i += tok.size() - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += ch;
  }
  return out;
}

bool is_hf_model_path(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  if (fs::is_directory(p, ec)) return true;
  return p.filename() == "config.json" && fs::is_regular_file(p, ec);
}

GraphSource hf_graph_source(std::string_view config_text, const TensorSet& tensors,
                            const std::string& tokenizer_json) {
  const json cfg = parse_json(hf_json_text(config_text), "config.json");
  if (!cfg.is_object()) fail(Code::format, "config.json must be a JSON object");
  if (!cfg.contains("model_type")) {
    if (cfg.contains("d_model") || cfg.contains("ssm_cfg") || cfg.contains("n_layer"))
      fail(Code::unsupported,
           "config.json is a mamba_ssm (state-spaces) config, not a transformers one; load the '-hf' "
           "checkpoint or convert it with transformers first");
    fail(Code::config, "config.json has no 'model_type'");
  }
  if (!cfg["model_type"].is_string()) fail(Code::config, "config.json: 'model_type' must be a string");
  const std::string type = cfg["model_type"].get<std::string>();
  const bool mamba1 = type == "mamba" || type == "falcon_mamba";
  if (!mamba1 && type != "mamba2")
    fail(Code::unsupported, "config.json: model_type '", type,
         "' is not supported (HuggingFace directories of model_type mamba, falcon_mamba and mamba2 load)");
  const HfConfig c(cfg, type);
  check_activation(c);

  // transformers' defaults (5.x) for the keys a config may leave out.
  const int64_t vocab = c.integer("vocab_size", mamba1 ? 50280 : 32768);
  const int64_t hidden = c.integer("hidden_size", mamba1 ? 768 : 4096);
  const int64_t layers = c.integer("num_hidden_layers", mamba1 ? 32 : 64, 0, kMaxHfLayers);
  const double eps = c.number("layer_norm_epsilon", 1e-5);
  if (!(eps >= 0 && eps <= 1)) fail(Code::config, c.where(), "'layer_norm_epsilon' must be in [0, 1], got ", eps);
  const bool tie_flag = c.boolean("tie_word_embeddings", mamba1);
  // No effect here, but type-checked: the residual stream is f32 in any
  // case, and the rest only initialises a model for training.
  c.boolean("residual_in_fp32", true);
  c.boolean("rescale_prenorm_residual", false);
  for (const char* k : {"initializer_range", "time_step_min", "time_step_max", "time_step_floor", "time_step_scale"})
    c.number(k, 0.0);

  json mixer;  // the mixer config shared by every layer
  std::string mixer_plugin;
  if (mamba1) {
    const int64_t n = c.integer("state_size", 16);
    const int64_t inner = c.has("intermediate_size") ? c.integer("intermediate_size", 0) : expanded_size(c, hidden);
    const int64_t k = c.integer("conv_kernel", 4);
    int64_t rank = (hidden + 15) / 16;  // "auto": ceil(hidden_size / 16)
    if (c.has("time_step_rank") && !(c.raw("time_step_rank").is_string() && c.raw("time_step_rank") == "auto"))
      rank = c.integer("time_step_rank", rank);
    mixer_plugin = "recurrent/mamba";
    mixer = {{"d_model", hidden}, {"d_inner", inner}, {"d_state", n}, {"d_conv", k}, {"dt_rank", rank},
             {"conv_bias", c.boolean("use_conv_bias", true)}, {"bias", c.boolean("use_bias", false)}};
    if (type == "falcon_mamba") {
      const double reps = c.number("mixer_rms_eps", 1e-6);
      if (!(reps >= 0 && reps <= 1)) fail(Code::config, c.where(), "'mixer_rms_eps' must be in [0, 1], got ", reps);
      mixer["bcdt_rms"] = true;
      mixer["rms_eps"] = reps;
    }
  } else {
    const int64_t heads = c.integer("num_heads", 128);
    const int64_t head_dim = c.integer("head_dim", 64);
    const int64_t n = c.integer("state_size", 128);
    const int64_t groups = c.integer("n_groups", 8);
    const int64_t k = c.integer("conv_kernel", 4);
    const int64_t chunk = c.integer("chunk_size", 256);
    const int64_t inner = expanded_size(c, hidden);
    if (heads * head_dim != inner)
      fail(Code::config, c.where(), "'num_heads' (", heads, ") times 'head_dim' (", head_dim,
           ") must equal 'expand' times 'hidden_size' (", inner, ")");
    if (heads % groups != 0)
      fail(Code::config, c.where(), "'num_heads' (", heads, ") must be a multiple of 'n_groups' (", groups, ")");
    c.boolean("rms_norm", true);  // transformers applies the gated RMSNorm either way (docs/hf-import.md)
    if (c.boolean("norm_before_gate", false))
      fail(Code::unsupported, c.where(), "'norm_before_gate' true is not supported: transformers' Mamba-2 gates "
           "before its RMSNorm (norm_before_gate false)");
    mixer_plugin = "recurrent/mamba2";
    mixer = {{"d_model", hidden}, {"d_inner", inner}, {"d_state", n}, {"d_conv", k}, {"n_heads", heads},
             {"head_dim", head_dim}, {"n_groups", groups}, {"conv_bias", c.boolean("use_conv_bias", true)},
             {"bias", c.boolean("use_bias", false)}, {"norm_eps", eps}, {"chunk_size", chunk}};
    if (c.has("time_step_limit")) {
      const json& lim = c.raw("time_step_limit");
      if (!lim.is_array() || lim.size() != 2)
        fail(Code::config, c.where(), "'time_step_limit' must be a list [min, max], got ", lim.dump());
      const double lo = c.to_number(lim[0], "time_step_limit[0]", true);
      const double hi = c.to_number(lim[1], "time_step_limit[1]", true);
      if (!(lo < hi) || (std::isinf(lo) && lo > 0))
        fail(Code::config, c.where(), "'time_step_limit' must be [min, max] with min < max, got ", lim.dump());
      // dt = softplus(.) > 0, so a lower limit <= 0 clamps nothing, and an
      // infinite upper limit neither.
      if (lo > 0) mixer["dt_min"] = lo;
      if (std::isfinite(hi)) {
        if (hi <= 0)
          fail(Code::config, c.where(), "'time_step_limit' max must be positive, got ", lim.dump());
        mixer["dt_max"] = hi;
      }
    }
  }

  // Where the weights are: "backbone." for a *ForCausalLM checkpoint, no
  // prefix for a bare *Model; "embedding." is the mamba_ssm spelling that
  // transformers' Mamba-2 loader also accepts.
  std::string prefix, embed_prefix;
  for (const char* p : {"backbone.", ""}) {
    for (const char* e : {"embeddings.", "embedding."}) {
      if (embed_prefix.empty() && tensors.find(std::string(p) + e + "weight")) {
        prefix = p;
        embed_prefix = std::string(p) + e;
      }
    }
  }
  if (embed_prefix.empty())
    fail(Code::missing_tensor, "HuggingFace ", type, " checkpoint: no tensor 'backbone.embeddings.weight'");

  GraphSource src;
  src.source = "huggingface";
  src.tokenizer_json = tokenizer_json;
  json blocks = json::array();
  blocks.push_back({{"name", "embed"}, {"plugin", "layer/embedding"},
                    {"config", {{"num_embeddings", vocab}, {"embedding_dim", hidden}}}});
  src.prefixes["embed"] = embed_prefix;
  for (int64_t i = 0; i < layers; ++i) {
    const std::string li = "l" + std::to_string(i), hi = prefix + "layers." + std::to_string(i) + ".";
    blocks.push_back({{"residual", json::array({rmsnorm(li + "_norm", hidden, eps),
                                                {{"name", li + "_mixer"}, {"plugin", mixer_plugin}, {"config", mixer}}})}});
    src.prefixes[li + "_norm"] = hi + "norm.";
    src.prefixes[li + "_mixer"] = hi + "mixer.";
  }
  blocks.push_back(rmsnorm("norm_f", hidden, eps));
  src.prefixes["norm_f"] = prefix + "norm_f.";

  // The LM head: tied to the embedding where the checkpoint says so and
  // save_pretrained left lm_head.weight out (or wrote the same bytes).
  json head = {{"name", "lm_head"}, {"plugin", "layer/linear"},
               {"config", {{"in_features", hidden}, {"out_features", vocab}, {"bias", false}}}};
  src.prefixes["lm_head"] = "lm_head.";
  const StTensor* stored_head = tensors.find("lm_head.weight");
  const StTensor* embed = tensors.find(embed_prefix + "weight");
  bool tie = false;
  if (!stored_head) {
    if (!tie_flag)
      fail(Code::missing_tensor, "HuggingFace ", type, " checkpoint: no tensor 'lm_head.weight', and config.json "
           "has tie_word_embeddings false");
    tie = true;
  } else if (tie_flag) {
    if (same_tensor(*stored_head, *embed)) {
      tie = true;
      src.ignored.insert("lm_head.weight");  // a copy of the embedding: stored once
    } else if (mamba1) {
      fail(Code::config, c.where(), "'tie_word_embeddings' is true but the stored 'lm_head.weight' differs from '",
           embed_prefix, "weight'; set tie_word_embeddings to false to use the stored head");
    }
    // mamba2: transformers' Mamba2ForCausalLM ties no weights, so a stored
    // head is used as it is (docs/hf-import.md).
  }
  if (tie) head["tie"] = {{"weight", "embed.weight"}};
  blocks.push_back(head);

  json graph = {{"input", {{"kind", "tokens"}, {"vocab", vocab}}},
                {"blocks", blocks},
                {"output", {{"kind", "logits"}}}};
  if (!tokenizer_json.empty()) graph["tokenizer"] = {{"kind", "bpe"}};
  src.graph_json = graph.dump();
  src.meta_json = json({{"source", "huggingface"}, {"model_type", type}, {"hf_config", cfg}}).dump();
  return src;
}

HfModelDir::HfModelDir(const std::string& path) {
  std::error_code ec;
  const fs::path p(path);
  const fs::path dir = fs::is_directory(p, ec) ? p : (p.has_parent_path() ? p.parent_path() : fs::path("."));
  dir_ = dir.string();
  const fs::path config = dir / "config.json";
  if (!is_file(config))
    fail(Code::io, "'", dir_, "' has no config.json (a HuggingFace model directory holds config.json and "
         "model.safetensors)");
  const std::string config_text = read_text_file(config.string(), "config.json", kMaxHfConfigBytes);

  if (is_file(dir / "model.safetensors")) {
    open_single("model.safetensors");  // transformers prefers it over an index, as here
  } else if (is_file(dir / "model.safetensors.index.json")) {
    open_sharded("model.safetensors.index.json");
  } else if (is_file(dir / "pytorch_model.bin") || is_file(dir / "pytorch_model.bin.index.json")) {
    fail(Code::unsupported, "'", dir_, "' holds PyTorch pickle weights (pytorch_model.bin); only safetensors "
         "weights are read: re-save the model with save_pretrained(safe_serialization=True)");
  } else {
    fail(Code::io, "'", dir_, "' has no model.safetensors or model.safetensors.index.json");
  }

  // tokenizer.json: carried when the tokenizer implementation accepts it. A
  // valid tokenizer of a kind it does not cover (Code::unsupported) does not
  // keep the model from loading: it loads without one, and its meta says why.
  std::string tokenizer, skipped;
  if (is_file(dir / "tokenizer.json")) {
    tokenizer = read_text_file((dir / "tokenizer.json").string(), "tokenizer.json", kMaxTokenizerJsonBytes);
    try {
      Tokenizer::from_hf_json(tokenizer);
    } catch (const Error& e) {
      if (e.code() != Code::unsupported) throw Error(e.code(), std::string("tokenizer.json: ") + e.what());
      skipped = e.what();
      tokenizer.clear();
    }
  }
  source_ = hf_graph_source(config_text, tensors_, tokenizer);
  if (!skipped.empty()) {
    json meta = json::parse(source_.meta_json);
    meta["tokenizer_skipped"] = skipped;
    source_.meta_json = meta.dump();
  }
}

HfModelDir::~HfModelDir() = default;

void HfModelDir::open_single(const std::string& file) {
  files_.push_back(std::make_unique<MappedFile>((fs::path(dir_) / file).string()));
  try {
    parsed_.push_back(Safetensors::parse(files_.back()->data(), files_.back()->size()));
  } catch (const Error& e) {
    throw Error(e.code(), file + ": " + e.what());
  }
  tensors_.add(parsed_.back(), file);
}

void HfModelDir::open_sharded(const std::string& index_file) {
  const std::string text = read_text_file((fs::path(dir_) / index_file).string(), index_file.c_str(), kMaxHfIndexBytes);
  const json index = parse_json(text, index_file);
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
    fail(Code::format, index_file, ": needs an object 'weight_map' {tensor name: shard file}");
  const json& map = index["weight_map"];
  if (map.empty()) fail(Code::format, index_file, ": 'weight_map' is empty");
  std::map<std::string, std::string> where;        // tensor -> shard
  std::map<std::string, std::vector<std::string>> listed;  // shard -> tensors
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_string())
      fail(Code::format, index_file, ": the shard of tensor '", it.key(), "' must be a string");
    const std::string shard = it.value().get<std::string>();
    check_relative_name(shard);
    where[it.key()] = shard;
    listed[shard].push_back(it.key());
  }
  if (listed.size() > kMaxHfShards)
    fail(Code::format, index_file, ": ", listed.size(), " shard files; the limit is ", kMaxHfShards);
  for (const auto& [shard, names] : listed) {
    const fs::path sp = fs::path(dir_) / shard;
    if (!is_file(sp))
      fail(Code::io, index_file, " lists '", shard, "', which is not a file in '", dir_, "'");
    files_.push_back(std::make_unique<MappedFile>(sp.string()));
    try {
      parsed_.push_back(Safetensors::parse(files_.back()->data(), files_.back()->size()));
    } catch (const Error& e) {
      throw Error(e.code(), shard + ": " + e.what());
    }
    for (const StTensor& t : parsed_.back().tensors()) {
      auto w = where.find(t.name);
      if (w == where.end())
        fail(Code::format, "tensor '", t.name, "' is stored in '", shard, "' but not listed in ", index_file);
      if (w->second != shard)
        fail(Code::format, "tensor '", t.name, "' is stored in '", shard, "' but ", index_file, " puts it in '",
             w->second, "'");
    }
    tensors_.add(parsed_.back(), shard);
    for (const std::string& name : names)
      if (!tensors_.find(name))
        fail(Code::format, index_file, " puts tensor '", name, "' in '", shard, "', which does not hold it");
  }
}

}  // namespace seqc
