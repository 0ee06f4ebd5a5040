// DirectoryFromEnvironment: the two variables, in Python's order.
#include "promdir/directory.h"

#include <doctest/doctest.h>

#include <map>
#include <string>

namespace promdir {
namespace {

TEST_CASE("DirectoryFromEnvironment reads PROMETHEUS_MULTIPROC_DIR, then the "
          "lower-case name") {
  std::map<std::string, std::string> env;
  auto get = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CHECK(DirectoryFromEnvironment(get) == "");
  env["prometheus_multiproc_dir"] = "/run/old";
  CHECK(DirectoryFromEnvironment(get) == "/run/old");
  env["PROMETHEUS_MULTIPROC_DIR"] = "";  // set but empty: not a directory
  CHECK(DirectoryFromEnvironment(get) == "/run/old");
  env["PROMETHEUS_MULTIPROC_DIR"] = "/run/new";
  CHECK(DirectoryFromEnvironment(get) == "/run/new");
}

}  // namespace
}  // namespace promdir
