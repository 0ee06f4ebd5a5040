// Env: the one seam between promdir and the operating system.
//
// Every file, mapping, lock, pid probe and clock read in promdir goes through
// an Env, so tests can inject ENOSPC, a failed mmap, a dead pid or a torn
// write by overriding one method, and an application can route promdir's
// file operations through its own layer. Env::Default() is the POSIX
// implementation. To change one behaviour, derive from EnvWrapper and
// override only that call:
//
//   class SlowDisk : public promdir::EnvWrapper {
//    public:
//     SlowDisk() : EnvWrapper(promdir::Env::Default()) {}
//     promdir::Status Sync(int fd) override { ...; return target()->Sync(fd); }
//   };
//   promdir::Options options;  // or CollectorOptions, MaintenanceOptions
//   options.env = &slow_disk;  // must outlive every object given it
//
// Threads: every method may be called from any thread at the same time;
// an override must allow that too (Env::Default() is stateless). Processes:
// a writer's Registry keeps using its Env in the child after fork(), so an
// Env given to a writer must stay valid across fork() (no threads or locks
// of its own that fork() could leave held). Descriptors it returns are
// close-on-exec.
//
// Liveness locks are OFD locks (F_OFD_SETLK): they belong to the open file
// description, survive other descriptors of the file being closed, are
// shared by a descriptor inherited across fork(), and are released by the
// kernel when the last descriptor closes, including when the process dies.

#ifndef PROMDIR_ENV_H_
#define PROMDIR_ENV_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "promdir/status.h"

namespace promdir {

struct FileInfo {
  uint64_t device = 0;
  uint64_t inode = 0;
  uint64_t size = 0;
  bool is_regular = false;
  bool is_symlink = false;  // only from LinkStat
  bool is_directory = false;
  double mtime = 0;  // Unix seconds
  uint64_t links = 0;  // hard links (st_nlink)
  uint32_t mode = 0;   // permission bits (st_mode & 07777)
  // Birth time in nanoseconds since the epoch, from statx (only from Stat);
  // 0 where the file system does not record it. A file deleted and created
  // again under one name may get the old inode number (ext4 reuses them at
  // once), but never the old birth time.
  uint64_t birth_ns = 0;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never null; never destroyed.
  static Env* Default();

  // Files. Paths in error messages are the paths given.
  virtual Status Open(const std::string& path, int flags, int mode, int* fd);
  virtual Status Close(int fd);
  // Reads up to n bytes at offset; *got < n only at end of file.
  virtual Status ReadAt(int fd, uint64_t offset, void* buf, size_t n,
                        size_t* got);
  // Writes all n bytes at offset.
  virtual Status WriteAt(int fd, uint64_t offset, const void* buf, size_t n);
  virtual Status Stat(int fd, FileInfo* info);
  // Like lstat(2): does not follow a final symlink.
  virtual Status LinkStat(const std::string& path, FileInfo* info);
  // Reserves blocks so the file is at least `size` bytes (posix_fallocate).
  // A full disk gives NoSpace here instead of SIGBUS at a later store.
  virtual Status Allocate(int fd, uint64_t size);
  virtual Status Truncate(int fd, uint64_t size);
  virtual Status Sync(int fd);

  // Maps `length` bytes of fd shared and writable. The range may exceed the
  // file; only pages below the file's size may be touched. With `at`
  // non-null the mapping replaces whatever is mapped there (MAP_FIXED).
  virtual Status Map(int fd, size_t length, void* at, void** addr);
  // Maps anonymous private zero pages, optionally at `at` (MAP_FIXED).
  virtual Status MapAnonymous(size_t length, void* at, void** addr);
  virtual void Unmap(void* addr, size_t length);

  // Takes a whole-file OFD write lock without waiting. Busy if another open
  // file description holds a lock on the file.
  virtual Status TryLock(int fd);
  // Sets *locked to true iff some other open file description holds a lock
  // on any part of the file (F_OFD_GETLK).
  virtual Status IsLocked(int fd, bool* locked);
  // Takes a whole-file OFD lock, shared or exclusive. With wait, blocks until
  // it is granted; without, returns Busy if another holder conflicts.
  virtual Status Lock(int fd, bool exclusive, bool wait);
  // Releases this open file description's lock.
  virtual Status Unlock(int fd);

