// Logger: one line per event on stderr, in logfmt or JSON, as Prometheus
// exporters log (`--log.level`, `--log.format`):
//
//   ts=2026-01-02T03:04:05.678Z level=info msg="listening" address=:10464
//   {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"listening","address":":10464"}
//
// Threads: Log() may be called from any thread; each line is written whole
// with one write(2), so lines from threads never interleave. Processes: a
// forked child inherits the descriptor; its lines are whole as well.

#ifndef PROMDIR_COLLECTOR_SRC_LOGGER_H_
#define PROMDIR_COLLECTOR_SRC_LOGGER_H_

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promdir::http {

enum class LogLevel { kDebug, kInfo, kWarn, kError };
enum class LogFormat { kLogfmt, kJson };

// "debug", "info", "warn", "error". Returns false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* level);
std::string_view LogLevelName(LogLevel level);
// "logfmt", "json". Returns false for anything else.
bool ParseLogFormat(std::string_view text, LogFormat* format);

using LogFields = std::vector<std::pair<std::string_view, std::string>>;

// Formats one line (with its trailing newline). `ts` is written as given.
std::string FormatLogLine(LogFormat format, std::string_view ts,
                          LogLevel level, std::string_view msg,
                          const LogFields& fields);

class Logger {
 public:
  // Writes to file descriptor `fd` (stderr by default).
  Logger(LogLevel level, LogFormat format, int fd = 2);
  // Sends every formatted line to `sink` instead (for tests).
  Logger(LogLevel level, LogFormat format,
         std::function<void(std::string_view)> sink);

  bool Enabled(LogLevel level) const { return level >= level_; }
  void Log(LogLevel level, std::string_view msg, const LogFields& fields = {});
  void Debug(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kDebug, msg, fields);
  }
  void Info(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kInfo, msg, fields);
  }
  void Warn(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kWarn, msg, fields);
  }
  void Error(std::string_view msg, const LogFields& fields = {}) {
    Log(LogLevel::kError, msg, fields);
  }

 private:
  LogLevel level_;
  LogFormat format_;
  int fd_;
  std::function<void(std::string_view)> sink_;
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_LOGGER_H_
