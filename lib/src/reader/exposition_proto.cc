// The protobuf exposition: families as length-delimited
// io.prometheus.client.MetricFamily messages, built with Debian's
// libprotobuf from lib/proto/metrics.proto.
#include <cmath>
#include <string>
#include <unordered_map>

#include <google/protobuf/arena.h>
#include <google/protobuf/io/coded_stream.h>

#include "lib/src/float_format.h"
#include "lib/src/reader/exposition_internal.h"
#include "lib/src/reader/exposition_names.h"
#include "metrics.pb.h"

namespace promdir::exposition {
namespace {

namespace pb = ::io::prometheus::client;

// The name as `names` writes it (without quotes: protobuf needs none).
std::string Escaped(std::string_view name, bool label, NameEscaping names) {
  std::string out;
  AppendEscapedName(name, label, names, &out);
  return out;
}

void SetLabels(const Labels& labels, std::string_view skip,
               NameEscaping names, pb::Metric* m) {
  for (const auto& [k, v] : labels) {
    if (k == skip) continue;
    pb::LabelPair* p = m->add_label();
    p->set_name(Escaped(k, true, names));
    p->set_value(v);
  }
}

// Counts are whole numbers in the integer field, anything else in the
// float one.
template <typename SetInt, typename SetFloat>
void SetCount(double v, SetInt set_int, SetFloat set_float) {
  if (v >= 0 && v < 1.8e19 && v == std::floor(v)) {
    set_int(static_cast<uint64_t>(v));
  } else {
    set_float(v);
  }
}

// Appends the message's length (a varint), then the message.
void Delimit(const pb::MetricFamily& mf, std::string* out) {
  using google::protobuf::io::CodedOutputStream;
  const size_t size = mf.ByteSizeLong();
  const size_t at = out->size();
  out->resize(at + CodedOutputStream::VarintSize32(static_cast<uint32_t>(size)) +
              size);
  auto* p = reinterpret_cast<uint8_t*>(out->data() + at);
  p = CodedOutputStream::WriteVarint32ToArray(static_cast<uint32_t>(size), p);
  mf.SerializeWithCachedSizesToArray(p);
}

// The labels of a sample without `skip`, as a lookup key.
std::string GroupKey(const Labels& labels, std::string_view skip) {
  std::string key;
  for (const auto& [k, v] : labels) {
    if (k == skip) continue;
    key.append(k).push_back('\0');
    key.append(v).push_back('\0');
  }
  return key;
}

// One family per sample name, each sample a metric of `type` (gauge or
// untyped): for gauges and untyped families, and for the typed families
// whose values the typed messages cannot hold.
void AppendByName(const MetricFamily& f, pb::MetricType type,
                  NameEscaping names, std::string* out) {
  google::protobuf::Arena arena;
  std::vector<std::string_view> order;
  std::unordered_map<std::string_view, pb::MetricFamily*> by_name;
  for (const Sample& s : f.samples) {
    auto [it, added] = by_name.try_emplace(s.name, nullptr);
    if (added) {
      it->second = google::protobuf::Arena::CreateMessage<pb::MetricFamily>(&arena);
    }
    pb::MetricFamily& mf = *it->second;
    if (added) {
      order.push_back(s.name);
      mf.set_name(Escaped(s.name, false, names));
      mf.set_help(f.help);
      mf.set_type(type);
    }
    pb::Metric* m = mf.add_metric();
    SetLabels(s.labels, {}, names, m);
    if (type == pb::GAUGE) {
      m->mutable_gauge()->set_value(s.value);
    } else {
      m->mutable_untyped()->set_value(s.value);
    }
  }
  for (std::string_view n : order) Delimit(*by_name[n], out);
}

// Spans and deltas of buckets sorted by index (exposition.h).
template <typename AddSpan, typename AddDelta>
void SetBuckets(const std::vector<std::pair<int32_t, uint64_t>>& buckets,
                AddSpan add_span, AddDelta add_delta) {
  pb::BucketSpan* span = nullptr;
  int64_t next = 0;  // the index after the current span
  uint64_t prev_count = 0;
  for (const auto& [index, count] : buckets) {
    if (span == nullptr || index != next) {
      // The first span starts at its index; later ones after a gap.
      const int64_t offset = span == nullptr ? index : index - next;
      span = add_span();
      span->set_offset(static_cast<int32_t>(offset));
      span->set_length(0);
    }
    span->set_length(span->length() + 1);
    next = int64_t{index} + 1;
    // Modulo 2^64, as the receiver adds them up: a count past INT64_MAX
    // (only a crafted file holds one) never overflows a signed subtraction.
    add_delta(static_cast<int64_t>(count - prev_count));
    prev_count = count;
  }
}

void SetNative(const NativeSeries& n, pb::Histogram* h) {
  h->set_schema(n.schema);
  h->set_zero_threshold(n.zero_threshold);
  h->set_zero_count(n.zero_count);
  h->set_sample_count(n.count);
  h->set_sample_sum(n.sum);
  // A native-only series' one classic bucket (+Inf) is implied.
  if (h->bucket_size() == 1 && std::isinf(h->bucket(0).upper_bound())) {
    h->clear_bucket();
  }
  SetBuckets(n.positive, [&] { return h->add_positive_span(); },
             [&](int64_t d) { h->add_positive_delta(d); });
  SetBuckets(n.negative, [&] { return h->add_negative_span(); },
             [&](int64_t d) { h->add_negative_delta(d); });
  if (n.positive.empty() && n.negative.empty()) {
    // No buckets: a no-op span says this is a native histogram.
    pb::BucketSpan* span = h->add_positive_span();
    span->set_offset(0);
    span->set_length(0);
  }
}

// A Typable histogram or summary: one metric per label set (without `le`),
// in order of first appearance.
void AppendGrouped(const MetricFamily& f, NameEscaping names,
                   std::string* out) {
  const bool histogram = f.type == MetricType::kHistogram;
  const std::string_view skip = histogram ? "le" : "";
  google::protobuf::Arena arena;
  pb::MetricFamily& mf =
      *google::protobuf::Arena::CreateMessage<pb::MetricFamily>(&arena);
  mf.set_name(Escaped(f.name, false, names));
  mf.set_help(f.help);
  mf.set_type(histogram ? pb::HISTOGRAM : pb::SUMMARY);
  std::unordered_map<std::string, pb::Metric*> groups;
  for (const Sample& s : f.samples) {
    auto [it, added] = groups.try_emplace(GroupKey(s.labels, skip), nullptr);
    if (added) {
      it->second = mf.add_metric();
      SetLabels(s.labels, skip, names, it->second);
    }
    pb::Metric* m = it->second;
    const std::string_view suffix =
        std::string_view(s.name).substr(f.name.size());
    if (histogram) {
      pb::Histogram* h = m->mutable_histogram();
      if (suffix == "_sum") {
        h->set_sample_sum(s.value);
      } else if (suffix == "_count") {
        SetCount(s.value, [&](uint64_t v) { h->set_sample_count(v); },
                 [&](double v) { h->set_sample_count_float(v); });
      } else {
        pb::Bucket* b = h->add_bucket();
        for (const auto& [k, v] : s.labels) {
          if (k == "le") b->set_upper_bound(ParsePythonFloat(v).value_or(NAN));
        }
        SetCount(s.value, [&](uint64_t v) { b->set_cumulative_count(v); },
                 [&](double v) { b->set_cumulative_count_float(v); });
      }
      continue;
    }
    // (Typable: only _sum and a whole _count; no quantiles.)
    pb::Summary* sum = m->mutable_summary();
    if (suffix == "_sum") {
      sum->set_sample_sum(s.value);
    } else {
      sum->set_sample_count(static_cast<uint64_t>(s.value));
    }
  }
  for (const NativeSeries& n : f.native) {
    auto it = groups.find(GroupKey(n.labels, skip));
    if (it != groups.end()) SetNative(n, it->second->mutable_histogram());
  }
  Delimit(mf, out);
}

// True iff the typed messages hold every sample of `f` (a counter, a
// histogram or a summary): each sample name is the family's with a suffix
// of its type, bucket bounds are numbers, a summary's counts whole numbers
// (its sample_count has no float twin). Negative or NaN values are kept:
// the messages carry any double, and Prometheus takes them.
bool Typable(const MetricFamily& f) {
  for (const Sample& s : f.samples) {
    if (s.name.size() <= f.name.size() || !s.name.starts_with(f.name)) {
      return false;
    }
    const std::string_view suffix = std::string_view(s.name).substr(f.name.size());
    if (f.type == MetricType::kCounter) {
      if (suffix != "_total") return false;
    } else if (suffix == "_bucket" && f.type == MetricType::kHistogram) {
      bool bound = false;
      for (const auto& [k, v] : s.labels) {
        bound = bound || (k == "le" && ParsePythonFloat(v).has_value());
      }
      if (!bound) return false;
    } else if (suffix == "_count" && f.type == MetricType::kSummary) {
      if (!(s.value >= 0 && s.value < 1.8e19 && s.value == std::floor(s.value))) {
        return false;
      }
    } else if (suffix != "_sum" && suffix != "_count") {
      return false;
    }
  }
  return true;
}

void AppendFamily(const MetricFamily& f, NameEscaping names, std::string* out) {
  switch (f.type) {
    case MetricType::kGauge:
      AppendByName(f, pb::GAUGE, names, out);
      return;
    case MetricType::kUntyped:
      AppendByName(f, pb::UNTYPED, names, out);
      return;
    case MetricType::kCounter:
      if (Typable(f)) {
        google::protobuf::Arena arena;
        pb::MetricFamily& mf =
            *google::protobuf::Arena::CreateMessage<pb::MetricFamily>(&arena);
        mf.set_name(Escaped(f.name + "_total", false, names));
        mf.set_help(f.help);
        mf.set_type(pb::COUNTER);
        for (const Sample& s : f.samples) {
          pb::Metric* m = mf.add_metric();
          SetLabels(s.labels, {}, names, m);
          m->mutable_counter()->set_value(s.value);
        }
        Delimit(mf, out);
        return;
      }
      break;
    case MetricType::kHistogram:
    case MetricType::kSummary:
      if (Typable(f)) {
        AppendGrouped(f, names, out);
        return;
      }
      break;
  }
  AppendByName(f, pb::UNTYPED, names, out);
}

}  // namespace

void AppendProtobuf(NameEscaping names,
                    const std::vector<MetricFamily>& families,
                    std::string* out) {
  for (const MetricFamily& f : families) {
    if (!f.samples.empty()) AppendFamily(f, names, out);
  }
}

}  // namespace promdir::exposition
