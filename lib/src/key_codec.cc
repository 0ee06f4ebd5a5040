#include "lib/src/key_codec.h"

#include <algorithm>
#include <cstdint>

#include "lib/src/utf8.h"

namespace promdir {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void AppendU16(uint32_t unit, std::string* out) {
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) {
    out->push_back(kHex[(unit >> shift) & 0xf]);
  }
}

// Decodes one UTF-8 sequence at s[*i]; advances *i. Surrogate code points in
// three-byte form are accepted. Returns false on invalid input.
bool NextCodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  return DecodeCodePoint(s, i, cp);
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

// A small parser for the one JSON shape a key has. Strings come out as
// views: of the key itself when they hold no escape (the usual case), else
// of the unescaped copy in `storage`, which never grows past the key's
// size (unescaping only shortens), so its views stay valid.
class KeyParser {
 public:
  KeyParser(std::string_view s, std::string* storage)
      : s_(s), storage_(storage) {
    storage_->clear();
    storage_->reserve(s.size());
  }

  Status Parse(DecodedKeyView* out) {
    SkipWs();
    if (!Eat('[')) return Bad("key is not a JSON list");
    std::string_view* strings[] = {&out->metric_name, &out->sample_name};
    for (std::string_view* dst : strings) {
      SkipWs();
      if (!ParseString(dst)) return Bad("key is not JSON");
      SkipWs();
      if (!Eat(',')) return Bad("key is not a 4-element JSON list");
    }
    SkipWs();
    if (!ParseLabels(&out->labels)) return Bad("key labels are not a JSON object of strings");
    SkipWs();
    if (Eat(']')) {
      return Bad("key is a 3-element list (written by a client before 0.16)");
    }
    if (!Eat(',')) return Bad("key is not a 4-element JSON list");
    SkipWs();
    if (!ParseString(&out->help)) return Bad("key help is not a JSON string");
    SkipWs();
    if (!Eat(']')) return Bad("key is not a 4-element JSON list");
    SkipWs();
    if (pos_ != s_.size()) return Bad("key has trailing bytes after the JSON list");
    return Status::OK();
  }

 private:
  static Status Bad(std::string_view why) { return Status::Corruption(why); }

  void SkipWs() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' ||
            s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool Hex4(uint32_t* v) {
    if (pos_ + 4 > s_.size()) return false;
    uint32_t r = 0;
    for (int j = 0; j < 4; ++j) {
      char c = s_[pos_ + j];
      r <<= 4;
      if (c >= '0' && c <= '9') r |= c - '0';
      else if (c >= 'a' && c <= 'f') r |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') r |= c - 'A' + 10;
      else return false;
    }
    pos_ += 4;
    *v = r;
    return true;
  }

  bool ParseString(std::string_view* out) {
    if (!Eat('"')) return false;
    // Plain text (ASCII or valid UTF-8, no escape) is viewed in place.
    const size_t start = pos_;
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        *out = s_.substr(start, pos_ - start);
        ++pos_;
        return true;
      }
      if (c < 0x20) return false;  // json.loads is strict by default
      if (c == '\\') break;
      if (c < 0x80) {
        ++pos_;
      } else {
        uint32_t cp;
        if (!NextCodePoint(s_, &pos_, &cp)) return false;
      }
    }
    if (pos_ >= s_.size()) return false;
    // An escape: the rest is unescaped into storage.
    std::string* buf = storage_;
    const size_t at = buf->size();
    buf->append(s_.substr(start, pos_ - start));
    while (pos_ < s_.size()) {
      unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        *out = std::string_view(*buf).substr(at);
        return true;
      }
      if (c < 0x20) return false;
      if (c != '\\') {
        size_t from = pos_;
        uint32_t cp;
        if (!NextCodePoint(s_, &pos_, &cp)) return false;
        buf->append(s_.substr(from, pos_ - from));
        continue;
      }
      ++pos_;
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"': buf->push_back('"'); break;
        case '\\': buf->push_back('\\'); break;
        case '/': buf->push_back('/'); break;
        case 'b': buf->push_back('\b'); break;
        case 'f': buf->push_back('\f'); break;
        case 'n': buf->push_back('\n'); break;
        case 'r': buf->push_back('\r'); break;
        case 't': buf->push_back('\t'); break;
        case 'u': {
          uint32_t u;
          if (!Hex4(&u)) return false;
          if (u >= 0xd800 && u <= 0xdbff && pos_ + 6 <= s_.size() &&
              s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
            size_t save = pos_;
            pos_ += 2;
            uint32_t lo;
            if (Hex4(&lo) && lo >= 0xdc00 && lo <= 0xdfff) {
              u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
            } else {
              pos_ = save;
            }
          }
          AppendUtf8(u, buf);  // a lone surrogate stays as three bytes
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  bool ParseLabels(std::vector<LabelView>* out) {
    out->clear();
    if (!Eat('{')) return false;
    SkipWs();
    if (Eat('}')) return true;
    while (true) {
      LabelView kv;
      SkipWs();
      if (!ParseString(&kv.first)) return false;
      SkipWs();
      if (!Eat(':')) return false;
      SkipWs();
      if (!ParseString(&kv.second)) return false;
      out->push_back(kv);
      SkipWs();
      if (Eat('}')) break;
      if (!Eat(',')) return false;
    }
    SortUnique(out);
    return true;
  }

  // Python writes labels sorted and unique (sort_keys=True), which one pass
  // confirms; json.loads takes any order and keeps a repeated name's last
  // value, as a dict does. O(n log n) at worst, never quadratic.
  static void SortUnique(std::vector<LabelView>* labels) {
    auto& v = *labels;
    bool sorted_unique = true;
    for (size_t i = 1; i < v.size() && sorted_unique; ++i) {
      sorted_unique = v[i - 1].first < v[i].first;
    }
    if (sorted_unique) return;
    std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.first < b.first;
    });
    size_t kept = 0;
    for (size_t i = 0; i < v.size(); ++i) {
      if (i + 1 < v.size() && v[i + 1].first == v[i].first) continue;
      v[kept++] = v[i];  // the last of a run of equal names
    }
    v.resize(kept);
  }

  std::string_view s_;
  std::string* storage_;
  size_t pos_ = 0;
};

}  // namespace

