#include "lib/src/maintenance/probe.h"

#include <fcntl.h>

namespace promdir::maintenance {

Status ProbeFile(Env* env, const std::string& path, std::string_view writer_id,
                 LivenessMode mode, Verdict* verdict, FileInfo* info) {
  FileInfo link;
  Status s = env->LinkStat(path, &link);
  if (!s.ok()) return s;
  if (link.is_symlink) {
    return Status::InvalidArgument(path + ": a symbolic link (not followed)");
  }
  if (!link.is_regular) {
    return Status::InvalidArgument(path + ": not a regular file");
  }
  int fd = -1;
  s = env->Open(path, O_RDONLY | O_NOFOLLOW, 0, &fd);
  if (!s.ok()) return s;
  s = env->Stat(fd, info);
  if (s.ok()) *verdict = ProbeWriter(env, fd, std::string(writer_id), mode);
  env->Close(fd);
  return s;
}

}  // namespace promdir::maintenance
