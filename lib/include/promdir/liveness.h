// Liveness: does any process still write a file?
//
// The kernel knows, without pids. Under the default mode (kAuto) a file is
// live when a promdir writer holds its lock, or when any process has it
// open for writing or mapped writable; it is dead only on positive proof of
// neither. Both answers come from the kernel of the file, so they hold
// across pid namespaces and containers, for any writer id (a pid, a uWSGI
// worker id, any string), and whatever pid the id names now:
//
//   - a promdir writer holds a kernel OFD lock on each of its files for its
//     whole life; the kernel drops it when the process dies, however it
//     dies;
//   - Python's writer (MmapedDict) keeps its file open and mapped for the
//     life of the worker; a read-lease probe (F_SETLEASE F_RDLCK, refused
//     with EAGAIN while the file is open for writing anywhere) sees that.
//     Read-only opens (Python's collector, promdir itself) never count.
//
// Where the kernel cannot be asked (leases need the file's owner or
// CAP_LEASE, and a local file system; NFS and FUSE have none) a file with no
// lock is kUnknown: shown, never deleted or folded.
//
// Threads: stateless; safe from any thread.

#ifndef PROMDIR_LIVENESS_H_
#define PROMDIR_LIVENESS_H_

#include <string>
#include <string_view>

namespace promdir {

class Env;

// How a reader decides that a file's writer is gone.
enum class LivenessMode {
  kAuto,  // the kernel: lock held or open for writing -> live (default)
  kLock,  // only the promdir writer lock: a file without one counts as dead
  kPid,   // only the pid in the file name, probed in our pid namespace
          // (Python's mark_process_dead view; wrong across namespaces)
  kNone,  // every writer counts as alive: nothing is pruned or folded
};

// Parses "auto", "lock", "pid", "none". Returns false for anything else.
bool ParseLivenessMode(std::string_view text, LivenessMode* mode);

enum class WriterState { kLive, kDead, kUnknown };

// "live", "dead", "unknown".
std::string_view WriterStateName(WriterState state);

struct Verdict {
  WriterState state = WriterState::kUnknown;
  bool locked = false;  // a promdir writer holds the file's lock
  // Set when the kernel could not be asked (kAuto, no lock, lease refused):
  // why, and what the operator can change. The verdict is then kUnknown.
  bool kernel_unavailable = false;
  std::string how;  // "lock held", "open for writing", ...
};

// Decides the state of the writer of `fd` (opened read-only) whose writer
// id is `id` (the part of the name after the prefix), under `mode`:
//   kAuto: lock held -> live; else open for writing anywhere -> live; else
//          (lease granted) dead. Lease refused: a promdir writer's file
//          (marked, see docs/FORMAT.md) with no lock is dead (its lock is
//          the kernel's answer); any other file is unknown.
//   kLock: lock held -> live, else dead.
//   kPid:  numeric id whose pid exists -> live, else dead; a non-numeric id
//          (an archive, a worker id) -> unknown.
//   kNone: always live.
Verdict ProbeWriter(Env* env, int fd, const std::string& id, LivenessMode mode);

}  // namespace promdir

#endif  // PROMDIR_LIVENESS_H_
