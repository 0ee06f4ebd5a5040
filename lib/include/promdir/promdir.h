// promdir: multiprocess Prometheus metrics in Python prometheus_client's
// directory format. Include this header for the whole public API:
//
//   - the worker side: Options, Registry, the builders, Family<T>, and the
//     handles Counter, Gauge, Histogram, Summary;
//   - the reading side: ReadMetricsFile, liveness, merging and exposition.

#ifndef PROMDIR_PROMDIR_H_
#define PROMDIR_PROMDIR_H_

#include "promdir/builder.h"
#include "promdir/counter.h"
#include "promdir/directory.h"
#include "promdir/env.h"
#include "promdir/exposition.h"
#include "promdir/family.h"
#include "promdir/file_format.h"
#include "promdir/gauge.h"
#include "promdir/histogram.h"
#include "promdir/liveness.h"
#include "promdir/native_histogram.h"
#include "promdir/maintenance.h"
#include "promdir/merge.h"
#include "promdir/options.h"
#include "promdir/reader.h"
#include "promdir/registry.h"
#include "promdir/status.h"
#include "promdir/summary.h"

#endif  // PROMDIR_PROMDIR_H_
