// Accumulator: the per-series sums of one scrape. Each key id knows the
// series it adds to under each family type (a counter's own series, a
// histogram bucket's canonical bucket, a gauge's series without `pid`);
// AddFile adds one file's values into those series by the family's type
// and gauge mode (sum, min, max, mostrecent), and hands all/liveall gauge
// values back, one per writer. Series touched by the scrape are listed in
// touched(); a series' value is reset the first time a scrape touches it.
//
// Threads: none of its own; used by the scrape's thread only, after the
// reads. It reads the key table, which nothing changes meanwhile.

#ifndef PROMDIR_LIB_SRC_READER_ACCUMULATOR_H_
#define PROMDIR_LIB_SRC_READER_ACCUMULATOR_H_

#include <cstdint>
#include <vector>

#include "lib/src/reader/file_cache.h"
#include "lib/src/reader/key_table.h"

namespace promdir::merge_detail {

// A family as this scrape merges it: type and help from the first file
// that names it, the gauge mode from the last gauge file that does.
struct FamilyState {
  bool seen = false;
  FileType type = FileType::kCounter;
  GaugeMode mode = GaugeMode::kNone;
  uint32_t help_key = reader::kNoId;
};

// The families of `files` (indexed by family id of `table`).
std::vector<FamilyState> FamilyStates(const reader::KeyTable& table,
                                      const std::vector<ScrapeFile>& files);

struct AllGaugeValue {
  uint32_t series;  // without pid
  uint32_t file;    // index into the scrape's files
  double value;
};

class Accumulator {
 public:
  // Starts a scrape over `table`: targets for keys added since the last
  // scrape (interning pid-less series), room for every series, and no
  // series touched.
  void Begin(reader::KeyTable* table);
  // Adds file `fi` of the scrape (all/liveall gauge values go to *all).
  void AddFile(const std::vector<FamilyState>& fams, uint32_t fi,
               ScrapeFile& f, std::vector<AllGaugeValue>* all);
  // Marks `series` touched by this scrape; true the first time (its
  // value is then reset to 0).
  bool Touch(uint32_t series) {
    if (stamp_[series] == stamp_now_) return false;
    stamp_[series] = stamp_now_;
    acc_[series] = 0.0;
    acc_ts_[series] = 0.0;
    touched_.push_back(series);
    return true;
  }
  double& value(uint32_t series) { return acc_[series]; }
  std::vector<uint32_t>& touched() { return touched_; }
  // Forgets everything (the key table is replaced).
  void Clear() { *this = Accumulator(); }

 private:
  // Per key id: the series it adds to under each family type.
  struct KeyMerge {
    uint32_t family;
    uint32_t series;     // counter, summary
    uint32_t histogram;  // the canonical bucket, or the series
    uint32_t gauge;      // the series without `pid`
    uint32_t For(FileType t) const {
      return t == FileType::kHistogram ? histogram
             : t == FileType::kGauge   ? gauge
                                       : series;
    }
  };
  // True iff every family of the file merges under the file's own type
  // and mode (as always, unless two clients disagree on a family).
  static bool OwnTypes(const std::vector<FamilyState>& fams,
                       const CachedFile& cf, FileType type, GaugeMode mode);
  // One value of a gauge family of mode `mode` (not sum) into series s.
  void AddGauge(GaugeMode mode, uint32_t s, uint32_t fi, double v, double ts,
                std::vector<AllGaugeValue>* all);

  std::vector<KeyMerge> key_merge_;
  std::vector<double> acc_;
  std::vector<double> acc_ts_;
  // stamp_[series] == stamp_now_: touched by this scrape (in touched_).
  std::vector<uint32_t> stamp_;
  uint32_t stamp_now_ = 0;
  std::vector<uint32_t> touched_;
};

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_ACCUMULATOR_H_
