// libFuzzer target: the native histogram file parser (lib/src/reader/
// native_file.h) and what the collector does with what it parses: the
// chunked walk on every prefix length the reader could stop at, every
// entry merged into one series (schema reduction, zero bucket), the bucket
// limit, and the protobuf and text exposition of the result. The input is
// a whole `.ndb` file from offset 0.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "lib/src/native_format.h"
#include "lib/src/reader/native_file.h"
#include "promdir/exposition.h"

using namespace promdir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 8) {
    // The reader's walk of a file still arriving: never an error past
    // what a whole-file walk reports, never beyond the data.
    uint64_t pos = 8;
    std::string why = native::WalkEntries(bytes.substr(0, size / 2), &pos,
                                          false, [](const native::EntryRef&) {});
    if (pos > size) std::abort();
  }
  std::vector<reader::NativeEntry> entries;
  reader::ReadError e = reader::ParseNativeFile(bytes, "fuzz.ndb", &entries);
  if (!e.ok()) {
    if (!entries.empty()) std::abort();
    return 0;
  }
  MetricFamily f;
  f.name = "fuzz";
  f.type = MetricType::kHistogram;
  NativeSeries merged;
  bool first = true;
  for (reader::NativeEntry& ne : entries) {
    if (ne.histogram.schema < native::kMinSchema ||
        ne.histogram.schema > native::kMaxSchema) {
      std::abort();
    }
    f.native.push_back(ne.histogram);
    if (first) {
      merged = ne.histogram;
      first = false;
    } else {
      reader::AddNative(&merged, ne.histogram);
    }
  }
  reader::LimitBuckets(&merged, 3);
  for (size_t i = 1; i < merged.positive.size(); ++i) {
    if (merged.positive[i - 1].first >= merged.positive[i].first) std::abort();
  }
  f.native.push_back(merged);
  for (NativeSeries& n : f.native) {
    f.samples.push_back(Sample{"fuzz_sum", n.labels, n.sum});
    f.samples.push_back(
        Sample{"fuzz_count", n.labels, static_cast<double>(n.count)});
  }
  std::string out;
  AppendFamilies(ExpositionFormat::kProtobuf, {f}, &out);
  AppendFamilies(ExpositionFormat::kText004, {f}, &out);
  return 0;
}
