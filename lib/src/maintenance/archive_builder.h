// ArchiveBuilder: folds the entries of several metrics files of one
// (type, gauge mode, layout) into the entries of one archive file whose
// merge gives what the files gave:
//   counter, histogram (per bucket), summary, gauge sum: the sum per key;
//   gauge min / max: the first value seen, replaced only by a strictly
//     smaller / larger one (Python's rule), so feed files in the order
//     readers merge them (sorted by name);
//   gauge mostrecent: the value with the greatest timestamp (first seen on
//     ties); a key seen only with timestamp 0 keeps timestamp 0, so readers
//     still leave it out.
// Keys keep their exact bytes and their first-seen order.
//
// Threads: one builder per thread. Processes: none (memory only).

#ifndef PROMDIR_LIB_SRC_MAINTENANCE_ARCHIVE_BUILDER_H_
#define PROMDIR_LIB_SRC_MAINTENANCE_ARCHIVE_BUILDER_H_

#include <string>
#include <unordered_map>
#include <vector>

#include "promdir/file_format.h"
#include "promdir/reader.h"
#include "promdir/status.h"

namespace promdir::maintenance {

class ArchiveBuilder {
 public:
  // REQUIRES: mode is not all/liveall (those are per-process and never
  // archived); a live mode merges as its base mode.
  ArchiveBuilder(FileType type, GaugeMode mode, ValueLayout layout);

  void Add(const FileContents& file);

  size_t entries() const { return keys_.size(); }

  // The whole archive file: header (used, zero padding) and the entries.
  // InvalidArgument if it would exceed the format's 2 GiB limit.
  Status Serialize(std::string* out) const;

 private:
  struct Slot {
    double value;
    double timestamp;
  };
  FileType type_;
  GaugeMode mode_;
  ValueLayout layout_;
  std::vector<std::string> keys_;
  std::vector<Slot> slots_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace promdir::maintenance

#endif  // PROMDIR_LIB_SRC_MAINTENANCE_ARCHIVE_BUILDER_H_
