// Prune, MarkDead and Wipe: deleting files, as Python's mark_process_dead
// does and as operators do before a server starts.

#include <algorithm>
#include <optional>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/native_format.h"
#include "lib/src/dir_names.h"
#include "lib/src/path.h"
#include "lib/src/reader/reprove.h"
#include "lib/src/reader/dir_guard.h"
#include "promdir/directory_env.h"
#include "promdir/maintenance.h"

namespace promdir {

namespace {

// The Env of one command: bound to the directory (promdir/directory_env.h).
Env* EnvOf(const MaintenanceOptions& o, std::unique_ptr<Env>* holder) {
  return DirectoryEnv::Bind(o.env, o.directory, holder);
}

// Deletes `path` (or only reports it on a dry run).
void Remove(Env* env, const MaintenanceOptions& o, const std::string& path,
            MaintenanceResult* result) {
  if (o.dry_run) {
    result->removed.push_back(path);
    return;
  }
  Status s = env->Unlink(path);
  if (s.ok()) {
    result->removed.push_back(path);
  } else if (!s.IsNotFound()) {
    result->errors.push_back(s.message());
  }
}

// Deletes `name` after proving its writer dead once more (see
// lib/src/reader/reprove.h); a file whose writer came back stays.
void RemoveProved(Env* env, const MaintenanceOptions& o, const std::string& name,
                  LivenessMode mode, bool remove_unknown,
                  MaintenanceResult* result) {
  const std::string path = JoinPath(o.directory, name);
  if (o.dry_run) {
    result->removed.push_back(path);
    return;
  }
  reader::Deed deed;
  std::string how;
  Status s = reader::RemoveIfDead(env, o.directory, name, mode,
                                  remove_unknown, &deed, &how);
  if (!s.ok()) {
    result->errors.push_back(s.message());
  } else if (deed == reader::Deed::kDone) {
    result->removed.push_back(path);
  } else if (deed == reader::Deed::kLive) {
    result->skipped.push_back(path + ": " + how + "; left alone");
  }
}

Status ListSorted(Env* env, const std::string& dir,
                  std::vector<std::string>* names) {
  Status s = env->ListDir(dir, names);
  if (!s.ok()) return s;
  std::sort(names->begin(), names->end());
  return Status::OK();
}

// A promdir writer's hidden temporary file left by a writer killed while it
// created a file (see reader::RemoveStaleWriterTemp).
void PruneWriterTemp(Env* env, const MaintenanceOptions& o,
                     const std::string& name, MaintenanceResult* result) {
  bool removed = false;
  std::string why;
  Status s = reader::RemoveStaleWriterTemp(env, o.directory, name, o.dry_run,
                                           &removed, &why);
  if (!s.ok()) {
    result->skipped.push_back(s.message());
  } else if (removed) {
    result->removed.push_back(JoinPath(o.directory, name));
  } else if (!why.empty()) {
    result->skipped.push_back(why);
  }
}

Status Finish(const MaintenanceResult& r) {
  if (r.errors.empty()) return Status::OK();
  return Status::IOError(
      r.errors.front() +
      (r.errors.size() > 1
           ? " (and " + std::to_string(r.errors.size() - 1) + " more)"
           : ""));
}

}  // namespace

Status Prune(const MaintenanceOptions& options, MaintenanceResult* result) {
  std::unique_ptr<Env> bound;
  Env* env = EnvOf(options, &bound);
  MaintenanceResult ignored;
  if (result == nullptr) result = &ignored;
  std::vector<std::string> names;
  Status s = ListSorted(env, options.directory, &names);
  if (!s.ok()) return s;
  for (const std::string& name : names) {
    if (format::IsWriterTempName(name)) {
      PruneWriterTemp(env, options, name, result);
      continue;
    }
    std::optional<format::FileName> f = format::ParseFileName(name);
    if (!f || f->type != FileType::kGauge || !format::IsLiveMode(f->mode)) {
      continue;
    }
    Verdict v;
    FileInfo info;
    s = reader::ProbeFile(env, JoinPath(options.directory, name),
                          maintenance::WriterId(f->id), options.liveness, &v,
                          &info);
    if (s.IsNotFound()) continue;
    if (!s.ok()) {
      result->skipped.push_back(s.message());
      continue;
    }
    if (v.state == WriterState::kDead || maintenance::IsStagedId(f->id)) {
      // (A staged file left by a crash is deleted or goes home.)
      RemoveProved(env, options, name, options.liveness,
                   /*remove_unknown=*/false, result);
    }
  }
  return Finish(*result);
}

Status MarkDead(const MaintenanceOptions& options,
                const std::vector<std::string>& ids,
                MaintenanceResult* result) {
  std::unique_ptr<Env> bound;
  Env* env = EnvOf(options, &bound);
  MaintenanceResult ignored;
  if (result == nullptr) result = &ignored;
  Status s = env->CheckWritableDir(options.directory);
  if (!s.ok()) return s;
  for (const std::string& id : ids) {
    if (id.empty() || id.find('/') != std::string::npos ||
        id.find('\0') != std::string::npos) {
      return Status::InvalidArgument("bad writer id '" + id +
                                     "': expected a pid or worker id");
    }
  }
  for (const std::string& id : ids) {
    for (GaugeMode mode : format::kAllGaugeModes) {
      if (!format::IsLiveMode(mode)) continue;
      std::string name = format::MakeFileName(
          "gauge_" + std::string(format::GaugeModeName(mode)), id);
      FileInfo info;
      if (env->LinkStat(JoinPath(options.directory, name), &info).IsNotFound()) {
        continue;
      }
      // The caller says the writer is dead; the kernel may still prove it
      // alive (a worker that reused the id), and then the file stays. With
      // liveness checks off the kernel still has that veto.
      RemoveProved(env, options, name,
                   options.liveness == LivenessMode::kNone ? LivenessMode::kAuto
                                                           : options.liveness,
                   /*remove_unknown=*/true, result);
    }
  }
  return Finish(*result);
}

Status Wipe(const MaintenanceOptions& options, bool force,
            MaintenanceResult* result) {
  std::unique_ptr<Env> bound;
  Env* env = EnvOf(options, &bound);
  MaintenanceResult ignored;
  if (result == nullptr) result = &ignored;
  std::vector<std::string> names;
  Status s = ListSorted(env, options.directory, &names);
  if (!s.ok()) return s;
  std::vector<std::string> doomed;
  std::vector<std::string> held;
  for (const std::string& name : names) {
    const std::string path = JoinPath(options.directory, name);
    const bool bookkeeping = name == kDirLockName || name == kJournalName ||
                             name == maintenance::kCompactorLockName ||
                             maintenance::IsTempName(name);
    // A writer's file being created: removed too, unless a writer holds it.
    const bool writer_temp = format::IsWriterTempName(name);
    // Only names promdir or a client writes (native histograms' *.ndb
    // too): never other *.db-looking junk.
    if (!bookkeeping && !writer_temp && !format::ParseFileName(name) &&
        !native::ParseFileName(name)) {
      continue;
    }
    FileInfo info;
    s = env->LinkStat(path, &info);
    if (s.IsNotFound()) continue;
    if (!s.ok()) {
      result->errors.push_back(s.message());
      continue;
    }
    if (info.is_directory) {
      result->skipped.push_back(path + ": a directory; left alone");
      continue;
    }
    if (!bookkeeping && info.is_regular) {
      Verdict v;
      std::optional<format::FileName> f = format::ParseFileName(name);
      std::string id = f ? f->id : "";
      if (reader::ProbeFile(env, path, maintenance::WriterId(id),
                                 LivenessMode::kLock, &v, &info)
              .ok() &&
          v.locked) {
        held.push_back(path);
      }
    }
    doomed.push_back(path);
  }
  if (!held.empty() && !force) {
    std::string list;
    for (const std::string& h : held) list += (list.empty() ? "" : ", ") + h;
    result->skipped = held;
    return Status::Busy("live promdir writers hold " +
                        std::to_string(held.size()) + " file(s): " + list +
                        "; stop them first or pass --force");
  }
  for (const std::string& path : doomed) Remove(env, options, path, result);
  return Finish(*result);
}

}  // namespace promdir
