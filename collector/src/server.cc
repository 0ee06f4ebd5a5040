#include "collector/src/server.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "collector/src/negotiation.h"
#include "collector/src/response.h"
#include "collector/src/version.h"
#include "lib/src/env.h"

namespace promdir::http {
namespace {

using httplib::Request;
using httplib::Response;

void HtmlEscape(std::string_view in, std::string* out) {
  for (char c : in) {
    switch (c) {
      case '&': out->append("&amp;"); break;
      case '<': out->append("&lt;"); break;
      case '>': out->append("&gt;"); break;
      case '"': out->append("&quot;"); break;
      case '\'': out->append("&#39;"); break;
      default: out->push_back(c);
    }
  }
}

void SplitSeconds(double seconds, time_t* sec, time_t* usec) {
  *sec = static_cast<time_t>(seconds);
  *usec = static_cast<time_t>(std::llround((seconds - *sec) * 1e6));
}

// SO_REUSEADDR only: a restarted collector can rebind at once, but a second
// one cannot bind a port that is being listened on.
void ReuseAddrOnly(socket_t sock) {
  int yes = 1;
  ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
}

bool AllowedMethod(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

}  // namespace

CollectorServer::CollectorServer(const ServerOptions& options, Logger* logger)
    : options_(options),
      logger_(logger),
      http_(std::make_unique<httplib::Server>()),
      self_metrics_(kPromdirVersion, options.compact_interval > 0) {
  CollectorOptions copts;
  copts.directory = options_.directory;
  copts.liveness = options_.liveness;
  copts.prune = options_.prune;
  copts.reuse_unchanged = options_.reuse_unchanged;
  collector_ = std::make_unique<DirectoryCollector>(copts);
  Install();
}

CollectorServer::~CollectorServer() = default;

void CollectorServer::Install() {
  httplib::Server& svr = *http_;
  const size_t threads = options_.max_connections;
  svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  svr.set_socket_options(ReuseAddrOnly);
  // A response's last segment must not wait for the client's delayed ACK
  // (Nagle): a kept-alive scrape of a small gzipped body would stall 40 ms.
  svr.set_tcp_nodelay(true);
  time_t sec, usec;
  SplitSeconds(options_.read_timeout, &sec, &usec);
  svr.set_read_timeout(sec, usec);
  SplitSeconds(options_.write_timeout, &sec, &usec);
  svr.set_write_timeout(sec, usec);
  svr.set_keep_alive_timeout(
      std::max<time_t>(1, static_cast<time_t>(std::ceil(options_.keep_alive_timeout))));
  svr.set_keep_alive_max_count(options_.keep_alive_max_requests);
  svr.set_payload_max_length(options_.max_body_bytes);

  const int level = options_.gzip_level;
  auto refuse_method = [level](const Request& req, Response& res) {
    res.set_header("Allow", "GET, HEAD");
    SendText(req, &res, 405,
             "method " + req.method + " not allowed; use GET or HEAD", level,
             /*close=*/true);
  };
  // A client that waits for "100 Continue" before sending its body gets the
  // 405 instead.
  svr.set_expect_100_continue_handler([refuse_method](const Request& req,
                                                      Response& res) {
    if (AllowedMethod(req.method)) return 100;
    refuse_method(req, res);
    return 405;
  });
  svr.set_pre_routing_handler([this, refuse_method, level](const Request& req,
                                                           Response& res) {
    if (!AllowedMethod(req.method)) {
      refuse_method(req, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    size_t header_bytes = 0;
    for (const auto& [name, value] : req.headers) {
      header_bytes += name.size() + value.size() + 4;
    }
    if (req.headers.size() > options_.max_headers ||
        header_bytes > options_.max_header_bytes) {
      SendText(req, &res, 431, "request headers too large", level,
               /*close=*/true);
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // One route; dispatch on the exact path, so the telemetry path is never
  // taken as a regular expression.
  svr.Get(".*", [this, level](const Request& req, Response& res) {
    if (req.path == options_.telemetry_path) {
      HandleMetrics(req, &res);
    } else if (req.path == "/") {
      HandleLanding(req, &res);
    } else if (req.path == "/-/healthy") {
      SendText(req, &res, 200, "OK", level);
    } else if (req.path == "/-/ready") {
      HandleReady(req, &res);
    } else {
      SendText(req, &res, 404, "not found: " + req.path, level);
    }
  });
  svr.set_exception_handler([this, level](const Request& req, Response& res,
                                          std::exception_ptr ep) {
    std::string what = "unknown exception";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    logger_->Error("request failed", {{"path", req.path}, {"error", what}});
    SendText(req, &res, 500, "internal error: " + what, level);
  });
  if (logger_->Enabled(LogLevel::kDebug)) {
    svr.set_logger([this](const Request& req, const Response& res) {
      logger_->Debug("request", {{"method", req.method},
                                 {"path", req.path},
                                 {"status", std::to_string(res.status)},
                                 {"remote", req.remote_addr}});
    });
  }
}

void CollectorServer::HandleMetrics(const Request& req, Response* res) {
  Exposition format = NegotiateFormat(req.get_header_value("Accept"));
  ScrapeStats stats;
  std::string body;
  body.reserve(last_body_size_.load(std::memory_order_relaxed) + 4096);
  auto start = std::chrono::steady_clock::now();
  Status s = collector_->Render(format, &body, &stats);
  stats.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!s.ok()) {
    self_metrics_.RecordScrape(stats, false);
    if (!directory_failing_.exchange(true)) {
      logger_->Error("cannot read the metrics directory",
                     {{"dir", options_.directory}, {"error", s.ToString()}});
    }
    SendText(req, res, 500, "cannot read the metrics directory: " + s.ToString(),
             options_.gzip_level);
    return;
  }
  if (directory_failing_.exchange(false)) {
    logger_->Info("the metrics directory is readable again",
                  {{"dir", options_.directory}});
  }
  for (const BadFile& bad : stats.new_bad_files) {
    logger_->Warn("skipping bad metrics file", {{"file", bad.path},
                                                {"reason", bad.reason},
                                                {"error", bad.message}});
  }
  self_metrics_.RecordScrape(stats, true);
  AppendFamilies(format, self_metrics_.Snapshot(), &body);
  AppendEof(format, &body);
  last_body_size_.store(body.size(), std::memory_order_relaxed);
  if (logger_->Enabled(LogLevel::kDebug)) {
    logger_->Debug("scrape", {{"duration_seconds", std::to_string(stats.duration_seconds)},
                              {"entries", std::to_string(stats.entries)},
                              {"bytes_read", std::to_string(stats.bytes_read)},
                              {"cache_hits", std::to_string(stats.cache_hits)},
                              {"cache_misses", std::to_string(stats.cache_misses)},
                              {"files_unchanged", std::to_string(stats.files_unchanged)},
                              {"body_bytes", std::to_string(body.size())}});
  }
  SendBody(req, res, 200, std::move(body), ContentType(format),
           options_.gzip_level, "Accept");
}

void CollectorServer::HandleLanding(const Request& req, Response* res) {
  std::string path, dir, version;
  HtmlEscape(options_.telemetry_path, &path);
  HtmlEscape(options_.directory, &dir);
  HtmlEscape(kPromdirVersion, &version);
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
      "<title>promdir-collector</title></head>\n<body>\n"
      "<h1>promdir-collector</h1>\n"
      "<p>Merged metrics of a multiprocess metrics directory.</p>\n<ul>\n"
      "<li><a href=\"" + path + "\">" + path + "</a>: metrics</li>\n"
      "<li><a href=\"/-/healthy\">/-/healthy</a>, "
      "<a href=\"/-/ready\">/-/ready</a></li>\n</ul>\n"
      "<p>Directory: <code>" + dir + "</code><br>\n"
      "Version: " + version + "</p>\n</body>\n</html>\n";
  SendBody(req, res, 200, std::move(html), "text/html; charset=utf-8",
           options_.gzip_level);
}

void CollectorServer::HandleReady(const Request& req, Response* res) {
  std::vector<std::string> names;
  Status s = Env::Default()->ListDir(options_.directory, &names);
  if (s.ok()) {
    SendText(req, res, 200, "OK", options_.gzip_level);
  } else {
    SendText(req, res, 503, "not ready: " + s.ToString(), options_.gzip_level);
  }
}

Status CollectorServer::Bind() {
  const std::string shown = FormatListenAddress(options_.listen);
  // No host: every interface, IPv6 and IPv4 on a dual-stack socket, else
  // IPv4 alone where IPv6 is unavailable.
  std::vector<std::string> hosts;
  if (options_.listen.host.empty()) {
    hosts = {"::", "0.0.0.0"};
  } else {
    hosts = {options_.listen.host};
  }
  int err = 0;
  for (const std::string& host : hosts) {
    errno = 0;
    if (options_.listen.port == 0) {
      int port = http_->bind_to_any_port(host);
      if (port > 0) {
        port_ = port;
        return Status::OK();
      }
    } else if (http_->bind_to_port(host, options_.listen.port)) {
      port_ = options_.listen.port;
      return Status::OK();
    }
    if (err == 0 || errno == EADDRINUSE) err = errno;
  }
  std::string why = err == EADDRINUSE
                        ? "address already in use (is another collector or "
                          "service listening on this port?)"
                    : err != 0 ? std::strerror(err)
                               : "cannot bind";
  return Status::IOError("--web.listen-address " + shown + ": cannot listen: " + why);
}

Status CollectorServer::Serve() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_requested_) return Status::OK();
    serving_ = true;
  }
  bool ok = http_->listen_after_bind();
  serve_done_ = true;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_requested_ || ok) return Status::OK();
  }
  return Status::IOError("the HTTP listener stopped unexpectedly");
}

void CollectorServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_requested_ = true;
    if (!serving_) return;
  }
  // The library ignores stop() until its accept loop runs.
  while (!http_->is_running() && !serve_done_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  http_->stop();
}

}  // namespace promdir::http
