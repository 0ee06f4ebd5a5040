#include "net_metrics.h"

namespace promdir::http {
namespace {

MetricFamily Family(const char* name, MetricType type, const char* help) {
  MetricFamily f;
  f.name = std::string("promdir_collector_http_") + name;
  f.type = type;
  f.help = help;
  return f;
}

void AddSample(MetricFamily* f, const char* suffix, Labels labels, double v) {
  Sample s;
  s.name = f->name + suffix;
  s.labels = std::move(labels);
  s.value = v;
  f->samples.push_back(std::move(s));
}

MetricFamily ByLabel(const char* name, const char* help, const char* label,
                     const std::map<std::string, uint64_t>& counts,
                     std::initializer_list<const char*> always) {
  MetricFamily f = Family(name, MetricType::kCounter, help);
  std::map<std::string, uint64_t> all = counts;
  for (const char* key : always) all.emplace(key, 0);
  for (const auto& [key, n] : all) {
    AddSample(&f, "_total", {{label, key}}, static_cast<double>(n));
  }
  return f;
}

}  // namespace

std::vector<MetricFamily> NetMetrics::Families() const {
  std::vector<MetricFamily> out;
  MetricFamily open = Family("connections_open", MetricType::kGauge,
                             "Client connections open now.");
  AddSample(&open, "", {}, static_cast<double>(open_.load()));
  out.push_back(std::move(open));
  MetricFamily accepted = Family("connections_accepted", MetricType::kCounter,
                                 "Client connections accepted.");
  AddSample(&accepted, "_total", {}, static_cast<double>(accepted_.load()));
  out.push_back(std::move(accepted));
  std::lock_guard<std::mutex> lock(mu_);
  out.push_back(ByLabel("connections_rejected",
                        "Connections closed with an error response or refused, by reason.",
                        "reason", rejected_, {"connection_limit", "header_bytes"}));
  out.push_back(ByLabel("connections_timed_out",
                        "Connections cut off because a deadline passed, by phase "
                        "(handshake, head, write).",
                        "phase", timed_out_, {"head"}));
  out.push_back(ByLabel("auth_failures",
                        "Requests refused by basic authentication, by reason.",
                        "reason", auth_failures_, {"wrong_password"}));
  return out;
}

void RejectLog::Note(const std::string& reason, const std::string& peer) {
  std::string host = peer.substr(0, peer.rfind(':'));
  auto now = std::chrono::steady_clock::now();
  uint64_t suppressed = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto key = std::make_pair(reason, host);
    auto it = seen_.find(key);
    if (it != seen_.end() && now - it->second.logged < window_) {
      ++it->second.suppressed;
      return;
    }
    if (it != seen_.end()) suppressed = it->second.suppressed;
    if (seen_.size() >= 4096) seen_.clear();
    seen_[key] = Entry{now, 0};
  }
  LogFields fields = {{"reason", reason}, {"peer", host}};
  if (suppressed > 0) fields.push_back({"since_last_logged", std::to_string(suppressed)});
  logger_->Warn("client rejected", fields);
}

}  // namespace promdir::http
