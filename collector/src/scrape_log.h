// What a scrape found that an operator must hear about, logged once each:
// bad files, files served from their last good values after a transient
// error, series left out for not being UTF-8, and liveness that the kernel
// cannot answer. The merge engine decides what is news (ScrapeStats'
// new_* fields); this only writes the lines.
//
// Threads: safe from any thread (Logger is).

#ifndef PROMDIR_COLLECTOR_SRC_SCRAPE_LOG_H_
#define PROMDIR_COLLECTOR_SRC_SCRAPE_LOG_H_

#include "logger.h"
#include "promdir/merge.h"

namespace promdir::http {

void LogScrapeNews(Logger* logger, const ScrapeStats& stats);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_SCRAPE_LOG_H_
