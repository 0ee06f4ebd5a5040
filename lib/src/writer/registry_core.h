// RegistryCore: the state behind a Registry: its options, its families and
// the files it has acquired from the FileStore.
//
// Threads: FileFor and the families map require WriterMutex().

#ifndef PROMDIR_LIB_SRC_WRITER_REGISTRY_CORE_H_
#define PROMDIR_LIB_SRC_WRITER_REGISTRY_CORE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lib/src/env.h"
#include "lib/src/writer/metrics_file.h"
#include "promdir/family.h"
#include "promdir/options.h"

namespace promdir::detail {

class RegistryCore {
 public:
  explicit RegistryCore(Options options);
  ~RegistryCore();

  const Options& options() const { return options_; }
  Env* env() const { return env_; }

  // The file this registry writes series of (type, mode) to, acquired on
  // first use. Its id is the worker id, or the pid; in a child forked after
  // this registry was created, always the child's pid.
  // REQUIRES: WriterMutex() held.
  Result<writer::MetricsFile*> FileFor(FileType type, GaugeMode mode);
  // The same for the native-histogram file (`histogram_native_<id>.ndb`).
  Result<writer::MetricsFile*> NativeFile();

  // REQUIRES: WriterMutex() held.
  std::map<std::string, std::unique_ptr<FamilyBase>>& families() {
    return families_;
  }

 private:
  Options options_;
  Env* env_;
  Result<writer::MetricsFile*> FileForPrefix(const std::string& prefix);

  int creator_pid_;
  std::map<std::string, writer::MetricsFile*> files_;  // by prefix
  std::map<std::string, std::unique_ptr<FamilyBase>> families_;
};

// True iff `name` is a valid metric name (label: label name) by
// prometheus-cpp's rules (its CheckMetricName, CheckLabelName).
bool ValidMetricName(std::string_view name, bool label);

}  // namespace promdir::detail

#endif  // PROMDIR_LIB_SRC_WRITER_REGISTRY_CORE_H_
