#include "promdir/directory.h"

namespace promdir {

std::string DirectoryFromEnvironment(
    const std::function<const char*(const char*)>& getenv) {
  for (const char* name : {"PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

}  // namespace promdir
