#include "core/config.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/status.hpp"

namespace seqc {

namespace {

const ConfigValue& lookup(const std::map<std::string, ConfigValue>& m, const std::string& k) {
  auto it = m.find(k);
  if (it == m.end()) fail(Code::internal, "config key '", k, "' read but not in the schema");
  return it->second;
}

const char* type_name(ConfigType t) {
  switch (t) {
    case ConfigType::integer: return "an integer";
    case ConfigType::number: return "a number";
    case ConfigType::boolean: return "a boolean";
    case ConfigType::string: return "a string";
  }
  return "?";
}

std::string json_escape(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

}  // namespace

int64_t Config::i(const std::string& k) const {
  const auto& v = lookup(values_, k);
  if (auto p = std::get_if<int64_t>(&v)) return *p;
  fail(Code::internal, "config key '", k, "' is not an integer");
}

double Config::f(const std::string& k) const {
  const auto& v = lookup(values_, k);
  if (auto p = std::get_if<double>(&v)) return *p;
  if (auto p = std::get_if<int64_t>(&v)) return double(*p);
  fail(Code::internal, "config key '", k, "' is not a number");
}

bool Config::b(const std::string& k) const {
  const auto& v = lookup(values_, k);
  if (auto p = std::get_if<bool>(&v)) return *p;
  fail(Code::internal, "config key '", k, "' is not a boolean");
}

const std::string& Config::s(const std::string& k) const {
  const auto& v = lookup(values_, k);
  if (auto p = std::get_if<std::string>(&v)) return *p;
  fail(Code::internal, "config key '", k, "' is not a string");
}

void Config::validate(std::span<const ConfigKey> schema, const std::string& where) {
  for (const auto& [key, value] : values_) {
    bool known = false;
    for (const auto& sk : schema) known = known || key == sk.name;
    if (!known) fail(Code::config, where, ": unknown config key '", key, "'");
  }
  for (const auto& sk : schema) {
    auto it = values_.find(sk.name);
    if (it == values_.end()) {
      if (sk.required) fail(Code::config, where, ": missing config key '", sk.name, "'");
      switch (sk.type) {
        case ConfigType::integer: values_[sk.name] = sk.int_default; break;
        case ConfigType::number: values_[sk.name] = sk.num_default; break;
        case ConfigType::boolean: values_[sk.name] = sk.bool_default; break;
        case ConfigType::string: values_[sk.name] = std::string(sk.str_default); break;
      }
      continue;
    }
    ConfigValue& v = it->second;
    auto bad_type = [&]() {
      fail(Code::config, where, ": config key '", sk.name, "' must be ", type_name(sk.type));
    };
    switch (sk.type) {
      case ConfigType::integer: {
        int64_t x;
        if (auto p = std::get_if<int64_t>(&v)) {
          x = *p;
        } else if (auto d = std::get_if<double>(&v)) {
          // 64.0 is accepted as 64; 2.5, NaN and inf are not.
          if (!std::isfinite(*d) || *d != std::floor(*d) || std::fabs(*d) > 9.0e15)
            fail(Code::config, where, ": config key '", sk.name, "' must be an integer, got ", *d);
          x = int64_t(*d);
          v = x;
        } else {
          bad_type();
        }
        if (double(x) < sk.min || double(x) > sk.max)
          fail(Code::config, where, ": config key '", sk.name, "' = ", x, " is outside [",
               int64_t(sk.min), ", ", int64_t(sk.max), "]");
        break;
      }
      case ConfigType::number: {
        double x;
        if (auto p = std::get_if<double>(&v)) x = *p;
        else if (auto q = std::get_if<int64_t>(&v)) x = double(*q);
        else bad_type();
        if (!std::isfinite(x))
          fail(Code::config, where, ": config key '", sk.name, "' must be finite");
        if (x < sk.min || x > sk.max)
          fail(Code::config, where, ": config key '", sk.name, "' = ", x, " is outside [", sk.min,
               ", ", sk.max, "]");
        v = x;
        break;
      }
      case ConfigType::boolean:
        if (!std::holds_alternative<bool>(v)) bad_type();
        break;
      case ConfigType::string: {
        auto p = std::get_if<std::string>(&v);
        if (!p) bad_type();
        std::string_view choices = sk.choices;
        if (!choices.empty()) {
          bool ok = false;
          size_t start = 0;
          while (start <= choices.size()) {
            size_t bar = choices.find('|', start);
            if (bar == std::string_view::npos) bar = choices.size();
            ok = ok || choices.substr(start, bar - start) == *p;
            start = bar + 1;
          }
          if (!ok)
            fail(Code::config, where, ": config key '", sk.name, "' = '", *p, "' is not one of ",
                 sk.choices);
        }
        break;
      }
    }
  }
}

std::string Config::to_json() const {
  std::string out = "{";
  bool first = true;
  for (const auto& [k, v] : values_) {
    if (!first) out += ",";
    first = false;
    out += json_escape(k) + ":";
    if (auto p = std::get_if<int64_t>(&v)) {
      out += std::to_string(*p);
    } else if (auto d = std::get_if<double>(&v)) {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, *d);  // shortest round-trip form
      out.append(buf, r.ptr);
    } else if (auto b = std::get_if<bool>(&v)) {
      out += *b ? "true" : "false";
    } else {
      out += json_escape(std::get<std::string>(v));
    }
  }
  return out + "}";
}

}  // namespace seqc
