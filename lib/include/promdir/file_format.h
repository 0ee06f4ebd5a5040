// The vocabulary of the directory format that the public API needs: value
// layouts, file types and gauge modes. docs/FORMAT.md describes the bytes.

#ifndef PROMDIR_FILE_FORMAT_H_
#define PROMDIR_FILE_FORMAT_H_

#include <cstdint>

namespace promdir {

// Bytes per value. k16 (value and timestamp) is what prometheus_client 0.18
// and later write, and promdir's default; k8 is for directories shared with
// clients 0.17 and older (Debian 12 ships 0.16). Nothing in a file says which
// it is; readers work it out per file.
enum class ValueLayout : uint8_t { k8 = 8, k16 = 16 };

enum class FileType : uint8_t { kCounter, kGauge, kHistogram, kSummary };

// Gauge multiprocess modes. The live* modes keep only the series of live
// processes; the others keep a dead process's last value.
enum class GaugeMode : uint8_t {
  kNone,  // not a gauge
  kAll,
  kLiveAll,
  kMin,
  kLiveMin,
  kMax,
  kLiveMax,
  kSum,
  kLiveSum,
  kMostRecent,
  kLiveMostRecent,
};

}  // namespace promdir

#endif  // PROMDIR_FILE_FORMAT_H_
