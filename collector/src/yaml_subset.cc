#include "yaml_subset.h"

#include <cstdint>

namespace promdir::http {
namespace {

struct Line {
  int number;
  int indent;
  std::string_view text;  // after the indentation, comment and trailing blanks
};

Status Error(int line, std::string_view what) {
  return Status::InvalidArgument("line " + std::to_string(line) + ": " +
                                 std::string(what));
}

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

// The text without a trailing comment: '#' at the start or after a blank,
// outside quotes.
std::string_view StripComment(std::string_view s) {
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote != 0) {
      if (c == '\\' && quote == '"') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '"' || c == '\'') {
      if (i == 0 || IsBlank(s[i - 1]) || s[i - 1] == '[' || s[i - 1] == '{' ||
          s[i - 1] == ',' || s[i - 1] == ':') {
        quote = c;
      }
    } else if (c == '#' && (i == 0 || IsBlank(s[i - 1]))) {
      return s.substr(0, i);
    }
  }
  return s;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Line> lines) : lines_(std::move(lines)) {}

  Status Document(YamlNode* root) {
    if (lines_.empty()) return Status::OK();
    if (lines_[0].indent != 0) return Error(lines_[0].number, "the document must not be indented");
    Status s = Block(0, 0, root);
    if (!s.ok()) return s;
    if (pos_ < lines_.size()) return Error(lines_[pos_].number, "unexpected indentation");
    return Status::OK();
  }

 private:
  static bool IsItem(std::string_view t) {
    return !t.empty() && t[0] == '-' && (t.size() == 1 || t[1] == ' ');
  }

  Status Block(int indent, int depth, YamlNode* out) {
    if (depth > kMaxYamlDepth) return Error(lines_[pos_].number, "nested too deeply");
    out->line = lines_[pos_].number;
    return IsItem(lines_[pos_].text) ? List(indent, depth, out) : Map(indent, depth, out);
  }

  // The node under a key or list item whose own line had no value.
  Status Nested(int indent, int depth, bool list_allowed_at_same, YamlNode* out) {
    if (pos_ < lines_.size()) {
      const Line& next = lines_[pos_];
      if (next.indent > indent ||
          (list_allowed_at_same && next.indent == indent && IsItem(next.text))) {
        return Block(next.indent, depth + 1, out);
      }
    }
    out->kind = YamlNode::Kind::kNull;
    return Status::OK();
  }

  Status Map(int indent, int depth, YamlNode* out) {
    out->kind = YamlNode::Kind::kMap;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent) {
      Line line = lines_[pos_];
      if (IsItem(line.text)) return Error(line.number, "a list item where a map key was expected");
      size_t colon = 0;
      std::string key;
      Status s = Key(line, &key, &colon);
      if (!s.ok()) return s;
      for (const auto& [k, v] : out->map) {
        if (k == key) return Error(line.number, "duplicate key \"" + key + "\"");
      }
      YamlNode value;
      value.line = line.number;
      std::string_view rest = Trim(line.text.substr(colon + 1));
      ++pos_;
      if (rest.empty()) {
        s = Nested(indent, depth, /*list_allowed_at_same=*/true, &value);
        value.line = line.number;  // a map's value is found at its key
      } else {
        s = Inline(rest, line.number, depth, &value);
      }
      if (!s.ok()) return s;
      out->map.push_back(YamlEntry{std::move(key), std::move(value)});
    }
    return Status::OK();
  }

  Status List(int indent, int depth, YamlNode* out) {
    out->kind = YamlNode::Kind::kList;
    while (pos_ < lines_.size() && lines_[pos_].indent == indent &&
           IsItem(lines_[pos_].text)) {
      Line& line = lines_[pos_];
      std::string_view rest = line.text.substr(1);
      size_t skipped = 1;
      while (!rest.empty() && rest.front() == ' ') {
        rest.remove_prefix(1);
        ++skipped;
      }
      YamlNode item;
      item.line = line.number;
      Status s;
      if (rest.empty()) {
        ++pos_;
        s = Nested(indent, depth, false, &item);
      } else if (KeyColon(rest) != std::string_view::npos) {
        // "- key: value": a map whose keys line up with this first key.
        line.indent += static_cast<int>(skipped);
        line.text = rest;
        s = Block(line.indent, depth + 1, &item);
      } else {
        ++pos_;
        s = Inline(rest, line.number, depth, &item);
      }
      if (!s.ok()) return s;
      out->list.push_back(std::move(item));
    }
    return Status::OK();
  }

  // Where the ':' ending a map key is in `t`, or npos.
  static size_t KeyColon(std::string_view t) {
    if (t.empty() || t[0] == '[' || t[0] == '{') return std::string_view::npos;
    size_t i = 0;
    if (t[0] == '"' || t[0] == '\'') {
      char q = t[0];
      for (i = 1; i < t.size(); ++i) {
        if (q == '"' && t[i] == '\\') {
          ++i;
        } else if (t[i] == q) {
          if (q == '\'' && i + 1 < t.size() && t[i + 1] == '\'') {
            ++i;
            continue;
          }
          break;
        }
      }
      if (i >= t.size()) return std::string_view::npos;
      ++i;
      if (i < t.size() && t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
      return std::string_view::npos;
    }
    for (; i < t.size(); ++i) {
      if (t[i] == ':' && (i + 1 == t.size() || t[i + 1] == ' ')) return i;
    }
    return std::string_view::npos;
  }

  Status Key(const Line& line, std::string* key, size_t* colon) {
    *colon = KeyColon(line.text);
    if (*colon == std::string_view::npos) {
      return Error(line.number, "expected \"key: value\"");
    }
    std::string_view raw = Trim(line.text.substr(0, *colon));
    if (raw.empty()) return Error(line.number, "empty key");
    YamlNode node;
    Status s = Scalar(raw, line.number, &node);
    if (!s.ok()) return s;
    if (node.kind != YamlNode::Kind::kScalar) return Error(line.number, "a key must be a string");
    *key = std::move(node.scalar);
    return Status::OK();
  }

  Status Inline(std::string_view t, int line, int depth, YamlNode* out) {
    out->line = line;
    if (t[0] == '[' || t[0] == '{') {
      size_t i = 0;
      Status s = Flow(t, &i, line, depth + 1, out);
      if (!s.ok()) return s;
      if (i != t.size()) return Error(line, "unexpected text after a flow collection");
      return Status::OK();
    }
    return Scalar(t, line, out);
  }

  static Status Quoted(std::string_view t, int line, std::string* out, size_t* end) {
    char q = t[0];
    for (size_t i = 1; i < t.size(); ++i) {
      char c = t[i];
      if (c == q) {
        if (q == '\'' && i + 1 < t.size() && t[i + 1] == '\'') {
          out->push_back('\'');
          ++i;
          continue;
        }
        *end = i + 1;
        return Status::OK();
      }
      if (q == '"' && c == '\\') {
        if (++i >= t.size()) break;
        switch (t[i]) {
          case 'n': out->push_back('\n'); break;
          case 't': out->push_back('\t'); break;
          case 'r': out->push_back('\r'); break;
          case '0': out->push_back('\0'); break;
          case '"': case '\\': case '/': case ' ': out->push_back(t[i]); break;
          case 'u': {
            if (i + 4 >= t.size()) return Error(line, "bad \\u escape");
            uint32_t cp = 0;
            for (int k = 1; k <= 4; ++k) {
              char h = t[i + k];
              int d = h >= '0' && h <= '9' ? h - '0'
                      : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
              if (d < 0) return Error(line, "bad \\u escape");
              cp = cp * 16 + static_cast<uint32_t>(d);
            }
            AppendUtf8(cp, out);
            i += 4;
            break;
          }
          default: return Error(line, "unsupported escape in a double-quoted string");
        }
        continue;
      }
      out->push_back(c);
    }
    return Error(line, "unterminated quoted string");
  }

  static Status Scalar(std::string_view t, int line, YamlNode* out) {
    out->line = line;
    out->kind = YamlNode::Kind::kScalar;
    if (t[0] == '"' || t[0] == '\'') {
      size_t end = 0;
      Status s = Quoted(t, line, &out->scalar, &end);
      if (!s.ok()) return s;
      if (!Trim(t.substr(end)).empty()) return Error(line, "unexpected text after a quoted string");
      out->quoted = true;
      return Status::OK();
    }
    switch (t[0]) {
      case '&': case '*': return Error(line, "anchors and aliases are not supported");
      case '!': return Error(line, "tags are not supported");
      case '|': case '>': return Error(line, "block scalars (| and >) are not supported; use a quoted string");
      case '%': case '@': case '`': return Error(line, "a plain value must not start with " + std::string(1, t[0]));
      case ']': case '}': case ',': return Error(line, "unexpected " + std::string(1, t[0]));
      default: break;
    }
    if (KeyColon(t) != std::string_view::npos) {
      return Error(line, "a nested map must start on its own line");
    }
    if (t == "~" || t == "null" || t == "Null" || t == "NULL") {
      out->kind = YamlNode::Kind::kNull;
      return Status::OK();
    }
    out->scalar = std::string(t);
    return Status::OK();
  }

  // A flow collection starting at t[*i]; leaves *i after its closing bracket.
  Status Flow(std::string_view t, size_t* i, int line, int depth, YamlNode* out) {
    if (depth > kMaxYamlDepth) return Error(line, "nested too deeply");
    const bool is_map = t[*i] == '{';
    const char close = is_map ? '}' : ']';
    out->kind = is_map ? YamlNode::Kind::kMap : YamlNode::Kind::kList;
    out->line = line;
    ++*i;
    bool need_item = false;
    while (true) {
      while (*i < t.size() && IsBlank(t[*i])) ++*i;
      if (*i >= t.size()) return Error(line, std::string("missing '") + close + "'");
      if (t[*i] == close && !need_item) {
        ++*i;
        return Status::OK();
      }
      std::string key;
      if (is_map) {
        YamlNode k;
        Status s = FlowItem(t, i, line, depth, ":", &k);
        if (!s.ok()) return s;
        if (k.kind != YamlNode::Kind::kScalar) return Error(line, "a key must be a string");
        if (*i >= t.size() || t[*i] != ':') return Error(line, "expected ':' in a flow map");
        ++*i;
        key = std::move(k.scalar);
        for (const auto& [other, v] : out->map) {
          if (other == key) return Error(line, "duplicate key \"" + key + "\"");
        }
      }
      YamlNode value;
      Status s = FlowItem(t, i, line, depth, is_map ? "}" : "]", &value);
      if (!s.ok()) return s;
      if (is_map) {
        out->map.push_back(YamlEntry{std::move(key), std::move(value)});
      } else {
        out->list.push_back(std::move(value));
      }
      while (*i < t.size() && IsBlank(t[*i])) ++*i;
      if (*i < t.size() && t[*i] == ',') {
        ++*i;
        need_item = true;
      } else if (*i < t.size() && t[*i] == close) {
        need_item = false;
      } else {
        return Error(line, std::string("expected ',' or '") + close + "'");
      }
    }
  }

  // One item of a flow collection: a nested collection, a quoted or a
  // plain scalar ending before ',', `stop` or the end.
  Status FlowItem(std::string_view t, size_t* i, int line, int depth,
                  std::string_view stop, YamlNode* out) {
    while (*i < t.size() && IsBlank(t[*i])) ++*i;
    if (*i >= t.size()) return Error(line, "unterminated flow collection");
    char c = t[*i];
    if (c == '[' || c == '{') return Flow(t, i, line, depth + 1, out);
    out->line = line;
    if (c == '"' || c == '\'') {
      size_t end = 0;
      out->kind = YamlNode::Kind::kScalar;
      out->quoted = true;
      Status s = Quoted(t.substr(*i), line, &out->scalar, &end);
      if (!s.ok()) return s;
      *i += end;
      while (*i < t.size() && IsBlank(t[*i])) ++*i;
      return Status::OK();
    }
    size_t start = *i;
    while (*i < t.size() && t[*i] != ',' && t[*i] != ']' && t[*i] != '}' &&
           stop.find(t[*i]) == std::string_view::npos) {
      if (t[*i] == '[' || t[*i] == '{') return Error(line, "unexpected bracket in a flow value");
      ++*i;
    }
    std::string_view plain = Trim(t.substr(start, *i - start));
    if (plain.empty()) return Error(line, "empty item in a flow collection");
    return Scalar(plain, line, out);
  }

  std::vector<Line> lines_;
  size_t pos_ = 0;
};

