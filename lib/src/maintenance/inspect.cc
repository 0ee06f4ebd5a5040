// InspectDirectory: what `promdir ls` and `promdir check` report.

#include <algorithm>
#include <optional>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/dir_names.h"
#include "lib/src/native_format.h"
#include "lib/src/reader/native_file.h"
#include "lib/src/path.h"
#include "lib/src/reader/reprove.h"
#include "promdir/directory_env.h"
#include "promdir/maintenance.h"
#include "promdir/reader.h"

namespace promdir {

namespace {

// A native histogram file (lib/src/native_format.h).
std::optional<FileReport> InspectNative(Env* env, const MaintenanceOptions& options,
                                        const std::string& name,
                                        const std::string& id) {
  FileReport r;
  r.name = name;
  r.path = JoinPath(options.directory, name);
  r.type = native::kPrefix;
  r.id = id;
  std::vector<reader::NativeEntry> entries;
  uint64_t bytes = 0;
  reader::NativeFileMeta meta;
  r.archive = id == native::kArchiveId;
  reader::ReadError err = reader::ReadNativeFile(env, r.path, &entries, &bytes,
                                                 &meta, r.archive);
  r.used = meta.used;
  r.size = meta.size;
  if (err.status.IsNotFound()) return std::nullopt;  // vanished meanwhile
  if (!err.status.ok()) {
    r.bad = true;
    r.reason = err.reason;
    r.message = err.status.message();
    return r;
  }
  r.entries = entries.size();
  if (r.archive) {
    r.state = WriterState::kDead;
    r.how = "archive written by compaction";
    return r;
  }
  Verdict v;
  FileInfo info;
  if (reader::ProbeFile(env, r.path, id, options.liveness, &v, &info).ok()) {
    r.state = v.state;
    r.how = v.how;
  }
  return r;
}

}  // namespace

Status InspectDirectory(const MaintenanceOptions& options,
                        std::vector<FileReport>* reports) {
  std::unique_ptr<Env> bound;
  Env* env = DirectoryEnv::Bind(options.env, options.directory, &bound);
  reports->clear();
  std::vector<std::string> names;
  Status s = env->ListDir(options.directory, &names);
  if (!s.ok()) return s;
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (std::optional<std::string> id = native::ParseFileName(name)) {
      std::optional<FileReport> r = InspectNative(env, options, name, *id);
      if (r) reports->push_back(std::move(*r));
      continue;
    }
    if (!name.ends_with(".db")) continue;
    FileReport r;
    r.name = name;
    r.path = JoinPath(options.directory, name);
    std::optional<format::FileName> f = format::ParseFileName(name);
    if (f) {
      r.type = std::string(format::FileTypeName(f->type));
      r.mode = std::string(format::GaugeModeName(f->mode));
      r.id = f->id;
      r.archive = maintenance::IsArchiveId(f->id);
    }
    FileContents contents;
    s = ReadMetricsFile(env, r.path, &contents);
    if (s.IsNotFound()) continue;  // vanished meanwhile
    if (!s.ok()) {
      r.bad = true;
      r.reason = contents.bad_reason;
      r.message = s.message();
    } else if (!f) {
      r.bad = true;
      r.reason = BadFileReason::kUnknownType;
      size_t us = name.find('_');
      r.message = r.path + ": the name's type '" +
                  name.substr(0, std::min(us, name.size() - 3)) +
                  "' is not one a client writes (counter, gauge_<mode>, "
                  "histogram, summary)";
    }
    if (s.ok()) {
      r.layout = contents.layout == ValueLayout::k8 ? "8" : "16";
      r.entries = contents.entries.size();
      r.used = contents.used;
      r.size = contents.size;
    }
    if (f && !r.bad) {
      Verdict v;
      FileInfo info;
      if (r.archive) {
        r.state = WriterState::kDead;
        r.how = "archive written by compaction";
      } else if (reader::ProbeFile(env, r.path,
                                        maintenance::WriterId(f->id),
                                        options.liveness, &v, &info)
                     .ok()) {
        r.state = v.state;
        r.how = v.how;
        if (maintenance::IsStagedId(f->id)) r.how += "; being compacted";
      }
    }
    reports->push_back(std::move(r));
  }
  return Status::OK();
}

}  // namespace promdir
