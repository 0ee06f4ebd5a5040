// MetricsFile: one `<prefix>_<id>.db` file of this process, mapped for
// writing.
//
// Mappings. Handles keep raw pointers to value slots, so a slot's address
// never changes. The file is first mapped over a small range (kInitialReserve,
// or the file's size rounded up to a power of two). When the file must grow
// past the newest mapping, a new mapping twice as large (or more) is made
// elsewhere and becomes the one appends and new handles use; the older ones
// stay mapped for the handles that point into them. All are MAP_SHARED views
// of the same file, so an update through any of them lands in the one page
// of the page cache: nothing is lost or counted twice. A file grows up to
// kMaxFileSize; the address space of all its mappings is less than twice its
// size (plus kInitialReserve).
//
// Appends. Space is reserved with Env::Allocate before an entry is written
// into it. An entry is appended by writing its bytes past `used` and then
// publishing the new `used` with a release store, so a concurrent reader that
// honours `used` sees whole entries only.
//
// fork(). In the child, ForgetInChild (run by the fork handler) replaces
// every mapping by private zero pages at the same address, closes the
// inherited descriptor (the parent's lock stays with the parent) and closes
// the write gate: no file is made. MakeOwnFile, at the child's first write
// (through the gate, or at a new series), creates the child's file from the
// keys it remembers, all values 0, and maps it over every range.
//
// Threads: every method but the accessors requires the writer mutex
// (file_store.h). Value updates through the returned pointers need no lock.
// Processes: the process holds an OFD write lock on the file while it is
// attached; exactly one process writes a file.

#ifndef PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_
#define PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/src/env.h"
#include "promdir/file_format.h"
#include "promdir/status.h"
#include "promdir/write_gate.h"

namespace promdir::writer {

// The largest file a writer makes or reopens.
inline constexpr uint64_t kMaxFileSize = uint64_t{1} << 30;
// The address space of a file's first mapping.
inline constexpr size_t kInitialReserve = size_t{256} << 10;

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

  // Leaves the mappings in place (handles may still point into them).
  ~MetricsFile();

  // Returns the value slot of `key`, appending the entry (value 0, and
  // timestamp 0 in the 16-byte layout) if the file does not have it yet; in
  // a child after fork, an append first makes the child's own file.
  // NoSpace/IOError naming the file when it cannot grow.
  Result<double*> FindOrAppend(const std::string& key);

  // The native-histogram file's kind of FindOrAppend (native_format.h):
  // returns the payload of `key`, appending the entry (payload `config`
  // followed by zeros up to its size) if the file does not have it yet.
  // An existing entry keeps its own configuration.
  Result<char*> FindOrAppendNative(const std::string& key,
                                   const std::string& config);
  // True for a native-histogram file (`histogram_native_<id>.ndb`).
  bool native() const;

  // The fork handler's part in the child (see above). Only system calls: no
  // allocation, no file.
  void ForgetInChild();

  // In a child after fork, before its first write: creates the child's own
  // file `<dir>/<prefix>_<pid>.db` (or `<pid>-<n>` if that name is taken)
  // with this file's entries at value 0 and maps it at every mapping's
  // address. On failure the slots stay private memory, the file is detached
  // and the Status says why. Opens the gate either way. OK at once if the
  // file is not waiting for that.
  Status MakeOwnFile();

  // Replaces the mappings with private memory and closes the file,
  // releasing its lock. Later FindOrAppend calls fail. Opens the gate.
  void Detach();

  // The gate of this file's handles; it outlives the file.
  detail::WriteGate* gate() const { return gate_; }
  // True in a child after fork until MakeOwnFile.
  bool forked() const { return forked_; }
  Env* env() const { return env_; }
  const std::string& path() const { return path_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& id() const { return id_; }
  ValueLayout layout() const { return layout_; }
  size_t num_entries() const { return value_offsets_.size(); }
  bool detached() const { return fd_ < 0; }

 private:
  struct Region {
    char* addr;
    size_t length;
  };

  MetricsFile();
  Status LoadExisting(uint64_t size, ValueLayout preferred);
  // Maps [0, length) of the file somewhere new and makes it the newest.
  Status AddRegion(size_t length);
  // The file's bytes [0, used_) rebuilt from the index, values 0 (native
  // payloads keep their configuration).
  std::string ZeroedImage() const;
  // Makes room for an entry of `entry` bytes past used_, growing the file.
  Status Reserve(size_t key_size, size_t entry);
  // Writes key_len, key and padding past used_; returns the value's place.
  char* WriteKey(const std::string& key);
  // Publishes the entry of `entry` bytes just written past used_ (a release
  // store of the new used) and indexes it; returns its value offset.
  uint32_t Publish(const std::string& key, size_t entry);

  std::unique_ptr<Env> own_env_;  // a DirectoryEnv for dir_
  Env* env_ = nullptr;
  std::string dir_;
  std::string prefix_;
  std::string id_;
  std::string path_;
  int fd_ = -1;
  bool forked_ = false;
  detail::WriteGate* gate_;
  char* base_ = nullptr;         // the newest mapping
  std::vector<Region> regions_;  // every mapping, oldest first
  uint64_t capacity_ = 0;        // the file's allocated size
  uint32_t used_ = 0;
  ValueLayout layout_ = ValueLayout::k16;
  std::unordered_map<std::string, uint32_t> index_;  // key -> value offset
  std::vector<uint32_t> value_offsets_;              // in file order
  // Native files: value offset -> the payload's configuration bytes.
  std::unordered_map<uint32_t, std::string> configs_;
};

// Walks `data[0, used)` as a metrics file in `layout`. On success fills
// `keys` and `value_offsets` in file order. Corruption with a reason and an
// offset otherwise. Exposed for tests.
Status WalkEntries(std::string_view data, ValueLayout layout,
                   std::vector<std::string>* keys,
                   std::vector<uint32_t>* value_offsets);

// Shared by metrics_file.cc and metrics_file_fork.cc.

// The same code as `s`, with `context` in front of its message.
Status Annotate(const Status& s, const std::string& context);

// `<dir>/<prefix>_<id>.db`, or `.ndb` for native_format.h's prefix.
std::string FilePath(const std::string& dir, const std::string& prefix,
                     const std::string& id);

// Creates `path` complete: a hidden temporary file (not *.db, so readers
// never list it) is locked, sized to `size` and given `contents`, then
// renamed into place without replacing anything. Readers thus never see an
// empty or partial new file. Sets *existed if `path` appeared meanwhile
// (the caller then opens that one); *fd holds the locked file on success.
Status CreateComplete(Env* env, const std::string& dir, const std::string& path,
                      std::string_view contents, uint64_t size, int* fd,
                      bool* existed);

// The address space of a mapping that holds `size` bytes: kInitialReserve,
// doubled until it does.
size_t ReserveFor(uint64_t size);

// A new open gate that is never freed. REQUIRES: the writer mutex.
detail::WriteGate* NewGate();

}  // namespace promdir::writer

#endif  // PROMDIR_LIB_SRC_WRITER_METRICS_FILE_H_
