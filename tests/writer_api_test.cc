// The writer's API and the bytes it writes.

#include <doctest/doctest.h>
#include <prometheus/check_names.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <stdexcept>
#include <thread>

#include "lib/src/format.h"
#include "lib/src/writer/metrics_file.h"
#include "lib/src/writer/registry_core.h"
#include "promdir/promdir.h"
#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::FileValues;
using test::Key;
using test::TempDir;

Options Opts(const TempDir& dir, ValueLayout layout = ValueLayout::k16) {
  return test::WriterOptions(dir.path(), "", layout);
}

std::string Pid() { return std::to_string(::getpid()); }

TEST_CASE("writer: a counter's file has Python's layout, header and key") {
  for (ValueLayout layout : {ValueLayout::k16, ValueLayout::k8}) {
    CAPTURE(static_cast<int>(layout));
    TempDir dir;
    {
      Registry registry(Opts(dir, layout));
      auto& f = BuildCounter()
                    .Name("req_total")
                    .Help("Requests")
                    .Labels({"method"})
                    .Register(registry);
      CHECK(f.name() == "req");
      Counter c = f.WithLabelValues("GET");
      c.Inc();
      c.Inc(2);
      c.Inc(-5);  // ignored: counters only go up
      CHECK(c.Value() == 3);
      std::string path = dir.File("counter_" + Pid() + ".db");
      std::string bytes = test::ReadFile(path);
      REQUIRE(bytes.size() == 65536);
      std::string key =
          Key("req", "req_total", {{"method", "GET"}}, "Requests");
      int32_t used;
      std::memcpy(&used, bytes.data(), 4);
      CHECK(used ==
            static_cast<int32_t>(8 + format::EntrySize(key.size(), layout)));
      CHECK(bytes.substr(4, 4) == "pdir");
      int32_t key_len;
      std::memcpy(&key_len, bytes.data() + 8, 4);
      CHECK(key_len == static_cast<int32_t>(key.size()));
      CHECK(bytes.substr(12, key.size()) == key);
      Status st;
      ValueLayout read_layout;
      auto values = FileValues(path, &st, &read_layout);
      REQUIRE(st.ok());
      CHECK(read_layout == layout);
      CHECK(values[key] == 3);
    }
  }
}

TEST_CASE(
    "writer: histograms write _sum then per-bucket counts with Go-style le") {
  TempDir dir;
  Registry registry(Opts(dir));
  auto& f =
      BuildHistogram().Name("lat").Help("h").Labels({"r"}).Register(registry);
  REQUIRE(f.buckets().size() == 15);
  CHECK(f.buckets().front() == 0.005);
  CHECK(std::isinf(f.buckets().back()));
  Histogram h = f.WithLabelValues("a");
  h.Observe(0.3);
  h.Observe(0.5);           // lands in le=0.5 (value <= bound)
  h.Observe(100);           // +Inf
  h.Observe(std::nan(""));  // no bucket, as in Python
  CHECK(h.num_buckets() == 15);
  Status st;
  auto v = FileValues(dir.File("histogram_" + Pid() + ".db"), &st);
  REQUIRE(st.ok());
  CHECK(v.size() == 16);
  CHECK(v[Key("lat", "lat_bucket", {{"r", "a"}, {"le", "0.5"}}, "h")] == 2);
  CHECK(v[Key("lat", "lat_bucket", {{"r", "a"}, {"le", "+Inf"}}, "h")] == 1);
  CHECK(v[Key("lat", "lat_bucket", {{"r", "a"}, {"le", "1.0"}}, "h")] == 0);
  CHECK(std::isnan(v[Key("lat", "lat_sum", {{"r", "a"}}, "h")]));

  FileContents contents;
  REQUIRE(ReadMetricsFile(Env::Default(),
                          dir.File("histogram_" + Pid() + ".db"), &contents)
              .ok());
  CHECK(contents.entries[0].key == Key("lat", "lat_sum", {{"r", "a"}}, "h"));
  CHECK(contents.entries[1].key ==
        Key("lat", "lat_bucket", {{"r", "a"}, {"le", "0.005"}}, "h"));

  auto& g =
      BuildHistogram().Name("sizes").Buckets({1, 10, 1e6}).Register(registry);
  CHECK(
      g.buckets() ==
      std::vector<double>{1, 10, 1e6, std::numeric_limits<double>::infinity()});
  g.Add({}).Observe(5);
  v = FileValues(dir.File("histogram_" + Pid() + ".db"));
  CHECK(v[Key("sizes", "sizes_bucket", {{"le", "1e+06"}}, "")] == 0);
  CHECK(v[Key("sizes", "sizes_bucket", {{"le", "10.0"}}, "")] == 1);
}

