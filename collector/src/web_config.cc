#include "web_config.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "yaml_subset.h"

namespace promdir::http {
namespace {

using Kind = YamlNode::Kind;

class Checker {
 public:
  Checker(std::string_view file, std::string_view base_dir)
      : file_(file), base_dir_(base_dir) {}

  Status Fail(const YamlNode& node, std::string_view field, std::string_view what) const {
    return Status::InvalidArgument(file_ + ":" + std::to_string(node.line) + ": " +
                                   std::string(field) + ": " + std::string(what));
  }

  Status String(const YamlNode& node, std::string_view field, std::string* out) const {
    if (node.kind != Kind::kScalar) return Fail(node, field, "expected a string");
    *out = node.scalar;
    return Status::OK();
  }

  Status Path(const YamlNode& node, std::string_view field, std::string* out) const {
    Status s = String(node, field, out);
    if (!s.ok()) return s;
    if (out->empty()) return Fail(node, field, "empty path");
    if (out->front() != '/' && !base_dir_.empty()) {
      *out = (std::filesystem::path(base_dir_) / *out).string();
    }
    return Status::OK();
  }

  Status Map(const YamlNode& node, std::string_view field) const {
    if (node.kind == Kind::kMap || node.kind == Kind::kNull) return Status::OK();
    return Fail(node, field, "expected a map");
  }

  Status Tls(const YamlNode& node, TlsServerConfig* tls) const;
  Status Http(const YamlNode& node, WebConfig* config) const;
  Status Users(const YamlNode& node, WebConfig* config) const;

