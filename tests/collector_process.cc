#include "tests/collector_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <stdexcept>
#include <thread>

namespace promdir::test {

ChildProcess::ChildProcess(const std::vector<std::string>& argv,
                           const std::vector<std::string>& env) {
  std::string out = dir_.File("stdout");
  std::string err = dir_.File("stderr");
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int n = ::open("/dev/null", O_RDONLY);
    ::dup2(n, 0);
    ::dup2(o, 1);
    ::dup2(e, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (const std::string& kv : env) {
      size_t eq = kv.find('=');
      std::string name = kv.substr(0, eq);
      if (eq + 1 == kv.size()) {
        ::unsetenv(name.c_str());
      } else {
        ::setenv(name.c_str(), kv.substr(eq + 1).c_str(), 1);
      }
    }
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (Running()) {
    ::kill(pid_, SIGKILL);
    Wait();
  }
}

static int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool ChildProcess::Running() {
  if (status_ >= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = DecodeStatus(status);
    return false;
  }
  return r == 0;
}

int ChildProcess::Wait() {
  if (status_ >= 0) return status_;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = DecodeStatus(status);
  return status_;
}

int ChildProcess::Signal(int sig) {
  if (Running()) ::kill(pid_, sig);
  return Wait();
}

Collector::Collector(const std::string& dir, const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {std::string(PROMDIR_BIN_DIR) + "/promdir-collector",
                                   "--dir", dir, "--web.listen-address", "127.0.0.1:0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<ChildProcess>(argv);
  static const std::regex kListening(R"(address(?:=|":")127\.0\.0\.1:(\d+))");
  for (int i = 0; i < 1000 && port_ < 0; ++i) {
    std::smatch m;
    std::string log = process_->Stderr();
    if (std::regex_search(log, m, kListening)) {
      port_ = std::stoi(m[1]);
      break;
    }
    if (!process_->Running()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (port_ < 0) {
    throw std::runtime_error("promdir-collector did not start: " + process_->Stderr());
  }
  for (int i = 0; i < 1000; ++i) {
    if (HttpGet(port_, "/-/healthy").status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw std::runtime_error("promdir-collector never answered /-/healthy");
}

HttpReply HttpGet(int port, const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& headers,
                  const std::string& method) {
  httplib::Client client("127.0.0.1", port);
  client.set_decompress(false);
  client.set_keep_alive(false);
  client.set_read_timeout(30, 0);
  httplib::Headers h;
  for (const auto& [k, v] : headers) h.emplace(k, v);
  httplib::Result r = method == "HEAD" ? client.Head(path.c_str(), h)
                                       : client.Get(path.c_str(), h);
  HttpReply reply;
  if (!r) return reply;
  reply.status = r->status;
  reply.body = r->body;
  reply.content_type = r->get_header_value("Content-Type");
  reply.content_encoding = r->get_header_value("Content-Encoding");
  reply.vary = r->get_header_value("Vary");
  reply.allow = r->get_header_value("Allow");
  reply.content_length = r->get_header_value("Content-Length");
  return reply;
}

std::string RawRequest(int port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return "";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return reply;
}

}  // namespace promdir::test
