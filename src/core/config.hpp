// A block's config: typed values checked against the plugin's schema before
// any plugin code sees them. Keeps JSON out of plugin code.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>

namespace seqc {

enum class ConfigType { integer, number, boolean, string };

struct ConfigKey {
  const char* name;
  ConfigType type;
  bool required;
  // Defaults, used when the key is absent and not required.
  int64_t int_default = 0;
  double num_default = 0;
  bool bool_default = false;
  const char* str_default = "";
  // Inclusive bounds for integers and numbers (numbers must also be finite).
  double min = 0;
  double max = 2147483647.0;
  // For strings: '|'-separated accepted values ("" = any).
  const char* choices = "";
  const char* doc = "";
};

using ConfigValue = std::variant<int64_t, double, bool, std::string>;

class Config {
 public:
  Config() = default;
  explicit Config(std::map<std::string, ConfigValue> values) : values_(std::move(values)) {}

  // Typed accessors; the schema guarantees presence and type after validate().
  int64_t i(const std::string& key) const;
  double f(const std::string& key) const;
  bool b(const std::string& key) const;
  const std::string& s(const std::string& key) const;
  bool has(const std::string& key) const { return values_.count(key) != 0; }

  const std::map<std::string, ConfigValue>& values() const { return values_; }
  void set(const std::string& key, ConfigValue v) { values_[key] = std::move(v); }

  // Checks every value against the schema and fills defaults. Unknown keys,
  // missing required keys, wrong types, out-of-range or non-finite numbers
  // throw Code::config naming `where` (e.g. the block name).
  void validate(std::span<const ConfigKey> schema, const std::string& where);

  // Canonical JSON object text (keys sorted), for describe and fingerprints.
  std::string to_json() const;

 private:
  std::map<std::string, ConfigValue> values_;
};

}  // namespace seqc
