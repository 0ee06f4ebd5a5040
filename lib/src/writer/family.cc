// FamilyBase: label checks, series lookup and series creation.

#include "promdir/family.h"

#include <deque>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

#include "lib/src/float_format.h"
#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "lib/src/native_format.h"
#include "lib/src/writer/file_store.h"
#include "lib/src/writer/log.h"
#include "lib/src/writer/registry_core.h"

namespace promdir::detail {

struct FamilyBase::Impl {
  RegistryCore* core;
  // By label values, length-prefixed and concatenated.
  std::unordered_map<std::string, std::unique_ptr<Series>> series;
  std::unique_ptr<Series> dummy;
  std::unique_ptr<double[]> dummy_slots;
  std::unique_ptr<uint64_t[]> dummy_native;
};

namespace {

std::string LookupKey(const std::vector<std::string_view>& values) {
  std::string key;
  for (std::string_view v : values) {
    uint32_t n = static_cast<uint32_t>(v.size());
    key.append(reinterpret_cast<const char*>(&n), sizeof(n));
    key.append(v);
  }
  return key;
}

std::string LabelList(const std::vector<std::string>& names) {
  std::string s = "(";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i) s += ", ";
    s += names[i];
  }
  return s + ")";
}

// Binds `series` to its native histogram entry (appended if new). An
// existing entry keeps the configuration it was created with.
Status BindNative(RegistryCore* core, const FamilySpec& spec,
                  const std::string& key, Series* series) {
  auto fail = [&](const Status& s) {
    writer::LogLine("cannot create series of \"" + spec.name +
                    "\": " + s.message());
    return s;
  };
  Result<writer::MetricsFile*> file = core->NativeFile();
  if (!file.ok()) return fail(file.status());
  native::Config c;
  c.schema = spec.native_schema;
  c.zero_threshold = spec.native_zero_threshold;
  c.max_buckets = spec.native_max_buckets;
  c.slots = native::SlotsFor(c.max_buckets);
  Result<char*> payload =
      file.value()->FindOrAppendNative(key, native::ConfigBytes(c));
  if (!payload.ok()) return fail(payload.status());
  // Checked when the file was loaded or appended: the size is right.
  native::ParseConfig(payload.value(), native::kTableOffset + 16 * native::kMaxSlots, &c);
  series->native = payload.value();
  series->native_gate = file.value()->gate();
  series->native_schema = c.schema;
  series->native_zero_threshold = c.zero_threshold;
  series->native_slots = c.slots;
  return Status::OK();
}

// The keys of one series: *native_key for its native part (if the family
// has one), *keys for its samples, in the order Python creates them.
Status SeriesKeys(const FamilySpec& spec,
                  const std::vector<std::string_view>& values,
                  std::string* native_key, std::vector<std::string>* keys) {
  // The samples of one series, in the order Python creates them.
  LabelPairs labels;
  for (size_t i = 0; i < values.size(); ++i) {
    labels.emplace_back(spec.label_names[i], std::string(values[i]));
  }
  const std::string& n = spec.name;
  std::vector<std::pair<std::string, LabelPairs>> samples;
  switch (spec.type) {
    case FileType::kCounter:
      samples.emplace_back(n + "_total", labels);
      break;
    case FileType::kGauge:
      samples.emplace_back(n, labels);
      break;
    case FileType::kSummary:
      samples.emplace_back(n + "_count", labels);
      samples.emplace_back(n + "_sum", labels);
      break;
    case FileType::kHistogram:
      if (spec.buckets.empty()) break;  // a native histogram only
      samples.emplace_back(n + "_sum", labels);
      for (double b : spec.buckets) {
        LabelPairs with_le = labels;
        with_le.emplace_back("le", GoFloat(b));
        samples.emplace_back(n + "_bucket", std::move(with_le));
      }
      break;
  }
  if (spec.native_enabled) {
    Result<std::string> key = EncodeKey(n, n, labels, spec.help);
    if (!key.ok()) {
      return Status::InvalidArgument("family \"" + n +
                                     "\": " + key.status().message());
    }
    *native_key = std::move(key.value());
  }
  for (auto& [sample, pairs] : samples) {
    Result<std::string> key =
        EncodeKey(n, sample, std::move(pairs), spec.help);
    if (!key.ok()) {
      return Status::InvalidArgument("family \"" + n +
                                     "\": " + key.status().message());
    }
    keys->push_back(std::move(key.value()));
  }
  return Status::OK();
}

}  // namespace

FamilyBase::FamilyBase(RegistryCore* core, FamilySpec spec)
    : spec_(std::move(spec)), impl_(std::make_unique<Impl>()) {
  impl_->core = core;
}

FamilyBase::~FamilyBase() = default;

Result<const Series*> FamilyBase::FindByValues(
    std::initializer_list<std::string_view> values) {
  return FindByValues(std::vector<std::string_view>(values));
}

