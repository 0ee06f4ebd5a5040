#include "front_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace promdir::http {
namespace {

Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

const char* StatusText(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Error";
  }
}

}  // namespace

FrontServer::FrontServer(FrontOptions options, std::vector<Listener> listeners,
                         TlsContext* tls, BasicAuth* auth, NetMetrics* metrics,
                         Logger* logger, Handler handler)
    : options_(std::move(options)),
      listeners_(std::move(listeners)),
      tls_(tls),
      auth_(auth),
      metrics_(metrics),
      logger_(logger),
      handler_(std::move(handler)),
      reject_log_(logger, std::chrono::seconds(10)),
      wake_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

FrontServer::~FrontServer() {
  for (const Listener& l : listeners_) ::close(l.fd);
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void FrontServer::Wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof(one));
}

void FrontServer::Stop() {
  stopping_ = true;
  Wake();
  work_cv_.notify_all();
}

void FrontServer::Run() {
  for (size_t i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  std::vector<pollfd> fds;
  std::vector<Conn*> polled;
  while (!stopping_) {
    fds.clear();
    polled.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    for (const Listener& l : listeners_) fds.push_back({l.fd, POLLIN, 0});
    Clock::time_point next = Clock::now() + std::chrono::seconds(1);
    for (auto& [fd, conn] : conns_) {
      fds.push_back({fd, conn->want_events, 0});
      polled.push_back(conn.get());
      next = std::min(next, conn->deadline);
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    int rc = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait.count() + 1)));
    if (rc < 0 && errno != EINTR) {
      logger_->Error("poll failed", {{"error", std::strerror(errno)}});
      break;
    }
    if (fds[0].revents != 0) {
      uint64_t n;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof(n));
    }
    std::vector<std::unique_ptr<Conn>> back;
    {
      std::lock_guard<std::mutex> lock(mu_);
      back.swap(returned_);
    }
    for (auto& conn : back) {
      Conn* c = conn.get();
      conns_[c->fd()] = std::move(conn);
      polled.push_back(c);
      fds.push_back({c->fd(), 0, POLLIN});  // may hold a pipelined request
    }
    for (size_t i = 0; i < polled.size(); ++i) {
      if (fds[1 + listeners_.size() + i].revents == 0) continue;
      Conn* c = polled[i];
      Step step = Progress(c);
      if (step == Step::kKeep) continue;
      int fd = c->fd();
      std::unique_ptr<Conn> owned = std::move(conns_[fd]);
      conns_.erase(fd);
      if (step == Step::kQueued) {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back(std::move(owned));
        work_cv_.notify_one();
      } else {
        metrics_->Closed();
      }
    }
    // Accepting may evict a connection, so only after `polled` is done.
    for (size_t i = 0; i < listeners_.size(); ++i) {
      if (fds[1 + i].revents != 0) AcceptAll(listeners_[i].fd);
    }
    Expire(Clock::now());
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  for (size_t i = 0; i < conns_.size() + queue_.size() + returned_.size(); ++i) {
    metrics_->Closed();
  }
  conns_.clear();
  queue_.clear();
  returned_.clear();
}

void FrontServer::AcceptAll(int listen_fd) {
  for (int i = 0; i < 256; ++i) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE) {
        logger_->Error("cannot accept: out of file descriptors");
      }
      return;
    }
    int yes = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    std::string peer = PeerName(fd);
    if (static_cast<size_t>(metrics_->open()) >= options_.max_connections &&
        !EvictOneSlow()) {
      metrics_->Rejected("connection_limit");
      reject_log_.Note("connection_limit", peer);
      if (tls_ == nullptr) {
        static const char kBusy[] =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
            "Content-Length: 21\r\nConnection: close\r\nRetry-After: 1\r\n\r\n"
            "too many connections\n";
        [[maybe_unused]] ssize_t n = ::send(fd, kBusy, sizeof(kBusy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      }
      ::close(fd);
      continue;
    }
    SSL* ssl = nullptr;
    if (tls_ != nullptr && (ssl = tls_->NewSsl()) == nullptr) {
      ::close(fd);
      continue;
    }
    auto conn = std::make_unique<Conn>(fd, std::move(peer), ssl, options_.limits);
    conn->deadline = Clock::now() + Seconds(options_.read_timeout);
    conn->want_events = POLLIN;
    metrics_->Opened();
    conns_[fd] = std::move(conn);
  }
}

