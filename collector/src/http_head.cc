#include "http_head.h"

#include <strings.h>

namespace promdir::http {
namespace {

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

bool IsTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

HeadScanner::State HeadScanner::Scan(std::string_view buffer) {
  while (pos_ < buffer.size()) {
    size_t nl = buffer.find('\n', pos_);
    size_t end = nl == std::string_view::npos ? buffer.size() : nl;
    size_t line_len = end - line_start_;
    if (line_len > 0 && nl != std::string_view::npos && buffer[end - 1] == '\r') --line_len;
    const size_t limit = lines_ == 0 ? limits_.max_request_line : limits_.max_header_line;
    if (line_len > limit) {
      reason_ = lines_ == 0 ? "request_line" : "header_line";
      return State::kTooLarge;
    }
    if (end >= limits_.max_head_bytes) {
      reason_ = "header_bytes";
      return State::kTooLarge;
    }
    if (nl == std::string_view::npos) {
      pos_ = buffer.size();
      return State::kIncomplete;
    }
    pos_ = nl + 1;
    if (line_len == 0 && lines_ > 0) {
      head_size_ = pos_;
      return State::kComplete;
    }
    line_start_ = pos_;
    if (++lines_ > limits_.max_headers + 1) {
      reason_ = "header_count";
      return State::kTooLarge;
    }
  }
  return State::kIncomplete;
}

std::string_view RequestHead::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) {
      return v;
    }
  }
  return {};
}

bool RequestHead::KeepAlive() const {
  std::string_view conn = Header("Connection");
  auto has = [&](std::string_view token) {
    for (size_t i = 0; i + token.size() <= conn.size(); ++i) {
      if (strncasecmp(conn.data() + i, token.data(), token.size()) == 0) return true;
    }
    return false;
  };
  if (has("close")) return false;
  return minor_version >= 1 || has("keep-alive");
}

bool ParseHead(std::string_view head, RequestHead* out) {
  *out = RequestHead();
  size_t nl = head.find('\n');
  if (nl == std::string_view::npos) return false;
  std::string_view line = TrimLine(head.substr(0, nl));
  size_t sp1 = line.find(' ');
  size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) return false;
  out->method = std::string(line.substr(0, sp1));
  for (char c : out->method) {
    if (!IsTokenChar(c)) return false;
  }
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (target.empty() || target.find(' ') != std::string_view::npos) return false;
  if (version == "HTTP/1.1") {
    out->minor_version = 1;
  } else if (version == "HTTP/1.0") {
    out->minor_version = 0;
  } else {
    return false;
  }
  out->target = std::string(target);
  out->path = out->target.substr(0, out->target.find('?'));
  size_t pos = nl + 1;
  while (pos < head.size()) {
    size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view h = head.substr(pos, end - pos);
    pos = end + 1;
    if (!h.empty() && h.back() == '\r') h.remove_suffix(1);
    if (h.empty()) break;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    std::string_view name = h.substr(0, colon);
    for (char c : name) {
      if (!IsTokenChar(c)) return false;
    }
    out->headers.emplace_back(std::string(name), std::string(TrimLine(h.substr(colon + 1))));
  }
  return true;
}

}  // namespace promdir::http
