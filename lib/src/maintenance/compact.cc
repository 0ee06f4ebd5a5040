// Crash-safe compaction. The protocol, step by step (each step is safe to
// kill; see lib/src/reader/dir_guard.h for how readers see the journal):
//
//  1. Take `.promdir-compact.lock` (one compactor; Busy for a second one).
//  2. Recover: if a journal remains, finish each archive it committed
//     (delete its sources still present) and undo each it did not (delete
//     the temporary archive); then delete the journal and stale temps.
//  3. Probe every file; a dead writer's file is a candidate. A file whose
//     writer is live or unknown is never touched.
//  4. Under the exclusive `.promdir.lock`, rename each candidate to a
//     staging name (still *.db, so Python's and promdir's views are
//     unchanged). A process that reuses the id now creates a new file.
//  5. Probe each staged file again: a writer that opened it before the
//     rename is alive now, and then the file is renamed back.
//  6. Per-process gauges (live*, all, liveall) of dead writers are deleted.
//  7. Fold the staged files and existing archives of each (type, mode,
//     layout) into a new archive under a temporary name (not *.db); fsync.
//  8. Write the journal (temporary name, fsync, rename, fsync directory).
//  9. Under the exclusive `.promdir.lock`, per archive: rename it to its
//     final name (the commit point), then delete its sources.
// 10. Delete the journal.

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/maintenance/archive_builder.h"
#include "lib/src/maintenance/compact_native.h"
#include "lib/src/file_lock.h"
#include "lib/src/dir_names.h"
#include "lib/src/path.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/reprove.h"
#include "promdir/directory_env.h"
#include "promdir/maintenance.h"
#include "promdir/reader.h"

namespace promdir {

namespace {

using maintenance::ArchiveBuilder;
using maintenance::WriteWholeFile;
using reader::ProbeFile;

struct Candidate {
  std::string name;       // current base name (staged after step 4)
  std::string origin;     // the name it had when found
  format::FileName file;  // parsed from `origin`
  std::string writer_id;
  bool drop = false;  // a per-process gauge: deleted, not folded
  FileContents contents;
};

struct Group {
  FileType type;
  GaugeMode mode;
  ValueLayout layout;
  std::string final_name;
  std::vector<Candidate*> inputs;  // staged sources and existing archives
  bool has_source = false;         // at least one staged source
  bool blocked = false;            // the final name holds a bad file
  std::unique_ptr<ArchiveBuilder> builder;  // the inputs folded so far
};

bool SafeName(const std::string& name) {
  return name.find('\t') == std::string::npos &&
         name.find('\n') == std::string::npos;
}

class Compactor {
 public:
  Compactor(const MaintenanceOptions& options, MaintenanceResult* result)
      : env_(DirectoryEnv::Bind(options.env, options.directory, &own_env_)),
        dir_(options.directory),
        options_(options),
        result_(result) {}

  Status Run();

 private:
  std::string Path(const std::string& name) const {
    return JoinPath(dir_, name);
  }
  Status Recover();
  Status Scan();
  Status Stage();
  void Recheck();
  void Drop();
  void ReadSources();
  Status Fold();
  Status Commit();
  bool Restore(Candidate* c, const std::string& why);

