// ProbeWriter for a caller that has already read the file's header, so the
// probe costs no extra read. Threads: stateless; safe from any thread.

#ifndef PROMDIR_LIB_SRC_READER_LIVENESS_INTERNAL_H_
#define PROMDIR_LIB_SRC_READER_LIVENESS_INTERNAL_H_

#include <string>

#include "promdir/liveness.h"

namespace promdir::reader {

// As ProbeWriter; `magic` says whether offset 4 holds format::kWriterMark.
Verdict ProbeWriterWithMagic(Env* env, int fd, const std::string& id,
                             LivenessMode mode, bool magic);

// The verdict on a file that no process has open for writing (the merge
// engine knows it without opening the file: a lease probe found it closed
// and the directory watch saw no open since): under kAuto and kLock it is
// dead; under kPid the pid decides; under kNone it is live.
Verdict ProbeUnopened(Env* env, const std::string& id, LivenessMode mode,
                      bool magic);

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_LIVENESS_INTERNAL_H_
