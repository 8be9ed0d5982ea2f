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
#include "cuda/cuda_api.hpp"
#include "io/hf_import.hpp"
#include "io/json_util.hpp"
#include "io/tokenizer.hpp"
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
// alignment needs it. files maps each weight name to its stored tensor.
class FileWeights final : public WeightSource {
 public:
  FileWeights(const TensorSet& ts, const std::map<std::string, std::string>& files, DType matrix_dtype)
      : ts_(ts), files_(files), matrix_dtype_(matrix_dtype) {}
  const float* get(std::string_view name) const override {
    auto it = files_.find(std::string(name));
    SEQC_CHECK(it != files_.end(), "weight '", name, "' was declared");
    const StTensor* t = ts_.find(it->second);
    SEQC_CHECK(t, "weight '", name, "' was validated");
    if (t->dtype == DType::f32 && reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0)
      return reinterpret_cast<const float*>(t->data);
    auto& buf = converted_.emplace_back(size_t(t->numel()));
    convert_to_f32(t->dtype, t->data, buf.data(), buf.size());
    return buf.data();
  }
  const float* get_matrix(std::string_view name) const override {
    const float* src = get(name);
    if (matrix_dtype_ == DType::f32) return src;
    const StTensor* t = ts_.find(files_.at(std::string(name)));
    if (t->dtype == matrix_dtype_) return src;  // already exact in that dtype
    auto& buf = converted_.emplace_back(size_t(t->numel()));
    for (size_t i = 0; i < buf.size(); ++i)
      buf[i] = matrix_dtype_ == DType::bf16 ? bf16_to_f32(f32_to_bf16(src[i])) : f16_to_f32(f32_to_f16(src[i]));
    return buf.data();
  }
  DType matrix_dtype() const override { return matrix_dtype_; }

 private:
  const TensorSet& ts_;
  const std::map<std::string, std::string>& files_;
  DType matrix_dtype_;
  mutable std::vector<std::vector<float>> converted_;
};

