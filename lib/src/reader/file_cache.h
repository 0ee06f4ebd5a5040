// FileCache: what the merge engine keeps of each file between scrapes: its
// parsed entries (shared EntryTables), its last good and frozen values,
// which bad files were already reported, and which are remembered bad.
//
// Files only append, so the entries parsed up to `parsed` stay valid while
// the file keeps its device, inode, name and birth time. A scrape claims
// each file it reads (CachedFile::generation = the scrape's), after which
// only the claiming thread touches that CachedFile until the scrape's
// reads are done; files not claimed by a scrape are dropped at its end.
//
// Threads: the map, the bad-file memo and last_ids are guarded by mu()
// while a scrape's readers run (members say which take it themselves);
// the rest is used by the scrape's own thread only, between reads. The
// whole cache belongs to one collector, whose scrapes take turns.

#ifndef PROMDIR_LIB_SRC_READER_FILE_CACHE_H_
#define PROMDIR_LIB_SRC_READER_FILE_CACHE_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/format.h"
#include "lib/src/path.h"
#include "lib/src/reader/file_reader.h"

namespace promdir::merge_detail {

struct FileId {
  uint64_t device = 0;
  uint64_t inode = 0;
  bool operator==(const FileId&) const = default;
};

struct FileIdHash {
  size_t operator()(const FileId& f) const {
    return std::hash<uint64_t>()(f.inode * 0x9e3779b97f4a7c15ull ^ f.device);
  }
};

// A family of a file, in order of first appearance.
struct FamilyEntry {
  uint32_t family;  // family id
  uint32_t key;     // the key that first named it (its help is the family's)
  uint32_t entry;   // that key's entry index
};

// The entries of a file, as parsed: which key each entry holds and where
// its value is. Workers create their series in the same order, so most
// files of a prefix have the same entries at the same offsets: they share
// one table (or the first entries of one), so memory grows with the
// distinct tables, not with the files. A table shared by several owners
// never changes; a file that grows gets its own copy first (Own).
struct EntryTable {
  std::vector<uint32_t> keys;     // key id of each entry
  std::vector<uint32_t> offsets;  // value offset of each entry
  std::vector<FamilyEntry> families;
  // The series each entry adds to under its files' own type (they share a
  // prefix). Made by the Accumulator, on the scrape's thread, up to
  // keys.size(), for a table that several hold.
  std::vector<uint32_t> targets;
};

// What the engine keeps of one file between scrapes (see the top).
struct CachedFile {
  std::string name;
  uint64_t birth_ns = 0;  // 0: the file system records none
  bool layout_known = false;
  ValueLayout layout = ValueLayout::k16;
  uint64_t parsed = format::kHeaderSize;
  // The file's entries: the first `count` of *entries (null until the
  // first entries are parsed, or taken from a prediction).
  std::shared_ptr<EntryTable> entries;
  uint32_t count = 0;
  uint64_t generation = 0;
  bool magic = false;  // a promdir writer's file
  // Unchanged since it was read: no process had it open for writing then,
  // and the directory watch has reported nothing of its name since (not
  // even an open). Scrapes serve these values without opening the file.
  bool frozen = false;
  std::vector<double> frozen_values;
  std::vector<double> frozen_timestamps;  // 16-byte layout only
  // The values the last scrape read (unless frozen), served again if the
  // file cannot be read for a reason that passes (ServeLastGood).
  std::vector<double> last_values;
  std::vector<double> last_timestamps;