bool NextUtf8CodePoint(std::string_view s, size_t* i, uint32_t* cp) {
  return *i < s.size() && NextCodePoint(s, i, cp);
}

bool AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      if (c == '"') {
        out->append("\\\"");
      } else if (c == '\\') {
        out->append("\\\\");
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    uint32_t cp;
    if (!NextCodePoint(s, &i, &cp)) return false;
    switch (cp) {
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default:
        if (cp >= 0x10000) {
          uint32_t v = cp - 0x10000;
          AppendU16(0xd800 | (v >> 10), out);
          AppendU16(0xdc00 | (v & 0x3ff), out);
        } else {
          AppendU16(cp, out);
        }
    }
  }
  out->push_back('"');
  return true;
}

Result<std::string> EncodeKey(std::string_view metric_name,
                              std::string_view sample_name, LabelPairs labels,
                              std::string_view help) {
  std::sort(labels.begin(), labels.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].first == labels[i - 1].first) {
      return Status::InvalidArgument("label name '" + labels[i].first +
                                     "' given twice");
    }
  }
  std::string key;
  key.reserve(32 + metric_name.size() * 2 + help.size());
  key.push_back('[');
  if (!AppendJsonString(metric_name, &key)) {
    return Status::InvalidArgument("metric name is not valid UTF-8");
  }
  key.append(", ");
  if (!AppendJsonString(sample_name, &key)) {
    return Status::InvalidArgument("sample name is not valid UTF-8");
  }
  key.append(", {");
  bool first = true;
  for (const auto& [name, value] : labels) {
    if (!first) key.append(", ");
    first = false;
    if (!AppendJsonString(name, &key)) {
      return Status::InvalidArgument("label name is not valid UTF-8");
    }
    key.append(": ");
    if (!AppendJsonString(value, &key)) {
      return Status::InvalidArgument("value of label '" + name +
                                     "' is not valid UTF-8");
    }
  }
  key.append("}, ");
  if (!AppendJsonString(help, &key)) {
    return Status::InvalidArgument("help text is not valid UTF-8");
  }
  key.push_back(']');
  return key;
}

namespace {

bool ValidUtf8(std::string_view key) {
  size_t i = 0;
  uint32_t cp;
  while (i < key.size()) {
    if (static_cast<unsigned char>(key[i]) < 0x80) {  // ASCII: the usual
      ++i;
      continue;
    }
    if (!NextCodePoint(key, &i, &cp)) return false;
  }
  return true;
}

}  // namespace

Status DecodeKeyView(std::string_view key, DecodedKeyView* out) {
  Status s = KeyParser(key, &out->storage).Parse(out);
  // A parsed key is valid UTF-8 (its strings were checked, and nothing
  // else but ASCII is accepted); a key that is not says so first.
  if (!s.ok() && !ValidUtf8(key)) {
    return Status::Corruption("key is not valid UTF-8");
  }
  return s;
}

Status DecodeKey(std::string_view key, DecodedKey* out) {
  DecodedKeyView v;
  Status s = DecodeKeyView(key, &v);
  if (!s.ok()) return s;
  out->metric_name = v.metric_name;
  out->sample_name = v.sample_name;
  out->help = v.help;
  out->labels.clear();
  for (const auto& [name, value] : v.labels) out->labels.emplace_back(name, value);
  return Status::OK();
}

}  // namespace promdir
