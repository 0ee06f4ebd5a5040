// `promdir dump` of a native histogram file (histogram_native_<id>.ndb):
// one line (or JSON object) per series, at the coarsest schema it holds.

#include <ostream>
#include <string>

#include "cli/src/commands.h"
#include "lib/src/env.h"
#include "lib/src/float_format.h"
#include "lib/src/key_codec.h"
#include "lib/src/reader/exposition_names.h"
#include "lib/src/reader/native_file.h"

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

void PrintEntry(const reader::NativeEntry& e, const DecodedKey& k, bool json,
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
    bool legacy = label ? exposition::IsLegacyLabelName(n)
                        : exposition::IsLegacyMetricName(n);
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
  std::vector<reader::NativeEntry> entries;
  uint64_t bytes = 0;
  reader::ReadError e =
      reader::ReadNativeFile(Env::Default(), path, &entries, &bytes);
  if (!e.status.ok()) {
    err << "promdir dump: " << e.status.message() << "\n";
    return e.status.IsNotFound() ? kExitProblem : ExitCodeFor(e.status);
  }
  if (json) out << "[";
  size_t n = 0;
  for (const reader::NativeEntry& entry : entries) {
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
