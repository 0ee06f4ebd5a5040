// Helpers shared by the POSIX Env's files (env_posix.cc, env_posix_at.cc).
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_ENV_POSIX_INTERNAL_H_
#define PROMDIR_LIB_SRC_ENV_POSIX_INTERNAL_H_

#include <sys/stat.h>
#include <sys/vfs.h>

#include <string>
#include <vector>

#include "promdir/env.h"

namespace promdir::posix_detail {

// "<op> <the file behind fd>", so errors say which file failed.
std::string FdContext(const char* op, int fd);
void FillInfo(const struct stat& st, FileInfo* info);
// True iff every change on this file system passes through this kernel.
bool LocalFileSystem(long type);
// Opens an inotify watch of `target`, which names the directory `dir` (for
// messages), after `fs` showed it on a local file system. With `fallback`,
// a `target` that does not exist (no /proc) is watched as `fallback`, never
// through a symlink there.
// Appends the names in the directory open as `fd` (without . and ..) and
// closes fd; `path` names it in errors.
Status ListOpened(int fd, const std::string& path,
                  std::vector<std::string>* names);
Status WatchDirectory(const struct statfs& fs, const std::string& target,
                      const std::string& dir, const char* fallback,
                      int* watch);

}  // namespace promdir::posix_detail

#endif  // PROMDIR_LIB_SRC_ENV_POSIX_INTERNAL_H_
