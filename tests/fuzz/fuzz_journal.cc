// libFuzzer target: the compaction journal decoder (DecodeJournal). A
// journal that decodes holds only plain names, and encodes to text that
// decodes to the same journal; anything else is an error, never a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/src/reader/dir_guard.h"

namespace {

bool Plain(const std::string& name) {
  return !name.empty() && name.find('/') == std::string::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  promdir::CompactionJournal j;
  if (!promdir::DecodeJournal(text, "journal", &j).ok()) return 0;
  for (const auto& a : j.archives) {
    if (!Plain(a.archive.name)) std::abort();
    for (const auto& s : a.sources) {
      if (!Plain(s.name)) std::abort();
    }
  }
  const std::string once = promdir::EncodeJournal(j);
  promdir::CompactionJournal again;
  if (!promdir::DecodeJournal(once, "journal", &again).ok()) std::abort();
  if (promdir::EncodeJournal(again) != once) std::abort();
  return 0;
}
