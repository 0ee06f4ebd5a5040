// TlsContext: the OpenSSL server context of a web config's
// tls_server_config, re-read when the certificate, key or client CA files
// change, so a rotated certificate is served without a restart. A change is
// noticed at most a second late (file size, inode and mtime are compared at
// most once a second, as new connections arrive). A rotation that leaves
// the files unusable (half written, key not matching) keeps the previous
// context and is logged once per change.
//
// Threads: NewSsl may be called from any thread; a mutex guards the
// current context. Each SSL object keeps its own reference to the context
// it was made from, so replacing the context never disturbs a connection.

#ifndef PROMDIR_COLLECTOR_SRC_TLS_CONTEXT_H_
#define PROMDIR_COLLECTOR_SRC_TLS_CONTEXT_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "logger.h"
#include "web_config.h"
#include "promdir/status.h"

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;

namespace promdir::http {

class TlsContext {
 public:
  // Loads the files. An error names the file and OpenSSL's reason.
  static Status Create(const TlsServerConfig& config, Logger* logger,
                       std::unique_ptr<TlsContext>* out);
  ~TlsContext();

  // A new server-side SSL object, from the current files. nullptr on
  // failure (logged).
  SSL* NewSsl();

  // Re-reads the files now if they changed. Returns whether it swapped.
  bool MaybeReload();

 private:
  TlsContext(const TlsServerConfig& config, Logger* logger);
  static Status Build(const TlsServerConfig& config, SSL_CTX** out);
  std::vector<std::string> Stamps() const;

  const TlsServerConfig config_;
  Logger* const logger_;
  std::mutex mu_;
  SSL_CTX* ctx_ = nullptr;
  std::vector<std::string> stamps_;         // of the files ctx_ came from
  std::vector<std::string> failed_stamps_;  // last change that failed
  std::chrono::steady_clock::time_point last_check_;
};

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_TLS_CONTEXT_H_