 private:
  std::string file_;
  std::string base_dir_;
};

bool ParseTlsVersion(std::string_view text, int* version) {
  static const std::pair<std::string_view, int> kVersions[] = {
      {"TLS10", 0x0301}, {"TLS11", 0x0302}, {"TLS12", 0x0303}, {"TLS13", 0x0304}};
  for (const auto& [name, v] : kVersions) {
    if (text == name) {
      *version = v;
      return true;
    }
  }
  return false;
}

bool ParseClientAuth(std::string_view text, ClientAuth* auth) {
  for (ClientAuth a : {ClientAuth::kNoClientCert, ClientAuth::kRequestClientCert,
                       ClientAuth::kRequireAnyClientCert,
                       ClientAuth::kVerifyClientCertIfGiven,
                       ClientAuth::kRequireAndVerifyClientCert}) {
    if (text == ClientAuthName(a)) {
      *auth = a;
      return true;
    }
  }
  return false;
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost 04..31, "$", then 53 characters
// of bcrypt's base64 (22 of salt, 31 of hash).
bool IsBcryptHash(std::string_view h) {
  if (h.size() != 60 || h[0] != '$' || h[1] != '2' || h[3] != '$' || h[6] != '$') return false;
  if (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(h[4])) ||
      !std::isdigit(static_cast<unsigned char>(h[5]))) {
    return false;
  }
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return false;
  for (size_t i = 7; i < h.size(); ++i) {
    char c = h[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return false;
  }
  return true;
}

Status Checker::Tls(const YamlNode& node, TlsServerConfig* tls) const {
  Status s = Map(node, "tls_server_config");
  if (!s.ok() || node.kind == Kind::kNull) return s;
  tls->enabled = true;
  const YamlNode* ca_node = nullptr;
  for (const auto& [key, value] : node.map) {
    const std::string field = "tls_server_config." + key;
    if (key == "cert_file") {
      s = Path(value, field, &tls->cert_file);
    } else if (key == "key_file") {
      s = Path(value, field, &tls->key_file);
    } else if (key == "client_ca_file") {
      ca_node = &value;
      s = Path(value, field, &tls->client_ca_file);
    } else if (key == "client_auth_type") {
      std::string text;
      s = String(value, field, &text);
      if (s.ok() && !ParseClientAuth(text, &tls->client_auth)) {
        s = Fail(value, field, "\"" + text + "\" is not one of NoClientCert, "
                 "RequestClientCert, RequireAnyClientCert, "
                 "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
      }
    } else if (key == "min_version" || key == "max_version") {
      std::string text;
      int* out = key == "min_version" ? &tls->min_version : &tls->max_version;
      s = String(value, field, &text);
      if (s.ok() && !ParseTlsVersion(text, out)) {
        s = Fail(value, field, "\"" + text + "\" is not one of TLS10, TLS11, TLS12, TLS13");
      }
    } else if (key == "cert" || key == "key" || key == "cipher_suites" ||
               key == "curve_preferences" || key == "client_allowed_sans" ||
               key == "prefer_server_cipher_suites") {
      s = Fail(value, field, "not supported by promdir-collector");
    } else {
      s = Fail(value, field, "unknown field");
    }
    if (!s.ok()) return s;
  }
  if (tls->cert_file.empty() || tls->key_file.empty()) {
    return Fail(node, "tls_server_config", "cert_file and key_file are both required");
  }
  bool verifies = tls->client_auth == ClientAuth::kVerifyClientCertIfGiven ||
                  tls->client_auth == ClientAuth::kRequireAndVerifyClientCert;
  if (verifies && tls->client_ca_file.empty()) {
    return Fail(node, "tls_server_config.client_ca_file",
                "required with client_auth_type " +
                    std::string(ClientAuthName(tls->client_auth)));
  }
  if (!verifies && ca_node != nullptr) {
    return Fail(*ca_node, "tls_server_config.client_ca_file",
                "only used with VerifyClientCertIfGiven or RequireAndVerifyClientCert");
  }
  if (tls->max_version != 0 && tls->max_version < tls->min_version) {
    return Fail(node, "tls_server_config.max_version", "is below min_version");
  }
  return Status::OK();
}

Status Checker::Http(const YamlNode& node, WebConfig* config) const {
  static const std::string_view kAllowed[] = {
      "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
      "X-XSS-Protection", "Content-Security-Policy"};
  Status s = Map(node, "http_server_config");
  if (!s.ok() || node.kind == Kind::kNull) return s;
  for (const auto& [key, value] : node.map) {
    const std::string field = "http_server_config." + key;
    if (key == "http2") {
      s = Fail(value, field, "not supported by promdir-collector (HTTP/1.1 only)");
    } else if (key != "headers") {
      s = Fail(value, field, "unknown field");
    } else if (!(s = Map(value, field)).ok()) {
    } else {
      for (const auto& [name, v] : value.map) {
        const std::string hfield = field + "." + name;
        bool allowed = false;
        for (std::string_view a : kAllowed) allowed = allowed || a == name;
        if (!allowed) {
          return Fail(v, hfield, "not one of the headers that may be set "
                      "(Strict-Transport-Security, X-Content-Type-Options, "
                      "X-Frame-Options, X-XSS-Protection, Content-Security-Policy)");
        }
        std::string text;
        if (!(s = String(v, hfield, &text)).ok()) return s;
        for (char c : text) {
          if (c == '\r' || c == '\n' || c == '\0') return Fail(v, hfield, "control character in the value");
        }
        config->headers.emplace_back(name, text);
      }
    }
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status Checker::Users(const YamlNode& node, WebConfig* config) const {
  Status s = Map(node, "basic_auth_users");
  if (!s.ok()) return s;
  for (const auto& [user, value] : node.map) {
    const std::string field = "basic_auth_users." + user;
    if (user.empty() || user.find(':') != std::string::npos) {
      return Fail(value, field, "a user name must be non-empty and have no ':'");
    }
    std::string hash;
    if (!(s = String(value, field, &hash)).ok()) return s;
    if (!IsBcryptHash(hash)) {
      return Fail(value, field, "not a bcrypt hash ($2y$10$ and 53 more characters; "
                  "make one with htpasswd -nBC 10 USER)");
    }
    config->users[user] = hash;
  }
  return Status::OK();
}

}  // namespace

std::string_view ClientAuthName(ClientAuth auth) {
  switch (auth) {
    case ClientAuth::kNoClientCert: return "NoClientCert";
    case ClientAuth::kRequestClientCert: return "RequestClientCert";
    case ClientAuth::kRequireAnyClientCert: return "RequireAnyClientCert";
    case ClientAuth::kVerifyClientCertIfGiven: return "VerifyClientCertIfGiven";
    case ClientAuth::kRequireAndVerifyClientCert: return "RequireAndVerifyClientCert";
  }
  return "NoClientCert";
}

Status ParseWebConfig(std::string_view text, std::string_view file_name,
                      std::string_view base_dir, WebConfig* config) {
  *config = WebConfig();
  YamlNode root;
  Status s = ParseYamlSubset(text, &root);
  if (!s.ok()) {
    std::string msg = s.message();
    msg = msg.rfind("line ", 0) == 0 ? ":" + msg.substr(5) : ": " + msg;
    return Status::InvalidArgument(std::string(file_name) + msg);
  }
  Checker check(file_name, base_dir);
  if (root.kind == Kind::kNull) return Status::OK();
  if (root.kind != Kind::kMap) return check.Fail(root, "(top level)", "expected a map");
  for (const auto& [key, value] : root.map) {
    if (key == "tls_server_config") {
      s = check.Tls(value, &config->tls);
    } else if (key == "http_server_config") {
      s = check.Http(value, config);
    } else if (key == "basic_auth_users") {
      s = check.Users(value, config);
    } else if (key == "rate_limit") {
      s = check.Fail(value, key, "not supported by promdir-collector");
    } else {
      s = check.Fail(value, key, "unknown field (expected tls_server_config, "
                     "http_server_config or basic_auth_users)");
    }
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status LoadWebConfig(const std::string& path, WebConfig* config) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(path + ": cannot read it: " + std::strerror(errno));
  std::ostringstream buf;
  buf << in.rdbuf();
  std::string dir = ".";
  size_t slash = path.rfind('/');
  if (slash != std::string::npos) dir = slash == 0 ? "/" : path.substr(0, slash);
  return ParseWebConfig(buf.str(), path, dir, config);
}

}  // namespace promdir::http
