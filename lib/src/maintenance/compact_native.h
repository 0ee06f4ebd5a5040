// Compaction of native histogram files (lib/src/native_format.h): dead
// writers' `histogram_native_<id>.ndb` files are folded into
// `histogram_native_archive.ndb`, merged as the collector merges them.
//
// Crash safety without the journal: the archive names what it folded. Its
// bytes past `used` list each source's base name, device and inode
// (native_file.h: EncodeArchiveSources), and readers skip a file whose
// name, device and inode the archive lists. So:
//
//  1. Recover: sources the archive lists that are still present (a crash
//     after the last commit) are deleted.
//  2. Each dead writer's file (ProbeFile under options.liveness; never a
//     live or unknown one) is renamed, under the exclusive `.promdir.lock`,
//     to `histogram_native_<id>.compacting[N].ndb` (a writer that reuses
//     the id now makes a new file), then probed again; a live one is put
//     back.
//  3. The archive and the staged files are read and merged into a new
//     archive written under a temporary name (not *.ndb), fsynced.
//  4. Under the exclusive `.promdir.lock`: the new archive is renamed over
//     the old one (the commit point: readers see either the old archive and
//     the staged files, or the new archive, which makes them skipped), then
//     the staged files are deleted.
//
// Every step may be killed: before 4 the staged files still count and the
// temporary file is no reader's; after the rename, the listed sources are
// skipped until step 1 of the next run deletes them.
//
// Threads: one call at a time per directory, under the compactor's lock
// (`.promdir-compact.lock`), which Compact holds when it calls this.

#ifndef PROMDIR_LIB_SRC_MAINTENANCE_COMPACT_NATIVE_H_
#define PROMDIR_LIB_SRC_MAINTENANCE_COMPACT_NATIVE_H_

#include <string>

#include "lib/src/env.h"
#include "promdir/maintenance.h"

namespace promdir::maintenance {

// Folds the dead writers' native files of options.directory. With
// options.dry_run, only reports what it would fold. Errors per file go to
// result->errors; a Status only if the directory cannot be listed or the
// archive cannot be written.
Status CompactNative(Env* env, const MaintenanceOptions& options,
                     MaintenanceResult* result);

// Creates `path` afresh (mode 0644 before the umask) and writes `data`,
// fsynced; a stale file or planted symlink under the name is unlinked first
// and the create is exclusive. Sets *info (if not null). Shared with
// compact.cc.
Status WriteWholeFile(Env* env, const std::string& path,
                      const std::string& data, FileInfo* info);

}  // namespace promdir::maintenance

#endif  // PROMDIR_LIB_SRC_MAINTENANCE_COMPACT_NATIVE_H_
