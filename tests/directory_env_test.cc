// DirectoryEnv: every path of one directory relative to its descriptor;
// names that are not plain refused; the directory replaced by a symlink
// (kept) or by another directory (re-opened), and the change watch.
#include "promdir/directory_env.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "doctest/doctest.h"
#include "tests/test_util.h"

namespace promdir {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename());
  }
  return Sorted(names);
}

void Touch(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  ::close(fd);
}

struct Logged {
  std::vector<std::string> lines;
  DirectoryEnv::LogFn fn() {
    return [this](const std::string& l) { lines.push_back(l); };
  }
};

TEST_CASE("plain names work relative to the directory; other paths are "
          "refused before any system call") {
  TempDir t;
  const std::string dir = t.File("m");
  fs::create_directory(dir);
  DirectoryEnv env(Env::Default(), dir);
  REQUIRE(env.dir_fd() >= 0);
  int fd = -1;
  REQUIRE(env.Open(dir + "/a.db", O_RDWR | O_CREAT | O_EXCL, 0644, &fd).ok());
  env.Close(fd);
  FileInfo info;
  CHECK(env.LinkStat(dir + "/a.db", &info).ok());
  CHECK(info.is_regular);
  CHECK(env.RenameNoReplace(dir + "/a.db", dir + "//b.db").ok());
  std::vector<std::string> names;
  REQUIRE(env.ListDir(dir + "/", &names).ok());
  CHECK(names == std::vector<std::string>{"b.db"});
  CHECK(env.SyncDir(dir).ok());
  CHECK(env.CheckWritableDir(dir).ok());
  CHECK(env.Unlink(dir + "/b.db").ok());
  CHECK(env.Unlink(dir + "/b.db").IsNotFound());

  Touch(t.File("outside.db"));
  for (const std::string& bad :
       {t.File("outside.db"), dir + "/../outside.db", dir + "/..", dir + "/.",
        dir + "/sub/x.db", dir + "x/y.db", std::string("relative.db")}) {
    CAPTURE(bad);
    Status s = env.Open(bad, O_RDWR | O_CREAT, 0644, &fd);
    CHECK(s.IsInvalidArgument());
    CHECK(s.message().find("not a plain name") != std::string::npos);
    CHECK(env.Unlink(bad).IsInvalidArgument());
    CHECK(env.LinkStat(bad, &info).IsInvalidArgument());
  }
  CHECK(fs::exists(t.File("outside.db")));
  CHECK(Listing(dir).empty());
}

TEST_CASE("a symlink under a name is never followed") {
  TempDir t;
  const std::string dir = t.File("m");
  fs::create_directory(dir);
  fs::create_symlink(t.File("target.db"), dir + "/counter_1.db");
  DirectoryEnv env(Env::Default(), dir);
  int fd = -1;
  Status s = env.Open(dir + "/counter_1.db", O_RDWR | O_CREAT, 0666, &fd);
  CHECK(!s.ok());
  CHECK(s.os_error() == ELOOP);
  CHECK(!fs::exists(t.File("target.db")));
  FileInfo info;
  REQUIRE(env.LinkStat(dir + "/counter_1.db", &info).ok());
  CHECK(info.is_symlink);
  CHECK(env.Unlink(dir + "/counter_1.db").ok());  // the link itself
  CHECK(!fs::is_symlink(dir + "/counter_1.db"));
}

TEST_CASE("a symlink as the directory itself is refused, naming it") {
  TempDir t;
  fs::create_directory(t.File("real"));
  fs::create_directory_symlink(t.File("real"), t.File("link"));
  DirectoryEnv env(Env::Default(), t.File("link"));
  CHECK(env.dir_fd() < 0);
  std::vector<std::string> names;
  Status s = env.ListDir(t.File("link"), &names);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find(t.File("link") + " is a symbolic link") !=
        std::string::npos);
  int fd = -1;
  CHECK(!env.Open(t.File("link") + "/x.db", O_RDWR | O_CREAT, 0644, &fd).ok());
  CHECK(Listing(t.File("real")).empty());
  // A missing directory: the reason, and it is opened once it exists.
  DirectoryEnv later(Env::Default(), t.File("later"));
  CHECK(later.ListDir(t.File("later"), &names).IsNotFound());
  fs::create_directory(t.File("later"));
  Touch(t.File("later/x.db"));
  REQUIRE(later.ListDir(t.File("later"), &names).ok());
  CHECK(names == std::vector<std::string>{"x.db"});
}

