#include "flags.h"

#include <CLI/CLI.hpp>

#include "version.h"

namespace promdir::http {
namespace {

Status FlagError(std::string_view flag, const std::string& value,
                 std::string_view why) {
  return Status::InvalidArgument(std::string(flag) + " \"" + value + "\": " +
                                 std::string(why));
}

Status Timeout(std::string_view flag, const std::string& value, double* out) {
  Status s = ParseDuration(value, out);
  if (!s.ok()) return FlagError(flag, value, s.message());
  if (*out <= 0) return FlagError(flag, value, "must be more than 0");
  return Status::OK();
}

}  // namespace

std::string HelpFooter() {
  return R"(Serves the merged metrics of a multiprocess directory (Python
prometheus_client's format, also written by promdir's C++ writers) on one
/metrics endpoint for Prometheus. Bad files are skipped and logged once, by
name; the collector's own metrics are under promdir_collector_.

Endpoints:
  /metrics     merged metrics (text 0.0.4, or as Accept asks: text 1.0.0,
               OpenMetrics 1.0.0 or 0.0.1, delimited protobuf; escaping= for
               UTF-8 names; gzip when Accept-Encoding allows it)
  /            a landing page
  /-/healthy   200 while the process runs (never waits for scrapes, and
               needs no credentials)
  /-/ready     200 when the directory can be listed, else 503

By default it listens on every interface, as exporters do; it warns when
that comes without TLS or authentication.

Examples:
  # Serve $PROMETHEUS_MULTIPROC_DIR on :10464
  PROMETHEUS_MULTIPROC_DIR=/run/app-metrics promdir-collector

  # An explicit directory, only on localhost, JSON logs
  promdir-collector --dir /run/app-metrics \
      --web.listen-address 127.0.0.1:10464 --log.format json

  # TLS and basic auth, in the exporter-toolkit web config format
  promdir-collector --dir /run/app-metrics --web.config.file web.yml

  # Socket activation by a systemd .socket unit
  promdir-collector --dir /run/app-metrics --web.systemd-socket

  # Python's view of liveness (the id as a pid, mark_process_dead style)
  promdir-collector --dir /run/app-metrics --liveness pid

  # Compact dead workers' files every 10 minutes
  promdir-collector --dir /run/app-metrics --compact-interval 10m

  # Scrape it as Prometheus does
  curl -H 'Accept: application/openmetrics-text;version=1.0.0' \
      http://localhost:10464/metrics

Exit status: 0 after SIGTERM or SIGINT; 1 when it cannot serve (port in
use, bad address, unusable certificate); 2 on bad flags or a bad web
config file.)";
}

void AddFlags(CLI::App* app, Flags* f, bool compaction) {
  app->set_version_flag("--version", std::string("promdir-collector ") +
                                         kPromdirVersion);
  app->add_option("--dir", f->dir,
                  "Metrics directory (default: $PROMETHEUS_MULTIPROC_DIR, "
                  "else $prometheus_multiproc_dir)")
      ->option_text("DIR");
  app->add_option("--web.listen-address", f->listen_addresses,
                  "Address to listen on: host:port, :port (every interface) "
                  "or [::1]:port; port 0 picks a free one. Repeat it to "
                  "listen on several")
      ->capture_default_str()
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app->add_flag("--web.systemd-socket", f->systemd_socket,
                "Use the sockets systemd passes (socket activation, "
                "LISTEN_FDS) instead of --web.listen-address");
  app->add_option("--web.config.file", f->web_config_file,
                  "TLS and basic auth configuration, in the Prometheus "
                  "exporter-toolkit web config format (YAML)")
      ->option_text("FILE");
  app->add_option("--web.telemetry-path", f->telemetry_path,
                  "Path that serves the metrics")
      ->capture_default_str();
  app->add_option("--liveness", f->liveness,
                  "How a dead writer is recognised: auto (the kernel: "
                  "promdir's lock, or any process having the file open for "
                  "writing; any id, any pid namespace), lock, pid (the id "
                  "as a pid of our namespace), none")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "lock", "pid", "none"}));
  app->add_flag("--no-prune", f->no_prune,
                "Leave dead writers' live* gauge files on disk (they are "
                "still left out of /metrics)");
  app->add_flag("--reread-all", f->reread_all,
                "Read every file on every scrape. By default a file that no "
                "process has had open for writing since the last scrape "
                "(a gone writer's) is served from memory unread; the "
                "directory is watched with inotify to know");
  if (compaction) {
    app->add_option("--compact-interval", f->compact_interval,
                    "Fold dead writers' files into archives this often, in "
                    "the background (e.g. 10m); 0 turns it off")
        ->capture_default_str();
  }
  app->add_option("--log.level", f->log_level, "debug, info, warn or error")
      ->capture_default_str()
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app->add_option("--log.format", f->log_format, "logfmt or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"logfmt", "json"}));
  app->add_option("--web.max-connections", f->max_connections,
                  "Open client connections at most; past it a new one gets "
                  "503 and is closed")
      ->capture_default_str()
      ->check(CLI::Range(1, 900));
  app->add_option("--web.workers", f->workers,
                  "Threads serving complete requests; idle and slow "
                  "connections hold none")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app->add_option("--web.read-timeout", f->read_timeout,
                  "Time allowed for the TLS handshake and the whole request "
                  "head, however slowly its bytes arrive")
      ->capture_default_str();
  app->add_option("--web.write-timeout", f->write_timeout,
                  "Time allowed to send a response")
      ->capture_default_str();
  app->add_option("--web.keep-alive-timeout", f->keep_alive_timeout,
                  "Time a connection may sit idle before its first or next request; this bounds how long a silent client holds a worker")
      ->capture_default_str();
  app->add_option("--web.gzip-level", f->gzip_level,
                  "zlib level of gzipped responses (1 fastest .. 9 smallest)")
      ->capture_default_str()
      ->check(CLI::Range(1, 9));
  app->footer(HelpFooter());
}

