#include "lib/src/utf8.h"

#include <cstdint>

namespace promdir {

bool DecodeCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t k = *i;
  const unsigned char c = p[k];
  size_t len;
  uint32_t v;
  if (c < 0x80) {
    len = 1;
    v = c;
  } else if ((c & 0xe0) == 0xc0) {
    len = 2;
    v = c & 0x1f;
  } else if ((c & 0xf0) == 0xe0) {
    len = 3;
    v = c & 0x0f;
  } else if ((c & 0xf8) == 0xf0) {
    len = 4;
    v = c & 0x07;
  } else {
    return false;
  }
  if (k + len > s.size()) return false;
  for (size_t j = 1; j < len; ++j) {
    if ((p[k + j] & 0xc0) != 0x80) return false;
    v = (v << 6) | (p[k + j] & 0x3f);
  }
  if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) ||
      (len == 4 && (v < 0x10000 || v > 0x10ffff))) {
    return false;
  }
  *cp = v;
  *i = k + len;
  return true;
}

namespace {

// The length of the strictly valid sequence at text[i], or 0.
size_t SequenceLength(std::string_view text, size_t i) {
  size_t end = i;
  uint32_t cp;
  if (!DecodeCodePoint(text, &end, &cp) || (cp >= 0xd800 && cp <= 0xdfff)) {
    return 0;
  }
  return end - i;
}

}  // namespace

bool IsStrictUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string ShowBytes(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t n = SequenceLength(text, i);
    if (n == 0) {
      const unsigned char c = static_cast<unsigned char>(text[i]);
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
      ++i;
      continue;
    }
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace promdir
