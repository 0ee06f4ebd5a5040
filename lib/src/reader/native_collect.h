// NativeCollector: the native-histogram part of a DirectoryCollector scrape.
// It lists the directory's `histogram_native_*.ndb` files (under the
// directory's ReadGuard, so a compaction's commit is seen whole), reads each with
// ReadNativeFile, and merges the series of all files by (name, labels):
// reduced to the coarsest schema present, the highest zero threshold, counts
// and sums added, then reduced further until the series has at most the
// smallest max bucket count its writers asked for. As for classic
// histograms, the files of dead writers count as well (no liveness check).
// Bad files are skipped and reported in ScrapeStats (once per file and
// reason, as the engine does). The archive compaction writes
// (lib/src/maintenance/compact_native.h) is read first; files it lists as
// folded (same name, device and inode) are skipped.
//
// AttachNative then puts the merged series into the families the engine
// produced (promdir/exposition.h: MetricFamily::native).
//
// Threads: Collect may be called from any number of threads at once; calls
// take turns on an internal mutex (which guards only the bad-file memory).
// AttachNative is a pure function.
// Processes: files are read, never mapped; writers are never blocked.

#ifndef PROMDIR_LIB_SRC_READER_NATIVE_COLLECT_H_
#define PROMDIR_LIB_SRC_READER_NATIVE_COLLECT_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "lib/src/env.h"
#include "promdir/exposition.h"
#include "promdir/merge.h"

namespace promdir::reader {

// The merged native series of one family name, sorted by labels.
struct NativeFamily {
  std::string name;
  std::string help;
  std::vector<NativeSeries> series;
};

class NativeCollector {
 public:
  NativeCollector(Env* env, std::string directory);

  // Reads and merges every native file. Families sorted by name. Returns
  // a non-ok Status only if the directory cannot be listed.
  Status Collect(std::vector<NativeFamily>* out, ScrapeStats* stats);

 private:
  Env* const env_;
  const std::string dir_;
  std::mutex mu_;
  std::map<std::string, std::string> reported_;  // path -> message
};

// Adds each native series to `families` (sorted by name): to the histogram
// family of its name, beside the classic samples of the same labels if
// there are some, else with _sum, a +Inf bucket and _count samples; a name
// no family has becomes a new histogram family. A native series whose name
// is a family of another type is left out (and counted in *dropped).
void AttachNative(std::vector<NativeFamily> natives,
                  std::vector<MetricFamily>* families, uint64_t* dropped);

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_NATIVE_COLLECT_H_
