// libFuzzer target: the --web.config.file parser (the YAML subset and the
// exporter-toolkit fields). Any bytes give a config or an error that names
// a line, never a crash; a config it accepts parses again to the same.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "collector/src/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  promdir::http::WebConfig config;
  promdir::Status s =
      promdir::http::ParseWebConfig(text, "web.yml", "/etc/promdir", &config);
  if (!s.ok()) {
    if (s.message().find("web.yml") == std::string::npos) std::abort();
    return 0;
  }
  promdir::http::WebConfig again;
  if (!promdir::http::ParseWebConfig(text, "web.yml", "/etc/promdir", &again)
           .ok() ||
      again.users != config.users || again.headers != config.headers ||
      again.tls.cert_file != config.tls.cert_file) {
    std::abort();
  }
  return 0;
}