  std::unique_ptr<Env> own_env_;  // a DirectoryEnv, unless options.env is one
  Env* env_;
  std::string dir_;
  MaintenanceOptions options_;
  MaintenanceResult* result_;
  std::vector<std::unique_ptr<Candidate>> candidates_;
  std::vector<std::unique_ptr<Candidate>> archives_;
  std::map<std::pair<std::string, int>, Group> groups_;
  std::vector<std::string> blocked_names_;  // unreadable archives
  CompactionJournal journal_;
  std::vector<std::vector<std::string>> journal_origins_;
};

Status Compactor::Run() {
  Status s = env_->CheckWritableDir(dir_);
  if (!s.ok()) return s;
  FileLock compactor(env_);
  if (!options_.dry_run) {
    s = compactor.Acquire(Path(maintenance::kCompactorLockName),
                          /*exclusive=*/true, /*timeout_ms=*/0,
                          "another compaction is running in " + dir_);
    if (!s.ok()) return s;
    s = Recover();
    if (!s.ok()) return s;
  }
  s = Scan();
  if (!s.ok()) return s;
  if (options_.dry_run) {
    for (auto& c : candidates_) {
      if (c->drop) {
        result_->removed.push_back(Path(c->name));
        continue;
      }
    }
    ReadSources();
    s = Fold();
    if (!s.ok()) return s;
    return maintenance::CompactNative(env_, options_, result_);
  }
  s = Stage();
  if (!s.ok()) return s;
  Recheck();
  Drop();
  ReadSources();
  s = Fold();
  if (!s.ok()) return s;
  s = Commit();
  if (!s.ok()) return s;
  // Native histogram files have their own crash-safe fold.
  return maintenance::CompactNative(env_, options_, result_);
}

Status Compactor::Recover() {
  CompactionJournal journal;
  Status s = ReadJournal(env_, dir_, &journal);
  if (s.IsNotFound()) {
    s = Status::OK();
  } else if (!s.ok()) {
    return Status::Corruption(
        "cannot finish an interrupted compaction: " + s.message() +
        "; move the journal away only after checking the directory");
  } else {
    FileLock lock(env_);
    s = lock.Acquire(Path(kDirLockName), /*exclusive=*/true,
                     kCommitLockTimeoutMs, "readers");
    if (!s.ok()) return s;
    for (const JournalArchive& a : journal.archives) {
      if (ArchiveCommitted(env_, dir_, a)) {
        for (const JournalFile& src : a.sources) {
          FileInfo info;
          if (env_->LinkStat(Path(src.name), &info).ok() &&
              info.device == src.device && info.inode == src.inode) {
            s = env_->Unlink(Path(src.name));
            if (!s.ok() && !s.IsNotFound()) return s;
            result_->folded.push_back(Path(src.name));
          }
        }
      } else {
        s = env_->Unlink(Path(a.temp_name));
        if (!s.ok() && !s.IsNotFound()) return s;
      }
    }
    s = env_->SyncDir(dir_);
    if (!s.ok()) return s;
    s = env_->Unlink(Path(kJournalName));
    if (!s.ok() && !s.IsNotFound()) return s;
    s = env_->SyncDir(dir_);
    if (!s.ok()) return s;
  }
  // Temporary files of an interrupted run that never reached its journal,
  // and those of writers killed while they created a file.
  std::vector<std::string> names;
  s = env_->ListDir(dir_, &names);
  if (!s.ok()) return s;
  for (const std::string& n : names) {
    if (maintenance::IsTempName(n)) {
      Status u = env_->Unlink(Path(n));
      if (!u.ok() && !u.IsNotFound()) result_->errors.push_back(u.message());
    } else if (format::IsWriterTempName(n)) {
      bool removed = false;
      std::string why;
      Status u = reader::RemoveStaleWriterTemp(env_, dir_, n,
                                               /*dry_run=*/false, &removed,
                                               &why);
      if (!u.ok()) result_->skipped.push_back(u.message());
      if (removed) result_->removed.push_back(Path(n));
    }
  }
  return Status::OK();
}

Status Compactor::Scan() {
  std::vector<std::string> names;
  Status s = env_->ListDir(dir_, &names);
  if (!s.ok()) return s;
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::optional<format::FileName> f = format::ParseFileName(name);
    if (!f) continue;
    auto c = std::make_unique<Candidate>();
    c->name = c->origin = name;
    c->file = *f;
    c->writer_id = std::string(maintenance::WriterId(f->id));
    const bool per_process =
        f->type == FileType::kGauge &&
        (format::IsLiveMode(f->mode) || f->mode == GaugeMode::kAll);
    if (maintenance::IsArchiveId(f->id)) {
      if (!per_process) archives_.push_back(std::move(c));
      continue;
    }
    if (!SafeName(name)) {
      result_->skipped.push_back(Path(name) + ": name holds a tab or newline");
      continue;
    }
    Verdict v;
    FileInfo info;
    s = ProbeFile(env_, Path(name), c->writer_id, options_.liveness, &v, &info);
    if (s.IsNotFound()) continue;
    if (!s.ok()) {
      result_->skipped.push_back(s.message());
      continue;
    }
    if (v.state != WriterState::kDead) {
      // A staged file whose writer came back goes home.
      if (maintenance::IsStagedId(f->id) && !options_.dry_run) {
        Restore(c.get(), v.how);
      }
      continue;
    }
    c->drop = per_process;
    candidates_.push_back(std::move(c));
  }
  return Status::OK();
}

bool Compactor::Restore(Candidate* c, const std::string& why) {
  std::string home = format::MakeFileName(c->file.Prefix(), c->writer_id);
  FileLock lock(env_);
  Status s = lock.Acquire(Path(kDirLockName), true, kCommitLockTimeoutMs,
                          "readers");
  // Never replace a file a new writer created under the name meanwhile.
  if (s.ok()) s = reader::RestoreFile(env_, dir_, c->name, c->file);
  if (s.ok()) {
    result_->skipped.push_back(Path(home) + ": writer is live (" + why +
                               "); left alone");
    return true;
  }
  result_->skipped.push_back(Path(c->name) + ": writer is live (" + why +
                             ") but cannot go back to " + home + " (" +
                             s.message() + "); left in place");
  return false;
}

Status Compactor::Stage() {
  bool any = false;
  for (auto& c : candidates_) any |= !maintenance::IsStagedId(c->file.id);
  if (!any) return Status::OK();
  FileLock lock(env_);
  Status s = lock.Acquire(Path(kDirLockName), /*exclusive=*/true,
                          kCommitLockTimeoutMs, "readers");
  if (!s.ok()) return s;
  std::vector<std::unique_ptr<Candidate>> kept;
  for (auto& c : candidates_) {
    if (maintenance::IsStagedId(c->file.id)) {
      kept.push_back(std::move(c));
      continue;
    }
    std::string staged;
    s = reader::StageFile(env_, dir_, c->name, c->file, &staged);
    if (s.IsNotFound()) continue;  // deleted meanwhile (mark_process_dead)
    if (!s.ok()) {
      result_->errors.push_back(s.message());
      continue;
    }
    c->name = staged;
    kept.push_back(std::move(c));
  }
  candidates_ = std::move(kept);
  return Status::OK();
}

void Compactor::Recheck() {
  std::vector<std::unique_ptr<Candidate>> kept;
  for (auto& c : candidates_) {
    Verdict v;
    FileInfo info;
    Status s = ProbeFile(env_, Path(c->name), c->writer_id, options_.liveness,
                         &v, &info);
    if (s.IsNotFound()) continue;
    if (!s.ok()) {
      result_->skipped.push_back(s.message());
      continue;
    }
    if (v.state != WriterState::kDead) {
      Restore(c.get(), v.how);
      continue;
    }
    kept.push_back(std::move(c));
  }
  candidates_ = std::move(kept);
}

void Compactor::Drop() {
  std::vector<std::unique_ptr<Candidate>> kept;
  for (auto& c : candidates_) {
    if (!c->drop) {
      kept.push_back(std::move(c));
      continue;
    }
    Status s = env_->Unlink(Path(c->name));
    if (s.ok() || s.IsNotFound()) {
      result_->removed.push_back(Path(c->origin));
    } else {
      result_->errors.push_back(s.message());
    }
  }
  candidates_ = std::move(kept);
}

void Compactor::ReadSources() {
  // One pass over sources and archives together, in the order readers merge
  // them (sorted names), adding each file to its group's archive at once:
  // memory stays bounded by the distinct keys, not by files x keys.
  std::vector<std::pair<Candidate*, bool>> order;  // (file, is_archive)
  for (auto& c : candidates_) {
    if (!c->drop) order.emplace_back(c.get(), false);
  }
  for (auto& c : archives_) order.emplace_back(c.get(), true);
  std::sort(order.begin(), order.end(), [](const auto& x, const auto& y) {
    return x.first->name < y.first->name;
  });
  for (auto [c, is_archive] : order) {
    Status s = ReadMetricsFile(env_, Path(c->name), &c->contents);
    if (s.IsNotFound()) continue;
    if (!s.ok()) {
      result_->skipped.push_back(s.message());
      if (is_archive) blocked_names_.push_back(c->name);
      continue;
    }
    if (!is_archive && c->contents.entries.empty()) {
      if (options_.dry_run) {
        result_->removed.push_back(Path(c->origin));
        continue;
      }
      s = env_->Unlink(Path(c->name));
      if (s.ok() || s.IsNotFound()) {
        result_->removed.push_back(Path(c->origin));
      } else {
        result_->errors.push_back(s.message());
      }
      continue;
    }
    const ValueLayout layout = c->contents.layout;
    const std::string prefix = c->file.Prefix();
    auto key = std::make_pair(prefix, static_cast<int>(layout));
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      Group g{
          c->file.type,
          c->file.mode,
          layout,
          format::MakeFileName(prefix, maintenance::ArchiveId(layout)),
          {},
          false,
          false,
          std::make_unique<ArchiveBuilder>(c->file.type, c->file.mode, layout)};
      it = groups_.emplace(key, std::move(g)).first;
    }
    Group& g = it->second;
    g.inputs.push_back(c);
    if (!is_archive) g.has_source = true;
    g.builder->Add(c->contents);
    c->contents.entries.clear();
    c->contents.entries.shrink_to_fit();
  }
}

