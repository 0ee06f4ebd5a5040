#include "lib/src/path.h"
#include "lib/src/reader/native_collect.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "lib/src/key_codec.h"
#include "lib/src/native_format.h"
#include "lib/src/reader/dir_guard.h"
#include "lib/src/reader/native_file.h"

namespace promdir::reader {

namespace {

// Series labels without `le`, as a lookup key.
std::string SeriesKey(const Labels& labels) {
  std::vector<std::pair<std::string_view, std::string_view>> sorted;
  for (const auto& [k, v] : labels) {
    if (k != "le") sorted.emplace_back(k, v);
  }
  std::sort(sorted.begin(), sorted.end());
  std::string key;
  for (const auto& [k, v] : sorted) {
    key.append(k).push_back('\0');
    key.append(v).push_back('\0');
  }
  return key;
}

struct Merged {
  std::string help;
  LabelPairs labels;
  NativeSeries h;
  uint32_t max_buckets = 0;
  bool first = true;
};

}  // namespace

NativeCollector::NativeCollector(Env* env, std::string directory)
    : env_(env), dir_(std::move(directory)) {}

Status NativeCollector::Collect(std::vector<NativeFamily>* out,
                                ScrapeStats* stats) {
  out->clear();
  std::lock_guard<std::mutex> lock(mu_);
  // By (name, series key).
  std::map<std::pair<std::string, std::string>, Merged> merged;
  std::set<std::string> bad_now;
  {
    ReadGuard guard(env_, dir_);
    std::vector<std::string> names;
    Status s = env_->ListDir(dir_, &names);
    if (!s.ok()) return s;
    std::erase_if(names, [](const std::string& n) {
      return !native::ParseFileName(n).has_value();
    });
    // The archive first: the sources it lists are in it already.
    const std::string archive = native::FileName(native::kArchiveId);
    std::sort(names.begin(), names.end(), [&](const auto& a, const auto& b) {
      return std::make_pair(a != archive, a) < std::make_pair(b != archive, b);
    });
    std::set<std::tuple<std::string, uint64_t, uint64_t>> folded;
    std::vector<NativeEntry> entries;
    for (const std::string& base : names) {
      const std::string path = JoinPath(dir_, base);
      uint64_t bytes = 0;
      NativeFileMeta meta;
      ReadError err = ReadNativeFile(env_, path, &entries, &bytes, &meta,
                                     base == archive);
      stats->bytes_read += bytes;
      if (err.status.IsNotFound()) continue;
      for (const ArchiveSource& a : meta.sources) {
        folded.emplace(a.name, a.device, a.inode);
      }
      if (folded.count({base, meta.device, meta.inode})) continue;
      if (!err.status.ok()) {
        std::string code(BadReasonCode(err.reason));
        ++stats->files[{native::kPrefix, "bad"}];
        ++stats->bad_files_by_reason[code];
        bad_now.insert(path);
        auto r = reported_.find(path);
        if (r == reported_.end() || r->second != err.status.message()) {
          reported_[path] = err.status.message();
          stats->new_bad_files.push_back(
              BadFile{path, code, err.status.message()});
        }
        continue;
      }
      // Histograms count whether their writer lives or not.
      ++stats->files[{native::kPrefix, "any"}];
      stats->entries += entries.size();
      for (NativeEntry& e : entries) {
        DecodedKey key;
        if (!DecodeKey(e.key, &key).ok()) continue;  // checked by the walk
        Labels labels(key.labels.begin(), key.labels.end());
        Merged& m = merged[{key.metric_name, SeriesKey(labels)}];
        if (m.first) {
          m.first = false;
          m.help = key.help;
          m.labels = std::move(key.labels);
          m.h = std::move(e.histogram);
          m.max_buckets = e.max_buckets;
          continue;
        }
        AddNative(&m.h, std::move(e.histogram));
        if (e.max_buckets != 0 &&
            (m.max_buckets == 0 || e.max_buckets < m.max_buckets)) {
          m.max_buckets = e.max_buckets;
        }
      }
    }
  }
  std::erase_if(reported_, [&](const auto& r) { return !bad_now.count(r.first); });
  for (auto& [name_key, m] : merged) {
    if (out->empty() || out->back().name != name_key.first) {
      out->push_back(NativeFamily{name_key.first, m.help, {}});
    }
    LimitBuckets(&m.h, m.max_buckets);
    m.h.labels = Labels(m.labels.begin(), m.labels.end());
    out->back().series.push_back(std::move(m.h));
  }
  return Status::OK();
}

void AttachNative(std::vector<NativeFamily> natives,
                  std::vector<MetricFamily>* families, uint64_t* dropped) {
  for (NativeFamily& nf : natives) {
    auto it = std::lower_bound(
        families->begin(), families->end(), nf.name,
        [](const MetricFamily& f, const std::string& n) { return f.name < n; });
    if (it == families->end() || it->name != nf.name) {
      MetricFamily f;
      f.name = nf.name;
      f.help = nf.help;
      f.type = MetricType::kHistogram;
      it = families->insert(it, std::move(f));
    } else if (it->type != MetricType::kHistogram) {
      *dropped += nf.series.size();
      continue;
    }
    MetricFamily& f = *it;
    // The label order of the family's existing series, by series key.
    std::unordered_map<std::string, Labels> classic;
    for (const Sample& s : f.samples) {
      Labels l;
      for (const auto& p : s.labels) {
        if (p.first != "le") l.push_back(p);
      }
      classic.try_emplace(SeriesKey(l), std::move(l));
    }
    for (NativeSeries& h : nf.series) {
      auto c = classic.find(SeriesKey(h.labels));
      if (c != classic.end()) {
        h.labels = c->second;
      } else {
        // Native only: what the text formats show.
        f.samples.push_back(Sample{f.name + "_sum", h.labels, h.sum});
        Labels le = h.labels;
        le.emplace_back("le", "+Inf");
        f.samples.push_back(Sample{f.name + "_bucket", std::move(le),
                                   static_cast<double>(h.count)});
        f.samples.push_back(
            Sample{f.name + "_count", h.labels, static_cast<double>(h.count)});
      }
      f.native.push_back(std::move(h));
    }
  }
}

}  // namespace promdir::reader
