#include "promdir/liveness.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/src/env.h"
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

TEST_CASE("a Python writer's file is live iff its pid exists") {
  test::TempDir dir;
  std::string path = dir.File("counter_1.db");
  test::WriteFile(path, test::FileBuilder().Build());  // no magic, no lock
  int fd = OpenRead(path);
  std::string me = std::to_string(::getpid());
  for (LivenessMode mode : {LivenessMode::kAuto, LivenessMode::kPid}) {
    CHECK(ProbeWriter(Env::Default(), fd, me, mode).state == WriterState::kLive);
    CHECK(ProbeWriter(Env::Default(), fd, "4194999", mode).state ==
          WriterState::kDead);
  }
  CHECK(ProbeWriter(Env::Default(), fd, "archive", LivenessMode::kPid).state ==
        WriterState::kUnknown);
  CHECK(ProbeWriter(Env::Default(), fd, "archive", LivenessMode::kAuto).state ==
        WriterState::kDead);
  CHECK(ProbeWriter(Env::Default(), fd, me, LivenessMode::kLock).state ==
        WriterState::kDead);
  Env::Default()->Close(fd);
  CHECK(WriterStateName(WriterState::kLive) == "live");
  LivenessMode m;
  CHECK(ParseLivenessMode("pid", &m));
  CHECK(m == LivenessMode::kPid);
  CHECK_FALSE(ParseLivenessMode("bogus", &m));
}

}  // namespace
}  // namespace promdir
