// WriteGate: the check every handle makes before it writes, so that a child
// created by fork() makes its own file at its first write instead of inside
// fork().
//
// Each file a process writes has one gate. It is open while the handles'
// slots are mapped on a file of this process: then passing it is one relaxed
// load and a branch that is never taken. In a child after fork() the gates of
// the inherited files are closed (the fork handler only unmaps and closes,
// see registry.h); the first write that finds its gate closed takes the slow
// path, OpenGate, which creates the child's own file under the writer mutex,
// maps it where the slots are, and opens the gate. Every later write is the
// fast path again.
//
// Threads: Pass is lock-free and wait-free while the gate is open. OpenGate
// takes the writer mutex; threads that find the gate closed at once all wait
// for the one that makes the file, and none writes before it is mapped.
// Gates are never freed (a handle may outlive its Registry).

#ifndef PROMDIR_WRITE_GATE_H_
#define PROMDIR_WRITE_GATE_H_

#include <atomic>

namespace promdir::detail {

struct WriteGate {
  std::atomic<bool> closed{false};
};

// The slow path of Pass: makes this process's own file for the gate (or, if
// that fails, binds its slots to private memory and logs why), then opens
// the gate. Never throws.
void OpenGate(WriteGate* gate) noexcept;

// An always-open gate, for handles bound to no file.
WriteGate* OpenWriteGate() noexcept;

inline void Pass(WriteGate* gate) noexcept {
  if (__builtin_expect(gate->closed.load(std::memory_order_acquire), false)) {
    OpenGate(gate);
  }
}

}  // namespace promdir::detail

#endif  // PROMDIR_WRITE_GATE_H_
