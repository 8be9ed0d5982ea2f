#include "io/unicode.hpp"

#include <algorithm>
#include <vector>

namespace seqc::unicode {

namespace {
#include "io/unicode_tables.inc"

// Hangul syllables compose and decompose algorithmically (Unicode 3.12).
constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

}  // namespace

const char* version() { return SEQC_UNICODE_VERSION; }

Cat category(uint32_t cp) {
  if (cp >= 0x110000) return Cat::other;
  // The last run starting at or before cp.
  const uint32_t key = (cp << 3) | 7;
  const uint32_t* it = std::upper_bound(std::begin(kCategoryRuns), std::end(kCategoryRuns), key);
  return Cat(it[-1] & 7);
}

bool is_space(uint32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_word(uint32_t cp) {
  switch (category(cp)) {
    case Cat::letter: case Cat::digit: case Cat::letter_number: case Cat::mark: case Cat::connector:
      return true;
    default:
      return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) ||
             (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
             (cp >= 0x1F170 && cp <= 0x1F189);
  }
}

uint8_t combining_class(uint32_t cp) {
  if (cp < 0x300 || cp >= 0x110000) return 0;
  const uint32_t key = cp << 8;
  const uint32_t* it = std::lower_bound(std::begin(kCombiningClass), std::end(kCombiningClass), key);
  if (it != std::end(kCombiningClass) && (*it >> 8) == cp) return uint8_t(*it & 0xff);
  return 0;
}

uint32_t decode_utf8(std::string_view s, size_t i, size_t& len) {
  const auto b = [&](size_t k) { return uint32_t(static_cast<unsigned char>(s[k])); };
  const uint32_t c0 = b(i);
  len = 1;
  if (c0 < 0x80) return c0;
  size_t n;
  uint32_t cp, min;
  if (c0 >= 0xC2 && c0 <= 0xDF) n = 2, cp = c0 & 0x1F, min = 0x80;
  else if (c0 >= 0xE0 && c0 <= 0xEF) n = 3, cp = c0 & 0x0F, min = 0x800;
  else if (c0 >= 0xF0 && c0 <= 0xF4) n = 4, cp = c0 & 0x07, min = 0x10000;
  else return kInvalidBase + c0;
  if (i + n > s.size()) return kInvalidBase + c0;
  for (size_t k = 1; k < n; ++k) {
    const uint32_t c = b(i + k);
    if ((c & 0xC0) != 0x80) return kInvalidBase + c0;
    cp = (cp << 6) | (c & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return kInvalidBase + c0;
  len = n;
  return cp;
}

void encode_utf8(uint32_t cp, std::string& out) {
  if (cp >= kInvalidBase) {
    out += char(cp - kInvalidBase);
  } else if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

namespace {

void decompose(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp >= 0xC0 && cp < 0x110000) {
    const auto* it = std::lower_bound(std::begin(kDecompIndex), std::end(kDecompIndex), cp,
                                      [](const uint32_t(&e)[2], uint32_t v) { return e[0] < v; });
    if (it != std::end(kDecompIndex) && (*it)[0] == cp) {
      const uint32_t off = (*it)[1] >> 8, n = (*it)[1] & 0xff;
      out.insert(out.end(), kDecompData + off, kDecompData + off + n);
      return;
    }
  }
  out.push_back(cp);
}

// The primary composite of (a, b), or 0.
uint32_t compose(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const auto* it = std::lower_bound(std::begin(kCompose), std::end(kCompose), std::pair{a, b},
                                    [](const uint32_t(&e)[3], std::pair<uint32_t, uint32_t> v) {
                                      return e[0] < v.first || (e[0] == v.first && e[1] < v.second);
                                    });
  if (it != std::end(kCompose) && (*it)[0] == a && (*it)[1] == b) return (*it)[2];
  return 0;
}

}  // namespace

std::string nfc(std::string_view s) {
  // Decompose everything, then order each run of non-starters by class
  // (stable), then compose left to right.
  std::vector<uint32_t> cps;
  cps.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len;
    const uint32_t cp = decode_utf8(s, i, len);
    decompose(cp, cps);
    i += len;
  }
  for (size_t i = 0; i < cps.size();) {
    if (combining_class(cps[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < cps.size() && combining_class(cps[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(cps.begin() + ptrdiff_t(i), cps.begin() + ptrdiff_t(j),
                       [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
  // Composition: starter is the index of the last starter, last_cc the class
  // of the last character kept after it (blocking rule).
  size_t out_n = 0, starter = SIZE_MAX;
  int last_cc = -1;
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = cps[i];
    const int cc = combining_class(c);
    if (starter != SIZE_MAX) {
      // Not blocked: nothing kept in between, or everything in between has
      // a lower, non-zero class.
      const bool adjacent = out_n == starter + 1;
      if (adjacent || (last_cc != 0 && last_cc < cc)) {
        if (const uint32_t p = compose(cps[starter], c)) {
          cps[starter] = p;
          continue;
        }
      }
    }
    if (cc == 0) {
      starter = out_n;
      last_cc = -1;
    } else {
      last_cc = cc;
    }
    cps[out_n++] = c;
  }
  cps.resize(out_n);
  std::string out;
  out.reserve(s.size());
  for (uint32_t c : cps) encode_utf8(c, out);
  return out;
}

}  // namespace seqc::unicode
