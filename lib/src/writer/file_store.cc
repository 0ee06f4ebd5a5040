#include "lib/src/writer/file_store.h"

#include <pthread.h>

#include <utility>
#include <vector>

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
  std::string key = StoreKey(dir, prefix, id);
  auto it = files_.find(key);
  if (it != files_.end()) {
    ++it->second.refs;
    return it->second.file.get();
  }
  std::string pid = std::to_string(env->GetPid());
  std::string first_problem;
  std::string first_path = dir + "/" + prefix + "_" + id + ".db";
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
  if (files_.empty()) return;
  std::map<std::string, Entry> rekeyed;
  for (auto& [key, entry] : files_) {
    MetricsFile* f = entry.file.get();
    std::string old_path = f->path();
    std::string pid = std::to_string(f->env()->GetPid());
    Status s = f->ReplaceInChild(pid);
    if (!s.ok()) {
      LogLine("after fork, process " + pid + " cannot write its own copy of " +
              old_path + " (" + s.message() +
              "); its updates to those series " + "are not exported");
    }
    std::string dir = key.substr(0, key.find('\0'));
    rekeyed[StoreKey(dir, f->prefix(), f->id())] = std::move(entry);
  }
  files_ = std::move(rekeyed);
}

}  // namespace promdir::writer
