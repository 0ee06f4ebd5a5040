// KeyTable (lib/src/reader/key_table.h): keys are parsed once and keep their
// ids; series, families and help are shared; bad keys say why; histogram
// buckets get their canonical bucket, group and _count; `pid` is dropped
// for gauge merging; ranks follow the exposition order.
#include "lib/src/reader/key_table.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace promdir::reader {
namespace {

std::string Key(const std::string& metric, const std::string& sample,
                const std::string& labels, const std::string& help = "h") {
  return "[\"" + metric + "\", \"" + sample + "\", {" + labels + "}, \"" +
         help + "\"]";
}

TEST_CASE("a key is interned once and found again by its bytes") {
  KeyTable t;
  const std::string k = Key("req", "req_total", "\"a\": \"1\"");
  CHECK(t.Find(k) == kNoId);
  const uint32_t id = t.Intern(k);
  CHECK(t.Intern(k) == id);
  CHECK(t.Find(k) == id);
  CHECK(t.key_count() == 1);
  const KeyInfo& info = t.key(id);
  CHECK(info.bytes == k);
  CHECK(info.bad == BadReason::kNone);
  CHECK(t.family_name(info.family) == "req");
  CHECK(t.family_of(id) == info.family);
  const Series& s = t.series(info.series);
  CHECK(s.text == "req_total{a=\"1\"}");
  CHECK(s.sample_name == "req_total");
  REQUIRE(s.labels.size() == 1);
  CHECK(s.labels[0].first == "a");
  CHECK(*info.help == "h");
}

TEST_CASE("keys that differ only in help or label order share a series") {
  KeyTable t;
  uint32_t a = t.Intern(Key("m", "m", "\"x\": \"1\", \"y\": \"2\"", "one"));
  uint32_t b = t.Intern(Key("m", "m", "\"y\": \"2\", \"x\": \"1\"", "two"));
  uint32_t c = t.Intern(Key("m", "m", "\"x\": \"1\", \"y\": \"3\"", "one"));
  CHECK(a != b);
  CHECK(t.key(a).series == t.key(b).series);
  CHECK(t.key(a).series != t.key(c).series);
  CHECK(t.key(a).help == t.key(c).help);  // one copy of each help
  CHECK(*t.key(b).help == "two");
  CHECK(t.family_count() == 1);
}

TEST_CASE("bad keys say why, and a bad le matters only in histograms") {
  KeyTable t;
  uint32_t bad = t.Intern("[\"m\", \"m\", {}]");
  CHECK(t.key(bad).bad == BadReason::kOldKeyFormat);
  CHECK(!t.key(bad).why.empty());
  CHECK(t.bad_in(bad, FileType::kCounter));
  uint32_t junk = t.Intern("[not json]");
  CHECK(t.key(junk).bad == BadReason::kBadKey);
  uint32_t le = t.Intern(Key("h", "h_bucket", "\"le\": \"abc\""));
  CHECK(t.key(le).bad == BadReason::kNone);
  CHECK(t.key(le).bad_le);
  CHECK(t.bad_in(le, FileType::kHistogram));
  CHECK(!t.bad_in(le, FileType::kGauge));
}

TEST_CASE("a bucket gets its canonical bucket, group and count series") {
  KeyTable t;
  uint32_t k = t.Intern(Key("lat", "lat_bucket", "\"le\": \"1\", \"v\": \"a\""));
  const Series& s = t.series(t.key(k).series);
  CHECK(s.has_le);
  CHECK(s.le == 1.0);
  // "1" is written 1.0 by Python's float(): the canonical bucket differs.
  const Series& canon = t.series(s.bucket);
  CHECK(canon.text == "lat_bucket{le=\"1.0\",v=\"a\"}");
  CHECK(t.series(s.count).text == "lat_count{v=\"a\"}");
  uint32_t k2 = t.Intern(Key("lat", "lat_bucket", "\"le\": \"+Inf\", \"v\": \"a\""));
  const Series& inf = t.series(t.key(k2).series);
  CHECK(inf.group == s.group);
  CHECK(inf.count == s.count);
  CHECK(inf.bucket == t.key(k2).series);  // already canonical
}

TEST_CASE("WithoutPid drops the pid label, once") {
  KeyTable t;
  uint32_t k = t.Intern(Key("g", "g", "\"a\": \"1\", \"pid\": \"7\""));
  uint32_t sid = t.key(k).series;
  uint32_t without = t.WithoutPid(sid);
  CHECK(without != sid);
  CHECK(t.series(without).text == "g{a=\"1\"}");
  CHECK(t.WithoutPid(sid) == without);
  CHECK(t.WithoutPid(without) == without);
  uint32_t plain = t.Intern(Key("g", "g", "\"a\": \"2\""));
  CHECK(t.WithoutPid(t.key(plain).series) == t.key(plain).series);
}

TEST_CASE("ranks follow the exposition order, and are redone when series grow") {
  KeyTable t;
  t.Intern(Key("zz", "zz_total", ""));
  t.Intern(Key("h", "h_bucket", "\"le\": \"+Inf\""));
  t.Intern(Key("h", "h_bucket", "\"le\": \"0.5\""));
  t.Intern(Key("h", "h_sum", ""));
  t.Intern(Key("aa", "aa", "\"b\": \"2\""));
  t.Intern(Key("aa", "aa", "\"b\": \"10\""));
  std::vector<std::string> order;
  for (uint32_t sid : t.RankOrder()) order.emplace_back(t.series(sid).text);
  // (Derived series, such as h_count and the group, are ranked too.)
  std::erase_if(order, [](const std::string& s) {
    return s.empty() || s[0] == '{' || s == "h_count";
  });
  std::vector<std::string> want = {"aa{b=\"10\"}", "aa{b=\"2\"}", "h_sum",
                                   "h_bucket{le=\"0.5\"}",
                                   "h_bucket{le=\"+Inf\"}", "zz_total"};
  CHECK(order == want);
  CHECK(t.RanksCurrent());
  t.Intern(Key("bb", "bb", ""));
  CHECK(!t.RanksCurrent());
  const std::vector<uint32_t>& ranks = t.Ranks();
  CHECK(ranks.size() == t.series_count());
  CHECK(t.RanksCurrent());
}

TEST_CASE("series views stay put while the table grows") {
  KeyTable t;
  uint32_t first = t.Intern(Key("m", "m", "\"i\": \"first\""));
  const Series* s = &t.series(t.key(first).series);
  const char* text = s->text.data();
  for (int i = 0; i < 20000; ++i) {
    t.Intern(Key("m", "m", "\"i\": \"" + std::to_string(i) + "\""));
  }
  CHECK(&t.series(t.key(first).series) == s);
  CHECK(s->text.data() == text);
  CHECK(s->text == "m{i=\"first\"}");
  CHECK(t.memory_bytes() > 20000 * sizeof(Series));
}

}  // namespace
}  // namespace promdir::reader
