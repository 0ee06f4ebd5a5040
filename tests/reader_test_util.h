// Helpers shared by the reader area's tests.
#ifndef PROMDIR_TESTS_READER_TEST_UTIL_H_
#define PROMDIR_TESTS_READER_TEST_UTIL_H_

#include <sys/types.h>

#include <string>

#include "tests/test_util.h"

namespace promdir::test {

// Copies fixture `name`'s dir/ into tmp and returns the copy's path. The
// collector creates its lock file in the directory it reads, so tests read
// copies and the shared fixtures stay untouched.
std::string CopyFixture(const std::string& name, const TempDir& tmp);

// A forked child that holds the OFD lock on `path` (as a promdir writer
// does) until Kill() sends it SIGKILL. With `lock` false it holds the file
// open for writing and mapped, with no lock, as Python's MmapedDict does.
class LockHolder {
 public:
  explicit LockHolder(const std::string& path, bool lock = true);
  ~LockHolder();
  pid_t pid() const { return pid_; }
  void Kill();

 private:
  pid_t pid_ = -1;
};

// A Python-style writer: holds `path` open for writing, no lock.
class OpenHolder : public LockHolder {
 public:
  explicit OpenHolder(const std::string& path) : LockHolder(path, false) {}
};

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_READER_TEST_UTIL_H_
