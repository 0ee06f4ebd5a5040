#include "lib/src/reader/dir_guard.h"

#include <fcntl.h>

#include "lib/src/env.h"

namespace promdir {

ReadGuard::ReadGuard(Env* env, const std::string& dir) : env_(env) {
  int fd = -1;
  if (!env_->Open(dir + "/" + kDirLockName, O_RDWR | O_CREAT, 0644, &fd).ok() &&
      !env_->Open(dir + "/" + kDirLockName, O_RDONLY, 0, &fd).ok()) {
    return;
  }
  if (!env_->Lock(fd, /*exclusive=*/false, /*wait=*/true).ok()) {
    env_->Close(fd);
    return;
  }
  fd_ = fd;
}

ReadGuard::~ReadGuard() {
  if (fd_ >= 0) env_->Close(fd_);  // closing the description drops the lock
}

Status HiddenByCompaction(Env* env, const std::string& dir,
                          const std::vector<std::string>& names,
                          std::set<std::string>* hidden) {
  // The compaction journal is written by lib/src/maintenance; until a
  // compaction has run there is none and nothing is hidden.
  (void)env;
  (void)dir;
  (void)names;
  hidden->clear();
  return Status::OK();
}

}  // namespace promdir
