// promdir-loadgen as users run it: exact totals, worker ids, respawn, and
// its errors.

#include <doctest/doctest.h>

#include <string>

#include "tests/test_util.h"
#include "tests/writer_util.h"

namespace promdir {
namespace {

using test::Key;
using test::TempDir;

const std::string kLoadgen = std::string(PROMDIR_BIN_DIR) + "/promdir-loadgen";

std::string Route(int r) { return "r" + std::to_string(r); }

TEST_CASE(
    "loadgen: N workers x K iterations give exact totals Python agrees with") {
  TempDir dir;
  int rc;
  test::RunCommand(kLoadgen + " --dir " + dir.path() +
                       " --workers 3 --iterations 1000 --layout 8 2>&1",
                   "", &rc);
  REQUIRE(rc == 0);
  CHECK(test::DbFiles(dir.path()).size() == 9);
  for (int r = 0; r < 4; ++r) {
    CHECK(test::SumOver(
              dir.path(), "counter",
              Key("loadgen_requests", "loadgen_requests_total",
                  {{"route", Route(r)}},
                  "Iterations run by promdir-loadgen workers, by route.")) ==
          750);
  }
  std::string out = test::RunCommand(
      "PROMETHEUS_MULTIPROC_DIR=" + dir.path() + " " + test::kPython +
          " -c 'from prometheus_client import CollectorRegistry, multiprocess, "
          "generate_latest\nr = CollectorRegistry()\n"
          "multiprocess.MultiProcessCollector(r)\n"
          "print(generate_latest(r).decode())'",
      "", &rc);
  REQUIRE(rc == 0);
  CHECK(out.find("loadgen_requests_total{route=\"r2\"} 750.0") !=
        std::string::npos);
  CHECK(out.find("loadgen_latency_seconds_count{route=\"r1\"} 750.0") !=
        std::string::npos);
  // Route r0 sees 0.005, 0.045, 0.085, ...: two of every 25 are <= 0.05.
  CHECK(out.find(
            "loadgen_latency_seconds_bucket{le=\"0.05\",route=\"r0\"} 60.0") !=
        std::string::npos);
  CHECK(out.find("loadgen_inflight 0.0") != std::string::npos);
}

TEST_CASE("loadgen: --worker-ids with --respawn continues the same files") {
  TempDir dir;
  int rc;
  test::RunCommand(kLoadgen + " --dir " + dir.path() +
                       " --workers 2 --iterations 100 --duration 0.5 --respawn "
                       "--worker-ids 2>&1",
                   "", &rc);
  REQUIRE(rc == 0);
  CHECK(test::DbFiles(dir.path()) ==
        std::vector<std::string>{"counter_0.db", "counter_1.db",
                                 "gauge_livesum_0.db", "gauge_livesum_1.db",
                                 "histogram_0.db", "histogram_1.db"});
  double total = 0;
  for (int r = 0; r < 4; ++r) {
    total += test::SumOver(
        dir.path(), "counter",
        Key("loadgen_requests", "loadgen_requests_total", {{"route", Route(r)}},
            "Iterations run by promdir-loadgen workers, by route."));
  }
  CHECK(total >= 400);  // more than one generation ran
  CHECK(static_cast<long>(total) % 100 == 0);
}

TEST_CASE("loadgen: bad arguments are clear errors") {
  TempDir dir;
  int rc;
  std::string out = test::RunCommand(
      kLoadgen + " --dir " + dir.File("nope") + " --iterations 1 2>&1", "",
      &rc);
  CHECK(rc == 2);
  CHECK(out.find(dir.File("nope")) != std::string::npos);
  out = test::RunCommand(
      kLoadgen + " --dir " + dir.path() + " --layout 12 2>&1", "", &rc);
  CHECK(rc != 0);
  CHECK(out.find("--layout") != std::string::npos);
  out = test::RunCommand(kLoadgen + " --dir " + dir.path() + " 2>&1", "", &rc);
  CHECK(rc == 2);
  out = test::RunCommand(kLoadgen + " --help", "", &rc);
  CHECK(rc == 0);
  CHECK(out.find("--worker-ids") != std::string::npos);
}

}  // namespace
}  // namespace promdir
