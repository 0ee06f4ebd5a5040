#include "logger.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace promdir::http {
namespace {

// Backslash escapes shared by quoted logfmt values and JSON strings; bytes
// >= 0x80 pass through, so valid UTF-8 stays valid.
void AppendEscaped(std::string_view v, std::string* out) {
  for (char c : v) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(c);
        }
    }
  }
}

void AppendQuoted(std::string_view v, std::string* out) {
  out->push_back('"');
  AppendEscaped(v, out);
  out->push_back('"');
}

void AppendLogfmtValue(std::string_view v, std::string* out) {
  bool quote = v.empty();
  for (char c : v) {
    if (c == ' ' || c == '=' || c == '"' || c == '\\' ||
        static_cast<unsigned char>(c) < 0x20) {
      quote = true;
      break;
    }
  }
  if (quote) {
    AppendQuoted(v, out);
  } else {
    out->append(v);
  }
}

std::string NowTimestamp() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace

bool ParseLogLevel(std::string_view text, LogLevel* level) {
  if (text == "debug") *level = LogLevel::kDebug;
  else if (text == "info") *level = LogLevel::kInfo;
  else if (text == "warn") *level = LogLevel::kWarn;
  else if (text == "error") *level = LogLevel::kError;
  else return false;
  return true;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

bool ParseLogFormat(std::string_view text, LogFormat* format) {
  if (text == "logfmt") *format = LogFormat::kLogfmt;
  else if (text == "json") *format = LogFormat::kJson;
  else return false;
  return true;
}

std::string FormatLogLine(LogFormat format, std::string_view ts,
                          LogLevel level, std::string_view msg,
                          const LogFields& fields) {
  std::string line;
  if (format == LogFormat::kJson) {
    line.append("{\"ts\":");
    AppendQuoted(ts, &line);
    line.append(",\"level\":");
    AppendQuoted(LogLevelName(level), &line);
    line.append(",\"msg\":");
    AppendQuoted(msg, &line);
    for (const auto& [key, value] : fields) {
      line.push_back(',');
      AppendQuoted(key, &line);
      line.push_back(':');
      AppendQuoted(value, &line);
    }
    line.append("}\n");
  } else {
    line.append("ts=");
    line.append(ts);
    line.append(" level=");
    line.append(LogLevelName(level));
    line.append(" msg=");
    AppendLogfmtValue(msg, &line);
    for (const auto& [key, value] : fields) {
      line.push_back(' ');
      line.append(key);
      line.push_back('=');
      AppendLogfmtValue(value, &line);
    }
    line.push_back('\n');
  }
  return line;
}

Logger::Logger(LogLevel level, LogFormat format, int fd)
    : level_(level), format_(format), fd_(fd) {}

Logger::Logger(LogLevel level, LogFormat format,
               std::function<void(std::string_view)> sink)
    : level_(level), format_(format), fd_(-1), sink_(std::move(sink)) {}

void Logger::Log(LogLevel level, std::string_view msg,
                 const LogFields& fields) {
  if (!Enabled(level)) return;
  std::string line = FormatLogLine(format_, NowTimestamp(), level, msg, fields);
  if (sink_) {
    sink_(line);
    return;
  }
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failed log write
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace promdir::http
