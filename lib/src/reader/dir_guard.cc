#include "lib/src/reader/dir_guard.h"

#include <fcntl.h>

#include <algorithm>

#include "lib/src/dir_names.h"
#include "lib/src/env.h"
#include "lib/src/path.h"
#include "lib/src/format.h"

namespace promdir {

ReadGuard::ReadGuard(Env* env, const std::string& dir, int timeout_ms)
    : lock_(env) {
  Status s = lock_.Acquire(JoinPath(dir, kDirLockName), /*exclusive=*/false,
                           timeout_ms, "a read");
  timed_out_ = s.IsBusy();
}

Status ReadJournal(Env* env, const std::string& dir,
                   CompactionJournal* journal) {
  const std::string path = JoinPath(dir, kJournalName);
  int fd = -1;
  Status s =
      env->Open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0, &fd);
  if (!s.ok()) return s;
  FileInfo st;
  s = env->Stat(fd, &st);
  if (s.ok() && !st.is_regular) {
    s = Status::Corruption(path + ": not a regular file");
  }
  if (!s.ok()) {
    env->Close(fd);
    return s;
  }
  std::string text;
  char buf[16384];
  uint64_t off = 0;
  while (true) {
    size_t got = 0;
    s = env->ReadAt(fd, off, buf, sizeof(buf), &got);
    if (!s.ok()) break;
    text.append(buf, got);
    off += got;
    if (got < sizeof(buf)) break;
    if (text.size() > (64u << 20)) {
      s = Status::Corruption(path + ": larger than 64 MiB");
      break;
    }
  }
  env->Close(fd);
  if (!s.ok()) return s;
  return DecodeJournal(text, path, journal);
}

bool ArchiveCommitted(Env* env, const std::string& dir,
                      const JournalArchive& archive) {
  FileInfo info;
  if (!env->LinkStat(JoinPath(dir, archive.archive.name), &info).ok()) {
    return false;
  }
  return info.device == archive.archive.device &&
         info.inode == archive.archive.inode;
}

Status HiddenByCompaction(Env* env, const std::string& dir,
                          const std::vector<std::string>& names,
                          std::set<std::string>* hidden) {
  hidden->clear();
  CompactionJournal journal;
  Status s = ReadJournal(env, dir, &journal);
  if (s.IsNotFound()) return Status::OK();  // no compaction under way
  if (!s.ok()) return s;
  std::set<std::string_view> present(names.begin(), names.end());
  for (const JournalArchive& a : journal.archives) {
    if (!ArchiveCommitted(env, dir, a)) continue;  // sources still count
    for (const JournalFile& src : a.sources) {
      if (!present.count(src.name)) continue;
      FileInfo info;
      if (env->LinkStat(JoinPath(dir, src.name), &info).ok() &&
          info.device == src.device && info.inode == src.inode) {
        hidden->insert(src.name);
      }
    }
  }
  return Status::OK();
}

}  // namespace promdir