Status ToOptions(const Flags& f,
                 const std::function<const char*(const char*)>& getenv,
                 ServerOptions* o) {
  Status s = ResolveDirectory(f.dir, getenv, &o->directory);
  if (!s.ok()) return s;
  o->listen.clear();
  for (const std::string& text : f.listen_addresses) {
    ListenAddress address;
    if (!(s = ParseListenAddress(text, &address)).ok()) return s;
    o->listen.push_back(address);
  }
  if (o->listen.empty()) o->listen.push_back(ListenAddress{});
  o->systemd_socket = f.systemd_socket;
  o->web_config_file = f.web_config_file;
  if (!f.web_config_file.empty()) {
    s = LoadWebConfig(f.web_config_file, &o->web_config);
    if (!s.ok()) return Status::InvalidArgument("--web.config.file: " + s.message());
  }
  if (f.telemetry_path.empty() || f.telemetry_path.front() != '/' ||
      f.telemetry_path == "/" || f.telemetry_path.rfind("/-/", 0) == 0) {
    return FlagError("--web.telemetry-path", f.telemetry_path,
                     "must start with '/' and not be '/' or under '/-/'");
  }
  o->telemetry_path = f.telemetry_path;
  if (!ParseLivenessMode(f.liveness, &o->liveness)) {
    return FlagError("--liveness", f.liveness, "expected auto, lock, pid or none");
  }
  o->prune = !f.no_prune;
  o->reuse_unchanged = !f.reread_all;
  s = ParseDuration(f.compact_interval, &o->compact_interval);
  if (!s.ok()) return FlagError("--compact-interval", f.compact_interval, s.message());
  if (o->compact_interval != 0 && o->compact_interval < 1) {
    return FlagError("--compact-interval", f.compact_interval,
                     "must be 0 (off) or at least 1s");
  }
  if (!ParseLogLevel(f.log_level, &o->log_level)) {
    return FlagError("--log.level", f.log_level, "expected debug, info, warn or error");
  }
  if (!ParseLogFormat(f.log_format, &o->log_format)) {
    return FlagError("--log.format", f.log_format, "expected logfmt or json");
  }
  if (f.max_connections < 1) {
    return FlagError("--web.max-connections", std::to_string(f.max_connections),
                     "must be at least 1");
  }
  o->max_connections = f.max_connections;
  o->workers = f.workers;
  if (!(s = Timeout("--web.read-timeout", f.read_timeout, &o->read_timeout)).ok()) return s;
  if (!(s = Timeout("--web.write-timeout", f.write_timeout, &o->write_timeout)).ok()) return s;
  if (!(s = Timeout("--web.keep-alive-timeout", f.keep_alive_timeout,
                    &o->keep_alive_timeout)).ok()) {
    return s;
  }
  if (f.gzip_level < 1 || f.gzip_level > 9) {
    return FlagError("--web.gzip-level", std::to_string(f.gzip_level),
                     "must be 1 to 9");
  }
  o->gzip_level = f.gzip_level;
  return Status::OK();
}

}  // namespace promdir::http
