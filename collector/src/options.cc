#include "options.h"

#include <cctype>
#include <charconv>

#include "promdir/directory.h"

namespace promdir::http {
namespace {

Status BadAddress(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("--web.listen-address \"" + std::string(text) +
                                 "\": " + std::string(why) +
                                 " (expected host:port, :port or [::1]:port)");
}

}  // namespace

Status ParseListenAddress(std::string_view text, ListenAddress* out) {
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return BadAddress(text, "missing ']'");
    host = text.substr(1, close - 1);
    if (host.empty()) return BadAddress(text, "empty IPv6 address");
    if (close + 1 >= text.size() || text[close + 1] != ':') {
      return BadAddress(text, "missing ':port' after ']'");
    }
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return BadAddress(text, "missing ':port'");
    host = text.substr(0, colon);
    if (host.find(':') != std::string_view::npos) {
      return BadAddress(text, "an IPv6 address must be written in brackets");
    }
    port = text.substr(colon + 1);
  }
  if (port.empty()) return BadAddress(text, "missing port");
  int value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 0 ||
      value > 65535) {
    return BadAddress(text, "the port must be a number from 0 to 65535");
  }
  out->host = std::string(host);
  out->port = value;
  return Status::OK();
}

std::string FormatListenAddress(const ListenAddress& address) {
  std::string host = address.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(address.port);
}

Status ParseDuration(std::string_view text, double* seconds) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument("duration \"" + std::string(text) +
                                   "\": " + std::string(why) +
                                   " (examples: 30s, 5m, 1h30m, 500ms, 0)");
  };
  if (text == "0") {
    *seconds = 0;
    return Status::OK();
  }
  if (text.empty()) return bad("empty");
  double total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start) return bad("expected a number");
    if (i - start > 12) return bad("number too large");
    double number = 0;
    for (size_t k = start; k < i; ++k) number = number * 10 + (text[k] - '0');
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale;
    if (unit == "ms") scale = 0.001;
    else if (unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    else if (unit == "d") scale = 86400;
    else if (unit.empty()) return bad("missing unit");
    else return bad("unknown unit \"" + std::string(unit) + "\"");
    total += number * scale;
  }
  *seconds = total;
  return Status::OK();
}

Status ResolveDirectory(
    const std::string& flag,
    const std::function<const char*(const char*)>& getenv, std::string* dir) {
  if (!flag.empty()) {
    *dir = flag;
    return Status::OK();
  }
  *dir = DirectoryFromEnvironment(getenv);
  if (!dir->empty()) return Status::OK();
  return Status::InvalidArgument(
      "no metrics directory: pass --dir DIR, or set PROMETHEUS_MULTIPROC_DIR "
      "(or the older prometheus_multiproc_dir)");
}

}  // namespace promdir::http
