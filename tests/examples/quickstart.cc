// The README's C++ example: a worker process that counts requests and
// observes their latency into $PROMETHEUS_MULTIPROC_DIR.
#include <promdir/promdir.h>

int main() {
  promdir::Registry registry;  // PROMETHEUS_MULTIPROC_DIR; files named by pid
  auto& requests = promdir::BuildCounter().Name("http_requests_total").Help("Requests served")
                       .Labels({"method", "status"}).Register(registry);
  auto& latency = promdir::BuildHistogram().Name("http_request_duration_seconds")
                      .Help("Request latency").Labels({"method"}).Register(registry);
  promdir::Counter ok = requests.WithLabelValues("GET", "200");  // keep the handles:
  promdir::Histogram get = latency.WithLabelValues("GET");       // updates are lock-free
  for (int i = 0; i < 1000; ++i) { ok.Inc(); get.Observe(0.042); }
}
