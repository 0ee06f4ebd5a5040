// The directory as a hostile place: planted symlinks and FIFOs under
// promdir's names, a journal naming files elsewhere, *.db-looking junk for
// wipe, a lock held by another process forever, the directory swapped for
// a symlink in the middle of a command, writers' stale temporary files, and
// lock files another user must be able to lock.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "lib/src/dir_names.h"
#include "lib/src/env.h"
#include "lib/src/file_lock.h"
#include "lib/src/reader/dir_guard.h"
#include "promdir/builder.h"
#include "promdir/counter.h"
#include "promdir/directory_env.h"
#include "promdir/gauge.h"
#include "promdir/maintenance.h"
#include "promdir/reader.h"
#include "promdir/registry.h"
#include "tests/compact_util.h"

namespace promdir {
namespace {

using test::Key;
using test::Options;
using test::TempDir;
namespace fs = std::filesystem;

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

// Everything under `dir`: name -> contents (a symlink: "-> target").
std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    out[name] = fs::is_symlink(e.symlink_status())
                    ? "-> " + fs::read_symlink(e.path()).string()
                    : test::ReadFile(e.path().string());
  }
  return out;
}

// Swaps the directory for a symlink to `victim` right after the command's
// first listing: every later operation of the command would land in the
// victim if it went by path.
class SwapAfterListing : public EnvWrapper {
 public:
  SwapAfterListing(std::string dir, std::string victim)
      : EnvWrapper(Env::Default()), dir_(dir), victim_(victim) {}
  Status ListDirAt(int fd, const std::string& p,
                   std::vector<std::string>* n) override {
    Status s = EnvWrapper::ListDirAt(fd, p, n);
    if (!swapped) {
      swapped = true;
      fs::rename(dir_, dir_ + ".moved");
      fs::create_directory_symlink(victim_, dir_);
    }
    return s;
  }
  bool swapped = false;

 private:
  std::string dir_, victim_;
};

void DeadWriters(const std::string& dir) {
  test::WriteDb(dir + "/counter_4194400.db", ValueLayout::k16,
                {{Key("c", "c_total", {}), 3}});
  test::WriteDb(dir + "/gauge_livesum_4194400.db", ValueLayout::k16,
                {{Key("g", "g", {}), 1}});
}

TEST_CASE("prune, wipe and compact through a directory swapped for a "
          "symlink: nothing outside it is read, created or deleted") {
  for (std::string op : {"prune", "wipe", "compact"}) {
    CAPTURE(op);
    TempDir t;
    const std::string dir = t.File("m"), victim = t.File("victim");
    fs::create_directory(dir);
    fs::create_directory(victim);
    DeadWriters(dir);
    DeadWriters(victim);
    const auto before = Snapshot(victim);
    SwapAfterListing env(dir, victim);
    MaintenanceOptions o = Options(dir);
    o.env = &env;
    MaintenanceResult r;
    Status s = op == "prune" ? Prune(o, &r)
               : op == "wipe" ? Wipe(o, false, &r)
                              : Compact(o, &r);
    CHECK(s.ok());
    REQUIRE(env.swapped);
    CHECK(Snapshot(victim) == before);
    // The command did its work in the directory it opened.
    const auto moved = Snapshot(dir + ".moved");
    CHECK(!moved.count("gauge_livesum_4194400.db"));
    if (op == "wipe") CHECK(moved.empty());
    if (op == "compact") CHECK(moved.count("counter_archive.db"));
    for (const std::string& p : r.removed) {
      CHECK(p.find(dir + "/") == 0);
    }
  }
}

TEST_CASE("writers' stale temporary files: prune and compaction delete the "
          "ones the kernel proves unused, naming them; a held one stays") {
  for (bool compact : {false, true}) {
    CAPTURE(compact);
    TempDir dir;
    const std::string stale = dir.File(".counter_4194400.db.tmp-4194400");
    const std::string held = dir.File(".counter_77.db.tmp-77");
    test::WriteFile(stale, std::string(64, '\0'));  // fresh: mtime now
    test::WriteFile(held, std::string(64, '\0'));
    int writer = ::open(held.c_str(), O_RDWR);  // a writer creating it
    REQUIRE(writer >= 0);
    MaintenanceResult r;
    Status s = compact ? Compact(Options(dir.path()), &r)
                       : Prune(Options(dir.path()), &r);
    ::close(writer);
    CHECK(s.ok());
    CHECK(!fs::exists(stale));
    CHECK(fs::exists(held));
    CHECK(std::count(r.removed.begin(), r.removed.end(), stale) == 1);
    CHECK(std::count(r.removed.begin(), r.removed.end(), held) == 0);
  }
}

