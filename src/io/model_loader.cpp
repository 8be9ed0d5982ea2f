#include "io/model_loader.hpp"

#include <xxhash.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/registry.hpp"
#include "core/status.hpp"
#include "io/json_util.hpp"
#include "io/torch_import.hpp"

namespace seqc {

using nlohmann::json;

namespace {

constexpr int64_t kMaxDim = std::numeric_limits<int32_t>::max();
constexpr uint64_t kMaxTensorBytes = uint64_t(1) << 40;
constexpr uint64_t kMaxModelScratch = uint64_t(16) << 30;

// A string member, or "" when absent or not a string.
std::string str_field(const json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_string()) return {};
  return obj[key].get<std::string>();
}

bool valid_block_name(const std::string& n) {
  if (n.empty() || n.size() > 64) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

void check_spec_size(const TensorSpec& t, const std::string& where) {
  uint64_t n = 1;
  for (int64_t d : t.shape) {
    if (d < 0 || d > kMaxDim)
      fail(Code::config, where, ": tensor '", t.name, "' has an invalid dimension ", d);
    if (d != 0 && n > kMaxTensorBytes / uint64_t(d))
      fail(Code::config, where, ": tensor '", t.name, "' is larger than 2^40 bytes");
    n *= uint64_t(d);
  }
  if (n * dtype_size(t.dtype) > kMaxTensorBytes)
    fail(Code::config, where, ": tensor '", t.name, "' is larger than 2^40 bytes");
}

int64_t positive_size(const json& obj, const char* key, const char* where) {
  if (!obj.contains(key)) fail(Code::config, where, ": missing '", key, "'");
  const json& v = obj[key];
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (!(d == d && d == std::floor(d) && d >= 1 && d <= double(kMaxDim)))
      fail(Code::config, where, ": '", key, "' must be an integer in [1, ", kMaxDim, "], got ", d);
    return int64_t(d);
  }
  if (!v.is_number_integer())
    fail(Code::config, where, ": '", key, "' must be an integer");
  const bool neg = !v.is_number_unsigned() && v.get<int64_t>() < 1;
  if (neg || v.get<uint64_t>() > uint64_t(kMaxDim))
    fail(Code::config, where, ": '", key, "' must be an integer in [1, ", kMaxDim, "], got ", v.dump());
  return v.get<int64_t>();
}

// The f32 view of one block's weights, converting where the stored dtype or
// alignment needs it.
class FileWeights final : public WeightSource {
 public:
  FileWeights(const Safetensors& st, const std::string& prefix) : st_(st), prefix_(prefix) {}
  const float* get(std::string_view name) const override {
    const StTensor* t = st_.find(prefix_ + std::string(name));
    SEQC_CHECK(t, "weight '", name, "' was validated");
    if (t->dtype == DType::f32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0)
      return reinterpret_cast<const float*>(t->data);
    auto& buf = converted_.emplace_back(size_t(t->numel()));
    convert_to_f32(t->dtype, t->data, buf.data(), buf.size());
    return buf.data();
  }

 private:
  const Safetensors& st_;
  std::string prefix_;
  mutable std::vector<std::vector<float>> converted_;
};

struct Builder {
  const Safetensors& st;
  const GraphSource& src;
  Model& model;
  std::set<std::string> names;
  std::set<std::string> used_tensors;

  Graph::Node node(const json& j) {
    if (!j.is_object()) fail(Code::config, "graph: a block entry must be a JSON object");
    if (j.contains("residual")) {
      if (j.size() != 1) fail(Code::config, "graph: a residual group has only the key 'residual'");
      const json& seq = j["residual"];
      if (!seq.is_array()) fail(Code::config, "graph: 'residual' must be a list of blocks");
      Graph::Node n;
      for (const json& c : seq) n.children.push_back(node(c));
      if (n.children.empty()) fail(Code::config, "graph: empty residual group");
      return n;
    }
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "name" && it.key() != "plugin" && it.key() != "config")
        fail(Code::config, "graph: unknown key '", it.key(), "' in a block entry");
    if (!j.contains("name") || !j["name"].is_string())
      fail(Code::config, "graph: every block needs a string 'name'");
    const std::string name = j["name"].get<std::string>();
    if (!valid_block_name(name))
      fail(Code::config, "graph: block name '", name, "' must be 1-64 characters of [A-Za-z0-9_]");
    if (!names.insert(name).second) fail(Code::config, "graph: block name '", name, "' is used twice");
    if (!j.contains("plugin") || !j["plugin"].is_string())
      fail(Code::config, "block '", name, "': needs a string 'plugin'");
    const std::string plugin = j["plugin"].get<std::string>();
    const PluginDesc* desc = Registry::instance().find(plugin);
    if (!desc) fail(Code::unknown_plugin, "block '", name, "': unknown plugin '", plugin, "' (see `seqcore list`)");
    if (desc->kind == PluginKind::quantizer)
      fail(Code::config, "block '", name, "': '", plugin, "' is a quantizer, not a block");

