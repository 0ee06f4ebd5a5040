#include "promdir/options.h"

#include "promdir/directory.h"

#include <cstdlib>
#include <stdexcept>

namespace promdir {

namespace {

const char* Get(const char* name) {
  const char* v = std::getenv(name);
  return v;
}

}  // namespace

Result<Options> Options::TryFromEnvironment() {
  Options o;
  o.directory = DirectoryFromEnvironment();
  if (const char* id = Get("PROMDIR_WORKER_ID")) {
    std::string v = id;
    if (v.empty() || v.find('/') != std::string::npos) {
      return Status::InvalidArgument("PROMDIR_WORKER_ID=\"" + v +
                                     "\" is not a usable file id (it must be "
                                     "non-empty and contain no '/')");
    }
    o.worker_id = v;
  }
  if (const char* l = Get("PROMDIR_VALUE_LAYOUT")) {
    std::string v = l;
    if (v == "8") {
      o.layout = ValueLayout::k8;
    } else if (v == "16") {
      o.layout = ValueLayout::k16;
    } else {
      return Status::InvalidArgument(
          "PROMDIR_VALUE_LAYOUT=\"" + v +
          "\" is not a value layout: use 16 (prometheus_client 0.18 and later) "
          "or 8 (0.17 and older)");
    }
  }
  return o;
}

Options Options::FromEnvironment() {
  Result<Options> r = TryFromEnvironment();
  if (!r.ok()) throw std::invalid_argument("promdir: " + r.status().message());
  return std::move(r.value());
}

}  // namespace promdir
