// Maintenance of a multiprocess directory: prune, mark-dead, wipe and
// crash-safe compaction.
//
// Processes: safe beside running writers (a live writer's file is never
// touched) and beside running readers (promdir readers never see an archive
// together with its sources, nor neither). One compactor runs at a time per
// directory; a second gets Busy. A compaction killed at any instant loses
// nothing and counts nothing twice; the next one finishes or undoes it.
//
// Threads: each call is self-contained; calls on distinct directories may run
// concurrently, calls on one directory serialize on the directory's lock.

#ifndef PROMDIR_MAINTENANCE_H_
#define PROMDIR_MAINTENANCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "promdir/liveness.h"
#include "promdir/merge.h"
#include "promdir/reader.h"
#include "promdir/status.h"

namespace promdir {

class Env;

struct MaintenanceOptions {
  std::string directory;
  LivenessMode liveness = LivenessMode::kAuto;
  bool dry_run = false;  // report what would change, change nothing
  Env* env = nullptr;    // nullptr: Env::Default()
};

struct MaintenanceResult {
  std::vector<std::string> removed;   // paths deleted (or that would be)
  std::vector<std::string> written;   // archives written (or that would be)
  std::vector<std::string> folded;    // source files folded into archives
  std::vector<std::string> skipped;   // "path: reason" left alone
  std::vector<std::string> errors;    // "path: reason" that failed
};

// Deletes the live* gauge files of every dead writer, each proved dead once
// more under a staging name right before the delete (a writer that came
// back keeps its file), and the hidden
// temporary files (".<name>.db.tmp-<pid>") of promdir writers killed while
// creating a file: unlocked and over a minute old.
Status Prune(const MaintenanceOptions& options, MaintenanceResult* result);

// What prometheus_client's mark_process_dead(id) does, for each id: deletes
// gauge_live*_<id>.db; but a file the kernel proves live (locked, or open
// for writing: a worker that reused the id) stays and is reported in
// `skipped`. Where the kernel cannot be asked, the caller's word stands.
Status MarkDead(const MaintenanceOptions& options,
                const std::vector<std::string>& ids,
                MaintenanceResult* result);

// Removes every metrics file (*.db), promdir's own bookkeeping files and
// writers' temporary files.
// Unless `force`, refuses with Busy, naming them, while live promdir writers
// hold files.
Status Wipe(const MaintenanceOptions& options, bool force,
            MaintenanceResult* result);

// Folds every dead writer's files into archives that Python's collector
// reads, keeping every total; removes dead writers' live*, all and liveall
// gauge files. Busy if another compactor runs.
Status Compact(const MaintenanceOptions& options, MaintenanceResult* result);

// One *.db (or native histogram *.ndb) entry of a directory, as `promdir
// ls` and `promdir check` show it.
struct FileReport {
  std::string name;  // base name
  std::string path;
  std::string type;  // "counter", "gauge", ..., "histogram_native" ("" if
                     // the name is not one)
  std::string mode;  // gauge mode, "" for other types
  std::string id;    // writer id from the name
  bool bad = false;  // unreadable: see reason and message
  BadFileReason reason = BadFileReason::kNone;
  std::string message;  // names the file and the problem
  std::string layout;   // "8", "16", or "" when bad or native
  uint64_t entries = 0;
  uint64_t used = 0;
  uint64_t size = 0;
  bool archive = false;  // written by compaction
  WriterState state = WriterState::kUnknown;
  std::string how;  // how the state was decided
};

// Reports every *.db and *.ndb entry of the directory in name order, reading each
// file and probing its writer under options.liveness. Changes nothing.
// Fails only if the directory cannot be listed.
Status InspectDirectory(const MaintenanceOptions& options,
                        std::vector<FileReport>* reports);

}  // namespace promdir

#endif  // PROMDIR_MAINTENANCE_H_
