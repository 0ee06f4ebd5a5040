// Helpers for promdir-collector's end-to-end tests: run the real binary,
// find its port from its log, wait until it is ready, scrape it over real
// HTTP, send raw requests, and stop it with a signal.
#ifndef PROMDIR_TESTS_COLLECTOR_PROCESS_H_
#define PROMDIR_TESTS_COLLECTOR_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/test_util.h"

namespace promdir::test {

// A child process whose stdout and stderr go to files.
class ChildProcess {
 public:
  // Starts argv[0] with `argv`; `env` entries ("K=V") are added to (or, with
  // an empty value "K=", removed from) the environment.
  ChildProcess(const std::vector<std::string>& argv,
               const std::vector<std::string>& env = {});
  ~ChildProcess();  // SIGKILLs and reaps if still running
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  std::string Stderr() const { return ReadFile(dir_.File("stderr")); }
  std::string Stdout() const { return ReadFile(dir_.File("stdout")); }
  // Sends `sig` and waits; returns the exit status (128+signal if killed).
  int Signal(int sig);
  // Waits for the exit; returns the exit status (128+signal if killed).
  int Wait();
  bool Running();

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// The real promdir-collector on 127.0.0.1 and a free port, ready to scrape.
class Collector {
 public:
  // Starts build/bin/promdir-collector --dir DIR --web.listen-address
  // 127.0.0.1:0 plus `extra`, and waits until /-/healthy answers.
  explicit Collector(const std::string& dir,
                     const std::vector<std::string>& extra = {});
  int port() const { return port_; }
  ChildProcess& process() { return *process_; }

 private:
  std::unique_ptr<ChildProcess> process_;
  int port_ = -1;
};

struct HttpReply {
  int status = -1;  // -1: no reply
  std::string body;
  std::string content_type;
  std::string content_encoding;
  std::string vary;
  std::string allow;
  std::string content_length;
};

// One request with `headers` ({"Accept", "..."}...); the client neither
// asks for nor undoes compression by itself.
HttpReply HttpGet(int port, const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& headers = {},
                  const std::string& method = "GET");

// Sends `request` bytes on a fresh connection and returns what comes back
// until the server closes or 5 s of silence.
std::string RawRequest(int port, const std::string& request);

}  // namespace promdir::test

#endif  // PROMDIR_TESTS_COLLECTOR_PROCESS_H_
