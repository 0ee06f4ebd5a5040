// Crafted and hostile files: parse times bounded (no quadratic path, a
// seeded hash), `used` capped, bad files not read again while unchanged,
// and memory that follows the files on disk through a churn of series.
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>

#include "bench/crafted_files.h"
#include "doctest/doctest.h"
#include "lib/src/key_codec.h"
#include "lib/src/reader/key_table.h"
#include "promdir/merge.h"
#include "tests/reader_file_builder.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

using test::TempDir;

CollectorOptions Options(const std::string& dir) {
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = LivenessMode::kNone;
  return opt;
}

double CpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

// CPU seconds (all threads) of one cold scrape of `dir`: the bound holds on
// a loaded machine, where wall time stretches. The body goes to *out.
double ColdScrape(const std::string& dir, std::string* out,
                  ScrapeStats* stats) {
  DirectoryCollector c(Options(dir));
  auto t0 = std::chrono::steady_clock::now();
  double c0 = CpuSeconds();
  Status s = c.Render(ExpositionFormat::kText004, out, stats);
  double cpu = CpuSeconds() - c0;
  auto t1 = std::chrono::steady_clock::now();
  REQUIRE(s.ok());
  MESSAGE(dir << ": cold scrape " << cpu << " s CPU, "
              << std::chrono::duration<double>(t1 - t0).count() << " s wall");
  return cpu;
}

// Sets a file's mtime `ago` seconds into the past.
void Age(const std::string& path, double ago) {
  struct timeval tv[2];
  gettimeofday(&tv[0], nullptr);
  tv[0].tv_sec -= static_cast<time_t>(ago);
  tv[1] = tv[0];
  REQUIRE(utimes(path.c_str(), tv) == 0);
}

// Resident set size of this process in bytes.
size_t Rss() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

TEST_CASE("a key of 90,000 labels in shuffled order parses in milliseconds") {
  TempDir d;
  test::WriteFile(d.File("counter_1.db"), crafted::WideKeyFile(90000));
  std::string out;
  ScrapeStats stats;
  double t = ColdScrape(d.path(), &out, &stats);
  CHECK(stats.entries == 1);
  CHECK(stats.bad_files_by_reason.empty());
  CHECK(out.find("wide_total{a000=\"\",a001=\"\",") != std::string::npos);
  CHECK(t < 2.0);  // quadratic: ~4e9 string compares, 22 s
}

TEST_CASE("repeated label names keep the last value, sorted, in linear time") {
  DecodedKey k;
  REQUIRE(DecodeKey(R"(["m", "m", {"b": "1", "a": "2", "b": "3", "a": "4", "c": "5"}, ""])",
                    &k).ok());
  LabelPairs want = {{"a", "4"}, {"b", "3"}, {"c", "5"}};
  CHECK(k.labels == want);
  // Many repeats of few names.
  std::string key = R"(["m", "m", {)";
  for (int i = 0; i < 60000; ++i) {
    if (i) key += ',';
    key += "\"n" + std::to_string(i % 7) + "\":\"" + std::to_string(i) + "\"";
  }
  key += "}, \"\"]";
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(DecodeKey(key, &k).ok());
  double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  REQUIRE(k.labels.size() == 7);
  CHECK(k.labels[0] == std::pair<std::string, std::string>{"n0", "59997"});
  CHECK(k.labels[6] == std::pair<std::string, std::string>{"n6", "59996"});
  CHECK(t < 1.0);
}

TEST_CASE("100,000 keys built to collide under std::hash parse in milliseconds") {
  const std::vector<std::string> keys = crafted::CollidingKeys(100000);
  // They do collide under the unseeded hash: all in 1,024 of 2^18 slots.
  std::set<uint32_t> old_slots, new_slots;
  for (const std::string& k : keys) {
    old_slots.insert(crafted::UnseededKeyHash(k) & 0x3ffff);
    new_slots.insert(reader::KeyHash(k) & 0x3ffff);
  }
  CHECK(old_slots.size() <= 1024);
  // Under the seeded hash they spread as random keys would (~82,000).
  CHECK(new_slots.size() > 75000);

  TempDir d;
  std::string file(8, '\0');
  for (const std::string& k : keys) crafted::AppendEntry(&file, k, 2.0);
  test::WriteFile(d.File("counter_1.db"), crafted::Finish(file));
  std::string out;
  ScrapeStats stats;
  double t = ColdScrape(d.path(), &out, &stats);
  CHECK(stats.entries == 100000);
  size_t samples = 0;
  for (size_t at = 0; (at = out.find("_total 2.0\n", at)) != std::string::npos; ++at) {
    ++samples;
  }
  CHECK(samples == 100000);
  CHECK(t < 6.0);  // quadratic: ~5e9 probes, 100,000 families: 30 s
}

