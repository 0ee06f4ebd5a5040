// DirectoryEnv: paths of one directory mapped onto its descriptor.

#include "promdir/directory_env.h"

#include <fcntl.h>

#include <cerrno>

namespace promdir {

DirectoryEnv::DirectoryEnv(Env* base, std::string dir, LogFn log)
    : EnvWrapper(base), dir_(std::move(dir)), log_(std::move(log)) {
  prefix_ = dir_;
  while (prefix_.size() > 1 && prefix_.back() == '/') prefix_.pop_back();
  int fd = -1;
  if (!dir_.empty() && target()->OpenDirectory(dir_, &fd).ok()) {
    FileInfo info;
    if (target()->Stat(fd, &info).ok()) {
      device_ = info.device;
      inode_ = info.inode;
      fd_.store(fd);
    } else {
      target()->Close(fd);
    }
  }
}

DirectoryEnv::~DirectoryEnv() {
  if (int fd = fd_.load(); fd >= 0) target()->Close(fd);
  if (retired_ >= 0) target()->Close(retired_);
}

Env* DirectoryEnv::Bind(Env* env, const std::string& dir,
                        std::unique_ptr<Env>* holder) {
  if (env == nullptr) env = Env::Default();
  if (auto* bound = dynamic_cast<DirectoryEnv*>(env);
      bound != nullptr && bound->directory() == dir) {
    return env;
  }
  *holder = std::make_unique<DirectoryEnv>(env, dir);
  return holder->get();
}

void DirectoryEnv::Log(const std::string& line) {
  if (line == last_log_) return;  // once per change
  last_log_ = line;
  if (log_) log_(line);
}

Status DirectoryEnv::Revalidate() {
  if (dir_.empty()) {
    return Status::InvalidArgument(
        "no metrics directory: set PROMETHEUS_MULTIPROC_DIR or pass one");
  }
  std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    // Another thread is at it (or, in a forked child, was at it).
    if (fd_.load() >= 0) return Status::OK();
    return Status::Busy("metrics directory " + dir_ + " is being opened");
  }
  const int old = fd_.load();
  FileInfo named;
  Status s = target()->LinkStat(dir_, &named);
  if (old >= 0 && s.ok() && named.is_directory && !named.is_symlink &&
      named.device == device_ && named.inode == inode_) {
    last_log_.clear();
    return Status::OK();  // unchanged: the common case
  }
  // Gone (deleted, or moved away for now): an error naming it, as for a
  // directory never opened; it is used again once it is back.
  if (s.IsNotFound()) return Status::FromErrno("metrics directory " + dir_, ENOENT);
  int fd = -1;
  FileInfo info;
  Status o = target()->OpenDirectory(dir_, &fd);
  if (o.ok()) {
    o = target()->Stat(fd, &info);
    if (!o.ok()) target()->Close(fd);
  }
  if (!o.ok()) {
    if (old < 0) return o;
    std::string why = !s.ok()               ? s.message()
                      : named.is_symlink    ? "now a symbolic link"
                      : !named.is_directory ? "now not a directory"
                                            : o.message();
    Log("metrics directory " + dir_ + " was replaced (" + why +
        "); still using the directory opened before, never the new name");
    return Status::OK();
  }
  if (old >= 0 && info.device == device_ && info.inode == inode_) {
    target()->Close(fd);  // a race with a rename back: nothing changed
    return Status::OK();
  }
  if (retired_ >= 0) target()->Close(retired_);
  retired_ = old;
  device_ = info.device;
  inode_ = info.inode;
  fd_.store(fd);
  if (old >= 0) {
    generation_.fetch_add(1);
    Log("metrics directory " + dir_ +
        " was replaced by another directory; re-opened it (inode " +
        std::to_string(info.inode) + ")");
  }
  return Status::OK();
}

Status DirectoryEnv::Current(int* fd) {
  *fd = fd_.load();
  if (*fd >= 0) return Status::OK();
  Status s = Revalidate();
  *fd = fd_.load();
  if (!s.ok()) return s;
  if (*fd < 0) return Status::IOError("metrics directory " + dir_ + ": not open");
  return Status::OK();
}

