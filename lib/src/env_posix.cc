// The POSIX Env. errno becomes a Status here and nowhere else.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "lib/src/env.h"
#include "lib/src/env_posix_internal.h"

namespace promdir {

using posix_detail::FdContext;
using posix_detail::FillInfo;
using posix_detail::LocalFileSystem;
using posix_detail::WatchDirectory;

namespace posix_detail {

std::string FdContext(const char* op, int fd) {
  // Name the file behind the descriptor, so errors say which file failed.
  char link[64];
  std::snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  char target[4096];
  ssize_t n = ::readlink(link, target, sizeof(target) - 1);
  std::string name = n > 0 ? std::string(target, n) : "fd " + std::to_string(fd);
  return std::string(op) + " " + name;
}

void FillInfo(const struct stat& st, FileInfo* info) {
  info->device = st.st_dev;
  info->inode = st.st_ino;
  info->size = static_cast<uint64_t>(st.st_size);
  info->is_regular = S_ISREG(st.st_mode);
  info->is_symlink = S_ISLNK(st.st_mode);
  info->is_directory = S_ISDIR(st.st_mode);
  info->mtime = st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
  info->links = st.st_nlink;
  info->mode = st.st_mode & 07777;
}

// File systems whose changes all pass through this kernel, so inotify sees
// every write and close: tmpfs, ext2/3/4, xfs, btrfs, zfs, f2fs, overlay.
bool LocalFileSystem(long type) {
  switch (static_cast<unsigned long>(type)) {
    case 0x01021994UL:  // tmpfs
    case 0xEF53UL:      // ext2/3/4
    case 0x58465342UL:  // xfs
    case 0x9123683EUL:  // btrfs
    case 0x2FC12FC1UL:  // zfs
    case 0xF2F52010UL:  // f2fs
    case 0x794C7630UL:  // overlayfs
      return true;
  }
  return false;
}

}  // namespace posix_detail

Env* Env::Default() {
  static Env* env = new Env();
  return env;
}

Status Env::Open(const std::string& path, int flags, int mode, int* fd) {
  int r;
  do {
    r = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Status::FromErrno("open " + path, errno);
  *fd = r;
  return Status::OK();
}

Status Env::Close(int fd) {
  if (::close(fd) != 0 && errno != EINTR) {
    return Status::FromErrno("close", errno);
  }
  return Status::OK();
}

Status Env::ReadAt(int fd, uint64_t offset, void* buf, size_t n, size_t* got) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, static_cast<char*>(buf) + done, n - done,
                        static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(FdContext("read", fd), errno);
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  *got = done;
  return Status::OK();
}

Status Env::WriteAt(int fd, uint64_t offset, const void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pwrite(fd, static_cast<const char*>(buf) + done, n - done,
                         static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(FdContext("write", fd), errno);
    }
    done += static_cast<size_t>(r);
  }
  return Status::OK();
}

Status Env::Stat(int fd, FileInfo* info) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(FdContext("stat", fd), errno);
  FillInfo(st, info);
  struct statx stx;
  info->birth_ns = 0;
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 &&
      (stx.stx_mask & STATX_BTIME) != 0) {
    info->birth_ns = static_cast<uint64_t>(stx.stx_btime.tv_sec) * 1000000000u +
                     stx.stx_btime.tv_nsec;
  }
  return Status::OK();
}

Status Env::LinkStat(const std::string& path, FileInfo* info) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return Status::FromErrno("stat " + path, errno);
  }
  FillInfo(st, info);
  return Status::OK();
}

Status Env::Allocate(int fd, uint64_t size) {
  int err = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
  if (err != 0) return Status::FromErrno(FdContext("allocate", fd), err);
  return Status::OK();
}

Status Env::Truncate(int fd, uint64_t size) {
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return Status::FromErrno(FdContext("truncate", fd), errno);
  }
  return Status::OK();
}

Status Env::Sync(int fd) {
  if (::fdatasync(fd) != 0) return Status::FromErrno(FdContext("sync", fd), errno);
  return Status::OK();
}

Status Env::Map(int fd, size_t length, void* at, void** addr) {
  int flags = MAP_SHARED | (at ? MAP_FIXED : 0);
  void* p = ::mmap(at, length, PROT_READ | PROT_WRITE, flags, fd, 0);
  if (p == MAP_FAILED) return Status::FromErrno(FdContext("mmap", fd), errno);
  *addr = p;
  return Status::OK();
}

Status Env::MapAnonymous(size_t length, void* at, void** addr) {
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (at ? MAP_FIXED : 0);
  void* p = ::mmap(at, length, PROT_READ | PROT_WRITE, flags, -1, 0);
  if (p == MAP_FAILED) return Status::FromErrno("mmap anonymous", errno);
  *addr = p;
  return Status::OK();
}

void Env::Unmap(void* addr, size_t length) { ::munmap(addr, length); }

Status Env::TryLock(int fd) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    int err = errno;
    if (err == EAGAIN || err == EACCES) {
      return Status::Busy(FdContext("lock", fd) + ": held by another process");
    }
    return Status::FromErrno(FdContext("lock", fd), err);
  }
  return Status::OK();
}

Status Env::IsLocked(int fd, bool* locked) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;  // conflicts with any lock, read or write
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_GETLK, &fl) != 0) {
    return Status::FromErrno(FdContext("probe lock", fd), errno);
  }
  *locked = fl.l_type != F_UNLCK;
  return Status::OK();
}

