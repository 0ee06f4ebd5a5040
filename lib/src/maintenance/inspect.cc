// InspectDirectory: what `promdir ls` and `promdir check` report.

#include <algorithm>
#include <optional>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/dir_names.h"
#include "lib/src/path.h"
#include "lib/src/reader/reprove.h"
#include "promdir/maintenance.h"
#include "promdir/reader.h"

namespace promdir {

Status InspectDirectory(const MaintenanceOptions& options,
                        std::vector<FileReport>* reports) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  reports->clear();
  std::vector<std::string> names;
  Status s = env->ListDir(options.directory, &names);
  if (!s.ok()) return s;
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
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
