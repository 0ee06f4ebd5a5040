#include "promdir/reader.h"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "lib/src/env.h"
#include "tests/reader_file_builder.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

namespace fs = std::filesystem;
using test::FileBuilder;

const std::string kFixtures = PROMDIR_FIXTURES_DIR;
const std::string kKeyA = R"(["a", "a_total", {"x": "1"}, "help"])";
const std::string kKeyB = R"(["b", "b", {}, "B help"])";

Status ReadBytes(const test::TempDir& dir, const std::string& name,
                 const std::string& bytes, FileContents* out) {
  test::WriteFile(dir.File(name), bytes);
  return ReadMetricsFile(Env::Default(), dir.File(name), out);
}

std::string ReasonOf(const test::TempDir& dir, const std::string& name,
                     const std::string& bytes) {
  FileContents c;
  Status s = ReadBytes(dir, name, bytes, &c);
  INFO(s.ToString());
  CHECK(s.IsCorruption());
  CHECK(s.message().find(dir.File(name)) != std::string::npos);
  return std::string(BadFileReasonCode(c.bad_reason));
}

TEST_CASE("every fixture file parses in its layout") {
  int files = 0;
  for (const char* name :
       {"py016-web", "py016-exotic", "pyhead-web", "pyhead-exotic"}) {
    ValueLayout want = std::string(name).starts_with("py016")
                           ? ValueLayout::k8 : ValueLayout::k16;
    for (const auto& e : fs::directory_iterator(kFixtures + "/" + name + "/dir")) {
      if (e.path().extension() != ".db") continue;
      FileContents c;
      Status s = ReadMetricsFile(Env::Default(), e.path().string(), &c,
                                 want == ValueLayout::k8 ? ValueLayout::k16
                                                         : ValueLayout::k8);
      INFO(e.path().string(), " ", s.ToString());
      REQUIRE(s.ok());
      if (!c.entries.empty()) CHECK(c.layout == want);
      CHECK(c.used <= c.size);
      for (const FileEntry& fe : c.entries) {
        CHECK(fe.key.front() == '[');
        if (want == ValueLayout::k8) CHECK(fe.timestamp == 0);
      }
      ++files;
    }
  }
  CHECK(files > 40);
}

TEST_CASE("the corrupt fixture's bad files are refused with their reasons") {
  const std::string dir = kFixtures + "/corrupt/dir/";
  struct Case {
    const char* file;
    const char* reason;  // "" = any reason
  } cases[] = {
      {"counter_4194500.db", "empty"},
      {"counter_4194501.db", "truncated"},
      {"histogram_4194502.db", ""},
      {"gauge_livesum_4194503.db", "bad_key"},
      {"summary_4194504.db", "bad_length"},
      {"unknown_4194505.db", "unknown_type"},
      {"counter_4194507.db", ""},  // a symlink, or its flattened copy
      {"sub.db", "not_regular"},
  };
  for (const Case& c : cases) {
    FileContents out;
    Status s = ReadMetricsFile(Env::Default(), dir + c.file, &out);
    INFO(c.file, " ", s.ToString());
    CHECK(s.IsCorruption());
    CHECK(s.message().find(c.file) != std::string::npos);
    if (*c.reason) CHECK(BadFileReasonCode(out.bad_reason) == c.reason);
    CHECK(out.bad_reason != BadFileReason::kNone);
  }
  FileContents empty;
  CHECK(ReadMetricsFile(Env::Default(), dir + "counter_4194506.db", &empty).ok());
  CHECK(empty.entries.empty());
}

TEST_CASE("both layouts are read with values and timestamps and offsets") {
  test::TempDir dir;
  for (ValueLayout layout : {ValueLayout::k8, ValueLayout::k16}) {
    FileContents c;
    std::string bytes =
        FileBuilder(layout).Add(kKeyA, 1.5, 7).Add(kKeyB, -2, 9).Build();
    REQUIRE(ReadBytes(dir, "counter_1.db", bytes, &c).ok());
    CHECK(c.layout == layout);
    REQUIRE(c.entries.size() == 2);
    CHECK(c.entries[0].key == kKeyA);
    CHECK(c.entries[0].value == 1.5);
    CHECK(c.entries[0].offset == 8);
    CHECK(c.entries[1].key == kKeyB);
    CHECK(c.entries[1].value == -2);
    if (layout == ValueLayout::k16) {
      CHECK(c.entries[0].timestamp == 7);
      CHECK(c.entries[1].timestamp == 9);
    } else {
      CHECK(c.entries[1].timestamp == 0);
    }
    double v;
    std::memcpy(&v, bytes.data() + c.entries[1].value_offset, 8);
    CHECK(v == -2);
    CHECK(c.size == 65536);
  }
}