Result<const Series*> FamilyBase::FindByLabels(const LabelMap& labels) {
  std::vector<std::string_view> values;
  values.reserve(spec_.label_names.size());
  for (const std::string& name : spec_.label_names) {
    auto it = labels.find(name);
    if (it == labels.end()) {
      return Status::InvalidArgument(
          "family \"" + spec_.name + "\" with labels " +
          LabelList(spec_.label_names) + ": label \"" + name + "\" is missing");
    }
    values.push_back(it->second);
  }
  if (labels.size() != values.size()) {
    for (const auto& [name, value] : labels) {
      bool known = false;
      for (const std::string& n : spec_.label_names) known |= n == name;
      if (!known) {
        return Status::InvalidArgument(
            "family \"" + spec_.name + "\" with labels " +
            LabelList(spec_.label_names) + " has no label \"" + name + "\"");
      }
    }
  }
  return FindByValues(values);
}

Result<const Series*> FamilyBase::FindByValues(
    const std::vector<std::string_view>& values) {
  if (values.size() != spec_.label_names.size()) {
    return Status::InvalidArgument("family \"" + spec_.name + "\" has labels " +
                                   LabelList(spec_.label_names) + " but " +
                                   std::to_string(values.size()) +
                                   " values were given");
  }
  std::string lookup = LookupKey(values);
  std::lock_guard<std::mutex> lock(writer::WriterMutex());
  auto it = impl_->series.find(lookup);
  if (it != impl_->series.end()) return it->second.get();

  std::string native_key;
  std::vector<std::string> keys;
  Status ks = SeriesKeys(spec_, values, &native_key, &keys);
  if (!ks.ok()) return ks;
  const std::string& n = spec_.name;

  auto series = std::make_unique<Series>();
  if (spec_.native_enabled) {
    Status s = BindNative(impl_->core, spec_, native_key, series.get());
    if (!s.ok()) return s;
    if (keys.empty()) {
      const Series* result = series.get();
      impl_->series.emplace(std::move(lookup), std::move(series));
      return result;
    }
  }
  Result<writer::MetricsFile*> file =
      impl_->core->FileFor(spec_.type, spec_.mode);
  if (!file.ok()) {
    writer::LogLine("cannot create series of \"" + n +
                    "\": " + file.status().message());
    return file.status();
  }
  writer::MetricsFile* f = file.value();
  bool stamped = format::BaseMode(spec_.mode) == GaugeMode::kMostRecent;
  if (stamped && f->layout() != ValueLayout::k16) {
    return Status::InvalidArgument(
        "gauge \"" + n + "\" (mode " +
        std::string(format::GaugeModeName(spec_.mode)) +
        ") needs timestamps, but " + f->path() +
        " has the 8-byte value layout");
  }
  series->gate = f->gate();
  for (const std::string& key : keys) {
    Result<double*> slot = f->FindOrAppend(key);
    if (!slot.ok()) {
      writer::LogLine("cannot create series of \"" + n +
                      "\": " + slot.status().message());
      return slot.status();
    }
    series->slots.push_back(slot.value());
  }
  if (spec_.type == FileType::kHistogram) {
    series->bounds = spec_.buckets.data();
    series->num_buckets = spec_.buckets.size();
  }
  series->stamped = stamped;
  const Series* result = series.get();
  impl_->series.emplace(std::move(lookup), std::move(series));
  return result;
}

const Series* FamilyBase::OrDummy(const Result<const Series*>& result) {
  if (result.ok()) return result.value();
  if (result.status().IsInvalidArgument()) {
    throw std::invalid_argument("promdir: " + result.status().message());
  }
  std::lock_guard<std::mutex> lock(writer::WriterMutex());
  if (!impl_->dummy) {
    size_t n = 2 + spec_.buckets.size();
    impl_->dummy_slots = std::make_unique<double[]>(2 * n);
    auto d = std::make_unique<Series>();
    for (size_t i = 0; i < n; ++i)
      d->slots.push_back(&impl_->dummy_slots[2 * i]);
    d->gate = OpenWriteGate();
    d->bounds = spec_.buckets.data();
    d->num_buckets = spec_.buckets.size();
    d->stamped = format::BaseMode(spec_.mode) == GaugeMode::kMostRecent;
    if (spec_.native_enabled) {
      native::Config c;
      c.schema = spec_.native_schema;
      c.zero_threshold = spec_.native_zero_threshold;
      c.slots = 16;
      impl_->dummy_native =
          std::make_unique<uint64_t[]>(native::PayloadSize(c.slots) / 8);
      d->native = reinterpret_cast<char*>(impl_->dummy_native.get());
      std::string config = native::ConfigBytes(c);
      std::copy(config.begin(), config.end(), d->native);
      d->native_gate = d->gate;
      d->native_schema = c.schema;
      d->native_zero_threshold = c.zero_threshold;
      d->native_slots = c.slots;
    }
    impl_->dummy = std::move(d);
  }
  return impl_->dummy.get();
}

void FamilyBase::CreateUnlabelledSeries() {
  FindByValues(std::vector<std::string_view>{});
}

}  // namespace promdir::detail
