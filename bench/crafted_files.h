// Crafted metrics files that cost a naive reader time out of proportion to
// their size, for the bench (promdir-crafted-bench) and the tests that
// bound their parse times (crafted_test):
//
//   WideKeyFile: one counter whose key is ~900 KB of 90,000 labels, in
//     shuffled order (a label list checked for repeats name by name costs
//     n^2/2 string compares).
//   CollidingFile: 100,000 counters, each its own family, whose keys all
//     hash into one run of slots of a table indexed by the low bits of
//     libstdc++'s unseeded std::hash (what the reader's key index used), so
//     each insert walks the run: n^2/2 probes. Found by trying names.
//
// Both are valid files of Python's 8-byte layout that Python's
// MultiProcessCollector reads. Header-only; pure functions.

#ifndef PROMDIR_BENCH_CRAFTED_FILES_H_
#define PROMDIR_BENCH_CRAFTED_FILES_H_

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace promdir::crafted {

// Appends one entry of the 8-byte layout (key, padding, value).
inline void AppendEntry(std::string* file, const std::string& key,
                        double value) {
  int32_t len = static_cast<int32_t>(key.size());
  file->append(reinterpret_cast<const char*>(&len), 4);
  file->append(key);
  file->append(8 - (key.size() + 4) % 8, ' ');
  file->append(reinterpret_cast<const char*>(&value), 8);
}

// Sets `used` in the header of a file built by AppendEntry.
inline std::string Finish(std::string file) {
  int32_t used = static_cast<int32_t>(file.size());
  std::memcpy(file.data(), &used, 4);
  return file;
}

inline std::string WideKey(size_t labels) {
  // Names [a-z][a-z0-9]{3}, taken in a shuffled order (a full-period LCG
  // over the first `labels` names): "abcd":"" is 10 bytes with the comma.
  std::vector<std::string> names;
  names.reserve(labels);
  const char* digits = "abcdefghijklmnopqrstuvwxyz0123456789";
  for (size_t i = 0; names.size() < labels; ++i) {
    char n[5] = {static_cast<char>('a' + (i / 46656) % 26),
                 digits[(i / 1296) % 36], digits[(i / 36) % 36],
                 digits[i % 36], '\0'};
    names.emplace_back(n);
  }
  for (size_t i = names.size(); i > 1; --i) {  // Fisher-Yates, fixed seed
    static uint64_t x = 0x2545f4914f6cdd1dull;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    std::swap(names[i - 1], names[x % i]);
  }
  std::string key = "[\"wide\", \"wide_total\", {";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) key += ',';
    key += '"' + names[i] + "\":\"\"";
  }
  key += "}, \"a key of many labels\"]";
  return key;
}

inline std::string WideKeyFile(size_t labels = 90000) {
  std::string file(8, '\0');
  AppendEntry(&file, WideKey(labels), 1.0);
  return Finish(std::move(file));
}

// The hash the reader's key index used before it was seeded: libstdc++'s
// std::hash folded to 32 bits, indexed by its low bits.
inline uint32_t UnseededKeyHash(std::string_view s) {
  uint64_t h = std::hash<std::string_view>()(s);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// Keys whose unseeded hash has its low 18 bits (the slot in a table of
// 2^18, the size 100,000 keys grow it to) below 2^window_bits.
inline std::vector<std::string> CollidingKeys(size_t n, int window_bits = 10) {
  std::vector<std::string> keys;
  keys.reserve(n);
  const uint32_t miss = ((1u << 18) - 1) & ~((1u << window_bits) - 1);
  char name[32];
  for (uint64_t i = 0; keys.size() < n; ++i) {
    int len = std::snprintf(name, sizeof name, "c%llx",
                            static_cast<unsigned long long>(i));
    std::string key = "[\"" + std::string(name, len) + "\", \"" +
                      std::string(name, len) + "_total\", {}, \"h\"]";
    if ((UnseededKeyHash(key) & miss) == 0) keys.push_back(std::move(key));
  }
  return keys;
}

inline std::string CollidingFile(size_t n = 100000) {
  std::string file(8, '\0');
  for (const std::string& key : CollidingKeys(n)) AppendEntry(&file, key, 1.0);
  return Finish(std::move(file));
}

}  // namespace promdir::crafted

#endif  // PROMDIR_BENCH_CRAFTED_FILES_H_
