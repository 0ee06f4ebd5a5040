// The merge engine: semantics on hand-made files, incremental scrapes,
// liveness and pruning, concurrency, and random directories written by
// Debian's Python client compared with Python's own collector.
#include "promdir/merge.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "lib/src/env.h"
#include "promdir/reader.h"
#include "tests/exposition_parse.h"
#include "tests/reader_file_builder.h"
#include "tests/reader_test_util.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

namespace fs = std::filesystem;
using test::FileBuilder;

std::string Key(const std::string& metric, const std::string& sample,
                const std::string& labels, const std::string& help = "h") {
  return "[\"" + metric + "\", \"" + sample + "\", {" + labels + "}, \"" + help + "\"]";
}

std::map<std::string, double> Samples(DirectoryCollector* c,
                                      ScrapeStats* stats = nullptr) {
  std::string text;
  REQUIRE(c->Render(ExpositionFormat::kText004, &text, stats).ok());
  std::map<std::string, double> all;
  for (auto& [name, f] : test::ParseExposition(text).families) {
    for (auto& [k, v] : f.samples) all[k] = v;
  }
  return all;
}

DirectoryCollector* NewCollector(const std::string& dir,
                                 LivenessMode mode = LivenessMode::kNone,
                                 bool prune = false) {
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = mode;
  opt.prune = prune;
  return new DirectoryCollector(opt);
}

TEST_CASE("gauge modes and histograms and help merge as Python merges them") {
  test::TempDir d;
  auto g = [](const std::string& m) { return Key(m, m, "\"l\": \"x\""); };
  for (int id : {1, 2, 3}) {
    double v = id == 2 ? -5 : 7;  // file 2 holds the smallest, 1 and 3 tie
    test::WriteFile(d.File("gauge_min_" + std::to_string(id) + ".db"),
                    FileBuilder(ValueLayout::k16).Add(g("gmin"), v).Build());
    test::WriteFile(d.File("gauge_max_" + std::to_string(id) + ".db"),
                    FileBuilder(ValueLayout::k16).Add(g("gmax"), v).Build());
    test::WriteFile(d.File("gauge_sum_" + std::to_string(id) + ".db"),
                    FileBuilder(ValueLayout::k16).Add(g("gsum"), v).Build());
    test::WriteFile(d.File("gauge_all_" + std::to_string(id) + ".db"),
                    FileBuilder(ValueLayout::k16).Add(g("gall"), v).Build());
    // mostrecent: file 3 is newest; file 1 never set (timestamp 0).
    test::WriteFile(d.File("gauge_mostrecent_" + std::to_string(id) + ".db"),
                    FileBuilder(ValueLayout::k16)
                        .Add(g("grecent"), id * 10, id == 1 ? 0 : 1000 + id)
                        .Add(g("gnever"), 1, 0)
                        .Build());
  }
  // Histogram buckets "1" and "1.0" are one bucket; help from the first file.
  test::WriteFile(d.File("histogram_1.db"),
                  FileBuilder(ValueLayout::k8)
                      .Add(Key("h", "h_bucket", "\"le\": \"1.0\"", "first"), 2)
                      .Add(Key("h", "h_bucket", "\"le\": \"+Inf\"", "first"), 1)
                      .Add(Key("h", "h_sum", "", "first"), 1.5)
                      .Build());
  test::WriteFile(d.File("histogram_2.db"),
                  FileBuilder(ValueLayout::k8)
                      .Add(Key("h", "h_bucket", "\"le\": \"0.5\"", "second"), 1)
                      .Add(Key("h", "h_bucket", "\"le\": \"1\"", "second"), 1)
                      .Add(Key("h", "h_sum", "", "second"), 0.25)
                      .Build());
  std::unique_ptr<DirectoryCollector> c(NewCollector(d.path()));
  auto s = Samples(c.get());
  CHECK(s["gmin{l=\"x\"}"] == -5);
  CHECK(s["gmax{l=\"x\"}"] == 7);
  CHECK(s["gsum{l=\"x\"}"] == 9);
  CHECK(s["gall{l=\"x\",pid=\"1\"}"] == 7);
  CHECK(s["gall{l=\"x\",pid=\"2\"}"] == -5);
  CHECK(s["grecent{l=\"x\"}"] == 30);
  CHECK_FALSE(s.count("gnever{l=\"x\"}"));
  CHECK(s["h_bucket{le=\"0.5\"}"] == 1);
  CHECK(s["h_bucket{le=\"1\"}"] == 4);  // parser keys le numerically
  CHECK(s["h_bucket{le=\"inf\"}"] == 5);
  CHECK(s["h_count{}"] == 5);
  CHECK(s["h_sum{}"] == 1.75);
  std::vector<MetricFamily> families;
  REQUIRE(c->Collect(&families, nullptr).ok());
  for (const MetricFamily& f : families) {
    if (f.name == "h") {
      CHECK(f.help == "first");
      CHECK(f.type == MetricType::kHistogram);
      REQUIRE(f.samples.size() == 5);
      // client_python's order: _sum, the buckets by `le`, _count.
      CHECK(f.samples[0].name == "h_sum");
      CHECK(f.samples[2].labels[0].second == "1.0");
      CHECK(f.samples[4].name == "h_count");
    }
    if (f.name == "gnever") CHECK(f.samples.empty());
  }
}

