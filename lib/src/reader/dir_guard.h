// Coordination between readers of a directory and its compactor.
//
// The directory's lock file `.promdir.lock` (not *.db, so Python ignores it)
// carries an OFD lock. A promdir reader holds it shared while it lists and
// reads the files of one scrape; the compactor holds it exclusively only
// while it commits (renames an archive in and deletes its sources). So a
// reader never sees an archive together with its sources, nor neither.
// The kernel drops the lock of a killed compactor; the compaction journal
// then tells readers which files to skip until the next compaction ends the
// interrupted one (see HiddenByCompaction).
//
// Threads: a ReadGuard belongs to one thread; any number may exist at once.

#ifndef PROMDIR_LIB_SRC_READER_DIR_GUARD_H_
#define PROMDIR_LIB_SRC_READER_DIR_GUARD_H_

#include <set>
#include <string>
#include <vector>

#include "promdir/status.h"

namespace promdir {

class Env;

inline constexpr const char kDirLockName[] = ".promdir.lock";

class ReadGuard {
 public:
  // Takes the shared lock, waiting while a compactor commits. If the lock
  // file cannot be opened or created (a read-only directory), the guard is
  // empty and the read goes ahead without it.
  ReadGuard(Env* env, const std::string& dir);
  ~ReadGuard();
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  Env* env_;
  int fd_ = -1;
};

// Sets *hidden to the base names among `names` that a reader must skip right
// now so that nothing is counted twice or lost, as the directory's
// compaction journal says. With no journal, *hidden is empty.
Status HiddenByCompaction(Env* env, const std::string& dir,
                          const std::vector<std::string>& names,
                          std::set<std::string>* hidden);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_READER_DIR_GUARD_H_