  // Calls f(family, key) for the file's families in order.
  template <typename F>
  void ForEachFamily(F&& f) const {
    if (!entries) return;
    for (const FamilyEntry& e : entries->families) {
      if (e.entry >= count) break;
      f(e.family, e.key);
    }
  }
  // True iff this is still the file `name` whose identity is `info` (same
  // device and inode, as the cache's key says): its name and a known birth
  // time match. Where the file system records no birth time it is never
  // trusted, and the file is parsed again from the start.
  bool SameFile(const std::string& base, const FileInfo& info) const {
    return name == base && birth_ns != 0 && birth_ns == info.birth_ns;
  }
  // Makes *entries this file's alone, holding exactly its entries, before
  // it is extended. REQUIRES: the caller claimed this file.
  EntryTable& Own();
  void Unfreeze();
  // Forgets the parse (a file read again from the start) but keeps the
  // name and the claim.
  void Restart(const std::string& base, uint64_t birth_ns, uint64_t gen);
};

// One file merged by this scrape.
struct ScrapeFile {
  CachedFile* cache = nullptr;
  format::FileName name;
  // The values read by this scrape, or the cache's frozen copy (a moved
  // vector keeps its buffer, so the spans survive moving the ScrapeFile).
  std::vector<double> own_values;
  std::vector<double> own_timestamps;
  std::span<const double> values;
  std::span<const double> timestamps;  // empty in the 8-byte layout
};

class FileCache {
 public:
  std::mutex& mu() { return mu_; }
  // The scrape now running (its claims carry this generation).
  uint64_t generation() const { return generation_; }
  void NextGeneration() { ++generation_; }

  // REQUIRES (all below): mu() held, or no reader thread running.
  std::unordered_map<FileId, CachedFile, FileIdHash>& files() { return files_; }
  CachedFile* Find(const FileId& id) {
    auto it = files_.find(id);
    return it == files_.end() ? nullptr : &it->second;
  }
  // The file `id` as this scrape's claim: a new empty one, or the cached
  // one unless another name of the same inode (a hard link) claimed it
  // already (then null: the caller parses that name on its own).
  CachedFile* Claim(const FileId& id, bool* inserted);
  // The file each name was at the last scrape (ServeLastGood).
  std::unordered_map<std::string, FileId>& last_ids() { return last_ids_; }

  // True (and *err set) if `base` is remembered bad and unchanged since.
  // Takes mu().
  bool KnownBad(const std::string& base, const FileInfo& info,
                reader::ReadError* err);
  // Remembers a file found bad, if its content was at fault and its mtime
  // is well behind `read_at` (a change in the same tick would go unseen).
  void RememberBad(const std::string& base, const FileInfo& info,
                   double read_at, const reader::ReadError& err);
  // True iff the bad file `path` (file `id`, `reason`) was not reported
  // yet as it is now; remembers it as reported.
  bool FirstReport(const std::string& path, const FileId& id,
                   reader::BadReason reason);
  // After a scrape: forgets bad files that are not bad now, and drops the
  // files this scrape did not claim (calling dropped(cf, id) for each).
  template <typename F>
  void EndScrape(const std::string& dir, const std::unordered_set<std::string>& bad_now,
                 F&& dropped);
  // Forgets every parse (the key table they point into is replaced).
  void Clear() {
    files_.clear();
    last_ids_.clear();
  }

 private:
  std::mutex mu_;
  uint64_t generation_ = 0;
  std::unordered_map<FileId, CachedFile, FileIdHash> files_;
  std::unordered_map<std::string, FileId> last_ids_;
  // Bad files already reported: path -> (file, reason).
  std::unordered_map<std::string, std::pair<FileId, reader::BadReason>> reported_;
  struct BadMemo {
    FileInfo info;
    reader::ReadError err;
  };
  // Bad files not read again while unchanged (device, inode, size, mtime).
  std::unordered_map<std::string, BadMemo> bad_memo_;
  static constexpr double kBadMemoQuietSeconds = 2.0;
};

template <typename F>
void FileCache::EndScrape(const std::string& dir,
                          const std::unordered_set<std::string>& bad_now,
                          F&& dropped) {
  std::erase_if(reported_,
                [&](const auto& r) { return !bad_now.count(r.first); });
  std::erase_if(bad_memo_, [&](const auto& m) {
    return !bad_now.count(JoinPath(dir, m.first));
  });
  std::erase_if(files_, [&](auto& c) {
    if (c.second.generation == generation_) return false;
    dropped(c.second, c.first);
    return true;
  });
}

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_FILE_CACHE_H_
