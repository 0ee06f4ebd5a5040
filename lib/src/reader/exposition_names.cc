#include "lib/src/reader/exposition_names.h"

#include <cstdint>

#include "lib/src/key_codec.h"

namespace promdir::exposition {
namespace {

bool LegacyRune(uint32_t c, size_t i, bool label) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         (c == ':' && !label) || (c >= '0' && c <= '9' && i > 0);
}

bool IsLegacy(std::string_view name, bool label) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!LegacyRune(static_cast<unsigned char>(name[i]), i, label)) {
      return false;
    }
  }
  return true;
}

constexpr char kHex[] = "0123456789abcdef";

void AppendHex(uint32_t cp, std::string* out) {
  char buf[8];
  int n = 0;
  do {
    buf[n++] = kHex[cp & 0xf];
    cp >>= 4;
  } while (cp != 0);
  while (n > 0) out->push_back(buf[--n]);
}

}  // namespace

void AppendEscapedName(std::string_view name, bool label,
                       NameEscaping escaping, std::string* out, bool always) {
  const bool legacy = !always && IsLegacy(name, label);
  if (escaping == NameEscaping::kAllowUtf8 ||
      (legacy && escaping != NameEscaping::kDots)) {
    out->append(name);
    return;
  }
  if (escaping == NameEscaping::kValues) out->append("U__");
  size_t i = 0;
  // Runes are counted as client_python counts characters: the first is 0.
  for (size_t rune = 0; i < name.size(); ++rune) {
    const size_t at = i;
    uint32_t cp = static_cast<unsigned char>(name[i]);
    if (cp < 0x80 || !NextUtf8CodePoint(name, &i, &cp)) {
      i = at + 1;  // (never invalid: keys are checked)
    }
    if (escaping == NameEscaping::kUnderscores) {
      out->push_back(LegacyRune(cp, rune, label) ? static_cast<char>(cp) : '_');
    } else if (cp == '_') {
      out->append("__");
    } else if (escaping == NameEscaping::kDots && cp == '.') {
      out->append("_dot_");
    } else if (LegacyRune(cp, rune, label)) {
      out->push_back(static_cast<char>(cp));
    } else if (escaping == NameEscaping::kDots) {
      out->append("__");
    } else {
      out->push_back('_');
      AppendHex(cp, out);
      out->push_back('_');
    }
  }
}

void AppendEscaped(std::string_view s, bool quote, std::string* out) {
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const char* rep = nullptr;
    if (c == '\\') rep = "\\\\";
    else if (c == '\n') rep = "\\n";
    else if (c == '"' && quote) rep = "\\\"";
    if (rep == nullptr) continue;
    out->append(s.data() + start, i - start);
    out->append(rep);
    start = i + 1;
  }
  out->append(s.data() + start, s.size() - start);
}

void AppendTextName(std::string_view name, bool label, NameEscaping escaping,
                    std::string* out) {
  if (escaping == NameEscaping::kAllowUtf8 && !IsLegacy(name, label)) {
    out->push_back('"');
    AppendEscaped(name, true, out);
    out->push_back('"');
    return;
  }
  AppendEscapedName(name, label, escaping, out);
}

}  // namespace promdir::exposition

namespace promdir {

bool IsLegacyMetricName(std::string_view name) {
  return exposition::IsLegacy(name, false);
}
bool IsLegacyLabelName(std::string_view name) {
  return exposition::IsLegacy(name, true);
}

}  // namespace promdir
