// Listening sockets of the front server: bound from --web.listen-address
// values (several may be given), or inherited from systemd socket
// activation (--web.systemd-socket: LISTEN_PID and LISTEN_FDS, descriptors
// from 3; no libsystemd needed).
//
// Every socket is non-blocking and close-on-exec, bound with SO_REUSEADDR
// only, so a second collector on a taken port fails instead of sharing it.
//
// Threads: used on the main thread at start.

#ifndef PROMDIR_COLLECTOR_SRC_LISTENERS_H_
#define PROMDIR_COLLECTOR_SRC_LISTENERS_H_

#include <functional>
#include <string>
#include <vector>

#include "options.h"
#include "promdir/status.h"

namespace promdir::http {

struct Listener {
  int fd = -1;
  std::string name;  // "127.0.0.1:10464", or "systemd fd 3"
  int port = 0;
};

// Binds and listens on `address`. IOError naming the flag and the address.
Status BindListener(const ListenAddress& address, Listener* out);

// The sockets systemd passed. `getenv` reads LISTEN_PID/LISTEN_FDS; the
// variables are then unset so children do not inherit them. InvalidArgument
// when they are missing, meant for another process, or not listening
// stream sockets.
Status SystemdListeners(const std::function<const char*(const char*)>& getenv,
                        std::vector<Listener>* out);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_LISTENERS_H_
