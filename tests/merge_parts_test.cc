// The merge engine's middle parts on hand-made input: EntryParser (keys
// into the table, bad keys, layouts, appends), Accumulator (sums, gauge
// modes, all gauges), PlanBuilder (order, histogram totals, pid labels,
// non-UTF-8 series), and ChangeTracker (a real inotify watch and lease).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include "lib/src/env.h"
#include "lib/src/reader/accumulator.h"
#include "lib/src/reader/change_tracker.h"
#include "lib/src/reader/entry_parser.h"
#include "lib/src/reader/plan_builder.h"
#include "tests/reader_file_builder.h"
#include "tests/test_util.h"

namespace promdir::merge_detail {
namespace {

std::string Key(const std::string& metric, const std::string& sample,
                const std::string& labels) {
  return "[\"" + metric + "\", \"" + sample + "\", {" + labels + "}, \"h\"]";
}

// One parsed file of a scrape, its values from the file itself.
struct Parsed {
  CachedFile cf;
  std::string data;
  ScrapeFile sf;
};

void ParseFile(EntryParser* parser, const std::string& base,
               const test::FileBuilder& b, Parsed* p) {
  p->data = b.Build(-1, 0);
  reader::ReadError err;
  auto name = format::ParseFileName(base);
  REQUIRE(name);
  REQUIRE(parser->Parse("/d/" + base, p->data, name->type, nullptr, &p->cf,
                        &err));
  p->sf.cache = &p->cf;
  p->sf.name = *name;
  for (uint32_t off : p->cf.entries->offsets) {
    p->sf.own_values.push_back(reader::LoadDouble(p->data.data() + off));
    p->sf.own_timestamps.push_back(reader::LoadDouble(p->data.data() + off + 8));
  }
  p->sf.values = p->sf.own_values;
  p->sf.timestamps = p->sf.own_timestamps;
}

TEST_CASE("the parser interns keys, finds families, and extends on append") {
  EntryParser parser;
  test::FileBuilder b;
  b.Add(Key("a", "a_total", ""), 1).Add(Key("b", "b_total", ""), 2);
  Parsed p;
  ParseFile(&parser, "counter_1.db", b, &p);
  CHECK(p.cf.count == 2);
  CHECK(p.cf.layout == ValueLayout::k16);
  REQUIRE(p.cf.entries->families.size() == 2);
  CHECK(parser.table()->family_name(p.cf.entries->families[1].family) == "b");
  // Appended entries: only they are parsed.
  b.Add(Key("a", "a_total", "\"x\": \"1\""), 3);
  std::string grown = b.Build(-1, 0);
  reader::ReadError err;
  REQUIRE(parser.Parse("/d/counter_1.db", grown, FileType::kCounter, nullptr,
                       &p.cf, &err));
  CHECK(p.cf.count == 3);
  CHECK(p.cf.entries->families.size() == 2);  // no new family
  CHECK(parser.table()->key_count() == 3);
}

TEST_CASE("the parser says which entry is bad, and finds the 8-byte layout") {
  EntryParser parser;
  test::FileBuilder b;
  b.Add(Key("a", "a_total", ""), 1).Add("[\"old\", \"k\", {}]", 2);
  std::string data = b.Build(-1, 0);
  CachedFile cf;
  reader::ReadError err;
  CHECK(!parser.Parse("/d/counter_1.db", data, FileType::kCounter, nullptr,
                      &cf, &err));
  CHECK(err.reason == reader::BadReason::kOldKeyFormat);
  CHECK(err.status.message().find("/d/counter_1.db") != std::string::npos);
  CHECK(err.status.message().find("entry at offset") != std::string::npos);
  // A non-numeric le is bad in a histogram file only.
  test::FileBuilder h;
  h.Add(Key("h", "h_bucket", "\"le\": \"x\""), 1);
  std::string hd = h.Build(-1, 0);
  CachedFile hc, gc;
  CHECK(!parser.Parse("/d/histogram_1.db", hd, FileType::kHistogram, nullptr,
                      &hc, &err));
  CHECK(err.reason == reader::BadReason::kBadLe);
  CHECK(parser.Parse("/d/gauge_all_1.db", hd, FileType::kGauge, nullptr, &gc,
                     &err));
  test::FileBuilder eight(ValueLayout::k8);
  eight.Add(Key("a", "a_total", ""), 1);
  std::string ed = eight.Build(-1, 0);
  CachedFile ec;
  REQUIRE(parser.Parse("/d/counter_2.db", ed, FileType::kCounter, nullptr,
                       &ec, &err));
  CHECK(ec.layout == ValueLayout::k8);
}

// Parses files, accumulates them and builds the plan: the samples' text.
std::vector<std::string> Merge(std::vector<std::pair<std::string, test::FileBuilder>> in,
                               ScrapeStats* stats, Plan* plan) {
  EntryParser parser;
  std::vector<Parsed> parsed(in.size());
  std::vector<ScrapeFile> files;
  for (size_t i = 0; i < in.size(); ++i) {
    ParseFile(&parser, in[i].first, in[i].second, &parsed[i]);
    files.push_back(parsed[i].sf);
  }
  Accumulator acc;
  acc.Begin(parser.table().get());
  auto fams = FamilyStates(*parser.table(), files);
  std::vector<AllGaugeValue> all;
  for (uint32_t fi = 0; fi < files.size(); ++fi) acc.AddFile(fams, fi, files[fi], &all);
  PlanBuilder builder;
  builder.Build(parser.table(), fams, files, &acc, &all, plan, stats);
  std::vector<std::string> out;
  for (const PlanFamily& pf : plan->families) {
    for (const PlanSample& s : pf.samples) {
      std::string line;
      if (s.writer == reader::kNoId) {
        line = std::string(s.series->text);
      } else {
        AppendWithPid(*s.series, s.pid_split, plan->writer_labels[s.writer], &line);
      }
      char v[32];
      snprintf(v, sizeof v, " %g", s.value);
      out.push_back(line + v);
    }
  }
  return out;
}

TEST_CASE("counters sum, gauge modes pick, all gauges keep each writer") {
  auto gauge = [](double v, double ts) {
    test::FileBuilder b;
    b.Add(Key("g", "g", "\"k\": \"v\""), v, ts);
    return b;
  };
  test::FileBuilder c1, c2;
  c1.Add(Key("c", "c_total", ""), 2);
  c2.Add(Key("c", "c_total", ""), 3);
  ScrapeStats stats;
  Plan p1, p2, p3, p4;
  CHECK(Merge({{"counter_1.db", c1}, {"counter_2.db", c2}}, &stats, &p1) ==
        std::vector<std::string>{"c_total 5"});
  CHECK(Merge({{"gauge_max_1.db", gauge(4, 0)}, {"gauge_max_2.db", gauge(7, 0)}},
              &stats, &p2) == std::vector<std::string>{"g{k=\"v\"} 7"});
  CHECK(Merge({{"gauge_min_1.db", gauge(4, 0)}, {"gauge_min_2.db", gauge(7, 0)}},
              &stats, &p3) == std::vector<std::string>{"g{k=\"v\"} 4"});
  CHECK(Merge({{"gauge_mostrecent_1.db", gauge(4, 20)},
               {"gauge_mostrecent_2.db", gauge(7, 10)}},
              &stats, &p4) == std::vector<std::string>{"g{k=\"v\"} 4"});
  Plan all_plan;
  CHECK(Merge({{"gauge_all_7.db", gauge(4, 0)}, {"gauge_all_12.db", gauge(7, 0)}},
              &stats, &all_plan) ==
        std::vector<std::string>{"g{k=\"v\",pid=\"12\"} 7",
                                 "g{k=\"v\",pid=\"7\"} 4"});
  CHECK(all_plan.writers.size() == 2);
}

TEST_CASE("histograms get running bucket totals and a _count from them") {
  test::FileBuilder a, b;
  a.Add(Key("h", "h_sum", ""), 1.5)
      .Add(Key("h", "h_bucket", "\"le\": \"1.0\""), 1)
      .Add(Key("h", "h_bucket", "\"le\": \"+Inf\""), 2)
      .Add(Key("h", "h_count", ""), 99);  // replaced by the buckets' total
  b.Add(Key("h", "h_bucket", "\"le\": \"1\""), 4);  // the same bucket
  ScrapeStats stats;
  Plan plan;
  CHECK(Merge({{"histogram_1.db", a}, {"histogram_2.db", b}}, &stats, &plan) ==
        std::vector<std::string>{"h_sum 1.5", "h_bucket{le=\"1.0\"} 5",
                                 "h_bucket{le=\"+Inf\"} 7", "h_count 7"});
  REQUIRE(plan.families.size() == 1);
  CHECK(plan.families[0].type == MetricType::kHistogram);
}

TEST_CASE("a series that is not UTF-8 is left out and reported once") {
  test::FileBuilder b;
  b.Add(Key("c", "c_total", "\"k\": \"\\udc80\""), 1)
      .Add(Key("c", "c_total", "\"k\": \"ok\""), 2);
  ScrapeStats stats;
  Plan plan;
  CHECK(Merge({{"counter_1.db", b}}, &stats, &plan) ==
        std::vector<std::string>{"c_total{k=\"ok\"} 2"});
  CHECK(stats.invalid_series == 1);
  CHECK(stats.new_invalid_series.size() == 1);
}

TEST_CASE("the change tracker freezes a closed file and thaws it on an open") {
  test::TempDir d;
  const std::string path = d.File("counter_1.db");
  test::WriteFile(path, "x");
  Env* env = Env::Default();
  ChangeTracker off(env, d.path(), /*enabled=*/false);
  FileCache cache;
  CHECK(!off.BeginScrape(&cache));
  ChangeTracker tracker(env, d.path(), /*enabled=*/true);
  cache.NextGeneration();
  REQUIRE(tracker.BeginScrape(&cache));
  bool inserted;
  CachedFile* cf = cache.Claim({1, 1}, &inserted);
  cf->name = "counter_1.db";
  cf->generation = cache.generation();
  ScrapeFile sf;
  sf.cache = cf;
  sf.own_values = {3.0};
  sf.values = sf.own_values;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  CHECK(tracker.KeepFd());
  const std::string name = "counter_1.db";
  tracker.FreezeRead({{&name, &fd, FileId{1, 1}, &sf}}, &cache);
  CHECK(fd == -1);
  REQUIRE(cf->frozen);  // nothing had it open for writing
  CHECK(sf.values.data() == cf->frozen_values.data());
  // The next scrape serves it unread...
  cache.NextGeneration();
  REQUIRE(tracker.BeginScrape(&cache));
  FileId id;
  CHECK(tracker.ClaimFrozen(name, &cache, &id) == cf);
  CHECK(tracker.ClaimFrozen(name, &cache, &id) == nullptr);  // claimed once
  // ...until another process (here: this one) opens it for writing.
  int w = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(w >= 0);
  close(w);
  cache.NextGeneration();
  REQUIRE(tracker.BeginScrape(&cache));
  CHECK(!cf->frozen);
  CHECK(cf->last_values == std::vector<double>{3.0});
  CHECK(tracker.ClaimFrozen(name, &cache, &id) == nullptr);
}

}  // namespace
}  // namespace promdir::merge_detail
