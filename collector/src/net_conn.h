// Conn: one accepted client connection of the front server: its
// non-blocking socket, its TLS session if any, the bytes received and not
// yet served, and the head scanner with its limits.
//
// Reads and writes never block: a response is gathered in out() and
// flushed as far as the socket takes it; the event loop polls for the rest,
// so a client that stops reading holds no thread and is cut off when its
// write deadline passes.
//
// Threads: a Conn belongs to one thread at a time (the event loop while it
// reads a head, then one worker while it is served); hand-offs go through
// the front server's mutex.

#ifndef PROMDIR_COLLECTOR_SRC_NET_CONN_H_
#define PROMDIR_COLLECTOR_SRC_NET_CONN_H_

#include <chrono>
#include <string>
#include <string_view>

#include "http_head.h"

typedef struct ssl_st SSL;

namespace promdir::http {

using Clock = std::chrono::steady_clock;

class Conn {
 public:
  enum class Io { kOk, kWantRead, kWantWrite, kEof, kError };
  enum class Phase { kHandshake, kIdle, kHead, kServing, kWriting };

  // Takes ownership of `fd` and `ssl` (nullptr for plain HTTP).
  Conn(int fd, std::string peer, SSL* ssl, const HeadLimits& limits);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  int fd() const { return fd_; }
  bool tls() const { return ssl_ != nullptr; }
  const std::string& peer() const { return peer_; }

  // Advances the TLS handshake.
  Io Handshake();
  // Appends what can be read now to in(), up to `max_buffered` bytes in all.
  Io Read(size_t max_buffered);
  // Writes what it can of out() now. kOk once all of it is written (out()
  // is then empty); kWantWrite or kWantRead to wait for; kError.
  Io Flush();
  // Whether the peer sent a first byte that cannot start a TLS handshake
  // (a plain HTTP request on a TLS port). REQUIRES: tls().
  bool PlainHttpOnTls() const;

  std::string& in() { return in_; }
  std::string& out() { return out_; }
  HeadScanner& scanner() { return scanner_; }

  Phase phase = Phase::kHandshake;
  Clock::time_point deadline;  // of the current phase
  Clock::time_point accepted = Clock::now();
  short want_events = 0;       // POLLIN/POLLOUT while the loop owns it
  size_t requests = 0;         // served on this connection
  RequestHead request;         // the head being served
  size_t head_size = 0;        // its bytes at the start of in()
  bool close_after_write = false;

 private:
  const int fd_;
  const std::string peer_;
  SSL* const ssl_;
  std::string in_;
  std::string out_;
  size_t out_pos_ = 0;
  HeadScanner scanner_;
};

// "ip:port" of a socket's peer ("[v6]:port").
std::string PeerName(int fd);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_NET_CONN_H_
