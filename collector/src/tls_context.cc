#include "tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

namespace promdir::http {
namespace {

std::string OpenSslError() {
  unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

int AcceptAnyCertificate(int, X509_STORE_CTX*) { return 1; }

Status FileError(std::string_view field, const std::string& path) {
  return Status::InvalidArgument("tls_server_config." + std::string(field) + " " +
                                 path + ": " + OpenSslError());
}

}  // namespace

TlsContext::TlsContext(const TlsServerConfig& config, Logger* logger)
    : config_(config), logger_(logger), last_check_(std::chrono::steady_clock::now()) {}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Status TlsContext::Build(const TlsServerConfig& c, SSL_CTX** out) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return Status::IOError("cannot create a TLS context: " + OpenSslError());
  auto fail = [&](Status s) {
    SSL_CTX_free(ctx);
    return s;
  };
  SSL_CTX_set_min_proto_version(ctx, c.min_version);
  if (c.max_version != 0) SSL_CTX_set_max_proto_version(ctx, c.max_version);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  static const unsigned char kSessionContext[] = "promdir-collector";
  SSL_CTX_set_session_id_context(ctx, kSessionContext, sizeof(kSessionContext) - 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, c.cert_file.c_str()) != 1) {
    return fail(FileError("cert_file", c.cert_file));
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, c.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail(FileError("key_file", c.key_file));
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return fail(Status::InvalidArgument("tls_server_config.key_file " + c.key_file +
                                        " does not match cert_file " + c.cert_file));
  }
  int mode = SSL_VERIFY_NONE;
  SSL_verify_cb cb = nullptr;
  switch (c.client_auth) {
    case ClientAuth::kNoClientCert: break;
    case ClientAuth::kRequestClientCert: mode = SSL_VERIFY_PEER; cb = AcceptAnyCertificate; break;
    case ClientAuth::kRequireAnyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      cb = AcceptAnyCertificate;
      break;
    case ClientAuth::kVerifyClientCertIfGiven: mode = SSL_VERIFY_PEER; break;
    case ClientAuth::kRequireAndVerifyClientCert:
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
      break;
  }
  if (!c.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, c.client_ca_file.c_str(), nullptr) != 1) {
      return fail(FileError("client_ca_file", c.client_ca_file));
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(c.client_ca_file.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
  }
  SSL_CTX_set_verify(ctx, mode, cb);
  *out = ctx;
  return Status::OK();
}

std::vector<std::string> TlsContext::Stamps() const {
  std::vector<std::string> out;
  for (const std::string* path : {&config_.cert_file, &config_.key_file, &config_.client_ca_file}) {
    struct stat st;
    if (path->empty() || ::stat(path->c_str(), &st) != 0) {
      out.push_back("-");
      continue;
    }
    out.push_back(std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
                  std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
  }
  return out;
}

Status TlsContext::Create(const TlsServerConfig& config, Logger* logger,
                          std::unique_ptr<TlsContext>* out) {
  std::unique_ptr<TlsContext> t(new TlsContext(config, logger));
  t->stamps_ = t->Stamps();
  Status s = Build(config, &t->ctx_);
  if (!s.ok()) return s;
  *out = std::move(t);
  return Status::OK();
}

bool TlsContext::MaybeReload() {
  std::vector<std::string> stamps = Stamps();
  std::lock_guard<std::mutex> lock(mu_);
  last_check_ = std::chrono::steady_clock::now();
  if (stamps == stamps_ || stamps == failed_stamps_) return false;
  SSL_CTX* fresh = nullptr;
  Status s = Build(config_, &fresh);
  if (!s.ok()) {
    failed_stamps_ = stamps;
    logger_->Error("cannot reload the TLS certificate; still serving the previous one",
                   {{"error", s.message()}});
    return false;
  }
  SSL_CTX_free(ctx_);
  ctx_ = fresh;
  stamps_ = std::move(stamps);
  failed_stamps_.clear();
  logger_->Info("reloaded the TLS certificate", {{"cert_file", config_.cert_file}});
  return true;
}

SSL* TlsContext::NewSsl() {
  bool check;
  {
    std::lock_guard<std::mutex> lock(mu_);
    check = std::chrono::steady_clock::now() - last_check_ >= std::chrono::seconds(1);
  }
  if (check) MaybeReload();
  std::lock_guard<std::mutex> lock(mu_);
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) logger_->Error("cannot start a TLS session", {{"error", OpenSslError()}});
  return ssl;
}

}  // namespace promdir::http
