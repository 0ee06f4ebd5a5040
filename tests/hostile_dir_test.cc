// The directory as a hostile place: planted symlinks and FIFOs under
// promdir's names, a journal naming files elsewhere, *.db-looking junk for
// wipe, and a lock held by another process forever.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "lib/src/env.h"
#include "lib/src/file_lock.h"
#include "lib/src/reader/dir_guard.h"
#include "promdir/maintenance.h"
#include "tests/compact_util.h"

namespace promdir {
namespace {

using test::Key;
using test::TempDir;
namespace fs = std::filesystem;

MaintenanceOptions Options(const std::string& dir) {
  MaintenanceOptions o;
  o.directory = dir;
  return o;
}

std::string Journal(const std::string& archive, const std::string& temp,
                    const std::string& source) {
  return "promdir-compact-journal 1\narchive\t" + archive + "\t1\t2\t" + temp +
         "\nsource\t" + source + "\t1\t3\nend\t1\n";
}

double ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - since)
      .count();
}

// A child process that holds an exclusive OFD lock on `path` until killed.
struct ForeignHolder {
  explicit ForeignHolder(const std::string& path) {
    int ready[2];
    REQUIRE(::pipe(ready) == 0);
    pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0644);
      struct flock fl = {};
      fl.l_type = F_WRLCK;
      fl.l_whence = SEEK_SET;
      char ok = (fd >= 0 && ::fcntl(fd, F_OFD_SETLK, &fl) == 0) ? 'y' : 'n';
      (void)!::write(ready[1], &ok, 1);
      while (true) ::pause();
    }
    ::close(ready[1]);
    char ok = 0;
    REQUIRE(::read(ready[0], &ok, 1) == 1);
    ::close(ready[0]);
    REQUIRE(ok == 'y');
  }
  ~ForeignHolder() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  pid_t pid = -1;
};

TEST_CASE("the journal accepts only plain metrics names of the directory") {
  const std::string tmp = ".promdir-compact.counter_archive.db.tmp";
  CompactionJournal j;
  CHECK(DecodeJournal(Journal("counter_archive.db", tmp, "counter_5.db"), "j",
                      &j)
            .ok());
  for (const std::string& source : std::vector<std::string>{
           "../x", "..", ".", "/etc/passwd", "counter_../../x.db", "x.db",
        "notes.txt", std::string("counter_1.db\0x", 14)}) {
    CAPTURE(source);
    Status s = DecodeJournal(Journal("counter_archive.db", tmp, source), "j", &j);
    CHECK(s.IsCorruption());
    CHECK(s.message().find("bad source record") != std::string::npos);
  }
  // The archive must be an archive, its temporary the one compaction names.
  CHECK(DecodeJournal(Journal("counter_5.db", tmp, "counter_5.db"), "j", &j)
            .IsCorruption());
  CHECK(DecodeJournal(Journal("counter_archive.db", "../x", "counter_5.db"),
                      "j", &j)
            .IsCorruption());
  CHECK(DecodeJournal(Journal("counter_archive.db",
                              ".promdir-compact.gauge_all_archive.db.tmp",
                              "counter_5.db"),
                      "j", &j)
            .IsCorruption());
}

TEST_CASE("a journal naming ../victim is refused and the victim untouched") {
  TempDir outer;
  const std::string dir = outer.File("dir");
  fs::create_directory(dir);
  test::WriteFile(outer.File("victim.db"), "precious");
  test::WriteDb(dir + "/counter_archive.db", ValueLayout::k16,
                {{Key("c", "c_total", {}), 1}});
  struct stat a, v;
  REQUIRE(::stat((dir + "/counter_archive.db").c_str(), &a) == 0);
  REQUIRE(::stat(outer.File("victim.db").c_str(), &v) == 0);
  // Device and inode match, so a journal trusted whole would delete it.
  test::WriteFile(
      dir + "/" + kJournalName,
      "promdir-compact-journal 1\narchive\tcounter_archive.db\t" +
          std::to_string(a.st_dev) + "\t" + std::to_string(a.st_ino) +
          "\t.promdir-compact.counter_archive.db.tmp\nsource\t../victim.db\t" +
          std::to_string(v.st_dev) + "\t" + std::to_string(v.st_ino) +
          "\nend\t1\n");
  MaintenanceResult r;
  Status s = Compact(Options(dir), &r);
  CHECK(s.IsCorruption());
  CHECK(s.message().find(kJournalName) != std::string::npos);
  CHECK(fs::exists(outer.File("victim.db")));
  std::set<std::string> hidden;
  CHECK(!HiddenByCompaction(Env::Default(), dir, {"counter_archive.db"},
                            &hidden)
             .ok());
  CHECK(hidden.empty());
}

TEST_CASE("wipe deletes metrics and bookkeeping names only") {
  TempDir dir;
  test::WriteDb(dir.File("counter_1.db"), ValueLayout::k16,
                {{Key("c", "c_total", {}), 1}});
  for (const char* junk : {"x.db", "notes.db", "foo_1.db", "counter_.db",
                           "gauge_1.db", "gauge_bogus_1.db", "README"}) {
    test::WriteFile(dir.File(junk), "keep");
  }
  test::WriteFile(dir.File(".promdir-compact.counter_archive.db.tmp"), "");
  MaintenanceResult r;
  REQUIRE(Wipe(Options(dir.path()), false, &r).ok());
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    left.insert(e.path().filename().string());
  }
  CHECK(left == std::set<std::string>{"x.db", "notes.db", "foo_1.db",
                                      "counter_.db", "gauge_1.db",
                                      "gauge_bogus_1.db", "README"});
}

