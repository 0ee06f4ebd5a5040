#include "lib/src/file_lock.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "lib/src/env.h"

namespace promdir {

Status OpenLockFile(Env* env, const std::string& path, int* fd) {
  // Never through a symlink (O_NOFOLLOW), never blocking on a FIFO planted
  // under the name (O_NONBLOCK), and only a regular file is used.
  const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  Status s = env->Open(path, O_RDWR | O_CREAT | O_EXCL | flags, 0666, fd);
  bool created = s.ok();
  if (!s.ok() && s.os_error() == EEXIST) {
    s = env->Open(path, O_RDWR | flags, 0, fd);
  }
  if (!s.ok()) {
    Status r = env->Open(path, O_RDONLY | flags, 0, fd);
    if (!r.ok()) return s;
  }
  FileInfo info;
  s = env->Stat(*fd, &info);
  if (s.ok() && !info.is_regular) {
    s = Status::InvalidArgument(path + ": not a regular file; not used");
  }
  // Mode 0666 whatever the umask (docs/FORMAT.md 6.4): a lock file holds no
  // data, the directory's mode decides who reaches it, and one a root
  // collector made must still take the exclusive lock of the application's
  // user (which needs it open for writing). An older file is widened only
  // if it has one name: never a hard link planted to another file.
  if (s.ok() && (info.mode & 0666) != 0666 && (created || info.links == 1)) {
    env->Chmod(*fd, 0666);  // fails harmlessly if it is not ours
  }
  if (!s.ok()) {
    env->Close(*fd);
    *fd = -1;
  }
  return s;
}

Status LockWithin(Env* env, int fd, bool exclusive, int timeout_ms) {
  if (timeout_ms < 0) return env->Lock(fd, exclusive, /*wait=*/true);
  const uint64_t deadline =
      env->NowMonotonicNanos() + static_cast<uint64_t>(timeout_ms) * 1000000;
  int pause_us = 200;
  while (true) {
    Status s = env->Lock(fd, exclusive, /*wait=*/false);
    if (!s.IsBusy()) return s;
    if (env->NowMonotonicNanos() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    pause_us = std::min(pause_us * 2, 20000);
  }
}

Status FileLock::Acquire(const std::string& path, bool exclusive,
                         int timeout_ms, const std::string& what) {
  Release();
  int fd = -1;
  Status s = OpenLockFile(env_, path, &fd);
  if (!s.ok()) return s;
  s = LockWithin(env_, fd, exclusive, timeout_ms);
  if (!s.ok()) {
    env_->Close(fd);
    if (s.IsBusy()) {
      return Status::Busy(
          what + " (" + path + " is locked" +
          (timeout_ms > 0
               ? " for more than " + std::to_string(timeout_ms / 1000) + " s"
               : "") +
          ")");
    }
    return s;
  }
  fd_ = fd;
  return Status::OK();
}

void FileLock::Release() {
  if (fd_ >= 0) env_->Close(fd_);  // closing the description drops the lock
  fd_ = -1;
}

}  // namespace promdir
