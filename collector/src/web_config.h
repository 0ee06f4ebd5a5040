// WebConfig: the collector's --web.config.file, in the format of the
// Prometheus exporter-toolkit (the file node_exporter and Prometheus read):
//
//   tls_server_config:
//     cert_file: server.crt            # relative to the config file
//     key_file: server.key
//     client_auth_type: RequireAndVerifyClientCert
//     client_ca_file: ca.crt
//     min_version: TLS12
//     max_version: TLS13
//   http_server_config:
//     headers:
//       Strict-Transport-Security: max-age=31536000
//   basic_auth_users:
//     alice: $2y$10$...                # bcrypt hashes
//
// Fields promdir-collector does not implement (inline cert/key,
// cipher_suites, curve_preferences, client_allowed_sans, http2, rate_limit)
// are refused by name rather than silently ignored. Every error names the
// file, the line and the field.
//
// Threads: pure functions and plain values; safe from any thread.

#ifndef PROMDIR_COLLECTOR_SRC_WEB_CONFIG_H_
#define PROMDIR_COLLECTOR_SRC_WEB_CONFIG_H_

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "promdir/status.h"

namespace promdir::http {

enum class ClientAuth {
  kNoClientCert,
  kRequestClientCert,
  kRequireAnyClientCert,
  kVerifyClientCertIfGiven,
  kRequireAndVerifyClientCert,
};

struct TlsServerConfig {
  bool enabled = false;
  std::string cert_file;  // resolved against the config file's directory
  std::string key_file;
  ClientAuth client_auth = ClientAuth::kNoClientCert;
  std::string client_ca_file;
  int min_version = 0x0303;  // TLS 1.2, as the exporter-toolkit defaults
  int max_version = 0;       // 0: the newest OpenSSL supports
};

struct WebConfig {
  TlsServerConfig tls;
  std::vector<std::pair<std::string, std::string>> headers;
  std::map<std::string, std::string> users;  // user -> bcrypt hash
};

// Parses the bytes of a config file. `file_name` only labels errors
// ("FILE:LINE: field: what"); `base_dir` resolves relative paths ("" leaves
// them as written). Never crashes, whatever the bytes.
Status ParseWebConfig(std::string_view text, std::string_view file_name,
                      std::string_view base_dir, WebConfig* config);

// Reads and parses `path` (relative paths in it resolve against its
// directory). The error names the file.
Status LoadWebConfig(const std::string& path, WebConfig* config);

// The name of a client_auth_type value ("RequireAndVerifyClientCert").
std::string_view ClientAuthName(ClientAuth auth);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_WEB_CONFIG_H_
