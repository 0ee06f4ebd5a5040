#include "lib/src/dir_names.h"

namespace promdir::maintenance {

std::string_view ArchiveId(ValueLayout layout) {
  return layout == ValueLayout::k8 ? "archive8" : "archive";
}

bool IsArchiveId(std::string_view id) {
  return id == "archive" || id == "archive8";
}

std::string_view WriterId(std::string_view id) {
  size_t mark = id.rfind(kStagingMark);
  if (mark == std::string_view::npos || mark == 0) return id;
  for (char c : id.substr(mark + sizeof(kStagingMark) - 1)) {
    if (c < '0' || c > '9') return id;
  }
  return id.substr(0, mark);
}

bool IsStagedId(std::string_view id) { return WriterId(id) != id; }

std::string StagedId(std::string_view writer_id, int attempt) {
  std::string s(writer_id);
  s += kStagingMark;
  if (attempt > 0) s += std::to_string(attempt);
  return s;
}

std::string TempName(std::string_view archive_name) {
  std::string s(kTempPrefix);
  s += archive_name;
  s += kTempSuffix;
  return s;
}

bool IsTempName(std::string_view name) {
  return name.starts_with(kTempPrefix) && name.ends_with(kTempSuffix) &&
         name.size() > sizeof(kTempPrefix) - 1 + sizeof(kTempSuffix) - 1;
}

}  // namespace promdir::maintenance
