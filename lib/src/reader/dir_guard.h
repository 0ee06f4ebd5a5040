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

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "promdir/status.h"

namespace promdir {

class Env;

inline constexpr const char kDirLockName[] = ".promdir.lock";

// How long a reader waits for the shared lock, and a compactor or prune for
// the exclusive one, before it goes ahead without it (reader) or fails with
// Busy (writer of the directory). A compactor holds the lock for a few
// renames; anything longer is a stuck or hostile holder, and must not hang
// every scrape.
inline constexpr int kReadLockTimeoutMs = 2000;
inline constexpr int kCommitLockTimeoutMs = 10000;

// Opens (creating, mode 0644 before the umask) the lock file `path`: never
// through a symlink, never blocking on a FIFO, and only a regular file.
// Read-only where it cannot be opened for writing.
Status OpenLockFile(Env* env, const std::string& path, int* fd);
// Takes an OFD lock on fd, waiting at most timeout_ms (forever if < 0).
// Busy if another holder still conflicts then.
Status LockWithin(Env* env, int fd, bool exclusive, int timeout_ms);

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
  ~ReadGuard();
  ReadGuard(const ReadGuard&) = delete;
  ReadGuard& operator=(const ReadGuard&) = delete;
  bool held() const { return fd_ >= 0; }
  bool timed_out() const { return timed_out_; }

 private:
  Env* env_;
  int fd_ = -1;
  bool timed_out_ = false;
};

// The compaction journal `.promdir-compact.journal` (not *.db). The
// compactor writes it (to a temporary name, fsynced, then renamed in) after
// every new archive is on disk under a temporary name and before it commits;
// it deletes it once the commit is complete. Each archive of the journal is
// committed iff its final name holds the new archive's (device, inode): the
// rename that commits it is atomic. The sources of a committed archive are
// already counted in it, so readers skip any of them still present; the
// sources of an archive not committed are still the truth, and its
// temporary file is not *.db, so readers never see it.
inline constexpr char kJournalName[] = ".promdir-compact.journal";

struct JournalFile {
  std::string name;  // base name in the directory
  uint64_t device = 0;
  uint64_t inode = 0;
};

struct JournalArchive {
  JournalFile archive;    // final name; device/inode of the new archive
  std::string temp_name;  // where the new archive waits for its commit
  std::vector<JournalFile> sources;  // folded into it; deleted on commit
};

struct CompactionJournal {
  std::vector<JournalArchive> archives;
};

// Text form, one record a line, tab-separated; names must not contain a tab
// or a newline (the compactor leaves such files alone). The decoder accepts
// only plain names of the directory that promdir could have written there:
// sources are metrics file names (format::ParseFileName, no '/', not . or
// .., no NUL), archives carry an archive id, and each temporary name is
// the one compaction gives that archive. Anything else is Corruption, so a
// journal planted by someone who can write the directory cannot name a file
// elsewhere to delete.
std::string EncodeJournal(const CompactionJournal& journal);
// Corruption naming `path` if `text` is not a whole journal.
Status DecodeJournal(std::string_view text, const std::string& path,
                     CompactionJournal* journal);
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