// Renders `c` both ways in every format and escaping; the bodies must be
// equal and at least `min_size` bytes.
void CheckFastEqualsModel(DirectoryCollector* c, size_t min_size) {
  using F = ExpositionFormat;
  using E = NameEscaping;
  for (Exposition f :
       {Exposition(F::kText004), Exposition(F::kOpenMetrics100),
        Exposition(F::kText100, E::kAllowUtf8), Exposition(F::kText100, E::kDots),
        Exposition(F::kOpenMetrics100, E::kValues),
        Exposition(F::kOpenMetrics001, E::kAllowUtf8),
        Exposition(F::kProtobuf, E::kAllowUtf8)}) {
    std::string fast, model;
    std::vector<MetricFamily> families;
    REQUIRE(c->Render(f, &fast, nullptr).ok());
    REQUIRE(c->Collect(&families, nullptr).ok());
    AppendFamilies(f, families, &model);
    CHECK(fast.size() > min_size);
    CHECK(fast == model);
  }
}

TEST_CASE("the fast render path writes exactly what the model path writes") {
  for (const char* name : {"py016-web", "py016-exotic", "pyhead-web",
                           "pyhead-exotic", "corrupt", "pyhead-utf8"}) {
    INFO(name);
    test::TempDir tmp;
    std::unique_ptr<DirectoryCollector> c(
        NewCollector(test::CopyFixture(name, tmp)));
    CheckFastEqualsModel(c.get(), 100);
  }
}

// Large views are rendered in two halves on two threads, split inside a
// family; both formats must still equal the model path byte for byte, also
// when the family at the split is one OpenMetrics does not take as it is.
TEST_CASE("a large view renders in halves exactly as the model path writes it") {
  for (int variant = 0; variant < 3; ++variant) {
    CAPTURE(variant);
    test::TempDir d;
    for (int w = 0; w < 3; ++w) {
      FileBuilder hist, count, gauge;
      for (int i = 0; i < 1500; ++i) {
        std::string l = "\"route\": \"r" + std::to_string(i) + "\"";
        for (const char* le : {"0.1", "1.0", "+Inf"}) {
          hist.Add(Key("lat", "lat_bucket", l + ", \"le\": \"" + le + "\""), 1);
        }
        hist.Add(Key("lat", "lat_sum", l), 0.5);
        count.Add(Key("req", "req_total", l), w + i);
        gauge.Add(Key("mem", "mem", l), i * 0.25);
      }
      if (variant == 1) {  // a counter OpenMetrics refuses (negative), at the split
        for (int i = 0; i < 15000; ++i) {
          count.Add(Key("aneg", "aneg_total", "\"i\": \"" + std::to_string(i) + "\""), -1);
        }
      }
      std::string id = std::to_string(4190000 + w);
      test::WriteFile(d.File("histogram_" + id + ".db"), hist.Build());
      test::WriteFile(d.File("counter_" + id + ".db"), count.Build(-1, 1 << 20));
      test::WriteFile(d.File("gauge_all_" + id + ".db"), gauge.Build());
    }
    std::unique_ptr<DirectoryCollector> c(NewCollector(d.path()));
    CheckFastEqualsModel(c.get(), 100000);
  }
}

