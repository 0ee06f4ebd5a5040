// Reading and parsing one file, the predictions that let most files be
// matched instead of parsed, and giving matched files their keys.
#include "lib/src/reader/merge_internal.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "lib/src/reader/liveness_internal.h"

namespace promdir {

namespace {

// True iff the entry at `entry` (its key length field, then `key_size` key
// bytes) holds the key of entry `index` of `p`'s file, wherever it is.
bool SameKey(const merge_detail::Prediction& p, size_t index,
             const char* entry, size_t key_size) {
  if (index >= p.entry_offsets.size()) return false;
  const size_t at = p.entry_offsets[index];
  return p.raw.size() >= at + 4 + key_size &&
         std::memcmp(p.raw.data() + at, entry, 4 + key_size) == 0;
}

// True iff the entry at `off` (at `entry`) is entry `index` of `p`'s file,
// byte for byte and at the same offset.
bool SameEntry(const merge_detail::Prediction& p, size_t index, uint64_t off,
               const char* entry, size_t key_size) {
  return index < p.entry_offsets.size() && p.entry_offsets[index] == off &&
         SameKey(p, index, entry, key_size);
}

}  // namespace

namespace merge_detail {

uint32_t Prediction::Find(const char* entry, size_t key_size) const {
  uint32_t j = index.Find(
      reader::KeyHash(std::string_view(entry + 4, key_size)),
      [&](uint32_t i) { return SameKey(*this, i, entry, key_size); });
  return j == reader::FlatIndex::kAbsent ? kNoId : j;
}

}  // namespace merge_detail

namespace {

// The index of the prediction's entry whose key the entry at `off` (at
// `entry`) holds, or kNoId: the one after the last match (`*next`: files
// made in another order still list their series in runs of the
// prediction's order), else entry `index` itself at the same offset, else
// by the prediction's index of its keys. Each guess costs a memcmp, so the
// likelier comes first, and none is tried twice. Sets *next to the entry
// after the match.
uint32_t MatchEntry(const merge_detail::Prediction& p, size_t index,
                    uint64_t off, const char* entry, size_t key_size,
                    uint32_t* next) {
  uint32_t j;
  if (*next != reader::kNoId && SameKey(p, *next, entry, key_size)) {
    j = *next;
  } else if (*next != index && SameEntry(p, index, off, entry, key_size)) {
    j = static_cast<uint32_t>(index);
  } else {
    j = p.Find(entry, key_size);
  }
  *next = j == reader::kNoId ? reader::kNoId : j + 1;
  return j;
}

}  // namespace

bool DirectoryCollector::Impl::FastParse(const std::string& path,
                                         std::string_view data,
                                         const Prediction& predicted,
                                         CachedFile* cf) {
  // DetectLayout's choice without its walks: the prediction's layout if
  // it walks the file, where the 16-byte one is preferred when both do.
  const ValueLayout layout = predicted.layout;
  if (layout == ValueLayout::k8 &&
      reader::WalkEntries(data, format::kHeaderSize, ValueLayout::k16, path,
                          [](uint64_t, std::string_view, uint64_t) {})
          .ok()) {
    return false;  // (the 16-byte walk of an 8-byte file fails at once)
  }
  // Entry i is most often the prediction's entry i, at the same offset.
  // From the first one that is not, the file gets a table of its own,
  // holding for now the prediction's index of each entry's key
  // (MatchEntry).
  size_t n = 0;
  std::shared_ptr<EntryTable> own;
  uint32_t next = kNoId;
  bool matched = true;
  ReadError e = reader::WalkEntries(
      data, format::kHeaderSize, layout, path,
      [&](uint64_t off, std::string_view key, uint64_t voff) {
        const char* entry = data.data() + off;
        if (!own) {
          if (SameEntry(predicted, n, off, entry, key.size())) {
            ++n;  // (its value is at predicted.value_offsets[n])
            return true;
          }
          own = std::make_shared<EntryTable>();
          own->keys.reserve(predicted.entry_offsets.size());
          own->offsets.reserve(predicted.entry_offsets.size());
          for (uint32_t i = 0; i < n; ++i) {
            own->keys.push_back(i);
            own->offsets.push_back(predicted.value_offsets[i]);
          }
          next = static_cast<uint32_t>(n);
        }
        uint32_t j = MatchEntry(predicted, n, off, entry, key.size(), &next);
        if (j == kNoId) {
          matched = false;
          return false;  // a key the prediction lacks: Parse decides
        }
        own->keys.push_back(j);
        own->offsets.push_back(static_cast<uint32_t>(voff));
        ++n;
        return true;
      });
  if (!e.ok() || !matched) return false;
  cf->entries = std::move(own);  // null: the prediction's, in its order
  cf->layout = layout;
  cf->layout_known = true;
  cf->parsed = data.size();
  cf->count = static_cast<uint32_t>(n);
  return true;
}

namespace merge_detail {

EntryTable& CachedFile::Own() {
  if (entries && entries.use_count() == 1 && entries->keys.size() == count) {
    return *entries;
  }
  auto mine = std::make_shared<EntryTable>();
  if (entries) {
    const EntryTable& from = *entries;
    mine->keys.assign(from.keys.begin(), from.keys.begin() + count);
    mine->offsets.assign(from.offsets.begin(), from.offsets.begin() + count);
    for (const auto& f : from.families) {
      if (f[2] >= count) break;
      mine->families.push_back(f);
    }
    mine->targets.assign(
        from.targets.begin(),
        from.targets.begin() + std::min<size_t>(count, from.targets.size()));
  }
  // (Only the thread that claimed this file reaches here: with use_count
  // 1 no other holder exists to copy the pointer meanwhile.)
  entries = std::move(mine);
  return *entries;
}

}  // namespace merge_detail

bool DirectoryCollector::Impl::Parse(const std::string& path,
                                     std::string_view data,
                                     const format::FileName& name,
                                     const Prediction* predicted,
                                     CachedFile* cf, ReadError* err) {
  if (data.size() <= cf->parsed) return true;
  const FileType type = name.type;
  // A file's layout is the stride that walks it to `used`, the 16-byte one
  // if both do (DetectLayout): the walk below tries it as it goes, rather
  // than walking the file once more first.
  const bool probe = !cf->layout_known;
  if (probe) cf->layout = ValueLayout::k16;
  EntryTable& table = cf->Own();
  const size_t base = table.keys.size();
  // 1. Each entry's key id, looked up under a shared lock, so threads parse
  // side by side: the prediction's if it has the key (MatchEntry; most
  // often no hashing), else the table's.
  struct Miss {
    size_t index;
    uint64_t off;
    size_t size;
  };
  std::vector<Miss> misses;
  for (bool retry = true; retry;) {
    retry = false;
    std::shared_lock<std::shared_mutex> t(table_mu_);
    const Prediction* use =
        predicted && predicted->complete && !predicted->failed ? predicted
                                                               : nullptr;
    if (base == 0 && use) {  // most likely as many entries as the prediction
      table.keys.reserve(use->entry_offsets.size());
      table.offsets.reserve(use->entry_offsets.size());
    }
    uint32_t next = kNoId;
    *err = reader::WalkEntries(
        data, cf->parsed, cf->layout, path,
        [&](uint64_t off, std::string_view key, uint64_t voff) {
          const size_t index = table.keys.size();
          uint32_t j = use ? MatchEntry(*use, index, off, data.data() + off,
                                        key.size(), &next)
                           : kNoId;
          uint32_t id;
          if (j != kNoId) {
            id = use->entries->keys[j];
          } else {
            id = table_->Find(key);
            if (id == kNoId) misses.push_back({index, off, key.size()});
          }
          table.keys.push_back(id);
          table.offsets.push_back(static_cast<uint32_t>(voff));
        });
    if (!err->ok() && probe && cf->layout == ValueLayout::k16) {
      cf->layout = ValueLayout::k8;  // the other stride, from the start
      table.keys.resize(base);
      table.offsets.resize(base);
      misses.clear();
      retry = true;
    }
  }
  if (!err->ok()) {
    // Neither stride walks it: DetectLayout says why as it always does.
    if (probe) {
      ReadError e = reader::DetectLayout(data, cf->parsed, ValueLayout::k16,
                                         path, &cf->layout);
      if (!e.ok()) *err = e;
    }
    return false;
  }
  cf->layout_known = true;
  // 2. New keys, under the exclusive lock (a bad one ends the file).
  if (!misses.empty()) {
    std::unique_lock<std::shared_mutex> t(table_mu_);
    for (const Miss& m : misses) {
      uint32_t id = table_->Intern(data.substr(m.off + 4, m.size));
      table.keys[m.index] = id;
      if (table_->bad_in(id, type)) break;
    }
  }
  // 3. Bad keys, then the families, in entry order.
  std::shared_lock<std::shared_mutex> t(table_mu_);
  for (size_t i = base; i < table.keys.size(); ++i) {
    const uint32_t id = table.keys[i];
    if (table_->bad_in(id, type)) {
      const KeyInfo& k = table_->key(id);
      std::string why = k.bad == BadReason::kNone
                            ? "histogram bucket has a non-numeric le"
                            : k.why;
      // (The entry starts with its key's length, 4 bytes before the key.)
      uint64_t at = table.offsets[i] - format::PadLength(k.bytes.size()) -
                    k.bytes.size() - 4;
      *err = reader::Bad(k.bad != BadReason::kNone ? k.bad : BadReason::kBadLe,
                         path, why + " (entry at offset " + std::to_string(at) + ")");
      return false;
    }
  }
  AddFamilies(&table, base);
  cf->parsed = data.size();
  cf->count = static_cast<uint32_t>(table.keys.size());
  return true;
}

namespace merge_detail {

// Failures that pass: the process or the system is short of something, or
// the disk or a permission hiccups. A file read before keeps its values.
const char* TransientErrorName(int err) {
  switch (err) {
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    case EIO: return "EIO";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EINTR: return "EINTR";
    case EAGAIN: return "EAGAIN";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ESTALE: return "ESTALE";
  }
  return nullptr;
}

}  // namespace merge_detail

bool DirectoryCollector::Impl::ServeLastGood(
    const std::string& base, const std::optional<format::FileName>& name,
    Slot* slot) {
  const char* code = merge_detail::TransientErrorName(slot->err.os_error);
  if (code == nullptr || !name) return false;
  std::lock_guard<std::mutex> g(cache_mu_);
  auto id = last_ids_.find(base);
  if (id == last_ids_.end()) return false;
  auto c = cache_.find(id->second);
  if (c == cache_.end() || c->second.name != base ||
      c->second.generation == generation_) {
    return false;
  }
  CachedFile* cf = &c->second;
  const std::vector<double>& values =
      cf->frozen ? cf->frozen_values : cf->last_values;
  if (values.size() != cf->count) return false;
  cf->generation = generation_;  // claimed by this scrape
  slot->transient_error = code;
  slot->transient_message = slot->err.status.message();
  slot->err = ReadError();
  slot->id = id->second;
  slot->state = WriterState::kUnknown;
  ++slot->stats.cache_hits;
  ScrapeFile* sf = &slot->file;
  sf->cache = cf;
  sf->values = values;
  sf->timestamps = cf->frozen ? cf->frozen_timestamps : cf->last_timestamps;
  sf->name = *name;
  slot->stats.entries += values.size();
  slot->outcome = Outcome::kMerged;
  return true;
}

void DirectoryCollector::Impl::ReadFile(const std::string& base,
                                        std::string* buf, Slot* slot) {
  const std::string path = opt_.directory + "/" + base;
  ScrapeStats* stats = &slot->stats;
  ReadError* err = &slot->err;
  slot->outcome = Outcome::kBad;
  std::optional<format::FileName> name = format::ParseFileName(base);
  if (freeze_ok_ && name) {
    CachedFile* frozen = nullptr;
    {
      std::lock_guard<std::mutex> g(cache_mu_);
      auto it = frozen_.find(base);
      if (it != frozen_.end()) {
        auto c = cache_.find(it->second);
        if (c != cache_.end() && c->second.frozen &&
            c->second.generation != generation_) {
          frozen = &c->second;
          slot->id = it->second;
          frozen->generation = generation_;  // claimed by this scrape
        }
      }
    }
    if (frozen != nullptr) {
      ServeUnchanged(frozen, std::move(*name), slot);
      return;
    }
  }
  int fd = -1;
  FileInfo info;
  *err = reader::OpenMetricsFile(env_, path, &fd, &info);
  if (err->status.IsNotFound()) {
    slot->outcome = Outcome::kVanished;
    return;
  }
  if (!err->ok()) {
    ServeLastGood(base, name, slot);
    return;
  }
  if (!name) {
    env_->Close(fd);
    *err = reader::Bad(BadReason::kUnknownType, path,
                       "the name has a type or gauge mode no client writes");
    return;
  }
  const FileId id{info.device, info.inode};
  slot->id = id;
  slot->info = info;
  slot->read_at = env_->NowUnixSeconds();
  if (KnownBad(base, info, slot)) {
    env_->Close(fd);
    return;
  }
  bool magic = false;
  *err = reader::ReadUsed(env_, fd, path, info.size, buf, &magic,
                          &stats->bytes_read);
  if (!err->ok() && ServeLastGood(base, name, slot)) {
    env_->Close(fd);
    return;
  }
  if (!err->ok()) {
    // Python's writer creates a file empty and sizes it a moment later: an
    // empty file whose writer is alive is starting, not corrupt.
    if (err->reason == BadReason::kEmpty &&
        opt_.liveness != LivenessMode::kNone &&
        reader::ProbeWriterWithMagic(env_, fd, name->id, opt_.liveness, false)
                .state == WriterState::kLive) {
      slot->state = WriterState::kLive;
      slot->outcome = Outcome::kStarting;
      *err = ReadError();
    }
    env_->Close(fd);
    return;
  }
  Verdict verdict =
      reader::ProbeWriterWithMagic(env_, fd, name->id, opt_.liveness, magic);
  if (verdict.kernel_unavailable) slot->liveness_problem = verdict.how;
  // A file with no live writer is kept open for Freeze, which probes
  // whether anything has it open for writing (with liveness checks off,
  // any file).
  const bool no_writer = verdict.state != WriterState::kLive ||
                         opt_.liveness == LivenessMode::kNone;
  if (freeze_ok_ && info.links == 1 && no_writer &&
      kept_fds_.fetch_add(1) < kMaxKeptFds) {
    slot->keep_fd = fd;
  } else {
    env_->Close(fd);
  }
  slot->state = verdict.state;

  // A new file whose entries are all its prefix's prediction (workers
  // create their series in the same order) is parsed without any lock;
  // anything else by Parse.
  std::string_view data = *buf;
  const std::string prefix = name->Prefix();
  std::shared_ptr<Prediction> predicted;
  bool cached = false;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto c = cache_.find(id);
    cached = c != cache_.end() && c->second.SameFile(base, info);
    auto p = predicted_.find(prefix);
    if (p != predicted_.end()) predicted = p->second;
  }
  std::unique_ptr<CachedFile> fast;
  if (predicted && !cached) {
    fast = std::make_unique<CachedFile>();
    if (!FastParse(path, data, *predicted, fast.get())) fast.reset();
  }

