// Arena and ChunkedVector: append-only storage whose contents never move,
// for the key table's strings, label lists and records. Memory is taken in
// large blocks, so interning a key costs no allocation of its own, and
// everything is freed at once with the owner.
//
// Threads: not thread-safe; the owner serializes writers. What was stored
// may be read from any thread while others append (it never moves).

#ifndef PROMDIR_LIB_SRC_READER_ARENA_H_
#define PROMDIR_LIB_SRC_READER_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace promdir::reader {

class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `n` bytes aligned to `align` (a power of two, at most 16).
  void* Allocate(size_t n, size_t align) {
    uintptr_t p = (reinterpret_cast<uintptr_t>(ptr_) + align - 1) & ~(align - 1);
    if (ptr_ == nullptr || p + n > reinterpret_cast<uintptr_t>(end_)) {
      return AllocateSlow(n, align);
    }
    ptr_ = reinterpret_cast<char*>(p + n);
    return reinterpret_cast<void*>(p);
  }

  std::string_view Copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(Allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // A copy of `items` (trivially copyable) in the arena.
  template <typename T>
  std::span<const T> CopyArray(std::span<const T> items) {
    if (items.empty()) return {};
    T* p = static_cast<T*>(Allocate(items.size_bytes(), alignof(T)));
    for (size_t i = 0; i < items.size(); ++i) new (p + i) T(items[i]);
    return {p, items.size()};
  }

  size_t bytes_reserved() const { return reserved_; }

 private:
  static constexpr size_t kBlock = 256 << 10;

  void* AllocateSlow(size_t n, size_t align) {
    size_t size = n + align > kBlock / 4 ? n + align : kBlock;
    blocks_.push_back(std::make_unique<char[]>(size));
    reserved_ += size;
    char* block = blocks_.back().get();
    uintptr_t p = (reinterpret_cast<uintptr_t>(block) + align - 1) & ~(align - 1);
    if (size != kBlock) return reinterpret_cast<void*>(p);  // its own block
    ptr_ = reinterpret_cast<char*>(p + n);
    end_ = block + size;
    return reinterpret_cast<void*>(p);
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* ptr_ = nullptr;
  char* end_ = nullptr;
  size_t reserved_ = 0;
};

// A vector whose elements never move: chunks of 2^kShift elements.
template <typename T, int kShift = 10>
class ChunkedVector {
 public:
  T& operator[](size_t i) { return chunks_[i >> kShift][i & kMask]; }
  const T& operator[](size_t i) const {
    return chunks_[i >> kShift][i & kMask];
  }
  size_t size() const { return size_; }
  T& emplace_back() {
    if ((size_ & kMask) == 0) {
      chunks_.push_back(std::make_unique<T[]>(size_t{1} << kShift));
    }
    return (*this)[size_++];
  }

 private:
  static constexpr size_t kMask = (size_t{1} << kShift) - 1;
  std::vector<std::unique_ptr<T[]>> chunks_;
  size_t size_ = 0;
};

// An open-addressing index of ids by 32-bit hash: the caller stores the
// items and says whether an id's item equals the one looked up. No
// allocation per item; lookups touch one or two cache lines.
class FlatIndex {
 public:
  static constexpr uint32_t kAbsent = 0xffffffffu;

  // The id of the item with hash `h` for which eq(id) holds, or kAbsent.
  template <typename Eq>
  uint32_t Find(uint32_t h, Eq&& eq) const {
    if (slots_.empty()) return kAbsent;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      uint64_t slot = slots_[i];
      if (slot == 0) return kAbsent;
      if (static_cast<uint32_t>(slot >> 32) == h) {
        uint32_t id = static_cast<uint32_t>(slot) - 1;
        if (eq(id)) return id;
      }
    }
  }

  // Adds `id` under hash `h` (the caller made sure it is not there).
  void Insert(uint32_t h, uint32_t id) {
    if ((count_ + 1) * 2 > slots_.size()) Grow();
    Place(h, id);
    ++count_;
  }

 private:
  void Place(uint32_t h, uint32_t id) {
    size_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = (uint64_t{h} << 32) | (uint64_t{id} + 1);
  }
  void Grow() {
    std::vector<uint64_t> old = std::move(slots_);
    slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
    mask_ = slots_.size() - 1;
    for (uint64_t slot : old) {
      if (slot != 0) {
        Place(static_cast<uint32_t>(slot >> 32),
              static_cast<uint32_t>(slot) - 1);
      }
    }
  }

  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
};

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_ARENA_H_
