// The POSIX Env's directory-relative calls (promdir/directory_env.h binds
// them to one directory). errno becomes a Status here, as in env_posix.cc.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

#include "lib/src/env.h"
#include "lib/src/env_posix_internal.h"

namespace promdir {

using posix_detail::FdContext;
using posix_detail::FillInfo;
using posix_detail::WatchDirectory;

// Directory-relative calls. `path` names the file in errors; its last
// component is the name in the directory.

namespace {

std::string NameOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Status Env::OpenDirectory(const std::string& path, int* fd) {
  int r;
  do {
    r = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    struct stat st;
    // O_DIRECTORY|O_NOFOLLOW says ENOTDIR for a symlink to a directory.
    if (err == ELOOP || (err == ENOTDIR && ::lstat(path.c_str(), &st) == 0 &&
                         S_ISLNK(st.st_mode))) {
      return Status::InvalidArgument(
          "metrics directory " + path +
          " is a symbolic link; give the directory it points to");
    }
    if (err == ENOTDIR) {
      return Status::InvalidArgument("metrics directory " + path +
                                     " is not a directory");
    }
    return Status::FromErrno("metrics directory " + path, err);
  }
  *fd = r;
  return Status::OK();
}

Status Env::OpenAt(int dir_fd, const std::string& path, int flags, int mode,
                   int* fd) {
  const std::string name = NameOf(path);
  int r;
  do {
    r = ::openat(dir_fd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return Status::FromErrno("open " + path, errno);
  *fd = r;
  return Status::OK();
}

Status Env::LinkStatAt(int dir_fd, const std::string& path, FileInfo* info) {
  struct stat st;
  if (::fstatat(dir_fd, NameOf(path).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return Status::FromErrno("stat " + path, errno);
  }
  FillInfo(st, info);
  return Status::OK();
}

Status Env::ListDirAt(int dir_fd, const std::string& path,
                      std::vector<std::string>* names) {
  names->clear();
  // A description of its own: the listing offset is not shared with other
  // threads or with a forked parent.
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("list " + path, errno);
  return posix_detail::ListOpened(fd, path, names);
}

Status posix_detail::ListOpened(int fd, const std::string& path,
                                std::vector<std::string>* names) {
  DIR* d = ::fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno("list " + path, err);
  }
  while (struct dirent* e = ::readdir(d)) {
    std::string_view n(e->d_name);
    if (n == "." || n == "..") continue;
    names->emplace_back(n);
  }
  ::closedir(d);
  return Status::OK();
}

Status Env::RenameAt(int dir_fd, const std::string& from,
                     const std::string& to) {
  if (::renameat(dir_fd, NameOf(from).c_str(), dir_fd, NameOf(to).c_str()) !=
      0) {
    return Status::FromErrno("rename " + from + " to " + to, errno);
  }
  return Status::OK();
}

Status Env::RenameNoReplaceAt(int dir_fd, const std::string& from,
                              const std::string& to) {
  const std::string f = NameOf(from), t = NameOf(to);
  if (::renameat2(dir_fd, f.c_str(), dir_fd, t.c_str(), RENAME_NOREPLACE) ==
      0) {
    return Status::OK();
  }
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    // No RENAME_NOREPLACE here: linkat() refuses an existing name too.
    if (::linkat(dir_fd, f.c_str(), dir_fd, t.c_str(), 0) != 0) {
      return Status::FromErrno("rename " + from + " to " + to, errno);
    }
    ::unlinkat(dir_fd, f.c_str(), 0);
    return Status::OK();
  }
  return Status::FromErrno("rename " + from + " to " + to, err);
}

Status Env::UnlinkAt(int dir_fd, const std::string& path) {
  if (::unlinkat(dir_fd, NameOf(path).c_str(), 0) != 0) {
    return Status::FromErrno("delete " + path, errno);
  }
  return Status::OK();
}

Status Env::SyncDirAt(int dir_fd, const std::string& path) {
  if (::fsync(dir_fd) != 0) {
    return Status::FromErrno("sync directory " + path, errno);
  }
  return Status::OK();
}

Status Env::CheckWritableDirAt(int dir_fd, const std::string& path) {
  if (::faccessat(dir_fd, ".", W_OK | X_OK, 0) != 0) {
    return Status::FromErrno("metrics directory " + path + " is not writable",
                             errno);
  }
  return Status::OK();
}

Status Env::Chmod(int fd, int mode) {
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    return Status::FromErrno(FdContext("chmod", fd), errno);
  }
  return Status::OK();
}

Status Env::OpenChangeWatchAt(int dir_fd, const std::string& path,
                              int* watch) {
  *watch = -1;
  struct statfs fs;
  if (::fstatfs(dir_fd, &fs) != 0) {
    return Status::FromErrno("statfs " + path, errno);
  }
  // The open directory itself, whatever its path names now.
  return WatchDirectory(fs, "/proc/self/fd/" + std::to_string(dir_fd), path,
                        path.c_str(), watch);
}

}  // namespace promdir