// Scrapes a sparse file of `size` bytes whose one entry is followed by a
// hole, with `used` as given: it must be bad for `reason`, saying `phrase`,
// after reading at most `max_read` bytes.
void CheckSparse(off_t size, int32_t used, const std::string& reason,
                 const std::string& phrase, uint64_t max_read) {
  TempDir d;
  const std::string path = d.File("counter_1.db");
  test::WriteFile(path, test::FileBuilder(ValueLayout::k8)
                            .Add(R"(["a", "a_total", {}, ""])", 1)
                            .Build(used, 64));
  REQUIRE(truncate(path.c_str(), size) == 0);
  std::string out;
  ScrapeStats stats;
  double t = ColdScrape(d.path(), &out, &stats);
  CHECK(stats.bad_files_by_reason[reason] == 1);
  REQUIRE(stats.new_bad_files.size() == 1);
  CHECK(stats.new_bad_files[0].message.find(phrase) != std::string::npos);
  CHECK(stats.bytes_read <= max_read);
  CHECK(t < 1.0);
}

// Run in a child process by the next case: prints this process's hash of
// a fixed key (and nothing when run as part of the whole suite).
TEST_CASE("seeded hash: child") {
  if (std::getenv("PROMDIR_PRINT_HASH") == nullptr) return;
  std::printf("HASH=%016llx\n", static_cast<unsigned long long>(
                                     reader::SeededHash64("[\"a\", \"a\", {}, \"\"]")));
}

TEST_CASE("every process hashes keys under its own random key") {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  REQUIRE(n > 0);
  self[n] = '\0';
  auto child = [&] {
    int code = 0;
    std::string out = test::RunCommand(
        std::string("PROMDIR_PRINT_HASH=1 '") + self +
            "' -tc='seeded hash: child'",
        "", &code);
    REQUIRE(code == 0);
    size_t at = out.find("HASH=");
    REQUIRE(at != std::string::npos);
    return out.substr(at + 5, 16);
  };
  std::string a = child(), b = child();
  char mine[17];
  std::snprintf(mine, sizeof mine, "%016llx", static_cast<unsigned long long>(
                    reader::SeededHash64("[\"a\", \"a\", {}, \"\"]")));
  CHECK(a != b);
  CHECK(a != mine);
  CHECK(b != mine);
}

TEST_CASE("a used past the writer's largest file is bad, not read") {
  // 2 GiB: `used` fits inside the file, not under the 1 GiB cap.
  CheckSparse(off_t{1} << 31, 0x7ffffff8, "bad_layout",
              "beyond the largest metrics file", 4096);
}

TEST_CASE("a used under the cap that claims a sparse file's hole stops early") {
  // One 1 MiB chunk is read, not 512 MiB.
  CheckSparse(off_t{512} << 20, (512 << 20) - 8, "bad_length",
              "zero bytes at offset", (1 << 20) + 4096);
}

