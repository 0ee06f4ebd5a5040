#include "lib/src/reader/dir_guard.h"

#include <fcntl.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "lib/src/dir_names.h"
#include "lib/src/env.h"
#include "lib/src/format.h"

namespace promdir {

Status OpenLockFile(Env* env, const std::string& path, int* fd) {
  // Never through a symlink (O_NOFOLLOW), never blocking on a FIFO planted
  // under the name (O_NONBLOCK), and only a regular file is used.
  const int flags = O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  Status s = env->Open(path, O_RDWR | O_CREAT | O_EXCL | flags, 0666, fd);
  bool created = s.ok();
  if (!s.ok() && s.os_error() == EEXIST) {
    s = env->Open(path, O_RDWR | flags, 0, fd);
  }
  if (!s.ok()) {
    Status r = env->Open(path, O_RDONLY | flags, 0, fd);
    if (!r.ok()) return s;
  }
  FileInfo info;
  s = env->Stat(*fd, &info);
  if (s.ok() && !info.is_regular) {
    s = Status::InvalidArgument(path + ": not a regular file; not used");
  }
  // Mode 0666 whatever the umask (docs/FORMAT.md 6.4): a lock file holds no
  // data, the directory's mode decides who reaches it, and one a root
  // collector made must still take the exclusive lock of the application's
  // user (which needs it open for writing). An older file is widened only
  // if it has one name: never a hard link planted to another file.
  if (s.ok() && (info.mode & 0666) != 0666 && (created || info.links == 1)) {
    env->Chmod(*fd, 0666);  // fails harmlessly if it is not ours
  }
  if (!s.ok()) {
    env->Close(*fd);
    *fd = -1;
  }
  return s;
}

Status LockWithin(Env* env, int fd, bool exclusive, int timeout_ms) {
  if (timeout_ms < 0) return env->Lock(fd, exclusive, /*wait=*/true);
  const uint64_t deadline =
      env->NowMonotonicNanos() + static_cast<uint64_t>(timeout_ms) * 1000000;
  int pause_us = 200;
  while (true) {
    Status s = env->Lock(fd, exclusive, /*wait=*/false);
    if (!s.IsBusy()) return s;
    if (env->NowMonotonicNanos() >= deadline) return s;
    std::this_thread::sleep_for(std::chrono::microseconds(pause_us));
    pause_us = std::min(pause_us * 2, 20000);
  }
}

ReadGuard::ReadGuard(Env* env, const std::string& dir, int timeout_ms)
    : env_(env) {
  int fd = -1;
  if (!OpenLockFile(env_, dir + "/" + kDirLockName, &fd).ok()) return;
  Status s = LockWithin(env_, fd, /*exclusive=*/false, timeout_ms);
  if (!s.ok()) {
    timed_out_ = s.IsBusy();
    env_->Close(fd);
    return;
  }
  fd_ = fd;
}

ReadGuard::~ReadGuard() {
  if (fd_ >= 0) env_->Close(fd_);  // closing the description drops the lock
}

namespace {

constexpr std::string_view kJournalMagic = "promdir-compact-journal 1";

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return false;
    v = next;
  }
  *out = v;
  return true;
}

std::vector<std::string_view> SplitTabs(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (true) {
    size_t tab = line.find('\t', pos);
    if (tab == std::string_view::npos) {
      out.push_back(line.substr(pos));
      return out;
    }
    out.push_back(line.substr(pos, tab - pos));
    pos = tab + 1;
  }
}

void AppendFile(const JournalFile& f, std::string* out) {
  *out += f.name;
  *out += '\t';
  *out += std::to_string(f.device);
  *out += '\t';
  *out += std::to_string(f.inode);
}

// A plain metrics file name of this directory, nothing that resolves
// elsewhere.
bool PlainMetricsName(std::string_view name) {
  if (name.empty() || name == "." || name == ".." ||
      name.find('/') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return false;
  }
  return format::ParseFileName(name).has_value();
}

bool ParseFile(std::string_view name, std::string_view dev,
               std::string_view ino, JournalFile* f) {
  if (!PlainMetricsName(name)) return false;
  f->name = std::string(name);
  return ParseU64(dev, &f->device) && ParseU64(ino, &f->inode);
}

bool ValidArchive(const JournalArchive& a) {
  std::optional<format::FileName> f = format::ParseFileName(a.archive.name);
  return f && maintenance::IsArchiveId(f->id) &&
         a.temp_name == maintenance::TempName(a.archive.name);
}

}  // namespace

std::string EncodeJournal(const CompactionJournal& journal) {
  std::string out(kJournalMagic);
  out += '\n';
  for (const JournalArchive& a : journal.archives) {
    out += "archive\t";
    AppendFile(a.archive, &out);
    out += '\t';
    out += a.temp_name;
    out += '\n';
    for (const JournalFile& s : a.sources) {
      out += "source\t";
      AppendFile(s, &out);
      out += '\n';
    }
  }
  out += "end\t" + std::to_string(journal.archives.size()) + "\n";
  return out;
}

Status DecodeJournal(std::string_view text, const std::string& path,
                     CompactionJournal* journal) {
  journal->archives.clear();
  auto bad = [&](std::string_view why) {
    return Status::Corruption(path + ": " + std::string(why));
  };
  size_t pos = 0;
  bool first = true;
  bool ended = false;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) return bad("last line is not complete");
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (ended) return bad("data after the end record");
    if (first) {
      if (line != kJournalMagic) return bad("not a compaction journal");
      first = false;
      continue;
    }
    std::vector<std::string_view> f = SplitTabs(line);
    if (f[0] == "archive" && f.size() == 5) {
      JournalArchive a;
      if (!ParseFile(f[1], f[2], f[3], &a.archive)) {
        return bad("bad archive record");
      }
      a.temp_name = std::string(f[4]);
      if (!ValidArchive(a)) return bad("bad archive record");
      journal->archives.push_back(std::move(a));
    } else if (f[0] == "source" && f.size() == 4) {
      if (journal->archives.empty()) return bad("source before any archive");
      JournalFile s;
      if (!ParseFile(f[1], f[2], f[3], &s)) return bad("bad source record");
      journal->archives.back().sources.push_back(std::move(s));
    } else if (f[0] == "end" && f.size() == 2) {
      uint64_t n = 0;
      if (!ParseU64(f[1], &n) || n != journal->archives.size()) {
        return bad("end record does not match the archives");
      }
      ended = true;
    } else {
      return bad("unknown record");
    }
  }
  if (!ended) return bad("no end record");
  return Status::OK();
}

Status ReadJournal(Env* env, const std::string& dir,
                   CompactionJournal* journal) {
  const std::string path = dir + "/" + kJournalName;
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
  if (!env->LinkStat(dir + "/" + archive.archive.name, &info).ok()) {
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
      if (env->LinkStat(dir + "/" + src.name, &info).ok() &&
          info.device == src.device && info.inode == src.inode) {
        hidden->insert(src.name);
      }
    }
  }
  return Status::OK();
}

}  // namespace promdir