  CachedFile* cf = nullptr;
  bool reuse = false;
  {
    std::lock_guard<std::mutex> g(cache_mu_);
    auto [it, inserted] = cache_.try_emplace(id);
    cf = &it->second;
    if (!inserted && cf->generation == generation_) {
      // Another name of the same inode (a hard link) was read by this
      // scrape: parse this one on its own, leaving the cached one alone.
      slot->own = std::make_unique<CachedFile>();
      cf = slot->own.get();
      inserted = true;
    }
    Unfreeze(cf);
    reuse = !inserted && cf->SameFile(base, info) && data.size() >= cf->parsed;
    if (!reuse) *cf = fast ? std::move(*fast) : CachedFile();
    cf->name = base;
    cf->birth_ns = info.birth_ns;
    cf->generation = generation_;  // claimed: no other thread touches *cf
  }
  if (slot->own && slot->keep_fd >= 0) {  // a hard link is never frozen
    env_->Close(slot->keep_fd);
    slot->keep_fd = -1;
  }
  // A file parsed from the start becomes its prefix's prediction if the
  // prefix has none or it is longer (so files that differ do not each
  // replace it), its bytes moving there: `made` keeps them alive while
  // `data` points into them.
  std::shared_ptr<Prediction> made;
  if (fast && !reuse) {
    slot->keys_from = predicted;  // keys once the threads are joined
    slot->keys_cf = cf;
  } else if (data.size() > cf->parsed) {
    // The prediction is published at once if the prefix has none, so other
    // threads can match their files against it while this one interns its
    // keys.
    bool early = false;
    std::shared_ptr<Prediction> newer;  // published since the lookup
    if (cf->count == 0 && !slot->own &&
        (!predicted || data.size() > predicted->raw.size())) {
      made = std::make_shared<Prediction>();
      if (reader::DetectLayout(data, format::kHeaderSize, ValueLayout::k16,
                               path, &made->layout).ok() &&
          reader::WalkEntries(data, format::kHeaderSize, made->layout, path,
                              [&](uint64_t off, std::string_view key,
                                  uint64_t voff) {
                                made->index.Insert(
                                    reader::KeyHash(key),
                                    static_cast<uint32_t>(
                                        made->entry_offsets.size()));
                                made->entry_offsets.push_back(
                                    static_cast<uint32_t>(off));
                                made->value_offsets.push_back(
                                    static_cast<uint32_t>(voff));
                              }).ok()) {
        std::swap(made->raw, *buf);  // the bytes move, no copy
        data = made->raw;
        cf->layout = made->layout;  // Parse need not detect it again
        cf->layout_known = true;
        std::lock_guard<std::mutex> g(cache_mu_);
        auto p = predicted_.find(prefix);
        if (p == predicted_.end()) {
          predicted_[prefix] = made;
          early = true;
        } else if (p->second != predicted) {
          newer = p->second;
        }
      } else {
        made.reset();  // a bad file: Parse says why
      }
    }
    // Another thread began the same prefix at the same time and published
    // first: match against its file rather than wait to intern.
    if (newer) {
      auto f = std::make_unique<CachedFile>();
      if (FastParse(path, data, *newer, f.get())) {
        f->name = base;
        f->birth_ns = info.birth_ns;
        f->generation = generation_;
        *cf = std::move(*f);  // still claimed by this thread
        slot->keys_from = newer;
        slot->keys_cf = cf;
      }
    }
    bool ok = true;
    if (!slot->keys_from) {
      ok = Parse(path, data, *name, predicted.get(), cf, err);
      if (!ok && reuse) {  // not an append after all: from the start
        *cf = CachedFile();
        cf->name = base;
        cf->birth_ns = info.birth_ns;
        cf->generation = generation_;
        reuse = false;
        ok = Parse(path, data, *name, predicted.get(), cf, err);
      }
      if (made) {
        std::unique_lock<std::shared_mutex> t(table_mu_);
        if (ok) made->entries = cf->entries;  // shared with the file
        (ok ? made->complete : made->failed) = true;
      }
    }
    std::lock_guard<std::mutex> g(cache_mu_);
    if (made && !slot->keys_from) {  // (else it only holds `data`)
      auto p = predicted_.find(prefix);
      if (ok && !early) {
        predicted_[prefix] = made;  // the longest file parsed from the start
      } else if (!ok && p != predicted_.end() && p->second == made) {
        predicted_.erase(p);
      }
    }
    if (!ok) {
      if (!slot->own) cache_.erase(id);
      return;
    }
  }
  ++(reuse ? stats->cache_hits : stats->cache_misses);
  cf->magic = magic;
  const bool candidate = slot->keep_fd >= 0;
  const bool left_out =
      verdict.state == WriterState::kDead && format::IsLiveMode(name->mode);
  ScrapeFile* sf = &slot->file;
  // A matched file's values are where its prediction's are.
  const size_t n = cf->count;
  const uint32_t* offsets = cf->entries ? cf->entries->offsets.data()
                            : slot->keys_from
                                ? slot->keys_from->value_offsets.data()
                                : nullptr;
  if (!left_out || candidate) {  // (a left-out file's values only to freeze)
    sf->own_values.resize(n);
    const char* p = data.data();
    for (size_t i = 0; i < n; ++i) {
      sf->own_values[i] = reader::LoadDouble(p + offsets[i]);
    }
    if (cf->layout == ValueLayout::k16) {
      sf->own_timestamps.resize(n);
      for (size_t i = 0; i < n; ++i) {
        sf->own_timestamps[i] = reader::LoadDouble(p + offsets[i] + 8);
      }
    }
    sf->values = sf->own_values;
    sf->timestamps = sf->own_timestamps;
    sf->cache = cf;
  }
  if (left_out) {
    stats->pruned_series += n;
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->name = std::move(*name);
  stats->entries += n;
  slot->outcome = Outcome::kMerged;
}

bool DirectoryCollector::Impl::KnownBad(const std::string& base,
                                        const FileInfo& info, Slot* slot) {
  std::lock_guard<std::mutex> g(cache_mu_);
  auto it = bad_memo_.find(base);
  if (it == bad_memo_.end()) return false;
  const FileInfo& was = it->second.info;
  if (was.device != info.device || was.inode != info.inode ||
      was.size != info.size || was.mtime != info.mtime) {
    bad_memo_.erase(it);
    return false;
  }
  slot->err = it->second.err;
  return true;
}

void DirectoryCollector::Impl::RememberBad(const std::string& base,
                                           const Slot& slot) {
  switch (slot.err.reason) {
    case BadReason::kNone:  // (vanished)
    case BadReason::kEmpty:  // nothing was read; maybe a writer starting
    case BadReason::kIoError:
    case BadReason::kSymlink:
    case BadReason::kNotRegular:
    case BadReason::kUnknownType:
      return;  // not read, or not the content's fault
    default:
      break;
  }
  if (slot.info.inode == 0 ||
      slot.info.mtime > slot.read_at - kBadMemoQuietSeconds) {
    return;  // not opened, or changed too recently to trust its mtime
  }
  bad_memo_[base] = BadMemo{slot.info, slot.err};
}

void DirectoryCollector::Impl::AddFamilies(EntryTable* t, size_t from) const {
  // A file has a few families, so a short list is searched; past that
  // they go into a hash set, so a file of many families stays linear.
  constexpr size_t kListMax = 16;
  std::vector<uint32_t> seen;
  std::unordered_set<uint32_t> many;
  auto add = [&](uint32_t family) {  // false if already there
    if (!many.empty()) return many.insert(family).second;
    if (std::find(seen.begin(), seen.end(), family) != seen.end()) return false;
    seen.push_back(family);
    if (seen.size() > kListMax) many.insert(seen.begin(), seen.end());
    return true;
  };
  for (const auto& f : t->families) add(f[0]);
  for (size_t i = from; i < t->keys.size(); ++i) {
    const uint32_t id = t->keys[i];
    const uint32_t family = table_->family_of(id);
    if (add(family)) t->families.push_back({family, id, static_cast<uint32_t>(i)});
  }
}

void DirectoryCollector::Impl::TakeKeys(const std::vector<std::string>& names,
                                        std::vector<Slot>* slots) {
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    while (slot.keys_from) {
      const Prediction& p = *slot.keys_from;
      CachedFile* cf = slot.keys_cf;
      if (p.complete && !p.failed) {
        if (cf->entries == nullptr) {
          cf->entries = p.entries;  // shared: its first cf->count entries
        } else {
          // Its own order: prediction indexes become key ids.
          EntryTable& t = *cf->entries;
          for (uint32_t& key : t.keys) key = p.entries->keys[key];
          AddFamilies(&t, 0);
        }
        slot.keys_from.reset();
        break;
      }
      // The file it matched was bad, so this one (the same keys) is too:
      // read it again, alone now, to say why. (Every prediction left is
      // complete, so this ends.)
      if (slot.keep_fd >= 0) env_->Close(slot.keep_fd);
      cache_.erase(slot.id);
      slot = Slot();
      ReadFile(names[i], &read_bufs_[0], &slot);
    }
  }
}

}  // namespace promdir
