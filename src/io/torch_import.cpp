#include "io/torch_import.hpp"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "core/status.hpp"
#include "io/json_util.hpp"

namespace seqc {

using nlohmann::json;

namespace {

const char* const kRnnParams[] = {"weight_ih_l", "weight_hh_l", "bias_ih_l", "bias_hh_l", "weight_hr_l"};

// "<prefix><param><digits>[_reverse]" -> prefix; false if name is no RNN parameter.
bool split_rnn_name(const std::string& name, std::string& prefix, bool& reverse) {
  for (const char* p : kRnnParams) {
    const size_t pos = name.rfind(p);
    if (pos == std::string::npos) continue;
    std::string rest = name.substr(pos + std::char_traits<char>::length(p));
    reverse = rest.size() > 8 && rest.compare(rest.size() - 8, 8, "_reverse") == 0;
    if (reverse) rest.resize(rest.size() - 8);
    if (rest.empty() || rest.size() > 6) continue;
    bool digits = true;
    for (char c : rest) digits = digits && std::isdigit(static_cast<unsigned char>(c));
    if (!digits) continue;
    prefix = name.substr(0, pos);
    return true;
  }
  return false;
}

const StTensor& need(const Safetensors& st, const std::string& name, size_t rank) {
  const StTensor* t = st.find(name);
  if (!t) fail(Code::missing_tensor, "PyTorch import: tensor '", name, "' not found");
  if (t->shape.size() != rank)
    fail(Code::shape, "PyTorch import: tensor '", name, "' has rank ", t->shape.size(), ", expected ", rank);
  return *t;
}

std::string block_name_for(const std::string& prefix, size_t index) {
  std::string n = prefix;
  while (!n.empty() && n.back() == '.') n.pop_back();
  for (char& c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) c = '_';
  if (n.empty() || n.size() > 64) n = "m" + std::to_string(index);
  return n;
}

struct Module {
  json block;         // {name, plugin, config}
  int64_t in_width = 0;   // 0: consumes tokens or takes any width
  int64_t out_width = 0;
  int64_t vocab = 0;      // embedding only
};

// nn.LSTM / nn.GRU under prefix; type "" infers it from the gate count.
Module rnn_module(const Safetensors& st, const std::string& prefix, std::string type) {
  for (const auto& t : st.tensors()) {
    std::string p;
    bool rev = false;
    if (t.name.compare(0, prefix.size(), prefix) == 0 && split_rnn_name(t.name, p, rev) && p == prefix && rev)
      fail(Code::unsupported, "PyTorch import: '", t.name,
           "' belongs to a bidirectional RNN, which cannot run as a stream (it reads the future)");
  }
  int64_t layers = 0;
  while (st.find(prefix + "weight_ih_l" + std::to_string(layers))) ++layers;
  if (layers == 0) fail(Code::missing_tensor, "PyTorch import: no '", prefix, "weight_ih_l0'");
  const StTensor& wih = need(st, prefix + "weight_ih_l0", 2);
  const StTensor& whh = need(st, prefix + "weight_hh_l0", 2);
  int64_t hidden = whh.shape[1];
  int64_t proj = 0;
  if (const StTensor* whr = st.find(prefix + "weight_hr_l0")) {
    if (whr->shape.size() != 2) fail(Code::shape, "PyTorch import: '", whr->name, "' must have rank 2");
    proj = whr->shape[0];
    hidden = whr->shape[1];
  }
  if (hidden <= 0 || whh.shape[0] % hidden != 0)
    fail(Code::shape, "PyTorch import: '", whh.name, "' rows (", whh.shape[0],
         ") are not a multiple of the hidden size ", hidden);
  const int64_t gates = whh.shape[0] / hidden;
  if (type.empty()) {
    if (gates == 4) type = "lstm";
    else if (gates == 3) type = "gru";
    else if (gates == 1) fail(Code::unsupported, "PyTorch import: nn.RNN (Elman) state dicts are not supported yet");
    else fail(Code::shape, "PyTorch import: '", whh.name, "' has ", gates, " gate blocks; LSTM has 4, GRU 3");
  }
  const int64_t want = type == "lstm" ? 4 : 3;
  if (gates != want)
    fail(Code::shape, "PyTorch import: '", whh.name, "' has ", gates, " gate blocks but a ", type,
         " has ", want);
  if (type == "gru" && proj) fail(Code::unsupported, "PyTorch import: GRU has no projection");
  json cfg = {{"input_size", wih.shape[1]}, {"hidden_size", hidden}, {"num_layers", layers},
              {"bias", st.find(prefix + "bias_ih_l0") != nullptr}};
  if (proj) cfg["proj_size"] = proj;
  Module m;
  m.block = {{"plugin", "recurrent/" + type}, {"config", cfg}};
  m.in_width = wih.shape[1];
  m.out_width = proj ? proj : hidden;
  return m;
}

Module module_for(const Safetensors& st, const json& spec, int64_t prev_width) {
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string())
    fail(Code::config, "seqcore.torch: every module needs a string 'type'");
  const std::string type = spec["type"].get<std::string>();
  const std::string prefix = spec.contains("prefix") && spec["prefix"].is_string()
                                 ? spec["prefix"].get<std::string>() : std::string();
  auto num = [&](const char* key, double dflt) {
    if (!spec.contains(key)) return dflt;
    if (!spec[key].is_number()) fail(Code::config, "seqcore.torch: '", key, "' must be a number");
    return spec[key].get<double>();
  };
  Module m;
  if (type == "lstm" || type == "gru") return rnn_module(st, prefix, type);
  if (type == "rnn") return rnn_module(st, prefix, "");  // LSTM or GRU, from the gate count
  if (type == "embedding") {
    const StTensor& w = need(st, prefix + "weight", 2);
    m.block = {{"plugin", "layer/embedding"},
               {"config", {{"num_embeddings", w.shape[0]}, {"embedding_dim", w.shape[1]}}}};
    m.vocab = w.shape[0];
    m.out_width = w.shape[1];
    return m;
  }
  if (type == "linear") {
    const StTensor& w = need(st, prefix + "weight", 2);
    m.block = {{"plugin", "layer/linear"},
               {"config", {{"in_features", w.shape[1]}, {"out_features", w.shape[0]},
                           {"bias", st.find(prefix + "bias") != nullptr}}}};
    m.in_width = w.shape[1];
    m.out_width = w.shape[0];
    return m;
  }
  if (type == "layernorm" || type == "rmsnorm") {
    const StTensor* w = st.find(prefix + "weight");
    int64_t dim = prev_width;
    if (w) {
      if (w->shape.size() != 1) fail(Code::shape, "PyTorch import: '", w->name, "' must have rank 1");
      dim = w->shape[0];
    }
    if (dim <= 0) fail(Code::config, "seqcore.torch: cannot tell the width of ", type, " '", prefix, "'");
    json cfg = {{"dim", dim}};
    if (type == "layernorm") {
      cfg["eps"] = num("eps", 1e-5);
      cfg["elementwise_affine"] = w != nullptr;
      cfg["bias"] = st.find(prefix + "bias") != nullptr;
    } else {
      if (!w) fail(Code::missing_tensor, "PyTorch import: rmsnorm needs '", prefix, "weight'");
      cfg["eps"] = num("eps", 1e-6);
    }
    m.block = {{"plugin", "layer/" + type}, {"config", cfg}};
    m.in_width = m.out_width = dim;
    return m;
  }
  if (type == "activation") {
    if (!spec.contains("function") || !spec["function"].is_string())
      fail(Code::config, "seqcore.torch: an activation needs a string 'function'");
    if (prev_width <= 0) fail(Code::config, "seqcore.torch: an activation cannot come first");
    m.block = {{"plugin", "layer/activation"},
               {"config", {{"function", spec["function"]}, {"dim", prev_width}}}};
    m.in_width = m.out_width = prev_width;
    return m;
  }
  fail(Code::config, "seqcore.torch: unknown module type '", type,
       "' (embedding, linear, lstm, gru, rnn, layernorm, rmsnorm, activation)");
}

}  // namespace