namespace posix_detail {

// Watches `target` (which names `dir`'s directory) after `fs` showed it on a
// local file system. With `fallback`, a target that does not exist (no
// /proc) is watched as `fallback` instead, never through a symlink there.
Status WatchDirectory(const struct statfs& fs, const std::string& target,
                      const std::string& dir, const char* fallback,
                      int* watch) {
  *watch = -1;
  if (!LocalFileSystem(fs.f_type)) {
    char type[32];
    std::snprintf(type, sizeof type, "0x%lx", static_cast<unsigned long>(fs.f_type));
    return Status::IOError(dir + ": file system type " + type +
                                " may change without local events");
  }
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::FromErrno("inotify_init1", errno);
  uint32_t mask = IN_OPEN | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM |
                  IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_DELETE_SELF |
                  IN_MOVE_SELF | IN_ONLYDIR;
  int r = ::inotify_add_watch(fd, target.c_str(), mask);
  if (r < 0 && errno == ENOENT && fallback != nullptr) {
    r = ::inotify_add_watch(fd, fallback, mask | IN_DONT_FOLLOW);
  }
  if (r < 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno("watch " + dir, err);
  }
  *watch = fd;
  return Status::OK();
}

}  // namespace posix_detail

Status Env::OpenChangeWatch(const std::string& dir, int* watch) {
  *watch = -1;
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) != 0) {
    return Status::FromErrno("statfs " + dir, errno);
  }
  return WatchDirectory(fs, dir, dir, nullptr, watch);
}


Status Env::ReadChanges(int watch, std::vector<Change>* changes,
                        bool* everything) {
  *everything = false;
  alignas(struct inotify_event) char buf[16384];
  for (;;) {
    ssize_t n = ::read(watch, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return Status::OK();
      return Status::FromErrno("read change watch", errno);
    }
    if (n == 0) return Status::OK();
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF |
                      IN_IGNORED | IN_UNMOUNT)) {
        *everything = true;
      } else if (ev->len > 0) {
        Change c;
        c.name = ev->name;  // NUL-padded
        c.open_only = (ev->mask & ~(IN_OPEN | IN_ISDIR)) == 0;
        changes->push_back(std::move(c));
      }
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
}

void Env::CloseChangeWatch(int watch) {
  if (watch >= 0) ::close(watch);
}

Status Env::WritersOpen(int fd, bool* open) {
  // The lease-break signal goes to this process: make it one that is
  // ignored by default rather than SIGIO, which would terminate it.
  if (::fcntl(fd, F_SETSIG, SIGURG) != 0) {
    return Status::FromErrno(FdContext("set lease signal", fd), errno);
  }
  if (::fcntl(fd, F_SETLEASE, F_RDLCK) != 0) {
    int err = errno;
    if (err == EAGAIN || err == EBUSY) {
      *open = true;
      return Status::OK();
    }
    return Status::FromErrno(FdContext("lease", fd), err);
  }
  ::fcntl(fd, F_SETLEASE, F_UNLCK);
  *open = false;
  return Status::OK();
}

Status Env::Lock(int fd, bool exclusive, bool wait) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = exclusive ? F_WRLCK : F_RDLCK;
  fl.l_whence = SEEK_SET;
  while (::fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl) != 0) {
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EACCES) {
      return Status::Busy(FdContext("lock", fd) + ": held by another process");
    }
    return Status::FromErrno(FdContext("lock", fd), err);
  }
  return Status::OK();
}

Status Env::Unlock(int fd) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_UNLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_SETLK, &fl) != 0) {
    return Status::FromErrno(FdContext("unlock", fd), errno);
  }
  return Status::OK();
}

int Env::GetPid() { return static_cast<int>(::getpid()); }

bool Env::PidExists(int pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) == 0) return true;
  return errno == EPERM;
}

double Env::NowUnixSeconds() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

uint64_t Env::NowMonotonicNanos() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(ts.tv_nsec);
}

Status Env::ListDir(const std::string& dir, std::vector<std::string>* names) {
  names->clear();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("list " + dir, errno);
  return posix_detail::ListOpened(fd, dir, names);
}

Status Env::Rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno("rename " + from + " to " + to, errno);
  }
  return Status::OK();
}

Status Env::RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
    return Status::OK();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // No RENAME_NOREPLACE here: link() refuses an existing name too.
    if (::link(from.c_str(), to.c_str()) != 0) {
      return Status::FromErrno("rename " + from + " to " + to, errno);
    }
    ::unlink(from.c_str());
    return Status::OK();
  }
  return Status::FromErrno("rename " + from + " to " + to, err);
}

Status Env::Unlink(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return Status::FromErrno("delete " + path, errno);
  return Status::OK();
}

Status Env::SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open directory " + dir, errno);
  int r = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (r != 0) return Status::FromErrno("sync directory " + dir, err);
  return Status::OK();
}

Status Env::CreateDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("create directory " + dir, errno);
  }
  return Status::OK();
}

Status Env::CheckWritableDir(const std::string& dir) {
  if (dir.empty()) {
    return Status::InvalidArgument(
        "no metrics directory: set PROMETHEUS_MULTIPROC_DIR or pass one");
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    return Status::FromErrno("metrics directory " + dir, errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument("metrics directory " + dir +
                                   " is not a directory");
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return Status::FromErrno("metrics directory " + dir + " is not writable", errno);
  }
  return Status::OK();
}

}  // namespace promdir
