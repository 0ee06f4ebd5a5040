// SeededHash: the hash the reader indexes file contents by (key bytes,
// family names, series texts, help texts).
//
// Those bytes come from files that any process able to write the directory
// can craft, so the hash must not be predictable: a table indexed by a
// fixed hash (std::hash is unseeded) lets a file of keys built to collide
// turn every lookup into a walk of one long chain. The hash is keyed by
// 256 random bits drawn once per process (getrandom), and mixes each 16
// bytes of input with the key through a full 64x64->128-bit multiply
// (wyhash's construction), so without the key no input can be chosen to
// collide more often than chance. It is not a MAC: it defends tables, not
// secrets.
//
// Threads: pure functions; the key is made once, thread-safely, on first use.

#ifndef PROMDIR_LIB_SRC_READER_SEEDED_HASH_H_
#define PROMDIR_LIB_SRC_READER_SEEDED_HASH_H_

#include <cstdint>
#include <cstring>
#include <string_view>

namespace promdir::reader {

namespace hash_detail {

struct Secret {
  uint64_t k[4];
};
// This process's random key.
const Secret& ProcessSecret();

inline uint64_t Mum(uint64_t a, uint64_t b) {
  __uint128_t r = static_cast<__uint128_t>(a) * b;
  return static_cast<uint64_t>(r) ^ static_cast<uint64_t>(r >> 64);
}
inline uint64_t Read8(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline uint64_t Read4(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace hash_detail

// 64 well-mixed bits of `s` under this process's key.
inline uint64_t SeededHash64(std::string_view s) {
  using namespace hash_detail;
  static const Secret& key = ProcessSecret();
  const uint64_t* k = key.k;
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  uint64_t seed = k[0] ^ Mum(k[2] ^ n, k[1]);
  uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 4) {
      const size_t q = (n >> 3) << 2;
      a = (Read4(p) << 32) | Read4(p + q);
      b = (Read4(p + n - 4) << 32) | Read4(p + n - 4 - q);
    } else if (n > 0) {
      a = (uint64_t{p[0]} << 16) | (uint64_t{p[n >> 1]} << 8) | p[n - 1];
    }
  } else {
    size_t i = n;
    while (i > 16) {
      seed = Mum(Read8(p) ^ k[1], Read8(p + 8) ^ seed ^ k[3]);
      p += 16;
      i -= 16;
    }
    a = Read8(p + i - 16);
    b = Read8(p + i - 8);
  }
  return Mum(k[1] ^ n, Mum(a ^ k[1], b ^ seed) ^ k[0]);
}

// The same, folded to 32 bits (the indexes store 32-bit hashes).
inline uint32_t SeededHash32(std::string_view s) {
  uint64_t h = SeededHash64(s);
  return static_cast<uint32_t>(h ^ (h >> 32));
}

// For std::unordered_map keyed by text read from files.
struct SeededStringHash {
  size_t operator()(std::string_view s) const { return SeededHash64(s); }
};

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_SEEDED_HASH_H_
