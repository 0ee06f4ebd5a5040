// FileStore: the process-wide set of open MetricsFiles, and fork handling.
//
// Every Registry of the process shares one MetricsFile per path, so two
// registries that create the same series share its slot. Files are
// reference-counted by the registries that use them; the last release
// detaches the file (unlocks and closes it).
//
// fork(): pthread_atfork handlers take the writer mutex before the fork and,
// in the child, only forget the parent's files (MetricsFile::ForgetInChild:
// zero pages where they were mapped, descriptors closed, write gates
// closed). The child's first write to a file passes its closed gate into
// OpenGate, which makes the child's own file (MetricsFile::MakeOwnFile), so
// a child that writes nothing, or calls exec(), leaves no file.
//
// Threads: every method requires WriterMutex() to be held. The mutex guards
// all series creation of the process (the slow path), never the hot path.

#ifndef PROMDIR_LIB_SRC_WRITER_FILE_STORE_H_
#define PROMDIR_LIB_SRC_WRITER_FILE_STORE_H_

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "lib/src/env.h"
#include "lib/src/writer/metrics_file.h"

namespace promdir::writer {

// The writer mutex: guards series creation and every FileStore call.
std::mutex& WriterMutex();

class FileStore {
 public:
  static FileStore& Get();

  // Installs the fork handlers, once per process. Every Registry calls it
  // when it is made, before any series exists: were the handlers installed
  // by the first series creation instead, a fork() in another thread at
  // that moment would leave the child with the writer mutex held forever.
  // Does not need the mutex.
  static void EnsureForkHandlers();

  // Returns the file `<dir>/<prefix>_<id>.db` of this process, opening it on
  // first use. If a live writer holds it, or it exists but is not a metrics
  // file, uses `<id>-<pid>` (then `<id>-<pid>-<n>`) instead and logs one
  // line naming both files. Each successful call takes a reference.
  Result<MetricsFile*> Acquire(Env* env, const std::string& dir,
                               const std::string& prefix, const std::string& id,
                               ValueLayout layout);

  // Drops a reference taken by Acquire; the last one detaches the file.
  void Release(MetricsFile* file);

  // The slow path of a closed gate (write_gate.h): makes the child's own
  // file of the gate's MetricsFile, logging one line if it cannot.
  void OpenGate(detail::WriteGate* gate);

 private:
  FileStore() = default;
  void AfterForkInChild();
  // In a process other than the one that last used the store (a child
  // after fork), files the child has not written yet are found under the
  // child's pid, the id their first write gives them.
  void AdoptAfterFork(int pid);

  struct Entry {
    std::unique_ptr<MetricsFile> file;
    int refs = 0;
  };
  // Keyed by "<dir>\0<prefix>\0<requested id>".
  std::map<std::string, Entry> files_;
  int pid_ = 0;  // the process that last called Acquire
};

}  // namespace promdir::writer

#endif  // PROMDIR_LIB_SRC_WRITER_FILE_STORE_H_
