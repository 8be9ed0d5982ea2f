#include "io/safetensors.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "io/json_util.hpp"

namespace seqc {

using nlohmann::json;

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const StTensor* Safetensors::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const StTensor& t, std::string_view n) { return t.name < n; });
  return (it != tensors_.end() && it->name == name) ? &*it : nullptr;
}

namespace {

// A non-negative JSON integer that fits in uint64_t.
bool as_u64(const json& v, uint64_t& out) {
  if (v.is_number_unsigned()) {
    out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    out = uint64_t(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

Safetensors Safetensors::parse(const std::byte* data, size_t size) {
  if (size < 8) fail(Code::format, "safetensors: file is ", size, " bytes, shorter than the 8-byte header length");
  uint64_t n = 0;
  std::memcpy(&n, data, 8);  // little-endian (checked in dtype.cpp)
  if (n > size - 8)
    fail(Code::format, "safetensors: header length ", n, " runs past the end of the data (", size - 8, " bytes follow)");
  if (n > kMaxSafetensorsHeader)
    fail(Code::format, "safetensors: header length ", n, " exceeds the ", kMaxSafetensorsHeader, "-byte limit");
  if (n < 2) fail(Code::format, "safetensors: header of ", n, " bytes cannot hold a JSON object");

  const std::string_view text(reinterpret_cast<const char*>(data + 8), size_t(n));
  const json header = parse_json(text, "safetensors header");
  if (!header.is_object()) fail(Code::format, "safetensors: the header is not a JSON object");

  const std::byte* base = data + 8 + n;
  const uint64_t data_size = size - 8 - n;
  Safetensors st;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) fail(Code::format, "safetensors: __metadata__ is not an object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (!m.value().is_string())
          fail(Code::format, "safetensors: __metadata__ value of '", m.key(), "' is not a string");
        st.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (name.empty()) fail(Code::format, "safetensors: empty tensor name");
    if (!entry.is_object() || entry.size() != 3 || !entry.contains("dtype") ||
        !entry.contains("shape") || !entry.contains("data_offsets"))
      fail(Code::format, "safetensors: tensor '", name, "' must have exactly dtype, shape and data_offsets");
    const json& jd = entry["dtype"];
    if (!jd.is_string()) fail(Code::format, "safetensors: tensor '", name, "': dtype is not a string");
    const auto dt = dtype_from_safetensors(jd.get<std::string>());
    if (!dt) fail(Code::dtype, "safetensors: tensor '", name, "': unsupported dtype '", jd.get<std::string>(), "'");

    const json& js = entry["shape"];
    if (!js.is_array() || js.size() > size_t(kMaxTensorRank))
      fail(Code::format, "safetensors: tensor '", name, "': shape must be a list of at most ", kMaxTensorRank, " sizes");
    StTensor t;
    t.name = name;
    t.dtype = *dt;
    uint64_t numel = 1;
    bool overflow = false;
    for (const json& d : js) {
      uint64_t v;
      if (!as_u64(d, v) || v > uint64_t(std::numeric_limits<int64_t>::max()))
        fail(Code::format, "safetensors: tensor '", name, "': shape entries must be non-negative integers");
      if (v != 0 && numel > std::numeric_limits<uint64_t>::max() / v) overflow = true;
      numel *= v;
      t.shape.push_back(int64_t(v));
    }
    const uint64_t esize = dtype_size(*dt);
    if (overflow || numel > std::numeric_limits<uint64_t>::max() / esize)
      fail(Code::format, "safetensors: tensor '", name, "': element count overflows");
    const uint64_t nbytes = numel * esize;

    const json& jo = entry["data_offsets"];
    uint64_t begin, end;
    if (!jo.is_array() || jo.size() != 2 || !as_u64(jo[0], begin) || !as_u64(jo[1], end))
      fail(Code::format, "safetensors: tensor '", name, "': data_offsets must be two non-negative integers");
    if (begin > end || end > data_size)
      fail(Code::format, "safetensors: tensor '", name, "': data_offsets [", begin, ", ", end,
           ") out of range of the ", data_size, "-byte data section");
    if (end - begin != nbytes)
      fail(Code::format, "safetensors: tensor '", name, "': data_offsets span ", end - begin,
           " bytes but dtype and shape need ", nbytes);
    t.data = base + begin;
    t.nbytes = size_t(nbytes);
    st.tensors_.push_back(std::move(t));
  }

  // The data section must be covered exactly: no overlaps, no holes.
  std::vector<const StTensor*> by_offset;
  for (const auto& t : st.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const StTensor* a, const StTensor* b) {
    return a->data != b->data ? a->data < b->data : a->nbytes < b->nbytes;
  });
  uint64_t cursor = 0;
  for (const StTensor* t : by_offset) {
    const uint64_t begin = uint64_t(t->data - base);
    if (begin < cursor)
      fail(Code::format, "safetensors: tensor '", t->name, "' overlaps the tensor before it");
    if (begin > cursor)
      fail(Code::format, "safetensors: ", begin - cursor, " unreferenced bytes before tensor '", t->name, "'");
    cursor = begin + t->nbytes;
  }
  if (cursor != data_size)
    fail(Code::format, "safetensors: ", data_size - cursor, " bytes after the last tensor are not referenced by the header");

  std::sort(st.tensors_.begin(), st.tensors_.end(),
            [](const StTensor& a, const StTensor& b) { return a.name < b.name; });
  return st;
}

MappedFile::MappedFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail(Code::io, "cannot open '", path, "': ", std::strerror(errno));
  struct stat sb;
  if (::fstat(fd, &sb) != 0) {
    const int e = errno;
    ::close(fd);
    fail(Code::io, "cannot stat '", path, "': ", std::strerror(e));
  }
  if (!S_ISREG(sb.st_mode)) {
    ::close(fd);
    fail(Code::io, "'", path, "' is not a regular file");
  }
  size_ = size_t(sb.st_size);
  if (size_ == 0) {
    ::close(fd);
    return;
  }
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p != MAP_FAILED) {
    data_ = static_cast<const std::byte*>(p);
    mapped_ = true;
    ::close(fd);
    return;
  }
  // Some file systems refuse mmap: read the file instead.
  copy_.resize(size_);
  size_t got = 0;
  while (got < size_) {
    const ssize_t r = ::read(fd, copy_.data() + got, size_ - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      const int e = errno;
      ::close(fd);
      fail(Code::io, "cannot read '", path, "': ", r == 0 ? "unexpected end of file" : std::strerror(e));
    }
    got += size_t(r);
  }
  ::close(fd);
  data_ = copy_.data();
}

MappedFile::~MappedFile() {
  if (mapped_) ::munmap(const_cast<std::byte*>(data_), size_);
}

std::vector<std::byte> write_safetensors(const std::vector<StWriteTensor>& tensors,
                                         const std::map<std::string, std::string>& metadata) {
  std::vector<const StWriteTensor*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(),
            [](const StWriteTensor* a, const StWriteTensor* b) { return a->name < b->name; });
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const StWriteTensor* t : sorted) {
    header[t->name] = {{"dtype", dtype_safetensors_name(t->dtype)},
                       {"shape", t->shape},
                       {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  std::string text = header.dump();
  while (text.size() % 8) text += ' ';
  std::vector<std::byte> out(8 + text.size() + offset);
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  std::memcpy(out.data() + 8, text.data(), text.size());
  std::byte* p = out.data() + 8 + text.size();
  for (const StWriteTensor* t : sorted) {
    if (t->nbytes) std::memcpy(p, t->data, t->nbytes);
    p += t->nbytes;
  }
  return out;
}

}  // namespace seqc
