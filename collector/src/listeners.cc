#include "listeners.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace promdir::http {
namespace {

int BoundPort(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return -1;
  if (addr.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  if (addr.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port);
  return 0;
}

// One attempt on a numeric host; errno set on failure.
int TryBind(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
  if (rc != 0) {
    errno = EADDRNOTAVAIL;
    return -1;
  }
  int fd = -1;
  int err = 0;
  for (addrinfo* ai = res; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int yes = 1, no = 0;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || ::listen(fd, 1024) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(res);
  if (fd < 0) errno = err;
  return fd;
}

}  // namespace

Status BindListener(const ListenAddress& address, Listener* out) {
  std::vector<std::string> hosts;
  if (address.host.empty()) {
    hosts = {"::", "0.0.0.0"};
  } else {
    hosts = {address.host};
  }
  int err = 0;
  for (const std::string& host : hosts) {
    int fd = TryBind(host, address.port);
    if (fd >= 0) {
      out->fd = fd;
      out->port = BoundPort(fd);
      ListenAddress shown = address;
      shown.port = out->port;
      out->name = FormatListenAddress(shown);
      return Status::OK();
    }
    if (err == 0 || errno == EADDRINUSE) err = errno;
  }
  std::string why = err == EADDRINUSE
                        ? "address already in use (is another collector or "
                          "service listening on this port?)"
                    : err != 0 ? std::strerror(err)
                               : "cannot bind";
  return Status::IOError("--web.listen-address " + FormatListenAddress(address) +
                         ": cannot listen: " + why);
}

Status SystemdListeners(const std::function<const char*(const char*)>& getenv,
                        std::vector<Listener>* out) {
  auto bad = [](const std::string& why) {
    return Status::InvalidArgument("--web.systemd-socket: " + why);
  };
  const char* pid_text = getenv("LISTEN_PID");
  const char* fds_text = getenv("LISTEN_FDS");
  if (pid_text == nullptr || fds_text == nullptr) {
    return bad("LISTEN_PID and LISTEN_FDS are not set (start the collector from a systemd .socket unit)");
  }
  long pid = -1, fds = -1;
  std::string_view p(pid_text), f(fds_text);
  if (std::from_chars(p.data(), p.data() + p.size(), pid).ec != std::errc() ||
      std::from_chars(f.data(), f.data() + f.size(), fds).ec != std::errc()) {
    return bad("LISTEN_PID or LISTEN_FDS is not a number");
  }
  if (pid != ::getpid()) return bad("LISTEN_PID " + std::string(pid_text) + " is not this process");
  if (fds < 1 || fds > 64) return bad("LISTEN_FDS " + std::string(fds_text) + " is not 1 to 64");
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  for (int fd = 3; fd < 3 + fds; ++fd) {
    int type = 0, listening = 0;
    socklen_t len = sizeof(type);
    if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM) {
      return bad("descriptor " + std::to_string(fd) + " is not a stream socket");
    }
    len = sizeof(listening);
    if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) {
      return bad("descriptor " + std::to_string(fd) + " is not listening");
    }
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    out->push_back(Listener{fd, "systemd fd " + std::to_string(fd), BoundPort(fd)});
  }
  return Status::OK();
}

}  // namespace promdir::http