TEST_CASE("writer: summaries write _count and _sum") {
  TempDir dir;
  Registry registry(Opts(dir));
  Summary s =
      BuildSummary().Name("req_size").Help("S").Register(registry).Add({});
  s.Observe(3);
  s.Observe(4.5);
  auto v = FileValues(dir.File("summary_" + Pid() + ".db"));
  CHECK(v[Key("req_size", "req_size_count", {}, "S")] == 2);
  CHECK(v[Key("req_size", "req_size_sum", {}, "S")] == 7.5);
  CHECK(s.Count() == 2);
}

TEST_CASE(
    "writer: every gauge mode has its own file; mostrecent stores a "
    "timestamp") {
  TempDir dir;
  Registry registry(Opts(dir));
  for (GaugeMode mode : format::kAllGaugeModes) {
    std::string name = "g_" + std::string(format::GaugeModeName(mode));
    Gauge g = BuildGauge().Name(name).Mode(mode).Register(registry).Add({});
    g.Set(7);
    g.Inc(3);
    g.Dec();
    std::string path =
        dir.File("gauge_" + std::string(format::GaugeModeName(mode)) + "_" +
                 Pid() + ".db");
    FileContents c;
    REQUIRE(ReadMetricsFile(Env::Default(), path, &c).ok());
    REQUIRE(c.entries.size() == 1);
    CHECK(c.entries[0].key == Key(name, name, {}, ""));
    CHECK(c.entries[0].value == 9);
    bool stamped = format::BaseMode(mode) == GaugeMode::kMostRecent;
    CHECK((c.entries[0].timestamp > 1e9) == stamped);
  }
  Gauge t = BuildGauge().Name("t").Register(registry).Add({});
  t.SetToCurrentTime();
  CHECK(t.Value() > 1.6e9);
}

TEST_CASE("writer: mostrecent gauges are refused in the 8-byte layout") {
  TempDir dir;
  Registry registry(Opts(dir, ValueLayout::k8));
  CHECK_THROWS_WITH_AS(BuildGauge()
                           .Name("m")
                           .Mode(GaugeMode::kLiveMostRecent)
                           .Register(registry),
                       doctest::Contains("8-byte"), std::invalid_argument);
  BuildGauge().Name("ok").Mode(GaugeMode::kMax).Register(registry);
}

TEST_CASE("writer: a family without labels is written at registration") {
  TempDir dir;
  Registry registry(Opts(dir));
  BuildCounter().Name("boot").Help("Boots").Register(registry);
  auto v = FileValues(dir.File("counter_" + Pid() + ".db"));
  REQUIRE(v.size() == 1);
  CHECK(v.begin()->first == Key("boot", "boot_total", {}, "Boots"));
  CHECK(v.begin()->second == 0);
}

