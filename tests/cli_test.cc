// The promdir binary on the shared fixtures (copied to a temp dir before
// anything mutates them): every command, its exit code and its output.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "cli/src/commands.h"
#include "doctest/doctest.h"
#include "lib/src/env.h"
#include "lib/src/dir_names.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

using test::TempDir;
namespace fs = std::filesystem;

const std::string kBin = std::string(PROMDIR_BIN_DIR) + "/promdir";
const std::string kFixtures = PROMDIR_FIXTURES_DIR;
const char* const kCases[] = {"py016-web", "py016-exotic", "pyhead-web",
                              "pyhead-exotic", "corrupt", "pyhead-utf8"};

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};

Run Promdir(const std::string& args, const std::string& env = "") {
  TempDir tmp;
  Run r;
  r.out = test::RunCommand(
      env + " " + kBin + " " + args + " 2>'" + tmp.File("err") + "'", "",
      &r.code);
  r.err = test::ReadFile(tmp.File("err"));
  return r;
}

// A copy of a fixture's dir/ (symlinks kept as links).
std::string CopyFixture(const TempDir& tmp, const std::string& name) {
  const std::string to = tmp.File("dir");
  fs::copy(kFixtures + "/" + name + "/dir", to,
           fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  return to;
}

std::set<std::string> DbNames(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    if (n.ends_with(".db")) out.insert(n);
  }
  return out;
}

// Bad files listed in corrupt/expected-errors.txt.
std::vector<std::string> ExpectedBadFiles() {
  std::ifstream f(kFixtures + "/corrupt/expected-errors.txt");
  std::vector<std::string> out;
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    out.push_back(line.substr(0, line.find_first_of(" \t")));
  }
  return out;
}

int PythonCount(const std::string& json_text, const std::string& expr) {
  TempDir tmp;
  test::WriteFile(tmp.File("in.json"), json_text);
  test::WriteFile(
      tmp.File("count.py"),
      "import json, sys\nd = json.load(open(sys.argv[1]))\nprint(int(" + expr +
          "))\n");
  int rc = 0;
  std::string out = test::RunCommand(std::string(test::kPython) + " '" +
                                         tmp.File("count.py") + "' '" +
                                         tmp.File("in.json") + "'",
                                     "", &rc);
  if (rc != 0) return -1;
  return std::stoi(out);
}

TEST_CASE("promdir --version - --help and usage errors") {
  Run v = Promdir("--version");
  CHECK(v.code == 0);
  CHECK(v.out.find("promdir 0.") != std::string::npos);
  Run h = Promdir("--help");
  CHECK(h.code == 0);
  for (const char* word : {"Exit codes", "Examples", "compact", "mark-dead",
                           "wipe", "collect", "PROMETHEUS_MULTIPROC_DIR"}) {
    CHECK(h.out.find(word) != std::string::npos);
  }
  for (const char* sub : {"ls", "dump", "check", "collect", "prune",
                          "mark-dead", "compact", "wipe"}) {
    CAPTURE(sub);
    Run s = Promdir(std::string(sub) + " --help");
    CHECK(s.code == 0);
    CHECK(s.out.find("Exit codes") != std::string::npos);
    CHECK(s.out.find("promdir " + std::string(sub)) != std::string::npos);
  }
  CHECK(Promdir("").code == 2);
  CHECK(Promdir("frobnicate").code == 2);
  CHECK(Promdir("ls --bogus").code == 2);
  CHECK(Promdir("collect --dir /tmp --format xml").code == 2);
  Run nodir = Promdir(
      "ls", "env -u PROMETHEUS_MULTIPROC_DIR -u prometheus_multiproc_dir");
  CHECK(nodir.code == 2);
  CHECK(nodir.err.find("--dir") != std::string::npos);
  Run missing = Promdir("ls --dir /nonexistent/metrics");
  CHECK(missing.code == 1);
  CHECK(missing.err.find("/nonexistent/metrics") != std::string::npos);
}

TEST_CASE("the directory comes from the environment - upper case first") {
  const std::string dir = kFixtures + "/py016-web/dir";
  Run upper = Promdir(
      "ls",
      "env -u prometheus_multiproc_dir PROMETHEUS_MULTIPROC_DIR='" + dir + "'");
  CHECK(upper.code == 0);
  CHECK(upper.out.find("counter_4194400.db") != std::string::npos);
  Run lower = Promdir(
      "ls",
      "env -u PROMETHEUS_MULTIPROC_DIR prometheus_multiproc_dir='" + dir + "'");
  CHECK(lower.code == 0);
  CHECK(lower.out == upper.out);
}

