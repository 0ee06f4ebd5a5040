// Unit tests of the collector's network layer pieces: the YAML subset
// parser, the web config (exporter-toolkit format), basic auth through
// libcrypt, and the request-head scanner's limits.

#include <crypt.h>
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <random>
#include <string>

#include "collector/src/basic_auth.h"
#include "collector/src/http_head.h"
#include "collector/src/web_config.h"
#include "collector/src/yaml_subset.h"

namespace promdir::http {
namespace {

std::string Bcrypt(const char* password, unsigned long cost) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn("$2y$", cost, nullptr, 0, salt, sizeof(salt)) != nullptr);
  crypt_data data;
  std::memset(&data, 0, sizeof(data));
  const char* out = crypt_r(password, salt, &data);
  REQUIRE(out != nullptr);
  REQUIRE(out[0] == '$');
  return out;
}

std::string YamlError(std::string_view text) {
  YamlNode root;
  Status s = ParseYamlSubset(text, &root);
  return s.ok() ? "" : s.message();
}

std::string ConfigError(std::string_view text) {
  WebConfig c;
  Status s = ParseWebConfig(text, "web.yml", "/etc/promdir", &c);
  return s.ok() ? "" : s.message();
}

TEST_CASE("yaml subset: maps, lists, flow, quotes, comments") {
  YamlNode root;
  REQUIRE(ParseYamlSubset(
              "---\n"
              "# a comment\n"
              "a: 1   # trailing comment\n"
              "b:\n"
              "  c: 'it''s'\n"
              "  d: \"x\\ty \\\"q\\\" \\u00e9 # not a comment\"\n"
              "list:\n"
              "- one\n"
              "- two: 2\n"
              "  three: 3\n"
              "nested:\n"
              "  - [x, 'y', {k: v}]\n"
              "empty_map: {}\n"
              "empty: \n"
              "hash: $2y$10$abc#def\n",
              &root)
              .ok());
  REQUIRE(root.kind == YamlNode::Kind::kMap);
  CHECK(root.Find("a")->scalar == "1");
  CHECK(root.Find("b")->Find("c")->scalar == "it's");
  CHECK(root.Find("b")->Find("d")->scalar == "x\ty \"q\" \xc3\xa9 # not a comment");
  const YamlNode* list = root.Find("list");
  REQUIRE(list->kind == YamlNode::Kind::kList);
  REQUIRE(list->list.size() == 2);
  CHECK(list->list[0].scalar == "one");
  CHECK(list->list[1].Find("two")->scalar == "2");
  CHECK(list->list[1].Find("three")->scalar == "3");
  CHECK(list->list[1].Find("three")->line == 10);
  const YamlNode& flow = root.Find("nested")->list.at(0);
  REQUIRE(flow.list.size() == 3);
  CHECK(flow.list[1].scalar == "y");
  CHECK(flow.list[2].Find("k")->scalar == "v");
  CHECK(root.Find("empty_map")->kind == YamlNode::Kind::kMap);
  CHECK(root.Find("empty")->kind == YamlNode::Kind::kNull);
  CHECK(root.Find("hash")->scalar == "$2y$10$abc#def");
}

TEST_CASE("yaml subset: refuses what it does not support, naming the line") {
  CHECK(YamlError("a: 1\n\tb: 2\n").find("line 2") != std::string::npos);
  CHECK(YamlError("a: 1\na: 2\n") == "line 2: duplicate key \"a\"");
  CHECK(YamlError("a: &x 1\n").find("anchors") != std::string::npos);
  CHECK(YamlError("a: *x\n").find("aliases") != std::string::npos);
  CHECK(YamlError("a: !!str 1\n").find("tags") != std::string::npos);
  CHECK(YamlError("a: |\n  text\n").find("block scalars") != std::string::npos);
  CHECK(YamlError("a: 1\n---\nb: 2\n").find("one YAML document") != std::string::npos);
  CHECK(YamlError("a: b: c\n").find("line 1") != std::string::npos);
  CHECK(YamlError("a: \"open\n").find("unterminated") != std::string::npos);
  CHECK(YamlError("a: [1, 2\n").find("line 1: expected ',' or ']'") == 0);
  CHECK(YamlError("a:\n  b: 1\n    c: 2\n").find("line 3") != std::string::npos);
  CHECK(YamlError("a: 1\n- b\n").find("line 2") != std::string::npos);
  CHECK(YamlError(std::string("a: \0", 4)).find("NUL") != std::string::npos);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += std::string(i * 2, ' ') + "k:\n";
  CHECK(YamlError(deep).find("nested too deeply") != std::string::npos);
  CHECK(YamlError("a: " + std::string(200, '[')).find("nested too deeply") != std::string::npos);
  CHECK(YamlError(std::string(kMaxYamlBytes + 1, 'a')).find("larger") != std::string::npos);
}

