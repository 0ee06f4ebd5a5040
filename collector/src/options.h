// ServerOptions: everything promdir-collector is told on its command line,
// already validated, and the small parsers behind the flags
// (--web.listen-address, durations, the directory's environment default).
//
// Threads: plain values and pure functions; safe from any thread.

#ifndef PROMDIR_COLLECTOR_SRC_OPTIONS_H_
#define PROMDIR_COLLECTOR_SRC_OPTIONS_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "logger.h"
#include "web_config.h"
#include "promdir/merge.h"
#include "promdir/status.h"

namespace promdir::http {

// The default port: outside the 9100-9999 range that Prometheus exporters
// have fully allocated.
inline constexpr int kDefaultPort = 10464;

struct ListenAddress {
  std::string host;  // "" for every interface; "::1" without brackets
  int port = kDefaultPort;
};

// Parses "host:port", ":port" or "[v6addr]:port". The port is 0..65535
// (0: any free port). InvalidArgument naming `text` and what is wrong.
Status ParseListenAddress(std::string_view text, ListenAddress* out);

// "host:port" back, bracketing IPv6 hosts.
std::string FormatListenAddress(const ListenAddress& address);

// Parses a Prometheus-style duration: "0", or numbers with units ms, s, m,
// h, d, concatenated ("1h30m", "90s", "500ms"). InvalidArgument otherwise.
Status ParseDuration(std::string_view text, double* seconds);

// The metrics directory: `flag` if given, else $PROMETHEUS_MULTIPROC_DIR,
// else the older $prometheus_multiproc_dir. InvalidArgument naming the flag
// and both variables when none is set. `getenv` is injectable for tests.
Status ResolveDirectory(
    const std::string& flag,
    const std::function<const char*(const char*)>& getenv, std::string* dir);

struct ServerOptions {
  std::string directory;
  // Every address to listen on (--web.listen-address, repeatable); unused
  // with systemd_socket.
  std::vector<ListenAddress> listen = {ListenAddress{}};
  bool systemd_socket = false;      // --web.systemd-socket
  std::string web_config_file;      // --web.config.file, "" for none
  WebConfig web_config;             // parsed from it
  std::string telemetry_path = "/metrics";
  LivenessMode liveness = LivenessMode::kAuto;
  bool prune = true;                // false with --no-prune
  bool reuse_unchanged = true;      // false with --reread-all
  double compact_interval = 0;      // seconds; 0 = no background compaction
  LogLevel log_level = LogLevel::kInfo;
  LogFormat log_format = LogFormat::kLogfmt;
  // Open client connections at most; a connection past it gets 503.
  size_t max_connections = 512;
  // Threads that serve complete requests (idle connections hold none).
  size_t workers = 4;
  double read_timeout = 5;          // seconds for the handshake and request head
  double write_timeout = 30;        // seconds to send a response
  double keep_alive_timeout = 5;    // idle seconds before closing
  size_t keep_alive_max_requests = 1000;
  size_t max_request_line = 8192;       // bytes of the request line
  size_t max_header_line = 8192;        // bytes of one header line
  size_t max_header_bytes = 16 * 1024;  // the whole request head
  size_t max_headers = 64;              // request header lines
  size_t max_body_bytes = 4096;         // any request body
  int gzip_level = 1;                   // zlib level for gzip responses
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_OPTIONS_H_
