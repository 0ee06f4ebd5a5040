// The steps of ReadFile that change the cache and the predictions:
// claiming a file's CachedFile, parsing what is new in it (and making it
// its prefix's prediction), and serving a file's last good values.
#include "lib/src/reader/merge_internal.h"

namespace promdir {

void DirectoryCollector::Impl::Claim(Reading* r,
                                     std::unique_ptr<CachedFile> fast,
                                     Slot* slot) {
  std::lock_guard<std::mutex> g(cache_.mu());
  bool inserted = false;
  CachedFile* cf = cache_.Claim(r->id, &inserted);
  if (cf == nullptr) {
    // Another name of the same inode (a hard link) was read by this
    // scrape: parse this one on its own, leaving the cached one alone.
    slot->own = std::make_unique<CachedFile>();
    cf = slot->own.get();
    inserted = true;
  }
  tracker_.Unfreeze(cf);
  r->reuse = !inserted && cf->SameFile(r->base, r->info) &&
             r->data.size() >= cf->parsed;
  if (!r->reuse) *cf = fast ? std::move(*fast) : CachedFile();
  cf->name = r->base;
  cf->birth_ns = r->info.birth_ns;
  cf->generation = cache_.generation();  // claimed: no other thread touches it
  r->cf = cf;
}

bool DirectoryCollector::Impl::MatchNewer(
    Reading* r, const std::shared_ptr<Prediction>& newer, Slot* slot) {
  auto f = std::make_unique<CachedFile>();
  if (!merge_detail::MatchPrediction(r->path, r->data, *newer, f.get())) {
    return false;
  }
  f->name = r->base;
  f->birth_ns = r->info.birth_ns;
  f->generation = cache_.generation();
  *r->cf = std::move(*f);  // still claimed by this thread
  slot->keys_from = newer;
  slot->keys_cf = r->cf;
  return true;
}

bool DirectoryCollector::Impl::ParseNew(Reading* r, std::string* buf,
                                        Slot* slot) {
  CachedFile* cf = r->cf;
  // A file parsed from the start becomes its prefix's prediction if the
  // prefix has none or it is longer (so files that differ do not each
  // replace it), its bytes moving there. It is published at once if the
  // prefix has none, so other threads match their files against it while
  // this one interns its keys.
  bool published = false;
  std::shared_ptr<Prediction> newer;  // published since the lookup
  if (cf->count == 0 && !slot->own &&
      (!r->predicted || r->data.size() > r->predicted->raw.size())) {
    r->made = merge_detail::MakePrediction(r->path, buf);
    if (r->made) {
      r->data = r->made->raw;
      cf->layout = r->made->layout;  // Parse need not detect it again
      cf->layout_known = true;
      published =
          predictor_.PublishIfNone(r->prefix, r->made, r->predicted, &newer);
    }
  }
  // Another thread began the same prefix at the same time and published
  // first: match against its file rather than wait to intern.
  if (newer && MatchNewer(r, newer, slot)) return true;
  const FileType type = r->name->type;
  bool ok = parser_.Parse(r->path, r->data, type, r->predicted.get(), cf,
                          &slot->err);
  if (!ok && r->reuse) {  // not an append after all: from the start
    cf->Restart(r->base, r->info.birth_ns, cache_.generation());
    r->reuse = false;
    ok = parser_.Parse(r->path, r->data, type, r->predicted.get(), cf,
                       &slot->err);
  }
  if (r->made) {
    parser_.Complete(r->made.get(), cf->entries, ok);
    predictor_.Settle(r->prefix, r->made, ok, published);
  }
  if (!ok && !slot->own) {
    std::lock_guard<std::mutex> g(cache_.mu());
    cache_.files().erase(r->id);
  }
  return ok;
}

bool DirectoryCollector::Impl::ServeLastGood(const Reading& r, Slot* slot) {
  const char* code = merge_detail::TransientErrorName(slot->err.os_error);
  if (code == nullptr || !r.name) return false;
  std::lock_guard<std::mutex> g(cache_.mu());
  auto id = cache_.last_ids().find(r.base);
  if (id == cache_.last_ids().end()) return false;
  CachedFile* cf = cache_.Find(id->second);
  if (cf == nullptr || cf->name != r.base ||
      cf->generation == cache_.generation()) {
    return false;
  }
  const std::vector<double>& values =
      cf->frozen ? cf->frozen_values : cf->last_values;
  if (values.size() != cf->count) return false;
  cf->generation = cache_.generation();  // claimed by this scrape
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
  sf->name = *r.name;
  slot->stats.entries += values.size();
  slot->outcome = Outcome::kMerged;
  return true;
}

}  // namespace promdir
