#include "tests/test_util.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace promdir::test {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/promdir-test-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string RunCommand(const std::string& command, const std::string& input,
                       int* exit_code) {
  TempDir tmp;
  std::string in = tmp.File("stdin");
  std::string out = tmp.File("stdout");
  WriteFile(in, input);
  std::string full = "(" + command + ") < '" + in + "' > '" + out + "'";
  int rc = std::system(full.c_str());
  if (exit_code) {
    if (WIFEXITED(rc)) *exit_code = WEXITSTATUS(rc);
    else if (WIFSIGNALED(rc)) *exit_code = 128 + WTERMSIG(rc);
    else *exit_code = -1;
  }
  return ReadFile(out);
}

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << contents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace promdir::test
