// What a scrape's files come to: listing them, counting each one's outcome
// into ScrapeStats (bad files reported once, transient failures logged once,
// the kernel's refusal once per collector), and pruning dead live* files.
#include <algorithm>
#include <set>
#include <unordered_map>

#include "lib/src/path.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/merge_internal.h"
#include "lib/src/reader/reprove.h"

namespace promdir {

Status DirectoryCollector::Impl::ListFiles(std::vector<std::string>* names,
                                           ScrapeStats* stats) {
  Status s = env_->ListDir(opt_.directory, names);
  if (!s.ok()) {
    // Out of descriptors or memory for a moment: the files of the last
    // scrape are still the best answer (each then serves its last good
    // values if it cannot be read either).
    const char* code = merge_detail::TransientErrorName(s.os_error());
    if (code == nullptr || cache_.last_ids().empty()) return s;
    ++stats->read_errors_by_reason[code];
    names->clear();
    for (const auto& [name, id] : cache_.last_ids()) names->push_back(name);
  }
  std::erase_if(*names, [](const std::string& n) {
    return n.size() <= 3 || !n.ends_with(".db");
  });
  std::sort(names->begin(), names->end());
  std::set<std::string> hidden;
  HiddenByCompaction(env_, opt_.directory, *names, &hidden);
  std::erase_if(*names, [&](const std::string& n) { return hidden.count(n); });
  return Status::OK();
}

void DirectoryCollector::Impl::NoteLiveness(const Slot& slot,
                                            ScrapeStats* stats) {
  if (slot.liveness_problem.empty() || liveness_reported_) return;
  liveness_reported_ = true;
  stats->liveness_unavailable =
      slot.liveness_problem +
      ": files without a promdir writer lock are shown but never deleted or "
      "folded. Run the collector as the files' owner, or grant it "
      "CAP_LEASE, on a local file system; or choose --liveness pid (pids "
      "of one pid namespace) or none";
}

void DirectoryCollector::Impl::CountBad(const std::string& base,
                                        const std::string& prefix,
                                        const Slot& slot, Tally* tally,
                                        ScrapeStats* stats) {
  const ReadError& err = slot.err;
  std::string code(reader::BadReasonCode(err.reason));
  ++stats->files[{prefix, "bad"}];
  ++stats->bad_files_by_reason[code];
  std::string path = JoinPath(opt_.directory, base);
  tally->bad_now.insert(path);
  cache_.RememberBad(base, slot.info, slot.read_at, err);
  FileInfo info;
  env_->LinkStat(path, &info);
  if (cache_.FirstReport(path, FileId{info.device, info.inode}, err.reason)) {
    stats->new_bad_files.push_back(BadFile{path, code, err.status.message()});
  }
}

void DirectoryCollector::Impl::Count(const std::string& base, Slot& slot,
                                     Tally* tally, ScrapeStats* stats) {
  stats->bytes_read += slot.stats.bytes_read;
  stats->entries += slot.stats.entries;
  stats->cache_hits += slot.stats.cache_hits;
  stats->cache_misses += slot.stats.cache_misses;
  stats->pruned_series += slot.stats.pruned_series;
  stats->files_unchanged += slot.stats.files_unchanged;
  if (slot.outcome == Outcome::kVanished) return;
  std::optional<format::FileName> fname = format::ParseFileName(base);
  const std::string prefix = fname ? fname->Prefix() : "unknown";
  NoteLiveness(slot, stats);
  if (slot.transient_error != nullptr) {
    ++stats->read_errors_by_reason[slot.transient_error];
    tally->failing_now.insert(base);
    if (!failing_.count(base)) {
      stats->new_read_errors.push_back(
          BadFile{JoinPath(opt_.directory, base), slot.transient_error,
                  slot.transient_message + "; serving its last good values"});
    }
  }
  switch (slot.outcome) {
    case Outcome::kStarting:
      ++stats->files[{prefix, "live"}];
      return;
    case Outcome::kBad:
      CountBad(base, prefix, slot, tally, stats);
      return;
    default:
      break;
  }
  ++stats->files[{prefix, std::string(WriterStateName(slot.state))}];
  if (slot.outcome == Outcome::kLeftOut) {
    tally->dead_live_files.push_back(base);
    return;
  }
  if (!slot.own) tally->ids_now[base] = slot.id;
  tally->files.push_back(std::move(slot.file));
  if (slot.own) tally->owned.push_back(std::move(slot.own));
}

void DirectoryCollector::Impl::Prune(const std::vector<std::string>& dead,
                                     ScrapeStats* stats) {
  // Each is proved dead once more, under a staging name, right before the
  // delete: a worker that reused the id keeps its file.
  for (const std::string& name : dead) {
    reader::Deed deed;
    std::string how;
    if (reader::RemoveIfDead(env_, opt_.directory, name, opt_.liveness,
                             /*remove_unknown=*/false, &deed, &how)
            .ok() &&
        deed == reader::Deed::kDone) {
      ++stats->pruned_files;
    }
  }
}

void DirectoryCollector::Impl::KeepLastGood(std::vector<ScrapeFile>& files) {
  for (ScrapeFile& sf : files) {
    CachedFile* cf = sf.cache;
    if (cf == nullptr || cf->frozen) continue;
    if (sf.values.data() == sf.own_values.data()) {
      cf->last_values = std::move(sf.own_values);
      cf->last_timestamps = std::move(sf.own_timestamps);
    }
  }
}

}  // namespace promdir
