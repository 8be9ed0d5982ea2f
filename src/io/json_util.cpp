#include "io/json_util.hpp"

#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace seqc {

using nlohmann::json;

json parse_json(std::string_view text, std::string_view what) {
  // One set of seen keys per open object; arrays push an empty marker so the
  // stack follows the nesting.
  std::vector<std::set<std::string>> open;
  auto cb = [&](int depth, json::parse_event_t ev, json& parsed) -> bool {
    switch (ev) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          fail(Code::format, what, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
        open.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && !open.back().insert(parsed.get<std::string>()).second)
          fail(Code::format, what, ": duplicate JSON key '", parsed.get<std::string>(), "'");
        break;
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), cb, /*allow_exceptions=*/true,
                       /*ignore_comments=*/false);
  } catch (const json::exception& e) {
    fail(Code::format, what, ": invalid JSON: ", e.what());
  }
}

Config config_from_json(const json& obj, std::string_view where) {
  if (!obj.is_object()) fail(Code::config, where, ": config must be a JSON object");
  std::map<std::string, ConfigValue> values;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    const json& v = it.value();
    if (v.is_number_unsigned()) {
      const auto u = v.get<uint64_t>();
      if (u > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(Code::config, where, ": config key '", it.key(), "' is too large");
      values[it.key()] = int64_t(u);
    } else if (v.is_number_integer()) {
      values[it.key()] = v.get<int64_t>();
    } else if (v.is_number_float()) {
      values[it.key()] = v.get<double>();  // NaN/inf and integrality checked by validate()
    } else if (v.is_boolean()) {
      values[it.key()] = v.get<bool>();
    } else if (v.is_string()) {
      values[it.key()] = v.get<std::string>();
    } else {
      fail(Code::config, where, ": config key '", it.key(),
           "' must be a number, boolean or string");
    }
  }
  return Config(std::move(values));
}

Config config_from_json_text(std::string_view text, std::string_view where) {
  return config_from_json(parse_json(text, where), where);
}

}  // namespace seqc
