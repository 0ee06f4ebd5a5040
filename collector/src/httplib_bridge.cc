#include "httplib_bridge.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <cstring>

namespace promdir::http {
namespace {

// The request head from memory; the response gathered into the
// connection's output, which the front server flushes without blocking.
class ConnStream : public httplib::Stream {
 public:
  ConnStream(Conn* conn, std::string_view head) : conn_(conn), head_(head) {}

  bool is_readable() const override { return pos_ < head_.size(); }
  bool is_writable() const override { return true; }

  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, head_.size() - pos_);
    std::memcpy(ptr, head_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    conn_->out().append(ptr, size);
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    const std::string& peer = conn_->peer();
    size_t colon = peer.rfind(':');
    ip = peer.substr(0, colon);
    if (ip.size() >= 2 && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
    port = colon == std::string::npos ? 0 : std::atoi(peer.c_str() + colon + 1);
  }

  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    ip.clear();
    port = 0;
    if (::getsockname(conn_->fd(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) return;
    char host[INET6_ADDRSTRLEN] = "";
    if (addr.ss_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(&addr);
      inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
      port = ntohs(a->sin_port);
    } else if (addr.ss_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
      inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
      port = ntohs(a->sin6_port);
    }
    ip = host;
  }

  // The library (built without CPPHTTPLIB_USE_POLL) answers 500 to a socket
  // number of FD_SETSIZE or more, as select() could not watch it. Nothing
  // here is watched by select(), so such a number is not shown to it.
  socket_t socket() const override { return conn_->fd() < FD_SETSIZE ? conn_->fd() : 0; }

 private:
  Conn* const conn_;
  const std::string_view head_;
  size_t pos_ = 0;
};

}  // namespace

HttplibBridge::HttplibBridge() {
  svr_sock_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

HttplibBridge::~HttplibBridge() {
  socket_t fd = svr_sock_.exchange(INVALID_SOCKET);
  if (fd != INVALID_SOCKET) ::close(fd);
}

bool HttplibBridge::Serve(Conn* conn, std::string_view head, bool close,
                          bool* closed) {
  ConnStream stream(conn, head);
  bool connection_closed = false;
  bool ok = process_request(stream, close, connection_closed, nullptr);
  *closed = connection_closed;
  return ok;
}

}  // namespace promdir::http
