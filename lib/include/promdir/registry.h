// Registry: the metric families of a worker process and the files that hold
// their values.
//
//   promdir::Registry registry;  // Options::FromEnvironment()
//   auto& hits = promdir::BuildCounter().Name("hits_total").Help("Hits")
//                    .Register(registry);
//   hits.Add({}).Inc();
//
// Files. The process writes one file per (type, gauge mode) in the
// multiprocess directory, `<prefix>_<id>.db`, byte for byte what Python's
// prometheus_client writes for the same metrics (see docs/FORMAT.md). Files
// are created lazily, when the first series of their kind is created; a
// family without labels creates its series (value 0) at registration, as
// Python does. A file starts at 64 KiB and doubles; its space is reserved
// (posix_fallocate) before anything is written into it, so a full disk is a
// Status at series creation, never a SIGBUS. A new file appears complete: it
// is made under a hidden temporary name (`.<name>.tmp-<pid>`) and renamed
// into place, so no reader ever lists an empty one.
//
// Identity. <id> is the worker id of the Options, else the pid. A file that
// already exists for the id (a restarted worker) is reopened and its values
// continue, in the file's own value layout. If that file is held by a live
// writer (its lock is held; or it lacks promdir's magic, as Python's files
// do, and its id is the pid of another live process), or it is not a
// metrics file, the process uses `<id>-<pid>` instead and logs one line
// naming both files to stderr.
//
// Liveness. The process holds an OFD write lock on each of its files until
// the Registry is destroyed or the process exits; the kernel drops it when
// the process dies, so collectors tell live files from dead ones without
// trusting pids. promdir's files carry the bytes "pdir" at offset 4.
//
// fork(). fork() makes no file: in the child, the fork handler only puts
// zero pages where the parent's files were mapped and closes the inherited
// descriptors (so the parent's locks stay the parent's, even while a child
// that writes nothing outlives it). The child's first write to a file (any
// Inc/Set/Observe through an inherited handle, or a new series) creates the
// child's own file, `<prefix>_<child pid>.db`, with the inherited entries at
// value 0, mapped at the same addresses: every handle the child inherited
// then updates the child's file; the parent's files and values are
// untouched. A file of a kind the child never writes is never made, and a
// child that calls exec() leaves nothing behind. Until its first write a
// child's handles read 0. A child never writes under the parent's worker
// id; a Registry the child creates itself uses its own Options.
//
// Address space. A file is mapped over 256 KiB at first; a file that grows
// past its mapping is mapped again, twice as large, elsewhere, and the old
// mapping stays for the handles that point into it. A file grows up to
// 1 GiB; all its mappings together take less than twice its size plus
// 256 KiB of address space (13 files of a few series: about 3.3 MiB).
//
// Errors. Register throws std::invalid_argument for a bad metric or label
// name, a reserved label (`le` for histograms, `quantile` for summaries),
// unsorted buckets, a mostrecent gauge in the 8-byte layout, or a family
// registered again with another type, help, labels, mode or buckets; and
// std::runtime_error naming the directory when it is missing or not
// writable. Registering the same family twice returns the first one.
//
// Threads: every method is safe from any thread. The Registry must outlive
// its families and handles; after it is destroyed its files are unlocked and
// closed, and surviving handles update private memory.

#ifndef PROMDIR_REGISTRY_H_
#define PROMDIR_REGISTRY_H_

#include <memory>

#include "promdir/family.h"
#include "promdir/options.h"

namespace promdir {

class Registry {
 public:
  // Options from the environment (Options::FromEnvironment(), which throws
  // std::invalid_argument on a malformed variable).
  Registry();
  explicit Registry(Options options);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  const Options& options() const;

  // Internal: used by the builders. Returns the family for `spec`, creating
  // it with `make` if it is new. Throws as described above.
  using FamilyMaker = std::unique_ptr<detail::FamilyBase> (*)(
      detail::RegistryCore*, detail::FamilySpec);
  detail::FamilyBase& Register(detail::FamilySpec spec, FamilyMaker make);

 private:
  std::unique_ptr<detail::RegistryCore> core_;
};

}  // namespace promdir

#endif  // PROMDIR_REGISTRY_H_
