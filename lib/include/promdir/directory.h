// The multiprocess directory named by the environment.
//
//   std::string dir = promdir::DirectoryFromEnvironment();
//   if (dir.empty()) { /* neither variable is set */ }
//
// Python's prometheus_client reads PROMETHEUS_MULTIPROC_DIR, and before it
// the lower-case prometheus_multiproc_dir; promdir's writers, collector and
// CLI read both, in that order, through this one function.
//
// CheckDirectoryListable asks whether the directory can be listed now (a
// collector's readiness).
//
// Threads: safe from any thread while no thread changes the environment.

#ifndef PROMDIR_DIRECTORY_H_
#define PROMDIR_DIRECTORY_H_

#include <cstdlib>
#include <functional>
#include <string>

#include "promdir/status.h"

namespace promdir {

// PROMETHEUS_MULTIPROC_DIR if set and not empty, else
// prometheus_multiproc_dir if set and not empty, else "". `getenv` looks a
// variable up (std::getenv by default; tests pass their own).
std::string DirectoryFromEnvironment(
    const std::function<const char*(const char*)>& getenv = std::getenv);

// OK iff `dir` can be listed now; otherwise the error, naming it.
Status CheckDirectoryListable(const std::string& dir);

}  // namespace promdir

#endif  // PROMDIR_DIRECTORY_H_
