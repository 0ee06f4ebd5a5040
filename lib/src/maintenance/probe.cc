#include "lib/src/maintenance/probe.h"

#include <fcntl.h>

#include <cstring>

#include "lib/src/reader/file_reader.h"

namespace promdir::maintenance {

namespace {
bool IsNumber(std::string_view id) {
  if (id.empty() || id.size() > 18) return false;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}
}  // namespace

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
  if (s.ok() && mode == LivenessMode::kAuto &&
      verdict->state == WriterState::kDead && !IsNumber(writer_id)) {
    char magic[4] = {};
    size_t got = 0;
    if (!env->ReadAt(fd, 4, magic, sizeof(magic), &got).ok() ||
        got != sizeof(magic) ||
        std::memcmp(magic, reader::kWriterMagic, sizeof(magic)) != 0) {
      verdict->state = WriterState::kUnknown;
      verdict->how = "no lock and id " + std::string(writer_id) +
                     " is not a pid: its writer may live (--liveness lock "
                     "treats it as dead)";
    }
  }
  env->Close(fd);
  return s;
}

}  // namespace promdir::maintenance
