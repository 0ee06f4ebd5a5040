// libFuzzer target: the key decoder (DecodeKey / DecodeKeyView) and the
// encoder it must agree with. A key that decodes encodes to Python's
// canonical bytes, which must decode to the same key and encode again to
// the same bytes; a disagreement aborts (a bug, as is any crash).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/src/key_codec.h"
#include "lib/src/reader/file_reader.h"
#include "lib/src/reader/seeded_hash.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view key(reinterpret_cast<const char*>(data), size);
  promdir::DecodedKey k;
  if (!promdir::DecodeKey(key, &k).ok()) return 0;
  promdir::DecodedKeyView view;
  if (!promdir::DecodeKeyView(key, &view).ok()) std::abort();
  std::string why;
  (void)promdir::reader::CheckKey(key, promdir::FileType::kHistogram, &why);
  (void)promdir::reader::SeededHash64(key);
  auto canonical = promdir::EncodeKey(k.metric_name, k.sample_name, k.labels,
                                      k.help);
  if (!canonical.ok()) std::abort();  // decoded strings are valid UTF-8
  promdir::DecodedKey again;
  if (!promdir::DecodeKey(*canonical, &again).ok()) std::abort();
  if (again.metric_name != k.metric_name || again.sample_name != k.sample_name ||
      again.labels != k.labels || again.help != k.help) {
    std::abort();
  }
  auto twice = promdir::EncodeKey(again.metric_name, again.sample_name,
                                  again.labels, again.help);
  if (!twice.ok() || *twice != *canonical) std::abort();
  return 0;
}
