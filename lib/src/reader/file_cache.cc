#include "lib/src/reader/file_cache.h"

#include <algorithm>

namespace promdir::merge_detail {

EntryTable& CachedFile::Own() {
  if (entries && entries.use_count() == 1 && entries->keys.size() == count) {
    return *entries;
  }
  auto mine = std::make_shared<EntryTable>();
  if (entries) {
    const EntryTable& from = *entries;
    mine->keys.assign(from.keys.begin(), from.keys.begin() + count);
    mine->offsets.assign(from.offsets.begin(), from.offsets.begin() + count);
    for (const FamilyEntry& f : from.families) {
      if (f.entry >= count) break;
      mine->families.push_back(f);
    }
    mine->targets.assign(
        from.targets.begin(),
        from.targets.begin() + std::min<size_t>(count, from.targets.size()));
  }
  // (Only the thread that claimed this file reaches here: with use_count
  // 1 no other holder exists to copy the pointer meanwhile.)
  entries = std::move(mine);
  return *entries;
}

void CachedFile::Unfreeze() {
  frozen = false;
  last_values = std::move(frozen_values);
  last_timestamps = std::move(frozen_timestamps);
  frozen_values = {};
  frozen_timestamps = {};
}

void CachedFile::Restart(const std::string& base, uint64_t birth,
                         uint64_t gen) {
  *this = CachedFile();
  name = base;
  birth_ns = birth;
  generation = gen;
}

CachedFile* FileCache::Claim(const FileId& id, bool* inserted) {
  auto [it, fresh] = files_.try_emplace(id);
  *inserted = fresh;
  if (!fresh && it->second.generation == generation_) return nullptr;
  return &it->second;
}

bool FileCache::KnownBad(const std::string& base, const FileInfo& info,
                         reader::ReadError* err) {
  std::lock_guard<std::mutex> g(mu_);
  auto it = bad_memo_.find(base);
  if (it == bad_memo_.end()) return false;
  const FileInfo& was = it->second.info;
  if (was.device != info.device || was.inode != info.inode ||
      was.size != info.size || was.mtime != info.mtime) {
    bad_memo_.erase(it);
    return false;
  }
  *err = it->second.err;
  return true;
}

void FileCache::RememberBad(const std::string& base, const FileInfo& info,
                            double read_at, const reader::ReadError& err) {
  using reader::BadReason;
  switch (err.reason) {
    case BadReason::kNone:   // (vanished)
    case BadReason::kEmpty:  // nothing was read; maybe a writer starting
    case BadReason::kIoError:
    case BadReason::kSymlink:
    case BadReason::kNotRegular:
    case BadReason::kUnknownType:
      return;  // not read, or not the content's fault
    default:
      break;
  }
  if (info.inode == 0 || info.mtime > read_at - kBadMemoQuietSeconds) {
    return;  // not opened, or changed too recently to trust its mtime
  }
  bad_memo_[base] = BadMemo{info, err};
}

bool FileCache::FirstReport(const std::string& path, const FileId& id,
                            reader::BadReason reason) {
  std::pair<FileId, reader::BadReason> seen{id, reason};
  auto r = reported_.find(path);
  if (r != reported_.end() && r->second == seen) return false;
  reported_[path] = seen;
  return true;
}

}  // namespace promdir::merge_detail
