// Liveness: is the process that wrote a file still running?
//
// A promdir writer holds a kernel OFD lock on each of its files for its whole
// life; the kernel drops it when the process dies, however it dies, so a lock
// probe needs no pid and is immune to pid reuse and pid namespaces. Python's
// writers take no lock; for their files the id in the file name is taken as a
// pid and probed with kill(pid, 0) in our pid namespace.
//
// Threads: stateless; safe from any thread.

#ifndef PROMDIR_LIVENESS_H_
#define PROMDIR_LIVENESS_H_

#include <string>

#include "promdir/merge.h"

namespace promdir {

class Env;

enum class WriterState { kLive, kDead, kUnknown };

// "live", "dead", "unknown".
std::string_view WriterStateName(WriterState state);

struct Verdict {
  WriterState state = WriterState::kUnknown;
  bool locked = false;  // a promdir writer holds the file's lock
  std::string how;      // "lock held", "no lock, pid 123 exists", ...
};

// Decides the state of the writer of the open file `fd` whose writer id is
// `id` (the part of the name after the prefix), under `mode`:
//   kAuto: lock held -> live; else a numeric id whose pid exists -> live
//          (a Python writer); else dead. A promdir writer's file whose lock
//          is gone is dead even if its pid was reused.
//   kLock: lock held -> live, else dead.
//   kPid:  numeric id whose pid exists -> live, else dead; a non-numeric id
//          (an archive, a worker id) -> unknown.
//   kNone: always live.
// promdir writers mark their files as theirs (see docs/FORMAT.md) so that
// kAuto does not trust a pid for them.
Verdict ProbeWriter(Env* env, int fd, const std::string& id, LivenessMode mode);

}  // namespace promdir

#endif  // PROMDIR_LIVENESS_H_
