// promdir-crafted-bench: writes the crafted files of bench/crafted_files.h
// and times a cold scrape of each by the merge engine.
//
//   promdir-crafted-bench --dir D [--runs N] [--write-only]
//
// Writes D/wide/counter_1.db (one key of 90,000 labels) and
// D/collide/counter_1.db (100,000 keys built to collide under an unseeded
// std::hash), then for each prints the median over N runs (default 3) of a
// cold scrape (a new DirectoryCollector) with Render. bench/bench_crafted.sh
// compares these with Python's MultiProcessCollector.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "crafted_files.h"
#include "promdir/merge.h"

namespace {

bool WriteFile(const std::string& dir, const std::string& bytes) {
  mkdir(dir.c_str(), 0755);
  std::ofstream f(dir + "/counter_1.db", std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return static_cast<bool>(f);
}

// Median seconds of a cold scrape of `dir`; -1 on error.
double TimeColdScrape(const std::string& dir, int runs, size_t* body) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    promdir::CollectorOptions opt;
    opt.directory = dir;
    opt.liveness = promdir::LivenessMode::kNone;
    promdir::DirectoryCollector collector(opt);
    std::string out;
    promdir::ScrapeStats stats;
    auto t0 = std::chrono::steady_clock::now();
    promdir::Status s =
        collector.Render(promdir::ExpositionFormat::kText004, &out, &stats);
    auto t1 = std::chrono::steady_clock::now();
    if (!s.ok() || stats.entries == 0) {
      std::fprintf(stderr, "%s: %s (entries %llu)\n", dir.c_str(),
                   s.ToString().c_str(),
                   static_cast<unsigned long long>(stats.entries));
      return -1;
    }
    *body = out.size();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir;
  int runs = 3;
  bool write_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    else if (a == "--write-only") write_only = true;
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "usage: %s --dir D [--runs N] [--write-only]\n", argv[0]);
    return 2;
  }
  mkdir(dir.c_str(), 0755);
  const std::pair<const char*, std::string> files[] = {
      {"wide", promdir::crafted::WideKeyFile()},
      {"collide", promdir::crafted::CollidingFile()}};
  for (const auto& [name, bytes] : files) {
    if (!WriteFile(dir + "/" + name, bytes)) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name);
      return 1;
    }
  }
  if (write_only) return 0;
  for (const auto& [name, bytes] : files) {
    size_t body = 0;
    double t = TimeColdScrape(dir + "/" + name, runs, &body);
    if (t < 0) return 1;
    std::printf("%s %zu bytes: cold scrape %.6f s, body %zu bytes\n", name,
                bytes.size(), t, body);
  }
  return 0;
}
