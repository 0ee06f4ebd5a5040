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
// The locks are FileLocks (lib/src/file_lock.h); ReadGuard is a reader's
// bounded shared hold of `.promdir.lock`.
//
// Threads: a ReadGuard belongs to one thread; any number may exist at once.

#ifndef PROMDIR_LIB_SRC_READER_DIR_GUARD_H_
#define PROMDIR_LIB_SRC_READER_DIR_GUARD_H_

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/src/dir_names.h"
#include "lib/src/file_lock.h"
#include "promdir/status.h"

namespace promdir {

class Env;

class ReadGuard {
 public:
  // Takes the shared lock, waiting while a compactor commits, but at most
  // timeout_ms. If the lock file cannot be opened or created (a read-only
  // directory, a symlink or other non-regular file planted under its name),
  // or the lock stays held past the timeout (timed_out()), the guard is
  // empty and the read goes ahead without it: at worst that one scrape may
  // count a file being compacted twice or not at all.
  ReadGuard(Env* env, const std::string& dir,
            int timeout_ms = kReadLockTimeoutMs);
  bool held() const { return lock_.held(); }
  bool timed_out() const { return timed_out_; }

 private:
  FileLock lock_;
  bool timed_out_ = false;
};

// The journal's name and codec are in lib/src/dir_names.h.

// Reads dir's journal. NotFound if there is none.
Status ReadJournal(Env* env, const std::string& dir,
                   CompactionJournal* journal);
// True iff `archive` is committed: its final name holds the new inode.
bool ArchiveCommitted(Env* env, const std::string& dir,
                      const JournalArchive& archive);

// Sets *hidden to the base names among `names` that a reader must skip right
// now so that nothing is counted twice or lost, as the directory's
// compaction journal says. With no journal, *hidden is empty.
Status HiddenByCompaction(Env* env, const std::string& dir,
                          const std::vector<std::string>& names,
                          std::set<std::string>* hidden);

}  // namespace promdir

#endif  // PROMDIR_LIB_SRC_READER_DIR_GUARD_H_