TEST_CASE("header-only and used = 0 files are empty and not errors") {
  test::TempDir dir;
  FileContents c;
  CHECK(ReadBytes(dir, "counter_1.db", FileBuilder().Build(), &c).ok());
  CHECK(c.entries.empty());
  CHECK(ReadBytes(dir, "counter_2.db", FileBuilder().Build(0), &c).ok());
  CHECK(c.entries.empty());
  CHECK(c.layout == ValueLayout::k16);
  CHECK(ReadMetricsFile(Env::Default(), dir.File("counter_3.db"), &c,
                        ValueLayout::k8).IsNotFound());
}

TEST_CASE("each kind of bad file has its reason") {
  test::TempDir dir;
  auto raw_len = [](int32_t len) {
    std::string r(8, '\0');
    std::memcpy(r.data(), &len, 4);
    return r;
  };
  CHECK(ReasonOf(dir, "counter_1.db", "") == "empty");
  CHECK(ReasonOf(dir, "counter_2.db", FileBuilder().Build(1000000, 64)) ==
        "truncated");
  CHECK(ReasonOf(dir, "counter_3.db", FileBuilder().Build(12)) == "bad_layout");
  CHECK(ReasonOf(dir, "counter_4.db", FileBuilder().Build(4)) == "bad_layout");
  CHECK(ReasonOf(dir, "counter_5.db", FileBuilder().Raw(raw_len(-5)).Build()) ==
        "bad_length");
  CHECK(ReasonOf(dir, "counter_6.db",
                 FileBuilder().Raw(raw_len(3 << 20)).Build()) == "bad_length");
  CHECK(ReasonOf(dir, "counter_7.db",
                 FileBuilder().Add("[\"a\xff\", \"a_total\", {}, \"h\"]", 1)
                     .Build()) == "bad_key");
  CHECK(ReasonOf(dir, "counter_8.db",
                 FileBuilder().Add(R"(["a", "a_total", {}])", 1).Build()) ==
        "old_key_format");
  CHECK(ReasonOf(dir, "counter_9.db",
                 FileBuilder().Add(R"(["a", "a_total", {}, "h", "x"])", 1)
                     .Build()) == "bad_key");
  CHECK(ReasonOf(dir, "counter_10.db",
                 FileBuilder().Add(R"({"a": "a_total"})", 1).Build()) ==
        "bad_key");
  // Any non-empty UTF-8 name is client_python's (>= 0.22); an empty one
  // is not.
  CHECK(ReasonOf(dir, "counter_11.db",
                 FileBuilder().Add(R"(["", "_total", {}, "h"])", 1)
                     .Build()) == "bad_key");
  CHECK(ReasonOf(dir, "counter_13.db",
                 FileBuilder().Add(R"(["a", "a_total", {"": "v"}, "h"])", 1)
                     .Build()) == "bad_key");
  FileContents utf8;
  CHECK(ReadBytes(dir, "counter_14.db",
                  FileBuilder()
                      .Add(R"(["a b.c\u00e9", "a b.c\u00e9_total", {"x.y": "v"}, "h"])", 1)
                      .Build(),
                  &utf8).ok());
  CHECK(utf8.entries.size() == 1);
  CHECK(ReasonOf(dir, "counter_12.db",
                 FileBuilder(ValueLayout::k8).Add(kKeyA, 1).Add(kKeyB, 2)
                     .Build(16)) == "bad_layout");
  const std::string bucket = R"(["h", "h_bucket", {"le": "%"}, "h"])";
  auto le = [&](const std::string& v) {
    std::string k = bucket;
    return k.replace(k.find('%'), 1, v);
  };
  CHECK(ReasonOf(dir, "histogram_1.db",
                 FileBuilder().Add(le("abc"), 1).Build()) == "bad_le");
  FileContents ok;
  CHECK(ReadBytes(dir, "histogram_2.db",
                  FileBuilder().Add(le("0.5"), 1).Add(le("+Inf"), 1).Build(),
                  &ok).ok());
  CHECK(ok.entries.size() == 2);
  // A non-numeric le outside a histogram file is only a label.
  CHECK(ReadBytes(dir, "counter_13.db",
                  FileBuilder().Add(le("abc"), 1).Build(), &ok).ok());
  CHECK(ReasonOf(dir, "unknown_1.db", FileBuilder().Build()) == "unknown_type");
  CHECK(ReasonOf(dir, "gauge_weird_1.db", FileBuilder().Build()) ==
        "unknown_type");

  // Not regular files.
  test::WriteFile(dir.File("target"), FileBuilder().Add(kKeyA, 1).Build());
  REQUIRE(::symlink(dir.File("target").c_str(), dir.File("counter_20.db").c_str()) == 0);
  FileContents c;
  Status s = ReadMetricsFile(Env::Default(), dir.File("counter_20.db"), &c);
  CHECK(c.bad_reason == BadFileReason::kSymlink);
  REQUIRE(::mkdir(dir.File("counter_21.db").c_str(), 0755) == 0);
  s = ReadMetricsFile(Env::Default(), dir.File("counter_21.db"), &c);
  CHECK(c.bad_reason == BadFileReason::kNotRegular);
  REQUIRE(::mkfifo(dir.File("counter_22.db").c_str(), 0644) == 0);
  s = ReadMetricsFile(Env::Default(), dir.File("counter_22.db"), &c);
  CHECK(c.bad_reason == BadFileReason::kNotRegular);
  CHECK(BadFileReasonCode(BadFileReason::kNone).empty());
  CHECK(BadFileReasonCode(BadFileReason::kIoError) == "io_error");
  // A file that is not there is no bad file.
  s = ReadMetricsFile(nullptr, dir.File("counter_23.db"), &c);
  CHECK(s.IsNotFound());
  CHECK(c.bad_reason == BadFileReason::kNone);
}

