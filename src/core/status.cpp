#include "core/status.hpp"

namespace seqc {

const char* code_name(Code c) noexcept {
  switch (c) {
    case Code::ok: return "ok";
    case Code::invalid_argument: return "invalid argument";
    case Code::out_of_memory: return "out of memory";
    case Code::io: return "i/o error";
    case Code::format: return "malformed data";
    case Code::version: return "unsupported format version";
    case Code::checksum: return "checksum mismatch";
    case Code::config: return "invalid config";
    case Code::unknown_plugin: return "unknown plugin";
    case Code::missing_tensor: return "missing tensor";
    case Code::shape: return "wrong shape";
    case Code::dtype: return "wrong dtype";
    case Code::mismatch: return "mismatch";
    case Code::buffer_too_small: return "buffer too small";
    case Code::not_found: return "not found";
    case Code::unsupported: return "unsupported";
    case Code::no_device: return "no device";
    case Code::busy: return "busy";
    case Code::internal: return "internal error";
  }
  return "unknown status";
}

}  // namespace seqc