DirectoryEnv::Kind DirectoryEnv::Classify(const std::string& path) const {
  if (prefix_.empty() || path.compare(0, prefix_.size(), prefix_) != 0) {
    return Kind::kOther;
  }
  size_t i = prefix_.size();
  if (prefix_ != "/") {
    if (i < path.size() && path[i] != '/') return Kind::kOther;  // "/a" vs "/ab"
  }
  while (i < path.size() && path[i] == '/') ++i;
  if (i == path.size()) return Kind::kDirectory;
  std::string_view name(path.data() + i, path.size() - i);
  if (name == "." || name == ".." || name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return Kind::kOther;
  }
  return Kind::kName;
}

Status DirectoryEnv::NotInDirectory(const std::string& path) const {
  return Status::InvalidArgument(path + ": not a plain name in " + dir_ +
                                 "; refused");
}

template <typename Call>
Status DirectoryEnv::At(const std::string& path, Kind kind, Call call) {
  if (Classify(path) != kind) return NotInDirectory(path);
  int dir = -1;
  Status s = Current(&dir);
  if (!s.ok()) return s;
  return call(dir);
}

Status DirectoryEnv::Open(const std::string& p, int f, int m, int* fd) {
  if (Classify(p) != Kind::kName) return NotInDirectory(p);
  if ((f & O_CREAT) != 0) {
    Status r = Revalidate();
    if (!r.ok()) return r;
  }
  return At(p, Kind::kName, [&](int dir) {
    return target()->OpenAt(dir, p, f | O_NOFOLLOW, m, fd);
  });
}

Status DirectoryEnv::LinkStat(const std::string& p, FileInfo* i) {
  if (Classify(p) == Kind::kDirectory) return target()->LinkStat(p, i);
  return At(p, Kind::kName,
            [&](int dir) { return target()->LinkStatAt(dir, p, i); });
}

Status DirectoryEnv::ListDir(const std::string& d,
                             std::vector<std::string>* n) {
  if (Classify(d) != Kind::kDirectory) return NotInDirectory(d);
  Status s = Revalidate();
  if (!s.ok()) return s;
  return At(d, Kind::kDirectory,
            [&](int dir) { return target()->ListDirAt(dir, d, n); });
}

Status DirectoryEnv::Rename(const std::string& f, const std::string& t) {
  if (Classify(t) != Kind::kName) return NotInDirectory(t);
  return At(f, Kind::kName,
            [&](int dir) { return target()->RenameAt(dir, f, t); });
}

Status DirectoryEnv::RenameNoReplace(const std::string& f,
                                     const std::string& t) {
  if (Classify(t) != Kind::kName) return NotInDirectory(t);
  return At(f, Kind::kName,
            [&](int dir) { return target()->RenameNoReplaceAt(dir, f, t); });
}

Status DirectoryEnv::Unlink(const std::string& p) {
  return At(p, Kind::kName,
            [&](int dir) { return target()->UnlinkAt(dir, p); });
}

Status DirectoryEnv::SyncDir(const std::string& d) {
  return At(d, Kind::kDirectory,
            [&](int dir) { return target()->SyncDirAt(dir, d); });
}

Status DirectoryEnv::CheckWritableDir(const std::string& d) {
  if (d.empty()) return Revalidate();
  if (Classify(d) != Kind::kDirectory) return NotInDirectory(d);
  Status s = Revalidate();
  if (!s.ok()) return s;
  return At(d, Kind::kDirectory,
            [&](int dir) { return target()->CheckWritableDirAt(dir, d); });
}

Status DirectoryEnv::OpenChangeWatch(const std::string& d, int* w) {
  if (Classify(d) != Kind::kDirectory) return NotInDirectory(d);
  Status s = Revalidate();
  if (!s.ok()) return s;
  const uint64_t generation = generation_.load();
  s = At(d, Kind::kDirectory,
         [&](int dir) { return target()->OpenChangeWatchAt(dir, d, w); });
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watches_[*w] = generation;
  }
  return s;
}

Status DirectoryEnv::ReadChanges(int w, std::vector<Change>* c, bool* e) {
  Status s = target()->ReadChanges(w, c, e);
  std::lock_guard<std::mutex> lock(watch_mu_);
  auto it = watches_.find(w);
  // Watching a directory that is no longer the one in use.
  if (it != watches_.end() && it->second != generation_.load()) *e = true;
  return s;
}

void DirectoryEnv::CloseChangeWatch(int w) {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    watches_.erase(w);
  }
  target()->CloseChangeWatch(w);
}

}  // namespace promdir
