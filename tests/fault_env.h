// Fault injection on top of the real Env, for tests of any area.
//
//   promdir::test::FaultEnv env;            // forwards to Env::Default()
//   env.fail_allocate_after = 0;            // every Allocate: ENOSPC
//   options.env = &env;
//
// Counters are atomic, so a FaultEnv may be shared by threads. After fork()
// the child has its own copy of the counters.

#ifndef PROMDIR_TESTS_FAULT_ENV_H_
#define PROMDIR_TESTS_FAULT_ENV_H_

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <functional>
#include <string>

#include "lib/src/env.h"

namespace promdir::test {

class FaultEnv : public EnvWrapper {
 public:
  FaultEnv() : EnvWrapper(Env::Default()) {}

  // Allocate fails with ENOSPC once this many calls have succeeded
  // (-1: never). Allocate calls so far are counted in allocate_calls.
  std::atomic<int> fail_allocate_after{-1};
  std::atomic<int> allocate_calls{0};
  // Allocate fails with ENOSPC for any size above this (0: no limit), like
  // a disk with that much free space per file.
  std::atomic<uint64_t> max_file_size{0};
  // Map fails with ENOMEM when set.
  std::atomic<bool> fail_map{false};
  // TryLock reports Busy when set (as if a live process held every file).
  std::atomic<bool> lock_busy{false};
  // GetPid returns this instead when non-zero.
  std::atomic<int> fake_pid{0};
  // RenameNoReplace kills the process with SIGKILL when set: a writer
  // killed between creating a file and renaming it into place.
  std::atomic<bool> kill_on_rename{false};
  // Runs right before / right after each RenameNoReplace (staging a file,
  // or putting it back): a writer that opens the file in that window.
  // Not thread-safe to set while the Env is in use.
  std::function<void(const std::string& from, const std::string& to)>
      before_rename_noreplace;
  std::function<void(const std::string& from, const std::string& to)>
      after_rename_noreplace;
  // WritersOpen fails with this errno when non-zero (leases unavailable:
  // EACCES for another user's file, EINVAL on NFS).
  std::atomic<int> lease_errno{0};
  // Open fails with open_errno for paths ending in open_fail_suffix (when
  // both are set): EMFILE, EIO... in the middle of a scrape.
  std::atomic<int> open_errno{0};
  std::string open_fail_suffix;
  // Stat reports this inode number for every file when non-zero, and a
  // birth time of 0 when forget_birth is set: a file system that reuses
  // inode numbers at once, or one that records no birth time.
  std::atomic<uint64_t> fake_inode{0};
  std::atomic<bool> forget_birth{false};

  Status Allocate(int fd, uint64_t size) override {
    int n = allocate_calls.fetch_add(1);
    int limit = fail_allocate_after.load();
    uint64_t max = max_file_size.load();
    if ((limit >= 0 && n >= limit) || (max != 0 && size > max)) {
      return Status::FromErrno("allocate fd " + std::to_string(fd), ENOSPC);
    }
    return EnvWrapper::Allocate(fd, size);
  }
  Status Map(int fd, size_t length, void* at, void** addr) override {
    if (fail_map.load()) return Status::FromErrno("mmap", ENOMEM);
    return EnvWrapper::Map(fd, length, at, addr);
  }
  Status TryLock(int fd) override {
    if (lock_busy.load()) return Status::Busy("lock: held by another process");
    return EnvWrapper::TryLock(fd);
  }
  // Path calls and the directory-relative ones a DirectoryEnv makes (the
  // library binds every Env to its directory) break alike; the paths seen
  // are "<dir>/<name>" either way.
  Status RenameNoReplace(const std::string& from,
                         const std::string& to) override {
    return Renaming(from, to, [&] {
      return EnvWrapper::RenameNoReplace(from, to);
    });
  }
  Status RenameNoReplaceAt(int d, const std::string& from,
                           const std::string& to) override {
    return Renaming(from, to, [&] {
      return EnvWrapper::RenameNoReplaceAt(d, from, to);
    });
  }
  Status WritersOpen(int fd, bool* open) override {
    if (int e = lease_errno.load()) return Status::FromErrno("lease", e);
    return EnvWrapper::WritersOpen(fd, open);
  }
  Status Open(const std::string& path, int flags, int mode, int* fd) override {
    if (Status f = OpenFault(path); !f.ok()) return f;
    return EnvWrapper::Open(path, flags, mode, fd);
  }
  Status OpenAt(int d, const std::string& path, int flags, int mode,
                int* fd) override {
    if (Status f = OpenFault(path); !f.ok()) return f;
    return EnvWrapper::OpenAt(d, path, flags, mode, fd);
  }
  Status Stat(int fd, FileInfo* info) override {
    Status s = EnvWrapper::Stat(fd, info);
    if (uint64_t ino = fake_inode.load()) info->inode = ino;
    if (forget_birth.load()) info->birth_ns = 0;
    return s;
  }
  int GetPid() override {
    int p = fake_pid.load();
    return p != 0 ? p : EnvWrapper::GetPid();
  }

 private:
  Status Renaming(const std::string& from, const std::string& to,
                  const std::function<Status()>& rename) {
    if (kill_on_rename.load()) ::kill(::getpid(), SIGKILL);
    if (before_rename_noreplace) before_rename_noreplace(from, to);
    Status s = rename();
    if (after_rename_noreplace) after_rename_noreplace(from, to);
    return s;
  }
  Status OpenFault(const std::string& path) {
    int e = open_errno.load();
    if (e != 0 && !open_fail_suffix.empty() && path.ends_with(open_fail_suffix)) {
      return Status::FromErrno("open " + path, e);
    }
    return Status::OK();
  }
};

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_FAULT_ENV_H_
