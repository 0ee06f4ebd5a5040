// Native histograms: the bucket math, the writer (threads, forked processes
// killed with SIGKILL, table overflow), the merge arithmetic, the collector
// with bad native files, and the protobuf they are served in.

#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "lib/src/env.h"
#include "lib/src/native_format.h"
#include "lib/src/reader/native_file.h"
#include "metrics.pb.h"
#include "promdir/promdir.h"
#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::TempDir;

Family<NativeHistogram>& Declare(Registry& r, uint32_t max_buckets = 160,
                                 std::vector<double> classic = {}) {
  return BuildNativeHistogram()
      .Name("lat_seconds")
      .Help("Latency")
      .Labels({"w"})
      .Schema(3)
      .ZeroThreshold(1e-9)
      .MaxBuckets(max_buckets)
      .ClassicBuckets(std::move(classic))
      .Register(r);
}

CollectorOptions CollectorOpts(const std::string& dir) {
  CollectorOptions o;
  o.directory = dir;
  o.liveness = LivenessMode::kNone;
  return o;
}

// The merged native series of a directory, by their first label's value.
std::map<std::string, NativeSeries> Collect(const std::string& dir,
                                            ScrapeStats* stats = nullptr) {
  DirectoryCollector c(CollectorOpts(dir));
  std::vector<MetricFamily> families;
  REQUIRE(c.Collect(&families, stats).ok());
  std::map<std::string, NativeSeries> out;
  for (const MetricFamily& f : families) {
    for (const NativeSeries& n : f.native) {
      out[n.labels.empty() ? "" : n.labels[0].second] = n;
    }
  }
  return out;
}

uint64_t BucketTotal(const NativeSeries& h) {
  uint64_t t = h.zero_count;
  for (const auto& b : h.positive) t += b.second;
  for (const auto& b : h.negative) t += b.second;
  return t;
}

TEST_CASE("native math: bucket indexes, upper bounds, reduction, factors") {
  // Schema 0: bucket i is (2^(i-1), 2^i].
  CHECK(native::BucketIndex(1, 0) == 0);
  CHECK(native::BucketIndex(1.5, 0) == 1);
  CHECK(native::BucketIndex(2, 0) == 1);
  CHECK(native::BucketIndex(0.5, 0) == -1);
  CHECK(native::BucketIndex(3, -1) == 1);  // (1, 4]
  CHECK(native::BucketIndex(5, -1) == 2);  // (4, 16]
  // At every schema, a bucket's upper bound lands in that bucket and the
  // next double up in the next.
  for (int32_t s = native::kMinSchema; s <= native::kMaxSchema; ++s) {
    for (int32_t i = -40; i <= 40; ++i) {
      double ub = native::BucketUpperBound(s, i);
      if (ub == 0 || std::isinf(ub)) continue;
      CHECK(native::BucketIndex(ub, s) == i);
      CHECK(native::BucketIndex(std::nextafter(ub, INFINITY), s) == i + 1);
    }
  }
  CHECK(native::BucketIndex(INFINITY, 0) == 1025);
  CHECK(native::BucketIndex(INFINITY, -4) == native::kDenseMax - 2);
  CHECK(native::BucketIndex(5e-324, -4) >= native::kDenseMin);
  // ceil(i / 2^by), negative indexes too.
  CHECK(native::ReduceIndex(5, 1) == 3);
  CHECK(native::ReduceIndex(4, 1) == 2);
  CHECK(native::ReduceIndex(-3, 1) == -1);
  CHECK(native::ReduceIndex(-4, 2) == -1);
  CHECK(native::ReduceIndex(-5, 2) == -1);
  CHECK(native::ReduceIndex(0, 3) == 0);
  // Reducing then agrees with the bucket of the value at the lower schema.
  for (double v : {0.001, 0.37, 1.0, 1.01, 7.5, 1e6}) {
    for (int by = 1; by <= 4; ++by) {
      CHECK(native::ReduceIndex(native::BucketIndex(v, 3), by) ==
            native::BucketIndex(v, 3 - by));
    }
  }
  CHECK(native::SchemaForFactor(1.1) == 3);
  CHECK(native::SchemaForFactor(2) == 0);
  CHECK(native::SchemaForFactor(1.0001) == 8);
  CHECK(native::SchemaForFactor(1e9) == -4);
  int32_t s;
  bool neg;
  int32_t idx;
  REQUIRE(native::UnpackKey(native::PackKey(-3, true, -77), &s, &neg, &idx));
  CHECK((s == -3 && neg && idx == -77));
  CHECK_FALSE(native::UnpackKey(2, &s, &neg, &idx));
}

