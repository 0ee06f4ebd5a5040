// promdir-collector: serves a multiprocess metrics directory over HTTP for
// Prometheus. This file only parses the command line; the server lives in
// collector/src (see server.h).

#include <cstdio>
#include <cstdlib>

#include <CLI/CLI.hpp>

#include "src/flags.h"
#include "src/server.h"

int main(int argc, char** argv) {
  CLI::App app{
      "promdir-collector: serve the merged metrics of a multiprocess "
      "directory to Prometheus",
      "promdir-collector"};
  promdir::http::Flags flags;
  promdir::http::AddFlags(&app, &flags, /*compaction=*/true);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, the version, or the error
    return rc == 0 ? 0 : 2;
  }
  promdir::http::ServerOptions options;
  promdir::Status s = promdir::http::ToOptions(flags, std::getenv, &options);
  if (!s.ok()) {
    std::fprintf(stderr, "promdir-collector: %s\n", s.message().c_str());
    return 2;
  }
  return promdir::http::RunCollector(options);
}
