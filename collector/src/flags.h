// The command line of promdir-collector: the CLI11 flags, their help and
// examples, and their conversion into validated ServerOptions. Kept out of
// main.cc so that tests parse real argument vectors.
//
// Threads: used once, on the main thread, before the server starts.

#ifndef PROMDIR_COLLECTOR_SRC_FLAGS_H_
#define PROMDIR_COLLECTOR_SRC_FLAGS_H_

#include <functional>
#include <string>
#include <vector>

#include "options.h"
#include "promdir/status.h"

namespace CLI {
class App;
}

namespace promdir::http {

// The flags as typed; ToOptions validates them.
struct Flags {
  std::string dir;
  std::vector<std::string> listen_addresses = {":" + std::to_string(kDefaultPort)};
  bool systemd_socket = false;
  std::string web_config_file;
  std::string telemetry_path = "/metrics";
  std::string liveness = "auto";
  bool no_prune = false;
  bool reread_all = false;
  std::string compact_interval = "0";
  std::string log_level = "info";
  std::string log_format = "logfmt";
  size_t max_connections = 512;
  size_t workers = 4;
  std::string read_timeout = "5s";
  std::string write_timeout = "30s";
  std::string keep_alive_timeout = "5s";
  int gzip_level = 1;
};

// Registers every flag, --version and the help footer on `app`.
// `compaction` adds --compact-interval.
void AddFlags(CLI::App* app, Flags* flags, bool compaction);

// The help footer: example invocations.
std::string HelpFooter();

// Validates `flags` into *options. InvalidArgument naming the flag and the
// value otherwise. `getenv` supplies the directory's environment default.
Status ToOptions(const Flags& flags,
                 const std::function<const char*(const char*)>& getenv,
                 ServerOptions* options);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_FLAGS_H_
