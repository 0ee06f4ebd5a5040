#include "promdir/liveness.h"

#include <charconv>
#include <cstring>

#include "lib/src/env.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/liveness_internal.h"

namespace promdir {

namespace {

// Returns the pid an id names, or 0 if it is not a positive decimal int.
int PidOf(const std::string& id) {
  if (id.empty() || id.size() > 10) return 0;
  int pid = 0;
  auto [p, ec] = std::from_chars(id.data(), id.data() + id.size(), pid);
  if (ec != std::errc() || p != id.data() + id.size() || pid <= 0) return 0;
  if (id[0] == '0') return 0;
  return pid;
}

}  // namespace

std::string_view WriterStateName(WriterState state) {
  switch (state) {
    case WriterState::kLive: return "live";
    case WriterState::kDead: return "dead";
    case WriterState::kUnknown: return "unknown";
  }
  return "unknown";
}

bool ParseLivenessMode(std::string_view text, LivenessMode* mode) {
  if (text == "auto") *mode = LivenessMode::kAuto;
  else if (text == "lock") *mode = LivenessMode::kLock;
  else if (text == "pid") *mode = LivenessMode::kPid;
  else if (text == "none") *mode = LivenessMode::kNone;
  else return false;
  return true;
}

namespace reader {

namespace {

// kAuto once no lock is held: the lease probe decides.
Verdict ProbeOpenForWriting(Env* env, int fd, bool magic) {
  Verdict v;
  bool open = false;
  Status s = fd >= 0 ? env->WritersOpen(fd, &open)
                     : Status::InvalidArgument("file not open");
  if (s.ok()) {
    v.state = open ? WriterState::kLive : WriterState::kDead;
    v.how = open ? "no lock, open for writing" : "no lock, not open for writing";
    return v;
  }
  if (magic) {  // a promdir writer holds its lock for life
    v.state = WriterState::kDead;
    v.how = "promdir writer, lock released";
    return v;
  }
  v.state = WriterState::kUnknown;
  v.kernel_unavailable = true;
  v.how = "cannot ask the kernel whether a writer has it open (" +
          s.message() + ")";
  return v;
}

}  // namespace

Verdict ProbeWriterWithMagic(Env* env, int fd, const std::string& id,
                             LivenessMode mode, bool magic) {
  Verdict v;
  if (mode == LivenessMode::kNone) {
    v.state = WriterState::kLive;
    v.how = "liveness checks are off";
    return v;
  }
  if (mode == LivenessMode::kAuto || mode == LivenessMode::kLock) {
    bool locked = false;
    Status s = env->IsLocked(fd, &locked);
    if (s.ok() && locked) {
      v.state = WriterState::kLive;
      v.locked = true;
      v.how = "lock held";
      return v;
    }
    if (mode == LivenessMode::kLock) {
      v.state = s.ok() ? WriterState::kDead : WriterState::kUnknown;
      v.how = s.ok() ? "no lock held" : "lock probe failed: " + s.message();
      return v;
    }
    if (!s.ok()) {
      v.state = WriterState::kUnknown;
      v.how = "lock probe failed: " + s.message();
      return v;
    }
    return ProbeOpenForWriting(env, fd, magic);
  }
  int pid = PidOf(id);
  if (pid == 0) {
    v.state = WriterState::kUnknown;
    v.how = "id " + id + " is not a pid";
    return v;
  }
  bool exists = env->PidExists(pid);
  v.state = exists ? WriterState::kLive : WriterState::kDead;
  v.how = "pid " + id + (exists ? " exists" : " does not exist");
  return v;
}

Verdict ProbeUnopened(Env* env, const std::string& id, LivenessMode mode,
                      bool magic) {
  if (mode == LivenessMode::kAuto || mode == LivenessMode::kLock) {
    // The engine knows it: the lease probe found it closed, and the
    // directory watch has seen no open of it since. A lock needs an open.
    Verdict v;
    v.state = WriterState::kDead;
    v.how = magic ? "promdir writer, file closed" : "not opened since found closed";
    return v;
  }
  // (The probe on fd -1 answers at once for kNone; kPid asks the pid.)
  return ProbeWriterWithMagic(env, -1, id, mode, magic);
}

}  // namespace reader

Verdict ProbeWriter(Env* env, int fd, const std::string& id,
                    LivenessMode mode) {
  bool magic = false;
  if (mode == LivenessMode::kAuto) {
    char header[format::kHeaderSize];
    size_t got = 0;
    if (env->ReadAt(fd, 0, header, sizeof header, &got).ok() &&
        got == sizeof header) {
      magic = format::HasWriterMark(header);
    }
  }
  return reader::ProbeWriterWithMagic(env, fd, id, mode, magic);
}

}  // namespace promdir
