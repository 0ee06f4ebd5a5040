// FileCache (lib/src/reader/file_cache.h): entry tables shared until a file
// grows, claims per scrape (a hard link's second name gets none), the
// bad-file memo, reporting a bad file once, and dropping unclaimed files.
#include "lib/src/reader/file_cache.h"

#include <doctest/doctest.h>

namespace promdir::merge_detail {
namespace {

std::shared_ptr<EntryTable> Table(uint32_t n) {
  auto t = std::make_shared<EntryTable>();
  for (uint32_t i = 0; i < n; ++i) {
    t->keys.push_back(100 + i);
    t->offsets.push_back(8 * i);
    t->targets.push_back(200 + i);
  }
  t->families = {{1, 100, 0}, {2, 103, 3}};
  return t;
}

TEST_CASE("a shared entry table is copied before a file extends it") {
  CachedFile a, b;
  a.entries = b.entries = Table(5);
  a.count = 5;
  b.count = 3;  // a shorter file of the same prefix: its first 3 entries
  EntryTable& mine = b.Own();
  CHECK(b.entries != a.entries);
  CHECK(mine.keys == std::vector<uint32_t>{100, 101, 102});
  CHECK(mine.targets.size() == 3);
  REQUIRE(mine.families.size() == 1);  // the second starts at entry 3
  CHECK(mine.families[0].family == 1);
  // Its own now: Own() again changes nothing.
  CHECK(&b.Own() == &mine);
  CHECK(a.entries->keys.size() == 5);  // the shared one is untouched
  std::vector<uint32_t> families;
  a.ForEachFamily([&](uint32_t f, uint32_t) { families.push_back(f); });
  CHECK(families == std::vector<uint32_t>{1, 2});
}

TEST_CASE("a file is the same only with the same name and a known birth") {
  CachedFile cf;
  cf.name = "counter_1.db";
  cf.birth_ns = 42;
  FileInfo info;
  info.birth_ns = 42;
  CHECK(cf.SameFile("counter_1.db", info));
  CHECK(!cf.SameFile("counter_2.db", info));
  info.birth_ns = 43;
  CHECK(!cf.SameFile("counter_1.db", info));
  cf.birth_ns = info.birth_ns = 0;  // no birth time: never trusted
  CHECK(!cf.SameFile("counter_1.db", info));
}

TEST_CASE("unfreezing keeps the frozen values as the last good ones") {
  CachedFile cf;
  cf.frozen = true;
  cf.frozen_values = {1, 2};
  cf.Unfreeze();
  CHECK(!cf.frozen);
  CHECK(cf.last_values == std::vector<double>{1, 2});
  CHECK(cf.frozen_values.empty());
  cf.Restart("x.db", 7, 9);
  CHECK(cf.name == "x.db");
  CHECK(cf.generation == 9);
  CHECK(cf.last_values.empty());
}

TEST_CASE("a scrape claims each file once; unclaimed files are dropped") {
  FileCache cache;
  cache.NextGeneration();
  bool inserted = false;
  CachedFile* a = cache.Claim({1, 10}, &inserted);
  REQUIRE(a != nullptr);
  CHECK(inserted);
  a->name = "a.db";
  a->generation = cache.generation();
  // The same inode under a second name in the same scrape: no claim.
  CHECK(cache.Claim({1, 10}, &inserted) == nullptr);
  CachedFile* b = cache.Claim({1, 11}, &inserted);
  b->name = "b.db";
  b->generation = cache.generation();
  cache.NextGeneration();
  CHECK(cache.Claim({1, 10}, &inserted) == a);  // next scrape: cached
  CHECK(!inserted);
  a->generation = cache.generation();
  std::vector<std::string> dropped;
  cache.EndScrape("/d", {}, [&](const CachedFile& cf, const FileId&) {
    dropped.push_back(cf.name);
  });
  CHECK(dropped == std::vector<std::string>{"b.db"});
  CHECK(cache.Find({1, 11}) == nullptr);
  CHECK(cache.Find({1, 10}) == a);
}

TEST_CASE("a bad file is remembered only when its content was at fault and old") {
  FileCache cache;
  FileInfo info;
  info.device = 1;
  info.inode = 5;
  info.size = 100;
  info.mtime = 1000;
  reader::ReadError bad = reader::Bad(reader::BadReason::kBadKey, "/d/x.db", "junk");
  reader::ReadError err;
  cache.RememberBad("x.db", info, 1001, bad);  // changed a second ago
  CHECK(!cache.KnownBad("x.db", info, &err));
  cache.RememberBad("x.db", info, 1010, reader::Bad(reader::BadReason::kEmpty,
                                                    "/d/x.db", "empty"));
  CHECK(!cache.KnownBad("x.db", info, &err));
  cache.RememberBad("x.db", info, 1010, bad);
  CHECK(cache.KnownBad("x.db", info, &err));
  CHECK(err.reason == reader::BadReason::kBadKey);
  info.size = 108;  // it changed: read it again, and forget it
  CHECK(!cache.KnownBad("x.db", info, &err));
  info.size = 100;
  CHECK(!cache.KnownBad("x.db", info, &err));
}

TEST_CASE("a bad file is reported once while it stays bad the same way") {
  FileCache cache;
  CHECK(cache.FirstReport("/d/x.db", {1, 5}, reader::BadReason::kBadKey));
  CHECK(!cache.FirstReport("/d/x.db", {1, 5}, reader::BadReason::kBadKey));
  CHECK(cache.FirstReport("/d/x.db", {1, 5}, reader::BadReason::kTruncated));
  CHECK(cache.FirstReport("/d/x.db", {1, 6}, reader::BadReason::kTruncated));
  // Good in between (not bad in that scrape): reported again.
  cache.EndScrape("/d", {}, [](const CachedFile&, const FileId&) {});
  CHECK(cache.FirstReport("/d/x.db", {1, 6}, reader::BadReason::kTruncated));
  cache.EndScrape("/d", {"/d/x.db"}, [](const CachedFile&, const FileId&) {});
  CHECK(!cache.FirstReport("/d/x.db", {1, 6}, reader::BadReason::kTruncated));
}

}  // namespace
}  // namespace promdir::merge_detail
