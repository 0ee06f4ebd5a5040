// The merge engine where the kernel, the file system or Python's writer
// surprise it: liveness by lease (any id, any pid namespace), a file made
// again under an old inode number, transient read errors, and series that
// are not valid UTF-8.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "lib/src/utf8.h"
#include "promdir/merge.h"
#include "tests/compact_util.h"
#include "tests/fault_env.h"

namespace promdir {
namespace {

using test::Key;
using test::TempDir;
using test::WriteDb;
namespace fs = std::filesystem;

std::map<std::string, double> View(DirectoryCollector* c,
                                   ScrapeStats* stats = nullptr) {
  return test::CollectorView(c, stats);
}

TEST_CASE("a live* gauge is shown while any process writes its file, "
          "whatever its id, and pruned once none does") {
  TempDir dir;
  const std::string path = dir.File("gauge_livesum_3.db");  // uWSGI worker 3
  WriteDb(path, ValueLayout::k16, {{Key("g", "g", {}), 4}});
  CollectorOptions o;
  o.directory = dir.path();
  o.prune = true;
  DirectoryCollector c(o);
  int writer = ::open(path.c_str(), O_RDWR);
  REQUIRE(writer >= 0);
  ScrapeStats stats;
  for (int i = 0; i < 3; ++i) CHECK(View(&c, &stats)["g{}"] == 4);
  CHECK(stats.pruned_files == 0);
  ::close(writer);
  CHECK(View(&c, &stats).count("g{}") == 0);
  CHECK(stats.pruned_files == 1);
  CHECK_FALSE(fs::exists(path));
}

TEST_CASE("a file made again under its name and old inode number is parsed "
          "anew, in its own key order") {
  for (bool reuse_unchanged : {true, false}) {
    for (bool forget_birth : {false, true}) {
      CAPTURE(reuse_unchanged);
      CAPTURE(forget_birth);
      TempDir dir;
      const std::string path = dir.File("counter_3.db");
      WriteDb(path, ValueLayout::k8,
              {{Key("c", "c_total", {{"k", "a"}}), 1},
               {Key("c", "c_total", {{"k", "b"}}), 2}});
      test::FaultEnv env;
      env.fake_inode = 4242;  // ext4 hands the number out again at once
      env.forget_birth = forget_birth;
      CollectorOptions o;
      o.directory = dir.path();
      o.env = &env;
      o.reuse_unchanged = reuse_unchanged;
      DirectoryCollector c(o);
      CHECK(View(&c)["c_total{k=a,}"] == 1);
      fs::remove(path);
      WriteDb(path, ValueLayout::k8,
              {{Key("c", "c_total", {{"k", "b"}}), 20},
               {Key("c", "c_total", {{"k", "a"}}), 10},
               {Key("c", "c_total", {{"k", "z"}}), 5}});
      std::map<std::string, double> got = View(&c);
      CHECK(got["c_total{k=a,}"] == 10);
      CHECK(got["c_total{k=b,}"] == 20);
      CHECK(got["c_total{k=z,}"] == 5);
      // Python's view of the directory says the same (Debian's Python
      // client reads the 8-byte layout).
      std::map<std::string, double> python = test::PythonView(dir.path());
      CHECK(python["c_total{k='a',}"] == 10);
      CHECK(python["c_total{k='b',}"] == 20);
      CHECK(python["c_total{k='z',}"] == 5);
    }
  }
}

TEST_CASE("a file read before that fails with EMFILE keeps its last good "
          "values; the error is counted and reported once") {
  TempDir dir;
  WriteDb(dir.File("counter_1.db"), ValueLayout::k16,
          {{Key("c", "c_total", {}), 1}});
  WriteDb(dir.File("counter_2.db"), ValueLayout::k16,
          {{Key("c", "c_total", {}), 2}, {Key("d", "d_total", {}), 7}});
  test::FaultEnv env;
  CollectorOptions o;
  o.directory = dir.path();
  o.env = &env;
  o.reuse_unchanged = false;  // every scrape opens every file
  DirectoryCollector c(o);
  const auto good = View(&c);
  CHECK(good.at("c_total{}") == 3);
  env.open_fail_suffix = "counter_2.db";
  for (int err : {EMFILE, ENFILE, EIO, EACCES}) {
    CAPTURE(err);
    env.open_errno = err;
    for (int i = 0; i < 2; ++i) {
      ScrapeStats stats;
      CHECK(View(&c, &stats) == good);
      CHECK(stats.bad_files_by_reason.empty());
      CHECK(stats.read_errors_by_reason.size() == 1);
      // Reported when it starts failing, not again while it goes on.
      CHECK(stats.new_read_errors.size() == (i == 0 && err == EMFILE ? 1 : 0));
    }
  }
  env.open_errno = 0;
  ScrapeStats stats;
  CHECK(View(&c, &stats) == good);
  CHECK(stats.read_errors_by_reason.empty());
  // A file never read has no last good values: it is a bad file.
  WriteDb(dir.File("counter_9.db"), ValueLayout::k16,
          {{Key("c", "c_total", {}), 9}});
  env.open_fail_suffix = "counter_9.db";
  env.open_errno = EMFILE;
  CHECK(View(&c, &stats) == good);
  CHECK(stats.bad_files_by_reason.count("io_error") == 1);
}

TEST_CASE("series that are not valid UTF-8 are left out alone, reported "
          "once, and the scrape stays valid UTF-8") {
  TempDir dir;
  // Python writes a lone surrogate as the escape \udc80 (json.dumps).
  std::string bad_key = Key("c", "c_total", {{"path", "SURROGATE"}});
  bad_key.replace(bad_key.find("SURROGATE"), 9, "\\udc80");
  WriteDb(dir.File("counter_1.db"), ValueLayout::k16,
          {{Key("c", "c_total", {{"path", "/ok"}}), 1}, {bad_key, 2}});
  WriteDb(dir.File("gauge_all_7.db"), ValueLayout::k16,
          {{Key("g", "g", {}), 3}});
  WriteDb(dir.File("gauge_all_\xff\xfe.db"), ValueLayout::k16,
          {{Key("g", "g", {}), 4}});
  CollectorOptions o;
  o.directory = dir.path();
  DirectoryCollector c(o);
  for (int i = 0; i < 2; ++i) {
    ScrapeStats stats;
    std::string body;
    REQUIRE(c.Render(ExpositionFormat::kText004, &body, &stats).ok());
    CHECK(IsStrictUtf8(body));
    CHECK(body.find("c_total{path=\"/ok\"} 1") != std::string::npos);
    CHECK(body.find("g{pid=\"7\"} 3") != std::string::npos);
    CHECK(body.find(" 4") == std::string::npos);
    CHECK(stats.invalid_series == 2);
    CHECK(stats.bad_files_by_reason.empty());
    if (i == 0) {
      REQUIRE(stats.new_invalid_series.size() == 2);
      CHECK(stats.new_invalid_series[0].find("\\xed\\xb2\\x80") !=
            std::string::npos);
    } else {
      CHECK(stats.new_invalid_series.empty());
    }
  }
}

}  // namespace
}  // namespace promdir
