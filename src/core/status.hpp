// Errors inside the library: a seqc::Error carries a pinned status code and a
// message. Internal code throws; capi/ turns it into a status and the
// thread-local message. Nothing here aborts.
#pragma once

#include <exception>
#include <sstream>
#include <string>
#include <utility>

namespace seqc {

// Mirrors seqc_status in include/seqcore/seqcore.h (checked by static_assert
// in capi/capi_common.cpp).
enum class Code : int {
  ok = 0,
  invalid_argument = -1,
  out_of_memory = -2,
  io = -3,
  format = -4,
  version = -5,
  checksum = -6,
  config = -7,
  unknown_plugin = -8,
  missing_tensor = -9,
  shape = -10,
  dtype = -11,
  mismatch = -12,
  buffer_too_small = -13,
  not_found = -14,
  unsupported = -15,
  no_device = -16,
  busy = -17,
  internal = -18,
};

const char* code_name(Code c) noexcept;

class Error : public std::exception {
 public:
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code() const noexcept { return code_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  Code code_;
  std::string message_;
};

// Concatenates any streamable values: cat("expected ", n, " floats").
template <class... Parts>
std::string cat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

template <class... Parts>
[[noreturn]] void fail(Code code, const Parts&... parts) {
  throw Error(code, cat(parts...));
}

// Internal invariant check that throws instead of aborting the host.
#define SEQC_CHECK(cond, ...)                                                  \
  do {                                                                         \
    if (!(cond))                                                               \
      ::seqc::fail(::seqc::Code::internal, __FILE__, ":", __LINE__,            \
                   ": check failed: " #cond " " __VA_OPT__(, ) __VA_ARGS__);   \
  } while (0)

}  // namespace seqc
