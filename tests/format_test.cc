#include "lib/src/format.h"

#include <doctest/doctest.h>

namespace promdir::format {
namespace {

TEST_CASE("padding keeps values 8-byte aligned and is never empty") {
  for (size_t len = 0; len < 64; ++len) {
    size_t pad = PadLength(len);
    CHECK(pad >= 1);
    CHECK(pad <= 8);
    CHECK((4 + len + pad) % 8 == 0);
  }
  CHECK(EntrySize(3, Layout::k8) == 16);
  CHECK(EntrySize(4, Layout::k8) == 24);
  CHECK(EntrySize(4, Layout::k16) == 32);
}

TEST_CASE("file names parse as Python splits them") {
  auto f = ParseFileName("gauge_livesum_123.db");
  REQUIRE(f);
  CHECK(f->type == FileType::kGauge);
  CHECK(f->mode == GaugeMode::kLiveSum);
  CHECK(f->id == "123");
  CHECK(f->ToString() == "gauge_livesum_123.db");
  CHECK(ParseFileName("counter_archive.db")->id == "archive");
  CHECK(ParseFileName("histogram_7.db")->type == FileType::kHistogram);
  CHECK_FALSE(ParseFileName("unknown_1.db"));
  CHECK_FALSE(ParseFileName("gauge_bogus_1.db"));
  CHECK_FALSE(ParseFileName("counter_1.txt"));
  CHECK_FALSE(ParseFileName("counter_.db"));
  CHECK_FALSE(ParseFileName("sub.db"));
  for (GaugeMode m : kAllGaugeModes) {
    CHECK(ParseGaugeMode(GaugeModeName(m)) == m);
  }
}

}  // namespace
}  // namespace promdir::format
