#include "heap.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace promdir::cli {

void TuneHeapForOneShot() {
  constexpr size_t kPad = size_t{64} << 20;
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's maximum
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, static_cast<int>(kPad));
  // Grow the heap by the pad now, then mark the new part.
  auto* start = static_cast<char*>(sbrk(0));
  // (volatile: a malloc whose block is never used may be left out.)
  void* volatile p = std::malloc(size_t{1} << 20);
  auto* end = static_cast<char*>(sbrk(0));
  std::free(p);
  if (start == reinterpret_cast<char*>(-1) || end <= start) return;
  uintptr_t from = (reinterpret_cast<uintptr_t>(start) + kHuge - 1) & ~(kHuge - 1);
  uintptr_t to = reinterpret_cast<uintptr_t>(end) & ~(kHuge - 1);
  if (to > from) {
    madvise(reinterpret_cast<void*>(from), to - from, MADV_HUGEPAGE);
  }
}

}  // namespace promdir::cli
