// JSON for untrusted input: bounded nesting, no duplicate keys, every
// failure a Code::format (or Code::config for config values).
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string_view>

#include "core/config.hpp"

namespace seqc {

inline constexpr int kMaxJsonDepth = 64;

// Parses text; throws Code::format naming `what` on invalid JSON or UTF-8,
// nesting deeper than kMaxJsonDepth, or a repeated key in one object.
nlohmann::json parse_json(std::string_view text, std::string_view what);

// A config object to a Config: integers, finite numbers, booleans and strings
// only. Throws Code::config naming `where`.
Config config_from_json(const nlohmann::json& obj, std::string_view where);
Config config_from_json_text(std::string_view text, std::string_view where);

}  // namespace seqc
