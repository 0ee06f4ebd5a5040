// libFuzzer target: the file reader (ReadUsed, DetectLayout, WalkEntries,
// CheckKey) and the key table every key of a good file goes into
// (interning, derived histogram series, exposition order). The input is a
// whole metrics file, written to a memfd and read as the collector reads a
// file: by pread() of `used` bytes.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "lib/src/env.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/key_table.h"

using namespace promdir;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = memfd_create("fuzz.db", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0) std::abort();
  if (size > 0 && pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) {
    std::abort();
  }
  const std::string path = "fuzz.db";
  std::string buf;
  bool magic = false;
  uint64_t bytes = 0;
  reader::ReadError e =
      reader::ReadUsed(Env::Default(), fd, path, size, &buf, &magic, &bytes);
  if (!e.ok()) return 0;
  if (buf.size() > size || buf.size() < format::kHeaderSize) std::abort();
  ValueLayout layout;
  e = reader::DetectLayout(buf, format::kHeaderSize, ValueLayout::k16, path,
                           &layout);
  if (!e.ok()) return 0;
  // The histogram type checks `le` too; the table interns each key once.
  reader::KeyTable table;
  std::string why;
  e = reader::WalkEntries(
      buf, format::kHeaderSize, layout, path,
      [&](uint64_t, std::string_view key, uint64_t voff) {
        if (voff + format::ValueSize(layout) > buf.size()) std::abort();
        (void)reader::CheckKey(key, FileType::kHistogram, &why);
        uint32_t id = table.Intern(key);
        if (table.Find(key) != id || table.key(id).bytes != key) std::abort();
        if (!table.bad_in(id, FileType::kCounter)) {
          (void)table.WithoutPid(table.key(id).series);
        }
      });
  if (!e.ok()) std::abort();  // DetectLayout walked it already
  const auto& ranks = table.Ranks();
  if (ranks.size() != table.series_count()) std::abort();
  return 0;
}
