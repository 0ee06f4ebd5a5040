// DirectoryCollectable served by prometheus-cpp's own pull Exposer, scraped
// over HTTP, gives the same data as promdir's text writer.
#include "promdir/prometheus_collectable.h"

#include <doctest/doctest.h>
#include <prometheus/exposer.h>

#include "tests/exposition_parse.h"
#include "tests/reader_test_util.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

const std::string kFixtures = PROMDIR_FIXTURES_DIR;


test::Parsed WithoutExposerMetrics(test::Parsed p) {
  std::erase_if(p.families,
                [](const auto& f) { return f.first.starts_with("exposer_"); });
  return p;
}

TEST_CASE("the Exposer serves the merged directory as promdir renders it") {
  for (const char* name : {"py016-web", "pyhead-web", "corrupt"}) {
    INFO(name);
    test::TempDir tmp;
    CollectorOptions opt;
    opt.directory = test::CopyFixture(name, tmp);
    opt.liveness = LivenessMode::kNone;
    int scrapes = 0;
    auto dir = std::make_shared<DirectoryCollectable>(
        opt, [&](const Status& s, const ScrapeStats&) {
          CHECK(s.ok());
          ++scrapes;
        });
    prometheus::Exposer exposer("127.0.0.1:0");
    exposer.RegisterCollectable(dir);
    REQUIRE(exposer.GetListeningPorts().size() == 1);
    int port = exposer.GetListeningPorts()[0];
    int rc = -1;
    std::string body = test::RunCommand(
        "curl -sf http://127.0.0.1:" + std::to_string(port) + "/metrics", "", &rc);
    REQUIRE(rc == 0);
    CHECK(scrapes == 1);

    DirectoryCollector ours(opt);
    std::string text;
    REQUIRE(ours.Render(ExpositionFormat::kText004, &text, nullptr).ok());
    test::Parsed want = test::ParseExposition(text);
    test::Parsed got = WithoutExposerMetrics(test::ParseExposition(body));
    REQUIRE(want.families.size() > 3);
    // prometheus-cpp prints 16 significant digits.
    CHECK(test::DiffExpositions(want, got, true) == "");
    // And the Python-made expectation agrees with both.
    test::Parsed python = test::ParseExposition(
        test::ReadFile(kFixtures + "/" + name + "/expected.txt"));
    CHECK(test::DiffExpositions(python, got, true) == "");
  }
}

TEST_CASE("the model keeps every sample of the exotic fixtures") {
  for (const char* name : {"py016-exotic", "pyhead-exotic"}) {
    INFO(name);
    test::TempDir tmp;
    CollectorOptions opt;
    opt.directory = test::CopyFixture(name, tmp);
    opt.liveness = LivenessMode::kNone;
    DirectoryCollector c(opt);
    std::vector<MetricFamily> families;
    REQUIRE(c.Collect(&families, nullptr).ok());
    size_t samples = 0, histogram_buckets = 0;
    for (const MetricFamily& f : families) {
      samples += f.samples.size();
      if (f.type == MetricType::kHistogram) {
        for (const Sample& s : f.samples) {
          for (const auto& [k, v] : s.labels) {
            // +Inf is implied by sample_count.
            if (s.name == f.name + "_bucket" && k == "le" && v == "+Inf") {
              ++histogram_buckets;
            }
          }
        }
      }
    }
    size_t model = 0;
    for (const auto& pf : ToPrometheusFamilies(families)) {
      for (const auto& m : pf.metric) {
        switch (pf.type) {
          case prometheus::MetricType::Histogram:
            model += m.histogram.bucket.size() + 2;
            break;
          case prometheus::MetricType::Summary:
            model += 2;
            break;
          default:
            model += 1;
        }
      }
    }
    CHECK(model + histogram_buckets == samples);
  }
}

}  // namespace
}  // namespace promdir
