// DirectoryCompaction: binds the collector's compaction loop to
// promdir::Compact. Declared in compaction_loop.h.

#include "compaction_loop.h"
#include "promdir/maintenance.h"

namespace promdir::http {

CompactionLoop::RunFunction DirectoryCompaction(const ServerOptions& options) {
  MaintenanceOptions mopts;
  mopts.directory = options.directory;
  mopts.liveness = options.liveness;
  return [mopts] {
    CompactionOutcome outcome;
    MaintenanceResult result;
    Status s = Compact(mopts, &result);
    outcome.run.busy = s.IsBusy();
    outcome.run.ok = s.ok() || outcome.run.busy;
    if (!s.ok() && !outcome.run.busy) outcome.failure = s.ToString();
    outcome.run.files_folded = result.folded.size();
    outcome.run.files_removed = result.removed.size();
    outcome.run.archives_written = result.written.size();
    outcome.run.errors = result.errors.size();
    outcome.errors = result.errors;
    return outcome;
  };
}

}  // namespace promdir::http
