// DirectoryCollector: the merge engine. It reads every file of a
// multiprocess directory and merges them into one view, exactly as Python's
// MultiProcessCollector would, but incrementally, and never failing on a bad
// file.
//
// A scrape lists `*.db` in sorted order (under the directory's ReadGuard,
// skipping what HiddenByCompaction hides) and reads each file with pread.
// Per file (device, inode) it keeps the parsed entries: a later scrape
// parses only entries past the previous `used` and rereads values at known
// offsets, and a file that no process has had open for writing since it was
// read is not read again at all (CollectorOptions::reuse_unchanged). Keys
// are interned once per collector (memory grows with distinct series, not
// files x series); a new file whose entries are those of the last file of
// its prefix (workers create their series in the same order) is matched
// byte for byte instead of parsed. Cache entries of vanished files are
// dropped. Output: families sorted by name; samples by labels, then (as
// client_python gives them) a histogram's _sum, buckets by numeric `le`,
// _count; a summary's _count, _sum. Names may be any UTF-8.
//
// Native histograms (`histogram_native_*.ndb`, promdir/native_histogram.h)
// are read beside the engine on every scrape, merged across files and
// attached to the histogram families (MetricFamily::native); a scrape that
// has some renders from the model instead of the engine's plan.
//
// Threads: every method is safe to call from any number of threads at once;
// scrapes take turns (one lock), and a scrape reads files on up to
// `read_threads` threads (the caller's included: with 1, the engine starts
// no thread at all), which share the cache, the predictions and the key
// table under internal locks. Output is rendered outside the lock.
//
// Processes: files are read with read(), never mapped, so a file truncated by
// another process cannot kill the reader. A scrape never blocks a writer
// (writers take no lock a reader waits on; the momentary read lease of
// reuse_unchanged makes a writer opening that file in the same instant wait
// only until it is released). A reader honours each file's `used`, so it
// never sees a half-appended entry.

#ifndef PROMDIR_MERGE_H_
#define PROMDIR_MERGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "promdir/exposition.h"
#include "promdir/liveness.h"
#include "promdir/status.h"

namespace promdir {

class Env;
namespace reader {
class NativeCollector;
}

struct CollectorOptions {
  std::string directory;
  LivenessMode liveness = LivenessMode::kAuto;
  // Delete the live* gauge files of dead writers once they are left out of
  // the view, as `promdir prune` does. When false they are only left out.
  bool prune = false;
  Env* env = nullptr;  // nullptr: Env::Default()
  // Threads that read cached files at once during a scrape (1: only the
  // calling thread). Reading the bytes in use is most of a warm scrape.
  unsigned read_threads = 2;
  // Serve a file from the cache, without reading it again, when no process
  // has had it open for writing since it was last read: the files of
  // writers that are gone, which is most of a directory that piles up.
  // The engine watches the directory (inotify: a writer that opens, writes
  // and exits between two scrapes is seen closing the file) and probes with
  // a momentary read lease that nothing holds the file open for writing
  // now (writes through a mapping make no events). Where either is not
  // available (a network file system, a file owned by another user) files
  // are read every scrape. False: read every file on every scrape.
  bool reuse_unchanged = true;
};

// A file that was skipped, and why.
struct BadFile {
  std::string path;
  std::string reason;   // short code: "empty", "truncated", "bad_key", ...
  std::string message;  // a sentence that names the file and the problem
};

// What one scrape did, for logs and self-metrics.
struct ScrapeStats {
  double duration_seconds = 0;
  // Files by (prefix, state); prefix "counter", "gauge_livesum", ...;
  // state "live", "dead", "unknown" or "bad"; native histogram files
  // ("histogram_native", read whether their writer lives or not) "any".
  std::map<std::pair<std::string, std::string>, uint64_t> files;
  uint64_t entries = 0;     // entries in the merged files
  uint64_t bytes_read = 0;  // bytes read from disk by this scrape
  // Bad files by reason code, as of this scrape.
  std::map<std::string, uint64_t> bad_files_by_reason;
  // Bad files first seen by this scrape: log these once. A file is reported
  // again only if it changes (another inode at that path, or another
  // reason) or was good in between.
  std::vector<BadFile> new_bad_files;
  uint64_t pruned_series = 0;  // live* series left out (dead writers)
  uint64_t pruned_files = 0;   // live* files deleted (with prune = true)
  uint64_t cache_hits = 0;     // files whose parse was reused
  uint64_t cache_misses = 0;   // files parsed from the start
  // Files served from the cache without reading (see reuse_unchanged);
  // they are also cache hits.
  uint64_t files_unchanged = 0;
  // Files that failed to open or read for a reason that passes (EMFILE,
  // ENFILE, ENOMEM, EIO, EACCES, ...) after an earlier scrape read them:
  // served with their last good values, never dropped (a dropped counter
  // looks like a reset). By errno name ("EMFILE"), for this scrape.
  std::map<std::string, uint64_t> read_errors_by_reason;
  // Such files first seen failing by this scrape: log these once.
  std::vector<BadFile> new_read_errors;
  // Series left out because their exposed text is not valid UTF-8 (Python
  // can write a lone surrogate, or an id that is not UTF-8 as the `pid` of
  // an all gauge), which would make a scraper reject the whole scrape.
  uint64_t invalid_series = 0;
  // Those first left out by this scrape (bytes that are not UTF-8 shown as
  // \xNN): log these once.
  std::vector<std::string> new_invalid_series;
  // Set once per collector, the first time the kernel could not be asked
  // whether a file is open for writing (see promdir/liveness.h): why, and
  // what to change. Such files are shown and never deleted or folded.
  std::string liveness_unavailable;
  // What the engine holds after this scrape: distinct keys and series it
  // has parsed, and the bytes of its key table (roughly). They follow the
  // files on disk: keys no file holds any more are released.
  uint64_t keys_held = 0;
  uint64_t series_held = 0;
  uint64_t key_table_bytes = 0;
  uint64_t key_releases = 0;  // 1 if this scrape released the key table
  // 1 when this scrape read without the directory's lock because another
  // process held it past the bound (kReadLockTimeoutMs, 2 s): a compactor
  // stuck mid-commit or a hostile holder. Such a scrape may count files of
  // a compaction in progress twice or not at all; it never hangs. Log it.
  uint64_t lock_timeouts = 0;
  std::string lock_timeout_message;
};

class DirectoryCollector {
 public:
  explicit DirectoryCollector(CollectorOptions options);
  ~DirectoryCollector();
  DirectoryCollector(const DirectoryCollector&) = delete;
  DirectoryCollector& operator=(const DirectoryCollector&) = delete;

  // Merges the directory into families, in a stable order. Returns a non-ok
  // Status only when the directory itself cannot be listed; bad files are
  // skipped and reported in *stats (which may be null).
  Status Collect(std::vector<MetricFamily>* families, ScrapeStats* stats);

  // Collect, then render into *out (appended; no "# EOF").
  Status Render(Exposition format, std::string* out, ScrapeStats* stats);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  // Native histograms (lib/src/reader/native_collect.h).
  std::unique_ptr<reader::NativeCollector> native_;
};

}  // namespace promdir

#endif  // PROMDIR_MERGE_H_
