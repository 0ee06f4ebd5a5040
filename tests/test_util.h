// Helpers shared by tests: temporary directories, running a command and
// capturing its output, Debian's Python.
#ifndef PROMDIR_TESTS_TEST_UTIL_H_
#define PROMDIR_TESTS_TEST_UTIL_H_

#include <string>

namespace promdir::test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on
// destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Runs `command` with /bin/sh, feeding `input` on stdin; returns stdout and
// sets *exit_code (the exit status, or 128+signal).
std::string RunCommand(const std::string& command, const std::string& input,
                       int* exit_code);

// Debian's Python, which sees python3-prometheus-client.
inline const char* kPython = "/usr/bin/python3";

// Writes `contents` to `path`, replacing it.
void WriteFile(const std::string& path, const std::string& contents);
std::string ReadFile(const std::string& path);

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_TEST_UTIL_H_