TEST_CASE("a later scrape parses only appended entries and rereads values") {
  test::TempDir d;
  std::string path = d.File("counter_7.db");
  FileBuilder b(ValueLayout::k8);
  b.Add(Key("a", "a_total", "\"x\": \"1\""), 1);
  test::WriteFile(path, b.Build());
  struct stat before;
  REQUIRE(::stat(path.c_str(), &before) == 0);
  std::unique_ptr<DirectoryCollector> c(NewCollector(d.path()));
  ScrapeStats s1, s2, s3;
  CHECK(Samples(c.get(), &s1)["a_total{x=\"1\"}"] == 1);
  CHECK(s1.cache_misses == 1);

  // The writer appends a series and updates the first value in place.
  FileBuilder b2(ValueLayout::k8);
  b2.Add(Key("a", "a_total", "\"x\": \"1\""), 5).Add(Key("a", "a_total", "\"x\": \"2\""), 3);
  test::WriteFile(path, b2.Build());
  struct stat after;
  REQUIRE(::stat(path.c_str(), &after) == 0);
  REQUIRE(before.st_ino == after.st_ino);
  auto s = Samples(c.get(), &s2);
  CHECK(s["a_total{x=\"1\"}"] == 5);
  CHECK(s["a_total{x=\"2\"}"] == 3);
  CHECK(s2.cache_hits == 1);
  CHECK(s2.cache_misses == 0);
  CHECK(s2.entries == 2);

  // A new file under the same name (a new inode) is parsed from the start.
  test::WriteFile(path + ".tmp",
                  FileBuilder(ValueLayout::k16).Add(Key("b", "b_total", ""), 9).Build());
  REQUIRE(::rename((path + ".tmp").c_str(), path.c_str()) == 0);
  s = Samples(c.get(), &s3);
  CHECK(s3.cache_misses == 1);
  CHECK(s["b_total{}"] == 9);
  CHECK_FALSE(s.count("a_total{x=\"1\"}"));
}

TEST_CASE("files that share their entries each keep their own as they grow") {
  // Files of one prefix with the same entries share one entry table; a
  // file that grows must get its own, and leave the others' alone. After
  // every step, a warm scrape must equal a cold one.
  test::TempDir d;
  const std::string a = Key("c", "c_total", "\"k\": \"a\"");
  const std::string b = Key("c", "c_total", "\"k\": \"b\"");
  const std::string c2 = Key("c", "c_total", "\"k\": \"c\"");
  const std::string d2 = Key("c", "c_total", "\"k\": \"d\"");
  auto write = [&](const std::string& name, FileBuilder& fb) {
    test::WriteFile(d.File(name), fb.Build());
  };
  std::unique_ptr<DirectoryCollector> warm(NewCollector(d.path()));
  auto check = [&](const std::map<std::string, double>& want) {
    auto got = Samples(warm.get());
    std::unique_ptr<DirectoryCollector> cold(NewCollector(d.path()));
    CHECK(got == Samples(cold.get()));
    CHECK(got == want);
  };
  for (ValueLayout layout : {ValueLayout::k8, ValueLayout::k16}) {
    CAPTURE(static_cast<int>(layout));
    for (const char* f : {"counter_1.db", "counter_2.db", "counter_3.db"}) {
      ::unlink(d.File(f).c_str());
    }
    warm.reset(NewCollector(d.path()));
    FileBuilder f1(layout), f2(layout), f3(layout);
    f1.Add(a, 1).Add(b, 2);
    f2.Add(a, 10).Add(b, 20);
    f3.Add(a, 100);  // the first entries of the others'
    write("counter_1.db", f1);
    write("counter_2.db", f2);
    write("counter_3.db", f3);
    check({{"c_total{k=\"a\"}", 111}, {"c_total{k=\"b\"}", 22}});

    FileBuilder g2(layout);  // grows, and changes a value in place
    g2.Add(a, 11).Add(b, 20).Add(c2, 5);
    write("counter_2.db", g2);
    check({{"c_total{k=\"a\"}", 112},
           {"c_total{k=\"b\"}", 22},
           {"c_total{k=\"c\"}", 5}});

    f1.Add(d2, 7);  // another grows differently
    write("counter_1.db", f1);
    check({{"c_total{k=\"a\"}", 112},
           {"c_total{k=\"b\"}", 22},
           {"c_total{k=\"c\"}", 5},
           {"c_total{k=\"d\"}", 7}});

    f3.Add(b, 1000).Add(d2, 3);  // the shortest catches up, its own way
    write("counter_3.db", f3);
    check({{"c_total{k=\"a\"}", 112},
           {"c_total{k=\"b\"}", 1022},
           {"c_total{k=\"c\"}", 5},
           {"c_total{k=\"d\"}", 10}});
    check({{"c_total{k=\"a\"}", 112},
           {"c_total{k=\"b\"}", 1022},
           {"c_total{k=\"c\"}", 5},
           {"c_total{k=\"d\"}", 10}});
  }
}

