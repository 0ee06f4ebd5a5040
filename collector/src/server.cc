#include "server.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "httplib_bridge.h"
#include "negotiation.h"
#include "response.h"
#include "scrape_log.h"
#include "version.h"
#include "promdir/directory.h"
#include "promdir/directory_env.h"

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

bool AllowedMethod(const std::string& method) {
  return method == "GET" || method == "HEAD";
}

}  // namespace

CollectorServer::CollectorServer(const ServerOptions& options, Logger* logger)
    : options_(options),
      logger_(logger),
      http_(std::make_unique<HttplibBridge>()),
      self_metrics_(kPromdirVersion, options.compact_interval > 0) {
  // Every scrape works in the directory opened here (O_NOFOLLOW); one
  // replaced later is re-opened or refused, with a log line either way.
  dir_env_ = std::make_unique<DirectoryEnv>(
      Env::Default(), options_.directory, [logger](const std::string& line) {
        logger->Warn(line);
      });
  CollectorOptions copts;
  copts.env = dir_env_.get();
  copts.directory = options_.directory;
  copts.liveness = options_.liveness;
  copts.prune = options_.prune;
  copts.reuse_unchanged = options_.reuse_unchanged;
  collector_ = std::make_unique<DirectoryCollector>(copts);
  Install();
}

CollectorServer::~CollectorServer() = default;

void CollectorServer::Install() {
  // The library only routes and writes responses (see HttplibBridge); the
  // front server owns sockets, limits and timeouts.
  httplib::Server& svr = *http_;
  svr.set_keep_alive_timeout(
      std::max<time_t>(1, static_cast<time_t>(std::ceil(options_.keep_alive_timeout))));
  svr.set_keep_alive_max_count(options_.keep_alive_max_requests);
  svr.set_payload_max_length(options_.max_body_bytes);
  const auto headers = options_.web_config.headers;
  svr.set_post_routing_handler([headers](const Request&, Response& res) {
    for (const auto& [name, value] : headers) res.set_header(name, value);
  });

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

std::shared_ptr<const CollectorServer::Rendered> CollectorServer::RenderNow(
    Exposition format) {
  auto out = std::make_shared<Rendered>();
  ScrapeStats stats;
  out->body.reserve(last_body_size_.load(std::memory_order_relaxed) + 4096);
  auto start = std::chrono::steady_clock::now();
  out->status = collector_->Render(format, &out->body, &stats);
  stats.duration_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!out->status.ok()) {
    self_metrics_.RecordScrape(stats, false);
    if (!directory_failing_.exchange(true)) {
      logger_->Error("cannot read the metrics directory",
                     {{"dir", options_.directory}, {"error", out->status.ToString()}});
    }
    return out;
  }
  if (directory_failing_.exchange(false)) {
    logger_->Info("the metrics directory is readable again",
                  {{"dir", options_.directory}});
  }
  LogScrapeNews(logger_, stats);
  self_metrics_.RecordScrape(stats, true);
  AppendFamilies(format, self_metrics_.Snapshot(), &out->body);
  AppendFamilies(format, net_metrics_.Families(), &out->body);
  AppendEof(format, &out->body);
  last_body_size_.store(out->body.size(), std::memory_order_relaxed);
  if (logger_->Enabled(LogLevel::kDebug)) {
    logger_->Debug("scrape", {{"duration_seconds", std::to_string(stats.duration_seconds)},
                              {"entries", std::to_string(stats.entries)},
                              {"bytes_read", std::to_string(stats.bytes_read)},
                              {"cache_hits", std::to_string(stats.cache_hits)},
                              {"cache_misses", std::to_string(stats.cache_misses)},
                              {"files_unchanged", std::to_string(stats.files_unchanged)},
                              {"body_bytes", std::to_string(out->body.size())}});
  }
  return out;
}

