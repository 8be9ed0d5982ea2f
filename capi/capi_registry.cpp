#include <cstring>
#include <string>

#include "capi_common.hpp"
#include "core/registry.hpp"

using namespace seqc;
using seqc::capi::guarded;
using seqc::capi::require;

namespace seqc::capi {

// Two-call copy of a string result: *out_len is the size with the NUL.
void copy_out(const std::string& text, char* buf, size_t cap, size_t* out_len) {
  require(out_len, "out_len");
  if (cap && !buf) fail(Code::invalid_argument, "buf is NULL but cap is ", cap);
  *out_len = text.size() + 1;
  if (cap < text.size() + 1)
    fail(Code::buffer_too_small, "need ", text.size() + 1, " bytes, the buffer has ", cap);
  std::memcpy(buf, text.c_str(), text.size() + 1);
}

}  // namespace seqc::capi

extern "C" {

size_t seqc_registry_count(void) { return Registry::instance().size(); }

const char* seqc_registry_name(size_t i) {
  const PluginDesc* d = Registry::instance().at(i);
  return d ? d->name : nullptr;
}

int32_t seqc_registry_kind(size_t i) {
  const PluginDesc* d = Registry::instance().at(i);
  return d ? int32_t(d->kind) : -1;
}

uint32_t seqc_registry_version(size_t i) {
  const PluginDesc* d = Registry::instance().at(i);
  return d ? d->version : 0;
}

const char* seqc_registry_summary(size_t i) {
  const PluginDesc* d = Registry::instance().at(i);
  return d ? d->summary : nullptr;
}

int seqc_registry_describe(const char* name, char* buf, size_t cap, size_t* out_len) {
  return guarded([&] {
    require(name, "name");
    const PluginDesc* d = Registry::instance().find(name);
    if (!d) fail(Code::not_found, "no plugin named '", name, "'");
    capi::copy_out(Registry::describe(*d), buf, cap, out_len);
  });
}

}  // extern "C"
