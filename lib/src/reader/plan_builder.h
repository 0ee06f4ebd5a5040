// The plan of a scrape: the merged view, in exposition order, and how it
// is built from the Accumulator's sums (PlanBuilder) and rendered
// (RenderPlan, plan_render.cc). Families come sorted by name; samples by
// labels, then a histogram's _sum, buckets by numeric `le` with running
// totals, _count (the total of the buckets); a summary's _count, _sum;
// all/liveall gauges one sample per writer id, with its `pid` label.
// Series whose exposed text is not valid UTF-8 are left out, each
// reported once.
//
// A Plan points into the KeyTable, whose Series and strings never move or
// change once made, and holds the table, so it is rendered without the
// engine's lock, on any thread, while later scrapes run.
//
// Threads: PlanBuilder is used by the scrape's thread only (it remembers
// per-series facts between scrapes). RenderPlan may run on many threads
// at once, each on its own plan or sharing one (it only reads the plan).

#ifndef PROMDIR_LIB_SRC_READER_PLAN_BUILDER_H_
#define PROMDIR_LIB_SRC_READER_PLAN_BUILDER_H_

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "lib/src/reader/accumulator.h"
#include "lib/src/reader/executor.h"
#include "lib/src/reader/key_table.h"
#include "promdir/merge.h"

namespace promdir::merge_detail {

using reader::Series;

struct PlanSample {
  const Series* series;
  double value;
  uint32_t writer;     // all/liveall gauges: index into Plan::writers
  uint32_t pid_split;  // where `pid` goes into series->text (AppendWithPid)
};

struct PlanFamily {
  const std::string* name;
  const std::string* help;
  MetricType type;
  std::vector<PlanSample> samples;
};

struct Plan {
  // The key table the samples point into, kept alive while the plan is
  // (the engine may replace its table to release memory).
  std::shared_ptr<const reader::KeyTable> table;
  std::vector<PlanFamily> families;
  std::vector<std::string> writers;  // writer ids of all/liveall samples
  std::vector<std::string> writer_labels;  // each as `pid="<id>"`
};

MetricType TypeOf(FileType t);
// Appends a series of an all/liveall gauge: its text with the writer's
// `pid` label at `split` (see PlanBuilder::PidSplit).
void AppendWithPid(const Series& s, uint32_t split, const std::string& pid,
                   std::string* out);
// The merged view as the model (prometheus-cpp and AppendFamilies).
MetricFamily ToModel(const Plan& plan, const PlanFamily& pf);
// Renders the plan; the same bytes as AppendFamilies on its model.
// Protobuf goes through the model, family by family. A large view is
// rendered in two halves, the second on `executor`.
void RenderPlan(const Plan& plan, Exposition format,
                reader::Executor* executor, std::string* out);

class PlanBuilder {
 public:
  // Builds *plan from the scrape's sums. REQUIRES: table->Ranks() current,
  // every value of `files` added to *acc (all/liveall ones in *all).
  void Build(const std::shared_ptr<reader::KeyTable>& table,
             const std::vector<FamilyState>& fams,
             const std::vector<ScrapeFile>& files, Accumulator* acc,
             std::vector<AllGaugeValue>* all, Plan* plan, ScrapeStats* stats);
  // Forgets everything (the key table is replaced: ids are reused).
  void Clear() { *this = PlanBuilder(); }

 private:
  struct Scrape;  // one Build's inputs and working lists
  // Touches each histogram group's _count, computed from its buckets.
  void TouchCounts(Scrape* s);
  // Touched series by family, each list in rank order.
  void SeriesByFamily(Scrape* s);
  // all/liveall values: the last per (series, writer id), by family.
  void AllGaugeWinners(Scrape* s);
  void AddFamily(Scrape* s, uint32_t fid);
  void AddHistogramSamples(Scrape* s, uint32_t fid, PlanFamily* pf);
  void AddAllGaugeSamples(Scrape* s, uint32_t fid, PlanFamily* pf);
  // True iff series `sid`'s exposed text is valid UTF-8; the first time one
  // is not, it is added to stats->new_invalid_series.
  bool SeriesIsUtf8(const reader::KeyTable& table, uint32_t sid,
                    ScrapeStats* stats);
  // Where `pid` goes into the text of series `sid` (see AppendWithPid).
  uint32_t PidSplit(const reader::KeyTable& table, uint32_t sid);

  static constexpr uint32_t kBadWriter = reader::kNoId - 1;
  std::vector<uint8_t> rank_mark_;
  std::vector<uint32_t> pid_split_;  // per series; kNoId: not made yet
  // Per series: 0 not checked yet, 1 valid UTF-8, 2 not (left out).
  std::vector<uint8_t> series_utf8_;
  // Writer ids that are not UTF-8 already reported (all/liveall gauges).
  std::unordered_set<std::string> bad_writer_ids_;
};

}  // namespace promdir::merge_detail

#endif  // PROMDIR_LIB_SRC_READER_PLAN_BUILDER_H_