  // Change watches, so a reader can trust a file it read before to be
  // unchanged without reading it again. OpenChangeWatch starts reporting
  // the names of files in `dir` that are opened (by any process, this one
  // included), written to and closed, modified, changed in their
  // attributes, created, deleted or renamed (inotify). Writes through a
  // shared mapping are not reported, but the writer's open is. An error
  // where changes could go unseen: no inotify, or a network or FUSE file
  // system (writes from another machine).
  virtual Status OpenChangeWatch(const std::string& dir, int* watch);
  // Drains what `watch` queued, without blocking, appending to *changes.
  // Sets *everything when events were lost (queue overflow) or the
  // directory itself was deleted or moved; the watch is then useless and
  // the caller closes it.
  struct Change {
    std::string name;
    bool open_only = false;  // only opened (nothing written, moved...)
  };
  virtual Status ReadChanges(int watch, std::vector<Change>* changes,
                             bool* everything);
  virtual void CloseChangeWatch(int watch);
  // Sets *open to whether any process, this one included, has the file of
  // `fd` (opened read-only) open for writing or mapped writable right now.
  // It takes a read lease and releases it at once; a writer that opens the
  // file in that instant waits for the release (microseconds), and the
  // lease-break signal is SIGURG, which is ignored unless a program handles
  // it. The answer holds across pid namespaces and containers on one
  // kernel; read-only opens (readers) never count. An error, carrying its
  // errno (Status::os_error), where leases are not available: EACCES when
  // not the file's owner and without CAP_LEASE, EINVAL on a file system
  // without leases (NFS, FUSE) or with /proc/sys/fs/leases-enable at 0.
  virtual Status WritersOpen(int fd, bool* open);

  // Processes.
  virtual int GetPid();
  // True iff a process with this pid exists in our pid namespace (kill 0;
  // EPERM counts as existing).
  virtual bool PidExists(int pid);

  // Clocks.
  virtual double NowUnixSeconds();
  virtual uint64_t NowMonotonicNanos();

  // Directories. ListDir returns base names, unsorted, without . and ..
  virtual Status ListDir(const std::string& dir,
                         std::vector<std::string>* names);
  virtual Status Rename(const std::string& from, const std::string& to);
  // Like Rename, but fails (IOError "... File exists") instead of replacing
  // an existing `to` (renameat2 RENAME_NOREPLACE; link+unlink where the
  // file system lacks it).
  virtual Status RenameNoReplace(const std::string& from,
                                 const std::string& to);
  virtual Status Unlink(const std::string& path);
  virtual Status SyncDir(const std::string& dir);
  virtual Status CreateDir(const std::string& dir);
  // Ok iff dir exists, is a directory, and this process may create files
  // in it; otherwise a Status naming the directory and why.
  virtual Status CheckWritableDir(const std::string& dir);

