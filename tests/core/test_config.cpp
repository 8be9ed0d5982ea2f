#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/status.hpp"
#include "io/json_util.hpp"

using namespace seqc;

namespace {
const ConfigKey kSchema[] = {
    {.name = "size", .type = ConfigType::integer, .required = true, .min = 1, .max = 100},
    {.name = "eps", .type = ConfigType::number, .required = false, .num_default = 0.5, .min = 0, .max = 1},
    {.name = "on", .type = ConfigType::boolean, .required = false, .bool_default = true},
    {.name = "fn", .type = ConfigType::string, .required = false, .str_default = "a", .choices = "a|bb|c"},
};

Code validate_code(const char* json) {
  try {
    Config c = config_from_json_text(json, "t");
    c.validate(kSchema, "t");
    return Code::ok;
  } catch (const Error& e) {
    return e.code();
  }
}
}  // namespace

TEST_CASE("core/config/defaults_and_types") {
  Config c = config_from_json_text(R"({"size": 64.0})", "t");
  c.validate(kSchema, "t");
  CHECK(c.i("size") == 64);
  CHECK(c.f("eps") == 0.5);
  CHECK(c.b("on"));
  CHECK(c.s("fn") == "a");
  CHECK(c.to_json() == R"({"eps":0.5,"fn":"a","on":true,"size":64})");
}

TEST_CASE("core/config/refusals") {
  CHECK(validate_code(R"({"size": 3, "fn": "bb"})") == Code::ok);
  CHECK(validate_code(R"({})") == Code::config);
  CHECK(validate_code(R"({"size": 0})") == Code::config);
  CHECK(validate_code(R"({"size": -3})") == Code::config);
  CHECK(validate_code(R"({"size": 101})") == Code::config);
  CHECK(validate_code(R"({"size": 2.5})") == Code::config);
  CHECK(validate_code(R"({"size": "3"})") == Code::config);
  CHECK(validate_code(R"({"size": 1e999})") == Code::format);  // not representable: invalid JSON
  CHECK(validate_code(R"({"size": 18446744073709551615})") == Code::config);
  CHECK(validate_code(R"({"size": 3, "eps": 2})") == Code::config);
  CHECK(validate_code(R"({"size": 3, "eps": true})") == Code::config);
  CHECK(validate_code(R"({"size": 3, "on": 1})") == Code::config);
  CHECK(validate_code(R"({"size": 3, "fn": "b"})") == Code::config);
  CHECK(validate_code(R"({"size": 3, "extra": 1})") == Code::config);
  CHECK(validate_code(R"({"size": [3]})") == Code::config);
  CHECK(validate_code(R"({"size": null})") == Code::config);
  CHECK(validate_code(R"([1])") == Code::config);
}

TEST_CASE("core/json/hostile_text") {
  CHECK_THROWS_AS(parse_json(std::string(10000, '['), "x"), Error);
  try {
    parse_json(R"({"a": 1, "a": 2})", "x");
    FAIL("duplicate accepted");
  } catch (const Error& e) {
    CHECK(e.code() == Code::format);
    CHECK(std::string(e.what()).find("duplicate") != std::string::npos);
  }
  CHECK_NOTHROW(parse_json(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]})", "x"));
  CHECK_THROWS_AS(parse_json("\"\xff\"", "x"), Error);
  CHECK_THROWS_AS(parse_json("{} trailing", "x"), Error);
  std::string ok_depth;
  for (int i = 0; i < kMaxJsonDepth - 1; ++i) ok_depth += "[";
  for (int i = 0; i < kMaxJsonDepth - 1; ++i) ok_depth += "]";
  CHECK_NOTHROW(parse_json(ok_depth, "x"));
}
