#include "lib/src/maintenance/archive_builder.h"

#include <cstring>
#include <limits>

#include "lib/src/format.h"

namespace promdir::maintenance {

ArchiveBuilder::ArchiveBuilder(FileType type, GaugeMode mode,
                               ValueLayout layout)
    : type_(type), mode_(format::BaseMode(mode)), layout_(layout) {}

void ArchiveBuilder::Add(const FileContents& file) {
  for (const FileEntry& e : file.entries) {
    auto [it, inserted] = index_.try_emplace(e.key, keys_.size());
    if (inserted) {
      keys_.push_back(e.key);
      slots_.push_back({e.value, e.timestamp});
      continue;
    }
    Slot& s = slots_[it->second];
    if (type_ != FileType::kGauge || mode_ == GaugeMode::kSum) {
      s.value += e.value;
      if (e.timestamp > s.timestamp) s.timestamp = e.timestamp;
    } else if (mode_ == GaugeMode::kMin) {
      if (e.value < s.value) s = {e.value, e.timestamp};
    } else if (mode_ == GaugeMode::kMax) {
      if (e.value > s.value) s = {e.value, e.timestamp};
    } else if (mode_ == GaugeMode::kMostRecent) {
      if (e.timestamp > s.timestamp) s = {e.value, e.timestamp};
    } else {
      // all/liveall are never archived; keep the first value.
    }
  }
}

Status ArchiveBuilder::Serialize(std::string* out) const {
  uint64_t used = format::kHeaderSize;
  for (const std::string& k : keys_) {
    used += format::EntrySize(k.size(), layout_);
  }
  if (used > static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    return Status::InvalidArgument("archive would be " + std::to_string(used) +
                                   " bytes, over the format's 2 GiB limit");
  }
  out->assign(used, '\0');
  char* p = out->data();
  format::EncodeHeader(static_cast<uint32_t>(used), /*writer_mark=*/false, p);
  size_t pos = format::kHeaderSize;
  for (size_t i = 0; i < keys_.size(); ++i) {
    const std::string& k = keys_[i];
    size_t voff = pos + format::EncodeEntryKey(k, p + pos);
    std::memcpy(p + voff, &slots_[i].value, 8);
    if (layout_ == ValueLayout::k16) {
      std::memcpy(p + voff + 8, &slots_[i].timestamp, 8);
    }
    pos += format::EntrySize(k.size(), layout_);
  }
  return Status::OK();
}

}  // namespace promdir::maintenance
