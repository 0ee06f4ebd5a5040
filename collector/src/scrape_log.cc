#include "scrape_log.h"

namespace promdir::http {

void LogScrapeNews(Logger* logger, const ScrapeStats& stats) {
  for (const BadFile& bad : stats.new_bad_files) {
    logger->Warn("skipping bad metrics file", {{"file", bad.path},
                                               {"reason", bad.reason},
                                               {"error", bad.message}});
  }
  for (const BadFile& e : stats.new_read_errors) {
    logger->Warn("cannot read a metrics file now; serving its last good values",
                 {{"file", e.path}, {"reason", e.reason}, {"error", e.message}});
  }
  for (const std::string& series : stats.new_invalid_series) {
    logger->Warn("leaving out a series that is not valid UTF-8 (a scraper "
                 "would reject the whole scrape)",
                 {{"series", series}});
  }
  if (stats.lock_timeouts > 0) {
    logger->Warn("scraping without the directory lock",
                 {{"error", stats.lock_timeout_message}});
  }
  if (!stats.liveness_unavailable.empty()) {
    logger->Warn("cannot tell live writers from dead ones by the kernel",
                 {{"error", stats.liveness_unavailable}});
  }
}

}  // namespace promdir::http
