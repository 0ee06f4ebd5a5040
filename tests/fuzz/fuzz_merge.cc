// libFuzzer target: the whole merge engine on a directory. The input is
// cut into up to three metrics files (at each "\n--file--\n"), written as
// a counter, a gauge and a histogram file of a fresh directory, and
// scraped twice by one DirectoryCollector (cold, then warm: the second
// scrape reuses what the first parsed). Every scrape must succeed (bad
// files are skipped and reported) and render in both formats.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <string_view>

#include "promdir/merge.h"

using namespace promdir;

namespace {

// A fresh directory under $TMPDIR (75_fuzz.sh points it at its work
// directory, which it removes).
std::string MakeDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") +
                     "/promdir-fuzz-merge-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  return tmpl;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = MakeDir();
  static const char* names[] = {"counter_1.db", "gauge_all_2.db",
                                "histogram_3.db"};
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (const char* n : names) unlink((dir + "/" + n).c_str());
  for (const char* n : names) {
    size_t cut = in.find("\n--file--\n");
    std::ofstream f(dir + "/" + n, std::ios::binary);
    f << in.substr(0, cut);
    if (cut == std::string_view::npos) break;
    in.remove_prefix(cut + 10);
  }
  CollectorOptions opt;
  opt.directory = dir;
  opt.liveness = LivenessMode::kNone;
  DirectoryCollector c(opt);
  for (auto format : {ExpositionFormat::kText004,
                      ExpositionFormat::kOpenMetrics100}) {
    std::string out;
    ScrapeStats stats;
    if (!c.Render(format, &out, &stats).ok()) std::abort();
  }
  return 0;
}