GraphSource torch_graph_source(const Safetensors& st) {
  json modules = json::array();
  json cfg = json::object();
  auto it = st.metadata().find("seqcore.torch");
  if (it != st.metadata().end()) {
    cfg = parse_json(it->second, "seqcore.torch");
    if (!cfg.is_object() || !cfg.contains("modules") || !cfg["modules"].is_array() || cfg["modules"].empty())
      fail(Code::config, "seqcore.torch: needs a non-empty 'modules' list");
    for (auto k = cfg.begin(); k != cfg.end(); ++k)
      if (k.key() != "modules" && k.key() != "input" && k.key() != "output" && k.key() != "tokenizer")
        fail(Code::config, "seqcore.torch: unknown key '", k.key(), "'");
    modules = cfg["modules"];
  } else {
    // A bare nn.LSTM / nn.GRU state dict, possibly under one module prefix.
    std::set<std::string> prefixes;
    for (const auto& t : st.tensors()) {
      std::string p;
      bool rev = false;
      if (!split_rnn_name(t.name, p, rev))
        fail(Code::format, "not a libseqcore model: no '", kGraphKey, "' metadata, and tensor '", t.name,
             "' is not an nn.LSTM/nn.GRU parameter (describe other PyTorch stacks with a seqcore.torch "
             "metadata entry, docs/torch-import.md)");
      prefixes.insert(p);
    }
    if (prefixes.empty()) fail(Code::format, "the file holds no tensors and no seqcore metadata");
    if (prefixes.size() != 1)
      fail(Code::format, "PyTorch import: tensors of several RNN modules (", *prefixes.begin(), ", ",
           *prefixes.rbegin(), "); describe the stack with a seqcore.torch metadata entry");
    modules.push_back({{"type", "rnn"}, {"prefix", *prefixes.begin()}});
  }

  GraphSource src;
  src.source = "torch";
  json blocks = json::array();
  std::set<std::string> used_names;
  int64_t width = 0;
  int64_t first_in = 0, vocab = 0;
  for (size_t i = 0; i < modules.size(); ++i) {
    const json& spec = modules[i];
    Module m = module_for(st, spec, width);
    const std::string prefix = spec.contains("prefix") && spec["prefix"].is_string()
                                   ? spec["prefix"].get<std::string>() : std::string();
    // Blocks are named after their prefix ("rnn." -> "rnn"), or after the
    // plugin for an unprefixed module ("lstm").
    const std::string plugin = m.block["plugin"].get<std::string>();
    std::string name = prefix.empty() ? plugin.substr(plugin.find('/') + 1) : block_name_for(prefix, i);
    if (!used_names.insert(name).second) {
      name = "m" + std::to_string(i);
      if (!used_names.insert(name).second) fail(Code::config, "seqcore.torch: duplicate module prefix '", prefix, "'");
    }
    m.block["name"] = name;
    src.prefixes[name] = prefix;
    if (i == 0) {
      first_in = m.in_width;
      vocab = m.vocab;
    }
    width = m.out_width;
    blocks.push_back(m.block);
  }
  json graph = {{"blocks", blocks}};
  if (cfg.contains("input")) graph["input"] = cfg["input"];
  else if (vocab) graph["input"] = {{"kind", "tokens"}, {"vocab", vocab}};
  else if (first_in) graph["input"] = {{"kind", "frames"}, {"width", first_in}};
  else fail(Code::config, "seqcore.torch: cannot infer the input; give an 'input' entry");
  if (cfg.contains("output")) graph["output"] = cfg["output"];
  if (cfg.contains("tokenizer")) graph["tokenizer"] = cfg["tokenizer"];
  src.graph_json = graph.dump();
  return src;
}

}  // namespace seqc
