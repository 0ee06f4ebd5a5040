// ProbeFile: the liveness verdict for one file of the directory, by path.
//
// Threads: stateless. Processes: opens the file read-only and closes it; a
// read-only descriptor takes no lock, so it never disturbs a writer.

#ifndef PROMDIR_LIB_SRC_MAINTENANCE_PROBE_H_
#define PROMDIR_LIB_SRC_MAINTENANCE_PROBE_H_

#include <string>
#include <string_view>

#include "lib/src/env.h"
#include "promdir/liveness.h"
#include "promdir/merge.h"
#include "promdir/status.h"

namespace promdir::maintenance {

// Opens `path` without following a symlink and asks ProbeWriter with the
// writer id `writer_id`. NotFound if the file vanished; InvalidArgument
// naming the path if it is a symlink or not a regular file.
//
// Deleting or folding a file is not undoable, so this is stricter than the
// view: under kAuto, a file with no promdir writer mark whose id is not a
// number (a lockless writer with a custom id) cannot be probed and is
// kUnknown, never kDead.
Status ProbeFile(Env* env, const std::string& path, std::string_view writer_id,
                 LivenessMode mode, Verdict* verdict, FileInfo* info);

}  // namespace promdir::maintenance

#endif  // PROMDIR_LIB_SRC_MAINTENANCE_PROBE_H_
