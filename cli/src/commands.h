// The commands of the `promdir` tool, as functions of their options and
// two streams, so tests run them in-process. cli/main.cc only parses
// arguments and calls these.
//
// Exit codes (every command):
//   0  done; nothing wrong found
//   1  problems found (check: a bad file) or the operation failed
//   2  usage error (bad flag or value, no directory)
//   3  busy: another compaction runs, or live writers hold files (wipe)
//
// Threads: each call is self-contained.

#ifndef PROMDIR_CLI_SRC_COMMANDS_H_
#define PROMDIR_CLI_SRC_COMMANDS_H_

#include <ostream>
#include <string>
#include <vector>

#include "promdir/exposition.h"
#include "promdir/maintenance.h"

namespace promdir::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitProblem = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBusy = 3;

// The directory to use: `flag` if set, else $PROMETHEUS_MULTIPROC_DIR, else
// $prometheus_multiproc_dir. Empty if none is set.
std::string ResolveDirectory(const std::string& flag);

// The exit code for a Status from the library.
int ExitCodeFor(const Status& status);

int RunLs(const MaintenanceOptions& options, bool json, std::ostream& out,
          std::ostream& err);
int RunDump(const std::string& path, bool json, std::ostream& out,
            std::ostream& err);
// A native histogram file (`*.ndb`): RunDump calls it for such names.
int RunDumpNative(const std::string& path, bool json, std::ostream& out,
                  std::ostream& err);
int RunCheck(const MaintenanceOptions& options, std::ostream& out,
             std::ostream& err);
// With process_exits, the caller exits right after: the merge engine's
// memory is left to the OS instead of being freed piece by piece (a
// measurable part of a one-shot collect of a large directory).
int RunCollect(const MaintenanceOptions& options, Exposition format,
               std::ostream& out, std::ostream& err,
               bool process_exits = false);
int RunPrune(const MaintenanceOptions& options, std::ostream& out,
             std::ostream& err);
int RunMarkDead(const MaintenanceOptions& options,
                const std::vector<std::string>& ids, std::ostream& out,
                std::ostream& err);
int RunCompact(const MaintenanceOptions& options, std::ostream& out,
               std::ostream& err);
int RunWipe(const MaintenanceOptions& options, bool force, std::ostream& out,
            std::ostream& err);

// Helpers the commands share, exposed for tests.
// JSON string (ensure_ascii); bytes that are not UTF-8 become \ufffd.
std::string JsonString(std::string_view s);
// A JSON number, or the strings "NaN", "+Inf", "-Inf".
std::string JsonNumber(double v);

}  // namespace promdir::cli

#endif  // PROMDIR_CLI_SRC_COMMANDS_H_