TEST_CASE("native merge: coarsest schema, widest zero bucket, bucket limit") {
  NativeSeries a;
  a.schema = 2;
  a.zero_threshold = 0.001;
  a.count = 6;
  a.sum = 10;
  a.zero_count = 1;
  a.positive = {{-20, 1}, {1, 2}, {2, 1}};
  a.negative = {{3, 1}};
  NativeSeries b;
  b.schema = 0;
  b.zero_threshold = 0.1;
  b.count = 3;
  b.sum = -1;
  b.positive = {{1, 2}};
  b.negative = {{-5, 1}};
  reader::AddNative(&a, b);
  CHECK(a.schema == 0);
  CHECK(a.zero_threshold == 0.1);
  // a's bucket -20 at schema 2 (upper bound 2^-5) became -5 at schema 0:
  // inside the zero bucket; so did b's negative bucket -5.
  CHECK(a.zero_count == 3);
  CHECK(a.positive == std::vector<std::pair<int32_t, uint64_t>>{{1, 5}});
  CHECK(a.negative == std::vector<std::pair<int32_t, uint64_t>>{{1, 1}});
  CHECK(a.count == 9);
  CHECK(a.sum == 9);
  NativeSeries c;
  c.schema = 3;
  for (int32_t i = 0; i < 64; ++i) c.positive.push_back({i, 1});
  reader::LimitBuckets(&c, 10);
  CHECK(c.positive.size() <= 10);
  CHECK(c.schema == 0);  // 64 buckets of schema 3 -> 33 -> 17 -> 9
  uint64_t total = 0;
  for (const auto& bc : c.positive) total += bc.second;
  CHECK(total == 64);
}

TEST_CASE("native writer: threads lose no observation") {
  TempDir dir;
  Registry r(test::WriterOptions(dir.path()));
  NativeHistogram h = Declare(r).WithLabelValues("t");
  constexpr int kThreads = 4, kEach = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // k/8 is exact in binary: the sum is exact in any order.
        h.Observe((t % 2 ? -1 : 1) * ((i % 977) + 1) / 8.0);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(h.Count() == kThreads * kEach);
  CHECK(h.Sum() == 0);
  NativeSeries s = Collect(dir.path())["t"];
  CHECK(s.count == kThreads * kEach);
  CHECK(s.sum == 0);
  CHECK(BucketTotal(s) == s.count);
  CHECK(s.schema == 3);
  CHECK(s.positive.size() > 50);
  CHECK(std::filesystem::exists(dir.File("histogram_native_" +
                                         std::to_string(getpid()) + ".ndb")));
  CHECK(!std::filesystem::exists(dir.File("histogram_" +
                                          std::to_string(getpid()) + ".db")));
}

TEST_CASE("native writer: forked workers killed with SIGKILL still count") {
  TempDir dir;
  Registry r(test::WriterOptions(dir.path()));
  auto& f = Declare(r, 160, {0.5, 1});
  constexpr int kChildren = 3, kEach = 20000;
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
      NativeHistogram h = f.WithLabelValues("w");
      for (int i = 0; i < kEach; ++i) h.Observe((i % 400 + 1) / 16.0);
      char done = 1;
      (void)!write(fds[1], &done, 1);
      pause();
      _exit(0);
    }
    close(fds[1]);
    char done = 0;
    REQUIRE(read(fds[0], &done, 1) == 1);
    close(fds[0]);
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  double each_sum = 0;
  for (int i = 0; i < kEach; ++i) each_sum += (i % 400 + 1) / 16.0;
  NativeSeries s = Collect(dir.path())["w"];
  CHECK(s.count == kChildren * kEach);
  CHECK(s.sum == kChildren * each_sum);
  CHECK(BucketTotal(s) == s.count);
  CHECK(s.zero_count == 0);
  // The classic buckets went to the histogram files beside them.
  DirectoryCollector c(CollectorOpts(dir.path()));
  std::string text;
  REQUIRE(c.Render(ExpositionFormat::kText004, &text, nullptr).ok());
  CHECK(text.find("lat_seconds_count{w=\"w\"} " +
                  std::to_string(kChildren * kEach) + ".0") !=
        std::string::npos);
  CHECK(text.find("lat_seconds_bucket{le=\"0.5\",w=\"w\"}") !=
        std::string::npos);
}