// An Env that lists a file which is gone by the time it is read.
class VanishingEnv : public EnvWrapper {
 public:
  VanishingEnv() : EnvWrapper(Env::Default()) {}
  Status ListDirAt(int fd, const std::string& d,
                   std::vector<std::string>* n) override {
    Status s = target()->ListDirAt(fd, d, n);
    n->push_back("counter_424242.db");
    return s;
  }
};

TEST_CASE("a file that vanishes between listing and reading is not an error") {
  test::TempDir d;
  test::WriteFile(d.File("counter_1.db"),
                  FileBuilder().Add(Key("a", "a_total", ""), 2).Build());
  VanishingEnv env;
  CollectorOptions opt;
  opt.directory = d.path();
  opt.env = &env;
  DirectoryCollector c(opt);
  ScrapeStats stats;
  CHECK(Samples(&c, &stats)["a_total{}"] == 2);
  CHECK(stats.new_bad_files.empty());
  CHECK(stats.bad_files_by_reason.empty());
}

TEST_CASE("an empty file of a live writer is starting and not a bad file") {
  // Python's writer creates its file empty and sizes it a moment later.
  test::TempDir d;
  test::WriteFile(d.File("counter_3.db"), "");
  test::OpenHolder writer(d.File("counter_3.db"));  // the worker creating it
  test::WriteFile(d.File("counter_4194999.db"), "");  // nobody writes it
  test::WriteFile(d.File("counter_4194998.db"),
                  FileBuilder(ValueLayout::k8).Add(Key("c", "c_total", ""), 6).Build());
  std::unique_ptr<DirectoryCollector> c(NewCollector(d.path(), LivenessMode::kAuto));
  ScrapeStats stats;
  CHECK(Samples(c.get(), &stats)["c_total{}"] == 6);
  CHECK((stats.files[{"counter", "live"}]) == 1);
  CHECK(stats.bad_files_by_reason["empty"] == 1);
  REQUIRE(stats.new_bad_files.size() == 1);
  CHECK(stats.new_bad_files[0].path == d.File("counter_4194999.db"));
}

TEST_CASE("an unlistable directory is an error naming it") {
  std::unique_ptr<DirectoryCollector> c(NewCollector("/nonexistent/promdir-dir"));
  std::string out;
  Status s = c->Render(ExpositionFormat::kText004, &out, nullptr);
  CHECK_FALSE(s.ok());
  CHECK(s.ToString().find("/nonexistent/promdir-dir") != std::string::npos);
}

