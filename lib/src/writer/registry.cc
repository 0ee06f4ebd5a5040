// Registry: validation of family declarations and the family table.

#include "promdir/registry.h"


#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <stdexcept>

#include "lib/src/float_format.h"
#include "lib/src/format.h"
#include "lib/src/key_codec.h"
#include "lib/src/native_format.h"
#include "lib/src/writer/file_store.h"
#include "lib/src/writer/registry_core.h"
#include "promdir/directory_env.h"

namespace promdir {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string TypeName(FileType type) {
  return std::string(format::FileTypeName(type));
}

std::string Describe(const detail::FamilySpec& s) {
  std::string d = TypeName(s.type);
  if (s.type == FileType::kGauge) {
    d += " (mode ";
    d += format::GaugeModeName(s.mode);
    d += ")";
  }
  d += " with labels (";
  for (size_t i = 0; i < s.label_names.size(); ++i) {
    if (i) d += ", ";
    d += s.label_names[i];
  }
  d += ")";
  if (s.native_enabled) {
    d += " and native schema " + std::to_string(s.native_schema) +
         ", zero threshold " + GoFloat(s.native_zero_threshold) +
         ", max buckets " + std::to_string(s.native_max_buckets);
  }
  if (s.type == FileType::kHistogram) {
    d += " and buckets (";
    for (size_t i = 0; i < s.buckets.size(); ++i) {
      if (i) d += ", ";
      d += GoFloat(s.buckets[i]);
    }
    d += ")";
  }
  d += " and help \"" + s.help + "\"";
  return d;
}

bool SameDeclaration(const detail::FamilySpec& a, const detail::FamilySpec& b) {
  return a.type == b.type && a.mode == b.mode && a.help == b.help &&
         a.label_names == b.label_names && a.buckets == b.buckets &&
         a.native_enabled == b.native_enabled &&
         (!a.native_enabled ||
          (a.native_schema == b.native_schema &&
           a.native_zero_threshold == b.native_zero_threshold &&
           a.native_max_buckets == b.native_max_buckets));
}

}  // namespace

// prometheus-cpp's name rules (CheckMetricName, CheckLabelName), so the
// writer needs no prometheus-cpp: ASCII letters, digits, '_' (and ':' in a
// metric name), not starting with a digit or "__".
bool detail::ValidMetricName(std::string_view name, bool label) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9') ||
      name.starts_with("__")) {
    return false;
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || (c == ':' && !label);
    if (!ok) return false;
  }
  return true;
}

