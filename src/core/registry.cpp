#include "core/registry.hpp"

#include <mutex>
#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "io/json_util.hpp"

namespace seqc {

#define SEQC_PLUGIN(id) extern const PluginDesc plugin_##id;
#include "core/builtin_plugins.def"
#undef SEQC_PLUGIN

const char* plugin_kind_name(PluginKind k) noexcept {
  switch (k) {
    case PluginKind::layer: return "layer";
    case PluginKind::recurrent: return "recurrent";
    case PluginKind::quantizer: return "quantizer";
    case PluginKind::memory: return "memory";
  }
  return "?";
}

int64_t TensorSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

void Block::run_tokens(RunCtx&, const int32_t*, float*, int64_t) const {
  fail(Code::internal, "block does not consume tokens");
}

struct Registry::Impl {
  mutable std::mutex mu;
  std::vector<const PluginDesc*> entries;
};

Registry::Registry() : impl_(new Impl) {
#define SEQC_PLUGIN(id) impl_->entries.push_back(&plugin_##id);
#include "core/builtin_plugins.def"
#undef SEQC_PLUGIN
}

Registry& Registry::instance() {
  // Never destroyed: models may outlive static destruction order.
  static Registry* r = new Registry;
  return *r;
}

size_t Registry::size() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entries.size();
}

const PluginDesc* Registry::at(size_t i) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return i < impl_->entries.size() ? impl_->entries[i] : nullptr;
}

const PluginDesc* Registry::find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const PluginDesc* d : impl_->entries)
    if (name == d->name) return d;
  return nullptr;
}

void Registry::add(const PluginDesc& desc) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const PluginDesc* d : impl_->entries)
    if (std::string_view(d->name) == desc.name)
      fail(Code::invalid_argument, "plugin '", desc.name, "' is already registered");
  impl_->entries.push_back(&desc);
}

namespace {

nlohmann::json tensors_json(const std::vector<TensorSpec>& specs) {
  auto arr = nlohmann::json::array();
  for (const auto& t : specs)
    arr.push_back({{"name", t.name}, {"dtype", dtype_name(t.dtype)}, {"shape", t.shape}});
  return arr;
}

const char* config_type_name(ConfigType t) {
  switch (t) {
    case ConfigType::integer: return "integer";
    case ConfigType::number: return "number";
    case ConfigType::boolean: return "boolean";
    case ConfigType::string: return "string";
  }
  return "?";
}

}  // namespace

std::string Registry::describe(const PluginDesc& d) {
  using nlohmann::json;
  json schema = json::array();
  for (const ConfigKey& k : d.schema) {
    json e = {{"name", k.name}, {"type", config_type_name(k.type)}, {"required", k.required},
              {"doc", k.doc}};
    if (!k.required) {
      switch (k.type) {
        case ConfigType::integer: e["default"] = k.int_default; break;
        case ConfigType::number: e["default"] = k.num_default; break;
        case ConfigType::boolean: e["default"] = k.bool_default; break;
        case ConfigType::string: e["default"] = k.str_default; break;
      }
    }
    if (k.type == ConfigType::integer || k.type == ConfigType::number) {
      e["min"] = k.min;
      e["max"] = k.max;
    }
    if (k.choices[0]) e["choices"] = k.choices;
    schema.push_back(std::move(e));
  }
  json examples = json::array();
  for (const char* text : d.test_configs) {
    Config cfg = config_from_json_text(text, d.name);
    cfg.validate(d.schema, d.name);
    BlockInfo info = d.info(cfg);
    examples.push_back({{"config", json::parse(cfg.to_json())},
                        {"in_width", info.in_width},
                        {"out_width", info.out_width},
                        {"consumes_tokens", info.consumes_tokens},
                        {"weights", tensors_json(info.weights)},
                        {"state", tensors_json(info.state)}});
  }
  json backends = json::array();
  if (d.create_cpu) backends.push_back("cpu");
  if (d.create_cuda) backends.push_back("cuda");
  json out = {{"name", d.name},
              {"kind", plugin_kind_name(d.kind)},
              {"version", d.version},
              {"summary", d.summary},
              {"config", schema},
              {"capabilities", {{"backends", backends}, {"forward_exact", d.forward_exact}}},
              {"examples", examples}};
  return out.dump(2);
}

}  // namespace seqc