TEST_CASE("dead writers' live gauges are left out and pruned on request") {
  test::TempDir d;
  std::string me = std::to_string(::getpid());
  auto gauge = FileBuilder(ValueLayout::k8).Add(Key("g", "g", ""), 4).Build();
  test::WriteFile(d.File("gauge_livesum_4194999.db"), gauge);  // no such pid
  test::WriteFile(d.File("gauge_livesum_" + me + ".db"), gauge);
  // kAuto asks the kernel: our pid's file is open for writing (kPid below
  // asks the pid).
  test::OpenHolder writer(d.File("gauge_livesum_" + me + ".db"));
  test::WriteFile(d.File("gauge_sum_4194999.db"),
                  FileBuilder(ValueLayout::k8).Add(Key("s", "s", ""), 1).Build());
  test::WriteFile(d.File("counter_4194999.db"),
                  FileBuilder(ValueLayout::k8).Add(Key("c", "c_total", ""), 6).Build());
  {
    std::unique_ptr<DirectoryCollector> c(NewCollector(d.path(), LivenessMode::kAuto));
    ScrapeStats stats;
    auto s = Samples(c.get(), &stats);
    CHECK(s["g{}"] == 4);  // only the live writer's
    CHECK(s["s{}"] == 1);  // not a live* mode: stays
    CHECK(s["c_total{}"] == 6);
    CHECK(stats.pruned_series == 1);
    CHECK(stats.pruned_files == 0);
    CHECK((stats.files[{"gauge_livesum", "dead"}]) == 1);
    CHECK((stats.files[{"gauge_livesum", "live"}]) == 1);
    CHECK(fs::exists(d.File("gauge_livesum_4194999.db")));
  }
  {
    std::unique_ptr<DirectoryCollector> c(NewCollector(d.path(), LivenessMode::kNone));
    CHECK(Samples(c.get())["g{}"] == 8);
  }
  std::unique_ptr<DirectoryCollector> c(
      NewCollector(d.path(), LivenessMode::kPid, /*prune=*/true));
  ScrapeStats stats;
  CHECK(Samples(c.get(), &stats)["g{}"] == 4);
  CHECK(stats.pruned_files == 1);
  CHECK_FALSE(fs::exists(d.File("gauge_livesum_4194999.db")));
  CHECK(fs::exists(d.File("gauge_livesum_" + me + ".db")));
  CHECK(fs::exists(d.File("counter_4194999.db")));
}

TEST_CASE("a promdir writer is live while it holds its lock whatever its pid") {
  test::TempDir d;
  std::string path = d.File("gauge_livesum_w1.db");
  test::WriteFile(path, FileBuilder().Magic().Add(Key("g", "g", ""), 3).Build());
  test::LockHolder writer(path);
  std::unique_ptr<DirectoryCollector> c(NewCollector(d.path(), LivenessMode::kAuto));
  CHECK(Samples(c.get())["g{}"] == 3);
  writer.Kill();
  ScrapeStats stats;
  CHECK_FALSE(Samples(c.get(), &stats).count("g{}"));
  CHECK(stats.pruned_series == 1);
}

TEST_CASE("concurrent scrapes are safe and agree") {
  test::TempDir tmp;
  std::unique_ptr<DirectoryCollector> c(
      NewCollector(test::CopyFixture("py016-exotic", tmp)));
  std::string first;
  REQUIRE(c->Render(ExpositionFormat::kText004, &first, nullptr).ok());
  std::vector<std::string> outs(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        std::string out;
        c->Render(ExpositionFormat::kText004, &out, nullptr);
        if (i == 19) outs[t] = out;
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const std::string& o : outs) CHECK(o == first);
}

// A cold scrape reads files on several threads: one interns a prefix's
// first file while the others match theirs against it, and the latest file
// parsed from the start replaces a prefix's prediction. However the threads
// interleave, every fresh collector gives the same output.
TEST_CASE("cold scrapes agree however their reader threads interleave") {
  for (const char* fixture : {"py016-exotic", "pyhead-web", "corrupt"}) {
    CAPTURE(fixture);
    test::TempDir tmp;
    std::string dir = test::CopyFixture(fixture, tmp);
    std::string first;
    for (int i = 0; i < 150; ++i) {
      CollectorOptions opt;
      opt.directory = dir;
      opt.liveness = i % 2 ? LivenessMode::kAuto : LivenessMode::kNone;
      opt.read_threads = 2 + i % 3;
      DirectoryCollector c(opt);
      std::string out;
      REQUIRE(c.Render(ExpositionFormat::kText004, &out, nullptr).ok());
      std::string again;
      REQUIRE(c.Render(ExpositionFormat::kText004, &again, nullptr).ok());
      REQUIRE(out == again);
      if (i < 2) {
        if (i == 0) first = out;
        continue;
      }
      if (i % 2 == 0) REQUIRE(out == first);
    }
  }
}

