// `promdir dump` of a native histogram file (histogram_native_<id>.ndb):
// one line (or JSON object) per series, at the coarsest schema it holds.

#include <ostream>
#include <string>

#include "commands.h"
#include "promdir/exposition.h"
#include "promdir/reader.h"
#include "promdir/text.h"

namespace promdir::cli {

namespace {

std::string BucketList(const std::vector<std::pair<int32_t, uint64_t>>& b,
                       bool json) {
  std::string s = json ? "[" : "";
  for (size_t i = 0; i < b.size(); ++i) {
    if (i) s += ",";
    s += json ? "[" + std::to_string(b[i].first) + ", " +
                    std::to_string(b[i].second) + "]"
              : std::to_string(b[i].first) + ":" + std::to_string(b[i].second);
  }
  return json ? s + "]" : (s.empty() ? "-" : s);
}

void PrintEntry(const NativeFileEntry& e, const DecodedKey& k, bool json,
                std::ostream& out) {
  const NativeSeries& h = e.histogram;
  if (json) {
    out << "{\"family\": " << JsonString(k.metric_name) << ", \"labels\": {";
    for (size_t i = 0; i < k.labels.size(); ++i) {
      out << (i ? ", " : "") << JsonString(k.labels[i].first) << ": "
          << JsonString(k.labels[i].second);
    }
    out << "}, \"count\": " << h.count << ", \"sum\": " << JsonNumber(h.sum)
        << ", \"schema\": " << h.schema
        << ", \"zero_threshold\": " << JsonNumber(h.zero_threshold)
        << ", \"zero_count\": " << h.zero_count
        << ", \"max_buckets\": " << e.max_buckets << ", \"slots\": " << e.slots
        << ", \"slots_used\": " << e.slots_used
        << ", \"positive\": " << BucketList(h.positive, true)
        << ", \"negative\": " << BucketList(h.negative, true)
        << ", \"help\": " << JsonString(k.help) << "}";
    return;
  }
  // As `dump` shows other files: names quoted only if not legacy ones.
  auto name = [](const std::string& n, bool label) {
    bool legacy = label ? IsLegacyLabelName(n)
                        : IsLegacyMetricName(n);
    return legacy ? n : JsonString(n);
  };
  out << name(k.metric_name, false) << "{";
  for (size_t i = 0; i < k.labels.size(); ++i) {
    out << (i ? "," : "") << name(k.labels[i].first, true) << "="
        << JsonString(k.labels[i].second);
  }
  out << "}  count=" << h.count << " sum=" << GoFloat(h.sum)
      << " schema=" << h.schema
      << " zero_threshold=" << GoFloat(h.zero_threshold)
      << " zero_count=" << h.zero_count << " max_buckets=" << e.max_buckets
      << " slots=" << e.slots_used << "/" << e.slots
      << " positive=" << BucketList(h.positive, false)
      << " negative=" << BucketList(h.negative, false) << "\n";
}

}  // namespace

int RunDumpNative(const std::string& path, bool json, std::ostream& out,
                  std::ostream& err) {
  std::vector<NativeFileEntry> entries;
  Status s = ReadNativeMetricsFile(/*env=*/nullptr, path, &entries);
  if (!s.ok()) {
    err << "promdir dump: " << s.message() << "\n";
    return s.IsNotFound() ? kExitProblem : ExitCodeFor(s);
  }
  if (json) out << "[";
  size_t n = 0;
  for (const NativeFileEntry& entry : entries) {
    DecodedKey k;
    if (!DecodeKey(entry.key, &k).ok()) continue;  // checked by the reader
    if (json) out << (n ? ",\n " : "\n ");
    PrintEntry(entry, k, json, out);
    ++n;
  }
  if (json) out << (n ? "\n]\n" : "]\n");
  return kExitOk;
}

}  // namespace promdir::cli
