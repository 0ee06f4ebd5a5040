// libFuzzer target: the collector's Accept and Accept-Encoding parsers
// (ParseHeaderList, NegotiateFormat, AcceptsGzip). Any header must give an
// answer, never a crash; parsed elements keep their positions in order and
// q within [0, 1].
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/src/negotiation.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto list = promdir::http::ParseHeaderList(header);
  int last = -1;
  for (const auto& e : list) {
    if (e.position <= last || !(e.q >= 0 && e.q <= 1)) std::abort();
    last = e.position;
  }
  (void)promdir::http::NegotiateFormat(header);
  (void)promdir::http::AcceptsGzip(header);
  return 0;
}
