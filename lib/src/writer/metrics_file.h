// MetricsFile: one `<prefix>_<id>.db` file of this process, mapped for
// writing.
//
// The file is mapped once over a large fixed range (kMapReserve) and grows
// under the mapping, so the address of every value stays fixed for the life
// of the process: handles keep raw pointers into it. Space is reserved with
// Env::Allocate before an entry is written into it. An entry is appended by
// writing its bytes past `used` and then publishing the new `used` with a
// release store, so a concurrent reader that honours `used` sees whole
// entries only.
//
// Threads: FindOrAppend, ReplaceInChild and Detach require the writer mutex
// (file_store.h). Value updates through the returned pointers need no lock.
// Processes: the process holds an OFD write lock on the file while it is
// attached; exactly one process writes a file.

#ifndef PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_
#define PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/src/env.h"
#include "promdir/file_format.h"
#include "promdir/status.h"

namespace promdir::writer {

// Virtual address range reserved for each file: the largest a file may
// grow. Where the address space is limited, Open falls back to a quarter,
// and so on down to kMinMapReserve (or the file's size if larger).
inline constexpr size_t kMapReserve = size_t{1} << 30;
inline constexpr size_t kMinMapReserve = size_t{1} << 20;

class MetricsFile {
 public:
  // Opens or creates `<dir>/<prefix>_<id>.db` and locks it. A new (empty)
  // file gets 64 KiB, `used` = 8 and the magic "pdir". An existing file is
  // walked in `layout`, else in the other layout; its entries are kept and
  // its layout wins. Returns Busy if a live writer holds the file's lock,
  // Corruption (naming the file and the reason) if an existing file does
  // not walk, and the Env's Status otherwise. The lock is always on the
  // file that has the name once locked (`attempt` counts the retries when
  // the name was replaced meanwhile, as compaction does).
  static Status Open(Env* env, const std::string& dir,
                     const std::string& prefix, const std::string& id,
                     ValueLayout layout, std::unique_ptr<MetricsFile>* out,
                     int attempt = 0);

  // Leaves the mapping in place (handles may still point into it).
  ~MetricsFile();

  // Returns the value slot of `key`, appending the entry (value 0, and
  // timestamp 0 in the 16-byte layout) if the file does not have it yet.
  // NoSpace/IOError naming the file when it cannot grow.
  Result<double*> FindOrAppend(const std::string& key);

  // In a child after fork(): creates the child's own file under `id` (or
  // `<id>-<n>` if a file of that name exists) with the same entries at
  // value 0, maps it over this file's mapping, and closes the inherited
  // descriptor. On failure the range becomes private anonymous memory, the
  // file is detached, and the Status says why.
  Status ReplaceInChild(const std::string& id);

  // Replaces the mapping with private anonymous memory and closes the
  // file, releasing its lock. Later FindOrAppend calls fail.
  void Detach();

  Env* env() const { return env_; }
  const std::string& path() const { return path_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& id() const { return id_; }
  ValueLayout layout() const { return layout_; }
  size_t num_entries() const { return value_offsets_.size(); }
  bool detached() const { return fd_ < 0; }

 private:
  MetricsFile() = default;
  Status LoadExisting(uint64_t size, ValueLayout preferred);

  Env* env_ = nullptr;
  std::string dir_;
  std::string prefix_;
  std::string id_;
  std::string path_;
  int fd_ = -1;
  char* base_ = nullptr;
  uint64_t capacity_ = 0;
  size_t reserve_ = kMapReserve;  // bytes of address space mapped at base_
  uint32_t used_ = 0;
  ValueLayout layout_ = ValueLayout::k16;
  std::unordered_map<std::string, uint32_t> index_;  // key -> value offset
  std::vector<uint32_t> value_offsets_;              // in file order
};

// Walks `data[0, used)` as a metrics file in `layout`. On success fills
// `keys` and `value_offsets` in file order. Corruption with a reason and an
// offset otherwise. Exposed for tests.
Status WalkEntries(std::string_view data, ValueLayout layout,
                   std::vector<std::string>* keys,
                   std::vector<uint32_t>* value_offsets);

}  // namespace promdir::writer

#endif  // PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_
