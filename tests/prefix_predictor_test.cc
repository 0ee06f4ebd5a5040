// PrefixPredictor (lib/src/reader/prefix_predictor.h): a file with the
// prediction's entries is matched without parsing, in the same order (the
// table is shared) or another (prediction indexes); a key it lacks, or a
// file of the other layout, is left to the parser; publishing and settling.
#include "lib/src/reader/prefix_predictor.h"

#include <doctest/doctest.h>

#include "tests/reader_file_builder.h"

namespace promdir::merge_detail {
namespace {

std::string Key(int i) {
  return "[\"m\", \"m_total\", {\"i\": \"" + std::to_string(i) + "\"}, \"h\"]";
}

std::string File(std::vector<int> keys,
                 ValueLayout layout = ValueLayout::k16) {
  test::FileBuilder b(layout);
  for (int k : keys) b.Add(Key(k), k * 1.5);
  return b.Build(-1, 0);  // the bytes in use, as ReadUsed leaves them
}

std::shared_ptr<Prediction> Predict(std::vector<int> keys) {
  std::string buf = File(keys);
  auto p = MakePrediction("/d/counter_1.db", &buf);
  REQUIRE(p != nullptr);
  CHECK(buf.empty());  // the bytes moved
  return p;
}

TEST_CASE("a prediction walks and indexes its file") {
  auto p = Predict({1, 2, 3});
  CHECK(p->layout == ValueLayout::k16);
  CHECK(p->entry_offsets.size() == 3);
  CHECK(p->entry_offsets[0] == format::kHeaderSize);
  CHECK(!p->usable());
  std::string junk = File({1});
  junk[format::kHeaderSize] = 0x7f;  // a key length past the end
  const std::string before = junk;
  CHECK(MakePrediction("/d/x.db", &junk) == nullptr);
  CHECK(junk == before);  // left alone
}

TEST_CASE("a file like the prediction shares its table") {
  auto p = Predict({1, 2, 3});
  CachedFile cf;
  CHECK(MatchPrediction("/d/counter_2.db", File({1, 2, 3}), *p, &cf));
  CHECK(cf.entries == nullptr);  // the prediction's, once complete
  CHECK(cf.count == 3);
  CHECK(cf.layout_known);
  // A shorter one too: its first entries.
  CachedFile shorter;
  CHECK(MatchPrediction("/d/counter_3.db", File({1, 2}), *p, &shorter));
  CHECK(shorter.count == 2);
}

TEST_CASE("a file in another order gets the prediction's index of each key") {
  auto p = Predict({1, 2, 3, 4});
  CachedFile cf;
  REQUIRE(MatchPrediction("/d/counter_2.db", File({1, 3, 4, 2}), *p, &cf));
  REQUIRE(cf.entries != nullptr);
  CHECK(cf.entries->keys == std::vector<uint32_t>{0, 2, 3, 1});
  CHECK(cf.count == 4);
}

TEST_CASE("a key the prediction lacks, or the other layout, is not matched") {
  auto p = Predict({1, 2, 3});
  CachedFile cf;
  CHECK(!MatchPrediction("/d/counter_2.db", File({1, 9, 3}), *p, &cf));
  CHECK(!MatchPrediction("/d/counter_2.db", File({1, 2, 3}, ValueLayout::k8),
                         *p, &cf));
  std::string broken = File({1, 2});
  broken[format::kHeaderSize] = 0x7f;  // a key length past the end
  CHECK(!MatchPrediction("/d/counter_2.db", broken, *p, &cf));
}

TEST_CASE("MatchEntry tries the next entry, then the same index, then the index") {
  auto p = Predict({1, 2, 3});
  const std::string f = File({3, 1, 2});
  uint32_t next = reader::kNoId;
  std::vector<uint32_t> got;
  // Walks f's entries as the parser does.
  reader::WalkEntries(f, format::kHeaderSize, ValueLayout::k16, "f",
                      [&](uint64_t off, std::string_view key, uint64_t) {
                        got.push_back(MatchEntry(*p, got.size(), off,
                                                 f.data() + off, key.size(),
                                                 &next));
                      });
  CHECK(got == std::vector<uint32_t>{2, 0, 1});
}

TEST_CASE("the first prediction of a prefix is published; a bad one withdrawn") {
  PrefixPredictor pp;
  auto a = Predict({1});
  auto b = Predict({1, 2});
  std::shared_ptr<Prediction> newer;
  CHECK(pp.Get("counter") == nullptr);
  CHECK(pp.PublishIfNone("counter", a, nullptr, &newer));
  CHECK(pp.Get("counter") == a);
  // Another thread looked up nothing, then tried to publish: it learns of a.
  CHECK(!pp.PublishIfNone("counter", b, nullptr, &newer));
  CHECK(newer == a);
  pp.Settle("counter", b, /*ok=*/true, /*published=*/false);
  CHECK(pp.Get("counter") == b);  // the longer, parsed from the start
  pp.Settle("counter", b, /*ok=*/false, /*published=*/true);
  CHECK(pp.Get("counter") == nullptr);
  int tables = 0;
  pp.PublishIfNone("gauge_all", a, nullptr, &newer);
  pp.ForEachTable([&](const EntryTable*) { ++tables; });
  CHECK(tables == 1);
  pp.Clear();
  CHECK(pp.Get("gauge_all") == nullptr);
}

}  // namespace
}  // namespace promdir::merge_detail