TEST_CASE("ls and ls --json on every fixture") {
  for (const char* c : kCases) {
    CAPTURE(std::string(c));
    const std::string dir = kFixtures + "/" + c + "/dir";
    Run t = Promdir("ls --dir '" + dir + "'");
    CHECK(t.code == 0);
    for (const std::string& n : DbNames(dir))
      CHECK(t.out.find(n) != std::string::npos);
    CHECK(t.out.find("not open for writing") != std::string::npos);  // how decided
    Run j = Promdir("ls --json --dir '" + dir + "'");
    CHECK(j.code == 0);
    CHECK(PythonCount(j.out, "len(d)") ==
          static_cast<int>(DbNames(dir).size()));
    CHECK(PythonCount(j.out, "sum(1 for r in d if r['state'] == 'dead')") > 0);
    CHECK(PythonCount(j.out, "sum(1 for r in d if r['state'] == 'live')") == 0);
    Run none = Promdir("ls --json --liveness none --dir '" + dir + "'");
    CHECK(PythonCount(none.out, "sum(1 for r in d if r['state'] == 'dead')") ==
          0);
  }
}

TEST_CASE("dump shows every entry - as text and JSON") {
  const std::string file = kFixtures + "/pyhead-exotic/dir";
  for (const std::string& n : DbNames(file)) {
    CAPTURE(n);
    Run j = Promdir("dump --json '" + file + "/" + n + "'");
    REQUIRE(j.code == 0);
    Run ls = Promdir("ls --json --dir '" + file + "'");
    int entries = PythonCount(
        ls.out, "[r['entries'] for r in d if r['file'] == '" + n + "'][0]");
    CHECK(PythonCount(j.out, "len(d)") == entries);
    CHECK(PythonCount(
              j.out,
              "all(set(r) >= {'family','sample','labels','value','timestamp'} "
              "for r in d)") == 1);
    Run t = Promdir("dump '" + file + "/" + n + "'");
    CHECK(t.code == 0);
    CHECK(std::count(t.out.begin(), t.out.end(), '\n') == entries);
  }
  // UTF-8 names (client_python >= 0.22) are shown quoted.
  Run utf8 = Promdir("dump '" + kFixtures + "/pyhead-utf8/dir/counter_4194400.db'");
  CHECK(utf8.code == 0);
  CHECK(utf8.out.find("\"my.dotted.requests\"  \"my.dotted.requests_total\""
                      "{\"http.method\"=\"v1\",route=\"v1\"}  1.0") != std::string::npos);
  Run bad = Promdir("dump '" + kFixtures + "/corrupt/dir/summary_4194504.db'");
  CHECK(bad.code == 1);
  CHECK(bad.err.find("summary_4194504.db") != std::string::npos);
  CHECK(bad.err.find("negative key length") != std::string::npos);
}

TEST_CASE("check names every bad file and fails only when there is one") {
  for (const char* c : kCases) {
    CAPTURE(std::string(c));
    Run r = Promdir("check --dir '" + kFixtures + "/" + c + "/dir'");
    CHECK(r.code == (std::string(c) == "corrupt" ? 1 : 0));
  }
  Run r = Promdir("check --dir '" + kFixtures + "/corrupt/dir'");
  const auto bad = ExpectedBadFiles();
  CHECK(bad.size() >= 8);
  for (const std::string& name : bad) {
    CAPTURE(name);
    CHECK(r.out.find(name) != std::string::npos);
  }
  // Files that are fine are not named.
  CHECK(r.out.find("counter_4194400.db") == std::string::npos);
  CHECK(r.out.find("counter_4194506.db") == std::string::npos);
  CHECK(r.out.find("notes.txt") == std::string::npos);
}

TEST_CASE("collect exits 0 on corrupt/ - naming each bad file on stderr") {
  // Copies: a reader takes the directory's lock file, which it creates.
  TempDir corrupt_tmp, web_tmp;
  const std::string corrupt = CopyFixture(corrupt_tmp, "corrupt");
  const std::string web_dir = CopyFixture(web_tmp, "py016-web");
  Run r = Promdir("collect --dir '" + corrupt + "'");
  CHECK(r.code == 0);
  for (const std::string& name : ExpectedBadFiles()) {
    CAPTURE(name);
    CHECK(r.err.find(name) != std::string::npos);
  }
  Run web = Promdir("collect --dir '" + web_dir + "'");
  CHECK(web.code == 0);
  CHECK(web.out == r.out);  // corrupt/ is py016-web plus bad files
  Run om = Promdir("collect --format openmetrics --dir '" + web_dir + "'");
  CHECK(om.code == 0);
  CHECK(om.out.ends_with("# EOF\n"));
  CHECK(web.out.find("# TYPE http_requests_total counter") !=
        std::string::npos);
  // With no liveness the dead writers' live gauges come back.
  Run all = Promdir("collect --liveness none --dir '" + web_dir + "'");
  CHECK(all.out.find("http_requests_inprogress") != std::string::npos);
  CHECK(web.out.find("http_requests_inprogress{") == std::string::npos);
}

