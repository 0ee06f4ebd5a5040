// The merge engine against the fixtures written by the real Python client:
// output equal, as data, to what Python's MultiProcessCollector printed.
#include <doctest/doctest.h>

#include <set>

#include "promdir/merge.h"
#include "tests/exposition_parse.h"
#include "tests/reader_test_util.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

const std::string kFixtures = PROMDIR_FIXTURES_DIR;


std::string RenderDir(const std::string& dir, LivenessMode mode,
                      ExpositionFormat format = ExpositionFormat::kText004,
                      ScrapeStats* stats = nullptr) {
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = mode;
  DirectoryCollector c(opt);
  std::string out;
  REQUIRE(c.Render(format, &out, stats).ok());
  return out;
}

TEST_CASE("every fixture merges to Python's expected output") {
  for (const char* name : {"py016-web", "py016-exotic", "pyhead-web",
                           "pyhead-exotic", "corrupt"}) {
    std::string base = kFixtures + "/" + name;
    INFO(name);
    test::TempDir tmp;
    std::string dir = test::CopyFixture(name, tmp);
    test::Parsed want = test::ParseExposition(test::ReadFile(base + "/expected.txt"));
    REQUIRE(want.families.size() > 0);
    test::Parsed got = test::ParseExposition(RenderDir(dir, LivenessMode::kNone));
    // Python sums in directory-listing order, promdir in sorted order: the
    // last bit of a sum may differ.
    CHECK(test::DiffExpositions(want, got, true) == "");
    std::string pruned = base + "/expected-pruned.txt";
    if (std::string(name) == "corrupt") continue;
    test::Parsed want_pruned = test::ParseExposition(test::ReadFile(pruned));
    for (LivenessMode mode : {LivenessMode::kPid, LivenessMode::kAuto}) {
      test::Parsed got_pruned = test::ParseExposition(RenderDir(dir, mode));
      CHECK(test::DiffExpositions(want_pruned, got_pruned, true) == "");
    }
  }
}

TEST_CASE("the corrupt fixture: bad files skipped and reported once and counted always") {
  test::TempDir tmp;
  CollectorOptions opt;
  opt.directory = test::CopyFixture("corrupt", tmp);
  opt.liveness = LivenessMode::kNone;
  DirectoryCollector c(opt);
  std::vector<MetricFamily> families;
  ScrapeStats stats;
  REQUIRE(c.Collect(&families, &stats).ok());
  std::set<std::string> bad;
  for (const BadFile& b : stats.new_bad_files) {
    bad.insert(b.path.substr(b.path.rfind('/') + 1));
    CHECK(b.message.find(b.path) != std::string::npos);
    CHECK_FALSE(b.reason.empty());
  }
  CHECK(bad == std::set<std::string>{"counter_4194500.db", "counter_4194501.db",
                                     "histogram_4194502.db", "gauge_livesum_4194503.db",
                                     "summary_4194504.db", "unknown_4194505.db",
                                     "counter_4194507.db", "sub.db"});
  uint64_t total = 0;
  for (const auto& [reason, n] : stats.bad_files_by_reason) total += n;
  CHECK(total == 8);
  CHECK(stats.bad_files_by_reason["empty"] == 1);
  CHECK(stats.bad_files_by_reason["not_regular"] == 1);
  CHECK(stats.bad_files_by_reason["unknown_type"] == 1);
  CHECK(stats.cache_misses > 0);

  ScrapeStats again;
  REQUIRE(c.Collect(&families, &again).ok());
  CHECK(again.new_bad_files.empty());
  CHECK(again.bad_files_by_reason == stats.bad_files_by_reason);
  CHECK(again.cache_hits == stats.cache_misses);
  CHECK(again.cache_misses == 0);
}

}  // namespace
}  // namespace promdir
