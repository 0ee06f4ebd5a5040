// Responses the collector sends: every body goes through SendBody, which
// gzips it with zlib when the request's Accept-Encoding allows gzip and
// hands it to the HTTP library as a fixed-length content provider. The
// library compresses only bodies given as strings, so nothing is ever
// compressed twice, compressed with brotli, or compressed against `gzip;q=0`.
//
// Threads: free functions; safe from any thread (one request each).

#ifndef PROMDIR_COLLECTOR_SRC_RESPONSE_H_
#define PROMDIR_COLLECTOR_SRC_RESPONSE_H_

#include <string>
#include <string_view>

namespace httplib {
struct Request;
struct Response;
}  // namespace httplib

namespace promdir::http {

// Sets status, Content-Type, Vary (Accept-Encoding, plus `vary_extra` if
// non-empty), Content-Encoding when gzipped, and the body. `body` must not
// be empty. `gzip_level` is zlib's 1..9.
void SendBody(const httplib::Request& req, httplib::Response* res, int status,
              std::string body, std::string_view content_type, int gzip_level,
              std::string_view vary_extra = {});

// A short text/plain body ending in a newline. With `close`, the response
// says "Connection: close" and the connection is closed once the body is
// sent: the library itself keeps it open whatever the response says, and
// would then parse a refused request's unread body as the next request.
void SendText(const httplib::Request& req, httplib::Response* res, int status,
              std::string_view text, int gzip_level, bool close = false);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_RESPONSE_H_