bool FrontServer::EvictOneSlow() {
  const Clock::time_point cutoff = Clock::now() - std::chrono::seconds(1);
  auto oldest = conns_.end();
  for (auto it = conns_.begin(); it != conns_.end(); ++it) {
    const Conn& c = *it->second;
    if (c.accepted <= cutoff && c.phase != Conn::Phase::kWriting &&
        (oldest == conns_.end() || c.accepted < oldest->second->accepted)) {
      oldest = it;
    }
  }
  if (oldest == conns_.end()) return false;
  metrics_->Rejected("evicted");
  reject_log_.Note("evicted", oldest->second->peer());
  metrics_->Closed();
  conns_.erase(oldest);
  return true;
}

FrontServer::Step FrontServer::Progress(Conn* c) {
  if (c->phase == Conn::Phase::kWriting) {
    Step step = SendResponse(c);
    if (step != Step::kQueued) return step;  // kQueued: sent, read on
  }
  if (c->phase == Conn::Phase::kHandshake) {
    if (c->PlainHttpOnTls()) {
      metrics_->Rejected("plain_http_on_tls");
      reject_log_.Note("plain_http_on_tls", c->peer());
      static const char kPlain[] =
          "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n"
          "Content-Length: 48\r\nConnection: close\r\n\r\n"
          "Client sent an HTTP request to an HTTPS server.\n";
      [[maybe_unused]] ssize_t n = ::send(c->fd(), kPlain, sizeof(kPlain) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
      return Step::kClose;
    }
    Conn::Io io = c->Handshake();
    if (io == Conn::Io::kWantRead || io == Conn::Io::kWantWrite) {
      c->want_events = io == Conn::Io::kWantRead ? POLLIN : POLLOUT;
      return Step::kKeep;
    }
    if (io != Conn::Io::kOk) {
      metrics_->Rejected("tls_handshake");
      reject_log_.Note("tls_handshake", c->peer());
      return Step::kClose;
    }
    c->phase = Conn::Phase::kIdle;
  }
  while (true) {
    const size_t had = c->in().size();
    Conn::Io io = c->Read(options_.limits.max_head_bytes + 1);
    if (c->phase == Conn::Phase::kIdle && !c->in().empty()) {
      c->phase = Conn::Phase::kHead;
      if (c->requests > 0 || had > 0) {
        c->deadline = Clock::now() + Seconds(options_.read_timeout);
      }
    }
    switch (c->scanner().Scan(c->in())) {
      case HeadScanner::State::kComplete: {
        Step step = Dispatch(c);
        if (step != Step::kKeep || c->phase == Conn::Phase::kWriting) return step;
        continue;  // answered on the loop; a pipelined request may follow
      }
      case HeadScanner::State::kTooLarge:
        Reject(c, 431, "request headers too large", c->scanner().reason());
        return Step::kClose;
      case HeadScanner::State::kIncomplete:
        break;
    }
    if (io == Conn::Io::kEof || io == Conn::Io::kError) return Step::kClose;
    c->want_events = io == Conn::Io::kWantWrite ? POLLOUT : POLLIN;
    return Step::kKeep;
  }
}

FrontServer::Step FrontServer::Dispatch(Conn* c) {
  c->head_size = c->scanner().head_size();
  std::string_view head(c->in().data(), c->head_size);
  if (!ParseHead(head, &c->request)) {
    Reject(c, 400, "malformed request", "bad_request");
    return Step::kClose;
  }
  const RequestHead& r = c->request;
  if (r.method != "GET" && r.method != "HEAD") {
    Reject(c, 405, "method " + r.method + " not allowed; use GET or HEAD", "method",
           "Allow: GET, HEAD\r\n");
    return Step::kClose;
  }
  std::string_view length = r.Header("Content-Length");
  if ((!length.empty() && length != "0") || !r.Header("Transfer-Encoding").empty()) {
    Reject(c, 413, "request bodies are not accepted", "body");
    return Step::kClose;
  }
  if (r.path != "/-/healthy") {
    c->phase = Conn::Phase::kServing;
    return Step::kQueued;
  }
  c->close_after_write = !r.KeepAlive() || stopping_;
  Respond(c, 200, "OK\n", !c->close_after_write, r.method == "HEAD", {});
  Step step = SendResponse(c);
  return step == Step::kQueued ? Step::kKeep : step;
}

// kQueued here means "all sent and the connection reads on".
FrontServer::Step FrontServer::SendResponse(Conn* c) {
  if (c->phase != Conn::Phase::kWriting) {
    c->phase = Conn::Phase::kWriting;
    c->deadline = Clock::now() + Seconds(options_.write_timeout);
  }
  Conn::Io io = c->Flush();
  if (io == Conn::Io::kWantWrite || io == Conn::Io::kWantRead) {
    c->want_events = io == Conn::Io::kWantWrite ? POLLOUT : POLLIN;
    return Step::kKeep;
  }
  if (io != Conn::Io::kOk || c->close_after_write) return Step::kClose;
  FinishRequest(c);
  return Step::kQueued;
}

void FrontServer::FinishRequest(Conn* c) {
  c->in().erase(0, c->head_size);
  c->head_size = 0;
  c->scanner().Reset();
  ++c->requests;
  c->phase = c->in().empty() ? Conn::Phase::kIdle : Conn::Phase::kHead;
  c->deadline = Clock::now() + Seconds(c->in().empty() ? options_.keep_alive_timeout
                                                       : options_.read_timeout);
  c->want_events = POLLIN;
}

void FrontServer::Expire(Clock::time_point now) {
  for (auto it = conns_.begin(); it != conns_.end();) {
    Conn* c = it->second.get();
    if (now < c->deadline) {
      ++it;
      continue;
    }
    if (c->phase == Conn::Phase::kHandshake) {
      metrics_->TimedOut("handshake");
      reject_log_.Note("handshake_timeout", c->peer());
    } else if (c->phase == Conn::Phase::kWriting) {
      metrics_->TimedOut("write");
      reject_log_.Note("write_timeout", c->peer());
    } else if (c->phase == Conn::Phase::kHead || c->requests == 0) {
      metrics_->TimedOut("head");
      reject_log_.Note("head_timeout", c->peer());
    }
    metrics_->Closed();
    it = conns_.erase(it);
  }
}

void FrontServer::Respond(Conn* c, int status, std::string_view body, bool keep_alive,
                          bool head_only, std::string_view extra_headers) {
  std::string& out = c->out();
  out += "HTTP/1.1 " + std::to_string(status) + " " + StatusText(status) +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\nConnection: " +
         (keep_alive ? "keep-alive" : "close") + "\r\n";
  for (const auto& [name, value] : options_.headers) out += name + ": " + value + "\r\n";
  out.append(extra_headers);
  out += "\r\n";
  if (!head_only) out.append(body);
}

void FrontServer::Reject(Conn* c, int status, const std::string& text,
                         const std::string& metric, std::string_view extra_headers) {
  metrics_->Rejected(metric);
  reject_log_.Note(metric, c->peer());
  Respond(c, status, text + "\n", false, false, extra_headers);
  c->Flush();  // best effort: the connection closes either way
}

void FrontServer::WorkerLoop() {
  while (true) {
    std::unique_ptr<Conn> conn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      conn = std::move(queue_.front());
      queue_.pop_front();
    }
    Serve(std::move(conn));
  }
}