    Graph::Entry e;
    e.name = name;
    e.plugin = desc;
    e.config = j.contains("config") ? config_from_json(j["config"], "block '" + name + "'") : Config();
    e.config.validate(desc->schema, "block '" + name + "' (" + plugin + ")");
    e.info = desc->info(e.config);
    for (const auto& t : e.info.weights) check_spec_size(t, "block '" + name + "'");
    for (const auto& t : e.info.state) check_spec_size(t, "block '" + name + "'");
    if (e.info.out_width < 1 || e.info.out_width > kMaxDim)
      fail(Code::config, "block '", name, "': invalid output width ", e.info.out_width);

    Graph::Node n;
    n.block = int(model.graph.blocks.size());
    model.graph.blocks.push_back(std::move(e));
    return n;
  }

  // Every weight present with a float dtype and the declared shape.
  void check_weights(const Graph::Entry& e) {
    auto pit = src.prefixes.find(e.name);
    const std::string prefix = pit != src.prefixes.end() ? pit->second : e.name + ".";
    for (const TensorSpec& w : e.info.weights) {
      const std::string full = prefix + w.name;
      const StTensor* t = st.find(full);
      if (!t) fail(Code::missing_tensor, "block '", e.name, "' (", e.plugin->name, ") needs tensor '", full, "'");
      if (!(t->dtype == DType::f32 || t->dtype == DType::f16 || t->dtype == DType::bf16))
        fail(Code::dtype, "tensor '", full, "' is ", dtype_name(t->dtype), "; weights must be F32, F16 or BF16");
      if (t->shape != w.shape) {
        std::string want = "[", got = "[";
        for (size_t i = 0; i < w.shape.size(); ++i) want += (i ? ", " : "") + std::to_string(w.shape[i]);
        for (size_t i = 0; i < t->shape.size(); ++i) got += (i ? ", " : "") + std::to_string(t->shape[i]);
        fail(Code::shape, "tensor '", full, "' has shape ", got, "] but block '", e.name, "' needs ", want, "]");
      }
      used_tensors.insert(full);
    }
  }
};

void hash_tensor(XXH3_state_t* h, const StTensor& t) {
  XXH3_128bits_update(h, t.name.data(), t.name.size() + 1);
  const char* dn = dtype_safetensors_name(t.dtype);
  XXH3_128bits_update(h, dn, std::strlen(dn) + 1);
  const uint64_t rank = t.shape.size();
  XXH3_128bits_update(h, &rank, sizeof rank);
  XXH3_128bits_update(h, t.shape.data(), t.shape.size() * sizeof(int64_t));
  XXH3_128bits_update(h, t.data, t.nbytes);
}

