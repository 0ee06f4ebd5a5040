// Deeds on a dead writer's file, each preceded by a fresh proof of death.
//
// A verdict is a snapshot: a restarted worker that reuses an id (a uWSGI
// worker id, a recycled pid) may open the file the instant after it was
// judged dead. So nothing is deleted or folded on the verdict alone:
//
//   1. the file is renamed to a staging name (<prefix>_<id>.compacting[N].db,
//      see lib/src/dir_names.h; still *.db, so every reader keeps counting
//      it). A writer that opens the old name from now on creates a new file;
//   2. the staged file is probed again. Only a writer that had it open
//      before the rename can have it now, and the probe sees it;
//   3. dead: the caller deletes or folds it. Live (or unknown): it goes back
//      to its name, never replacing a file a new writer made meanwhile.
//
// A staged file left by a crash is seen by the next prune or compaction,
// probed, and deleted, folded or restored.
//
// Threads: stateless; safe from any thread. Processes: safe beside writers
// and readers of the directory; two processes staging one file race only
// on rename, which one of them wins.

#ifndef PROMDIR_LIB_SRC_READER_REPROVE_H_
#define PROMDIR_LIB_SRC_READER_REPROVE_H_

#include <string>
#include <string_view>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "promdir/liveness.h"
#include "promdir/status.h"

namespace promdir::reader {

// Opens `path` without following a symlink and asks ProbeWriter with the
// writer id `writer_id`. NotFound if the file vanished; InvalidArgument
// naming the path if it is a symlink or not a regular file.
Status ProbeFile(Env* env, const std::string& path, std::string_view writer_id,
                 LivenessMode mode, Verdict* verdict, FileInfo* info);

// Step 1: renames `dir`/`name` (parsed as `file`) to a free staging name,
// without replacing anything; sets *staged to its base name. NotFound if it
// vanished.
Status StageFile(Env* env, const std::string& dir, const std::string& name,
                 const format::FileName& file, std::string* staged);

// Step 3 for a live file: renames the staged file back to its writer's
// name, never replacing a file there. On failure (a new writer made that
// name), the file stays under its staging name, still read by everyone.
Status RestoreFile(Env* env, const std::string& dir, const std::string& staged,
                   const format::FileName& file);

enum class Deed {
  kDone,      // proved dead and deleted
  kLive,      // a writer has it (or the kernel cannot say): left alone
  kVanished,  // gone before we acted
};

// Steps 1-3 for a delete: stages `dir`/`name`, probes it under `mode`, and
// deletes it iff dead (or, with `remove_unknown`, iff not proved live: an
// operator's mark-dead where the kernel cannot be asked), else restores it.
// *how says why (the verdict, or where a restore failed). An error only
// where the file system failed.
Status RemoveIfDead(Env* env, const std::string& dir, const std::string& name,
                    LivenessMode mode, bool remove_unknown, Deed* deed,
                    std::string* how);

// A writer's temporary file (format::IsWriterTempName) left by a writer
// killed while it created a file. Deletes `dir`/`name` iff the kernel
// proves its writer gone: no lock on it and nothing has it open for
// writing (LivenessMode::kAuto). Where the kernel cannot be asked (no lease
// on another user's file without CAP_LEASE), iff it is unlocked and older
// than a minute, longer than any creation takes. Right before the delete
// the name must still hold the probed file. With dry_run nothing is
// deleted. Sets *removed, or *why it stays.
Status RemoveStaleWriterTemp(Env* env, const std::string& dir,
                             const std::string& name, bool dry_run,
                             bool* removed, std::string* why);

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_REPROVE_H_