TEST_CASE("a file written by Debian's Python client reads as Python reads it") {
  test::TempDir dir;
  std::string script = R"PY(
import os, sys
os.environ['PROMETHEUS_MULTIPROC_DIR'] = sys.argv[1]
from prometheus_client import Counter, Histogram, Gauge
from prometheus_client.mmap_dict import MmapedDict
c = Counter('req', 'Requests "q" \\ x', ['view'])
for i in range(300):
    c.labels(view='v%d \u00e9\U0001F600' % i).inc(i + 0.25)
h = Histogram('lat', 'Latency', ['m'])
h.labels(m='GET').observe(0.3)
g = Gauge('g', 'G', multiprocess_mode='livesum')
g.set(4)
for f in sorted(os.listdir(sys.argv[1])):
    for key, value, pos in MmapedDict.read_all_values_from_file(os.path.join(sys.argv[1], f)):
        print(f, pos, repr(value), key.encode('utf-8').hex())
)PY";
  test::WriteFile(dir.File("w.py"), script);
  fs::create_directory(dir.File("d"));
  int rc = 0;
  std::string out = test::RunCommand(
      std::string(test::kPython) + " " + dir.File("w.py") + " " + dir.File("d"),
      "", &rc);
  REQUIRE(rc == 0);
  std::istringstream lines(out);
  std::string file, value, hex;
  uint64_t pos;
  std::map<std::string, FileContents> read;
  size_t n = 0;
  std::map<std::string, size_t> index;
  while (lines >> file >> pos >> value >> hex) {
    if (!read.count(file)) {
      REQUIRE(ReadMetricsFile(Env::Default(), dir.File("d/" + file),
                              &read[file]).ok());
      CHECK(read[file].layout == ValueLayout::k8);
    }
    const FileContents& c = read[file];
    size_t i = index[file]++;
    REQUIRE(i < c.entries.size());
    std::string key;
    for (size_t j = 0; j < hex.size(); j += 2) {
      key.push_back(static_cast<char>(std::stoi(hex.substr(j, 2), nullptr, 16)));
    }
    CHECK(c.entries[i].key == key);
    CHECK(c.entries[i].value_offset == pos);
    CHECK(c.entries[i].value == std::stod(value));
    ++n;
  }
  CHECK(n > 300);
  for (const auto& [f, c] : read) CHECK(index[f] == c.entries.size());
}

}  // namespace
}  // namespace promdir