std::string shape_str(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

struct Builder {
  const TensorSet& st;
  const GraphSource& src;
  Model& model;
  std::set<std::string> names;
  std::set<std::string> used_tensors;
  std::vector<json> ties;                              // per block: its "tie" object or null
  std::vector<std::map<std::string, std::string>> files;  // per block: weight -> stored tensor

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
      if (it.key() != "name" && it.key() != "plugin" && it.key() != "config" && it.key() != "tie")
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
    ties.push_back(j.contains("tie") ? j["tie"] : json());
    return n;
  }

  std::string prefix_of(const Graph::Entry& e) const {
    auto pit = src.prefixes.find(e.name);
    return pit != src.prefixes.end() ? pit->second : e.name + ".";
  }

  static const TensorSpec* weight_spec(const Graph::Entry& e, const std::string& w) {
    for (const TensorSpec& t : e.info.weights)
      if (t.name == w) return &t;
    return nullptr;
  }

  // Reads every block's "tie" map (weight -> "<block>.<weight>") once all
  // blocks are known, and resolves each weight to its stored tensor.
  void resolve_ties() {
    auto& blocks = model.graph.blocks;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < blocks.size(); ++i) index[blocks[i].name] = i;
    for (size_t i = 0; i < blocks.size(); ++i) {
      Graph::Entry& e = blocks[i];
      const json& tj = ties[i];
      if (tj.is_null()) continue;
      if (!tj.is_object() || tj.empty())
        fail(Code::config, "block '", e.name, "': 'tie' must be a non-empty object {\"<weight>\": \"<block>.<weight>\"}");
      for (auto it = tj.begin(); it != tj.end(); ++it) {
        const std::string& w = it.key();
        const TensorSpec* spec = weight_spec(e, w);
        if (!spec)
          fail(Code::config, "block '", e.name, "': 'tie' names '", w, "', which is not a weight of ", e.plugin->name);
        if (!it.value().is_string())
          fail(Code::config, "block '", e.name, "': tie of '", w, "' must be a string \"<block>.<weight>\"");
        const std::string target = it.value().get<std::string>();
        const size_t dot = target.find('.');
        if (dot == std::string::npos || dot == 0 || dot + 1 == target.size())
          fail(Code::config, "block '", e.name, "': tie of '", w, "' is '", target, "'; expected \"<block>.<weight>\"");
        const std::string tb = target.substr(0, dot), tw = target.substr(dot + 1);
        auto bit = index.find(tb);
        if (bit == index.end())
          fail(Code::config, "block '", e.name, "': tie of '", w, "' names block '", tb, "', which is not in the graph");
        const Graph::Entry& te = blocks[bit->second];
        const TensorSpec* tspec = weight_spec(te, tw);
        if (!tspec)
          fail(Code::config, "block '", e.name, "': tie of '", w, "' names '", target, "', but '", tw,
               "' is not a weight of block '", tb, "' (", te.plugin->name, ")");
        if (bit->second == i && tw == w)
          fail(Code::config, "block '", e.name, "': weight '", w, "' is tied to itself");
        const json& other = ties[bit->second];
        if (other.is_object() && other.contains(tw))
          fail(Code::config, "block '", e.name, "': tie of '", w, "' names '", target,
               "', which is itself tied; tie to the stored tensor instead");
        if (tspec->shape != spec->shape)
          fail(Code::shape, "block '", e.name, "': weight '", w, "' has shape ", shape_str(spec->shape),
               " but the tied weight '", target, "' has shape ", shape_str(tspec->shape));
        e.tie[w] = target;
      }
    }
    files.assign(blocks.size(), {});
    for (size_t i = 0; i < blocks.size(); ++i) {
      const Graph::Entry& e = blocks[i];
      for (const TensorSpec& w : e.info.weights) {
        auto t = e.tie.find(w.name);
        if (t == e.tie.end()) {
          files[i][w.name] = prefix_of(e) + w.name;
        } else {
          const size_t dot = t->second.find('.');
          const Graph::Entry& te = blocks[index.at(t->second.substr(0, dot))];
          files[i][w.name] = prefix_of(te) + t->second.substr(dot + 1);
        }
      }
    }
  }

  // Every weight present with a float dtype and the declared shape.
  void check_weights(size_t i) {
    const Graph::Entry& e = model.graph.blocks[i];
    for (const TensorSpec& w : e.info.weights) {
      const std::string& full = files[i].at(w.name);
      auto tie = e.tie.find(w.name);
      const std::string via = tie == e.tie.end() ? "" : " (tied to '" + tie->second + "')";
      const StTensor* t = st.find(full);
      if (!t)
        fail(Code::missing_tensor, "block '", e.name, "' (", e.plugin->name, ") needs tensor '", full, "'", via);
      if (!(t->dtype == DType::f32 || t->dtype == DType::f16 || t->dtype == DType::bf16))
        fail(Code::dtype, "tensor '", full, "' is ", dtype_name(t->dtype), "; weights must be F32, F16 or BF16");
      if (t->shape != w.shape)
        fail(Code::shape, "tensor '", full, "' has shape ", shape_str(t->shape), " but block '", e.name, "' needs ",
             shape_str(w.shape), via);
      used_tensors.insert(full);
    }
  }
};

void hash_tensor(XXH3_state_t* h, const std::string& name, const StTensor& t) {
  XXH3_128bits_update(h, name.data(), name.size() + 1);
  const char* dn = dtype_safetensors_name(t.dtype);
  XXH3_128bits_update(h, dn, std::strlen(dn) + 1);
  const uint64_t rank = t.shape.size();
  XXH3_128bits_update(h, &rank, sizeof rank);
  XXH3_128bits_update(h, t.shape.data(), t.shape.size() * sizeof(int64_t));
  XXH3_128bits_update(h, t.data, t.nbytes);
}

}  // namespace

