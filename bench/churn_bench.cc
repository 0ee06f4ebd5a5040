// promdir-churn-bench: RSS of one DirectoryCollector while distinct series
// come and go, as they do when a web app labels by path or workers restart.
//
//   promdir-churn-bench --dir D [--generations 40] [--files 4]
//                       [--series 2500]
//
// Each generation writes `files` counter files of `series` new series each
// (Python's 8-byte layout), deletes the previous generation's files and
// scrapes; so `files * series` series are on disk at any time and
// generations * files * series come and go. Prints the RSS every few
// generations and at the end.
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "crafted_files.h"
#include "promdir/merge.h"

namespace {

size_t RssKiB() {
  std::ifstream f("/proc/self/statm");
  size_t pages = 0, resident = 0;
  f >> pages >> resident;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE)) / 1024;
}

std::string FileName(const std::string& dir, int n) {
  return dir + "/counter_" + std::to_string(n) + ".db";
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int generations = 40, files = 4, series = 2500;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--dir") dir = argv[i + 1];
    else if (a == "--generations") generations = std::atoi(argv[i + 1]);
    else if (a == "--files") files = std::atoi(argv[i + 1]);
    else if (a == "--series") series = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: %s --dir D [--generations N] [--files N] "
                 "[--series N]\n", argv[0]);
    return 2;
  }
  promdir::CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = promdir::LivenessMode::kNone;
  promdir::DirectoryCollector c(opt);
  for (int g = 0; g < generations; ++g) {
    for (int f = 0; f < files; ++f) {
      std::string file(8, '\0');
      for (int i = 0; i < series; ++i) {
        promdir::crafted::AppendEntry(
            &file,
            "[\"churn\", \"churn_total\", {\"path\": \"/g" + std::to_string(g) +
                "/f" + std::to_string(f) + "/item/" + std::to_string(i) +
                "\"}, \"requests by path\"]",
            1);
      }
      std::ofstream(FileName(dir, g * files + f), std::ios::binary)
          << promdir::crafted::Finish(std::move(file));
      if (g > 0) unlink(FileName(dir, (g - 1) * files + f).c_str());
    }
    std::string out;
    promdir::ScrapeStats stats;
    promdir::Status s =
        c.Render(promdir::ExpositionFormat::kText004, &out, &stats);
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    if (g % 5 == 4 || g == generations - 1) {
      std::printf("generation %d: %lld series seen, %d on disk, RSS %zu KiB\n",
                  g + 1, static_cast<long long>(g + 1) * files * series,
                  files * series, RssKiB());
    }
  }
  for (int f = 0; f < files; ++f) unlink(FileName(dir, (generations - 1) * files + f).c_str());
  return 0;
}
