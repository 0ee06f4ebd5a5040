#include "lib/src/format.h"

#include <algorithm>
#include <cstring>

namespace promdir::format {

namespace {
struct ModeName {
  GaugeMode mode;
  std::string_view name;
};
constexpr ModeName kModeNames[] = {
    {GaugeMode::kAll, "all"},
    {GaugeMode::kLiveAll, "liveall"},
    {GaugeMode::kMin, "min"},
    {GaugeMode::kLiveMin, "livemin"},
    {GaugeMode::kMax, "max"},
    {GaugeMode::kLiveMax, "livemax"},
    {GaugeMode::kSum, "sum"},
    {GaugeMode::kLiveSum, "livesum"},
    {GaugeMode::kMostRecent, "mostrecent"},
    {GaugeMode::kLiveMostRecent, "livemostrecent"},
};
}  // namespace

void EncodeHeader(uint32_t used, bool writer_mark, char* out) {
  int32_t used32 = static_cast<int32_t>(used);
  std::memcpy(out, &used32, 4);
  if (writer_mark) {
    std::memcpy(out + 4, kWriterMark, 4);
  } else {
    std::memset(out + 4, 0, 4);
  }
}

size_t EncodeEntryKey(std::string_view key, char* at) {
  int32_t key_len = static_cast<int32_t>(key.size());
  std::memcpy(at, &key_len, 4);
  std::memcpy(at + 4, key.data(), key.size());
  std::memset(at + 4 + key.size(), ' ', PadLength(key.size()));
  return ValueOffset(key.size());
}

std::string DescribeWalkProblem(const WalkProblem& p, uint64_t used) {
  std::string at = " at offset " + std::to_string(p.pos);
  switch (p.stop) {
    case WalkStop::kEnd:
      return "";
    case WalkStop::kCutOff:
      return "entry" + at + " is cut off by used (" + std::to_string(used) +
             ")";
    case WalkStop::kNegativeLength:
      return "negative key length " + std::to_string(p.key_len) + at;
    case WalkStop::kOversizedLength:
      return "oversized key length " + std::to_string(p.key_len) + at;
    case WalkStop::kPastUsed:
      return "entry of key length " + std::to_string(p.key_len) + at +
             " runs past used (" + std::to_string(used) + ")";
    case WalkStop::kNotList:
      break;
  }
  return "key" + at + " is not JSON (not a list)";
}

std::string_view GaugeModeName(GaugeMode mode) {
  for (const auto& m : kModeNames) {
    if (m.mode == mode) return m.name;
  }
  return "";
}

std::optional<GaugeMode> ParseGaugeMode(std::string_view name) {
  for (const auto& m : kModeNames) {
    if (m.name == name) return m.mode;
  }
  return std::nullopt;
}

bool IsLiveMode(GaugeMode mode) {
  switch (mode) {
    case GaugeMode::kLiveAll:
    case GaugeMode::kLiveMin:
    case GaugeMode::kLiveMax:
    case GaugeMode::kLiveSum:
    case GaugeMode::kLiveMostRecent:
      return true;
    default:
      return false;
  }
}

GaugeMode BaseMode(GaugeMode mode) {
  switch (mode) {
    case GaugeMode::kLiveAll:
      return GaugeMode::kAll;
    case GaugeMode::kLiveMin:
      return GaugeMode::kMin;
    case GaugeMode::kLiveMax:
      return GaugeMode::kMax;
    case GaugeMode::kLiveSum:
      return GaugeMode::kSum;
    case GaugeMode::kLiveMostRecent:
      return GaugeMode::kMostRecent;
    default:
      return mode;
  }
}

std::string_view FileTypeName(FileType type) {
  switch (type) {
    case FileType::kCounter:
      return "counter";
    case FileType::kGauge:
      return "gauge";
    case FileType::kHistogram:
      return "histogram";
    case FileType::kSummary:
      return "summary";
  }
  return "";
}

std::string FileName::Prefix() const {
  std::string p(FileTypeName(type));
  if (type == FileType::kGauge) {
    p += '_';
    p += GaugeModeName(mode);
  }
  return p;
}

std::string FileName::ToString() const { return MakeFileName(Prefix(), id); }

std::string MakeFileName(std::string_view prefix, std::string_view id) {
  std::string s(prefix);
  s += '_';
  s += id;
  s += ".db";
  return s;
}

std::string WriterTempName(std::string_view base, int pid) {
  std::string s = ".";
  s += base;
  s += ".tmp-";
  s += std::to_string(pid);
  return s;
}

bool IsWriterTempName(std::string_view name) {
  // A metrics file's (.db) or a native histogram file's (.ndb).
  std::string_view kMark = ".db.tmp-";
  size_t at = name.rfind(kMark);
  if (at == std::string_view::npos) {
    kMark = ".ndb.tmp-";
    at = name.rfind(kMark);
  }
  if (!name.starts_with('.') || at == std::string_view::npos || at < 2) {
    return false;
  }
  std::string_view pid = name.substr(at + kMark.size());
  return !pid.empty() && pid.size() <= 10 &&
         std::all_of(pid.begin(), pid.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<FileName> ParseFileName(std::string_view base) {
  constexpr std::string_view kExt = ".db";
  if (base.size() <= kExt.size() || !base.ends_with(kExt)) return std::nullopt;
  std::string_view stem = base.substr(0, base.size() - kExt.size());
  size_t us = stem.find('_');
  if (us == std::string_view::npos) return std::nullopt;
  std::string_view type = stem.substr(0, us);
  std::string_view rest = stem.substr(us + 1);
  FileName out;
  if (type == "counter") {
    out.type = FileType::kCounter;
  } else if (type == "histogram") {
    out.type = FileType::kHistogram;
  } else if (type == "summary") {
    out.type = FileType::kSummary;
  } else if (type == "gauge") {
    out.type = FileType::kGauge;
    size_t us2 = rest.find('_');
    if (us2 == std::string_view::npos) return std::nullopt;
    auto mode = ParseGaugeMode(rest.substr(0, us2));
    if (!mode) return std::nullopt;
    out.mode = *mode;
    rest = rest.substr(us2 + 1);
  } else {
    return std::nullopt;
  }
  if (rest.empty()) return std::nullopt;
  out.id = std::string(rest);
  return out;
}

}  // namespace promdir::format
