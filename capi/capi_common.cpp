// Versions, status strings and the thread-local error message.
#include "capi_common.hpp"

#include <string>

namespace seqc::capi {

namespace {
thread_local std::string t_error;
}

void clear_error() noexcept { t_error.clear(); }

int set_error(Code code, const char* message) noexcept {
  try {
    t_error = message;
  } catch (...) {
    t_error.clear();  // no memory for the message; the code still says what happened
  }
  return int(code);
}

}  // namespace seqc::capi

#define SEQC_SAME(c, cpp_code) static_assert(int(c) == int(seqc::Code::cpp_code));
SEQC_SAME(SEQC_OK, ok)
SEQC_SAME(SEQC_ERR_INVALID_ARGUMENT, invalid_argument)
SEQC_SAME(SEQC_ERR_OUT_OF_MEMORY, out_of_memory)
SEQC_SAME(SEQC_ERR_IO, io)
SEQC_SAME(SEQC_ERR_FORMAT, format)
SEQC_SAME(SEQC_ERR_VERSION, version)
SEQC_SAME(SEQC_ERR_CHECKSUM, checksum)
SEQC_SAME(SEQC_ERR_CONFIG, config)
SEQC_SAME(SEQC_ERR_UNKNOWN_PLUGIN, unknown_plugin)
SEQC_SAME(SEQC_ERR_MISSING_TENSOR, missing_tensor)
SEQC_SAME(SEQC_ERR_SHAPE, shape)
SEQC_SAME(SEQC_ERR_DTYPE, dtype)
SEQC_SAME(SEQC_ERR_MISMATCH, mismatch)
SEQC_SAME(SEQC_ERR_BUFFER_TOO_SMALL, buffer_too_small)
SEQC_SAME(SEQC_ERR_NOT_FOUND, not_found)
SEQC_SAME(SEQC_ERR_UNSUPPORTED, unsupported)
SEQC_SAME(SEQC_ERR_NO_DEVICE, no_device)
SEQC_SAME(SEQC_ERR_BUSY, busy)
SEQC_SAME(SEQC_ERR_INTERNAL, internal)
#undef SEQC_SAME

extern "C" {

uint32_t seqc_version(void) { return SEQC_VERSION_NUMBER; }
const char* seqc_version_string(void) { return SEQC_VERSION_STRING; }
uint32_t seqc_abi_version(void) { return SEQC_ABI_VERSION; }

const char* seqc_status_string(int status) {
  if (status > 0 || status < int(seqc::Code::internal)) return "unknown status";
  return seqc::code_name(seqc::Code(status));
}

const char* seqc_last_error(void) { return seqc::capi::t_error.c_str(); }

}  // extern "C"