// Python workers with random series in random processes; Python's collector
// and promdir agree on the 8-byte directory, and promdir gives the same on a
// 16-byte copy of it.
TEST_CASE("random directories: promdir agrees with Python's collector") {
  const std::string script = R"PY(
import os, sys, random
d = sys.argv[1]; seed = int(sys.argv[2])
os.environ['PROMETHEUS_MULTIPROC_DIR'] = d
rnd = random.Random(seed)
modes = ['all', 'liveall', 'min', 'livemin', 'max', 'livemax', 'sum', 'livesum']
pids = []
for w in range(rnd.randint(1, 6)):
    wseed = rnd.randint(0, 10**9)
    pid = os.fork()
    if pid == 0:
        r = random.Random(wseed)
        from prometheus_client import Counter, Gauge, Histogram, Summary
        c = Counter('rc', 'Counter "h" \\ x', ['a', 'b'])
        h = Histogram('rh', 'Hist', ['a'], buckets=[0.1, 1, 2.5, 10])
        s = Summary('rs', 'Sum', ['a'])
        gs = [Gauge('rg_' + m, 'G ' + m, ['a'], multiprocess_mode=m) for m in modes]
        vals = ['x', 'y\n', 'caf\u00e9', '"q"', '\\', '']
        for i in range(r.randint(1, 200)):
            a = r.choice(vals); b = str(r.randint(0, 5))
            k = r.randint(0, 3)
            if k == 0: c.labels(a, b).inc(r.random() * 10)
            elif k == 1: h.labels(a).observe(r.random() * 12 - 1)
            elif k == 2: s.labels(a).observe(r.random() * 5)
            else: r.choice(gs).labels(a).set(r.random() * 100 - 50)
        os._exit(0)
    os.waitpid(pid, 0)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
reg = CollectorRegistry(); MultiProcessCollector(reg, path=d)
sys.stdout.write(generate_latest(reg).decode('utf-8'))
)PY";
  test::TempDir tmp;
  test::WriteFile(tmp.File("w.py"), script);
  for (int seed = 1; seed <= 6; ++seed) {
    INFO("seed ", seed);
    std::string d8 = tmp.File("d8_" + std::to_string(seed));
    std::string d16 = tmp.File("d16_" + std::to_string(seed));
    fs::create_directory(d8);
    fs::create_directory(d16);
    int rc = -1;
    std::string python = test::RunCommand(std::string(test::kPython) + " " +
                                              tmp.File("w.py") + " " + d8 + " " +
                                              std::to_string(seed),
                                          "", &rc);
    REQUIRE(rc == 0);
    // The same entries in the 16-byte layout.
    for (const auto& e : fs::directory_iterator(d8)) {
      FileContents fc;
      REQUIRE(ReadMetricsFile(Env::Default(), e.path().string(), &fc).ok());
      CHECK(fc.layout == ValueLayout::k8);
      FileBuilder b(ValueLayout::k16);
      for (const FileEntry& fe : fc.entries) b.Add(fe.key, fe.value, 0);
      test::WriteFile(d16 + "/" + e.path().filename().string(), b.Build());
    }
    test::Parsed want = test::ParseExposition(python);
    REQUIRE(want.families.size() > 0);
    for (const std::string& dir : {d8, d16}) {
      std::unique_ptr<DirectoryCollector> c(NewCollector(dir));
      std::string ours;
      REQUIRE(c->Render(ExpositionFormat::kText004, &ours, nullptr).ok());
      CHECK(test::DiffExpositions(want, test::ParseExposition(ours), true) == "");
    }
  }
}

}  // namespace
}  // namespace promdir