std::shared_ptr<const CollectorServer::Rendered> CollectorServer::RenderShared(
    Exposition format) {
  Flight& flight = flights_[static_cast<size_t>(format.format) * kEscapings +
                            static_cast<size_t>(format.escaping)];
  std::unique_lock<std::mutex> lock(flight_mu_);
  if (flight.running) {
    const uint64_t joined = flight.generation;
    flight_cv_.wait(lock, [&] { return flight.generation != joined; });
    return flight.result;
  }
  flight.running = true;
  lock.unlock();
  std::shared_ptr<const Rendered> result = RenderNow(format);
  lock.lock();
  flight.result = result;
  flight.running = false;
  ++flight.generation;
  flight_cv_.notify_all();
  return result;
}

void CollectorServer::HandleMetrics(const Request& req, Response* res) {
  Exposition format = NegotiateFormat(req.get_header_value("Accept"));
  std::shared_ptr<const Rendered> rendered = RenderShared(format);
  if (!rendered->status.ok()) {
    SendText(req, res, 500,
             "cannot read the metrics directory: " + rendered->status.ToString(),
             options_.gzip_level);
    return;
  }
  SendBody(req, res, 200, rendered->body, ContentType(format),
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
  Status s = dir_env_->ListDir(options_.directory, &names);
  if (s.ok()) {
    SendText(req, res, 200, "OK", options_.gzip_level);
  } else {
    SendText(req, res, 503, "not ready: " + s.ToString(), options_.gzip_level);
  }
}

Status CollectorServer::Bind() {
  std::vector<Listener> listeners;
  auto close_all = [&] {
    for (const Listener& l : listeners) ::close(l.fd);
  };
  Status s;
  if (options_.systemd_socket) {
    s = SystemdListeners(std::getenv, &listeners);
  } else {
    for (const ListenAddress& address : options_.listen) {
      Listener l;
      if (!(s = BindListener(address, &l)).ok()) break;
      listeners.push_back(l);
    }
  }
  if (s.ok() && options_.web_config.tls.enabled) {
    s = TlsContext::Create(options_.web_config.tls, logger_, &tls_);
    if (!s.ok()) s = Status::InvalidArgument("--web.config.file " + options_.web_config_file + ": " + s.message());
  }
  if (!s.ok()) {
    close_all();
    return s;
  }
  port_ = listeners.front().port;
  for (const Listener& l : listeners) listening_.push_back(l.name);
  if (!options_.web_config.users.empty()) {
    auth_ = std::make_unique<BasicAuth>(options_.web_config.users);
  }
  FrontOptions fo;
  fo.limits.max_request_line = options_.max_request_line;
  fo.limits.max_header_line = options_.max_header_line;
  fo.limits.max_headers = options_.max_headers;
  fo.limits.max_head_bytes = options_.max_header_bytes;
  fo.read_timeout = options_.read_timeout;
  fo.write_timeout = options_.write_timeout;
  fo.keep_alive_timeout = options_.keep_alive_timeout;
  fo.keep_alive_max_requests = options_.keep_alive_max_requests;
  fo.max_connections = options_.max_connections;
  fo.workers = options_.workers;
  fo.headers = options_.web_config.headers;
  HttplibBridge* bridge = http_.get();
  auto handler = [bridge](Conn* conn, std::string_view head, const RequestHead&,
                          bool close, bool* closed) {
    return bridge->Serve(conn, head, close, closed);
  };
  std::lock_guard<std::mutex> lock(mu_);
  front_ = std::make_unique<FrontServer>(fo, std::move(listeners), tls_.get(),
                                         auth_.get(), &net_metrics_, logger_,
                                         handler);
  if (stop_requested_) front_->Stop();
  return Status::OK();
}

Status CollectorServer::Serve() {
  FrontServer* front;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_requested_ || !front_) return Status::OK();
    serving_ = true;
    front = front_.get();
  }
  front->Run();
  serve_done_ = true;
  return Status::OK();
}

void CollectorServer::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stop_requested_ = true;
  if (front_) front_->Stop();
}

}  // namespace promdir::http
