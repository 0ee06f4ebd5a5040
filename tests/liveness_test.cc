#include "promdir/liveness.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/src/env.h"
#include "tests/fault_env.h"
#include "tests/reader_file_builder.h"
#include "tests/reader_test_util.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

int OpenRead(const std::string& path) {
  int fd = -1;
  REQUIRE(Env::Default()->Open(path, O_RDONLY, 0, &fd).ok());
  return fd;
}

TEST_CASE("a forked writer holding the lock is live until SIGKILL") {
  test::TempDir dir;
  std::string path = dir.File("counter_w1.db");
  test::WriteFile(path, test::FileBuilder().Magic().Build());
  test::LockHolder writer(path);
  int fd = OpenRead(path);
  for (LivenessMode mode : {LivenessMode::kAuto, LivenessMode::kLock}) {
    Verdict v = ProbeWriter(Env::Default(), fd, "w1", mode);
    CHECK(v.state == WriterState::kLive);
    CHECK(v.locked);
  }
  writer.Kill();
  Verdict v = ProbeWriter(Env::Default(), fd, "w1", LivenessMode::kAuto);
  CHECK(v.state == WriterState::kDead);
  CHECK_FALSE(v.locked);
  // A promdir file is not trusted by pid in kAuto: our own pid exists, yet
  // the lock is gone, so the writer is dead.
  v = ProbeWriter(Env::Default(), fd, std::to_string(::getpid()),
                  LivenessMode::kAuto);
  CHECK(v.state == WriterState::kDead);
  CHECK(ProbeWriter(Env::Default(), fd, "w1", LivenessMode::kLock).state ==
        WriterState::kDead);
  CHECK(ProbeWriter(Env::Default(), fd, "w1", LivenessMode::kNone).state ==
        WriterState::kLive);
  Env::Default()->Close(fd);
}

TEST_CASE("kPid: a Python writer's file is live iff its pid exists") {
  test::TempDir dir;
  std::string path = dir.File("counter_1.db");
  test::WriteFile(path, test::FileBuilder().Build());  // no magic, no lock
  int fd = OpenRead(path);
  std::string me = std::to_string(::getpid());
  CHECK(ProbeWriter(Env::Default(), fd, me, LivenessMode::kPid).state ==
        WriterState::kLive);
  CHECK(ProbeWriter(Env::Default(), fd, "4194999", LivenessMode::kPid).state ==
        WriterState::kDead);
  CHECK(ProbeWriter(Env::Default(), fd, "archive", LivenessMode::kPid).state ==
        WriterState::kUnknown);
  CHECK(ProbeWriter(Env::Default(), fd, me, LivenessMode::kLock).state ==
        WriterState::kDead);
  Env::Default()->Close(fd);
  CHECK(WriterStateName(WriterState::kLive) == "live");
  LivenessMode m;
  CHECK(ParseLivenessMode("pid", &m));
  CHECK(m == LivenessMode::kPid);
  CHECK_FALSE(ParseLivenessMode("bogus", &m));
}

TEST_CASE("kAuto: a file open for writing is live whatever its id, and dead "
          "once every writer is gone") {
  test::TempDir dir;
  std::string path = dir.File("counter_3.db");
  test::WriteFile(path, test::FileBuilder().Build());  // Python's: no lock
  // Ids of every kind: a uWSGI worker id, a string, a pid that does not
  // exist here (another pid namespace), our own pid.
  const std::string ids[] = {"3", "web-a", "4194999",
                             std::to_string(::getpid())};
  int fd = OpenRead(path);
  {
    test::OpenHolder writer(path);  // MmapedDict: open for writing, mapped
    for (const std::string& id : ids) {
      Verdict v = ProbeWriter(Env::Default(), fd, id, LivenessMode::kAuto);
      CHECK_MESSAGE(v.state == WriterState::kLive, id);
      CHECK_FALSE(v.locked);
    }
    writer.Kill();
  }
  for (const std::string& id : ids) {
    Verdict v = ProbeWriter(Env::Default(), fd, id, LivenessMode::kAuto);
    // Pid reuse: our own pid is alive, yet nobody writes the file.
    CHECK_MESSAGE(v.state == WriterState::kDead, id);
  }
  Env::Default()->Close(fd);
}

TEST_CASE("kAuto: readers never make a file look live") {
  test::TempDir dir;
  std::string path = dir.File("gauge_livesum_7.db");
  test::WriteFile(path, test::FileBuilder().Build());
  int fd = OpenRead(path);
  int more = OpenRead(path);  // another reader in this process
  pid_t child = ::fork();      // and one in another
  if (child == 0) {
    int r = ::open(path.c_str(), O_RDONLY);
    (void)r;
    ::pause();
    ::_exit(0);
  }
  ::usleep(50000);
  CHECK(ProbeWriter(Env::Default(), fd, "7", LivenessMode::kAuto).state ==
        WriterState::kDead);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  Env::Default()->Close(more);
  Env::Default()->Close(fd);
}

TEST_CASE("kAuto: where leases are refused, a lockless file is unknown and "
          "says why; a promdir writer's file still answers by its lock") {
  test::TempDir dir;
  test::FaultEnv env;
  env.lease_errno = EACCES;  // another user's file, no CAP_LEASE
  std::string path = dir.File("counter_3.db");
  test::WriteFile(path, test::FileBuilder().Build());
  int fd = OpenRead(path);
  Verdict v = ProbeWriter(&env, fd, "3", LivenessMode::kAuto);
  CHECK(v.state == WriterState::kUnknown);
  CHECK(v.kernel_unavailable);
  CHECK(v.how.find("Permission denied") != std::string::npos);
  Env::Default()->Close(fd);

  std::string mine = dir.File("counter_w1.db");
  test::WriteFile(mine, test::FileBuilder().Magic().Build());
  fd = OpenRead(mine);
  {
    test::LockHolder writer(mine);
    CHECK(ProbeWriter(&env, fd, "w1", LivenessMode::kAuto).state ==
          WriterState::kLive);
  }
  v = ProbeWriter(&env, fd, "w1", LivenessMode::kAuto);
  CHECK(v.state == WriterState::kDead);
  CHECK_FALSE(v.kernel_unavailable);
  Env::Default()->Close(fd);
}

}  // namespace
}  // namespace promdir
