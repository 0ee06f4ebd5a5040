// Builds metrics files byte by byte for tests, in either value layout,
// including the broken ones a reader must refuse.
#ifndef PROMDIR_TESTS_READER_FILE_BUILDER_H_
#define PROMDIR_TESTS_READER_FILE_BUILDER_H_

#include <cstdint>
#include <cstring>
#include <string>

#include "lib/src/format.h"

namespace promdir::test {

class FileBuilder {
 public:
  explicit FileBuilder(ValueLayout layout = ValueLayout::k16)
      : layout_(layout), bytes_(8, '\0') {}

  // Appends an entry with this exact key text.
  FileBuilder& Add(const std::string& key, double value, double ts = 0) {
    int32_t len = static_cast<int32_t>(key.size());
    Append(&len, 4);
    bytes_ += key;
    bytes_.append(format::PadLength(key.size()), ' ');
    Append(&value, 8);
    if (layout_ == ValueLayout::k16) Append(&ts, 8);
    return *this;
  }
  // Appends raw bytes (for broken entries).
  FileBuilder& Raw(const std::string& raw) {
    bytes_ += raw;
    return *this;
  }
  FileBuilder& Magic() {
    std::memcpy(bytes_.data() + 4, "pdir", 4);
    return *this;
  }
  // The file: `used` = bytes so far (or `used` if >= 0), zero-padded to
  // `size` (64 KiB by default; never below the bytes written).
  std::string Build(int64_t used = -1, size_t size = 65536) const {
    std::string out = bytes_;
    int32_t u = static_cast<int32_t>(used >= 0 ? used : bytes_.size());
    std::memcpy(out.data(), &u, 4);
    if (out.size() < size) out.resize(size, '\0');
    return out;
  }

 private:
  void Append(const void* p, size_t n) {
    bytes_.append(static_cast<const char*>(p), n);
  }
  ValueLayout layout_;
  std::string bytes_;
};

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_READER_FILE_BUILDER_H_
