#include "promdir/directory.h"

#include <vector>

#include "lib/src/env.h"

namespace promdir {

std::string DirectoryFromEnvironment(
    const std::function<const char*(const char*)>& getenv) {
  for (const char* name : {"PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"}) {
    const char* value = getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  return "";
}

Status CheckDirectoryListable(const std::string& dir) {
  std::vector<std::string> names;
  return Env::Default()->ListDir(dir, &names);
}

}  // namespace promdir