TEST_CASE("prune - mark-dead and wipe on a copy of a fixture") {
  TempDir tmp;
  const std::string dir = CopyFixture(tmp, "py016-exotic");
  Run dry = Promdir("prune --dry-run --dir '" + dir + "'");
  CHECK(dry.code == 0);
  CHECK(dry.out.find("would remove") != std::string::npos);
  CHECK(fs::exists(dir + "/gauge_livesum_4194401.db"));

  Run md = Promdir("mark-dead 4194401 --dir '" + dir + "'");
  CHECK(md.code == 0);
  CHECK(!fs::exists(dir + "/gauge_livesum_4194401.db"));
  CHECK(fs::exists(dir + "/gauge_livesum_4194402.db"));
  CHECK(fs::exists(dir + "/gauge_all_4194401.db"));
  CHECK(Promdir("mark-dead --dir '" + dir + "'").code == 2);

  Run pr = Promdir("prune --dir '" + dir + "'");
  CHECK(pr.code == 0);
  for (const std::string& n : DbNames(dir)) CHECK(n.find("gauge_live") != 0);

  // wipe refuses while a promdir writer holds a file.
  Env* env = Env::Default();
  int fd = -1;
  REQUIRE(env->Open(dir + "/counter_4194400.db", O_RDWR, 0, &fd).ok());
  REQUIRE(env->TryLock(fd).ok());
  Run refused = Promdir("wipe --dir '" + dir + "'");
  CHECK(refused.code == 3);
  CHECK(refused.err.find("counter_4194400.db") != std::string::npos);
  CHECK(fs::exists(dir + "/counter_4194401.db"));
  Run forced = Promdir("wipe --force --dir '" + dir + "'");
  CHECK(forced.code == 0);
  env->Close(fd);
  CHECK(DbNames(dir).empty());
}

TEST_CASE("compact on a copy of every fixture") {
  for (const char* c : kCases) {
    CAPTURE(std::string(c));
    TempDir tmp;
    const std::string dir = CopyFixture(tmp, c);
    Run before = Promdir("collect --dir '" + dir + "'");
    Run dry = Promdir("compact --dry-run --dir '" + dir + "'");
    CHECK(dry.code == 0);
    CHECK(dry.out.find("would fold") != std::string::npos);
    Run r = Promdir("compact --dir '" + dir + "'");
    CHECK(r.code == 0);
    CHECK(r.out.find("folded ") != std::string::npos);
    for (const std::string& n : DbNames(dir)) {
      CAPTURE(n);
      // Archives, and the corrupt files compaction cannot read.
      CHECK((n.find("_archive") != std::string::npos ||
             n.find("41945") != std::string::npos || n == "sub.db"));
    }
    if (std::string(c) == "corrupt") {
      CHECK(r.err.find("summary_4194504") != std::string::npos);
    }
    // promdir's view: the same, minus the dead writers' per-process gauges
    // (which no fixture's expected-pruned view has either).
    Run after = Promdir("collect --dir '" + dir + "'");
    CHECK(after.code == 0);
    CHECK(after.out.size() > 1000);
    CHECK(after.out.find("pid=\"") == std::string::npos);
    Run again = Promdir("compact --dir '" + dir + "'");
    CHECK(again.code == 0);
    CHECK(Promdir("collect --dir '" + dir + "'").out == after.out);
  }
}

TEST_CASE("a second compact while one runs exits 3") {
  TempDir tmp;
  const std::string dir = CopyFixture(tmp, "py016-web");
  Env* env = Env::Default();
  int fd = -1;
  REQUIRE(env->Open(dir + "/" + maintenance::kCompactorLockName,
                    O_RDWR | O_CREAT, 0644, &fd)
              .ok());
  REQUIRE(env->Lock(fd, true, false).ok());
  Run r = Promdir("compact --dir '" + dir + "'");
  CHECK(r.code == 3);
  CHECK(r.err.find("another compaction") != std::string::npos);
  env->Close(fd);
}

TEST_CASE("JSON helpers") {
  CHECK(cli::JsonString("a\"b\n\xc3\xa9") == "\"a\\\"b\\n\\u00e9\"");
  CHECK(cli::JsonString("\xff") == "\"\\ufffd\"");
  CHECK(cli::JsonNumber(1.5) == "1.5");
  CHECK(cli::JsonNumber(NAN) == "\"NaN\"");
  CHECK(cli::JsonNumber(-INFINITY) == "\"-Inf\"");
}

}  // namespace
}  // namespace promdir