TEST_CASE("yaml subset: arbitrary bytes never crash it") {
  const std::string seeds[] = {
      "tls_server_config:\n  cert_file: a\n  key_file: 'b'\nbasic_auth_users:\n  u: \"h\"\n",
      "a: [x, {y: z}, 'q''q', \"\\u0041\"]\n- b\n  - c: d\n",
      "k:\n- - x\n  -\n    y: 1 # c\n"};
  std::mt19937 rng(12345);
  const char alphabet[] = " \t\n\r:-#'\"[]{},&*!|>\\uxk01";
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text = seeds[i % 3];
    int edits = 1 + static_cast<int>(rng() % 8);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % (sizeof(alphabet) - 1)]; break;
        case 1: text.insert(at, 1, static_cast<char>(rng() % 256)); break;
        default: text.erase(at, 1 + rng() % 4); break;
      }
    }
    YamlNode root;
    parsed += ParseYamlSubset(text, &root).ok();
    WebConfig config;
    (void)ParseWebConfig(text, "f", "", &config);
  }
  CHECK(parsed > 0);
}

TEST_CASE("web config: every field, paths relative to the file") {
  const std::string hash = Bcrypt("secret", 4);
  WebConfig c;
  Status s = ParseWebConfig(
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: /abs/server.key\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: ca.crt\n"
      "  min_version: TLS13\n"
      "http_server_config:\n"
      "  headers:\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "basic_auth_users:\n"
      "  alice: " + hash + "\n",
      "web.yml", "/etc/promdir", &c);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  CHECK(c.tls.enabled);
  CHECK(c.tls.cert_file == "/etc/promdir/server.crt");
  CHECK(c.tls.key_file == "/abs/server.key");
  CHECK(c.tls.client_ca_file == "/etc/promdir/ca.crt");
  CHECK(c.tls.client_auth == ClientAuth::kRequireAndVerifyClientCert);
  CHECK(c.tls.min_version == 0x0304);
  REQUIRE(c.headers.size() == 1);
  CHECK(c.headers[0].first == "Strict-Transport-Security");
  CHECK(c.users.at("alice") == hash);
  CHECK(ParseWebConfig("", "web.yml", "", &c).ok());
  CHECK_FALSE(c.tls.enabled);
}

TEST_CASE("web config: errors name the file, the line and the field") {
  CHECK(ConfigError("tls_server_config:\n  cert_file: a\n  key_file: b\n  "
                    "client_auth_type: Sometimes\n") ==
        "web.yml:4: tls_server_config.client_auth_type: \"Sometimes\" is not one of "
        "NoClientCert, RequestClientCert, RequireAnyClientCert, "
        "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
  CHECK(ConfigError("tls_server_config:\n  cert_file: a\n").find(
            "web.yml:1: tls_server_config: cert_file and key_file") == 0);
  CHECK(ConfigError("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  client_auth_type: RequireAndVerifyClientCert\n")
            .find("tls_server_config.client_ca_file: required") != std::string::npos);
  CHECK(ConfigError("tls_server_config:\n  cert_file: a\n  key_file: b\n"
                    "  min_version: TLS9\n")
            .find("web.yml:4: tls_server_config.min_version") == 0);
  CHECK(ConfigError("tls_config:\n  cert_file: a\n").find("web.yml:1: tls_config: unknown field") == 0);
  CHECK(ConfigError("basic_auth_users:\n  bob: plaintext\n").find(
            "web.yml:2: basic_auth_users.bob: not a bcrypt hash") == 0);
  CHECK(ConfigError("http_server_config:\n  headers:\n    Server: x\n").find(
            "web.yml:3: http_server_config.headers.Server") == 0);
  CHECK(ConfigError("rate_limit:\n  burst: 1\n").find("not supported") != std::string::npos);
  CHECK(ConfigError("a: [\n").find("web.yml:1: missing ']'") == 0);
  CHECK(ConfigError("- a\n").find("web.yml:1: (top level): expected a map") == 0);
}

TEST_CASE("basic auth: libcrypt bcrypt, every outcome, verified passwords cached") {
  const std::string hash = Bcrypt("s3cret", 11);
  BasicAuth auth({{"alice", hash}});
  using R = BasicAuth::Result;
  CHECK(auth.Check("") == R::kMissing);
  CHECK(auth.Check("Bearer abc") == R::kMalformed);
  CHECK(auth.Check("Basic !!!!") == R::kMalformed);
  CHECK(auth.Check("Basic YWxpY2U=") == R::kMalformed);  // "alice", no colon
  CHECK(auth.CheckPassword("alice", "wrong") == R::kWrongPassword);
  CHECK(auth.CheckPassword("mallory", "s3cret") == R::kUnknownUser);
  auto start = std::chrono::steady_clock::now();
  CHECK(auth.Check("Basic YWxpY2U6czNjcmV0") == R::kOk);  // alice:s3cret
  auto first = std::chrono::steady_clock::now() - start;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < 100; ++i) CHECK(auth.Check("basic YWxpY2U6czNjcmV0") == R::kOk);
  auto hundred_cached = std::chrono::steady_clock::now() - start;
  // bcrypt at cost 11 takes tens of milliseconds; a cached check is a hash.
  CHECK(first > std::chrono::milliseconds(10));
  CHECK(hundred_cached < first);
  // A cached pair is only the exact pair that verified.
  CHECK(auth.CheckPassword("alice", "s3cret ") == R::kWrongPassword);
  // An unknown user pays bcrypt too, so timing does not reveal users.
  start = std::chrono::steady_clock::now();
  CHECK(auth.CheckPassword("nobody", "x") == R::kUnknownUser);
  CHECK(std::chrono::steady_clock::now() - start > first / 4);
}