void FrontServer::Serve(std::unique_ptr<Conn> conn) {
  Conn* c = conn.get();
  const RequestHead& r = c->request;
  bool close = !r.KeepAlive() || stopping_ ||
               c->requests + 1 >= options_.keep_alive_max_requests;
  bool ok = true;
  bool closed = false;
  BasicAuth::Result auth =
      auth_ != nullptr && auth_->enabled() ? auth_->Check(r.Header("Authorization"))
                                           : BasicAuth::Result::kOk;
  if (auth != BasicAuth::Result::kOk) {
    std::string reason(BasicAuth::ResultName(auth));
    metrics_->AuthFailed(reason);
    reject_log_.Note("auth_" + reason, c->peer());
    Respond(c, 401, "Unauthorized\n", !close, r.method == "HEAD",
            "WWW-Authenticate: Basic realm=\"promdir-collector\"\r\n");
  } else {
    std::string_view head(c->in().data(), c->head_size);
    ok = handler_(c, head, r, close, &closed);
  }
  c->close_after_write = close || closed || !ok;
  Step step = SendResponse(c);
  if (step == Step::kClose) {
    metrics_->Closed();
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      metrics_->Closed();
      return;
    }
    returned_.push_back(std::move(conn));
  }
  Wake();
}

}  // namespace promdir::http
