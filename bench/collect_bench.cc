// promdir-collect-bench: times the merge engine on a directory.
//
//   promdir-collect-bench --dir D [--scrapes N] [--format text|openmetrics|protobuf]
//                         [--liveness auto|lock|pid|none] [--threads N]
//                         [--print]
//
// The first scrape is cold (nothing cached); the next N-1 are warm. Prints
// one line per phase with seconds and sizes, and the peak RSS. With --print
// the body of the first scrape goes to stdout (like `promdir collect`).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "promdir/merge.h"

int main(int argc, char** argv) {
  promdir::CollectorOptions opt;
  opt.liveness = promdir::LivenessMode::kNone;
  int scrapes = 1;
  bool print = false;
  promdir::Exposition format = promdir::ExpositionFormat::kText004;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--dir") opt.directory = next();
    else if (a == "--scrapes") scrapes = std::stoi(next());
    else if (a == "--print") print = true;
    else if (a == "--threads") opt.read_threads = std::stoi(next());
    else if (a == "--format") {
      std::string f = next();
      format = f == "openmetrics" ? promdir::ExpositionFormat::kOpenMetrics100
               : f == "protobuf"  ? promdir::ExpositionFormat::kProtobuf
                                  : promdir::ExpositionFormat::kText004;
    } else if (a == "--liveness") {
      std::string m = next();
      if (!promdir::ParseLivenessMode(m, &opt.liveness)) {
        std::fprintf(stderr, "bad --liveness %s\n", m.c_str());
        return 2;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (opt.directory.empty()) {
    std::fprintf(stderr, "usage: %s --dir D [--scrapes N] [--print]\n", argv[0]);
    return 2;
  }
  promdir::DirectoryCollector collector(opt);
  std::vector<double> times, cpu;
  auto cpu_now = [] {
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_utime.tv_sec + r.ru_stime.tv_sec +
           (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
  };
  size_t bytes = 0;
  promdir::ScrapeStats stats;
  for (int i = 0; i < scrapes; ++i) {
    std::string out;
    double c0 = cpu_now();
    auto t0 = std::chrono::steady_clock::now();
    promdir::Status s = collector.Render(format, &out, &stats);
    promdir::AppendEof(format, &out);
    auto t1 = std::chrono::steady_clock::now();
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", s.ToString().c_str());
      return 1;
    }
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
    cpu.push_back(cpu_now() - c0);
    bytes = out.size();
    if (i == 0 && print) std::fwrite(out.data(), 1, out.size(), stdout);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double warm = 0;
  std::vector<double> w(times.begin() + 1, times.end());
  std::sort(w.begin(), w.end());
  if (!w.empty()) warm = w[w.size() / 2];
  std::vector<double> wc(cpu.begin() + 1, cpu.end());
  std::sort(wc.begin(), wc.end());
  double warm_cpu = wc.empty() ? 0 : wc[wc.size() / 2];
  std::fprintf(stderr,
               "cold %.6f s (cpu %.6f s), warm median %.6f s (cpu %.6f s) "
               "over %zu, body %zu bytes, "
               "entries %llu, bytes read %llu, cache hits %llu misses %llu, peak RSS %ld KiB\n",
               times[0], cpu[0], warm, warm_cpu, w.size(), bytes,
               static_cast<unsigned long long>(stats.entries),
               static_cast<unsigned long long>(stats.bytes_read),
               static_cast<unsigned long long>(stats.cache_hits),
               static_cast<unsigned long long>(stats.cache_misses), ru.ru_maxrss);
  return 0;
}