Ref<Model> build_model(Ref<Runtime> rt, const TensorSet& st, const GraphSource& src, const LoadOptions& opts) {
  if (opts.weight_dtype != DType::f32 && opts.weight_dtype != DType::bf16 && opts.weight_dtype != DType::f16)
    fail(Code::dtype, "weight dtype must be f32, bf16 or f16, got ", dtype_name(opts.weight_dtype));
  Ref<Model> model = Ref<Model>::adopt(new Model);
  Model& m = *model;
  m.runtime = std::move(rt);
  m.weight_dtype = opts.weight_dtype;
  m.source = src.source;
  m.meta_json = src.meta_json;
  m.tokenizer_json = src.tokenizer_json;

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
    if (tkind == "bytes") {
      if (m.input_kind != InputKind::tokens || m.input_width != 256)
        fail(Code::config, "graph: the bytes tokenizer needs token input with a vocabulary of 256");
    } else if (tkind == "bpe") {
      if (m.input_kind != InputKind::tokens)
        fail(Code::config, "graph: the bpe tokenizer needs token input");
      if (src.tokenizer_json.empty())
        fail(Code::format, "graph: tokenizer kind 'bpe' needs the tokenizer.json text in the metadata key '",
             kTokenizerKey, "'");
    } else {
      fail(Code::config, "graph: tokenizer kind must be 'bytes' or 'bpe'");
    }
    m.tokenizer = tkind;
    m.tok = tkind == "bytes" ? Tokenizer::bytes() : Tokenizer::from_hf_json(src.tokenizer_json);
    if (m.tok->id_limit() > m.input_width)
      fail(Code::config, "tokenizer.json has token ids up to ", m.tok->id_limit() - 1,
           " but the model's vocabulary is ", m.input_width);
  }
  if (!src.tokenizer_json.empty() && m.tokenizer != "bpe")
    fail(Code::format, "metadata '", kTokenizerKey, "' is present but the graph has no {\"tokenizer\": {\"kind\": \"bpe\"}}");
  if (!g.contains("blocks") || !g["blocks"].is_array() || g["blocks"].empty())
    fail(Code::config, "graph: needs a non-empty 'blocks' list");

  Builder b{st, src, m, {}, {}, {}, {}};
  for (const json& j : g["blocks"]) m.graph.nodes.push_back(b.node(j));
  b.resolve_ties();
  const bool on_cpu = m.runtime->device() == DeviceKind::cpu;
  m.max_rows = on_cpu ? Model::kMaxRows : Model::kMaxRowsCuda;
  m.graph.plan(m.input_kind == InputKind::tokens, m.input_width, m.max_rows);
  for (const auto& e : m.graph.blocks)
    if (!(on_cpu ? e.plugin->create_cpu : e.plugin->create_cuda))
      fail(Code::unsupported, "block '", e.name, "': ", e.plugin->name, " has no ",
           on_cpu ? "CPU" : "CUDA", " implementation");
  if (m.output_logits && (m.input_kind != InputKind::tokens || m.graph.output_width() != m.input_width))
    fail(Code::config, "output kind 'logits' needs token input and an output width equal to the vocabulary (",
         m.input_width, "), got width ", m.graph.output_width());
  for (size_t i = 0; i < m.graph.blocks.size(); ++i) b.check_weights(i);
  for (const auto& [name, t] : st.all()) {
    if (b.used_tensors.count(name) || src.ignored.count(name)) continue;
    const std::string origin = st.origin(name);
    fail(Code::format, "tensor '", name, "'", origin.empty() ? "" : " (in '" + origin + "')",
         " is not used by any block (a misnamed weight?)");
  }

  const cuda::Ctx* cu = m.runtime->device_impl().cuda_ctx();
  if (cu) cuda::make_current(*cu);  // the factories upload to the current device
  for (size_t i = 0; i < m.graph.blocks.size(); ++i) {
    auto& e = m.graph.blocks[i];
    FileWeights w(st, b.files[i], opts.weight_dtype);
    e.block = (on_cpu ? e.plugin->create_cpu : e.plugin->create_cuda)(e.config, e.info, w);
  }
  if (cu) cuda::finish_load(*cu);
  // Planned again now that the blocks exist: residual adds fuse into blocks
  // that accumulate (Graph::plan).
  m.graph.plan(m.input_kind == InputKind::tokens, m.input_width, m.max_rows);
  m.graph_json = g.dump();  // canonical: keys sorted, no spaces
  m.finalize();
  if (m.state_bytes > kMaxModelScratch || m.graph.workspace_bytes() > kMaxModelScratch)
    fail(Code::config, "model needs ", m.state_bytes, " bytes of state and ", m.graph.workspace_bytes(),
         " bytes of scratch per call; the limit is ", kMaxModelScratch);

  XXH3_state_t* h = XXH3_createState();
  if (!h) fail(Code::out_of_memory, "cannot allocate a hash state");
  XXH3_128bits_reset(h);
  XXH3_128bits_update(h, m.graph_json.data(), m.graph_json.size() + 1);
  // Every stored weight once, under its native name "<block>.<weight>", in
  // name order: a converted file keeps the fingerprint of its source.
  std::map<std::string, const StTensor*> stored;
  for (size_t i = 0; i < m.graph.blocks.size(); ++i) {
    const auto& e = m.graph.blocks[i];
    for (const TensorSpec& w : e.info.weights)
      if (!e.tie.count(w.name)) stored[e.name + "." + w.name] = st.find(b.files[i].at(w.name));
  }
  for (const auto& [name, t] : stored) hash_tensor(h, name, *t);
  const XXH128_hash_t d = XXH3_128bits_digest(h);
  XXH3_freeState(h);
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, d);
  std::memcpy(m.fingerprint.data(), c.digest, 16);
  return model;
}