Ref<Model> build(Ref<Runtime> rt, const Safetensors& st, const GraphSource& src) {
  Ref<Model> model = Ref<Model>::adopt(new Model);
  Model& m = *model;
  m.runtime = std::move(rt);
  m.source = src.source;
  m.meta_json = src.meta_json;

  const json g = parse_json(src.graph_json, "seqcore.graph");
  if (!g.is_object()) fail(Code::config, "graph: must be a JSON object");
  for (auto it = g.begin(); it != g.end(); ++it)
    if (it.key() != "input" && it.key() != "blocks" && it.key() != "output" && it.key() != "tokenizer")
      fail(Code::config, "graph: unknown key '", it.key(), "'");
  if (!g.contains("input") || !g["input"].is_object()) fail(Code::config, "graph: needs an 'input' object");
  const json& in = g["input"];
  const std::string kind = str_field(in, "kind");
  if (kind == "tokens") {
    m.input_kind = InputKind::tokens;
    m.input_width = positive_size(in, "vocab", "graph input");
  } else if (kind == "frames") {
    m.input_kind = InputKind::frames;
    m.input_width = positive_size(in, "width", "graph input");
  } else {
    fail(Code::config, "graph: input kind must be 'tokens' or 'frames'");
  }
  if (g.contains("output")) {
    const json& out = g["output"];
    const std::string ok = str_field(out, "kind");
    if (ok != "logits" && ok != "features")
      fail(Code::config, "graph: output kind must be 'logits' or 'features'");
    m.output_logits = ok == "logits";
  }
  if (g.contains("tokenizer")) {
    const json& tk = g["tokenizer"];
    const std::string tkind = str_field(tk, "kind");
    if (tkind != "bytes") fail(Code::config, "graph: tokenizer kind must be 'bytes'");
    if (m.input_kind != InputKind::tokens || m.input_width != 256)
      fail(Code::config, "graph: the bytes tokenizer needs token input with a vocabulary of 256");
    m.tokenizer = tkind;
  }
  if (!g.contains("blocks") || !g["blocks"].is_array() || g["blocks"].empty())
    fail(Code::config, "graph: needs a non-empty 'blocks' list");

  Builder b{st, src, m, {}, {}};
  for (const json& j : g["blocks"]) m.graph.nodes.push_back(b.node(j));
  m.graph.plan(m.input_kind == InputKind::tokens, m.input_width, Model::kMaxRows);
  const bool on_cpu = m.runtime->device() == DeviceKind::cpu;
  for (const auto& e : m.graph.blocks)
    if (!(on_cpu ? e.plugin->create_cpu : e.plugin->create_cuda))
      fail(Code::unsupported, "block '", e.name, "': ", e.plugin->name, " has no ",
           on_cpu ? "CPU" : "CUDA", " implementation");
  if (m.output_logits && (m.input_kind != InputKind::tokens || m.graph.output_width() != m.input_width))
    fail(Code::config, "output kind 'logits' needs token input and an output width equal to the vocabulary (",
         m.input_width, "), got width ", m.graph.output_width());
  for (const auto& e : m.graph.blocks) b.check_weights(e);
  for (const auto& t : st.tensors())
    if (!b.used_tensors.count(t.name))
      fail(Code::format, "tensor '", t.name, "' is not used by any block (a misnamed weight?)");

  for (auto& e : m.graph.blocks) {
    auto pit = src.prefixes.find(e.name);
    FileWeights w(st, pit != src.prefixes.end() ? pit->second : e.name + ".");
    e.block = (on_cpu ? e.plugin->create_cpu : e.plugin->create_cuda)(e.config, e.info, w);
  }
  m.graph_json = g.dump();  // canonical: keys sorted, no spaces
  m.finalize();
  if (m.state_bytes > kMaxModelScratch || m.graph.workspace_bytes() > kMaxModelScratch)
    fail(Code::config, "model needs ", m.state_bytes, " bytes of state and ", m.graph.workspace_bytes(),
         " bytes of scratch per call; the limit is ", kMaxModelScratch);

  XXH3_state_t* h = XXH3_createState();
  if (!h) fail(Code::out_of_memory, "cannot allocate a hash state");
  XXH3_128bits_reset(h);
  XXH3_128bits_update(h, m.graph_json.data(), m.graph_json.size() + 1);
  for (const auto& t : st.tensors()) hash_tensor(h, t);
  const XXH128_hash_t d = XXH3_128bits_digest(h);
  XXH3_freeState(h);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, d);
  std::memcpy(m.fingerprint.data(), c.digest, 16);
  return model;
}

}  // namespace

GraphSource graph_source(const Safetensors& st) {
  const auto& md = st.metadata();
  auto git = md.find(kGraphKey);
  if (git == md.end()) return torch_graph_source(st);
  auto vit = md.find(kFormatVersionKey);
  if (vit == md.end()) fail(Code::format, "metadata has '", kGraphKey, "' but no '", kFormatVersionKey, "'");
  if (vit->second != "1")
    fail(Code::version, "native format version '", vit->second, "' is not supported (this library reads version 1)");
  GraphSource src;
  src.graph_json = git->second;
  src.source = "native";
  auto mit = md.find(kMetaKey);
  if (mit != md.end()) {
    const json meta = parse_json(mit->second, kMetaKey);
    if (!meta.is_object()) fail(Code::format, kMetaKey, " must be a JSON object");
    src.meta_json = meta.dump();
  }
  return src;
}

Ref<Model> load_model(Ref<Runtime> rt, const std::byte* data, size_t size) {
  const Safetensors st = Safetensors::parse(data, size);
  return build(std::move(rt), st, graph_source(st));
}

std::vector<std::byte> convert_to_native(const std::byte* data, size_t size) {
  const Safetensors st = Safetensors::parse(data, size);
  const GraphSource src = graph_source(st);
  Ref<Model> model = build(Runtime::default_cpu(), st, src);  // validates everything
  std::vector<StWriteTensor> out;
  for (const auto& e : model->graph.blocks) {
    auto pit = src.prefixes.find(e.name);
    const std::string prefix = pit != src.prefixes.end() ? pit->second : e.name + ".";
    for (const auto& w : e.info.weights) {
      const StTensor* t = st.find(prefix + w.name);
      out.push_back({e.name + "." + w.name, t->dtype, t->shape, t->data, t->nbytes});
    }
  }
  std::map<std::string, std::string> md{{kFormatVersionKey, "1"}, {kGraphKey, model->graph_json}};
  if (!src.meta_json.empty()) md[kMetaKey] = src.meta_json;
  return write_safetensors(out, md);
}

}  // namespace seqc
