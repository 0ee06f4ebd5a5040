// HeadScanner and ParseHead: the front server's reading of an HTTP/1.x
// request head, with every limit enforced while the bytes arrive.
//
// HeadScanner is fed the growing receive buffer and resumes where it left
// off (each byte is looked at once, however slowly it arrives). It stops at
// the first limit crossed: the request line, one header line, the number of
// header lines, or the whole head. A line without its terminator counts
// against its limit as soon as it is longer than allowed, so an endless
// line is refused after at most the limit plus one read.
//
// Threads: plain values; one scanner per connection, used by one thread at
// a time.

#ifndef PROMDIR_COLLECTOR_SRC_HTTP_HEAD_H_
#define PROMDIR_COLLECTOR_SRC_HTTP_HEAD_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promdir::http {

struct HeadLimits {
  size_t max_request_line = 8192;
  size_t max_header_line = 8192;
  size_t max_headers = 64;
  size_t max_head_bytes = 16 * 1024;  // request line and headers together
};

class HeadScanner {
 public:
  enum class State { kIncomplete, kComplete, kTooLarge };

  explicit HeadScanner(const HeadLimits& limits) : limits_(limits) {}

  // Scans `buffer` (which only grew since the last call, or the scanner was
  // Reset). kComplete sets head_size(); kTooLarge sets reason().
  State Scan(std::string_view buffer);

  size_t head_size() const { return head_size_; }
  // "request_line", "header_line", "header_count" or "header_bytes".
  const char* reason() const { return reason_; }

  void Reset() { *this = HeadScanner(limits_); }

 private:
  HeadLimits limits_;
  size_t pos_ = 0;         // next byte to look at
  size_t line_start_ = 0;  // where the current line begins
  size_t lines_ = 0;       // complete lines so far
  size_t head_size_ = 0;
  const char* reason_ = "";
};

struct RequestHead {
  std::string method;
  std::string target;  // as sent
  std::string path;    // target up to '?'
  int minor_version = 1;  // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> headers;

  // The first header named `name` (case-insensitive), or "".
  std::string_view Header(std::string_view name) const;
  // Whether the connection may stay open after the response.
  bool KeepAlive() const;
};

// Parses a complete head (as HeadScanner delimited it). False when it is not
// HTTP/1.0 or 1.1 or a line is malformed.
bool ParseHead(std::string_view head, RequestHead* out);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_HTTP_HEAD_H_
