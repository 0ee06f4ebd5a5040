// Reading one file: ReadFile is the sequence of steps below, each of which
// may end the read (a frozen file served from memory, a file that vanished,
// is bad, is starting or is served from its last good values).
#include <cerrno>

#include "lib/src/path.h"
#include "lib/src/reader/merge_internal.h"

namespace promdir {

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

void DirectoryCollector::Impl::ReadFile(const std::string& base,
                                        std::string* buf, Slot* slot) {
  Reading r;
  r.base = base;
  r.path = JoinPath(opt_.directory, base);
  r.name = format::ParseFileName(base);
  slot->outcome = Outcome::kBad;
  if (ServeFrozen(&r, slot)) return;
  if (!Open(&r, buf, slot)) return;
  ProbeWriter(&r, slot);
  r.data = *buf;
  r.prefix = r.name->Prefix();
  if (!ParseInto(&r, buf, slot)) return;
  TakeValues(&r, slot);
}

bool DirectoryCollector::Impl::ServeFrozen(Reading* r, Slot* slot) {
  if (!tracker_.may_freeze() || !r->name) return false;
  CachedFile* cf = nullptr;
  {
    std::lock_guard<std::mutex> g(cache_.mu());
    cf = tracker_.ClaimFrozen(r->base, &cache_, &slot->id);
  }
  if (cf == nullptr) return false;
  format::FileName& name = *r->name;
  Verdict verdict =
      reader::ProbeUnopened(env_, name.id, opt_.liveness, cf->magic);
  slot->state = verdict.state;
  ++slot->stats.cache_hits;
  ++slot->stats.files_unchanged;
  ScrapeFile* sf = &slot->file;
  sf->cache = cf;
  sf->values = cf->frozen_values;
  sf->timestamps = cf->frozen_timestamps;
  if (verdict.state == WriterState::kDead && format::IsLiveMode(name.mode)) {
    slot->stats.pruned_series += cf->count;
    slot->outcome = Outcome::kLeftOut;
    return true;
  }
  sf->name = std::move(name);
  slot->stats.entries += cf->frozen_values.size();
  slot->outcome = Outcome::kMerged;
  return true;
}

bool DirectoryCollector::Impl::Open(Reading* r, std::string* buf,
                                    Slot* slot) {
  ReadError* err = &slot->err;
  *err = reader::OpenMetricsFile(env_, r->path, &r->fd, &r->info);
  if (err->status.IsNotFound()) {
    slot->outcome = Outcome::kVanished;
    return false;
  }
  if (!err->ok()) {
    ServeLastGood(*r, slot);
    return false;
  }
  if (!r->name) {
    env_->Close(r->fd);
    *err = reader::Bad(reader::BadReason::kUnknownType, r->path,
                       "the name has a type or gauge mode no client writes");
    return false;
  }
  r->id = FileId{r->info.device, r->info.inode};
  slot->id = r->id;
  slot->info = r->info;
  slot->read_at = env_->NowUnixSeconds();
  if (cache_.KnownBad(r->base, r->info, err)) {
    env_->Close(r->fd);
    return false;
  }
  *err = reader::ReadUsed(env_, r->fd, r->path, r->info.size, buf, &r->magic,
                          &slot->stats.bytes_read);
  if (err->ok()) return true;
  if (!ServeLastGood(*r, slot) && err->reason == reader::BadReason::kEmpty &&
      opt_.liveness != LivenessMode::kNone &&
      reader::ProbeWriterWithMagic(env_, r->fd, r->name->id, opt_.liveness,
                                   false)
              .state == WriterState::kLive) {
    // Python's writer creates a file empty and sizes it a moment later: an
    // empty file whose writer is alive is starting, not corrupt.
    slot->state = WriterState::kLive;
    slot->outcome = Outcome::kStarting;
    *err = ReadError();
  }
  env_->Close(r->fd);
  return false;
}

void DirectoryCollector::Impl::ProbeWriter(Reading* r, Slot* slot) {
  r->verdict = reader::ProbeWriterWithMagic(env_, r->fd, r->name->id,
                                            opt_.liveness, r->magic);
  if (r->verdict.kernel_unavailable) slot->liveness_problem = r->verdict.how;
  // A file with no live writer is kept open for the ChangeTracker, which
  // probes whether anything has it open for writing (with liveness checks
  // off, any file).
  const bool no_writer = r->verdict.state != WriterState::kLive ||
                         opt_.liveness == LivenessMode::kNone;
  if (tracker_.may_freeze() && r->info.links == 1 && no_writer &&
      tracker_.KeepFd()) {
    slot->keep_fd = r->fd;
  } else {
    env_->Close(r->fd);
  }
  r->fd = -1;
  slot->state = r->verdict.state;
}

bool DirectoryCollector::Impl::ParseInto(Reading* r, std::string* buf,
                                         Slot* slot) {
  // A new file whose entries are all its prefix's prediction (workers
  // create their series in the same order) is matched without any lock;
  // anything else is parsed.
  bool cached = false;
  {
    std::lock_guard<std::mutex> g(cache_.mu());
    CachedFile* c = cache_.Find(r->id);
    cached = c != nullptr && c->SameFile(r->base, r->info);
  }
  r->predicted = predictor_.Get(r->prefix);
  std::unique_ptr<CachedFile> fast;
  if (r->predicted && !cached) {
    fast = std::make_unique<CachedFile>();
    if (!merge_detail::MatchPrediction(r->path, r->data, *r->predicted,
                                       fast.get())) {
      fast.reset();
    }
  }
  const bool matched = fast != nullptr;
  Claim(r, std::move(fast), slot);
  if (slot->own && slot->keep_fd >= 0) {  // a hard link is never frozen
    env_->Close(slot->keep_fd);
    slot->keep_fd = -1;
  }
  if (matched && !r->reuse) {
    slot->keys_from = r->predicted;  // keys once the reads are done
    slot->keys_cf = r->cf;
  } else if (r->data.size() > r->cf->parsed && !ParseNew(r, buf, slot)) {
    return false;
  }
  ++(r->reuse ? slot->stats.cache_hits : slot->stats.cache_misses);
  r->cf->magic = r->magic;
  return true;
}

void DirectoryCollector::Impl::TakeValues(Reading* r, Slot* slot) {
  const CachedFile* cf = r->cf;
  const bool candidate = slot->keep_fd >= 0;
  const bool left_out = r->verdict.state == WriterState::kDead &&
                        format::IsLiveMode(r->name->mode);
  ScrapeFile* sf = &slot->file;
  // A matched file's values are where its prediction's are.
  const size_t n = cf->count;
  const uint32_t* offsets = cf->entries ? cf->entries->offsets.data()
                            : slot->keys_from
                                ? slot->keys_from->value_offsets.data()
                                : nullptr;
  if (!left_out || candidate) {  // (a left-out file's values only to freeze)
    sf->own_values.resize(n);
    const char* p = r->data.data();
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
    sf->cache = r->cf;
  }
  if (left_out) {
    slot->stats.pruned_series += n;
    slot->outcome = Outcome::kLeftOut;
    return;
  }
  sf->name = std::move(*r->name);
  slot->stats.entries += n;
  slot->outcome = Outcome::kMerged;
}

void DirectoryCollector::Impl::TakeKeys(const std::vector<std::string>& names,
                                        std::vector<Slot>* slots) {
  for (size_t i = 0; i < slots->size(); ++i) {
    Slot& slot = (*slots)[i];
    while (slot.keys_from) {
      const Prediction& p = *slot.keys_from;
      CachedFile* cf = slot.keys_cf;
      if (p.usable()) {
        if (cf->entries == nullptr) {
          cf->entries = p.entries;  // shared: its first cf->count entries
        } else {
          // Its own order: prediction indexes become key ids.
          merge_detail::EntryTable& t = *cf->entries;
          for (uint32_t& key : t.keys) key = p.entries->keys[key];
          parser_.AddFamilies(&t, 0);
        }
        slot.keys_from.reset();
        break;
      }
      // The file it matched was bad, so this one (the same keys) is too:
      // read it again, alone now, to say why. (Every prediction left is
      // complete, so this ends.)
      if (slot.keep_fd >= 0) env_->Close(slot.keep_fd);
      cache_.files().erase(slot.id);
      slot = Slot();
      ReadFile(names[i], &read_bufs_[0], &slot);
    }
  }
}

}  // namespace promdir
