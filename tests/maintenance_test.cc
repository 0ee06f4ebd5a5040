// Prune, MarkDead, Wipe and the compaction journal that readers consult.
#include "promdir/maintenance.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "doctest/doctest.h"
#include "lib/src/env.h"
#include "lib/src/reader/dir_guard.h"
#include "promdir/builder.h"
#include "promdir/counter.h"
#include "promdir/registry.h"
#include "tests/compact_util.h"
#include "tests/fault_env.h"

namespace promdir {
namespace {

using test::Key;
using test::Options;
using test::TempDir;
using test::WriteDb;
namespace fs = std::filesystem;

void Gauge(const std::string& path) {
  WriteDb(path, ValueLayout::k8, {{Key("g", "g", {}), 1}});
}

// Holds `path` open for writing in this process, as a live Python worker
// holds its file (the lease probe sees any process's writers).
struct OpenForWriting {
  explicit OpenForWriting(const std::string& path)
      : fd(::open(path.c_str(), O_RDWR)) {
    REQUIRE(fd >= 0);
  }
  ~OpenForWriting() { ::close(fd); }
  uint64_t inode() const {
    struct stat st;
    ::fstat(fd, &st);
    return st.st_ino;
  }
  int fd;
};

uint64_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

int CountStaged(const std::string& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    n += e.path().filename().string().find(".compacting") != std::string::npos;
  }
  return n;
}

TEST_CASE("prune deletes only dead writers' live* gauges") {
  TempDir dir;
  Gauge(dir.File("gauge_livesum_4194400.db"));
  Gauge(dir.File("gauge_liveall_4194400.db"));
  Gauge(dir.File("gauge_sum_4194400.db"));
  Gauge(dir.File("gauge_all_4194400.db"));
  // A live worker named by a uWSGI worker id, and a dead one whose id is
  // our own (live, unrelated) pid.
  Gauge(dir.File("gauge_livesum_3.db"));
  OpenForWriting worker3(dir.File("gauge_livesum_3.db"));
  const std::string me = std::to_string(::getpid());
  Gauge(dir.File("gauge_livesum_" + me + ".db"));
  WriteDb(dir.File("counter_4194400.db"), ValueLayout::k8,
          {{Key("c", "c_total", {}), 1}});
  MaintenanceOptions o = Options(dir.path());
  o.dry_run = true;
  MaintenanceResult dry;
  REQUIRE(Prune(o, &dry).ok());
  CHECK(dry.removed.size() == 3);
  CHECK(fs::exists(dir.File("gauge_livesum_4194400.db")));
  MaintenanceResult r;
  REQUIRE(Prune(Options(dir.path()), &r).ok());
  CHECK(r.removed == dry.removed);
  CHECK(!fs::exists(dir.File("gauge_livesum_4194400.db")));
  CHECK(!fs::exists(dir.File("gauge_liveall_4194400.db")));
  CHECK(!fs::exists(dir.File("gauge_livesum_" + me + ".db")));
  CHECK(fs::exists(dir.File("gauge_sum_4194400.db")));
  CHECK(fs::exists(dir.File("gauge_all_4194400.db")));
  CHECK(fs::exists(dir.File("gauge_livesum_3.db")));
  CHECK(fs::exists(dir.File("counter_4194400.db")));
  CHECK(CountStaged(dir.path()) == 0);
  // With liveness none, nothing is dead.
  Gauge(dir.File("gauge_livesum_4194401.db"));
  o.dry_run = false;
  o.liveness = LivenessMode::kNone;
  REQUIRE(Prune(o, &r).ok());
  CHECK(fs::exists(dir.File("gauge_livesum_4194401.db")));
}

TEST_CASE("prune and mark-dead prove death again right before the delete: "
          "a writer that opens the file in between keeps it") {
  for (bool mark_dead : {false, true}) {
    CAPTURE(mark_dead);
    TempDir dir;
    const std::string path = dir.File("gauge_livesum_3.db");
    Gauge(path);
    test::FaultEnv env;
    std::unique_ptr<OpenForWriting> worker;
    // The worker (a uWSGI worker 3 restarting) opens the file after the
    // verdict, just before promdir takes it away to its staging name.
    env.before_rename_noreplace = [&](const std::string& from,
                                      const std::string&) {
      if (!worker && from == path) worker = std::make_unique<OpenForWriting>(path);
    };
    MaintenanceOptions o = Options(dir.path());
    o.env = &env;
    MaintenanceResult r;
    REQUIRE((mark_dead ? MarkDead(o, {"3"}, &r) : Prune(o, &r)).ok());
    REQUIRE(worker);
    CHECK(r.removed.empty());
    REQUIRE(r.skipped.size() == 1);
    CHECK(r.skipped[0].find("open for writing") != std::string::npos);
    // Back under its name: the very file the worker writes.
    CHECK(InodeOf(path) == worker->inode());
    CHECK(CountStaged(dir.path()) == 0);
  }
}

TEST_CASE("a writer that makes the name again after staging keeps its new "
          "file; the dead one is deleted") {
  TempDir dir;
  const std::string path = dir.File("gauge_livesum_3.db");
  Gauge(path);
  const uint64_t old_inode = InodeOf(path);
  test::FaultEnv env;
  std::unique_ptr<OpenForWriting> worker;
  env.after_rename_noreplace = [&](const std::string& from, const std::string&) {
    if (worker || from != path) return;
    WriteDb(path, ValueLayout::k8, {{Key("g", "g", {}), 42}});
    worker = std::make_unique<OpenForWriting>(path);
  };
  MaintenanceOptions o = Options(dir.path());
  o.env = &env;
  MaintenanceResult r;
  REQUIRE(Prune(o, &r).ok());
  REQUIRE(worker);
  CHECK(r.removed.size() == 1);
  CHECK(InodeOf(path) == worker->inode());
  CHECK(InodeOf(path) != old_inode);
  CHECK(CountStaged(dir.path()) == 0);
  CHECK(test::PromdirView(dir.path())["g{}"] == 42);
}

TEST_CASE("prune finishes a staged file left by a crash: deleted if dead, "
          "home if live") {
  TempDir dir;
  Gauge(dir.File("gauge_livesum_5.compacting.db"));
  Gauge(dir.File("gauge_livesum_6.compacting.db"));
  OpenForWriting worker6(dir.File("gauge_livesum_6.compacting.db"));
  MaintenanceResult r;
  REQUIRE(Prune(Options(dir.path()), &r).ok());
  CHECK(!fs::exists(dir.File("gauge_livesum_5.compacting.db")));
  CHECK(!fs::exists(dir.File("gauge_livesum_5.db")));
  CHECK(InodeOf(dir.File("gauge_livesum_6.db")) == worker6.inode());
  CHECK(CountStaged(dir.path()) == 0);
}

TEST_CASE("where leases are refused, prune deletes nothing a lockless "
          "writer may own") {
  TempDir dir;
  Gauge(dir.File("gauge_livesum_4194400.db"));
  test::FaultEnv env;
  env.lease_errno = EACCES;
  MaintenanceOptions o = Options(dir.path());
  o.env = &env;
  MaintenanceResult r;
  REQUIRE(Prune(o, &r).ok());
  CHECK(r.removed.empty());
  CHECK(fs::exists(dir.File("gauge_livesum_4194400.db")));
  MaintenanceResult c;
  REQUIRE(Compact(o, &c).ok());
  CHECK(c.folded.empty());
  CHECK(fs::exists(dir.File("gauge_livesum_4194400.db")));
}

// Sets a file's modification time `age` seconds back.
void Age(const std::string& path, int age) {
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = ::time(nullptr) - age;
  times[0].tv_nsec = times[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
}

TEST_CASE("prune deletes the temporary file of a writer killed mid-create") {
  TempDir dir;
  // A real writer, killed between creating its file and renaming it into
  // place, leaves its hidden temporary file.
  pid_t child = ::fork();
  if (child == 0) {
    test::FaultEnv env;
    env.kill_on_rename = true;
    promdir::Options o;
    o.directory = dir.path();
    o.env = &env;
    Registry registry(o);
    BuildCounter().Name("m").Register(registry).Add({}).Inc();
    ::_exit(0);
  }
  int st = 0;
  REQUIRE(::waitpid(child, &st, 0) == child);
  REQUIRE(WIFSIGNALED(st));
  REQUIRE(WTERMSIG(st) == SIGKILL);
  const std::string pid = std::to_string(child);
  const std::string stale = dir.File(".counter_" + pid + ".db.tmp-" + pid);
  REQUIRE(fs::exists(stale));
  CHECK(!fs::exists(dir.File("counter_" + pid + ".db")));
  // An old one still locked (its writer is creating it), one a writer has
  // open but not yet locked, and a file that only looks alike.
  Env* env = Env::Default();
  const std::string held = dir.File(".counter_1.db.tmp-4194400");
  test::WriteFile(held, "");
  int fd = -1;
  REQUIRE(env->Open(held, O_RDWR, 0, &fd).ok());
  REQUIRE(env->TryLock(fd).ok());
  Age(held, 3600);
  const std::string opened = dir.File(".counter_2.db.tmp-4194401");
  test::WriteFile(opened, "");
  int opened_fd = -1;
  REQUIRE(env->Open(opened, O_RDWR, 0, &opened_fd).ok());
  Age(opened, 3600);
  const std::string other = dir.File(".notes.tmp-12");
  test::WriteFile(other, "");
  Age(other, 3600);

  // Young, but the kernel proves nothing has it locked or open for
  // writing: deleted at once, named.
  MaintenanceResult r;
  MaintenanceOptions dry = Options(dir.path());
  dry.dry_run = true;
  MaintenanceResult d;
  REQUIRE(Prune(dry, &d).ok());
  CHECK(d.removed == std::vector<std::string>{stale});
  CHECK(fs::exists(stale));
  MaintenanceResult r2;
  REQUIRE(Prune(Options(dir.path()), &r2).ok());
  CHECK(r2.removed == std::vector<std::string>{stale});
  CHECK(!fs::exists(stale));
  CHECK(fs::exists(held));
  CHECK(fs::exists(opened));
  CHECK(fs::exists(other));
  CHECK(r2.skipped.size() == 2);  // held and opened, each with why
  // Wipe removes them too, but not one a writer holds unless forced.
  CHECK(Wipe(Options(dir.path()), false, &r).IsBusy());
  CHECK(fs::exists(opened));
  env->Close(fd);
  env->Close(opened_fd);
  MaintenanceResult w;
  REQUIRE(Wipe(Options(dir.path()), false, &w).ok());
  CHECK(!fs::exists(held));
  CHECK(!fs::exists(opened));
  CHECK(fs::exists(other));
}

TEST_CASE("compaction proves death again before it folds: a writer that "
          "opens a counter in between keeps every increment") {
  TempDir dir;
  const std::string c3 = dir.File("counter_3.db");
  WriteDb(c3, ValueLayout::k16, {{Key("c", "c_total", {}), 5}});
  WriteDb(dir.File("counter_4.db"), ValueLayout::k16,
          {{Key("c", "c_total", {}), 7}});
  const auto before = test::PythonView(dir.path());
  test::FaultEnv env;
  std::unique_ptr<OpenForWriting> worker;
  env.before_rename_noreplace = [&](const std::string& from,
                                    const std::string&) {
    if (!worker && from == c3) worker = std::make_unique<OpenForWriting>(c3);
  };
  MaintenanceOptions o = Options(dir.path());
  o.env = &env;
  MaintenanceResult r;
  REQUIRE(Compact(o, &r).ok());
  REQUIRE(worker);
  CHECK(r.folded.size() == 1);  // counter_4 only
  CHECK(InodeOf(c3) == worker->inode());
  CHECK(CountStaged(dir.path()) == 0);
  // Nothing lost, nothing counted twice, in either view.
  CHECK(test::DiffViews(before, test::PythonView(dir.path())) == "");
  CHECK(test::PromdirView(dir.path())["c_total{}"] == 12);
}

TEST_CASE("mark-dead is mark_process_dead for each id") {
  TempDir dir;
  Gauge(dir.File("gauge_livesum_17.db"));
  Gauge(dir.File("gauge_livemax_17.db"));
  Gauge(dir.File("gauge_sum_17.db"));
  Gauge(dir.File("gauge_livesum_18.db"));
  Gauge(dir.File("gauge_livesum_19.db"));
  MaintenanceResult r;
  REQUIRE(MarkDead(Options(dir.path()), {"17", "18"}, &r).ok());
  CHECK(r.removed.size() == 3);
  CHECK(!fs::exists(dir.File("gauge_livemax_17.db")));
  CHECK(fs::exists(dir.File("gauge_sum_17.db")));
  CHECK(fs::exists(dir.File("gauge_livesum_19.db")));
  CHECK(MarkDead(Options(dir.path()), {"../x"}, &r).IsInvalidArgument());
  CHECK(MarkDead(Options(dir.path() + "/nope"), {"1"}, &r).code() !=
        Status::Code::kOk);
}

TEST_CASE("wipe refuses while a promdir writer holds a file - unless forced") {
  TempDir dir;
  Gauge(dir.File("counter_1.db"));
  Gauge(dir.File("gauge_all_2.db"));
  test::WriteFile(dir.File("notes.txt"), "keep");
  test::WriteFile(dir.File(".promdir.lock"), "");
  fs::create_directory(dir.File("sub.db"));
  Env* env = Env::Default();
  int fd = -1;
  REQUIRE(env->Open(dir.File("counter_1.db"), O_RDWR, 0, &fd).ok());
  REQUIRE(env->TryLock(fd).ok());
  MaintenanceResult r;
  Status s = Wipe(Options(dir.path()), false, &r);
  CHECK(s.IsBusy());
  CHECK(s.message().find("counter_1.db") != std::string::npos);
  CHECK(fs::exists(dir.File("gauge_all_2.db")));
  REQUIRE(Wipe(Options(dir.path()), true, &r).ok());
  CHECK(!fs::exists(dir.File("counter_1.db")));
  CHECK(!fs::exists(dir.File("gauge_all_2.db")));
  CHECK(!fs::exists(dir.File(".promdir.lock")));
  CHECK(fs::exists(dir.File("notes.txt")));
  CHECK(fs::exists(dir.File("sub.db")));
  env->Close(fd);
}

TEST_CASE("journal round-trips and rejects a torn or foreign file") {
  CompactionJournal j;
  JournalArchive a;
  a.archive = {"counter_archive.db", 1, 2};
  a.temp_name = ".promdir-compact.counter_archive.db.tmp";
  a.sources = {{"counter_5.compacting.db", 1, 3},
               {"counter_archive8.db", 1, 4}};
  j.archives = {a, a};
  std::string text = EncodeJournal(j);
  CompactionJournal back;
  REQUIRE(DecodeJournal(text, "j", &back).ok());
  REQUIRE(back.archives.size() == 2);
  CHECK(back.archives[1].sources[1].name == "counter_archive8.db");
  CHECK(back.archives[0].archive.inode == 2);
  for (size_t cut = 0; cut < text.size(); ++cut) {
    CAPTURE(cut);
    CHECK(DecodeJournal(text.substr(0, cut), "j", &back).IsCorruption());
  }
  CHECK(DecodeJournal("hello\n", "j", &back).IsCorruption());
}

TEST_CASE("readers hide the sources of a committed archive - and only those") {
  TempDir dir;
  Env* env = Env::Default();
  std::set<std::string> hidden;
  // No journal: nothing hidden.
  REQUIRE(HiddenByCompaction(env, dir.path(), {"counter_1.db"}, &hidden).ok());
  CHECK(hidden.empty());

  Gauge(dir.File("counter_1.compacting.db"));
  Gauge(dir.File("counter_2.compacting.db"));
  Gauge(dir.File(".promdir-compact.counter_archive8.db.tmp"));
  FileInfo s1, s2, tmp;
  REQUIRE(env->LinkStat(dir.File("counter_1.compacting.db"), &s1).ok());
  REQUIRE(env->LinkStat(dir.File("counter_2.compacting.db"), &s2).ok());
  REQUIRE(
      env->LinkStat(dir.File(".promdir-compact.counter_archive8.db.tmp"), &tmp)
          .ok());
  CompactionJournal j;
  JournalArchive a;
  a.archive = {"counter_archive8.db", tmp.device, tmp.inode};
  a.temp_name = ".promdir-compact.counter_archive8.db.tmp";
  a.sources = {{"counter_1.compacting.db", s1.device, s1.inode},
               {"counter_2.compacting.db", s2.device, s2.inode}};
  j.archives = {a};
  test::WriteFile(dir.File(kJournalName), EncodeJournal(j));
  const std::vector<std::string> names = {
      "counter_1.compacting.db", "counter_2.compacting.db", "counter_3.db"};
  // Not committed yet: the sources are the truth.
  REQUIRE(HiddenByCompaction(env, dir.path(), names, &hidden).ok());
  CHECK(hidden.empty());
  // Committed: the archive holds them.
  fs::rename(dir.File(a.temp_name), dir.File("counter_archive8.db"));
  REQUIRE(HiddenByCompaction(env, dir.path(), names, &hidden).ok());
  CHECK(hidden == std::set<std::string>{"counter_1.compacting.db",
                                        "counter_2.compacting.db"});
  // A file that only has a source's name is not hidden.
  Gauge(dir.File("new"));  // a new inode while the old one still exists
  fs::rename(dir.File("new"), dir.File("counter_2.compacting.db"));
  REQUIRE(HiddenByCompaction(env, dir.path(), names, &hidden).ok());
  CHECK(hidden == std::set<std::string>{"counter_1.compacting.db"});
}

}  // namespace
}  // namespace promdir