Status Compactor::Fold() {
  for (auto& [key, g] : groups_) {
    for (const std::string& b : blocked_names_) g.blocked |= b == g.final_name;
  }
  for (auto& [key, g] : groups_) {
    const bool need = g.has_source || g.inputs.size() > 1 ||
                      g.inputs[0]->name != g.final_name;
    if (!need) continue;
    if (g.blocked) {
      for (Candidate* c : g.inputs) {
        result_->skipped.push_back(Path(c->name) + ": not folded, because " +
                                   Path(g.final_name) + " is unreadable");
      }
      continue;
    }
    std::vector<std::string> origins;
    for (Candidate* c : g.inputs) {
      if (c->name != g.final_name) origins.push_back(Path(c->origin));
    }
    if (options_.dry_run) {
      result_->written.push_back(Path(g.final_name));
      for (auto& o : origins) result_->folded.push_back(o);
      continue;
    }
    std::string data;
    Status s = g.builder->Serialize(&data);
    g.builder.reset();
    if (!s.ok()) {
      result_->errors.push_back(Path(g.final_name) + ": " + s.message());
      continue;
    }
    JournalArchive ja;
    ja.temp_name = maintenance::TempName(g.final_name);
    FileInfo info;
    s = WriteWholeFile(env_, Path(ja.temp_name), data, &info);
    if (!s.ok()) return s;  // staged files stay and still count
    ja.archive = {g.final_name, info.device, info.inode};
    for (Candidate* c : g.inputs) {
      if (c->name == g.final_name) continue;
      ja.sources.push_back({c->name, c->contents.device, c->contents.inode});
    }
    journal_.archives.push_back(std::move(ja));
    journal_origins_.push_back(std::move(origins));
  }
  return Status::OK();
}

