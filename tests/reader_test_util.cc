#include "tests/reader_test_util.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

#include "lib/src/env.h"

namespace promdir::test {

std::string CopyFixture(const std::string& name, const TempDir& tmp) {
  int rc = -1;
  RunCommand("cp -a '" + std::string(PROMDIR_FIXTURES_DIR) + "/" + name +
                 "/dir' '" + tmp.File(name) + "'",
             "", &rc);
  if (rc != 0) throw std::runtime_error("cannot copy fixture " + name);
  return tmp.File(name);
}

LockHolder::LockHolder(const std::string& path, bool lock) {
  int ready[2];
  if (::pipe(ready) != 0) throw std::runtime_error("pipe");
  pid_ = ::fork();
  if (pid_ == 0) {
    int fd = -1;
    if (!Env::Default()->Open(path, O_RDWR, 0, &fd).ok() ||
        (lock && !Env::Default()->TryLock(fd).ok())) {
      ::_exit(1);
    }
    if (!lock) {  // mapped writable, as MmapedDict maps it
      void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (p == MAP_FAILED) ::_exit(1);
    }
    char x = 'x';
    (void)!::write(ready[1], &x, 1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char x;
  bool ok = ::read(ready[0], &x, 1) == 1;
  ::close(ready[0]);
  if (!ok) {
    Kill();
    throw std::runtime_error("the lock holder failed to lock " + path);
  }
}

LockHolder::~LockHolder() { Kill(); }

void LockHolder::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

}  // namespace promdir::test