TEST_CASE("the directory swapped for a symlink: the old one is kept, "
          "nothing is read, created or deleted through the link") {
  TempDir t;
  const std::string dir = t.File("m");
  fs::create_directory(dir);
  Touch(dir + "/counter_1.db");
  fs::create_directory(t.File("victim"));
  Touch(t.File("victim/counter_1.db"));
  Touch(t.File("victim/counter_9.db"));
  Logged log;
  DirectoryEnv env(Env::Default(), dir, log.fn());
  std::vector<std::string> names;
  REQUIRE(env.ListDir(dir, &names).ok());

  fs::rename(dir, t.File("m.old"));
  fs::create_directory_symlink(t.File("victim"), dir);
  for (int scrape = 0; scrape < 3; ++scrape) {
    REQUIRE(env.ListDir(dir, &names).ok());
    CHECK(names == std::vector<std::string>{"counter_1.db"});
  }
  int fd = -1;
  REQUIRE(env.Open(dir + "/counter_2.db", O_RDWR | O_CREAT, 0644, &fd).ok());
  env.Close(fd);
  CHECK(env.Unlink(dir + "/counter_1.db").ok());
  CHECK(env.CheckWritableDir(dir).ok());
  CHECK(Listing(t.File("m.old")) == std::vector<std::string>{"counter_2.db"});
  CHECK(Listing(t.File("victim")) ==
        std::vector<std::string>({"counter_1.db", "counter_9.db"}));
  REQUIRE(log.lines.size() == 1);  // once per change
  CHECK(log.lines[0].find("now a symbolic link") != std::string::npos);
  CHECK(log.lines[0].find("still using the directory opened before") !=
        std::string::npos);
}

TEST_CASE("the directory replaced by another directory is re-opened, and "
          "a change watch of the old one reports everything") {
  TempDir t;
  const std::string dir = t.File("p/m");
  fs::create_directories(dir);
  Touch(dir + "/counter_1.db");
  Logged log;
  DirectoryEnv env(Env::Default(), dir, log.fn());
  int watch = -1;
  REQUIRE(env.OpenChangeWatch(dir, &watch).ok());
  std::vector<Env::Change> changes;
  bool everything = false;
  REQUIRE(env.ReadChanges(watch, &changes, &everything).ok());
  CHECK(!everything);

  // Its parent moves: no event reaches a watch of the old directory.
  fs::rename(t.File("p"), t.File("p.old"));
  fs::create_directories(dir);
  Touch(dir + "/counter_2.db");
  std::vector<std::string> names;
  REQUIRE(env.ListDir(dir, &names).ok());
  CHECK(names == std::vector<std::string>{"counter_2.db"});
  REQUIRE(log.lines.size() == 1);
  CHECK(log.lines[0].find("re-opened") != std::string::npos);
  changes.clear();
  REQUIRE(env.ReadChanges(watch, &changes, &everything).ok());
  CHECK(everything);
  env.CloseChangeWatch(watch);
  // A new watch sees the new directory's events.
  REQUIRE(env.OpenChangeWatch(dir, &watch).ok());
  Touch(dir + "/counter_3.db");
  changes.clear();
  REQUIRE(env.ReadChanges(watch, &changes, &everything).ok());
  CHECK(!everything);
  CHECK(std::any_of(changes.begin(), changes.end(), [](const Env::Change& c) {
    return c.name == "counter_3.db";
  }));
  env.CloseChangeWatch(watch);
}

TEST_CASE("Bind reuses a DirectoryEnv of the same directory only") {
  TempDir t;
  DirectoryEnv env(Env::Default(), t.path());
  std::unique_ptr<Env> holder;
  CHECK(DirectoryEnv::Bind(&env, t.path(), &holder) == &env);
  CHECK(!holder);
  Env* other = DirectoryEnv::Bind(&env, t.File("x"), &holder);
  CHECK(other == holder.get());
  Env* fresh = DirectoryEnv::Bind(nullptr, t.path(), &holder);
  CHECK(fresh == holder.get());
}

}  // namespace
}  // namespace promdir
