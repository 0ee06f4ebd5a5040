// FileLock: an OFD lock on one of a directory's lock files (.promdir.lock,
// .promdir-compact.lock: lib/src/dir_names.h), held from Acquire until
// Release or destruction. The kernel drops it if the process dies. Every
// wait for a lock is bounded, so a stuck or hostile holder never hangs a
// reader or a compactor.
//
// Threads: one object per thread. Processes: OFD locks conflict between
// open file descriptions, so two FileLocks conflict even in one process.

#ifndef PROMDIR_LIB_SRC_FILE_LOCK_H_
#define PROMDIR_LIB_SRC_FILE_LOCK_H_

#include <string>

#include "promdir/status.h"

namespace promdir {

class Env;

// How long a reader waits for the shared lock, and a compactor or prune for
// the exclusive one, before it goes ahead without it (reader) or fails with
// Busy (writer of the directory). A compactor holds the lock for a few
// renames; anything longer is a stuck or hostile holder, and must not hang
// every scrape.
inline constexpr int kReadLockTimeoutMs = 2000;
inline constexpr int kCommitLockTimeoutMs = 10000;

// Opens (creating it mode 0666, whatever the umask) the lock file `path`: never
// through a symlink, never blocking on a FIFO, and only a regular file.
// Read-only where it cannot be opened for writing.
Status OpenLockFile(Env* env, const std::string& path, int* fd);
// Takes an OFD lock on fd, waiting at most timeout_ms (forever if < 0).
// Busy if another holder still conflicts then.
Status LockWithin(Env* env, int fd, bool exclusive, int timeout_ms);

class FileLock {
 public:
  explicit FileLock(Env* env) : env_(env) {}
  ~FileLock() { Release(); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  // Opens `path` (OpenLockFile) and locks it, waiting at most timeout_ms
  // (0: not at all). Busy if another holder still conflicts then, as
  // "<what> (<path> is locked[ for more than N s])"; the open's error if
  // the file cannot be opened or is not a regular file.
  Status Acquire(const std::string& path, bool exclusive, int timeout_ms,
                 const std::string& what);
  // Drops the lock (closing the description drops it); no-op if not held.
  void Release();
  bool held() const { return fd_ >= 0; }

 private:
  Env* env_;
  int fd_ = -1;
};

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_FILE_LOCK_H_