TEST_CASE("native writer: a child's own file keeps the configuration; a "
          "worker id's file is reopened and continued") {
  TempDir dir;
  {
    Registry r(test::WriterOptions(dir.path(), "w7"));
    NativeHistogram h = Declare(r).WithLabelValues("p");
    h.Observe(3);
    pid_t pid = fork();
    if (pid == 0) {
      // The inherited handle: the child's first write makes its own file
      // from the parent's entries (configuration kept, counts 0).
      for (int i = 0; i < 100; ++i) h.Observe(0.25);
      _exit(h.Count() == 100 && h.schema() == 3 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(std::filesystem::exists(dir.File(
        "histogram_native_" + std::to_string(pid) + ".ndb")));
  }
  {
    Registry r(test::WriterOptions(dir.path(), "w7"));
    NativeHistogram h = Declare(r).WithLabelValues("p");
    CHECK(h.Count() == 1);  // the file of worker w7, continued
    h.Observe(3);
  }
  NativeSeries s = Collect(dir.path())["p"];
  CHECK(s.count == 102);
  CHECK(s.sum == 31);
  CHECK(s.schema == 3);
  CHECK(s.positive ==
        std::vector<std::pair<int32_t, uint64_t>>{
            {native::BucketIndex(0.25, 3), 100}, {native::BucketIndex(3, 3), 2}});
}

TEST_CASE("native writer: a full table moves to coarser schemas, loses none") {
  TempDir dir;
  Registry r(test::WriterOptions(dir.path()));
  NativeHistogram h = Declare(r, 4).WithLabelValues("o");  // 16 slots
  uint64_t n = 0;
  for (double v = 1e-6; v < 1e12; v *= 1.01, ++n) h.Observe(v);
  h.Observe(-INFINITY);
  h.Observe(0);
  h.Observe(NAN);  // counted, in no bucket
  NativeSeries s = Collect(dir.path())["o"];
  CHECK(s.count == n + 3);
  CHECK(BucketTotal(s) == n + 2);
  CHECK(s.zero_count == 1);
  CHECK(s.schema < 3);  // resolution is what overflowing costs
  CHECK(std::isnan(s.sum));
}

TEST_CASE("native collector: bad native files are skipped and named") {
  TempDir dir;
  {
    Registry r(test::WriterOptions(dir.path(), "good"));
    Declare(r).WithLabelValues("g").Observe(2);
  }
  std::string good = test::ReadFile(dir.File("histogram_native_good.ndb"));
  // A payload whose schema is out of range.
  std::string bad_schema = good;
  const size_t payload = bad_schema.find(']') + 1;
  size_t at = (payload + 7) / 8 * 8 + native::kSchemaOffset;
  if (at == payload) at += 8;
  int32_t nine = 99;
  std::memcpy(bad_schema.data() + at, &nine, 4);
  test::WriteFile(dir.File("histogram_native_schema.ndb"), bad_schema);
  test::WriteFile(dir.File("histogram_native_empty.ndb"), "");
  test::WriteFile(dir.File("histogram_native_short.ndb"), good.substr(0, 200));
  std::string past = good;
  int32_t huge = 1 << 28;
  std::memcpy(past.data(), &huge, 4);
  test::WriteFile(dir.File("histogram_native_past.ndb"), past);
  std::string hole(2 << 20, '\0');
  int32_t used = 2 << 20;
  std::memcpy(hole.data(), &used, 4);
  test::WriteFile(dir.File("histogram_native_hole.ndb"), hole);
  std::filesystem::create_symlink(dir.File("histogram_native_good.ndb"),
                                  dir.File("histogram_native_link.ndb"));
  ScrapeStats stats;
  auto merged = Collect(dir.path(), &stats);
  CHECK(merged["g"].count == 1);
  CHECK(stats.files[{"histogram_native", "bad"}] == 6);
  REQUIRE(stats.new_bad_files.size() == 6);
  for (const BadFile& b : stats.new_bad_files) {
    MESSAGE(b.message);
    CHECK(b.message.find(dir.path() + "/histogram_native_") == 0);
  }
}

TEST_CASE("native protobuf: spans, deltas, zero bucket, no-op span") {
  TempDir dir;
  {
    Registry r(test::WriterOptions(dir.path()));
    auto& f = Declare(r);
    NativeHistogram a = f.WithLabelValues("a");
    for (double v : {1.0, 1.0, 1.05, 2.0, -1.0, 0.0}) a.Observe(v);
    f.WithLabelValues("empty");
  }
  DirectoryCollector c(CollectorOpts(dir.path()));
  std::string body;
  REQUIRE(c.Render(ExpositionFormat::kProtobuf, &body, nullptr).ok());
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(body.data()), body.size());
  uint32_t size = 0;
  REQUIRE(in.ReadVarint32(&size));
  auto limit = in.PushLimit(size);
  io::prometheus::client::MetricFamily mf;
  REQUIRE(mf.ParseFromCodedStream(&in));
  in.PopLimit(limit);
  CHECK(mf.name() == "lat_seconds");
  CHECK(mf.type() == io::prometheus::client::HISTOGRAM);
  REQUIRE(mf.metric_size() == 2);
  const auto& h = mf.metric(0).histogram();
  CHECK(mf.metric(0).label(0).value() == "a");
  CHECK(h.sample_count() == 6);
  CHECK(h.sample_sum() == doctest::Approx(4.05));
  CHECK(h.schema() == 3);
  CHECK(h.zero_threshold() == 1e-9);
  CHECK(h.zero_count() == 1);
  CHECK(h.bucket_size() == 0);
  // 1.0 -> index 0 (twice), 1.05 -> 1, 2.0 -> 8.
  REQUIRE(h.positive_span_size() == 2);
  CHECK(h.positive_span(0).offset() == 0);
  CHECK(h.positive_span(0).length() == 2);
  CHECK(h.positive_span(1).offset() == 6);
  CHECK(h.positive_span(1).length() == 1);
  REQUIRE(h.positive_delta_size() == 3);
  CHECK(h.positive_delta(0) == 2);
  CHECK(h.positive_delta(1) == -1);
  CHECK(h.positive_delta(2) == 0);
  REQUIRE(h.negative_span_size() == 1);
  CHECK(h.negative_delta(0) == 1);
  const auto& e = mf.metric(1).histogram();
  CHECK(e.sample_count() == 0);
  REQUIRE(e.positive_span_size() == 1);
  CHECK(e.positive_span(0).length() == 0);
}

// An Env whose Unlink fails for staged native files: a compactor killed
// right after its commit, before it deleted its sources.
class NoStagedUnlinkEnv : public EnvWrapper {
 public:
  NoStagedUnlinkEnv() : EnvWrapper(Env::Default()) {}
  // Files in the directory are deleted through UnlinkAt (the library binds
  // every Env to the directory: promdir/directory_env.h); Unlink is kept for
  // any path outside it.
  Status Unlink(const std::string& path) override {
    if (Staged(path)) return Killed(path);
    return EnvWrapper::Unlink(path);
  }
  Status UnlinkAt(int dir_fd, const std::string& path) override {
    if (Staged(path)) return Killed(path);
    return EnvWrapper::UnlinkAt(dir_fd, path);
  }

 private:
  static bool Staged(const std::string& path) {
    return path.find(".compacting") != std::string::npos &&
           path.ends_with(".ndb");
  }
  static Status Killed(const std::string& path) {
    return Status::IOError("killed before unlinking " + path);
  }
};

void DeadWorker(const std::string& dir, const std::string& id, int n) {
  pid_t pid = fork();
  if (pid == 0) {
    Registry r(test::WriterOptions(dir, id));
    NativeHistogram h = Declare(r).WithLabelValues("x");
    for (int i = 0; i < n; ++i) h.Observe((i % 50 + 1) / 4.0);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
}

size_t CountNamed(const std::string& dir, const std::string& part) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    n += e.path().filename().string().find(part) != std::string::npos;
  }
  return n;
}

