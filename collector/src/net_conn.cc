#include "net_conn.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace promdir::http {

Conn::Conn(int fd, std::string peer, SSL* ssl, const HeadLimits& limits)
    : fd_(fd), peer_(std::move(peer)), ssl_(ssl), scanner_(limits) {
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, fd_);
    SSL_set_accept_state(ssl_);
  } else {
    phase = Phase::kIdle;
  }
}

Conn::~Conn() {
  if (ssl_ != nullptr) {
    if (phase != Phase::kHandshake) SSL_shutdown(ssl_);  // best effort, non-blocking
    SSL_free(ssl_);
  }
  ::close(fd_);
}

namespace {

Conn::Io SslResult(SSL* ssl, int rc) {
  switch (SSL_get_error(ssl, rc)) {
    case SSL_ERROR_WANT_READ: return Conn::Io::kWantRead;
    case SSL_ERROR_WANT_WRITE: return Conn::Io::kWantWrite;
    case SSL_ERROR_ZERO_RETURN: return Conn::Io::kEof;
    default:
      ERR_clear_error();
      return Conn::Io::kError;
  }
}

}  // namespace

Conn::Io Conn::Handshake() {
  int rc = SSL_do_handshake(ssl_);
  if (rc == 1) return Io::kOk;
  return SslResult(ssl_, rc);
}

bool Conn::PlainHttpOnTls() const {
  unsigned char first = 0;
  ssize_t n = ::recv(fd_, &first, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 1 && first >= 'A' && first <= 'Z';
}

Conn::Io Conn::Read(size_t max_buffered) {
  char buf[16384];
  while (in_.size() < max_buffered) {
    size_t want = std::min(sizeof(buf), max_buffered - in_.size());
    if (ssl_ != nullptr) {
      int rc = SSL_read(ssl_, buf, static_cast<int>(want));
      if (rc <= 0) return SslResult(ssl_, rc);
      in_.append(buf, static_cast<size_t>(rc));
      continue;
    }
    ssize_t n = ::recv(fd_, buf, want, MSG_DONTWAIT);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return Io::kEof;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return Io::kWantRead;
    } else if (errno != EINTR) {
      return Io::kError;
    }
  }
  return Io::kOk;
}

Conn::Io Conn::Flush() {
  while (out_pos_ < out_.size()) {
    const char* data = out_.data() + out_pos_;
    size_t size = out_.size() - out_pos_;
    if (ssl_ != nullptr) {
      int rc = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 20)));
      if (rc <= 0) return SslResult(ssl_, rc);
      out_pos_ += static_cast<size_t>(rc);
      continue;
    }
    ssize_t n = ::send(fd_, data, size, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return Io::kWantWrite;
    } else if (n == 0 || errno != EINTR) {
      return Io::kError;
    }
  }
  out_.clear();
  out_pos_ = 0;
  return Io::kOk;
}

std::string PeerName(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return "unknown";
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (addr.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&addr);
    inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
    return std::string(host) + ":" + std::to_string(port);
  }
  if (addr.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&addr);
    inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
    std::string h = host;
    if (h.rfind("::ffff:", 0) == 0 && h.find('.') != std::string::npos) return h.substr(7) + ":" + std::to_string(port);
    return "[" + h + "]:" + std::to_string(port);
  }
  return "local";
}

}  // namespace promdir::http
