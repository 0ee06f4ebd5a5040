#include "lib/src/maintenance/compact_native.h"
#include "lib/src/path.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

#include "lib/src/dir_names.h"
#include "lib/src/file_lock.h"
#include "lib/src/format.h"
#include "lib/src/native_format.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/native_file.h"
#include "lib/src/reader/reprove.h"

namespace promdir::maintenance {

namespace {

using reader::ArchiveSource;
using reader::NativeEntry;

struct Source {
  std::string name;    // current base name (staged after Stage)
  std::string origin;  // the name it was found under
  std::string writer_id;
};

// The payload of a merged series: buckets in a table at least twice their
// number (schema -4: the dense array), placed by linear probing.
std::string Payload(NativeSeries h, uint32_t max_buckets) {
  using namespace native;  // NOLINT: the payload's offsets
  while (h.schema > kMinSchema &&
         2 * (h.positive.size() + h.negative.size()) > kMaxSlots) {
    reader::ReduceSchema(&h, h.schema - 1);
  }
  const size_t n = h.positive.size() + h.negative.size();
  Config c;
  c.schema = h.schema;
  c.zero_threshold = h.zero_threshold;
  c.max_buckets = max_buckets;
  c.slots = h.schema == kMinSchema || n == 0 ? 0 : 16;
  while (c.slots != 0 && c.slots < 2 * n) c.slots *= 2;
  std::string p = ConfigBytes(c);
  p.resize(PayloadSize(c.slots), '\0');
  auto put = [&](size_t at, uint64_t v) { std::memcpy(p.data() + at, &v, 8); };
  put(kCountOffset, h.count);
  std::memcpy(p.data() + kSumOffset, &h.sum, 8);
  put(kZeroCountOffset, h.zero_count);
  for (bool negative : {false, true}) {
    for (const auto& [index, count] : negative ? h.negative : h.positive) {
      if (c.slots == 0) {
        const int32_t i = std::clamp(index, kDenseMin, kDenseMax);
        const size_t at = kDenseOffset + 8 * ((negative ? kDensePerSign : 0) +
                                              static_cast<size_t>(i - kDenseMin));
        uint64_t old;
        std::memcpy(&old, p.data() + at, 8);
        put(at, old + count);
        continue;
      }
      const uint64_t key = PackKey(h.schema, negative, index);
      for (uint32_t probe = SlotHash(key);; ++probe) {
        const size_t at = kTableOffset + 16 * size_t{probe & (c.slots - 1)};
        uint64_t k;
        std::memcpy(&k, p.data() + at, 8);
        if (k != 0) continue;
        put(at, key);
        put(at + 8, count);
        break;
      }
    }
  }
  return p;
}

class NativeCompactor {
 public:
  NativeCompactor(Env* env, const MaintenanceOptions& o, MaintenanceResult* r)
      : env_(env), o_(o), r_(r) {}

  Status Run() {
    const std::string archive = native::FileName(native::kArchiveId);
    std::vector<std::string> names;
    Status s = env_->ListDir(o_.directory, &names);
    if (!s.ok()) return s;
    std::sort(names.begin(), names.end());
    bool have_archive = false;
    for (const std::string& n : names) have_archive |= n == archive;
    if (have_archive && !o_.dry_run) Recover(archive);
    FindDead(names);
    if (sources_.empty()) return Status::OK();
    if (o_.dry_run) {
      for (const Source& src : sources_) r_->folded.push_back(Path(src.name));
      r_->written.push_back(Path(archive));
      return Status::OK();
    }
    Stage();
    if (sources_.empty()) return Status::OK();
    return FoldAndCommit(archive, have_archive);
  }

 private:
  std::string Path(const std::string& n) const { return JoinPath(o_.directory, n); }

  // Step 1: the listed sources of a committed archive are already in it.
  void Recover(const std::string& archive) {
    std::vector<NativeEntry> entries;
    reader::NativeFileMeta meta;
    uint64_t bytes = 0;
    if (!reader::ReadNativeFile(env_, Path(archive), &entries, &bytes, &meta,
                                true)
             .ok()) {
      return;  // a bad archive: left alone, reported by check
    }
    for (const ArchiveSource& a : meta.sources) {
      FileInfo info;
      if (env_->LinkStat(Path(a.name), &info).ok() &&
          info.device == a.device && info.inode == a.inode) {
        env_->Unlink(Path(a.name));
        r_->removed.push_back(Path(a.name));
      }
    }
  }

  void FindDead(const std::vector<std::string>& names) {
    for (const std::string& n : names) {
      std::optional<std::string> id = native::ParseFileName(n);
      if (!id || *id == native::kArchiveId) continue;
      Source src{n, n, std::string(WriterId(*id))};
      Verdict v;
      FileInfo info;
      if (!reader::ProbeFile(env_, Path(n), src.writer_id, o_.liveness, &v,
                             &info)
               .ok() ||
          v.state != WriterState::kDead) {
        continue;
      }
      sources_.push_back(std::move(src));
    }
  }

