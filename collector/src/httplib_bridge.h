// HttplibBridge: cpp-httplib's Server used only for its routing, handlers
// and response writing. It never listens: FrontServer reads and checks each
// request head and then calls Serve, which feeds the head to the library
// through a Stream over the connection, so the library's own unbounded
// reads and per-recv timeouts never meet a client.
//
// Threads: Serve may run on several threads at once, one connection each.

#ifndef PROMDIR_COLLECTOR_SRC_HTTPLIB_BRIDGE_H_
#define PROMDIR_COLLECTOR_SRC_HTTPLIB_BRIDGE_H_

#include <httplib.h>

#include <string_view>

#include "net_conn.h"

namespace promdir::http {

class HttplibBridge : public httplib::Server {
 public:
  // The library stops writing a streamed body once it thinks it is shutting
  // down, which it judges by its listening socket being invalid; this
  // server never listens, so a placeholder descriptor (/dev/null) stands in.
  HttplibBridge();
  ~HttplibBridge() override;

  // Runs the library's request processing on `head` and appends the
  // response to conn->out() (the front server sends it). With `close` the
  // response says "Connection: close". Sets *closed when the client asked
  // to close. False if the library could not process the request.
  bool Serve(Conn* conn, std::string_view head, bool close, bool* closed);
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_HTTPLIB_BRIDGE_H_
