#include "npy.hpp"

#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>

namespace npy {

namespace {

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  throw std::runtime_error(path + ": " + why);
}

// Value of 'key': in the header dict, as raw text up to the next ',' or '}'
// at the same level (tuples are kept whole).
std::string field(const std::string& h, const std::string& key) {
  const size_t k = h.find("'" + key + "'");
  if (k == std::string::npos) return {};
  size_t p = h.find(':', k);
  if (p == std::string::npos) return {};
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  size_t e = p;
  int depth = 0;
  while (e < h.size()) {
    const char c = h[e];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if ((c == ',' || c == '}') && depth == 0) break;
    ++e;
  }
  return h.substr(p, e - p);
}

}  // namespace

Array load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) bad(path, "cannot open");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) bad(path, "not a .npy file");
  uint32_t hlen = 0;
  if (magic[6] == 1) {
    uint16_t h16;
    if (!in.read(reinterpret_cast<char*>(&h16), 2)) bad(path, "truncated header");
    hlen = h16;
  } else if (magic[6] == 2 || magic[6] == 3) {
    if (!in.read(reinterpret_cast<char*>(&hlen), 4)) bad(path, "truncated header");
  } else {
    bad(path, "unknown .npy version");
  }
  if (hlen > (1u << 20)) bad(path, "header too large");
  std::string h(hlen, '\0');
  if (!in.read(h.data(), hlen)) bad(path, "truncated header");
  const std::string descr = field(h, "descr");
  if (field(h, "fortran_order").rfind("False", 0) != 0) bad(path, "only C-order arrays are supported");
  const std::string shp = field(h, "shape");
  Array a;
  size_t p = shp.find('(');
  if (p == std::string::npos) bad(path, "bad shape");
  ++p;
  uint64_t n = 1;
  while (p < shp.size()) {
    while (p < shp.size() && (shp[p] == ' ' || shp[p] == ',')) ++p;
    if (p >= shp.size() || shp[p] == ')') break;
    size_t e;
    const long long d = std::stoll(shp.substr(p), &e);
    if (d < 0 || d > (1ll << 40)) bad(path, "bad shape");
    a.shape.push_back(d);
    n *= uint64_t(d);
    if (n > (uint64_t(1) << 36)) bad(path, "array too large");
    p += e;
  }
  size_t esize;
  if (descr == "'<f4'" || descr == "'<f8'") {
    a.is_float = true;
    esize = descr == "'<f4'" ? 4 : 8;
  } else if (descr == "'<i4'" || descr == "'<i8'") {
    a.is_float = false;
    esize = descr == "'<i4'" ? 4 : 8;
  } else {
    bad(path, "dtype " + descr + " is not supported (float32/float64/int32/int64)");
  }
  std::vector<char> raw(n * esize);
  if (!in.read(raw.data(), std::streamsize(raw.size()))) bad(path, "truncated data");
  if (a.is_float) {
    a.f.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      if (esize == 4) {
        std::memcpy(&a.f[k], raw.data() + 4 * k, 4);
      } else {
        double d;
        std::memcpy(&d, raw.data() + 8 * k, 8);
        a.f[k] = float(d);
      }
    }
  } else {
    a.i.resize(n);
    for (uint64_t k = 0; k < n; ++k) {
      if (esize == 4) {
        std::memcpy(&a.i[k], raw.data() + 4 * k, 4);
      } else {
        int64_t v;
        std::memcpy(&v, raw.data() + 8 * k, 8);
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
          bad(path, "token id does not fit in int32");
        a.i[k] = int32_t(v);
      }
    }
  }
  return a;
}

void save_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  std::string shp = "(";
  uint64_t n = 1;
  for (int64_t d : shape) {
    shp += std::to_string(d) + ",";
    n *= uint64_t(d);
  }
  if (shape.size() > 1) shp.pop_back();
  shp += ")";
  std::string h = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shp + ", }";
  while ((10 + h.size() + 1) % 64) h += ' ';
  h += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error(path + ": cannot write");
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t hlen = uint16_t(h.size());
  out.write(reinterpret_cast<const char*>(&hlen), 2);
  out.write(h.data(), std::streamsize(h.size()));
  out.write(reinterpret_cast<const char*>(data), std::streamsize(n * 4));
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace npy