TEST_CASE("base64 decoding") {
  std::string out;
  CHECK(DecodeBase64("YWxpY2U6czNjcmV0", &out));
  CHECK(out == "alice:s3cret");
  CHECK(DecodeBase64("YQ==", &out));
  CHECK(out == "a");
  CHECK_FALSE(DecodeBase64("YQ=", &out));
  CHECK_FALSE(DecodeBase64("Y=Q=", &out));
  CHECK_FALSE(DecodeBase64("YQ==YQ==", &out));
}

HeadScanner::State FeedByteByByte(HeadScanner* s, std::string_view text, std::string* buf) {
  HeadScanner::State st = HeadScanner::State::kIncomplete;
  for (char c : text) {
    buf->push_back(c);
    st = s->Scan(*buf);
    if (st != HeadScanner::State::kIncomplete) break;
  }
  return st;
}

TEST_CASE("head scanner: complete heads, fed whole or a byte at a time") {
  HeadLimits limits;
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n";
  HeadScanner whole(limits);
  CHECK(whole.Scan(head + "GET /next") == HeadScanner::State::kComplete);
  CHECK(whole.head_size() == head.size());
  HeadScanner slow(limits);
  std::string buf;
  CHECK(FeedByteByByte(&slow, head, &buf) == HeadScanner::State::kComplete);
  CHECK(slow.head_size() == head.size());
  HeadScanner bare_lf(limits);
  CHECK(bare_lf.Scan("GET / HTTP/1.0\nA: b\n\n") == HeadScanner::State::kComplete);

  RequestHead r;
  REQUIRE(ParseHead(head, &r));
  CHECK(r.method == "GET");
  CHECK(r.path == "/metrics");
  CHECK(r.Header("accept") == "*/*");
  CHECK(r.KeepAlive());
  REQUIRE(ParseHead("GET /x?y=1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r));
  CHECK(r.path == "/x");
  CHECK(r.KeepAlive());
  CHECK_FALSE(ParseHead("GET /x HTTP/2.0\r\n\r\n", &r));
  CHECK_FALSE(ParseHead("GET\r\n\r\n", &r));
  CHECK_FALSE(ParseHead("GET / HTTP/1.1\r\nno colon\r\n\r\n", &r));
}

TEST_CASE("head scanner: every limit, including lines that never end") {
  HeadLimits limits;
  limits.max_request_line = 100;
  limits.max_header_line = 50;
  limits.max_headers = 3;
  limits.max_head_bytes = 160;
  auto scan = [&](const std::string& text) {
    HeadScanner s(limits);
    std::string buf;
    HeadScanner::State st = FeedByteByByte(&s, text, &buf);
    return st == HeadScanner::State::kTooLarge ? std::string(s.reason()) : "ok";
  };
  CHECK(scan("GET /" + std::string(200, 'a')) == "request_line");  // no end
  CHECK(scan("GET / HTTP/1.1\r\nX: " + std::string(60, 'b')) == "header_line");
  CHECK(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n") == "header_count");
  CHECK(scan("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n") == "ok");
  CHECK(scan("GET /" + std::string(80, 'a') + " HTTP/1.1\r\nA: " + std::string(40, 'x') +
             "\r\nB: " + std::string(40, 'x') + "\r\n\r\n") == "header_bytes");
  // An endless line is refused as soon as it passes its limit.
  HeadScanner s(limits);
  std::string buf = "GET / HTTP/1.1\r\nX: ";
  buf += std::string(47, 'c');
  CHECK(s.Scan(buf) == HeadScanner::State::kIncomplete);
  buf += "cc";
  CHECK(s.Scan(buf) == HeadScanner::State::kTooLarge);
}

}  // namespace
}  // namespace promdir::http
