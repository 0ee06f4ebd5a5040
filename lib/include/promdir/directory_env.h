// DirectoryEnv: an Env bound to one multiprocess directory, so that a
// directory others can write cannot redirect promdir's file operations.
//
// It opens the directory once (O_DIRECTORY|O_NOFOLLOW) and maps every path
// "<dir>/<name>" given to it onto the base Env's directory-relative call
// (OpenAt, LinkStatAt, UnlinkAt, RenameAt, RenameNoReplaceAt, ListDirAt,
// SyncDirAt, OpenChangeWatchAt, CheckWritableDirAt) on that descriptor, with
// O_NOFOLLOW on every open. A path that is not the directory or a plain name
// in it (a '/' in the name, ".", "..", another directory) is refused with
// InvalidArgument and never reaches the file system. Calls that take no
// path (reads, writes, locks, clocks) go to the base Env unchanged, so a
// fault-injecting Env can sit beneath a DirectoryEnv.
//
// The configured directory itself must not be a symbolic link (its last
// component; the components above it may be): opening it fails with an
// error that says so.
//
// A directory replaced after it was opened. Revalidate() compares the
// path's lstat device and inode with the open directory's. If the path now
// names another real directory (an operator or a deployment recreated it),
// the new one is opened and used from then on, and `log` is told once. If
// the path is now a symbolic link or not a directory, the old descriptor is
// kept (nothing is read, created or deleted through the new name) and `log`
// is warned once per change. If nothing has the name (deleted, or moved
// away for a while), calls that revalidate fail with NotFound naming the
// directory, as for one never opened; the same directory back under the
// name is used again. Revalidate runs by itself at
// the start of each scrape or command (ListDir of the directory), when a
// change watch is opened, in CheckWritableDir, and before any create
// (Open with O_CREAT). A change watch opened before a re-open reports
// `everything` at its next ReadChanges, so the caller starts over.
//
// Threads: every method may be called from any thread at the same time.
// A descriptor replaced by a re-open is closed at the re-open after, so a
// call in flight on the old one finishes on it. Processes: safe to use in
// the child of fork() (Revalidate in the child never waits for a lock held
// by a parent's thread: it then keeps the directory it has).

#ifndef PROMDIR_DIRECTORY_ENV_H_
#define PROMDIR_DIRECTORY_ENV_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "promdir/env.h"

namespace promdir {

class DirectoryEnv : public EnvWrapper {
 public:
  // Receives a line about the directory (replaced, kept, re-opened).
  using LogFn = std::function<void(const std::string& line)>;

  // Binds `dir` (opened at once; if that fails, each later call tries
  // again and fails with the reason). `base` must outlive this object.
  DirectoryEnv(Env* base, std::string dir, LogFn log = nullptr);
  ~DirectoryEnv() override;
  DirectoryEnv(const DirectoryEnv&) = delete;
  DirectoryEnv& operator=(const DirectoryEnv&) = delete;

  const std::string& directory() const { return dir_; }
  // The open directory's descriptor, or -1 if it could not be opened.
  int dir_fd() const { return fd_.load(); }

  // Checks that the path still names the open directory (see above). Ok
  // while a directory is open; otherwise why it cannot be opened.
  Status Revalidate();

  // Returns `env` if it is a DirectoryEnv bound to `dir`; otherwise makes
  // one over `env` (Env::Default() if null), keeps it in *holder and
  // returns it.
  static Env* Bind(Env* env, const std::string& dir,
                   std::unique_ptr<Env>* holder);

  Status Open(const std::string& p, int f, int m, int* fd) override;
  Status LinkStat(const std::string& p, FileInfo* i) override;
  Status ListDir(const std::string& d, std::vector<std::string>* n) override;
  Status Rename(const std::string& f, const std::string& t) override;
  Status RenameNoReplace(const std::string& f, const std::string& t) override;
  Status Unlink(const std::string& p) override;
  Status SyncDir(const std::string& d) override;
  Status CheckWritableDir(const std::string& d) override;
  Status OpenChangeWatch(const std::string& d, int* w) override;
  Status ReadChanges(int w, std::vector<Change>* c, bool* e) override;
  void CloseChangeWatch(int w) override;

 private:
  enum class Kind { kDirectory, kName, kOther };
  Kind Classify(const std::string& path) const;
  // The open descriptor, trying to open the directory if none is.
  Status Current(int* fd);
  Status NotInDirectory(const std::string& path) const;
  // Runs call(directory descriptor) if `path` is of `kind`.
  template <typename Call>
  Status At(const std::string& path, Kind kind, Call call);
  void Log(const std::string& line);

  const std::string dir_;
  std::string prefix_;  // dir_ without trailing slashes
  LogFn log_;
  std::atomic<int> fd_{-1};
  std::atomic<uint64_t> generation_{0};  // re-opens so far
  std::mutex mu_;  // below; only ever try_lock'ed by Revalidate
  uint64_t device_ = 0, inode_ = 0;  // of fd_
  int retired_ = -1;  // the descriptor before the last re-open
  std::string last_log_;
  std::mutex watch_mu_;  // watches_
  std::map<int, uint64_t> watches_;  // watch -> generation it was opened in
};

}  // namespace promdir

#endif  // PROMDIR_DIRECTORY_ENV_H_