  // Directory-relative calls, for an Env bound to one directory (see
  // promdir/directory_env.h). `dir_fd` is a descriptor from OpenDirectory;
  // `path` is "<dir>/<name>": only its last component is used, relative to
  // dir_fd, and the whole path names the file in errors. No call follows a
  // symlink under the name.
  //
  // Opens `path` as a directory, refusing a symlink (O_DIRECTORY|
  // O_NOFOLLOW): InvalidArgument saying so for a symlink or a non-directory.
  virtual Status OpenDirectory(const std::string& path, int* fd);
  // openat(2) with O_NOFOLLOW|O_CLOEXEC added to `flags`.
  virtual Status OpenAt(int dir_fd, const std::string& path, int flags,
                        int mode, int* fd);
  virtual Status LinkStatAt(int dir_fd, const std::string& path,
                            FileInfo* info);
  // Lists the directory of dir_fd (`path` names it).
  virtual Status ListDirAt(int dir_fd, const std::string& path,
                           std::vector<std::string>* names);
  virtual Status RenameAt(int dir_fd, const std::string& from,
                          const std::string& to);
  virtual Status RenameNoReplaceAt(int dir_fd, const std::string& from,
                                   const std::string& to);
  virtual Status UnlinkAt(int dir_fd, const std::string& path);
  // fsync(2) of the directory itself (`path` names it).
  virtual Status SyncDirAt(int dir_fd, const std::string& path);
  // Ok iff this process may create files in the directory of dir_fd.
  virtual Status CheckWritableDirAt(int dir_fd, const std::string& path);
  // Like OpenChangeWatch, for the directory of dir_fd itself (not whatever
  // `path` names now).
  virtual Status OpenChangeWatchAt(int dir_fd, const std::string& path,
                                   int* watch);
  // Sets the file's permission bits (fchmod), whatever the umask was.
  virtual Status Chmod(int fd, int mode);
};

// An Env that forwards every call to another; tests derive from it and
// override only the calls they break.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Status Open(const std::string& p, int f, int m, int* fd) override {
    return target_->Open(p, f, m, fd);
  }
  Status Close(int fd) override { return target_->Close(fd); }
  Status ReadAt(int fd, uint64_t o, void* b, size_t n, size_t* g) override {
    return target_->ReadAt(fd, o, b, n, g);
  }
  Status WriteAt(int fd, uint64_t o, const void* b, size_t n) override {
    return target_->WriteAt(fd, o, b, n);
  }
  Status Stat(int fd, FileInfo* i) override { return target_->Stat(fd, i); }
  Status LinkStat(const std::string& p, FileInfo* i) override {
    return target_->LinkStat(p, i);
  }
  Status Allocate(int fd, uint64_t s) override {
    return target_->Allocate(fd, s);
  }
  Status Truncate(int fd, uint64_t s) override {
    return target_->Truncate(fd, s);
  }
  Status Sync(int fd) override { return target_->Sync(fd); }
  Status Map(int fd, size_t l, void* at, void** a) override {
    return target_->Map(fd, l, at, a);
  }
  Status MapAnonymous(size_t l, void* at, void** a) override {
    return target_->MapAnonymous(l, at, a);
  }
  void Unmap(void* a, size_t l) override { target_->Unmap(a, l); }
  Status TryLock(int fd) override { return target_->TryLock(fd); }
  Status IsLocked(int fd, bool* l) override {
    return target_->IsLocked(fd, l);
  }
  Status Lock(int fd, bool e, bool w) override {
    return target_->Lock(fd, e, w);
  }
  Status Unlock(int fd) override { return target_->Unlock(fd); }
  Status OpenChangeWatch(const std::string& d, int* w) override {
    return target_->OpenChangeWatch(d, w);
  }
  Status ReadChanges(int w, std::vector<Change>* c, bool* e) override {
    return target_->ReadChanges(w, c, e);
  }
  void CloseChangeWatch(int w) override { target_->CloseChangeWatch(w); }
  Status WritersOpen(int fd, bool* o) override {
    return target_->WritersOpen(fd, o);
  }
  int GetPid() override { return target_->GetPid(); }
  bool PidExists(int pid) override { return target_->PidExists(pid); }
  double NowUnixSeconds() override { return target_->NowUnixSeconds(); }
  uint64_t NowMonotonicNanos() override {
    return target_->NowMonotonicNanos();
  }
  Status ListDir(const std::string& d, std::vector<std::string>* n) override {
    return target_->ListDir(d, n);
  }
  Status Rename(const std::string& f, const std::string& t) override {
    return target_->Rename(f, t);
  }
  Status RenameNoReplace(const std::string& f, const std::string& t) override {
    return target_->RenameNoReplace(f, t);
  }
  Status Unlink(const std::string& p) override { return target_->Unlink(p); }
  Status SyncDir(const std::string& d) override { return target_->SyncDir(d); }
  Status CreateDir(const std::string& d) override {
    return target_->CreateDir(d);
  }
  Status CheckWritableDir(const std::string& d) override {
    return target_->CheckWritableDir(d);
  }
  Status OpenDirectory(const std::string& p, int* fd) override {
    return target_->OpenDirectory(p, fd);
  }
  Status OpenAt(int d, const std::string& p, int f, int m, int* fd) override {
    return target_->OpenAt(d, p, f, m, fd);
  }
  Status LinkStatAt(int d, const std::string& p, FileInfo* i) override {
    return target_->LinkStatAt(d, p, i);
  }
  Status ListDirAt(int d, const std::string& p,
                   std::vector<std::string>* n) override {
    return target_->ListDirAt(d, p, n);
  }
  Status RenameAt(int d, const std::string& f, const std::string& t) override {
    return target_->RenameAt(d, f, t);
  }
  Status RenameNoReplaceAt(int d, const std::string& f,
                           const std::string& t) override {
    return target_->RenameNoReplaceAt(d, f, t);
  }
  Status UnlinkAt(int d, const std::string& p) override {
    return target_->UnlinkAt(d, p);
  }
  Status SyncDirAt(int d, const std::string& p) override {
    return target_->SyncDirAt(d, p);
  }
  Status CheckWritableDirAt(int d, const std::string& p) override {
    return target_->CheckWritableDirAt(d, p);
  }
  Status OpenChangeWatchAt(int d, const std::string& p, int* w) override {
    return target_->OpenChangeWatchAt(d, p, w);
  }
  Status Chmod(int fd, int m) override { return target_->Chmod(fd, m); }

 private:
  Env* target_;
};

}  // namespace promdir

#endif  // PROMDIR_ENV_H_
