// DirLock: an OFD lock on one of a directory's lock files, held until the
// object dies (or Release). The kernel drops it if the process dies.
//
// Threads: one object per thread. Processes: OFD locks conflict between
// open file descriptions, so two DirLocks conflict even in one process.

#ifndef PROMDIR_LIB_SRC_MAINTENANCE_DIR_LOCK_H_
#define PROMDIR_LIB_SRC_MAINTENANCE_DIR_LOCK_H_

#include <string>

#include "promdir/status.h"

namespace promdir {

class Env;

namespace maintenance {

class DirLock {
 public:
  explicit DirLock(Env* env) : env_(env) {}
  ~DirLock() { Release(); }
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;

  // Opens (creating; never through a symlink, only a regular file) `path`
  // and locks it. Busy naming `what` if another holder conflicts, at once
  // without wait, after kCommitLockTimeoutMs with it (a stuck or hostile
  // holder never hangs the caller).
  Status Acquire(const std::string& path, bool exclusive, bool wait,
                 const std::string& what);
  void Release();

 private:
  Env* env_;
  int fd_ = -1;
};

}  // namespace maintenance
}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_MAINTENANCE_DIR_LOCK_H_
