#include "lib/src/writer/registry_core.h"

#include <mutex>

#include "lib/src/format.h"
#include "lib/src/native_format.h"
#include "lib/src/writer/file_store.h"

namespace promdir::detail {

RegistryCore::RegistryCore(Options options)
    : options_(std::move(options)),
      env_(options_.env ? options_.env : Env::Default()),
      creator_pid_(env_->GetPid()) {}

RegistryCore::~RegistryCore() {
  std::lock_guard<std::mutex> lock(writer::WriterMutex());
  families_.clear();
  for (auto& [prefix, file] : files_) writer::FileStore::Get().Release(file);
}

Result<writer::MetricsFile*> RegistryCore::FileFor(FileType type,
                                                   GaugeMode mode) {
  format::FileName name;
  name.type = type;
  name.mode = mode;
  return FileForPrefix(name.Prefix());
}

Result<writer::MetricsFile*> RegistryCore::NativeFile() {
  return FileForPrefix(native::kPrefix);
}

Result<writer::MetricsFile*> RegistryCore::FileForPrefix(
    const std::string& prefix) {
  auto it = files_.find(prefix);
  if (it != files_.end()) return it->second;
  int pid = env_->GetPid();
  std::string id = options_.worker_id;
  if (id.empty() || pid != creator_pid_) id = std::to_string(pid);
  Result<writer::MetricsFile*> file = writer::FileStore::Get().Acquire(
      env_, options_.directory, prefix, id, options_.layout);
  if (file.ok()) files_[prefix] = file.value();
  return file;
}

}  // namespace promdir::detail
