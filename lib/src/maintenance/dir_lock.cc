#include "lib/src/maintenance/dir_lock.h"

#include <fcntl.h>

#include "lib/src/env.h"
#include "lib/src/reader/dir_guard.h"

namespace promdir::maintenance {

Status DirLock::Acquire(const std::string& path, bool exclusive, bool wait,
                        const std::string& what) {
  Release();
  int fd = -1;
  Status s = OpenLockFile(env_, path, &fd);
  if (!s.ok()) return s;
  s = LockWithin(env_, fd, exclusive, wait ? kCommitLockTimeoutMs : 0);
  if (!s.ok()) {
    env_->Close(fd);
    if (s.IsBusy()) {
      return Status::Busy(what + " (" + path + " is locked" +
                          (wait ? " for more than " +
                                      std::to_string(kCommitLockTimeoutMs /
                                                     1000) +
                                      " s" : "") + ")");
    }
    return s;
  }
  fd_ = fd;
  return Status::OK();
}

void DirLock::Release() {
  if (fd_ >= 0) env_->Close(fd_);  // closing the description drops the lock
  fd_ = -1;
}

}  // namespace promdir::maintenance
