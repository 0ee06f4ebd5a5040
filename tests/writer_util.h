// Helpers for the writer's tests: reading a file's values back with the
// library's reader, and running code in a forked child.
#ifndef PROMDIR_TESTS_WRITER_UTIL_H_
#define PROMDIR_TESTS_WRITER_UTIL_H_

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "lib/src/env.h"
#include "lib/src/key_codec.h"
#include "promdir/options.h"
#include "promdir/reader.h"

namespace promdir::test {

// Key -> value of one file, read with ReadMetricsFile. *status says whether
// the reader accepted it.
inline std::map<std::string, double> FileValues(const std::string& path,
                                                Status* status = nullptr,
                                                ValueLayout* layout = nullptr) {
  FileContents contents;
  Status s = ReadMetricsFile(Env::Default(), path, &contents);
  if (status) *status = s;
  if (layout) *layout = contents.layout;
  std::map<std::string, double> values;
  for (const FileEntry& e : contents.entries) values[e.key] = e.value;
  return values;
}

// Sum of `key`'s values over every *.db file in `dir` whose name starts
// with `prefix_`.
inline double SumOver(const std::string& dir, const std::string& prefix,
                      const std::string& key) {
  double sum = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.rfind(prefix + "_", 0) != 0) continue;
    auto values = FileValues(e.path().string());
    auto it = values.find(key);
    if (it != values.end()) sum += it->second;
  }
  return sum;
}

inline Options WriterOptions(const std::string& dir, std::string worker_id = "",
                             ValueLayout layout = ValueLayout::k16) {
  Options o;
  o.directory = dir;
  o.worker_id = std::move(worker_id);
  o.layout = layout;
  return o;
}

inline std::vector<std::string> DbFiles(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

inline std::string Key(const std::string& metric, const std::string& sample,
                       LabelPairs labels, const std::string& help) {
  return EncodeKey(metric, sample, std::move(labels), help).value();
}

// True iff some process holds a lock on the file at `path`.
inline bool IsLocked(const std::string& path) {
  int fd;
  if (!Env::Default()->Open(path, O_RDONLY, 0, &fd).ok()) return false;
  bool locked = false;
  Env::Default()->IsLocked(fd, &locked);
  Env::Default()->Close(fd);
  return locked;
}

// Sends this process's stderr (fd 2) to `path` until destroyed.
class StderrToFile {
 public:
  explicit StderrToFile(const std::string& path)
      : saved_(::dup(2)),
        fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)) {
    ::dup2(fd_, 2);
  }
  ~StderrToFile() {
    ::dup2(saved_, 2);
    ::close(saved_);
    ::close(fd_);
  }
  StderrToFile(const StderrToFile&) = delete;
  StderrToFile& operator=(const StderrToFile&) = delete;

 private:
  int saved_;
  int fd_;
};

// Forks; the child runs fn and _exits with its result (1 if it throws).
// Returns the child's pid.
inline pid_t StartChild(const std::function<int()>& fn) {
  pid_t pid = ::fork();
  if (pid == 0) {
    int rc = 1;
    try {
      rc = fn();
    } catch (...) {
      rc = 1;
    }
    ::_exit(rc);
  }
  return pid;
}

// Waits for a child; returns its exit code, or 128 + signal.
inline int WaitChild(pid_t pid) {
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0) {
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

inline int RunInChild(const std::function<int()>& fn) {
  return WaitChild(StartChild(fn));
}

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_WRITER_UTIL_H_
