// Arena, ChunkedVector and FlatIndex (lib/src/reader/arena.h): what is
// stored never moves, alignment is kept, large items get blocks of their
// own, and the index finds every id under colliding hashes.
#include "lib/src/reader/arena.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace promdir::reader {
namespace {

TEST_CASE("arena copies never move while the arena grows") {
  Arena a;
  std::vector<std::string_view> views;
  std::vector<std::string> want;
  for (int i = 0; i < 50000; ++i) {
    want.push_back("key-" + std::to_string(i) + std::string(i % 37, 'x'));
    views.push_back(a.Copy(want.back()));
  }
  const char* first = views[0].data();
  for (int i = 0; i < 1000; ++i) a.Copy(std::string(1000, 'y'));
  CHECK(views[0].data() == first);
  for (size_t i = 0; i < want.size(); ++i) REQUIRE(views[i] == want[i]);
  CHECK(a.bytes_reserved() >= 50000 * 5);
  CHECK(a.Copy("").empty());
}

TEST_CASE("arena allocations keep their alignment") {
  Arena a;
  for (size_t align : {1, 2, 4, 8, 16}) {
    for (int i = 0; i < 100; ++i) {
      a.Allocate(1, 1);  // misalign the next one
      void* p = a.Allocate(24, align);
      CHECK(reinterpret_cast<uintptr_t>(p) % align == 0);
    }
  }
  // Larger than a quarter block: a block of its own, aligned too, and the
  // current block goes on being used.
  void* small1 = a.Allocate(8, 8);
  void* big = a.Allocate(1 << 20, 16);
  void* small2 = a.Allocate(8, 8);
  CHECK(reinterpret_cast<uintptr_t>(big) % 16 == 0);
  CHECK(static_cast<char*>(small2) == static_cast<char*>(small1) + 8);
  std::memset(big, 0xab, 1 << 20);  // (ASan: all of it is ours)
}

TEST_CASE("arena arrays copy trivially copyable items") {
  Arena a;
  std::vector<std::pair<std::string_view, std::string_view>> labels = {
      {"a", "1"}, {"b", "2"}, {"c", "3"}};
  auto copy = a.CopyArray(
      std::span<const std::pair<std::string_view, std::string_view>>(labels));
  labels.clear();
  REQUIRE(copy.size() == 3);
  CHECK(copy[1].first == "b");
  CHECK(copy[2].second == "3");
  CHECK(a.CopyArray(std::span<const int>()).empty());
}

TEST_CASE("chunked vector elements keep their address across chunks") {
  ChunkedVector<std::string, 4> v;  // chunks of 16
  std::vector<const std::string*> addr;
  for (int i = 0; i < 1000; ++i) {
    v.emplace_back() = std::to_string(i);
    addr.push_back(&v[i]);
  }
  CHECK(v.size() == 1000);
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(&v[i] == addr[i]);
    REQUIRE(v[i] == std::to_string(i));
  }
}

TEST_CASE("flat index finds every id, colliding hashes included") {
  FlatIndex idx;
  std::vector<std::string> items;
  CHECK(idx.Find(7, [](uint32_t) { return true; }) == FlatIndex::kAbsent);
  for (uint32_t i = 0; i < 20000; ++i) {
    items.push_back("item" + std::to_string(i));
    // Only 64 distinct hashes: long probe runs, and Eq decides.
    idx.Insert(i % 64, i);
  }
  for (uint32_t i = 0; i < items.size(); i += 97) {
    const std::string& want = items[i];
    uint32_t got = idx.Find(i % 64, [&](uint32_t id) { return items[id] == want; });
    REQUIRE(got == i);
  }
  CHECK(idx.Find(5, [](uint32_t) { return false; }) == FlatIndex::kAbsent);
  // A hash with no items stops at the first empty slot.
  FlatIndex sparse;
  sparse.Insert(1, 0);
  CHECK(sparse.Find(2, [](uint32_t) { return true; }) == FlatIndex::kAbsent);
  CHECK(sparse.Find(1, [](uint32_t) { return true; }) == 0);
}

}  // namespace
}  // namespace promdir::reader