TEST_CASE("native compaction: dead writers folded, totals kept, crash-safe") {
  TempDir dir;
  for (int w = 0; w < 3; ++w) DeadWorker(dir.path(), "w" + std::to_string(w), 1000);
  Registry live(test::WriterOptions(dir.path(), "live"));
  NativeHistogram lh = Declare(live).WithLabelValues("x");
  lh.Observe(-2);
  const NativeSeries before = Collect(dir.path())["x"];
  REQUIRE(before.count == 3001);

  // Killed after the commit: the sources stay, listed in the archive.
  NoStagedUnlinkEnv crash;
  MaintenanceOptions mo;
  mo.directory = dir.path();
  mo.env = &crash;
  MaintenanceResult res;
  REQUIRE(Compact(mo, &res).ok());
  CHECK(std::filesystem::exists(dir.File("histogram_native_archive.ndb")));
  CHECK(CountNamed(dir.path(), ".compacting") == 3);
  NativeSeries after = Collect(dir.path())["x"];
  CHECK(after.count == before.count);
  CHECK(after.sum == before.sum);
  CHECK(after.positive == before.positive);
  CHECK(after.negative == before.negative);

  // The next run deletes them; the live writer's file is never touched.
  mo.env = nullptr;
  REQUIRE(Compact(mo, &res).ok());
  CHECK(CountNamed(dir.path(), ".compacting") == 0);
  CHECK(std::filesystem::exists(dir.File("histogram_native_live.ndb")));
  CHECK(Collect(dir.path())["x"].count == before.count);

  // A later dead worker is folded into the existing archive.
  DeadWorker(dir.path(), "w9", 10);
  lh.Observe(-2);
  REQUIRE(Compact(mo, &res).ok());
  CHECK(!std::filesystem::exists(dir.File("histogram_native_w9.ndb")));
  after = Collect(dir.path())["x"];
  CHECK(after.count == before.count + 11);
  CHECK(after.sum == before.sum - 2 + [] {
    double s = 0;
    for (int i = 0; i < 10; ++i) s += (i % 50 + 1) / 4.0;
    return s;
  }());
  std::vector<FileReport> reports;
  REQUIRE(InspectDirectory(mo, &reports).ok());
  size_t natives = 0;
  for (const FileReport& r : reports) {
    if (r.type != "histogram_native") continue;
    ++natives;
    CHECK(!r.bad);
    CHECK(r.archive == (r.id == "archive"));
  }
  CHECK(natives == 2);  // the archive and the live writer's file
}

TEST_CASE("native files: wipe deletes them (not a live writer's), prune a "
          "stale temporary") {
  TempDir dir;
  DeadWorker(dir.path(), "d", 3);
  MaintenanceOptions mo;
  mo.directory = dir.path();
  {
    Registry live(test::WriterOptions(dir.path(), "l"));
    Declare(live).WithLabelValues("x").Observe(1);
    MaintenanceResult res;
    CHECK(Wipe(mo, false, &res).IsBusy());
    CHECK(std::filesystem::exists(dir.File("histogram_native_d.ndb")));
  }
  const std::string temp = dir.File(".histogram_native_7.ndb.tmp-999999");
  test::WriteFile(temp, "");
  std::filesystem::last_write_time(
      temp, std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  MaintenanceResult res;
  REQUIRE(Prune(mo, &res).ok());
  CHECK(!std::filesystem::exists(temp));
  REQUIRE(Wipe(mo, false, &res).ok());
  CHECK(CountNamed(dir.path(), ".ndb") == 0);
}

}  // namespace
}  // namespace promdir
