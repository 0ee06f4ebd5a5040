#include "promdir/exposition.h"

#include <doctest/doctest.h>

#include <cmath>

#include "promdir/merge.h"
#include "tests/reader_test_util.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

const std::string kFixtures = PROMDIR_FIXTURES_DIR;

std::vector<MetricFamily> Sample() {
  MetricFamily c{"req", "Requests \"q\" back\\slash\nnewline", MetricType::kCounter, {}};
  c.samples.push_back({"req_total", {{"path", "a\"b\\c\nd"}, {"x", ""}}, 3});
  c.samples.push_back({"req_total", {}, 1e17});
  MetricFamily g{"temp", "", MetricType::kGauge, {}};
  g.samples.push_back({"temp", {{"pid", "12"}}, std::nan("")});
  g.samples.push_back({"temp", {{"pid", "13"}}, -HUGE_VAL});
  MetricFamily h{"lat", "Latency", MetricType::kHistogram, {}};
  h.samples.push_back({"lat_bucket", {{"le", "0.5"}}, 1});
  h.samples.push_back({"lat_bucket", {{"le", "+Inf"}}, 2});
  h.samples.push_back({"lat_count", {}, 2});
  h.samples.push_back({"lat_sum", {}, 1.25});
  MetricFamily s{"sz", "Sizes", MetricType::kSummary, {}};
  s.samples.push_back({"sz_count", {}, 4});
  s.samples.push_back({"sz_sum", {}, 0.1});
  return {c, g, h, s};
}

TEST_CASE("text 0.0.4 is exact and escaped") {
  std::string out;
  AppendFamilies(ExpositionFormat::kText004, Sample(), &out);
  AppendEof(ExpositionFormat::kText004, &out);
  CHECK(out ==
        "# HELP req_total Requests \"q\" back\\\\slash\\nnewline\n"
        "# TYPE req_total counter\n"
        "req_total{path=\"a\\\"b\\\\c\\nd\",x=\"\"} 3.0\n"
        "req_total 1e+17\n"
        "# HELP temp \n"
        "# TYPE temp gauge\n"
        "temp{pid=\"12\"} NaN\n"
        "temp{pid=\"13\"} -Inf\n"
        "# HELP lat Latency\n"
        "# TYPE lat histogram\n"
        "lat_bucket{le=\"0.5\"} 1.0\n"
        "lat_bucket{le=\"+Inf\"} 2.0\n"
        "lat_count 2.0\n"
        "lat_sum 1.25\n"
        "# HELP sz Sizes\n"
        "# TYPE sz summary\n"
        "sz_count 4.0\n"
        "sz_sum 0.1\n");
  CHECK(ContentType(ExpositionFormat::kText004) ==
        "text/plain; version=0.0.4; charset=utf-8");
}

TEST_CASE("OpenMetrics names families without _total and ends with # EOF") {
  std::string out;
  AppendFamilies(ExpositionFormat::kOpenMetrics100, Sample(), &out);
  AppendEof(ExpositionFormat::kOpenMetrics100, &out);
  CHECK(out.starts_with(
      "# HELP req Requests \\\"q\\\" back\\\\slash\\nnewline\n"
      "# TYPE req counter\n"
      "req_total{path=\"a\\\"b\\\\c\\nd\",x=\"\"} 3.0\n"));
  CHECK(out.ends_with("sz_sum 0.1\n# EOF\n"));
  CHECK(ContentType(ExpositionFormat::kOpenMetrics100) ==
        "application/openmetrics-text; version=1.0.0; charset=utf-8; "
        "escaping=underscores");
}

TEST_CASE("OpenMetrics keeps values its types forbid as unknown families") {
  MetricFamily c{"neg", "h", MetricType::kCounter, {}};
  c.samples.push_back({"neg_total", {}, -1});
  MetricFamily s{"sz", "Sizes", MetricType::kSummary, {}};
  s.samples.push_back({"sz_count", {}, 1});
  s.samples.push_back({"sz_sum", {}, -0.5});
  std::string out;
  AppendFamilies(ExpositionFormat::kOpenMetrics100, {c, s}, &out);
  CHECK(out ==
        "# HELP neg_total h\n# TYPE neg_total unknown\nneg_total -1.0\n"
        "# HELP sz_count Sizes\n# TYPE sz_count unknown\nsz_count 1.0\n"
        "# HELP sz_sum Sizes\n# TYPE sz_sum unknown\nsz_sum -0.5\n");
}

