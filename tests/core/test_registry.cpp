#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/registry.hpp"
#include "core/status.hpp"

using namespace seqc;

TEST_CASE("core/registry/entries_are_unique_and_describe_themselves") {
  Registry& r = Registry::instance();
  REQUIRE(r.size() >= 7);
  std::set<std::string> names;
  for (size_t i = 0; i < r.size(); ++i) {
    const PluginDesc* d = r.at(i);
    CAPTURE(d->name);
    CHECK(names.insert(d->name).second);
    const std::string prefix = std::string(plugin_kind_name(d->kind)) + "/";
    CHECK(std::string(d->name).rfind(prefix, 0) == 0);
    const auto j = nlohmann::json::parse(Registry::describe(*d));
    CHECK(j["name"] == d->name);
    CHECK(j["config"].is_array());
    CHECK(r.find(d->name) == d);
  }
  CHECK(r.at(r.size()) == nullptr);
  CHECK(r.find("layer/nope") == nullptr);
  CHECK_THROWS_AS(r.add(*r.at(0)), Error);
}