Status Compactor::Commit() {
  if (journal_.archives.empty()) return Status::OK();
  const std::string journal_temp = kJournalTempName;
  Status s = WriteWholeFile(env_, Path(journal_temp), EncodeJournal(journal_),
                            nullptr);
  if (!s.ok()) return s;
  s = env_->Rename(Path(journal_temp), Path(kJournalName));
  if (!s.ok()) return s;
  s = env_->SyncDir(dir_);
  if (!s.ok()) return s;
  {
    FileLock lock(env_);
    s = lock.Acquire(Path(kDirLockName), /*exclusive=*/true,
                     kCommitLockTimeoutMs, "readers");
    if (!s.ok()) return s;
    for (size_t i = 0; i < journal_.archives.size(); ++i) {
      const JournalArchive& a = journal_.archives[i];
      s = env_->Rename(Path(a.temp_name), Path(a.archive.name));
      if (!s.ok()) return s;  // the journal lets the next run undo it
      for (const JournalFile& src : a.sources) {
        s = env_->Unlink(Path(src.name));
        if (!s.ok() && !s.IsNotFound()) return s;  // readers hide it
      }
      result_->written.push_back(Path(a.archive.name));
      for (auto& o : journal_origins_[i]) result_->folded.push_back(o);
    }
  }
  s = env_->SyncDir(dir_);
  if (!s.ok()) return s;
  s = env_->Unlink(Path(kJournalName));
  if (!s.ok()) return s;
  return env_->SyncDir(dir_);
}

}  // namespace

Status Compact(const MaintenanceOptions& options, MaintenanceResult* result) {
  MaintenanceResult ignored;
  Compactor compactor(options, result != nullptr ? result : &ignored);
  return compactor.Run();
}

}  // namespace promdir
