// The registry: every plugin, in four kinds. Built-ins are registered from
// builtin_plugins.def on first use; lookups are locked.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "core/plugin.hpp"

namespace seqc {

class Registry {
 public:
  static Registry& instance();
  // Stable for the life of the process: entries are only ever appended.
  size_t size() const;
  const PluginDesc* at(size_t i) const;
  const PluginDesc* find(std::string_view name) const;
  // Adds an entry; Code::invalid_argument on a duplicate name.
  void add(const PluginDesc& desc);
  // Descriptor as JSON: schema, capabilities, and info for each test config.
  static std::string describe(const PluginDesc& desc);

 private:
  Registry();
  struct Impl;
  Impl* impl_;
};

}  // namespace seqc