TEST_CASE("a writer whose pid left a stale temporary, or a symlink under "
          "its temporary's name, creates its file and nothing outside") {
  for (bool symlink : {false, true}) {
    CAPTURE(symlink);
    TempDir dir, outside;
    int go[2];
    REQUIRE(::pipe(go) == 0);
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      char c;
      ::close(go[1]);
      if (::read(go[0], &c, 1) != 1) ::_exit(2);
      try {
        promdir::Options o;
        o.directory = dir.path();
        Registry registry(o);
        BuildCounter().Name("n").Help("h").Register(registry).Add({}).Inc(5);
      } catch (...) {
        ::_exit(1);
      }
      ::_exit(0);
    }
    ::close(go[0]);
    const std::string id = std::to_string(pid);
    const std::string temp = dir.File(".counter_" + id + ".db.tmp-" + id);
    if (symlink) {
      fs::create_symlink(outside.File("target"), temp);
    } else {
      test::WriteFile(temp, "left by a writer killed while creating it");
    }
    REQUIRE(::write(go[1], "x", 1) == 1);
    ::close(go[1]);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(fs::exists(dir.File("counter_" + id + ".db")));
    CHECK(!fs::exists(temp));
    CHECK(fs::is_empty(outside.path()));
  }
}

TEST_CASE("a writer whose directory is swapped for a symlink keeps "
          "counting into the directory it opened and creates nothing "
          "through the link") {
  TempDir t;
  const std::string dir = t.File("m"), victim = t.File("victim");
  fs::create_directory(dir);
  fs::create_directory(victim);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 0;
    try {
      promdir::Options o;
      o.directory = dir;
      Registry registry(o);
      Counter c = BuildCounter().Name("n").Register(registry).Add({});
      c.Inc(2);
      fs::rename(dir, dir + ".moved");
      fs::create_directory_symlink(victim, dir);
      c.Inc(3);  // its file is open: counts on
      try {  // a new file would have to be made through the link
        BuildGauge().Name("g").Register(registry).Add({}).Set(1);
        code = 1;
      } catch (const std::runtime_error& e) {
        if (std::string(e.what()).find("is a symbolic link") ==
            std::string::npos) {
          code = 2;
        }
      }
    } catch (...) {
      code = 3;
    }
    ::_exit(code);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(fs::is_empty(victim));
  const std::string file =
      dir + ".moved/counter_" + std::to_string(pid) + ".db";
  REQUIRE(fs::exists(file));
  FileContents contents;
  REQUIRE(ReadMetricsFile(Env::Default(), file, &contents).ok());
  REQUIRE(contents.entries.size() == 1);
  CHECK(contents.entries[0].value == 5);
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

TEST_CASE("lock files are 0666 whatever the umask: one root made takes "
          "another user's exclusive lock") {
  TempDir dir;
  const std::string lock = dir.File(kDirLockName);
  int fd = -1;
  mode_t old = ::umask(077);
  Status s = OpenLockFile(Env::Default(), lock, &fd);
  ::umask(old);
  REQUIRE(s.ok());
  ::close(fd);
  CHECK(ModeOf(lock) == 0666);
  // An older 0644 lock file is widened; a hard link planted to another
  // file under a lock's name is not.
  REQUIRE(::chmod(lock.c_str(), 0644) == 0);
  REQUIRE(OpenLockFile(Env::Default(), lock, &fd).ok());
  ::close(fd);
  CHECK(ModeOf(lock) == 0666);
  const std::string other = dir.File("other-file");
  test::WriteFile(other, "x");
  REQUIRE(::chmod(other.c_str(), 0600) == 0);
  const std::string compact_lock = dir.File(maintenance::kCompactorLockName);
  REQUIRE(::link(other.c_str(), compact_lock.c_str()) == 0);
  REQUIRE(OpenLockFile(Env::Default(), compact_lock, &fd).ok());
  ::close(fd);
  CHECK(ModeOf(other) == 0600);
  if (::geteuid() != 0) return;  // the other user needs root to be made
  REQUIRE(::chmod(dir.path().c_str(), 0777) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(2);
    FileLock l(Env::Default());
    ::_exit(l.Acquire(lock, /*exclusive=*/true, /*timeout_ms=*/0, "x").ok()
                ? 0
                : 1);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
}

}  // namespace
}  // namespace promdir