Status SplitLines(std::string_view text, std::vector<Line>* lines) {
  int number = 0;
  bool seen_content = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(start, end - start);
    start = end + 1;
    ++number;
    for (char c : raw) {
      if (c == '\0') return Error(number, "NUL byte");
    }
    int indent = 0;
    while (static_cast<size_t>(indent) < raw.size() && raw[indent] == ' ') ++indent;
    std::string_view body = Trim(StripComment(raw.substr(indent)));
    if (body.empty()) {
      if (end == text.size()) break;
      continue;
    }
    if (raw[indent] == '\t') return Error(number, "a tab in indentation (use spaces)");
    if (indent == 0 && (body == "---" || body.rfind("--- ", 0) == 0)) {
      if (seen_content) return Error(number, "only one YAML document is supported");
      if (body != "---") return Error(number, "text after '---'");
      seen_content = true;
      continue;
    }
    if (indent == 0 && body == "...") return Error(number, "'...' is not supported");
    seen_content = true;
    lines->push_back(Line{number, indent, body});
    if (end == text.size()) break;
  }
  return Status::OK();
}

}  // namespace

const YamlNode* YamlNode::Find(std::string_view key) const {
  for (const auto& [k, v] : map) {
    if (k == key) return &v;
  }
  return nullptr;
}

Status ParseYamlSubset(std::string_view text, YamlNode* root) {
  *root = YamlNode();
  if (text.size() > kMaxYamlBytes) {
    return Status::InvalidArgument("the file is larger than " +
                                   std::to_string(kMaxYamlBytes) + " bytes");
  }
  std::vector<Line> lines;
  Status s = SplitLines(text, &lines);
  if (!s.ok()) return s;
  Parser parser(std::move(lines));
  return parser.Document(root);
}

}  // namespace promdir::http