namespace {

// Checks and completes a declaration as Python's client would; throws
// std::invalid_argument naming the problem.
void Normalize(detail::FamilySpec& s, const Options& options) {
  auto fail = [&](const std::string& why) {
    throw std::invalid_argument("promdir: " + std::string(TypeName(s.type)) +
                                " \"" + s.name + "\": " + why);
  };
  if (s.type == FileType::kCounter && s.name.size() >= 6 &&
      s.name.compare(s.name.size() - 6, 6, "_total") == 0) {
    s.name.resize(s.name.size() - 6);
  }
  if (!detail::ValidMetricName(s.name, /*label=*/false)) {
    fail("invalid metric name");
  }
  std::string ignored;
  if (!AppendJsonString(s.help, &ignored)) fail("help text is not valid UTF-8");
  std::set<std::string> seen;
  for (const std::string& l : s.label_names) {
    if (!detail::ValidMetricName(l, /*label=*/true)) {
      fail("invalid label name \"" + l + "\"");
    }
    if (!seen.insert(l).second) fail("label name \"" + l + "\" repeats");
    if (s.type == FileType::kHistogram && l == "le") {
      fail("label name \"le\" is reserved for histogram buckets");
    }
    if (s.type == FileType::kSummary && l == "quantile") {
      fail("label name \"quantile\" is reserved for summaries");
    }
  }
  if (s.type == FileType::kGauge) {
    if (s.mode == GaugeMode::kNone) fail("a gauge needs a multiprocess mode");
    if (options.layout == ValueLayout::k8 &&
        format::BaseMode(s.mode) == GaugeMode::kMostRecent) {
      fail("gauge mode " + std::string(format::GaugeModeName(s.mode)) +
           " needs timestamps, which the 8-byte value layout "
           "(PROMDIR_VALUE_LAYOUT=8) does not have");
    }
  } else {
    s.mode = GaugeMode::kNone;
  }
  if (s.native_enabled) {
    if (s.native_schema < native::kMinSchema ||
        s.native_schema > native::kMaxSchema) {
      fail("native schema " + std::to_string(s.native_schema) +
           " is outside [-4, 8]");
    }
    if (!(s.native_zero_threshold >= 0) || std::isinf(s.native_zero_threshold)) {
      fail("native zero threshold " + GoFloat(s.native_zero_threshold) +
           " is not a finite number >= 0");
    }
    if (s.native_max_buckets > native::kMaxSlots / 2) {
      fail("native max bucket count " + std::to_string(s.native_max_buckets) +
           " is above " + std::to_string(native::kMaxSlots / 2));
    }
  }
  if (s.type == FileType::kHistogram && s.native_enabled && s.buckets.empty()) {
    // A native histogram without classic buckets.
  } else if (s.type == FileType::kHistogram) {
    if (s.buckets.empty()) {
      s.buckets = {.005, .01, .025, .05, .075, .1,  .25,
                   .5,   .75, 1,    2.5, 5,    7.5, 10};
    }
    for (size_t i = 0; i < s.buckets.size(); ++i) {
      if (std::isnan(s.buckets[i])) fail("bucket bound NaN");
      if (i > 0 && !(s.buckets[i - 1] < s.buckets[i])) {
        fail("buckets not in strictly increasing order at " +
             GoFloat(s.buckets[i]));
      }
    }
    if (s.buckets.back() != kInf) s.buckets.push_back(kInf);
    if (s.buckets.size() < 2) fail("a histogram needs at least two buckets");
  } else {
    s.buckets.clear();
  }
  if (options.worker_id.find('/') != std::string::npos ||
      options.worker_id.find('\0') != std::string::npos) {
    fail("worker id \"" + options.worker_id +
         "\" cannot be part of a file name");
  }
}

}  // namespace

Registry::Registry() : Registry(Options::FromEnvironment()) {}

Registry::Registry(Options options)
    : core_(std::make_unique<detail::RegistryCore>(std::move(options))) {
  writer::FileStore::EnsureForkHandlers();
}

Registry::~Registry() = default;

const Options& Registry::options() const { return core_->options(); }

detail::FamilyBase& Registry::Register(detail::FamilySpec spec,
                                       FamilyMaker make) {
  Normalize(spec, core_->options());
  const std::string& path = core_->options().directory;
  Status dir = DirectoryEnv(core_->env(), path).CheckWritableDir(path);
  if (!dir.ok()) throw std::runtime_error("promdir: " + dir.message());
  detail::FamilyBase* family;
  {
    std::lock_guard<std::mutex> lock(writer::WriterMutex());
    auto& families = core_->families();
    auto it = families.find(spec.name);
    if (it != families.end()) {
      if (SameDeclaration(it->second->spec(), spec)) return *it->second;
      throw std::invalid_argument("promdir: metric family \"" + spec.name +
                                  "\" is already registered as a " +
                                  Describe(it->second->spec()) +
                                  "; now declared as a " + Describe(spec));
    }
    std::string name = spec.name;
    auto made = make(core_.get(), std::move(spec));
    family = made.get();
    families.emplace(name, std::move(made));
  }
  // Python writes the series of a family without labels at once.
  if (family->label_names().empty()) family->CreateUnlabelledSeries();
  return *family;
}

}  // namespace promdir
