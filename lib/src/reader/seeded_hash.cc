#include "lib/src/reader/seeded_hash.h"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>

namespace promdir::reader::hash_detail {

namespace {

Secret MakeSecret() {
  Secret s{};
  size_t got = 0;
  auto* bytes = reinterpret_cast<char*>(s.k);
  while (got < sizeof s.k) {
    ssize_t r = getrandom(bytes + got, sizeof s.k - got, 0);
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  if (got < sizeof s.k) {
    // No getrandom (a very old kernel or a seccomp filter): the clock, the
    // pid and where things landed in memory are still not known in advance.
    uint64_t x = static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    x ^= static_cast<uint64_t>(getpid()) << 32;
    x ^= reinterpret_cast<uintptr_t>(&s);
    for (uint64_t& k : s.k) {
      x += 0x9e3779b97f4a7c15ull;  // splitmix64
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      k ^= z ^ (z >> 31);
    }
  }
  for (uint64_t& k : s.k) k |= 1;  // never a zero factor
  return s;
}

}  // namespace

const Secret& ProcessSecret() {
  static const Secret secret = MakeSecret();
  return secret;
}

}  // namespace promdir::reader::hash_detail