void TensorSet::add(const Safetensors& st, const std::string& origin) {
  for (const StTensor& t : st.tensors()) {
    auto [it, inserted] = tensors_.emplace(t.name, &t);
    if (!inserted) {
      const std::string first = origins_[t.name];
      fail(Code::format, "tensor '", t.name, "' is stored twice: in '", first, "' and in '", origin, "'");
    }
    origins_[t.name] = origin;
  }
}

const StTensor* TensorSet::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second;
}

std::string TensorSet::origin(std::string_view name) const {
  auto it = origins_.find(name);
  return it == origins_.end() ? std::string() : it->second;
}

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
  auto tit = md.find(kTokenizerKey);
  if (tit != md.end()) {
    if (!parse_json(tit->second, kTokenizerKey).is_object())
      fail(Code::format, kTokenizerKey, " must be a JSON object (a HuggingFace tokenizer.json)");
    src.tokenizer_json = tit->second;
  }
  return src;
}

Ref<Model> load_model(Ref<Runtime> rt, const std::byte* data, size_t size, const LoadOptions& opts) {
  const Safetensors st = Safetensors::parse(data, size);
  return build_model(std::move(rt), TensorSet(st), graph_source(st), opts);
}

Ref<Model> load_model_path(Ref<Runtime> rt, const std::string& path, const LoadOptions& opts) {
  if (is_hf_model_path(path)) {
    const HfModelDir dir(path);
    return build_model(std::move(rt), dir.tensors(), dir.source(), opts);
  }
  MappedFile file(path);
  return load_model(std::move(rt), file.data(), file.size(), opts);
}

std::vector<std::byte> convert_to_native(const TensorSet& st, const GraphSource& src) {
  Ref<Model> model = build_model(Runtime::default_cpu(), st, src, {});  // validates everything
  std::vector<StWriteTensor> out;
  for (const auto& e : model->graph.blocks) {
    auto pit = src.prefixes.find(e.name);
    const std::string prefix = pit != src.prefixes.end() ? pit->second : e.name + ".";
    for (const auto& w : e.info.weights) {
      if (e.tie.count(w.name)) continue;  // stored once, under the tied block's name
      const StTensor* t = st.find(prefix + w.name);
      SEQC_CHECK(t, "weight '", prefix, w.name, "' was validated");
      out.push_back({e.name + "." + w.name, t->dtype, t->shape, t->data, t->nbytes});
    }
  }
  std::map<std::string, std::string> md{{kFormatVersionKey, "1"}, {kGraphKey, model->graph_json}};
  if (!src.meta_json.empty()) md[kMetaKey] = src.meta_json;
  if (!src.tokenizer_json.empty()) md[kTokenizerKey] = src.tokenizer_json;
  return write_safetensors(out, md);
}

std::vector<std::byte> convert_to_native(const std::byte* data, size_t size) {
  const Safetensors st = Safetensors::parse(data, size);
  return convert_to_native(TensorSet(st), graph_source(st));
}

std::vector<std::byte> convert_path_to_native(const std::string& path) {
  if (is_hf_model_path(path)) {
    const HfModelDir dir(path);
    return convert_to_native(dir.tensors(), dir.source());
  }
  MappedFile file(path);
  return convert_to_native(file.data(), file.size());
}

}  // namespace seqc
