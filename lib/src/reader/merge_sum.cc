// Adding up a scrape's files (Accumulator) while the key table sorts new
// series into exposition order, then building the plan (PlanBuilder).
#include "lib/src/reader/merge_internal.h"

namespace promdir {

void DirectoryCollector::Impl::Merge(std::vector<ScrapeFile>& files,
                                     Plan* plan, ScrapeStats* stats) {
  reader::KeyTable* table = parser_.table().get();
  const std::vector<merge_detail::FamilyState> fams =
      merge_detail::FamilyStates(*table, files);
  acc_.Begin(table);
  // New series need a new exposition order: sort them on another thread
  // while this one adds up the values (nothing below adds series).
  reader::Executor::Group sorter(&executor_);
  if (!table->RanksCurrent()) sorter.Spawn([table] { table->Ranks(); });
  std::vector<merge_detail::AllGaugeValue> all;
  for (uint32_t fi = 0; fi < files.size(); ++fi) {
    acc_.AddFile(fams, fi, files[fi], &all);
  }
  sorter.Wait();
  builder_.Build(parser_.table(), fams, files, &acc_, &all, plan, stats);
}

}  // namespace promdir