  // Step 2: staged under the exclusive lock, then proved dead again.
  void Stage() {
    FileLock lock(env_);
    if (!lock.Acquire(Path(kDirLockName), true, kCommitLockTimeoutMs,
                      "readers of the directory")
             .ok()) {
      sources_.clear();
      return;
    }
    for (Source& src : sources_) {
      std::optional<std::string> id = native::ParseFileName(src.name);
      if (IsStagedId(*id)) continue;  // staged by an earlier, killed run
      for (int attempt = 0; attempt < 8; ++attempt) {
        std::string staged = native::FileName(StagedId(src.writer_id, attempt));
        if (env_->RenameNoReplace(Path(src.name), Path(staged)).ok()) {
          src.name = staged;
          break;
        }
      }
    }
    lock.Release();
    std::erase_if(sources_, [&](const Source& src) {
      Verdict v;
      FileInfo info;
      if (reader::ProbeFile(env_, Path(src.name), src.writer_id, o_.liveness,
                            &v, &info)
              .ok() &&
          v.state == WriterState::kDead) {
        return false;
      }
      // A writer came back: its file goes back to its name (or stays staged,
      // still counted, if a new writer made that name meanwhile).
      const std::string back = native::FileName(src.writer_id);
      if (src.name != back) env_->RenameNoReplace(Path(src.name), Path(back));
      r_->skipped.push_back(Path(src.origin) + ": a writer opened it again");
      return true;
    });
  }

  Status FoldAndCommit(const std::string& archive, bool have_archive);

  Env* env_;
  const MaintenanceOptions& o_;
  MaintenanceResult* r_;
  std::vector<Source> sources_;
};

Status NativeCompactor::FoldAndCommit(const std::string& archive,
                                      bool have_archive) {
  // Step 3: merge by key, in file order.
  std::map<std::string, std::pair<NativeSeries, uint32_t>> merged;
  std::vector<std::string> order;
  std::vector<ArchiveSource> listed;
  auto add = [&](const std::string& name, bool is_archive) {
    std::vector<NativeEntry> entries;
    reader::NativeFileMeta meta;
    uint64_t bytes = 0;
    reader::ReadError e = reader::ReadNativeFile(
        env_, Path(name), &entries, &bytes, &meta, is_archive);
    if (!e.status.ok()) return e.status;
    for (NativeEntry& ne : entries) {
      auto [it, added] = merged.try_emplace(ne.key, ne.histogram, ne.max_buckets);
      if (added) {
        order.push_back(ne.key);
        continue;
      }
      reader::AddNative(&it->second.first, std::move(ne.histogram));
      uint32_t& mb = it->second.second;
      if (ne.max_buckets != 0 && (mb == 0 || ne.max_buckets < mb)) {
        mb = ne.max_buckets;
      }
    }
    if (!is_archive) listed.push_back({name, meta.device, meta.inode});
    return Status::OK();
  };
  if (have_archive) {
    Status s = add(archive, true);
    if (!s.ok()) return Status::Corruption(s.message() + "; not compacting");
  }
  std::erase_if(sources_, [&](const Source& src) {
    Status s = add(src.name, false);
    if (s.ok()) return false;
    r_->errors.push_back(Path(src.name) + ": " + s.message());
    return true;
  });
  std::string data(format::kHeaderSize, '\0');
  std::memcpy(data.data() + 4, "pdir", 4);
  for (const std::string& key : order) {
    const auto& [h, max_buckets] = merged[key];
    int32_t key_len = static_cast<int32_t>(key.size());
    data.append(reinterpret_cast<const char*>(&key_len), 4);
    data += key;
    data.append(format::PadLength(key.size()), ' ');
    data += Payload(h, max_buckets);
  }
  if (data.size() > format::kMaxFileSize) {
    return Status::NoSpace(Path(archive) + " would exceed 1 GiB");
  }
  int32_t used = static_cast<int32_t>(data.size());
  std::memcpy(data.data(), &used, 4);
  data += reader::EncodeArchiveSources(listed);
  const std::string temp = TempName(archive);
  Status s = WriteWholeFile(env_, Path(temp), data, nullptr);
  if (!s.ok()) return s;
  // Step 4: the commit, then the sources' deletion, as readers see it.
  FileLock lock(env_);
  s = lock.Acquire(Path(kDirLockName), true, kCommitLockTimeoutMs,
                   "readers of the directory");
  if (s.ok()) s = env_->Rename(Path(temp), Path(archive));
  if (!s.ok()) {
    env_->Unlink(Path(temp));
    return s;
  }
  for (const Source& src : sources_) {
    env_->Unlink(Path(src.name));
    r_->folded.push_back(Path(src.origin));
  }
  r_->written.push_back(Path(archive));
  return Status::OK();
}

}  // namespace

// Creates `path` afresh (mode 0644 before the umask) and writes `data`. A
// stale file or a planted symlink under the name is unlinked first (the
// link, not its target), and the create is exclusive: it never follows a
// symlink or writes into a file someone else made meanwhile.
Status WriteWholeFile(Env* env, const std::string& path,
                      const std::string& data, FileInfo* info) {
  int fd = -1;
  Status s = env->Unlink(path);
  if (!s.ok() && !s.IsNotFound()) return s;
  s = env->Open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0644, &fd);
  if (!s.ok()) return s;
  s = env->WriteAt(fd, 0, data.data(), data.size());
  if (s.ok()) s = env->Sync(fd);
  if (s.ok() && info != nullptr) s = env->Stat(fd, info);
  Status c = env->Close(fd);
  if (s.ok()) s = c;
  if (!s.ok()) env->Unlink(path);
  return s;
}

Status CompactNative(Env* env, const MaintenanceOptions& options,
                     MaintenanceResult* result) {
  return NativeCompactor(env, options, result).Run();
}

}  // namespace promdir::maintenance
