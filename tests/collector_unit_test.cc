// Unit tests of promdir_http: negotiation, gzip, flags, logging and the
// self-metrics model.

#include <doctest/doctest.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "collector/src/compaction_loop.h"
#include "collector/src/flags.h"
#include "collector/src/gzip.h"
#include "collector/src/logger.h"
#include "collector/src/negotiation.h"
#include "collector/src/options.h"
#include "collector/src/self_metrics.h"
#include "promdir/exposition.h"
#include "tests/test_util.h"

namespace promdir::http {
namespace {

constexpr const char* kPrometheusAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
    "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

TEST_CASE("negotiation: Prometheus' Accept header gets OpenMetrics 1.0.0") {
  CHECK(NegotiateFormat(kPrometheusAccept) == ExpositionFormat::kOpenMetrics100);
}

TEST_CASE("negotiation: text 0.0.4 is the default") {
  CHECK(NegotiateFormat("") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat("*/*") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat("text/plain") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat("text/plain;version=0.0.4") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat("application/json") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat(",,;;==") == ExpositionFormat::kText004);
  CHECK(NegotiateFormat("application/openmetrics-text;q=0") ==
        ExpositionFormat::kText004);
}

TEST_CASE("negotiation: q-values decide") {
  CHECK(NegotiateFormat("application/openmetrics-text") ==
        ExpositionFormat::kOpenMetrics100);
  CHECK(NegotiateFormat("Application/OpenMetrics-Text; Version=1.0.0") ==
        ExpositionFormat::kOpenMetrics100);
  CHECK(NegotiateFormat("text/plain;q=0.9, application/openmetrics-text;q=0.8") ==
        ExpositionFormat::kText004);
  CHECK(NegotiateFormat("text/plain;q=0.8, application/openmetrics-text;q=0.9") ==
        ExpositionFormat::kOpenMetrics100);
  // A version we do not serve does not match.
  CHECK(NegotiateFormat("application/openmetrics-text;version=2.0.0") ==
        ExpositionFormat::kText004);
  // The most specific range sets the q: OpenMetrics refused explicitly.
  CHECK(NegotiateFormat("application/openmetrics-text;q=0, */*") ==
        ExpositionFormat::kText004);
  CHECK(NegotiateFormat("application/*;q=0.9, text/plain;q=0.1") ==
        ExpositionFormat::kOpenMetrics100);
  // A tie goes to the range written first.
  CHECK(NegotiateFormat("application/openmetrics-text, text/plain") ==
        ExpositionFormat::kOpenMetrics100);
  CHECK(NegotiateFormat("text/plain, application/openmetrics-text") ==
        ExpositionFormat::kText004);
  // Malformed q counts as 0.
  CHECK(NegotiateFormat("application/openmetrics-text;q=abc") ==
        ExpositionFormat::kText004);
  CHECK(NegotiateFormat("application/openmetrics-text;q=1.5") ==
        ExpositionFormat::kText004);
}

TEST_CASE("negotiation: Prometheus 3's five protocols and escaping=") {
  using F = ExpositionFormat;
  using E = NameEscaping;
  constexpr const char* kPrometheus3 =
      "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
      "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
      "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1";
  CHECK(NegotiateFormat(kPrometheus3) == Exposition(F::kOpenMetrics100, E::kAllowUtf8));
  // Native histograms on: protobuf first.
  CHECK(NegotiateFormat("application/vnd.google.protobuf;proto=io.prometheus.client."
                        "MetricFamily;encoding=delimited,application/openmetrics-text;"
                        "version=1.0.0;q=0.8,*/*;q=0.1") == F::kProtobuf);
  CHECK(NegotiateFormat("application/vnd.google.protobuf;proto=io.prometheus.client."
                        "MetricFamily;encoding=delimited;escaping=allow-utf-8") ==
        Exposition(F::kProtobuf, E::kAllowUtf8));
  // Other encodings and messages are not served.
  CHECK(NegotiateFormat("application/vnd.google.protobuf;proto=io.prometheus.client."
                        "MetricFamily;encoding=text") == F::kText004);
  CHECK(NegotiateFormat("application/vnd.google.protobuf;proto=foo.Bar") == F::kText004);
  CHECK(NegotiateFormat("text/plain;version=1.0.0") == Exposition(F::kText100, E::kUnderscores));
  CHECK(NegotiateFormat("text/plain;version=1.0.0;escaping=dots") ==
        Exposition(F::kText100, E::kDots));
  CHECK(NegotiateFormat("text/plain;version=1.0.0;escaping=nonsense") == F::kText100);
  CHECK(NegotiateFormat("application/openmetrics-text;version=0.0.1") == F::kOpenMetrics001);
  CHECK(NegotiateFormat("text/plain;version=1.0.0;q=0.3,application/openmetrics-text;"
                        "version=0.0.1;escaping=values;q=0.4").names() == E::kUnderscores);
  // The scheme is the winning range's: the wildcard names none.
  CHECK(NegotiateFormat("text/plain;version=1.0.0;escaping=values;q=0.1,*/*") ==
        F::kText004);
}

TEST_CASE("negotiation: ParseHeaderList") {
  auto list = ParseHeaderList(" a/b ; x=\"1,2\" ; q=0.5 , c ");
  REQUIRE(list.size() == 2);
  CHECK(list[0].value == "a/b");
  REQUIRE(list[0].params.size() == 1);
  CHECK(list[0].params[0].second == "1,2");
  CHECK(list[0].q == doctest::Approx(0.5));
  CHECK(list[1].value == "c");
  CHECK(list[1].position == 1);
}

TEST_CASE("negotiation: gzip per Accept-Encoding") {
  CHECK(AcceptsGzip("gzip"));
  CHECK(AcceptsGzip("gzip, deflate, br"));
  CHECK(AcceptsGzip("br;q=1.0, gzip;q=0.8"));
  CHECK(AcceptsGzip("x-gzip"));
  CHECK(AcceptsGzip("*"));
  CHECK(AcceptsGzip("GZIP"));
  CHECK_FALSE(AcceptsGzip(""));
  CHECK_FALSE(AcceptsGzip("identity"));
  CHECK_FALSE(AcceptsGzip("br"));
  CHECK_FALSE(AcceptsGzip("gzip;q=0"));
  CHECK_FALSE(AcceptsGzip("gzip;q=0.000"));
  CHECK_FALSE(AcceptsGzip("*, gzip;q=0"));
  CHECK_FALSE(AcceptsGzip("*;q=0"));
  CHECK(AcceptsGzip("*;q=0, gzip"));
}

TEST_CASE("gzip: round trip, and corrupt input is an error") {
  std::string input;
  for (int i = 0; i < 200000; ++i) input += "metric_" + std::to_string(i % 977) + " 1\n";
  std::string packed, unpacked;
  REQUIRE(GzipCompress(input, 1, &packed).ok());
  CHECK(packed.size() < input.size() / 5);
  CHECK(static_cast<unsigned char>(packed[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(packed[1]) == 0x8b);
  REQUIRE(GzipDecompress(packed, &unpacked).ok());
  CHECK(unpacked == input);

  REQUIRE(GzipCompress("", 6, &packed).ok());
  REQUIRE(GzipDecompress(packed, &unpacked).ok());
  CHECK(unpacked.empty());

  CHECK_FALSE(GzipDecompress("not gzip at all", &unpacked).ok());
  REQUIRE(GzipCompress(input, 9, &packed).ok());
  CHECK_FALSE(GzipDecompress(packed.substr(0, packed.size() / 2), &unpacked).ok());
}

TEST_CASE("gzip: a large body is compressed in parts into one member") {
  // Parts made on several threads must still be one valid gzip member:
  // zlib and Python's gzip module read it back whole, at every size
  // around the part boundaries, with text that refers back across them.
  std::string big;
  uint32_t x = 12345;
  while (big.size() < 3 * 1024 * 1024 + 7) {
    x = x * 1103515245u + 12345u;
    big += "http_requests_total{view=\"v" + std::to_string((x >> 8) % 300) +
           "\",method=\"GET\"} " + std::to_string(x % 100000) + "\n";
  }
  for (size_t size : {size_t{1}, size_t{255 * 1024}, size_t{256 * 1024},
                      size_t{256 * 1024 + 1}, size_t{1024 * 1024 + 3},
                      big.size()}) {
    CAPTURE(size);
    std::string input = big.substr(0, size);
    std::string packed, unpacked;
    REQUIRE(GzipCompress(input, 1, &packed).ok());
    REQUIRE(GzipDecompress(packed, &unpacked).ok());
    CHECK(unpacked == input);
    CHECK(packed.size() < input.size() / 2 + 64);
  }
  std::string packed;
  REQUIRE(GzipCompress(big, 6, &packed).ok());
  test::TempDir dir;
  test::WriteFile(dir.File("body.gz"), packed);
  test::WriteFile(dir.File("body"), big);
  std::string cmd = "/usr/bin/python3 -c 'import gzip,sys; "
                    "a=gzip.decompress(open(sys.argv[1],\"rb\").read()); "
                    "b=open(sys.argv[2],\"rb\").read(); sys.exit(a!=b)' " +
                    dir.File("body.gz") + " " + dir.File("body");
  CHECK(std::system(cmd.c_str()) == 0);
}

TEST_CASE("options: listen addresses") {
  ListenAddress a;
  REQUIRE(ParseListenAddress(":10464", &a).ok());
  CHECK(a.host.empty());
  CHECK(a.port == 10464);
  REQUIRE(ParseListenAddress("127.0.0.1:0", &a).ok());
  CHECK(a.host == "127.0.0.1");
  CHECK(a.port == 0);
  REQUIRE(ParseListenAddress("[::1]:9", &a).ok());
  CHECK(a.host == "::1");
  CHECK(FormatListenAddress(a) == "[::1]:9");
  REQUIRE(ParseListenAddress("localhost:80", &a).ok());
  CHECK(FormatListenAddress(a) == "localhost:80");
  for (const char* bad : {"", "10464", "host:", ":-1", ":65536", ":12ab", "::1:80",
                          "[::1]80", "[::1", "[]:80"}) {
    Status s = ParseListenAddress(bad, &a);
    CHECK_FALSE(s.ok());
    CHECK(s.message().find("--web.listen-address") != std::string::npos);
  }
}

TEST_CASE("options: durations") {
  double d = -1;
  REQUIRE(ParseDuration("0", &d).ok());
  CHECK(d == 0);
  REQUIRE(ParseDuration("90s", &d).ok());
  CHECK(d == 90);
  REQUIRE(ParseDuration("1h30m", &d).ok());
  CHECK(d == 5400);
  REQUIRE(ParseDuration("500ms", &d).ok());
  CHECK(d == doctest::Approx(0.5));
  REQUIRE(ParseDuration("2d", &d).ok());
  CHECK(d == 172800);
  for (const char* bad : {"", "10", "s", "5x", "-5s", "1.5s", "5m3"}) {
    CHECK_FALSE(ParseDuration(bad, &d).ok());
  }
}

TEST_CASE("options: the directory comes from the flag, then the environment") {
  std::map<std::string, std::string> env;
  auto getenv = [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  std::string dir;
  Status s = ResolveDirectory("", getenv, &dir);
  REQUIRE_FALSE(s.ok());
  CHECK(s.message().find("--dir") != std::string::npos);
  CHECK(s.message().find("PROMETHEUS_MULTIPROC_DIR") != std::string::npos);
  env["prometheus_multiproc_dir"] = "/old";
  REQUIRE(ResolveDirectory("", getenv, &dir).ok());
  CHECK(dir == "/old");
  env["PROMETHEUS_MULTIPROC_DIR"] = "/new";
  REQUIRE(ResolveDirectory("", getenv, &dir).ok());
  CHECK(dir == "/new");
  REQUIRE(ResolveDirectory("/flag", getenv, &dir).ok());
  CHECK(dir == "/flag");
}

// Parses `args` as promdir-collector would; returns the options or the
// error message.
Status ParseArgs(std::vector<std::string> args, ServerOptions* options,
                 bool* cli_error = nullptr) {
  CLI::App app{"test", "promdir-collector"};
  Flags flags;
  AddFlags(&app, &flags, true);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    if (cli_error) *cli_error = true;
    return Status::InvalidArgument(e.what());
  }
  auto getenv = [](const char*) -> const char* { return nullptr; };
  return ToOptions(flags, getenv, options);
}

TEST_CASE("flags: defaults and every flag") {
  ServerOptions o;
  REQUIRE(ParseArgs({"--dir", "/d"}, &o).ok());
  CHECK(o.directory == "/d");
  REQUIRE(o.listen.size() == 1);
  CHECK(o.listen[0].host.empty());
  CHECK(o.listen[0].port == 10464);
  CHECK(o.telemetry_path == "/metrics");
  CHECK(o.liveness == LivenessMode::kAuto);
  CHECK(o.prune);
  CHECK(o.compact_interval == 0);
  CHECK(o.log_level == LogLevel::kInfo);
  CHECK(o.log_format == LogFormat::kLogfmt);

  REQUIRE(ParseArgs({"--dir", "/d", "--web.listen-address", "[::1]:8080",
                     "--web.telemetry-path", "/m", "--liveness", "lock",
                     "--no-prune", "--compact-interval", "10m", "--log.level",
                     "debug", "--log.format", "json", "--web.max-connections",
                     "3", "--web.read-timeout", "2s", "--web.write-timeout",
                     "1m", "--web.keep-alive-timeout", "500ms",
                     "--web.gzip-level", "6"},
                    &o)
              .ok());
  REQUIRE(o.listen.size() == 1);
  CHECK(o.listen[0].host == "::1");
  CHECK(o.listen[0].port == 8080);
  CHECK(o.telemetry_path == "/m");
  CHECK(o.liveness == LivenessMode::kLock);
  CHECK_FALSE(o.prune);
  CHECK(o.compact_interval == 600);
  CHECK(o.log_level == LogLevel::kDebug);
  CHECK(o.log_format == LogFormat::kJson);
  CHECK(o.max_connections == 3);
  CHECK(o.read_timeout == 2);
  CHECK(o.write_timeout == 60);
  CHECK(o.keep_alive_timeout == doctest::Approx(0.5));
  CHECK(o.gzip_level == 6);
}

TEST_CASE("flags: repeated listen addresses, socket activation, web config") {
  ServerOptions o;
  REQUIRE(ParseArgs({"--dir", "/d", "--web.listen-address", "127.0.0.1:1",
                     "--web.listen-address", "[::1]:2", "--web.systemd-socket",
                     "--web.workers", "2"},
                    &o)
              .ok());
  REQUIRE(o.listen.size() == 2);
  CHECK(o.listen[0].host == "127.0.0.1");
  CHECK(o.listen[1].host == "::1");
  CHECK(o.listen[1].port == 2);
  CHECK(o.systemd_socket);
  CHECK(o.workers == 2);
  Status s = ParseArgs({"--dir", "/d", "--web.config.file", "/nonexistent/web.yml"}, &o);
  CHECK(s.message().find("--web.config.file: /nonexistent/web.yml: cannot read it") == 0);
}

TEST_CASE("flags: bad values name the flag") {
  ServerOptions o;
  bool cli_error = false;
  CHECK_FALSE(ParseArgs({"--dir", "/d", "--liveness", "maybe"}, &o, &cli_error).ok());
  CHECK(cli_error);
  cli_error = false;
  CHECK_FALSE(ParseArgs({"--dir", "/d", "--log.format", "xml"}, &o, &cli_error).ok());
  CHECK(cli_error);
  Status s = ParseArgs({"--dir", "/d", "--web.listen-address", "nope"}, &o);
  CHECK(s.message().find("--web.listen-address") != std::string::npos);
  s = ParseArgs({"--dir", "/d", "--compact-interval", "soon"}, &o);
  CHECK(s.message().find("--compact-interval") != std::string::npos);
  s = ParseArgs({"--dir", "/d", "--web.telemetry-path", "metrics"}, &o);
  CHECK(s.message().find("--web.telemetry-path") != std::string::npos);
  s = ParseArgs({"--dir", "/d", "--web.read-timeout", "0"}, &o);
  CHECK(s.message().find("--web.read-timeout") != std::string::npos);
  s = ParseArgs({}, &o);
  CHECK(s.message().find("--dir") != std::string::npos);
}

TEST_CASE("flags: --help teaches with examples") {
  CLI::App app{"test", "promdir-collector"};
  Flags flags;
  AddFlags(&app, &flags, true);
  std::string help = app.help();
  for (const char* needle : {"--dir", "--web.listen-address", "--web.telemetry-path",
                             "--liveness", "--no-prune", "--compact-interval",
                             "--log.level", "--log.format", "--version",
                             "Examples:", "PROMETHEUS_MULTIPROC_DIR=",
                             "/-/ready"}) {
    CHECK_MESSAGE(help.find(needle) != std::string::npos, needle);
  }
}

TEST_CASE("logger: logfmt and json lines") {
  std::string line = FormatLogLine(LogFormat::kLogfmt, "T", LogLevel::kWarn,
                                   "bad file", {{"file", "/a b/c.db"}, {"n", "3"},
                                                {"e", "say \"hi\"\n"}, {"empty", ""}});
  CHECK(line == "ts=T level=warn msg=\"bad file\" file=\"/a b/c.db\" n=3 "
                "e=\"say \\\"hi\\\"\\n\" empty=\"\"\n");
  line = FormatLogLine(LogFormat::kJson, "T", LogLevel::kInfo, "x",
                       {{"k", "v\"\\\x01"}});
  CHECK(line == "{\"ts\":\"T\",\"level\":\"info\",\"msg\":\"x\",\"k\":\"v\\\"\\\\\\u0001\"}\n");

  std::vector<std::string> lines;
  Logger logger(LogLevel::kWarn, LogFormat::kLogfmt,
                [&lines](std::string_view l) { lines.emplace_back(l); });
  logger.Info("hidden");
  logger.Debug("hidden");
  logger.Warn("shown");
  logger.Error("shown too");
  REQUIRE(lines.size() == 2);
  CHECK(lines[0].find("level=warn msg=shown") != std::string::npos);
  CHECK(lines[0].rfind("ts=", 0) == 0);

  LogLevel level;
  CHECK(ParseLogLevel("error", &level));
  CHECK(level == LogLevel::kError);
  CHECK_FALSE(ParseLogLevel("verbose", &level));
  LogFormat format;
  CHECK(ParseLogFormat("json", &format));
  CHECK_FALSE(ParseLogFormat("JSON", &format));
}

const MetricFamily* Find(const std::vector<MetricFamily>& families,
                         const std::string& name) {
  for (const MetricFamily& f : families) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

TEST_CASE("self-metrics: scrapes accumulate, gauges follow the latest") {
  SelfMetrics m("1.2.3", false);
  ScrapeStats a;
  a.duration_seconds = 0.003;
  a.files[{"counter", "live"}] = 4;
  a.files[{"counter", "dead"}] = 2;
  a.entries = 100;
  a.bytes_read = 5000;
  a.bad_files_by_reason["truncated"] = 1;
  a.pruned_series = 7;
  a.pruned_files = 2;
  a.cache_misses = 6;
  m.RecordScrape(a, true);
  ScrapeStats b;
  b.duration_seconds = 2;
  b.files[{"counter", "live"}] = 5;
  b.entries = 120;
  b.bytes_read = 10;
  b.cache_hits = 6;
  b.cache_misses = 1;
  m.RecordScrape(b, true);
  m.RecordScrape(ScrapeStats{}, false);

  std::vector<MetricFamily> fs = m.Snapshot();
  CHECK(Find(fs, "promdir_collector_compaction_runs") == nullptr);
  const MetricFamily* f = Find(fs, "promdir_collector_build_info");
  REQUIRE(f);
  CHECK(f->samples.at(0).labels.at(0).second == "1.2.3");
  f = Find(fs, "promdir_collector_scrapes");
  REQUIRE(f);
  CHECK(f->type == MetricType::kCounter);
  CHECK(f->samples.at(0).name == "promdir_collector_scrapes_total");
  CHECK(f->samples.at(0).value == 3);
  CHECK(Find(fs, "promdir_collector_scrape_errors")->samples.at(0).value == 1);
  f = Find(fs, "promdir_collector_files");
  REQUIRE(f->samples.size() == 1);  // the latest scrape's view
  CHECK(f->samples[0].value == 5);
  CHECK(Find(fs, "promdir_collector_bad_files")->samples.empty());
  CHECK(Find(fs, "promdir_collector_entries")->samples.at(0).value == 120);
  CHECK(Find(fs, "promdir_collector_read_bytes")->samples.at(0).value == 5010);
  CHECK(Find(fs, "promdir_collector_pruned_series")->samples.at(0).value == 0);
  CHECK(Find(fs, "promdir_collector_pruned_files")->samples.at(0).value == 2);
  CHECK(Find(fs, "promdir_collector_cache_hits")->samples.at(0).value == 6);
  CHECK(Find(fs, "promdir_collector_cache_misses")->samples.at(0).value == 7);
  CHECK(Find(fs, "promdir_collector_last_scrape_duration_seconds")->samples.at(0).value == 2);

  f = Find(fs, "promdir_collector_scrape_duration_seconds");
  REQUIRE(f);
  CHECK(f->type == MetricType::kHistogram);
  // Buckets are cumulative and end at +Inf; _count equals the +Inf bucket.
  double last = 0;
  const Sample* inf = nullptr;
  const Sample* count = nullptr;
  for (const Sample& s : f->samples) {
    if (s.name.ends_with("_bucket")) {
      CHECK(s.value >= last);
      last = s.value;
      if (s.labels.at(0).second == "+Inf") inf = &s;
      if (s.labels.at(0).second == "0.005") CHECK(s.value == 1);
    }
    if (s.name.ends_with("_count")) count = &s;
  }
  REQUIRE(inf);
  REQUIRE(count);
  CHECK(inf->value == 2);
  CHECK(count->value == 2);
}

TEST_CASE("self-metrics: the exposition passes for both formats") {
  SelfMetrics m("1.0", true);
  ScrapeStats s;
  s.files[{"gauge_livesum", "bad"}] = 1;
  s.bad_files_by_reason["bad_key"] = 1;
  m.RecordScrape(s, true);
  CompactionRun run;
  run.files_folded = 3;
  run.files_removed = 4;
  m.RecordCompaction(run);
  CompactionRun busy;
  busy.busy = true;
  m.RecordCompaction(busy);
  std::vector<MetricFamily> fs = m.Snapshot();
  const MetricFamily* runs = Find(fs, "promdir_collector_compaction_runs");
  REQUIRE(runs);
  REQUIRE(runs->samples.size() == 3);
  CHECK(runs->samples[0].value == 1);  // ok
  CHECK(runs->samples[1].value == 0);  // error
  CHECK(runs->samples[2].value == 1);  // busy
  CHECK(Find(fs, "promdir_collector_compaction_folded_files")->samples.at(0).value == 3);
}

TEST_CASE("compaction loop: runs are recorded and logged; Stop wakes a long wait") {
  std::vector<std::string> lines;
  Logger logger(LogLevel::kInfo, LogFormat::kLogfmt,
                [&lines](std::string_view l) { lines.emplace_back(l); });
  SelfMetrics metrics("v", true);
  int calls = 0;
  CompactionLoop loop(
      3600,
      [&calls] {
        CompactionOutcome o;
        ++calls;
        if (calls == 1) {
          o.run.files_folded = 5;
          o.run.files_removed = 6;
          o.run.archives_written = 1;
          o.errors.push_back("/d/counter_1.db: permission denied");
        } else if (calls == 2) {
          o.run.busy = true;
        } else {
          o.run.ok = false;
          o.failure = "IOError: /d: gone";
        }
        return o;
      },
      &metrics, &logger);
  loop.RunOnce();
  loop.RunOnce();
  loop.RunOnce();
  CHECK(calls == 3);
  std::vector<MetricFamily> fs = metrics.Snapshot();
  const MetricFamily* runs = Find(fs, "promdir_collector_compaction_runs");
  REQUIRE(runs);
  CHECK(runs->samples[0].value == 1);  // ok
  CHECK(runs->samples[1].value == 1);  // error
  CHECK(runs->samples[2].value == 1);  // busy
  CHECK(Find(fs, "promdir_collector_compaction_folded_files")->samples.at(0).value == 5);
  CHECK(Find(fs, "promdir_collector_compaction_last_success_timestamp_seconds")
            ->samples.at(0).value > 0);
  std::string all;
  for (const std::string& l : lines) all += l;
  CHECK(all.find("msg=compacted folded_files=5 removed_files=6") != std::string::npos);
  CHECK(all.find("counter_1.db: permission denied") != std::string::npos);
  CHECK(all.find("another compactor is running") != std::string::npos);
  CHECK(all.find("level=error msg=\"compaction failed\" error=\"IOError: /d: gone\"") !=
        std::string::npos);

  // An hour-long interval: Stop must not wait for it.
  loop.Start();
  loop.Stop();
  CHECK(calls == 3);
}

}  // namespace
}  // namespace promdir::http
