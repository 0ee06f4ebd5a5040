#include "lib/src/writer/file_store.h"

#include <pthread.h>

#include <utility>
#include <vector>

#include "lib/src/format.h"
#include "lib/src/path.h"
#include "lib/src/writer/log.h"

namespace promdir::writer {

namespace {

std::string StoreKey(const std::string& dir, const std::string& prefix,
                     const std::string& id) {
  std::string key = dir;
  key.push_back('\0');
  key += prefix;
  key.push_back('\0');
  key += id;
  return key;
}

void Prepare() { WriterMutex().lock(); }
void Parent() { WriterMutex().unlock(); }

}  // namespace

std::mutex& WriterMutex() {
  static std::mutex* mu = new std::mutex();
  return *mu;
}

FileStore& FileStore::Get() {
  static FileStore* store = new FileStore();
  EnsureForkHandlers();
  return *store;
}

void FileStore::EnsureForkHandlers() {
  static const bool installed = [] {
    pthread_atfork(Prepare, Parent, [] {
      FileStore::Get().AfterForkInChild();
      WriterMutex().unlock();
    });
    return true;
  }();
  (void)installed;
}

Result<MetricsFile*> FileStore::Acquire(Env* env, const std::string& dir,
                                        const std::string& prefix,
                                        const std::string& id,
                                        ValueLayout layout) {
  AdoptAfterFork(env->GetPid());
  std::string key = StoreKey(dir, prefix, id);
  auto it = files_.find(key);
  if (it != files_.end()) {
    ++it->second.refs;
    return it->second.file.get();
  }
  std::string pid = std::to_string(env->GetPid());
  std::string first_problem;
  std::string first_path = FilePath(dir, prefix, id);
  std::unique_ptr<MetricsFile> file;
  for (int attempt = 0; attempt < 10; ++attempt) {
    std::string candidate = id;
    if (attempt >= 1) candidate += "-" + pid;
    if (attempt >= 2) candidate += "-" + std::to_string(attempt - 1);
    Status s = MetricsFile::Open(env, dir, prefix, candidate, layout, &file);
    if (s.ok()) break;
    if (!s.IsBusy() && !s.IsCorruption()) return s;
    if (first_problem.empty()) first_problem = s.message();
  }
  if (!file) {
    return Status::Busy("no usable file for " + first_path + ": " +
                        first_problem);
  }
  if (!first_problem.empty()) {
    LogLine(first_problem + "; writing " + file->path() + " instead");
  }
  MetricsFile* raw = file.get();
  Entry& e = files_[key];
  e.file = std::move(file);
  e.refs = 1;
  return raw;
}

void FileStore::Release(MetricsFile* file) {
  for (auto it = files_.begin(); it != files_.end(); ++it) {
    if (it->second.file.get() != file) continue;
    if (--it->second.refs == 0) {
      it->second.file->Detach();
      files_.erase(it);
    }
    return;
  }
}

void FileStore::AfterForkInChild() {
  for (auto& [key, entry] : files_) entry.file->ForgetInChild();
}

void FileStore::AdoptAfterFork(int pid) {
  if (pid == pid_) return;
  pid_ = pid;
  // The files inherited from the parent become this process's: a
  // registry of this process that asks for its pid's file gets the one
  // its first write makes (MakeOwnFile names it so).
  std::map<std::string, Entry> rekeyed;
  int n = 0;
  for (auto& [key, entry] : files_) {
    std::string dir = key.substr(0, key.find('\0'));
    MetricsFile* f = entry.file.get();
    std::string id = f->forked() ? std::to_string(pid) : f->id();
    std::string new_key = StoreKey(dir, f->prefix(), id);
    // Two inherited files of one kind (two worker ids) cannot both be
    // found under the pid; the second keeps a key no request matches.
    if (rekeyed.count(new_key)) new_key += "\0" + std::to_string(++n);
    rekeyed[new_key] = std::move(entry);
  }
  files_ = std::move(rekeyed);
}

void FileStore::OpenGate(detail::WriteGate* gate) {
  for (auto& [key, entry] : files_) {
    MetricsFile* f = entry.file.get();
    if (f->gate() != gate) continue;
    std::string old_path = f->path();
    Status s = f->MakeOwnFile();
    if (!s.ok()) {
      LogLine("after fork, process " + std::to_string(f->env()->GetPid()) +
              " cannot write its own copy of " + old_path + " (" + s.message() +
              "); its updates to those series are not exported");
    }
    return;
  }
  // A gate of no file in the store is open (Detach opened it).
  gate->closed.store(false, std::memory_order_release);
}

}  // namespace promdir::writer

namespace promdir::detail {

void OpenGate(WriteGate* gate) noexcept {
  try {
    std::lock_guard<std::mutex> lock(writer::WriterMutex());
    writer::FileStore::Get().OpenGate(gate);
  } catch (...) {
    // Out of memory while making the file: the slots stay private memory.
    gate->closed.store(false, std::memory_order_release);
  }
}

}  // namespace promdir::detail