TEST_CASE("an unchanged bad file is not read again, a changed one is") {
  TempDir d;
  const std::string bad = d.File("counter_1.db");
  const std::string fresh = d.File("counter_2.db");
  // A key that is not JSON: bad_key, found only by reading the file.
  std::string broken = test::FileBuilder(ValueLayout::k8)
                           .Add(R"(["a", "a_total", {}, ""])", 1)
                           .Add(R"([not json])", 1)
                           .Build();
  test::WriteFile(bad, broken);
  test::WriteFile(fresh, broken);
  Age(bad, 60);  // quiet long before the read: its mtime can be trusted
  DirectoryCollector c(Options(d.path()));
  std::string out;
  ScrapeStats first, second;
  REQUIRE(c.Render(ExpositionFormat::kText004, &out, &first).ok());
  CHECK(first.bad_files_by_reason["bad_key"] == 2);
  CHECK(first.bytes_read > 0);
  REQUIRE(c.Render(ExpositionFormat::kText004, &out, &second).ok());
  CHECK(second.bad_files_by_reason["bad_key"] == 2);
  CHECK(second.new_bad_files.empty());  // reported once
  // Only the file changed just now was read again.
  CHECK(second.bytes_read > 0);
  CHECK(second.bytes_read * 2 == first.bytes_read);

  // Repaired in place (same size, later mtime): read and merged.
  std::string good = test::FileBuilder(ValueLayout::k8)
                         .Add(R"(["a", "a_total", {}, ""])", 1)
                         .Add(R"(["b", "b_total", {}, ""])", 1)
                         .Build();
  REQUIRE(good.size() == broken.size());
  test::WriteFile(bad, good);
  Age(bad, 30);
  ScrapeStats third;
  out.clear();
  REQUIRE(c.Render(ExpositionFormat::kText004, &out, &third).ok());
  CHECK(third.bad_files_by_reason["bad_key"] == 1);
  CHECK(out.find("b_total 1.0") != std::string::npos);
}

// 400,000 distinct series come and go (40 generations of 10,000 in 4
// files each, every generation deleted when the next is written): the
// engine holds about what is on disk, not everything it ever saw.
TEST_CASE("memory follows the series on disk through a churn of 400,000") {
  TempDir d;
  DirectoryCollector c(Options(d.path()));
  constexpr int kGenerations = 40, kFiles = 4, kSeriesPerFile = 2500;
  size_t rss_early = 0, keys_max = 0, bytes_max = 0, releases = 0;
  size_t bytes_early = 0;
  bool released_last = false;
  for (int g = 0; g < kGenerations; ++g) {
    for (int f = 0; f < kFiles; ++f) {
      test::FileBuilder b(ValueLayout::k8);
      for (int i = 0; i < kSeriesPerFile; ++i) {
        b.Add("[\"churn\", \"churn_total\", {\"path\": \"/g" + std::to_string(g) +
                  "/f" + std::to_string(f) + "/item/" + std::to_string(i) +
                  "\"}, \"requests by path\"]",
              1);
      }
      test::WriteFile(d.File("counter_" + std::to_string(g * kFiles + f) + ".db"),
                      b.Build(-1, 0));
      if (g > 0) unlink(d.File("counter_" + std::to_string((g - 1) * kFiles + f) + ".db").c_str());
    }
    std::string out;
    ScrapeStats stats;
    REQUIRE(c.Render(ExpositionFormat::kText004, &out, &stats).ok());
    REQUIRE(stats.entries == kFiles * kSeriesPerFile);
    if (stats.key_releases || released_last) {
      // Releasing changes nothing of what is served, then or after.
      std::string fresh;
      REQUIRE(DirectoryCollector(Options(d.path()))
                  .Render(ExpositionFormat::kText004, &fresh, nullptr)
                  .ok());
      CHECK(out == fresh);
    }
    released_last = stats.key_releases != 0;
    releases += stats.key_releases;
    if (g == 8) {
      rss_early = Rss();
      bytes_early = stats.key_table_bytes;
    }
    if (g >= 8) {
      keys_max = std::max<size_t>(keys_max, stats.keys_held);
      bytes_max = std::max<size_t>(bytes_max, stats.key_table_bytes);
    }
  }
  const size_t rss_end = Rss();
  MESSAGE("churn: RSS " << rss_early / 1024 << " KiB after 90,000 series, "
          << rss_end / 1024 << " KiB after 400,000; keys held at most "
          << keys_max << "; key table at most " << bytes_max / 1024
          << " KiB (" << bytes_early / 1024 << " KiB early); releases "
          << releases);
  // 10,000 series on disk at any time; the table is released once it holds
  // twice what files hold and at least 50,000 keys.
  CHECK(keys_max <= 70000);
  CHECK(releases >= 4);
  CHECK(bytes_max < 3 * bytes_early + (8 << 20));
  CHECK(rss_end < rss_early + (24 << 20));
}

}  // namespace
}  // namespace promdir
