// Content negotiation for the collector's HTTP responses: which exposition
// format an `Accept` header asks for, and whether `Accept-Encoding` allows
// gzip, both with q-values as RFC 9110 defines them.
//
// Prometheus 3 asks with
//   Accept: application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;
//           q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,
//           text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,
//           text/plain;version=0.0.4;q=0.2,*/*;q=0.1
// (protobuf first when native histograms are on); Prometheus 2.x with
//   Accept: application/openmetrics-text;version=1.0.0,
//           application/openmetrics-text;version=0.0.1;q=0.75,
//           text/plain;version=0.0.4;q=0.5,*/*;q=0.1
//   Accept-Encoding: gzip
// and gets OpenMetrics 1.0.0, gzipped. Anything unparseable or unmatched
// falls back to text 0.0.4, uncompressed: a scrape never fails on a header.
//
// Threads: pure functions; safe from any thread.

#ifndef PROMDIR_COLLECTOR_SRC_NEGOTIATION_H_
#define PROMDIR_COLLECTOR_SRC_NEGOTIATION_H_

#include <string>
#include <string_view>
#include <vector>

#include "promdir/exposition.h"

namespace promdir::http {

// One element of an Accept or Accept-Encoding list, e.g.
// `text/plain;version=0.0.4;q=0.5` -> {type "text/plain",
// params {{"version","0.0.4"}}, q 0.5, position 2}. Names are lower-cased;
// a q outside [0,1] or not a number makes the element q 0.
struct HeaderElement {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;  // without q
  double q = 1.0;
  int position = 0;  // index in the header, for ties
};

// Splits a comma-separated header into its elements. Empty elements are
// dropped; quoted parameter values are unquoted.
std::vector<HeaderElement> ParseHeaderList(std::string_view header);

// The format to serve for `accept` (the Accept header, possibly empty):
// Prometheus 3's five protocols. Each format's q is the q of the most
// specific range that matches it: `application/openmetrics-text` with
// version 1.0.0 (or none) or 0.0.1; `text/plain` with version 0.0.4 (or
// none) or 1.0.0; `application/vnd.google.protobuf` with
// proto=io.prometheus.client.MetricFamily and encoding=delimited (or
// neither); `application/*`, `text/*`, `*/*`. The highest q above 0 wins;
// on a tie the range written first in the header wins, then the order
// above; text 0.0.4 when nothing matches or nothing is accepted. The
// winning range's `escaping=` (allow-utf-8, underscores, dots, values)
// names the escaping; none or an unknown one gives underscores.
Exposition NegotiateFormat(std::string_view accept);

// True iff `accept_encoding` allows gzip: `gzip` or `x-gzip` with q > 0,
// or, when neither is named, `*` with q > 0. `gzip;q=0` refuses it.
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace promdir::http

#endif  // PROMDIR_COLLECTOR_SRC_NEGOTIATION_H_
