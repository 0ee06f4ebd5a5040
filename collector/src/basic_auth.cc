#include "basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cctype>
#include <cstring>
#include <memory>

namespace promdir::http {
namespace {

std::string CacheKey(std::string_view user, std::string_view password,
                     std::string_view hash) {
  std::string input;
  input.reserve(user.size() + password.size() + hash.size() + 2);
  input.append(user).push_back('\0');
  input.append(password).push_back('\0');
  input.append(hash);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(input.data(), input.size(), digest, &size, EVP_sha256(), nullptr);
  OPENSSL_cleanse(input.data(), input.size());
  return std::string(reinterpret_cast<char*>(digest), size);
}

// crypt_r(password, hash) == hash, compared in constant time.
bool Bcrypt(std::string_view password, const std::string& hash) {
  if (password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), hash.c_str(), data.get());
  OPENSSL_cleanse(pw.data(), pw.size());
  if (out == nullptr || out[0] == '*') return false;
  size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  if (in.size() % 4 != 0) return false;
  for (size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = in[i + k];
      if (c == '=' && i + 4 == in.size() && k >= 2) {
        v[k] = 0;
        ++pad;
      } else if (pad > 0 || (v[k] = Base64Value(c)) < 0) {
        return false;
      }
    }
    uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out->push_back(static_cast<char>(n >> 16));
    if (pad < 2) out->push_back(static_cast<char>((n >> 8) & 0xFF));
    if (pad < 1) out->push_back(static_cast<char>(n & 0xFF));
  }
  return true;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users)
    : users_(std::move(users)) {
  if (users_.empty()) return;
  // What an unknown user is checked against, at the cost of a real user's
  // hash, so that a miss costs as much as a wrong password.
  const std::string& model = users_.begin()->second;
  unsigned long cost = 10;
  if (model.size() > 6 && std::isdigit(static_cast<unsigned char>(model[4])) &&
      std::isdigit(static_cast<unsigned char>(model[5]))) {
    cost = static_cast<unsigned long>((model[4] - '0') * 10 + (model[5] - '0'));
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  if (crypt_gensalt_rn("$2b$", cost, nullptr, 0, salt, sizeof(salt)) != nullptr) {
    const char* out = crypt_r("promdir dummy password", salt, data.get());
    if (out != nullptr && out[0] != '*') dummy_hash_ = out;
  }
  if (dummy_hash_.empty()) dummy_hash_ = model;
}

std::string_view BasicAuth::ResultName(Result r) {
  switch (r) {
    case Result::kOk: return "ok";
    case Result::kMissing: return "missing";
    case Result::kMalformed: return "malformed";
    case Result::kUnknownUser: return "unknown_user";
    case Result::kWrongPassword: return "wrong_password";
  }
  return "malformed";
}

BasicAuth::Result BasicAuth::Check(std::string_view authorization) {
  if (authorization.empty()) return Result::kMissing;
  constexpr std::string_view kScheme = "Basic ";
  if (authorization.size() <= kScheme.size() || authorization.size() > 4096 ||
      strncasecmp(authorization.data(), kScheme.data(), kScheme.size()) != 0) {
    return Result::kMalformed;
  }
  std::string_view encoded = authorization.substr(kScheme.size());
  while (!encoded.empty() && encoded.front() == ' ') encoded.remove_prefix(1);
  while (!encoded.empty() && encoded.back() == ' ') encoded.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(encoded, &decoded)) return Result::kMalformed;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return Result::kMalformed;
  Result r = CheckPassword(std::string_view(decoded).substr(0, colon),
                           std::string_view(decoded).substr(colon + 1));
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return r;
}

BasicAuth::Result BasicAuth::CheckPassword(std::string_view user,
                                           std::string_view password) {
  auto it = users_.find(std::string(user));
  const std::string& hash = it == users_.end() ? dummy_hash_ : it->second;
  std::string key = CacheKey(user, password, hash);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (it != users_.end() && verified_.count(key) != 0) return Result::kOk;
  }
  bool ok = Bcrypt(password, hash);
  if (it == users_.end()) return Result::kUnknownUser;
  if (!ok) return Result::kWrongPassword;
  std::lock_guard<std::mutex> lock(mu_);
  if (verified_.size() >= kMaxCached) verified_.clear();
  verified_.insert(std::move(key));
  return Result::kOk;
}

}  // namespace promdir::http
