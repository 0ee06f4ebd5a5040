// Options: where a worker process writes its metrics files and how.
//
// Options is a plain value. Options::FromEnvironment() reads the variables
// that Python's prometheus_client and promdir's tools use:
//
//   PROMETHEUS_MULTIPROC_DIR   the directory (prometheus_multiproc_dir is the
//                              fallback, as in older deployments)
//   PROMDIR_WORKER_ID          the file id instead of the pid, e.g. "3" for
//                              the fourth worker of a pool; a worker that
//                              restarts with the same id continues from the
//                              values of its predecessor's files
//   PROMDIR_VALUE_LAYOUT       "16" (value and timestamp; prometheus_client
//                              0.18 and later) or "8" (0.17 and older,
//                              including Debian 12's 0.16)
//
// Thread safety: a value; reading the environment is safe from any thread
// that does not modify it at the same time.

#ifndef PROMDIR_OPTIONS_H_
#define PROMDIR_OPTIONS_H_

#include <string>

#include "promdir/file_format.h"
#include "promdir/status.h"

namespace promdir {

class Env;

struct Options {
  // The multiprocess directory. It must exist and be writable; the Registry
  // checks it at the first registration. Empty means "not configured", an
  // error at the first registration.
  std::string directory;

  // The id in file names (`counter_<id>.db`). Empty: the process id. A
  // child created by fork() always writes under its own pid.
  std::string worker_id;

  // Bytes per value in files this process creates. A file that already
  // exists keeps the layout it was written with.
  ValueLayout layout = ValueLayout::k16;

  // The OS seam (promdir/env.h); null means Env::Default(). Tests inject
  // faults here.
  Env* env = nullptr;

  // Options from the environment variables above. Throws
  // std::invalid_argument naming the variable and its value when one is
  // malformed (PROMDIR_VALUE_LAYOUT=12, an empty or '/'-containing worker
  // id). A missing directory variable is not an error here (see directory).
  static Options FromEnvironment();

  // Like FromEnvironment, with the error as a Status (InvalidArgument).
  static Result<Options> TryFromEnvironment();
};

}  // namespace promdir

#endif  // PROMDIR_OPTIONS_H_