namespace promdir {
namespace {

// Python's MultiProcessCollector + generate_latest on `dir`.
std::string PythonExposition(const std::string& dir) {
  int rc = -1;
  std::string out = test::RunCommand(
      std::string(test::kPython) +
          " -c 'import sys; from prometheus_client import CollectorRegistry, "
          "generate_latest; from prometheus_client.multiprocess import "
          "MultiProcessCollector; r = CollectorRegistry(); "
          "MultiProcessCollector(r, path=sys.argv[1]); "
          "sys.stdout.write(generate_latest(r).decode())' " +
          dir,
      "", &rc);
  REQUIRE(rc == 0);
  return out;
}

// Python web-app workers (bench/make_webapp_dir.py) that each served their
// views in their own order.
void ShuffledWebApp(const std::string& dir, int workers, int entries) {
  int rc = -1;
  test::RunCommand(std::string(test::kPython) + " " + PROMDIR_SOURCE_DIR +
                       "/bench/make_webapp_dir.py " + dir + " --workers " +
                       std::to_string(workers) + " --entries " +
                       std::to_string(entries) + " --shuffle",
                   "", &rc);
  REQUIRE(rc == 0);
}

TEST_CASE("workers that made their series in other orders merge as Python merges them") {
  // Web-app workers that served their views in their own orders: no file
  // matches another entry for entry, so every file is parsed, on several
  // reader threads at once, with runs of the prediction's order. Python's
  // collector on the same directory is the reference, in both layouts.
  test::TempDir tmp;
  std::string dir = tmp.File("shuffled");
  ShuffledWebApp(dir, 24, 700);
  int rc = -1;
  // One more worker that served only some views, with new label values.
  test::WriteFile(tmp.File("extra.py"), R"PY(
import os, sys
os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]
from prometheus_client import Counter
c = Counter('http_requests', 'Requests served, by view, method and status.',
            ['view', 'method', 'status'])
for v in (5, 3, 99, 1):
    c.labels('app.views.view_%04d' % v, 'PATCH', '204').inc(v)
    c.labels('app.views.view_%04d' % v, 'GET', '200').inc()
)PY");
  test::RunCommand(std::string(test::kPython) + " " + tmp.File("extra.py") +
                       " " + dir,
                   "", &rc);
  REQUIRE(rc == 0);
  test::Parsed want = test::ParseExposition(PythonExposition(dir));
  REQUIRE(want.families.size() == 5);
  std::string d16 = tmp.File("shuffled16");
  fs::create_directory(d16);
  for (const auto& e : fs::directory_iterator(dir)) {
    FileContents fc;
    REQUIRE(ReadMetricsFile(Env::Default(), e.path().string(), &fc).ok());
    FileBuilder b(ValueLayout::k16);
    for (const FileEntry& fe : fc.entries) b.Add(fe.key, fe.value, 0);
    test::WriteFile(d16 + "/" + e.path().filename().string(), b.Build());
  }
  for (const std::string& d : {dir, d16}) {
    for (unsigned threads : {1u, 2u, 4u}) {
      CAPTURE(d);
      CAPTURE(threads);
      CollectorOptions opt;
      opt.directory = d;
      opt.liveness = LivenessMode::kNone;
      opt.read_threads = threads;
      DirectoryCollector c(opt);
      std::string ours;
      REQUIRE(c.Render(ExpositionFormat::kText004, &ours, nullptr).ok());
      CHECK(test::DiffExpositions(want, test::ParseExposition(ours), true) == "");
    }
  }

  // Python writers reopen three workers' files (as their pid) and grow
  // them in their own orders: a warm engine must then agree with Python
  // and with a cold one.
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = LivenessMode::kNone;
  opt.read_threads = 2;
  DirectoryCollector warm(opt);
  std::string before;
  REQUIRE(warm.Render(ExpositionFormat::kText004, &before, nullptr).ok());
  std::vector<std::string> ids;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.starts_with("histogram_")) ids.push_back(n.substr(10, n.size() - 13));
  }
  std::sort(ids.begin(), ids.end());
  REQUIRE(ids.size() >= 3);
  test::WriteFile(tmp.File("grow.py"), R"PY(
import os, sys, random
os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]
from prometheus_client import values
values.ValueClass = values.MultiProcessValue(lambda: int(sys.argv[2]))
from prometheus_client import Counter, Histogram
c = Counter('http_requests', 'Requests served, by view, method and status.',
            ['view', 'method', 'status'])
h = Histogram('http_request_duration_seconds', 'Request latency in seconds.',
              ['view', 'method'])
