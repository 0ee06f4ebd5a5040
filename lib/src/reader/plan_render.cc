// The merged view of one scrape as the model, and its rendering
// (plan_builder.h).
#include "lib/src/reader/plan_builder.h"

#include <algorithm>

#include "lib/src/reader/exposition_internal.h"

namespace promdir::merge_detail {

using reader::kNoId;

MetricType TypeOf(FileType t) {
  switch (t) {
    case FileType::kCounter: return MetricType::kCounter;
    case FileType::kGauge: return MetricType::kGauge;
    case FileType::kHistogram: return MetricType::kHistogram;
    case FileType::kSummary: return MetricType::kSummary;
  }
  return MetricType::kUntyped;
}

// Appends a series of an all/liveall gauge: its text with the writer's
// `pid` label at `split`, the byte offset where the labels after `pid`
// start (or where `}` is, when `pid` sorts last).
void AppendWithPid(const Series& s, uint32_t split, const std::string& pid,
                   std::string* out) {
  const std::string_view text = s.text;
  if (s.labels.empty()) {
    out->append(text);
    out->push_back('{');
    out->append(pid);
    out->push_back('}');
    return;
  }
  out->append(text.substr(0, split));
  const bool last = split + 1 == text.size();
  if (last) out->push_back(',');
  out->append(pid);
  if (!last) out->push_back(',');
  out->append(text.substr(split));
}

// The labels of a sample, with the writer's `pid` in its sorted place.
namespace {

Labels LabelsOf(const Plan& plan, const PlanSample& s) {
  Labels labels;
  labels.reserve(s.series->labels.size() + 1);
  for (const auto& [name, value] : s.series->labels) {
    labels.emplace_back(name, value);
  }
  if (s.writer != kNoId) {
    auto pos = std::find_if(labels.begin(), labels.end(),
                            [](const auto& p) { return p.first > "pid"; });
    labels.insert(pos, {"pid", plan.writers[s.writer]});
  }
  return labels;
}

}  // namespace

MetricFamily ToModel(const Plan& plan, const PlanFamily& pf) {
  MetricFamily mf;
  mf.name = *pf.name;
  mf.help = *pf.help;
  mf.type = pf.type;
  mf.samples.reserve(pf.samples.size());
  for (const PlanSample& s : pf.samples) {
    mf.samples.push_back(Sample{std::string(s.series->sample_name),
                                LabelsOf(plan, s), s.value});
  }
  return mf;
}

namespace {

bool OpenMetricsValid(const Plan& plan, const PlanFamily& pf) {
  bool has_inf = pf.type != MetricType::kHistogram;
  for (const PlanSample& s : pf.samples) {
    if (!exposition::OpenMetricsSampleValid(pf.type, *pf.name,
                                            s.series->sample_name,
                                            s.series->labels, s.value,
                                            &has_inf)) {
      return false;
    }
  }
  (void)plan;
  return has_inf;
}

}  // namespace

// Renders the plan; the same bytes as AppendFamilies on its model.
namespace {

void AppendSamples(const Plan& plan, const PlanFamily& pf, Exposition format,
                   size_t from, size_t to, std::string* out) {
  const NameEscaping names = format.names();
  const bool escape_all = exposition::EscapeLegacySampleNames(format);
  for (size_t i = from; i < to; ++i) {
    const PlanSample& s = pf.samples[i];
    if (!s.series->legacy || names == NameEscaping::kDots || escape_all) {
      // Names to escape or quote: written from the labels.
      exposition::AppendSeries(names, s.series->sample_name, LabelsOf(plan, s),
                               out, escape_all);
    } else if (s.writer == kNoId) {
      out->append(s.series->text);
    } else {
      AppendWithPid(*s.series, s.pid_split, plan.writer_labels[s.writer], out);
    }
    exposition::AppendValue(s.value, out);
  }
}

// Renders families [first, last) whole, with the samples of family `first`
// from `skip` on (no header when skip > 0: the other half wrote it), and
// of family `last` (if any) up to `upto`, with its header.
void RenderRange(const Plan& plan, Exposition format, size_t first,
                 size_t skip, size_t last, size_t upto, std::string* out) {
  for (size_t f = first; f < last || (f == last && upto > 0 &&
                                       f < plan.families.size());
       ++f) {
    const PlanFamily& pf = plan.families[f];
    const size_t from = f == first ? skip : 0;
    const size_t to = f == last ? upto : pf.samples.size();
    if (from == 0) {
      if (format.openmetrics() && to == pf.samples.size() &&
          !OpenMetricsValid(plan, pf)) {
        AppendFamilies(format, {ToModel(plan, pf)}, out);
        continue;
      }
      exposition::AppendHeader(format, *pf.name, *pf.help, pf.type, out);
    }
    AppendSamples(plan, pf, format, from, to, out);
  }
}

size_t Estimate(const Plan& plan) {
  size_t estimate = 0;
  for (const PlanFamily& pf : plan.families) {
    estimate += 128 + pf.samples.size() *
                          (pf.samples.empty() ? 0
                                              : pf.samples[0].series->text.size() + 32);
  }
  return estimate;
}

// Protobuf: each family through the model, whole families in two halves
// (by sample count) on two threads when the view is large.
void RenderFamilies(const Plan& plan, Exposition format, size_t first,
                    size_t last, std::string* out) {
  std::vector<MetricFamily> one(1);
  for (size_t f = first; f < last; ++f) {
    one[0] = ToModel(plan, plan.families[f]);
    AppendFamilies(format, one, out);
  }
}

void RenderProtobuf(const Plan& plan, Exposition format,
                    reader::Executor* executor, std::string* out) {
  size_t total = 0;
  for (const PlanFamily& pf : plan.families) total += pf.samples.size();
  const size_t n = plan.families.size();
  if (total < 8192) {
    RenderFamilies(plan, format, 0, n, out);
    return;
  }
  size_t mid = 0;
  for (size_t seen = 0; mid < n && seen < total / 2; ++mid) {
    seen += plan.families[mid].samples.size();
  }
  // About half a text body; growing the buffers costs more than this.
  out->reserve(out->size() + Estimate(plan) / 2);
  std::string second;
  second.reserve(Estimate(plan) / 4 + 4096);
  reader::Executor::Group other(executor);
  other.Spawn([&] { RenderFamilies(plan, format, mid, n, &second); });
  RenderFamilies(plan, format, 0, mid, out);
  other.Wait();
  out->append(second);
}

}  // namespace

void RenderPlan(const Plan& plan, Exposition format,
                reader::Executor* executor, std::string* out) {
  if (format.format == ExpositionFormat::kProtobuf) {
    RenderProtobuf(plan, format, executor, out);
    return;
  }
  size_t total = 0;
  for (const PlanFamily& pf : plan.families) total += pf.samples.size();
  const size_t n = plan.families.size();
  out->reserve(out->size() + Estimate(plan));
  if (total < 8192) {
    RenderRange(plan, format, 0, 0, n, 0, out);
    return;
  }
  // Two halves by sample count, rendered at once on two threads. A family
  // split in two must be one OpenMetrics takes as it is (else it goes
  // whole into the first half).
  size_t mid = 0, at = 0, seen = 0;
  for (; mid < n; ++mid) {
    size_t size = plan.families[mid].samples.size();
    if (seen + size > total / 2) {
      at = total / 2 - seen;
      break;
    }
    seen += size;
  }
  if (mid < n && at > 0 && format.openmetrics() &&
      !OpenMetricsValid(plan, plan.families[mid])) {
    ++mid;
    at = 0;
  }
  std::string second;
  second.reserve(Estimate(plan) / 2 + 4096);
  reader::Executor::Group other(executor);
  other.Spawn([&] { RenderRange(plan, format, mid, at, n, 0, &second); });
  RenderRange(plan, format, 0, 0, mid, at, out);
  other.Wait();
  out->append(second);
}

}  // namespace promdir::merge_detail
