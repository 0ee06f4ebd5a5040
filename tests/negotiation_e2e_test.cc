// Prometheus 3's protocols end to end: the real promdir-collector, real
// HTTP, the fixture the newest client_python wrote with UTF-8 names
// (tests/fixtures/pyhead-utf8), and protobuf bodies decoded with
// libprotobuf and compared as data with the text ones.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <google/protobuf/io/coded_stream.h>

#include "collector/src/gzip.h"
#include "metrics.pb.h"
#include "tests/collector_process.h"
#include "tests/exposition_parse.h"
#include "tests/test_util.h"

namespace promdir::test {
namespace {

namespace pb = ::io::prometheus::client;

constexpr const char* kProtobufAccept =
    "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
    "encoding=delimited";

std::string Fixture(const std::string& name) {
  return std::string(PROMDIR_FIXTURES_DIR) + "/" + name;
}

// The collector's own promdir_collector_* families left out (their values
// move between scrapes); counter families named without `_total`, so text
// (`x_total`) and OpenMetrics (`x`) bodies compare.
Parsed Normalize(Parsed p) {
  Parsed out;
  out.error = p.error;
  for (auto& [name, f] : p.families) {
    if (name.find("promdir_collector_") != std::string::npos ||
        name.find("promdir__collector__") != std::string::npos) {
      continue;
    }
    std::string key = name;
    if (f.type == "counter" && key.ends_with("_total")) {
      key.resize(key.size() - 6);
    }
    out.families[key] = std::move(f);
  }
  return out;
}

Parsed ParseBody(const std::string& body) {
  return Normalize(ParseExposition(body));
}

struct Row {
  std::string file, accept, content_type;
};

std::vector<Row> NegotiationRows() {
  std::ifstream in(Fixture("pyhead-utf8/negotiation.tsv"));
  std::vector<Row> rows;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream fields(line);
    Row r;
    std::getline(fields, r.file, '\t');
    std::getline(fields, r.accept, '\t');
    std::getline(fields, r.content_type, '\t');
    rows.push_back(r);
  }
  return rows;
}

// A label key as ParseExposition writes it.
std::string LabelText(const std::string& name, const std::string& value) {
  return name + "=\"" + value + "\"";
}

std::string Bound(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

std::string SeriesKey(const std::string& name, std::vector<std::string> labels) {
  std::sort(labels.begin(), labels.end());
  std::string key = name + "{";
  for (size_t i = 0; i < labels.size(); ++i) key += (i ? "," : "") + labels[i];
  return key + "}";
}

// Decodes a delimited protobuf body into the data ParseExposition gives
// for the same metrics in text (counters named with _total, histograms as
// _bucket/_sum/_count samples).
Parsed DecodeProtobuf(const std::string& body) {
  Parsed p;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(body.data()), static_cast<int>(body.size()));
  while (in.BytesUntilLimit() != 0 && !in.ExpectAtEnd()) {
    uint32_t size = 0;
    if (!in.ReadVarint32(&size)) break;
    auto limit = in.PushLimit(static_cast<int>(size));
    pb::MetricFamily mf;
    if (!mf.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
      p.error = "a MetricFamily does not parse";
      return p;
    }
    in.PopLimit(limit);
    const std::map<int, std::string> types = {
        {pb::COUNTER, "counter"}, {pb::GAUGE, "gauge"}, {pb::SUMMARY, "summary"},
        {pb::UNTYPED, "untyped"}, {pb::HISTOGRAM, "histogram"}};
    ParsedFamily& f = p.families[mf.name()];
    f.type = types.at(mf.type());
    f.help = mf.help();
    for (const pb::Metric& m : mf.metric()) {
      std::vector<std::string> labels;
      for (const pb::LabelPair& l : m.label()) labels.push_back(LabelText(l.name(), l.value()));
      const std::string& n = mf.name();
      switch (mf.type()) {
        case pb::COUNTER: f.samples[SeriesKey(n, labels)] = m.counter().value(); break;
        case pb::GAUGE: f.samples[SeriesKey(n, labels)] = m.gauge().value(); break;
        case pb::UNTYPED: f.samples[SeriesKey(n, labels)] = m.untyped().value(); break;
        case pb::SUMMARY:
          f.samples[SeriesKey(n + "_sum", labels)] = m.summary().sample_sum();
          f.samples[SeriesKey(n + "_count", labels)] = m.summary().sample_count();
          break;
        case pb::HISTOGRAM: {
          const pb::Histogram& h = m.histogram();
          f.samples[SeriesKey(n + "_sum", labels)] = h.sample_sum();
          f.samples[SeriesKey(n + "_count", labels)] =
              h.has_sample_count_float() ? h.sample_count_float() : h.sample_count();
          for (const pb::Bucket& b : h.bucket()) {
            std::vector<std::string> with = labels;
            with.push_back(LabelText("le", Bound(b.upper_bound())));
            f.samples[SeriesKey(n + "_bucket", with)] =
                b.has_cumulative_count_float() ? b.cumulative_count_float()
                                               : b.cumulative_count();
          }
          break;
        }
        default: p.error = "unexpected type"; return p;
      }
    }
  }
  return p;
}

TEST_CASE("every Accept header of negotiation.tsv gets client_python's body and type") {
  TempDir t;
  std::filesystem::copy(Fixture("pyhead-utf8/dir"), t.File("d"));
  Collector c(t.File("d"), {"--liveness", "none"});
  std::vector<Row> rows = NegotiationRows();
  REQUIRE(rows.size() >= 12);
  for (const Row& r : rows) {
    CAPTURE(r.accept);
    for (bool gzip : {false, true}) {
      std::vector<std::pair<std::string, std::string>> headers = {{"Accept", r.accept}};
      if (gzip) headers.emplace_back("Accept-Encoding", "gzip");
      HttpReply reply = HttpGet(c.port(), "/metrics", headers);
      REQUIRE(reply.status == 200);
      std::string body = reply.body;
      if (gzip) {
        CHECK(reply.content_encoding == "gzip");
        REQUIRE(http::GzipDecompress(reply.body, &body).ok());
      }
      if (r.accept == "application/openmetrics-text;version=0.0.1") {
        // client_python answers text 0.0.4; OpenMetrics 0.0.1 is as right
        // (the fixture's README), and is what was asked for.
        CHECK(reply.content_type == "application/openmetrics-text; version=0.0.1; charset=utf-8");
        CHECK(body.ends_with("# EOF\n"));
      } else {
        CHECK(reply.content_type == r.content_type);
      }
      Parsed want = ParseBody(ReadFile(Fixture("pyhead-utf8/" + r.file)));
      REQUIRE(want.error.empty());
      REQUIRE(want.families.size() >= 17);
      CHECK(DiffExpositions(want, ParseBody(body)) == "");
    }
  }
}

TEST_CASE("Prometheus 3's Accept header gets OpenMetrics 1.0.0 with quoted UTF-8 names") {
  TempDir t;
  std::filesystem::copy(Fixture("pyhead-utf8/dir"), t.File("d"));
  Collector c(t.File("d"), {"--liveness", "none"});
  HttpReply reply = HttpGet(
      c.port(), "/metrics",
      {{"Accept",
        "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"
        "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
        "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"}});
  REQUIRE(reply.status == 200);
  CHECK(reply.content_type ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
  CHECK(reply.body.find("{\"my.dotted.requests_total\",\"http.method\"=\"v1\",route=\"v1\"} 1.0") !=
        std::string::npos);
  // Within a histogram series: _sum, the buckets in `le` order, _count.
  size_t sum = reply.body.find("{\"req.latency_seconds_sum\"");
  size_t first = reply.body.find("{\"req.latency_seconds_bucket\",le=\"0.1\"");
  size_t inf = reply.body.find("{\"req.latency_seconds_bucket\",le=\"+Inf\"");
  size_t count = reply.body.find("{\"req.latency_seconds_count\"");
  CHECK(sum < first);
  CHECK(first < inf);
  CHECK(inf < count);
  CHECK(count != std::string::npos);
}

// The protobuf body holds the same data as text 1.0.0 with that escaping.
void CheckProtobufMatchesText(const std::string& fixture, const std::string& escaping) {
  CAPTURE(fixture);
  CAPTURE(escaping);
  TempDir t;
  std::filesystem::copy(Fixture(fixture + "/dir"), t.File("d"));
  Collector c(t.File("d"), {"--liveness", "none"});
  const std::string suffix = escaping.empty() ? "" : ";escaping=" + escaping;
  HttpReply text = HttpGet(c.port(), "/metrics",
                           {{"Accept", "text/plain;version=1.0.0" + suffix}});
  for (bool gzip : {false, true}) {
    std::vector<std::pair<std::string, std::string>> headers = {
        {"Accept", kProtobufAccept + suffix + ",text/plain;q=0.5"}};
    if (gzip) headers.emplace_back("Accept-Encoding", "gzip");
    HttpReply proto = HttpGet(c.port(), "/metrics", headers);
    REQUIRE(proto.status == 200);
    CHECK(proto.content_type ==
          "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
          "encoding=delimited; escaping=" + (escaping.empty() ? "underscores" : escaping));
    std::string body = proto.body;
    if (gzip) REQUIRE(http::GzipDecompress(proto.body, &body).ok());
    Parsed want = Normalize(ParseExposition(text.body));
    REQUIRE(want.error.empty());
    Parsed got = Normalize(DecodeProtobuf(body));
    REQUIRE(got.error.empty());
    CHECK(want.families.size() >= 5);
    if (escaping != "values") {
      CHECK(DiffExpositions(want, got) == "");
      continue;
    }
    // Under values (and dots) a sample name is escaped whole in text
    // (`U__a_2e_b__sum`), while protobuf escapes the family name and
    // Prometheus adds the suffix after unescaping it: the same series, but
    // only the families compare by name.
    CHECK(want.families.size() == got.families.size());
    for (const auto& [name, f] : want.families) {
      CAPTURE(name);
      REQUIRE(got.families.count(name) == 1);
      CHECK(got.families.at(name).type == f.type);
      CHECK(got.families.at(name).help == f.help);
    }
  }
}

TEST_CASE("protobuf decodes with libprotobuf to the text exposition's data") {
  CheckProtobufMatchesText("pyhead-web", "");
  CheckProtobufMatchesText("py016-exotic", "");
  CheckProtobufMatchesText("pyhead-utf8", "");
  CheckProtobufMatchesText("pyhead-utf8", "allow-utf-8");
  CheckProtobufMatchesText("pyhead-utf8", "values");
}

TEST_CASE("promdir collect --format offers the same formats as the collector") {
  const std::string bin = std::string(PROMDIR_BIN_DIR) + "/promdir";
  TempDir t;  // a copy: the command leaves its lock file in the directory
  const std::string dir = t.File("d");
  std::filesystem::copy(Fixture("pyhead-utf8/dir"), dir);
  for (const Row& r : NegotiationRows()) {
    CAPTURE(r.accept);
    std::string format = r.accept.starts_with("text/plain;version=1.0.0") ? "text-1.0.0"
                         : r.accept.starts_with("text/plain")             ? "text"
                         : r.accept.find("0.0.1") != std::string::npos     ? "openmetrics-0.0.1"
                                                                           : "openmetrics";
    std::string escaping;
    size_t at = r.accept.find("escaping=");
    if (at != std::string::npos) escaping = " --escaping " + r.accept.substr(at + 9);
    int rc = -1;
    std::string out = RunCommand(bin + " collect --liveness none --dir '" + dir +
                                     "' --format " + format + escaping,
                                 "", &rc);
    REQUIRE(rc == 0);
    CHECK(DiffExpositions(ParseBody(ReadFile(Fixture("pyhead-utf8/" + r.file))),
                          ParseBody(out)) == "");
  }
  int rc = -1;
  std::string err = RunCommand(bin + " collect --dir '" + dir +
                                   "' --format text --escaping dots 2>&1",
                               "", &rc);
  CHECK(rc == 2);
  CHECK(err.find("--escaping dots needs") != std::string::npos);
}

}  // namespace
}  // namespace promdir::test