// Every fixture, rendered both ways, passes promtool (the lint findings are
// those of Python's own output: names the user chose) and Python's strict
// OpenMetrics parser.
TEST_CASE("fixture expositions pass promtool and Python's OpenMetrics parser") {
  test::TempDir tmp;
  for (const char* name : {"py016-web", "py016-exotic", "pyhead-web",
                           "pyhead-exotic", "corrupt"}) {
    INFO(name);
    test::TempDir copy;
    CollectorOptions opt;
    opt.directory = test::CopyFixture(name, copy);
    opt.liveness = LivenessMode::kNone;
    DirectoryCollector c(opt);
    std::string text, om;
    REQUIRE(c.Render(ExpositionFormat::kText004, &text, nullptr).ok());
    REQUIRE(c.Render(ExpositionFormat::kOpenMetrics100, &om, nullptr).ok());
    AppendEof(ExpositionFormat::kOpenMetrics100, &om);
    int rc_ours = -1, rc_python = -1;
    std::string lint_ours =
        test::RunCommand("/usr/bin/promtool check metrics 2>&1", text, &rc_ours);
    std::string lint_python = test::RunCommand(
        "/usr/bin/promtool check metrics 2>&1",
        test::ReadFile(kFixtures + "/" + name + "/expected.txt"), &rc_python);
    CHECK(rc_ours == rc_python);
    CHECK(rc_ours != 1);
    CHECK(lint_ours == lint_python);
    test::WriteFile(tmp.File("om"), om);
    int rc = -1;
    std::string py = test::RunCommand(
        std::string(test::kPython) +
            " -c 'import sys\n"
            "from prometheus_client.openmetrics.parser import "
            "text_string_to_metric_families as p\n"
            "print(len(list(p(open(sys.argv[1]).read()))))' " + tmp.File("om") +
            " 2>&1",
        "", &rc);
    INFO(py);
    CHECK(rc == 0);
  }
  // Our hand-made families too.
  std::string om;
  AppendFamilies(ExpositionFormat::kOpenMetrics100, Sample(), &om);
  AppendEof(ExpositionFormat::kOpenMetrics100, &om);
  test::WriteFile(tmp.File("om2"), om);
  int rc = -1;
  std::string py = test::RunCommand(
      std::string(test::kPython) +
          " -c 'import sys\n"
          "from prometheus_client.openmetrics.parser import "
          "text_string_to_metric_families as p\n"
          "list(p(open(sys.argv[1]).read()))' " + tmp.File("om2") + " 2>&1",
      "", &rc);
  INFO(py);
  CHECK(rc == 0);
}

}  // namespace
}  // namespace promdir

namespace promdir {
namespace {

std::vector<MetricFamily> Utf8Family() {
  MetricFamily f{"my.req", "h", MetricType::kCounter, {}};
  f.samples.push_back({"my.req_total", {{"a b", "1"}, {"ok", "2"}}, 3});
  f.samples.push_back({"my.req_total", {}, 4});
  MetricFamily g{"0é😀", "g", MetricType::kGauge, {}};
  g.samples.push_back({"0é😀", {{"q\"l", "x"}}, 1});
  return {f, g};
}

std::string Render(Exposition e) {
  std::string out;
  AppendFamilies(e, Utf8Family(), &out);
  return out;
}

TEST_CASE("UTF-8 names under each escaping scheme, as client_python writes them") {
  using F = ExpositionFormat;
  using E = NameEscaping;
  CHECK(Render({F::kText100, E::kAllowUtf8}) ==
        "# HELP \"my.req_total\" h\n# TYPE \"my.req_total\" counter\n"
        "{\"my.req_total\",\"a b\"=\"1\",ok=\"2\"} 3.0\n"
        "{\"my.req_total\"} 4.0\n"
        "# HELP \"0é😀\" g\n# TYPE \"0é😀\" gauge\n"
        "{\"0é😀\",\"q\\\"l\"=\"x\"} 1.0\n");
  CHECK(Render({F::kText100, E::kUnderscores}) ==
        "# HELP my_req_total h\n# TYPE my_req_total counter\n"
        "my_req_total{a_b=\"1\",ok=\"2\"} 3.0\nmy_req_total 4.0\n"
        "# HELP ___ g\n# TYPE ___ gauge\n___{q_l=\"x\"} 1.0\n");
  // 0.0.4 and OpenMetrics 0.0.1 ignore the scheme asked for.
  CHECK(Render({F::kText004, E::kAllowUtf8}) == Render({F::kText100, E::kUnderscores}));
  CHECK(Render({F::kText100, E::kDots}).starts_with(
      "# HELP my_dot_req__total h\n# TYPE my_dot_req__total counter\n"
      "my_dot_req__total{a__b=\"1\",ok=\"2\"} 3.0\n"));
  CHECK(Render({F::kText100, E::kValues}).find(
            "U___30__e9__1f600_{U__q_22_l=\"x\"} 1.0\n") != std::string::npos);
  // OpenMetrics under values escapes legacy sample names too, as
  // client_python does (Prometheus unescapes them back).
  std::string om;
  MetricFamily plain{"plain", "p", MetricType::kCounter, {{"plain_total", {{"m", "1"}}, 1}}};
  AppendFamilies({F::kOpenMetrics100, E::kValues}, {plain}, &om);
  CHECK(om == "# HELP plain p\n# TYPE plain counter\nU__plain__total{m=\"1\"} 1.0\n");
}

TEST_CASE("Content-Type names the escaping of 1.0.0 and protobuf only") {
  using F = ExpositionFormat;
  using E = NameEscaping;
  CHECK(ContentType({F::kText100, E::kAllowUtf8}) ==
        "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8");
  CHECK(ContentType({F::kText004, E::kAllowUtf8}) ==
        "text/plain; version=0.0.4; charset=utf-8");
  CHECK(ContentType({F::kOpenMetrics001, E::kDots}) ==
        "application/openmetrics-text; version=0.0.1; charset=utf-8");
  CHECK(ContentType({F::kProtobuf, E::kValues}) ==
        "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
        "encoding=delimited; escaping=values");
  NameEscaping e = E::kUnderscores;
  CHECK(ParseNameEscaping("allow-utf-8", &e));
  CHECK(e == E::kAllowUtf8);
  CHECK_FALSE(ParseNameEscaping("utf8", &e));
}

}  // namespace
}  // namespace promdir
