// BasicAuth: checks HTTP Basic credentials against the bcrypt hashes of a
// web config's basic_auth_users, through libcrypt's crypt_r (Debian's
// libxcrypt), never a bcrypt of our own.
//
// bcrypt is slow on purpose (tens of ms at cost 10), so a verified password
// is cached: the cache holds SHA-256(user, NUL, password, NUL, hash) of each
// pair that verified, never the password, so a scrape with known
// credentials costs one hash. Failed attempts are not cached and always pay
// bcrypt, also for an unknown user (against a dummy hash), so timing does
// not tell which users exist. Hash comparisons are constant-time.
//
// Threads: Check is safe from any number of threads (a mutex guards the
// cache; bcrypt runs outside it).

#ifndef PROMDIR_COLLECTOR_SRC_BASIC_AUTH_H_
#define PROMDIR_COLLECTOR_SRC_BASIC_AUTH_H_

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

namespace promdir::http {

class BasicAuth {
 public:
  enum class Result { kOk, kMissing, kMalformed, kUnknownUser, kWrongPassword };

  explicit BasicAuth(std::map<std::string, std::string> users);

  bool enabled() const { return !users_.empty(); }

  // Checks an Authorization header value ("Basic base64(user:password)");
  // empty when the request had none.
  Result Check(std::string_view authorization);

  // Checks one user and password.
  Result CheckPassword(std::string_view user, std::string_view password);

  // A reason label for self-metrics and logs: "missing", "malformed",
  // "unknown_user", "wrong_password".
  static std::string_view ResultName(Result r);

 private:
  static constexpr size_t kMaxCached = 1024;

  const std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::mutex mu_;
  std::set<std::string> verified_;  // SHA-256 digests, raw bytes
};

// Decodes standard base64 (with padding). False on bad input.
bool DecodeBase64(std::string_view in, std::string* out);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_BASIC_AUTH_H_
