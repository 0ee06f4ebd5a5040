// EntryParser: the merge engine's key table and the parse of entries into
// it. Parse turns a file's entries (from where its last parse stopped)
// into key ids: the prediction's own where it has the key (most often
// without hashing), else the table's, interning new keys; a key that is
// bad in the file's type ends the file with a reason naming the entry.
//
// Threads: Parse, Complete and AddFamilies may run on any number of reader
// threads at once. One shared_mutex guards the table: Parse looks keys up
// and checks them under it shared, so readers parse side by side, and
// takes it exclusive only to intern new keys; Complete takes it exclusive
// (see prefix_predictor.h). table() and Reset() are for the scrape's
// thread when no reader runs; so is AddFamilies (TakeKeys).

#ifndef PROMDIR_LIB_SRC_READER_ENTRY_PARSER_H_
#define PROMDIR_LIB_SRC_READER_ENTRY_PARSER_H_

#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "lib/src/reader/file_cache.h"
#include "lib/src/reader/key_table.h"
#include "lib/src/reader/prefix_predictor.h"

namespace promdir::merge_detail {

class EntryParser {
 public:
  // The table (replaced by Reset; a Plan holds the one it points into).
  const std::shared_ptr<reader::KeyTable>& table() const { return table_; }
  // Parses data[cf->parsed, size) of a file of `type` into *cf (claimed by
  // the caller), comparing entries with `predicted` (used if usable)
  // before looking them up. Detects the layout if cf->layout_known is
  // false. False (and *err) if the file is bad.
  bool Parse(const std::string& path, std::string_view data, FileType type,
             const Prediction* predicted, CachedFile* cf,
             reader::ReadError* err);
  // Completes `made` once its file was parsed: its table if ok, else failed.
  void Complete(Prediction* made, const std::shared_ptr<EntryTable>& entries,
                bool ok);
  // Appends to t->families those of entries [from, end) that it lacks, in
  // order of first appearance. REQUIRES: no reader thread running.
  void AddFamilies(EntryTable* t, size_t from) const;
  // A new, empty table.
  void Reset() { table_ = std::make_shared<reader::KeyTable>(); }

 private:
  struct Miss {  // an entry whose key is not in the table yet
    size_t index;
    uint64_t off;
    size_t size;
  };
  // Step 1 of Parse, under the shared lock: each entry's key id, or kNoId
  // (listed in *misses). False (and *err) if no layout walks the entries.
  bool LookUp(const std::string& path, std::string_view data,
              const Prediction* predicted, CachedFile* cf, EntryTable* table,
              std::vector<Miss>* misses, reader::ReadError* err);
  // Step 3: the first key of entries [from, end) bad in `type` (*err).
  bool CheckKeys(const std::string& path, const EntryTable& table,
                 size_t from, FileType type, reader::ReadError* err) const;

  std::shared_ptr<reader::KeyTable> table_ =
      std::make_shared<reader::KeyTable>();
  mutable std::shared_mutex mu_;
};

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_ENTRY_PARSER_H_
