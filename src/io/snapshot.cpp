#include "io/snapshot.hpp"

#include <xxhash.h>

#include <cstring>

#include "core/status.hpp"

namespace seqc {

namespace {

constexpr size_t kFixedHeader = 104;  // bytes before the manifest
constexpr size_t kChecksumBytes = 8;

size_t manifest_entry_bytes(const StateEntry& e) {
  return 2 + e.name.size() + 4 + 8 * e.shape.size() + 16;
}

size_t header_bytes(const Model& m) {
  size_t n = kFixedHeader;
  for (const auto& e : m.states) n += manifest_entry_bytes(e);
  return align_up(n);
}

size_t payload_bytes(const Model& m) {
  size_t n = 0;
  for (const auto& e : m.states) n += align_up(e.nbytes);
  return n;
}

template <class T>
void put(std::byte*& p, T v) {
  std::memcpy(p, &v, sizeof v);
  p += sizeof v;
}

// Bounds-checked little-endian reader over the blob.
struct Reader {
  const std::byte* p;
  const std::byte* end;
  template <class T>
  T get() {
    if (size_t(end - p) < sizeof(T)) fail(Code::format, "snapshot: manifest runs past the header");
    T v;
    std::memcpy(&v, p, sizeof v);
    p += sizeof v;
    return v;
  }
};

}  // namespace

size_t snapshot_size(const Model& m) { return header_bytes(m) + payload_bytes(m) + kChecksumBytes; }

void snapshot_write(const Stream& s, std::byte* dst) {
  const Model& m = *s.model();
  const size_t header = header_bytes(m);
  const size_t total = snapshot_size(m);
  std::memset(dst, 0, header);
  std::byte* p = dst;
  std::memcpy(p, kSnapshotMagic, 8);
  p += 8;
  put<uint32_t>(p, kSnapshotVersion);
  put<uint32_t>(p, uint32_t(header));
  put<uint64_t>(p, total);
  std::memcpy(p, m.fingerprint.data(), 16);
  p += 16;
  put<int64_t>(p, s.position());
  put<uint64_t>(p, s.seed);
  for (uint64_t w : s.rng.s) put<uint64_t>(p, w);
  put<float>(p, s.sampling.temperature);
  put<int32_t>(p, s.sampling.top_k);
  put<float>(p, s.sampling.top_p);
  put<uint32_t>(p, uint32_t(m.states.size()));
  size_t off = 0;
  for (const auto& e : m.states) {
    put<uint16_t>(p, uint16_t(e.name.size()));
    std::memcpy(p, e.name.data(), e.name.size());
    p += e.name.size();
    put<uint8_t>(p, uint8_t(e.dtype));
    put<uint8_t>(p, 0);  // codec: raw
    put<uint8_t>(p, uint8_t(e.shape.size()));
    put<uint8_t>(p, 0);
    for (int64_t d : e.shape) put<int64_t>(p, d);
    put<uint64_t>(p, off);
    put<uint64_t>(p, e.nbytes);
    off += align_up(e.nbytes);
  }
  std::byte* payload = dst + header;
  std::memset(payload, 0, payload_bytes(m));
  for (const auto& e : m.states) {
    s.read_state(e.offset, payload, e.nbytes);
    payload += align_up(e.nbytes);
  }
  const uint64_t sum = XXH3_64bits(dst, total - kChecksumBytes);
  std::memcpy(dst + total - kChecksumBytes, &sum, 8);
}

void snapshot_restore(Stream& s, const std::byte* data, size_t size) {
  const Model& m = *s.model();
  if (size < 16 || std::memcmp(data, kSnapshotMagic, 8) != 0)
    fail(Code::format, "not a libseqcore snapshot (bad magic)");
  uint32_t version;
  std::memcpy(&version, data + 8, 4);
  if (version != kSnapshotVersion)
    fail(Code::version, "snapshot format version ", version, " is not supported (this library reads ",
         kSnapshotVersion, ")");
  if (size < kFixedHeader + kChecksumBytes) fail(Code::format, "snapshot truncated: ", size, " bytes");
  uint32_t header;
  uint64_t total;
  std::memcpy(&header, data + 12, 4);
  std::memcpy(&total, data + 16, 8);
  if (total != size)
    fail(Code::format, size < total ? "snapshot truncated: " : "snapshot has trailing bytes: ", size,
         " bytes, the header says ", total);
  uint64_t sum;
  std::memcpy(&sum, data + size - kChecksumBytes, 8);
  if (XXH3_64bits(data, size - kChecksumBytes) != sum)
    fail(Code::checksum, "snapshot checksum mismatch: the blob is corrupted");
  if (std::memcmp(data + 24, m.fingerprint.data(), 16) != 0)
    fail(Code::mismatch, "the snapshot was taken from another model (fingerprint differs from ",
         m.fingerprint_hex(), ")");
  if (header < kFixedHeader || header % kAlign || header > size - kChecksumBytes)
    fail(Code::format, "snapshot: header size ", header, " is invalid");

  Reader r{data + 40, data + header};
  const int64_t position = r.get<int64_t>();
  const uint64_t seed = r.get<uint64_t>();
  Rng rng;
  for (auto& w : rng.s) w = r.get<uint64_t>();
  SamplingParams sp;
  sp.temperature = r.get<float>();
  sp.top_k = r.get<int32_t>();
  sp.top_p = r.get<float>();
  const uint32_t n = r.get<uint32_t>();
  if (position < 0) fail(Code::format, "snapshot: negative position");
  try {
    check_sampling(sp);
  } catch (const Error& e) {
    fail(Code::format, "snapshot: ", e.what());
  }
  if (n != m.states.size())
    fail(Code::mismatch, "snapshot holds ", n, " state tensors, the model has ", m.states.size());
  const std::byte* payload = data + header;
  const size_t payload_size = size - kChecksumBytes - header;
  struct Piece { const StateEntry* e; const std::byte* src; };
  std::vector<Piece> pieces;
  for (const auto& e : m.states) {
    const uint16_t len = r.get<uint16_t>();
    if (size_t(r.end - r.p) < len) fail(Code::format, "snapshot: manifest runs past the header");
    const std::string name(reinterpret_cast<const char*>(r.p), len);
    r.p += len;
    const auto dtype = r.get<uint8_t>();
    const auto codec = r.get<uint8_t>();
    const auto ndim = r.get<uint8_t>();
    (void)r.get<uint8_t>();
    if (name != e.name)
      fail(Code::mismatch, "snapshot state tensor '", name, "' where the model has '", e.name, "'");
    if (codec != 0) fail(Code::unsupported, "snapshot tensor '", name, "' uses codec ", int(codec));
    if (dtype != uint8_t(e.dtype) || ndim != e.shape.size())
      fail(Code::mismatch, "snapshot tensor '", name, "' has another dtype or rank than the model's");
    for (int64_t d : e.shape)
      if (r.get<int64_t>() != d) fail(Code::mismatch, "snapshot tensor '", name, "' has another shape");
    const uint64_t off = r.get<uint64_t>();
    const uint64_t nbytes = r.get<uint64_t>();
    if (nbytes != e.nbytes || off > payload_size || nbytes > payload_size - off)
      fail(Code::format, "snapshot tensor '", name, "' lies outside the payload");
    pieces.push_back({&e, payload + off});
  }
  // Everything checked: apply.
  for (const Piece& pc : pieces) s.write_state(pc.e->offset, pc.src, pc.e->nbytes);
  s.position_ = position;
  s.seed = seed;
  s.rng = rng;
  s.sampling = sp;
}

}  // namespace seqc
