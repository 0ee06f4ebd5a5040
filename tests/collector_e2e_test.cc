// End-to-end tests of promdir-collector: the real binary, real HTTP, real
// Python writers, promtool and Python's OpenMetrics parser.

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "collector/src/gzip.h"
#include "tests/collector_process.h"
#include "tests/test_util.h"

namespace promdir::test {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
constexpr const char* kOpenMetricsType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=underscores";
constexpr const char* kTextType = "text/plain; version=0.0.4; charset=utf-8";

std::string Fixture(const std::string& name) {
  return std::string(PROMDIR_FIXTURES_DIR) + "/" + name;
}

std::string CollectorBin() { return std::string(PROMDIR_BIN_DIR) + "/promdir-collector"; }

std::string CheckScript() {
  return std::string(kPython) + " " + PROMDIR_SOURCE_DIR + "/tests/collector_check.py";
}

// A writable copy of a fixture directory (pruning deletes files).
void CopyDir(const std::string& from, const std::string& to) {
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  for (const auto& e : fs::recursive_directory_iterator(to)) {
    if (!e.is_symlink()) {
      fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
    }
  }
  fs::permissions(to, fs::perms::owner_all, fs::perm_options::add);
}

// Compares an exposition with an expected.txt as data; returns the problems.
// `drop` names a family of `expected` to leave out.
std::string CompareAsData(const std::string& expected, const std::string& body,
                          bool openmetrics, const std::string& drop = "") {
  TempDir t;
  WriteFile(t.File("actual"), body);
  int rc = -1;
  std::string out = RunCommand(CheckScript() + " compare '" + expected + "' '" +
                                   t.File("actual") + "'" +
                                   (openmetrics ? " --actual-openmetrics" : "") +
                                   (drop.empty() ? "" : " --drop " + drop) + " 2>&1",
                               "", &rc);
  return rc == 0 ? "" : "differences:\n" + out;
}

int Promtool(const std::string& body, std::string* output) {
  TempDir t;
  WriteFile(t.File("body"), body);
  int rc = -1;
  *output = RunCommand("/usr/bin/promtool check metrics < '" + t.File("body") + "' 2>&1",
                       "", &rc);
  return rc;
}

bool OpenMetricsValid(const std::string& body, std::string* output) {
  TempDir t;
  WriteFile(t.File("body"), body);
  int rc = -1;
  *output = RunCommand(CheckScript() + " om-valid '" + t.File("body") + "' 2>&1", "", &rc);
  return rc == 0;
}

// The body without the collector's self-metrics (which change per scrape).
std::string WithoutSelfMetrics(const std::string& body) {
  std::istringstream in(body);
  std::string line, out;
  while (std::getline(in, line)) {
    if (line.find("promdir_collector_") != std::string::npos) continue;
    out += line + "\n";
  }
  return out;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos;
       p = haystack.find(needle, p + 1)) {
    ++n;
  }
  return n;
}

double SumSamples(const std::string& body, const std::string& name) {
  double total = 0;
  std::istringstream in(body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) == 0 || line.rfind(name + " ", 0) == 0) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

TEST_CASE("collector e2e: text by default, OpenMetrics for Prometheus' Accept") {
  TempDir t;
  CopyDir(Fixture("py016-web/dir"), t.File("d"));
  Collector c(t.File("d"), {"--liveness", "none"});

  HttpReply text = HttpGet(c.port(), "/metrics");
  REQUIRE(text.status == 200);
  CHECK(text.content_type == kTextType);
  CHECK(text.content_encoding.empty());
  CHECK(text.vary.find("Accept-Encoding") != std::string::npos);
  CHECK(text.vary.find("Accept") != std::string::npos);
  CHECK(text.body.find("# EOF") == std::string::npos);
  CHECK(text.body.find("promdir_collector_scrapes_total 1") != std::string::npos);
  CHECK(CompareAsData(Fixture("py016-web/expected.txt"), text.body, false) == "");

  HttpReply om = HttpGet(c.port(), "/metrics", {{"Accept", kPrometheusAccept}});
  REQUIRE(om.status == 200);
  CHECK(om.content_type == kOpenMetricsType);
  CHECK(om.body.size() > 6);
  CHECK(om.body.substr(om.body.size() - 6) == "# EOF\n");
  CHECK(Count(om.body, "# EOF") == 1);
  CHECK(CompareAsData(Fixture("py016-web/expected.txt"), om.body, true) == "");

  HttpReply explicit_text =
      HttpGet(c.port(), "/metrics", {{"Accept", "text/plain;version=0.0.4"}});
  CHECK(explicit_text.content_type == kTextType);
  HttpReply refused_om = HttpGet(
      c.port(), "/metrics", {{"Accept", "application/openmetrics-text;q=0,*/*;q=0.1"}});
  CHECK(refused_om.content_type == kTextType);
}