TEST_CASE("writer: bad names, labels and redeclarations are clear errors") {
  TempDir dir;
  Registry registry(Opts(dir));
  CHECK_THROWS_WITH_AS(BuildCounter().Name("1bad").Register(registry),
                       doctest::Contains("invalid metric name"),
                       std::invalid_argument);
  CHECK_THROWS_AS(BuildCounter().Name("").Register(registry),
                  std::invalid_argument);
  CHECK_THROWS_AS(BuildCounter().Name("_total").Register(registry),
                  std::invalid_argument);
  CHECK_THROWS_AS(BuildGauge().Name("a-b").Register(registry),
                  std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      BuildCounter().Name("x").Labels({"__r"}).Register(registry),
      doctest::Contains("__r"), std::invalid_argument);
  CHECK_THROWS_AS(BuildCounter().Name("x").Labels({"a b"}).Register(registry),
                  std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      BuildCounter().Name("x").Labels({"a", "a"}).Register(registry),
      doctest::Contains("repeats"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      BuildHistogram().Name("h").Labels({"le"}).Register(registry),
      doctest::Contains("le"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      BuildSummary().Name("s").Labels({"quantile"}).Register(registry),
      doctest::Contains("quantile"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(
      BuildHistogram().Name("h").Buckets({1, 0.5}).Register(registry),
      doctest::Contains("increasing"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(BuildCounter().Name("u").Help("bad \xc3").Register(registry),
                       doctest::Contains("UTF-8"), std::invalid_argument);
  BuildGauge()
      .Name("le_is_fine_here")
      .Labels({"le", "quantile"})
      .Register(registry);

  auto& a = BuildCounter().Name("dup_total").Labels({"x"}).Register(registry);
  auto& b = BuildCounter().Name("dup").Labels({"x"}).Register(registry);
  CHECK(&a == &b);
  CHECK_THROWS_WITH_AS(
      BuildGauge().Name("dup").Labels({"x"}).Register(registry),
      doctest::Contains("already registered as a counter"),
      std::invalid_argument);
  CHECK_THROWS_AS(BuildCounter().Name("dup").Labels({"y"}).Register(registry),
                  std::invalid_argument);
  CHECK_THROWS_AS(
      BuildCounter().Name("dup").Labels({"x"}).Help("other").Register(registry),
      std::invalid_argument);
  auto& g = BuildGauge().Name("gm").Mode(GaugeMode::kSum).Register(registry);
  CHECK_THROWS_AS(
      BuildGauge().Name("gm").Mode(GaugeMode::kMax).Register(registry),
      std::invalid_argument);
  CHECK(&BuildGauge().Name("gm").Mode(GaugeMode::kSum).Register(registry) ==
        &g);

  // Label values that do not fit.
  CHECK_THROWS_WITH_AS(a.WithLabelValues("1", "2"), doctest::Contains("dup"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(a.Add({{"y", "1"}}),
                       doctest::Contains("\"x\" is missing"),
                       std::invalid_argument);
  CHECK_THROWS_AS(a.Add({{"x", "1"}, {"z", "2"}}), std::invalid_argument);
  CHECK(a.TryAdd({}).status().IsInvalidArgument());
  CHECK(a.TryWithLabelValues(std::string("\xff")).status().IsInvalidArgument());
  CHECK(a.TryWithLabelValues("ok").ok());
  CHECK(a.TryAdd({{"x", "ok"}})->Value() == 0);
}

TEST_CASE("writer: a missing or unusable directory is an error naming it") {
  TempDir dir;
  Options o = Opts(dir);
  o.directory = dir.File("missing");
  Registry missing(o);
  std::string missing_dir = dir.File("missing");
  CHECK_THROWS_WITH_AS(BuildCounter().Name("c").Register(missing),
                       doctest::Contains(missing_dir.c_str()),
                       std::runtime_error);
  test::WriteFile(dir.File("plain"), "x");
  o.directory = dir.File("plain");
  Registry plain(o);
  CHECK_THROWS_WITH_AS(BuildCounter().Name("c").Register(plain),
                       doctest::Contains("not a directory"),
                       std::runtime_error);
  o.directory = "";
  Registry none(o);
  CHECK_THROWS_WITH_AS(BuildCounter().Name("c").Register(none),
                       doctest::Contains("PROMETHEUS_MULTIPROC_DIR"),
                       std::runtime_error);
}

TEST_CASE(
    "writer: Options::FromEnvironment reads the variables and names bad "
    "values") {
  ::setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp/upper", 1);
  ::setenv("prometheus_multiproc_dir", "/tmp/lower", 1);
  ::setenv("PROMDIR_WORKER_ID", "w3", 1);
  ::setenv("PROMDIR_VALUE_LAYOUT", "8", 1);
  Options o = Options::FromEnvironment();
  CHECK(o.directory == "/tmp/upper");
  CHECK(o.worker_id == "w3");
  CHECK(o.layout == ValueLayout::k8);
  ::unsetenv("PROMETHEUS_MULTIPROC_DIR");
  CHECK(Options::FromEnvironment().directory == "/tmp/lower");
  ::setenv("PROMDIR_VALUE_LAYOUT", "12", 1);
  CHECK_THROWS_WITH_AS(Options::FromEnvironment(),
                       doctest::Contains("PROMDIR_VALUE_LAYOUT=\"12\""),
                       std::invalid_argument);
  ::setenv("PROMDIR_VALUE_LAYOUT", "16", 1);
  ::setenv("PROMDIR_WORKER_ID", "a/b", 1);
  CHECK(Options::TryFromEnvironment().status().message().find(
            "PROMDIR_WORKER_ID") != std::string::npos);
  ::unsetenv("PROMDIR_WORKER_ID");
  ::unsetenv("PROMDIR_VALUE_LAYOUT");
  ::unsetenv("prometheus_multiproc_dir");
  CHECK(Options::FromEnvironment().layout == ValueLayout::k16);
}

TEST_CASE("writer: N threads x M increments on one series give exactly N*M") {
  TempDir dir;
  Registry registry(Opts(dir));
  auto& f = BuildCounter().Name("hits").Labels({"t"}).Register(registry);
  auto& hf = BuildHistogram().Name("obs").Register(registry);
  auto& gf =
      BuildGauge().Name("lvl").Mode(GaugeMode::kLiveSum).Register(registry);
  constexpr int kThreads = 8, kIncs = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      Counter c = f.WithLabelValues("x");  // every thread looks it up
      Histogram h = hf.Add({});
      Gauge g = gf.Add({});
      for (int i = 0; i < kIncs; ++i) {
        c.Inc();
        h.Observe(0.01);
        g.Inc(2);
        g.Dec();
      }
    });
  }
  for (auto& t : threads) t.join();
  auto v = FileValues(dir.File("counter_" + Pid() + ".db"));
  CHECK(v[Key("hits", "hits_total", {{"t", "x"}}, "")] == kThreads * kIncs);
  auto h = FileValues(dir.File("histogram_" + Pid() + ".db"));
  CHECK(h[Key("obs", "obs_bucket", {{"le", "0.01"}}, "")] == kThreads * kIncs);
  auto g = FileValues(dir.File("gauge_livesum_" + Pid() + ".db"));
  CHECK(g[Key("lvl", "lvl", {}, "")] == kThreads * kIncs);
}

TEST_CASE("writer: files grow by doubling and keep every entry") {
  TempDir dir;
  Registry registry(Opts(dir));
  auto& f = BuildCounter().Name("many").Labels({"i"}).Register(registry);
  for (int i = 0; i < 3000; ++i) f.WithLabelValues(std::to_string(i)).Inc(i);
  std::string path = dir.File("counter_" + Pid() + ".db");
  CHECK(test::ReadFile(path).size() == 262144);
  Status st;
  auto v = FileValues(path, &st);
  REQUIRE(st.ok());
  CHECK(v.size() == 3000);
  CHECK(v[Key("many", "many_total", {{"i", "2999"}}, "")] == 2999);
}

TEST_CASE(
    "writer: two registries of one process share the file and the series") {
  TempDir dir;
  Registry r1(Opts(dir)), r2(Opts(dir));
  Counter a = BuildCounter().Name("shared").Register(r1).Add({});
  Counter b = BuildCounter().Name("shared").Register(r2).Add({});
  a.Inc();
  b.Inc();
  CHECK(a.Value() == 2);
}

TEST_CASE("writer: default-constructed handles are harmless") {
  Counter c;
  Gauge g;
  Histogram h;
  Summary s;
  c.Inc();
  g.Set(1);
  h.Observe(1);
  s.Observe(1);
  CHECK(h.num_buckets() == 1);
}

TEST_CASE(
    "writer: reopens every fixture file in its layout; bad files are left "
    "alone") {
  namespace fs = std::filesystem;
  std::string fixtures = PROMDIR_FIXTURES_DIR;
  int checked = 0;
  for (const auto& set : fs::directory_iterator(fixtures)) {
    if (set.path().filename() == "corrupt" ||
        !fs::is_directory(set.path() / "dir")) {
      continue;
    }
    for (const auto& e : fs::directory_iterator(set.path() / "dir")) {
      auto name = format::ParseFileName(e.path().filename().string());
      if (!name) continue;
      CAPTURE(e.path().string());
      FileContents want;
      REQUIRE(ReadMetricsFile(Env::Default(), e.path().string(), &want).ok());
      TempDir tmp;
      fs::copy_file(e.path(), tmp.File(e.path().filename().string()));
      std::unique_ptr<writer::MetricsFile> f;
      Status s =
          writer::MetricsFile::Open(Env::Default(), tmp.path(), name->Prefix(),
                                    name->id, ValueLayout::k16, &f);
      REQUIRE_MESSAGE(s.ok(), s.ToString());
      CHECK(f->layout() == want.layout);
      CHECK(f->num_entries() == want.entries.size());
      for (const FileEntry& entry : want.entries) {
        Result<double*> slot = f->FindOrAppend(entry.key);
        REQUIRE(slot.ok());
        CHECK(std::memcmp(slot.value(), &entry.value, sizeof(double)) == 0);
      }
      CHECK(f->num_entries() == want.entries.size());
      f->Detach();
      ++checked;
    }
  }
  CHECK(checked > 20);

  // The corrupt set: a worker whose id names a bad file writes elsewhere and
  // leaves the bad file as it was.
  TempDir tmp;
  fs::copy(fixtures + "/corrupt/dir", tmp.path(),
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  for (const char* id : {"4194501", "4194507"}) {
    CAPTURE(id);
    std::string before =
        test::ReadFile(tmp.File(std::string("counter_") + id + ".db"));
    Options o = Opts(tmp);
    o.worker_id = id;
    {
      Registry registry(o);
      BuildCounter().Name("c").Register(registry).Add({}).Inc();
    }
    CHECK(test::ReadFile(tmp.File(std::string("counter_") + id + ".db")) ==
          before);
    std::string other =
        tmp.File(std::string("counter_") + id + "-" + Pid() + ".db");
    CHECK(FileValues(other)[Key("c", "c_total", {}, "")] == 1);
  }
}

TEST_CASE("writer: WalkEntries rejects a torn file") {
  std::string data(8, '\0');
  int32_t len = 100;
  data.append(reinterpret_cast<char*>(&len), 4);
  data.append("[\"a\"");
  std::vector<std::string> keys;
  std::vector<uint32_t> offsets;
  CHECK(writer::WalkEntries(data, ValueLayout::k16, &keys, &offsets)
            .IsCorruption());
}

TEST_CASE("writer: names are checked by prometheus-cpp's rules, without it") {
  // Every name of up to 3 characters from an alphabet with each class of
  // character, and a few longer ones: the writer's own check agrees with
  // prometheus-cpp's CheckMetricName and CheckLabelName on each.
  const std::string alphabet = "aZ09_:.-\xc3";
  std::vector<std::string> names = {"", "http_requests_total", "__x", "_x",
                                    "a:b:c", "x\xc3\xa9", "9lives"};
  for (char a : alphabet) {
    names.push_back(std::string(1, a));
    for (char b : alphabet) {
      names.push_back(std::string{a, b});
      for (char c : alphabet) names.push_back(std::string{a, b, c});
    }
  }
  int valid = 0;
  for (const std::string& n : names) {
    INFO(n);
    CHECK(detail::ValidMetricName(n, false) == prometheus::CheckMetricName(n));
    CHECK(detail::ValidMetricName(n, true) == prometheus::CheckLabelName(n));
    valid += prometheus::CheckMetricName(n);
  }
  CHECK(valid > 100);
}

}  // namespace
}  // namespace promdir
