// The merge engine's one source of threads (lib/src/reader/executor.h):
// tasks run, groups finish even when every worker is busy, one thread
// means no thread at all, and a DirectoryCollector starts no more threads
// than read_threads - 1 whatever it reads, sorts and renders.
#include "lib/src/reader/executor.h"

#include <doctest/doctest.h>
#include <dirent.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "promdir/merge.h"
#include "tests/reader_file_builder.h"
#include "tests/test_util.h"

namespace promdir::reader {
namespace {

// Threads of this process, as the kernel lists them.
size_t ThreadCount() {
  size_t n = 0;
  DIR* d = opendir("/proc/self/task");
  REQUIRE(d != nullptr);
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// ThreadCount() before a test starts threads. A thread is started and
// joined first: ThreadSanitizer's runtime starts a helper thread of its
// own with the process' first thread, which is not ours to count.
size_t BaselineThreads() {
  std::thread([] {}).join();
  return ThreadCount();
}

TEST_CASE("an executor of one thread runs every task on the caller") {
  const size_t before = BaselineThreads();
  Executor e(1);
  CHECK(e.threads() == 1);
  std::set<std::thread::id> ran_on;
  Executor::Group g(&e);
  for (int i = 0; i < 10; ++i) {
    g.Spawn([&] { ran_on.insert(std::this_thread::get_id()); });
  }
  g.Wait();
  e.ForEachThread(4, [&](size_t) { ran_on.insert(std::this_thread::get_id()); });
  CHECK(ran_on == std::set<std::thread::id>{std::this_thread::get_id()});
  CHECK(e.workers_started() == 0);
  CHECK(ThreadCount() == before);
}

TEST_CASE("an executor runs tasks on at most threads - 1 workers") {
  const size_t before = BaselineThreads();
  {
    Executor e(3);
    std::atomic<int> sum{0};
    std::mutex mu;
    std::set<std::thread::id> ran_on;
    for (int round = 0; round < 20; ++round) {
      e.ForEachThread(3, [&](size_t t) {
        sum += static_cast<int>(t) + 1;
        std::lock_guard<std::mutex> l(mu);
        ran_on.insert(std::this_thread::get_id());
      });
    }
    CHECK(sum == 20 * 6);
    CHECK(e.workers_started() <= 2);
    CHECK(ran_on.size() <= 3);
    CHECK(ThreadCount() <= before + 2);
  }
  CHECK(ThreadCount() == before);  // joined with the executor
}

TEST_CASE("a group finishes while every worker is busy elsewhere") {
  Executor e(2);  // one worker
  std::atomic<bool> release{false};
  std::atomic<bool> blocked{false};
  Executor::Group busy(&e);
  busy.Spawn([&] {
    blocked = true;
    while (!release) std::this_thread::yield();
  });
  while (!blocked) std::this_thread::yield();
  // The only worker is taken: this group's task runs on the waiter.
  std::thread::id ran_on;
  Executor::Group mine(&e);
  mine.Spawn([&] { ran_on = std::this_thread::get_id(); });
  mine.Wait();
  CHECK(ran_on == std::this_thread::get_id());
  release = true;
  busy.Wait();
}

TEST_CASE("groups of many threads at once share the executor") {
  Executor e(3);
  std::atomic<long> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) {
        Executor::Group g(&e);
        for (int i = 0; i < 8; ++i) g.Spawn([&] { total += 1; });
      }  // (~Group waits)
    });
  }
  for (std::thread& t : callers) t.join();
  CHECK(total == 4 * 50 * 8);
}

// A directory of `files` files of `series` counter series each: enough to
// read on several threads and to render in two halves (> 8192 samples).
void MakeDirectory(const std::string& dir, int files, int series) {
  for (int f = 0; f < files; ++f) {
    test::FileBuilder b;
    for (int s = 0; s < series; ++s) {
      b.Add("[\"c\", \"c_total\", {\"k\": \"" + std::to_string(s) +
                "\"}, \"h\"]",
            1.0);
    }
    test::WriteFile(dir + "/counter_" + std::to_string(100 + f) + ".db",
                    b.Build(-1, 1 << 20));
  }
}

// The most threads this process had while collectors of `read_threads`
// scraped and rendered `dir` (cold, so new series are sorted too), seen by
// a thread that polls /proc/self/task all along (itself included).
size_t MostThreadsWhileScraping(const std::string& dir, unsigned read_threads,
                                size_t* samples) {
  std::atomic<bool> stop{false};
  std::atomic<size_t> most{0};
  std::thread watcher([&] {
    while (!stop) {
      size_t n = ThreadCount();
      if (n > most) most = n;
    }
  });
  for (int round = 0; round < 3; ++round) {
    CollectorOptions opt;
    opt.directory = dir;
    opt.liveness = LivenessMode::kNone;
    opt.read_threads = read_threads;
    DirectoryCollector c(opt);
    for (ExpositionFormat f :
         {ExpositionFormat::kText004, ExpositionFormat::kProtobuf}) {
      std::string out;
      REQUIRE(c.Render(f, &out, nullptr).ok());
      REQUIRE(!out.empty());
    }
    std::vector<MetricFamily> families;
    REQUIRE(c.Collect(&families, nullptr).ok());
    *samples = families.empty() ? 0 : families[0].samples.size();
  }
  stop = true;
  watcher.join();
  return most;
}

TEST_CASE("a collector with read_threads = 1 starts no thread at all") {
  test::TempDir d;
  MakeDirectory(d.path(), 24, 20000);
  const size_t before = BaselineThreads();
  size_t samples = 0;
  // (+1: the watcher.) Reading 24 files, sorting 20,000 new series and
  // rendering 20,000 samples would each take a second thread otherwise.
  CHECK(MostThreadsWhileScraping(d.path(), 1, &samples) == before + 1);
  CHECK(samples == 20000);
  // And one of 3 threads starts some, never more than 2.
  const size_t with3 = MostThreadsWhileScraping(d.path(), 3, &samples);
  CHECK(with3 > before + 1);
  CHECK(with3 <= before + 3);
  CHECK(ThreadCount() == before);
}

}  // namespace
}  // namespace promdir::reader
