// Every name promdir gives a file in a multiprocess directory besides a
// writer's own <prefix>_<id>.db (lib/src/format.h), and the codec of the
// compaction journal:
//
//   <prefix>_archive.db      an archive of 16-byte-layout files
//   <prefix>_archive8.db     an archive of 8-byte-layout files
//   <prefix>_<id>.compacting[N].db
//                            a dead writer's file taken away from its name
//                            (so a process that reuses the id creates a new
//                            file) while its death is proved again and it is
//                            folded or deleted. Still *.db, so both Python
//                            and promdir keep counting it.
//   .promdir.lock            readers' shared lock; the compactor's exclusive
//                            one while it commits (lib/src/reader/dir_guard.h)
//   .promdir-compact.lock    held by the one running compactor
//   .promdir-compact.journal the compaction journal (below), written first
//                            as .promdir-compact.journal.tmp
//   .promdir-compact.<archive>.tmp
//                            a new archive waiting for its commit (not *.db)
//   .<name>.db.tmp-<pid>     a promdir writer's file before it is renamed
//                            into place (format::WriterTempName)
//
// Archive ids contain no `_` and no digit-only text, so no pid can be one,
// and Python's reader splits the names as it splits its own.
//
// Pure functions; safe from any thread. Every name is opened with
// FileLock or O_NOFOLLOW, never through a symlink (docs/FORMAT.md 6.4).

#ifndef PROMDIR_LIB_SRC_DIR_NAMES_H_
#define PROMDIR_LIB_SRC_DIR_NAMES_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "promdir/file_format.h"
#include "promdir/status.h"

namespace promdir {

inline constexpr const char kDirLockName[] = ".promdir.lock";

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
inline constexpr char kJournalTempName[] = ".promdir-compact.journal.tmp";

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
}  // namespace promdir

namespace promdir::maintenance {

inline constexpr char kCompactorLockName[] = ".promdir-compact.lock";
inline constexpr char kTempPrefix[] = ".promdir-compact.";
inline constexpr char kTempSuffix[] = ".tmp";
inline constexpr char kStagingMark[] = ".compacting";

// "archive" for k16, "archive8" for k8.
std::string_view ArchiveId(ValueLayout layout);
// True iff `id` is an archive id.
bool IsArchiveId(std::string_view id);

// The id a writer used for a file: `id` without a staging mark.
std::string_view WriterId(std::string_view id);
// True iff `id` carries a staging mark.
bool IsStagedId(std::string_view id);
// "<id>.compacting" for attempt 0, "<id>.compacting<N>" after.
std::string StagedId(std::string_view writer_id, int attempt);

// ".promdir-compact.<archive_name>.tmp".
std::string TempName(std::string_view archive_name);
// True iff `name` is a temporary name compaction makes.
bool IsTempName(std::string_view name);

}  // namespace promdir::maintenance

#endif  // PROMDIR_LIB_SRC_DIR_NAMES_H_
