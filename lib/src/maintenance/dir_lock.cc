#include "lib/src/maintenance/dir_lock.h"

#include <fcntl.h>

#include "lib/src/env.h"

namespace promdir::maintenance {

Status DirLock::Acquire(const std::string& path, bool exclusive, bool wait,
                        const std::string& what) {
  Release();
  int fd = -1;
  Status s = env_->Open(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0644, &fd);
  if (!s.ok()) return s;
  s = env_->Lock(fd, exclusive, wait);
  if (!s.ok()) {
    env_->Close(fd);
    if (s.IsBusy()) return Status::Busy(what + " (" + path + " is locked)");
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