r = random.Random(int(sys.argv[2]))
for _ in range(60):
    v = 'app.views.view_%04d' % r.randrange(12)
    m = r.choice(['GET', 'HEAD', 'OPTIONS'])
    c.labels(v, m, r.choice(['200', '304'])).inc()
    h.labels(v, m).observe(r.random())
)PY");
  for (size_t i = 0; i < 3; ++i) {
    test::RunCommand(std::string(test::kPython) + " " + tmp.File("grow.py") +
                         " " + dir + " " + ids[i * (ids.size() / 3)],
                     "", &rc);
    REQUIRE(rc == 0);
  }
  want = test::ParseExposition(PythonExposition(dir));
  std::string after;
  REQUIRE(warm.Render(ExpositionFormat::kText004, &after, nullptr).ok());
  CHECK(after != before);
  CHECK(test::DiffExpositions(want, test::ParseExposition(after), true) == "");
  DirectoryCollector cold(opt);
  std::string fresh;
  REQUIRE(cold.Render(ExpositionFormat::kText004, &fresh, nullptr).ok());
  CHECK(fresh == after);
}

TEST_CASE("damaged copies of matched files never break a scrape") {
  // Files that match their prediction in order or out of it, then damaged
  // byte by byte: every scrape, cold or warm, on any number of reader
  // threads, succeeds, and a damaged file is either still readable or
  // reported; the undamaged ones always merge. (The sanitizer build runs
  // this too.)
  test::TempDir tmp;
  std::string dir = tmp.File("d");
  ShuffledWebApp(dir, 12, 300);
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  uint32_t x = 2463534242u;
  auto next = [&x] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = LivenessMode::kNone;
  opt.read_threads = 2;
  DirectoryCollector warm(opt);
  std::set<std::string> damaged;
  for (int round = 0; round < 40; ++round) {
    CAPTURE(round);
    // Damage one file (not the first of its type, which predicts the
    // others): a flipped byte in its entries, or its `used`.
    const std::string& victim = names[1 + next() % (names.size() - 1)];
    std::string bytes = test::ReadFile(dir + "/" + victim);
    int32_t used;
    std::memcpy(&used, bytes.data(), 4);
    if (used <= 16 || static_cast<size_t>(used) > bytes.size()) {
      used = static_cast<int32_t>(bytes.size());  // damaged before
    }
    if (next() % 4 == 0) {
      int32_t bad = static_cast<int32_t>(next() % (2 * used + 16)) - 8;
      std::memcpy(bytes.data(), &bad, 4);
    } else {
      size_t at = 8 + next() % (used - 8);
      bytes[at] = static_cast<char>(bytes[at] ^ (1 + next() % 255));
    }
    test::WriteFile(dir + "/" + victim, bytes);
    damaged.insert(victim);
    for (unsigned threads : {1u, 3u}) {
      opt.read_threads = threads;
      DirectoryCollector cold(opt);
      std::string out;
      ScrapeStats stats;
      REQUIRE(cold.Render(ExpositionFormat::kText004, &out, &stats).ok());
      // Every file is counted once: merged, or bad (only damaged ones).
      size_t total = 0, bad = 0;
      for (const auto& [key, n] : stats.files) {
        total += n;
        if (key.second == "bad") bad += n;
      }
      CHECK(total == names.size());
      CHECK(bad <= damaged.size());
    }
    std::string out;
    REQUIRE(warm.Render(ExpositionFormat::kOpenMetrics100, &out, nullptr).ok());
    CHECK(out.find("http_requests_total") != std::string::npos);
  }
}

TEST_CASE("two names of one inode (a hard link) are both merged as Python does") {
  test::TempDir d;
  test::WriteFile(d.File("counter_1.db"),
                  FileBuilder().Add(Key("a", "a_total", ""), 2).Build());
  REQUIRE(::link(d.File("counter_1.db").c_str(), d.File("counter_2.db").c_str()) == 0);
  std::unique_ptr<DirectoryCollector> c(NewCollector(d.path()));
  for (int scrape = 0; scrape < 3; ++scrape) {
    CHECK(Samples(c.get())["a_total{}"] == 4);
  }
}

}  // namespace
}  // namespace promdir