TEST_CASE("collector e2e: gzip when allowed, never against q=0 or for br only") {
  TempDir t;
  CopyDir(Fixture("py016-web/dir"), t.File("d"));
  Collector c(t.File("d"), {"--liveness", "none"});
  for (const char* accept : {"", kPrometheusAccept}) {
    CAPTURE(accept);
    HttpReply plain = HttpGet(c.port(), "/metrics", {{"Accept", accept}});
    REQUIRE(plain.status == 200);
    CHECK(plain.content_encoding.empty());

    HttpReply gz = HttpGet(c.port(), "/metrics",
                           {{"Accept", accept}, {"Accept-Encoding", "gzip"}});
    REQUIRE(gz.status == 200);
    CHECK(gz.content_encoding == "gzip");
    CHECK(gz.content_length == std::to_string(gz.body.size()));
    std::string unpacked;
    REQUIRE(http::GzipDecompress(gz.body, &unpacked).ok());
    CHECK(WithoutSelfMetrics(unpacked) == WithoutSelfMetrics(plain.body));

    for (const char* refuse : {"gzip;q=0", "br", "identity", "br, gzip;q=0, *;q=0.5",
                               "deflate"}) {
      CAPTURE(refuse);
      HttpReply r = HttpGet(c.port(), "/metrics",
                            {{"Accept", accept}, {"Accept-Encoding", refuse}});
      REQUIRE(r.status == 200);
      CHECK(r.content_encoding.empty());
      CHECK(WithoutSelfMetrics(r.body) == WithoutSelfMetrics(plain.body));
    }
    HttpReply preferred = HttpGet(c.port(), "/metrics",
                                  {{"Accept", accept}, {"Accept-Encoding", "br;q=1, gzip;q=0.5"}});
    CHECK(preferred.content_encoding == "gzip");
  }
  // The landing page and small replies follow the same rules.
  HttpReply landing = HttpGet(c.port(), "/", {{"Accept-Encoding", "br"}});
  CHECK(landing.content_encoding.empty());
  HttpReply landing_gz = HttpGet(c.port(), "/", {{"Accept-Encoding", "gzip;q=0"}});
  CHECK(landing_gz.content_encoding.empty());
}

TEST_CASE("collector e2e: HEAD, landing page, health, readiness, 404") {
  TempDir t;
  CopyDir(Fixture("py016-web/dir"), t.File("d"));
  Collector c(t.File("d"), {"--web.telemetry-path", "/prom.metrics"});

  HttpReply landing = HttpGet(c.port(), "/");
  REQUIRE(landing.status == 200);
  CHECK(landing.content_type.rfind("text/html", 0) == 0);
  CHECK(landing.body.find("href=\"/prom.metrics\"") != std::string::npos);
  CHECK(landing.body.find(t.File("d")) != std::string::npos);
  CHECK(landing.body.find("Version: ") != std::string::npos);

  CHECK(HttpGet(c.port(), "/prom.metrics").status == 200);
  CHECK(HttpGet(c.port(), "/metrics").status == 404);
  CHECK(HttpGet(c.port(), "/prom-metrics").status == 404);  // not a regex
  CHECK(HttpGet(c.port(), "/-/healthy").status == 200);
  CHECK(HttpGet(c.port(), "/-/ready").status == 200);

  HttpReply head = HttpGet(c.port(), "/prom.metrics", {}, "HEAD");
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(std::stoul(head.content_length) > 1000);

  fs::rename(t.File("d"), t.File("moved"));
  HttpReply not_ready = HttpGet(c.port(), "/-/ready");
  CHECK(not_ready.status == 503);
  CHECK(not_ready.body.find(t.File("d")) != std::string::npos);
  CHECK(HttpGet(c.port(), "/-/healthy").status == 200);
  HttpReply failed = HttpGet(c.port(), "/prom.metrics");
  CHECK(failed.status == 500);
  CHECK(failed.body.find(t.File("d")) != std::string::npos);
  fs::rename(t.File("moved"), t.File("d"));
  CHECK(HttpGet(c.port(), "/-/ready").status == 200);
  HttpReply back = HttpGet(c.port(), "/prom.metrics");
  CHECK(back.status == 200);
  CHECK(back.body.find("promdir_collector_scrape_errors_total 1") != std::string::npos);
  CHECK(c.process().Signal(SIGTERM) == 0);
  std::string log = c.process().Stderr();
  CHECK(Count(log, "cannot read the metrics directory") == 1);
  CHECK(Count(log, "readable again") == 1);
}

