// DirectoryCollectable: a multiprocess directory as a prometheus-cpp
// Collectable, so that a C++ program that already serves prometheus-cpp
// metrics can expose the merged directory beside its own registry:
//
//   auto dir = std::make_shared<promdir::DirectoryCollectable>(options);
//   exposer.RegisterCollectable(dir);
//
// Each Collect() is one scrape of the directory by a DirectoryCollector
// (incremental, never failing on a bad file), returned in prometheus-cpp's
// model: counters as "<name>_total" families (prometheus-cpp writes the
// family name as the sample name), histograms with cumulative buckets in
// ClientMetric::histogram, summaries with sample_count and sample_sum,
// gauges (an `all` gauge keeps its `pid` label). A sample that does not fit
// its family's shape is returned as an untyped family of its own name, so no
// value is lost.
//
// Note: prometheus-cpp's own TextSerializer writes HELP unescaped, "Nan",
// and 16-digit doubles; promdir's writers (promdir/exposition.h) do not.
//
// Threads: Collect() may run on any number of threads at once (the Exposer
// calls it from its server threads). Processes: as DirectoryCollector.

#ifndef PROMDIR_PROMETHEUS_COLLECTABLE_H_
#define PROMDIR_PROMETHEUS_COLLECTABLE_H_

#include <functional>
#include <memory>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "promdir/merge.h"

namespace promdir {

// Converts merged families to prometheus-cpp's model (see above).
std::vector<prometheus::MetricFamily> ToPrometheusFamilies(
    const std::vector<MetricFamily>& families);

class DirectoryCollectable : public prometheus::Collectable {
 public:
  // `on_scrape`, if set, is called after each scrape with its stats (for
  // logging new bad files; it runs on the collecting thread).
  explicit DirectoryCollectable(
      CollectorOptions options,
      std::function<void(const Status&, const ScrapeStats&)> on_scrape = {});
  ~DirectoryCollectable() override;

  // Scrapes the directory. An unreadable directory gives no families (and
  // its Status goes to on_scrape).
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::unique_ptr<DirectoryCollector> collector_;
  std::function<void(const Status&, const ScrapeStats&)> on_scrape_;
};

}  // namespace promdir

#endif  // PROMDIR_PROMETHEUS_COLLECTABLE_H_
