// Family<T>: one metric family (name, help, label names) of a Registry, and
// the place to get a handle for one set of label values.
//
//   auto& f = promdir::BuildCounter().Name("jobs_total").Help("Jobs")
//                 .Labels({"queue", "result"}).Register(registry);
//   promdir::Counter ok = f.WithLabelValues("mail", "ok");  // slow path
//   promdir::Counter err = f.Add({{"queue", "mail"}, {"result", "err"}});
//   ok.Inc();                                                // fast path
//
// Add and WithLabelValues are the slow path: they take a process-wide mutex,
// look the series up, and on first use write its entries (value 0) into the
// process's file, growing it if needed. Keep the handle they return.
//
// Errors:
// - Label names or values that do not fit the family (a missing or extra
//   label, a wrong number of values, a value that is not UTF-8) are
//   programming errors: Add and WithLabelValues throw std::invalid_argument
//   naming the family and the label; TryAdd and TryWithLabelValues return
//   an InvalidArgument Status instead.
// - A file that cannot be created or grown (a full disk: NoSpace, or
//   IOError) is logged to stderr in one line naming the file and the
//   errno text. TryAdd/TryWithLabelValues return that Status. Add and
//   WithLabelValues return a handle bound to process-private memory so the
//   program keeps running (its updates are not exported); a later call for
//   the same labels tries again.
//
// Threads: every method is safe from any thread. Handles are independent of
// the Family object and valid while the Registry lives.
// Processes: see registry.h for files, fork() and worker ids.

#ifndef PROMDIR_FAMILY_H_
#define PROMDIR_FAMILY_H_

#include <initializer_list>
#include <map>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "promdir/file_format.h"
#include "promdir/status.h"
#include "promdir/write_gate.h"

namespace promdir {

// Label name -> value, as prometheus-cpp's Labels.
using LabelMap = std::map<std::string, std::string>;

namespace detail {

class RegistryCore;

// The mapped slots of one series, in file order:
//   counter   [_total]
//   gauge     [value]           (timestamp at value + 1 when `stamped`)
//   summary   [_count, _sum]
//   histogram [_sum, bucket 0, ..., bucket n-1]
struct Series {
  std::vector<double*> slots;
  // A native histogram's payload in its `.ndb` file (native_histogram.h),
  // and the configuration Observe follows (the entry's, from the file).
  char* native = nullptr;
  WriteGate* native_gate = nullptr;  // the `.ndb` file's
  int32_t native_schema = 0;
  double native_zero_threshold = 0;
  uint32_t native_slots = 0;
  WriteGate* gate = nullptr;       // the file's (write_gate.h)
  const double* bounds = nullptr;  // histogram upper bounds, n of them
  size_t num_buckets = 0;
  bool stamped = false;
};

// What a builder registers.
struct FamilySpec {
  FileType type = FileType::kCounter;
  GaugeMode mode = GaugeMode::kNone;
  std::string name;  // the family (metric) name: a counter's without _total
  std::string help;
  std::vector<std::string> label_names;
  std::vector<double> buckets;  // histogram upper bounds, ending with +Inf
  // Native histograms (NativeHistogramBuilder): type kHistogram with
  // native_enabled; `buckets` then holds the optional classic buckets.
  bool native_enabled = false;
  int32_t native_schema = 3;
  double native_zero_threshold = 0x1p-128;
  uint32_t native_max_buckets = 160;
};

// The type-independent part of Family<T>.
class FamilyBase {
 public:
  FamilyBase(RegistryCore* core, FamilySpec spec);
  virtual ~FamilyBase();
  FamilyBase(const FamilyBase&) = delete;
  FamilyBase& operator=(const FamilyBase&) = delete;

  // The family name (a counter's without `_total`), help and label names.
  const std::string& name() const { return spec_.name; }
  const std::string& help() const { return spec_.help; }
  const std::vector<std::string>& label_names() const {
    return spec_.label_names;
  }
  FileType type() const { return spec_.type; }
  GaugeMode mode() const { return spec_.mode; }
  // Histogram upper bounds, ending with +Inf; empty for other types.
  const std::vector<double>& buckets() const { return spec_.buckets; }
  const FamilySpec& spec() const { return spec_; }

  // Internal: creates the series of a family without labels (Python writes
  // it at declaration). A failure is logged, and retried by the next Add.
  void CreateUnlabelledSeries();

 protected:
  Result<const Series*> FindByValues(
      std::initializer_list<std::string_view> values);
  Result<const Series*> FindByValues(
      const std::vector<std::string_view>& values);
  Result<const Series*> FindByLabels(const LabelMap& labels);
  // The series of an ok result; for an InvalidArgument one, throws
  // std::invalid_argument; otherwise this family's private dummy series.
  const Series* OrDummy(const Result<const Series*>& result);

 private:
  struct Impl;
  FamilySpec spec_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace detail

template <typename T>
class Family : public detail::FamilyBase {
 public:
  using detail::FamilyBase::FamilyBase;

  // Returns the handle for `labels`, which must name exactly the family's
  // label names. Slow path (see above).
  T Add(const LabelMap& labels) { return T(OrDummy(FindByLabels(labels))); }
  Result<T> TryAdd(const LabelMap& labels) {
    return Wrap(FindByLabels(labels));
  }

  // Returns the handle for label values given in the order of the family's
  // label names: WithLabelValues("GET", "/"). Slow path (see above).
  template <typename... V>
  T WithLabelValues(const V&... values) {
    return T(OrDummy(FindByValues({std::string_view(values)...})));
  }
  template <typename... V>
  Result<T> TryWithLabelValues(const V&... values) {
    return Wrap(FindByValues({std::string_view(values)...}));
  }
  // The same with values in a vector.
  T WithLabelValueList(const std::vector<std::string_view>& values) {
    return T(OrDummy(FindByValues(values)));
  }
  Result<T> TryWithLabelValueList(const std::vector<std::string_view>& values) {
    return Wrap(FindByValues(values));
  }

 private:
  static Result<T> Wrap(const Result<const detail::Series*>& r) {
    if (!r.ok()) return r.status();
    return T(r.value());
  }
};

}  // namespace promdir

#endif  // PROMDIR_FAMILY_H_