TEST_CASE("collector e2e: other methods get 405 before any body is read") {
  TempDir t;
  Collector c(t.path());
  // Announces a 100 MB body and sends none of it: a server that read the
  // body would wait for it instead of answering.
  std::string reply = RawRequest(
      c.port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\nabc");
  CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
  CHECK(reply.find("Allow: GET, HEAD") != std::string::npos);
  CHECK(reply.find("Connection: close") != std::string::npos);

  reply = RawRequest(c.port(),
                     "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
                     "Expect: 100-continue\r\n\r\n");
  CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
  CHECK(reply.find("100 Continue") == std::string::npos);

  for (const char* method : {"DELETE", "OPTIONS", "PATCH"}) {
    CAPTURE(method);
    reply = RawRequest(c.port(), std::string(method) +
                                     " /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(reply.rfind("HTTP/1.1 405", 0) == 0);
  }

  std::string many = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 200; ++i) many += "X-Filler-" + std::to_string(i) + ": y\r\n";
  reply = RawRequest(c.port(), many + "\r\n");
  CHECK(reply.rfind("HTTP/1.1 431", 0) == 0);

  // Still serving.
  CHECK(HttpGet(c.port(), "/metrics").status == 200);
}

TEST_CASE("collector e2e: a second collector on the same port fails clearly") {
  TempDir t;
  Collector first(t.path());
  ChildProcess second({CollectorBin(), "--dir", t.path(), "--web.listen-address",
                       "127.0.0.1:" + std::to_string(first.port())});
  CHECK(second.Wait() == 1);
  std::string log = second.Stderr();
  CHECK(log.find("127.0.0.1:" + std::to_string(first.port())) != std::string::npos);
  CHECK(log.find("address already in use") != std::string::npos);
  // The first one still serves every request (no port sharing).
  for (int i = 0; i < 10; ++i) CHECK(HttpGet(first.port(), "/-/healthy").status == 200);
}

TEST_CASE("collector e2e: SIGTERM and SIGINT shut down cleanly") {
  TempDir t;
  for (int sig : {SIGTERM, SIGINT}) {
    CAPTURE(sig);
    Collector c(t.path(), {"--log.format", "json"});
    CHECK(HttpGet(c.port(), "/metrics").status == 200);
    CHECK(c.process().Signal(sig) == 0);
    std::string log = c.process().Stderr();
    CHECK(log.find("\"msg\":\"shutting down\"") != std::string::npos);
    CHECK(log.find(sig == SIGINT ? "SIGINT" : "SIGTERM") != std::string::npos);
    CHECK(log.find("\"msg\":\"stopped\"") != std::string::npos);
    std::istringstream lines(log);
    std::string line;
    while (std::getline(lines, line)) {
      CHECK(line.rfind("{\"ts\":\"", 0) == 0);
      CHECK(line.back() == '}');
    }
  }
}

// Opens a TCP connection to 127.0.0.1:port that sends nothing.
int StalledConnection(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  return fd;
}

TEST_CASE("collector e2e: stalled clients hold no worker, are cut off, and the cap answers 503") {
  TempDir t;
  Collector c(t.path(), {"--web.max-connections", "3", "--web.read-timeout", "1s",
                         "--web.workers", "1"});
  // Clients that never send a request hold no worker: a scrape is served.
  int a = StalledConnection(c.port());
  int b = StalledConnection(c.port());
  auto start = std::chrono::steady_clock::now();
  CHECK(HttpGet(c.port(), "/metrics").status == 200);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::milliseconds(900));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // A third stalled client fills the cap; the next connection gets 503.
  int d = StalledConnection(c.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(HttpGet(c.port(), "/metrics").status == 503);
  // The read timeout cuts the stalled clients off; then scrapes work again.
  std::this_thread::sleep_for(std::chrono::milliseconds(1300));
  HttpReply r = HttpGet(c.port(), "/metrics");
  CHECK(r.status == 200);
  CHECK(r.body.find("promdir_collector_http_connections_timed_out_total{phase=\"head\"} 3") !=
        std::string::npos);
  CHECK(r.body.find("promdir_collector_http_connections_rejected_total{reason=\"connection_limit\"} 1") !=
        std::string::npos);
  char byte;
  CHECK(::recv(a, &byte, 1, 0) == 0);  // closed by the collector
  ::close(a);
  ::close(b);
  ::close(d);
}

TEST_CASE("collector e2e: listen on every interface and on IPv6 loopback") {
  TempDir t;
  static const std::regex kPort(R"(msg=listening address=(\S*):(\d+))");
  ChildProcess any({CollectorBin(), "--dir", t.path(), "--web.listen-address", ":0"});
  std::smatch m;
  std::string log;
  for (int i = 0; i < 500 && !std::regex_search(log, m, kPort); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    log = any.Stderr();
  }
  REQUIRE(std::regex_search(log, m, kPort));
  CHECK(m[1] == "");
  CHECK(HttpGet(std::stoi(m[2]), "/-/healthy").status == 200);  // via 127.0.0.1
  CHECK(any.Signal(SIGTERM) == 0);

  ChildProcess v6({CollectorBin(), "--dir", t.path(), "--web.listen-address", "[::1]:0"});
  for (int i = 0; i < 500 && v6.Running(); ++i) {
    log = v6.Stderr();
    if (log.find("listening") != std::string::npos || log.find("cannot") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (log.find("cannot listen") != std::string::npos) {
    MESSAGE("no IPv6 loopback here: " << log);
  } else {
    CHECK(log.find("address=[::1]:") != std::string::npos);
    CHECK(v6.Signal(SIGTERM) == 0);
  }
}

TEST_CASE("collector e2e: command line errors, --help and --version") {
  int rc = -1;
  std::string out = RunCommand(CollectorBin() + " --help", "", &rc);
  CHECK(rc == 0);
  CHECK(out.find("Examples:") != std::string::npos);
  CHECK(out.find("--web.listen-address") != std::string::npos);
  out = RunCommand(CollectorBin() + " --version", "", &rc);
  CHECK(rc == 0);
  CHECK(out.find("promdir-collector ") != std::string::npos);

  ChildProcess no_dir({CollectorBin()},
                      {"PROMETHEUS_MULTIPROC_DIR=", "prometheus_multiproc_dir="});
  CHECK(no_dir.Wait() == 2);
  CHECK(no_dir.Stderr().find("--dir") != std::string::npos);

  TempDir t;
  ChildProcess from_env({CollectorBin(), "--web.listen-address", "127.0.0.1:0"},
                        {"PROMETHEUS_MULTIPROC_DIR=", "prometheus_multiproc_dir=" + t.path()});
  for (int i = 0; i < 500 && from_env.Stderr().find("listening") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(from_env.Stderr().find("dir=" + t.path()) != std::string::npos);
  CHECK(from_env.Signal(SIGTERM) == 0);

  ChildProcess bad_addr({CollectorBin(), "--dir", t.path(), "--web.listen-address", "10464"});
  CHECK(bad_addr.Wait() == 2);
  CHECK(bad_addr.Stderr().find("--web.listen-address") != std::string::npos);
  ChildProcess bad_level({CollectorBin(), "--dir", t.path(), "--log.level", "loud"});
  CHECK(bad_level.Wait() == 2);
  CHECK(bad_level.Stderr().find("--log.level") != std::string::npos);
}

TEST_CASE("collector e2e: every fixture as data in both formats, passing promtool and the OM parser") {
  for (const char* name : {"py016-web", "py016-exotic", "pyhead-web", "pyhead-exotic"}) {
    CAPTURE(name);
    TempDir t;
    CopyDir(Fixture(std::string(name) + "/dir"), t.File("d"));
    {
      Collector c(t.File("d"), {"--liveness", "none"});
      HttpReply text = HttpGet(c.port(), "/metrics");
      REQUIRE(text.status == 200);
      CHECK(CompareAsData(Fixture(std::string(name) + "/expected.txt"), text.body, false) == "");
      std::string ours, theirs;
      int rc = Promtool(text.body, &ours);
      int python_rc = Promtool(ReadFile(Fixture(std::string(name) + "/expected.txt")), &theirs);
      CAPTURE(ours);
      CHECK(rc != 1);  // 1 is a parse error; 3 only lint (names Python also writes)
      CHECK(rc == python_rc);
      if (std::string(name).ends_with("web")) CHECK(rc == 0);

      HttpReply om = HttpGet(c.port(), "/metrics", {{"Accept", kPrometheusAccept}});
      REQUIRE(om.status == 200);
      std::string parse;
      CHECK_MESSAGE(OpenMetricsValid(om.body, &parse), parse);
      // The exotic fixtures hold negative summary sums, which OpenMetrics
      // cannot carry as a summary; only the web ones compare as data.
      if (std::string(name).ends_with("web")) {
        CHECK(CompareAsData(Fixture(std::string(name) + "/expected.txt"), om.body, true) == "");
      }
    }
    {
      // Every writer dead: live* gauges left out; --no-prune keeps the files.
      size_t files_before = std::distance(fs::directory_iterator(t.File("d")),
                                          fs::directory_iterator());
      Collector c(t.File("d"), {"--liveness", "lock", "--no-prune"});
      HttpReply text = HttpGet(c.port(), "/metrics");
      REQUIRE(text.status == 200);
      CHECK(CompareAsData(Fixture(std::string(name) + "/expected-pruned.txt"), text.body,
                          false) == "");
      size_t files_after = std::distance(fs::directory_iterator(t.File("d")),
                                         fs::directory_iterator());
      CHECK(files_after == files_before);
    }
    {
      // With pruning, the live* files go; the view stays the same.
      Collector c(t.File("d"), {"--liveness", "lock"});
      HttpReply text = HttpGet(c.port(), "/metrics");
      REQUIRE(text.status == 200);
      CHECK(CompareAsData(Fixture(std::string(name) + "/expected-pruned.txt"), text.body,
                          false) == "");
      for (const auto& e : fs::directory_iterator(t.File("d"))) {
        CHECK(e.path().filename().string().rfind("gauge_live", 0) != 0);
      }
      HttpReply again = HttpGet(c.port(), "/metrics");
      CHECK(CompareAsData(Fixture(std::string(name) + "/expected-pruned.txt"), again.body,
                          false) == "");
    }
  }
}

TEST_CASE("collector e2e: the corrupt fixture scrapes, and each bad file is logged once") {
  TempDir t;
  CopyDir(Fixture("corrupt/dir"), t.File("d"));
  fs::create_symlink("/etc/hostname", t.File("d") + "/counter_4194508.db");
  Collector c(t.File("d"), {"--liveness", "none"});
  HttpReply first = HttpGet(c.port(), "/metrics");
  HttpReply second = HttpGet(c.port(), "/metrics", {{"Accept", kPrometheusAccept}});
  REQUIRE(first.status == 200);
  REQUIRE(second.status == 200);
  CHECK(CompareAsData(Fixture("corrupt/expected.txt"), first.body, false) == "");
  CHECK(CompareAsData(Fixture("corrupt/expected.txt"), second.body, true) == "");
  std::string parse;
  CHECK_MESSAGE(OpenMetricsValid(second.body, &parse), parse);

  std::string log = c.process().Stderr();
  std::istringstream errors(ReadFile(Fixture("corrupt/expected-errors.txt")));
  std::string line;
  std::vector<std::string> bad = {"counter_4194508.db"};
  while (std::getline(errors, line)) {
    if (line.empty() || line[0] == '#') continue;
    bad.push_back(line.substr(0, line.find(' ')));
  }
  CHECK(bad.size() >= 8);
  for (const std::string& name : bad) {
    CAPTURE(name);
    size_t lines_naming = 0;
    std::istringstream lines(log);
    std::string l;
    while (std::getline(lines, l)) lines_naming += l.find("/" + name) != std::string::npos;
    CHECK(lines_naming == 1);
  }
  CHECK(Count(log, "skipping bad metrics file") == bad.size());
  CHECK(log.find("counter_4194506.db") == std::string::npos);  // used = 0: empty, fine
  CHECK(log.find("notes.txt") == std::string::npos);
  CHECK(second.body.find("promdir_collector_bad_files{reason=") != std::string::npos);
  CHECK(second.body.find(",state=\"bad\"} ") != std::string::npos);
}

TEST_CASE("collector e2e: scrapes stay whole while Python writers are SIGKILLed") {
  TempDir t;
  Collector c(t.path(), {"--liveness", "auto"});
  std::mt19937 rng(42);
  std::string writer = std::string(PROMDIR_SOURCE_DIR) + "/tests/collector_writer.py";
  double last_total = 0;
  int scrapes = 0;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::unique_ptr<ChildProcess>> writers;
    for (int i = 0; i < 3; ++i) {
      writers.push_back(std::make_unique<ChildProcess>(
          std::vector<std::string>{kPython, writer, t.path()}));
    }
    for (auto& w : writers) {
      std::string ready = t.File("ready." + std::to_string(w->pid()));
      for (int i = 0; i < 1000 && !fs::exists(ready) && w->Running(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      REQUIRE(fs::exists(ready));
    }
    // Kill them one by one at random moments between scrapes.
    std::shuffle(writers.begin(), writers.end(), rng);
    for (auto& w : writers) {
      for (int s = 0; s < 3; ++s) {
        HttpReply r = HttpGet(c.port(), "/metrics",
                              s % 2 ? std::vector<std::pair<std::string, std::string>>{
                                          {"Accept", kPrometheusAccept}}
                                    : std::vector<std::pair<std::string, std::string>>{});
        REQUIRE(r.status == 200);
        ++scrapes;
        double total = SumSamples(r.body, "e2e_events_total");
        CHECK(total >= last_total);  // counters of dead writers stay
        last_total = total;
        if (s == 1) {
          std::string parse;
          CHECK_MESSAGE(OpenMetricsValid(r.body, &parse), parse);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      CHECK(w->Signal(SIGKILL) == 128 + SIGKILL);
    }
    HttpReply after = HttpGet(c.port(), "/metrics");
    REQUIRE(after.status == 200);
    // Every writer is dead: its livesum gauge file is pruned.
    CHECK(SumSamples(after.body, "e2e_busy") == 0);
    for (const auto& e : fs::directory_iterator(t.path())) {
      CHECK(e.path().filename().string().rfind("gauge_livesum_", 0) != 0);
    }
  }
  CHECK(scrapes == 45);
  CHECK(last_total > 0);
  std::string log = c.process().Stderr();
  CHECK(log.find("skipping bad metrics file") == std::string::npos);
  CHECK(c.process().Signal(SIGTERM) == 0);
}

// The pids of `parent`'s children.
std::vector<pid_t> Children(pid_t parent) {
  std::string path = "/proc/" + std::to_string(parent) + "/task/" +
                     std::to_string(parent) + "/children";
  std::istringstream in(ReadFile(path));
  std::vector<pid_t> pids;
  pid_t pid;
  while (in >> pid) pids.push_back(pid);
  return pids;
}

// Waits until `pid` has finished exiting (gone, or a zombie: its files are
// closed and its locks released by then). A SIGKILLed process on a busy
// machine may still hold its files for a moment after kill() returns.
void WaitExited(pid_t pid) {
  std::string stat = "/proc/" + std::to_string(pid) + "/stat";
  for (int i = 0; i < 5000; ++i) {
    std::ifstream in(stat);
    std::string line;
    if (!std::getline(in, line)) return;  // gone
    size_t paren = line.rfind(')');
    if (paren != std::string::npos && paren + 2 < line.size() &&
        line[paren + 2] == 'Z') {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  FAIL("pid " << pid << " did not exit within 5 s of SIGKILL");
}

TEST_CASE("collector e2e: scrapes stay whole while promdir-loadgen writers are SIGKILLed") {
  TempDir t;
  Collector c(t.path(), {"--liveness", "auto"});
  std::mt19937 rng(7);
  double last_total = 0;
  for (int round = 0; round < 3; ++round) {
    ChildProcess loadgen({std::string(PROMDIR_BIN_DIR) + "/promdir-loadgen", "--dir",
                          t.path(), "--workers", "3", "--duration", "120", "--sleep-ms",
                          "1", "--layout", round % 2 ? "8" : "16"});
    std::vector<pid_t> workers;
    for (int i = 0; i < 1000 && workers.size() < 3; ++i) {
      workers = Children(loadgen.pid());
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(workers.size() == 3);
    // Each worker's files exist before the kills start.
    for (pid_t w : workers) {
      std::string counter = t.File("counter_" + std::to_string(w) + ".db");
      for (int i = 0; i < 1000 && !fs::exists(counter); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      REQUIRE(fs::exists(counter));
    }
    for (pid_t w : workers) {
      for (int s = 0; s < 3; ++s) {
        HttpReply r = HttpGet(c.port(), "/metrics",
                              s == 1 ? std::vector<std::pair<std::string, std::string>>{
                                           {"Accept", kPrometheusAccept},
                                           {"Accept-Encoding", "gzip"}}
                                     : std::vector<std::pair<std::string, std::string>>{});
        REQUIRE(r.status == 200);
        if (s == 1) {
          std::string unpacked;
          REQUIRE(http::GzipDecompress(r.body, &unpacked).ok());
          std::string parse;
          CHECK_MESSAGE(OpenMetricsValid(unpacked, &parse), parse);
          continue;
        }
        double total = SumSamples(r.body, "loadgen_requests_total");
        CHECK(total >= last_total);  // a killed writer's counts stay
        last_total = total;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 20));
      ::kill(w, SIGKILL);
    }
    for (pid_t w : workers) WaitExited(w);
    // The parent exits 1 once its workers died, unless the kill comes first.
    int rc = loadgen.Signal(SIGKILL);
    CHECK((rc == 1 || rc == 128 + SIGKILL));
    // The kernel dropped the dead writers' locks: their livesum gauges are
    // left out and their live* files pruned at once.
    HttpReply after = HttpGet(c.port(), "/metrics");
    REQUIRE(after.status == 200);
    CHECK(SumSamples(after.body, "loadgen_inflight") == 0);
    CHECK(SumSamples(after.body, "loadgen_requests_total") >= last_total);
    for (const auto& e : fs::directory_iterator(t.path())) {
      std::string name = e.path().filename().string();
      CHECK_MESSAGE(name.rfind("gauge_live", 0) != 0, (name + " was not pruned"));
    }
  }
  CHECK(last_total > 0);
  CHECK(c.process().Signal(SIGTERM) == 0);
}

TEST_CASE("collector e2e: --compact-interval folds dead writers' files in the background") {
  TempDir t;
  CopyDir(Fixture("py016-web/dir"), t.File("d"));
  size_t files_before = std::distance(fs::directory_iterator(t.File("d")),
                                      fs::directory_iterator());
  Collector c(t.File("d"), {"--compact-interval", "1s", "--liveness", "auto"});
  HttpReply before = HttpGet(c.port(), "/metrics");
  REQUIRE(before.status == 200);
  CHECK(before.body.find("promdir_collector_compaction_runs_total{result=\"ok\"}") !=
        std::string::npos);
  static const std::regex kRuns(R"(promdir_collector_compaction_runs_total\{result="ok"\} (\d+))");
  std::string body;
  for (int i = 0; i < 300; ++i) {  // a run per second; wait for two
    HttpReply r = HttpGet(c.port(), "/metrics");
    REQUIRE(r.status == 200);
    body = r.body;
    std::smatch m;
    if (std::regex_search(body, m, kRuns) && std::stoi(m[1]) >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::smatch m;
  REQUIRE(std::regex_search(body, m, kRuns));
  CHECK(std::stoi(m[1]) >= 2);
  CHECK(SumSamples(body, "promdir_collector_compaction_folded_files_total") > 0);
  CHECK(body.find("promdir_collector_compaction_runs_total{result=\"error\"} 0") !=
        std::string::npos);
  // Only archives are left: at most one per (type, mode, layout).
  size_t files_after = 0;
  for (const auto& e : fs::directory_iterator(t.File("d"))) {
    std::string name = e.path().filename().string();
    if (!name.ends_with(".db")) continue;
    ++files_after;
    CHECK_MESSAGE(name.find("_archive") != std::string::npos, name);
  }
  CHECK(files_after < files_before);
  CHECK(files_after <= 3);  // counter, histogram, summary
  // Totals are unchanged; the dead writers' live and per-process gauges
  // are gone.
  CHECK(CompareAsData(Fixture("py016-web/expected-pruned.txt"), body, false,
                      "worker_resident_bytes") == "");
  CHECK(body.find("worker_resident_bytes{") == std::string::npos);
  std::string log = c.process().Stderr();
  CHECK(log.find("msg=compacted") != std::string::npos);
  CHECK(log.find("background compaction on") != std::string::npos);
  CHECK(c.process().Signal(SIGTERM) == 0);
}

}  // namespace
}  // namespace promdir::test
