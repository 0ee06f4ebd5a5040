// The names promdir gives files in a multiprocess directory when it takes
// a dead writer's file away (compaction, prune, mark-dead) or folds it.
//
//   <prefix>_archive.db      an archive of 16-byte-layout files
//   <prefix>_archive8.db     an archive of 8-byte-layout files
//   <prefix>_<id>.compacting[N].db
//                            a dead writer's file taken away from its name
//                            (so a process that reuses the id creates a new
//                            file) while its death is proved again and it is
//                            folded or deleted. Still *.db, so both Python
//                            and promdir keep counting it.
//   .promdir-compact.lock    held by the one running compactor
//   .promdir-compact.<archive>.tmp
//                            a new archive waiting for its commit (not *.db)
//
// Archive ids contain no `_` and no digit-only text, so no pid can be one,
// and Python's reader splits the names as it splits its own.
//
// Pure functions; safe from any thread.

#ifndef PROMDIR_LIB_SRC_DIR_NAMES_H_
#define PROMDIR_LIB_SRC_DIR_NAMES_H_

#include <string>
#include <string_view>

#include "promdir/file_format.h"

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
