#include "lib/src/reader/reprove.h"

#include <fcntl.h>

#include "lib/src/dir_names.h"
#include "lib/src/path.h"

namespace promdir::reader {

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

Status StageFile(Env* env, const std::string& dir, const std::string& name,
                 const format::FileName& file, std::string* staged) {
  const std::string writer(maintenance::WriterId(file.id));
  for (int attempt = 0; attempt < 1000; ++attempt) {
    *staged = format::MakeFileName(file.Prefix(),
                                   maintenance::StagedId(writer, attempt));
    Status s = env->RenameNoReplace(JoinPath(dir, name), JoinPath(dir, *staged));
    if (s.ok() || s.IsNotFound()) return s;
    FileInfo info;
    if (env->LinkStat(JoinPath(dir, *staged), &info).IsNotFound()) return s;
    // That staging name is taken (a staged file of an earlier writer with
    // the same id): try the next.
  }
  return Status::IOError(JoinPath(dir, name) + ": no free staging name");
}

Status RestoreFile(Env* env, const std::string& dir, const std::string& staged,
                   const format::FileName& file) {
  const std::string home = format::MakeFileName(
      file.Prefix(), maintenance::WriterId(file.id));
  return env->RenameNoReplace(JoinPath(dir, staged), JoinPath(dir, home));
}

Status RemoveIfDead(Env* env, const std::string& dir, const std::string& name,
                    LivenessMode mode, bool remove_unknown, Deed* deed,
                    std::string* how) {
  *deed = Deed::kLive;
  std::optional<format::FileName> file = format::ParseFileName(name);
  if (!file) return Status::InvalidArgument(JoinPath(dir, name) + ": not a metrics file name");
  std::string staged = name;
  if (!maintenance::IsStagedId(file->id)) {
    Status s = StageFile(env, dir, name, *file, &staged);
    if (s.IsNotFound()) {
      *deed = Deed::kVanished;
      return Status::OK();
    }
    if (!s.ok()) return s;
  }
  Verdict v;
  FileInfo info;
  Status s = ProbeFile(env, JoinPath(dir, staged),
                       maintenance::WriterId(file->id), mode, &v, &info);
  if (s.IsNotFound()) {
    *deed = Deed::kVanished;
    return Status::OK();
  }
  *how = s.ok() ? v.how : s.message();
  if (s.ok() && (v.state == WriterState::kDead ||
                 (remove_unknown && v.state == WriterState::kUnknown))) {
    s = env->Unlink(JoinPath(dir, staged));
    if (s.IsNotFound()) {
      *deed = Deed::kVanished;
      return Status::OK();
    }
    if (s.ok()) *deed = Deed::kDone;
    return s;
  }
  Status r = RestoreFile(env, dir, staged, *file);
  if (!r.ok()) {
    *how += "; left as " + staged + ": " + r.message();
  }
  return Status::OK();
}

Status RemoveStaleWriterTemp(Env* env, const std::string& dir,
                             const std::string& name, bool dry_run,
                             bool* removed, std::string* why) {
  constexpr double kStaleTempSeconds = 60;
  *removed = false;
  const std::string path = JoinPath(dir, name);
  Verdict v;
  FileInfo info;
  Status s = ProbeFile(env, path, "", LivenessMode::kAuto, &v, &info);
  if (s.IsNotFound()) return Status::OK();
  if (!s.ok()) return s;
  const bool old = env->NowUnixSeconds() - info.mtime >= kStaleTempSeconds;
  if (v.state == WriterState::kLive ||
      (v.state == WriterState::kUnknown && (v.locked || !old))) {
    *why = path + ": " + v.how + "; a writer may be creating it; left alone";
    return Status::OK();
  }
  FileInfo now;
  if (!env->LinkStat(path, &now).ok() || now.device != info.device ||
      now.inode != info.inode) {
    return Status::OK();  // replaced meanwhile: not the file proved stale
  }
  if (!dry_run) {
    s = env->Unlink(path);
    if (s.IsNotFound()) return Status::OK();
    if (!s.ok()) return s;
  }
  *removed = true;
  return Status::OK();
}

}  // namespace promdir::reader