TEST_CASE("a symlink or FIFO under a lock's name is never followed or "
          "waited on") {
  TempDir outer;
  const std::string dir = outer.File("dir");
  fs::create_directory(dir);
  const std::string target = outer.File("created-through-link");
  fs::create_symlink(target, dir + "/" + kDirLockName);
  {
    ReadGuard guard(Env::Default(), dir);
    CHECK(!guard.held());
  }
  CHECK(!fs::exists(target));
  FileLock lock(Env::Default());
  CHECK(!lock.Acquire(dir + "/" + kDirLockName, true, 0, "x").ok());
  CHECK(!fs::exists(target));
  // A dead writer's file to fold: compaction needs the readers' lock.
  test::WriteDb(dir + "/counter_999999.db", ValueLayout::k16,
                {{Key("c", "c_total", {}), 1}});
  MaintenanceResult r;
  Status s = Compact(Options(dir), &r);
  CHECK(!s.ok());
  CHECK(s.message().find(kDirLockName) != std::string::npos);
  CHECK(!fs::exists(target));
  CHECK(fs::exists(dir + "/counter_999999.db"));

  fs::remove(dir + "/" + kDirLockName);
  REQUIRE(::mkfifo((dir + "/" + kDirLockName).c_str(), 0644) == 0);
  auto t0 = std::chrono::steady_clock::now();
  {
    ReadGuard guard(Env::Default(), dir);
    CHECK(!guard.held());
  }
  CHECK(ElapsedMs(t0) < 1000);

  // The same for the journal: refused, never waited on.
  REQUIRE(::mkfifo((dir + "/" + kJournalName).c_str(), 0644) == 0);
  t0 = std::chrono::steady_clock::now();
  std::set<std::string> hidden;
  CHECK(!HiddenByCompaction(Env::Default(), dir, {"counter_1.db"}, &hidden)
             .ok());
  CompactionJournal journal;
  CHECK(ReadJournal(Env::Default(), dir, &journal).IsCorruption());
  CHECK(ElapsedMs(t0) < 1000);
}

TEST_CASE("a lock held by a foreign process bounds the wait") {
  TempDir dir;
  ForeignHolder holder(dir.File(kDirLockName));
  auto t0 = std::chrono::steady_clock::now();
  {
    ReadGuard guard(Env::Default(), dir.path(), /*timeout_ms=*/300);
    CHECK(!guard.held());
    CHECK(guard.timed_out());
  }
  double ms = ElapsedMs(t0);
  CHECK(ms >= 290);
  CHECK(ms < 1500);
  int fd = -1;
  REQUIRE(OpenLockFile(Env::Default(), dir.File(kDirLockName), &fd).ok());
  t0 = std::chrono::steady_clock::now();
  CHECK(LockWithin(Env::Default(), fd, true, 200).IsBusy());
  CHECK(ElapsedMs(t0) < 1200);
  ::close(fd);
  // The one lock class: bounded, and Busy names who waited and on what.
  FileLock lock(Env::Default());
  t0 = std::chrono::steady_clock::now();
  Status s = lock.Acquire(dir.File(kDirLockName), /*exclusive=*/true,
                          /*timeout_ms=*/1000, "readers");
  CHECK(s.IsBusy());
  CHECK(!lock.held());
  CHECK(s.message() == "readers (" + dir.File(kDirLockName) +
                           " is locked for more than 1 s)");
  CHECK(ElapsedMs(t0) >= 990);
  CHECK(ElapsedMs(t0) < 2500);
  s = lock.Acquire(dir.File(kDirLockName), true, 0, "a compaction");
  CHECK(s.message() == "a compaction (" + dir.File(kDirLockName) +
                           " is locked)");
}

TEST_CASE("a FileLock is held until released, and conflicts in-process") {
  TempDir dir;
  FileLock first(Env::Default());
  REQUIRE(first.Acquire(dir.File(kDirLockName), true, 0, "x").ok());
  CHECK(first.held());
  {
    ReadGuard guard(Env::Default(), dir.path(), /*timeout_ms=*/50);
    CHECK(!guard.held());
    CHECK(guard.timed_out());
  }
  FileLock second(Env::Default());
  CHECK(second.Acquire(dir.File(kDirLockName), false, 0, "y").IsBusy());
  first.Release();
  CHECK(!first.held());
  CHECK(second.Acquire(dir.File(kDirLockName), false, 0, "y").ok());
  ReadGuard guard(Env::Default(), dir.path(), /*timeout_ms=*/50);
  CHECK(guard.held());  // shared with a shared holder
}

TEST_CASE("the bound follows the Env's clock, and a free lock is taken") {
  // An Env whose monotonic clock jumps 1 s per reading: the guard gives up
  // after a few tries without sleeping through the bound.
  struct JumpingClock : EnvWrapper {
    JumpingClock() : EnvWrapper(Env::Default()) {}
    uint64_t NowMonotonicNanos() override { return now += 1000000000; }
    uint64_t now = 0;
  } env;
  TempDir dir;
  {
    ForeignHolder holder(dir.File(kDirLockName));
    auto t0 = std::chrono::steady_clock::now();
    ReadGuard guard(&env, dir.path());
    CHECK(guard.timed_out());
    CHECK(ElapsedMs(t0) < 500);
  }
  ReadGuard guard(&env, dir.path());
  CHECK(guard.held());
  CHECK(!guard.timed_out());
}

}  // namespace
}  // namespace promdir
