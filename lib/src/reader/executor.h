// Executor: the one source of threads of the merge engine. A collector
// made with `read_threads` = n owns one Executor of n threads: the caller's
// own thread plus n - 1 workers, started the first time work is handed
// out and joined when the executor is destroyed. With n = 1 there are no
// workers at all: every task runs on the thread that spawns it.
//
// Work is handed out in groups (Executor::Group): Spawn() queues a task,
// Wait() returns once every task of the group has run. A waiting thread
// runs its own group's tasks that no worker has started yet, so a group
// always finishes, even when every worker is busy with another scrape's
// render: no task ever waits for a free thread.
//
// Threads: Executor and Group are safe to use from any number of threads
// at once (one mutex). A Group belongs to the thread that made it.
// Processes: none (threads only).

#ifndef PROMDIR_LIB_SRC_READER_EXECUTOR_H_
#define PROMDIR_LIB_SRC_READER_EXECUTOR_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace promdir::reader {

class Executor {
 public:
  // `threads` counts the caller: 0 and 1 both mean no worker thread.
  explicit Executor(unsigned threads);
  ~Executor();  // REQUIRES: no Group is running tasks
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Threads that may run a group's tasks at once (the caller included).
  unsigned threads() const { return workers_wanted_ + 1; }
  // Worker threads started so far (at most threads() - 1).
  size_t workers_started() const;

  class Group {
   public:
    explicit Group(Executor* executor) : executor_(executor) {}
    ~Group() { Wait(); }
    Group(const Group&) = delete;
    Group& operator=(const Group&) = delete;
    // Runs fn on a worker, or (no worker thread) here and now.
    void Spawn(std::function<void()> fn);
    // Returns once every task spawned so far has run, running those that
    // have not started on this thread.
    void Wait();

   private:
    friend class Executor;
    Executor* const executor_;
    size_t pending_ = 0;  // guarded by executor_->mu_
  };

  // Calls fn(t) for t in [0, n) on up to n threads at once (fn(0) on the
  // caller) and returns when all have returned.
  void ForEachThread(size_t n, const std::function<void(size_t)>& fn);

 private:
  struct Task {
    std::function<void()> fn;
    Group* group;
  };
  void WorkerLoop();
  void Finish(Group* group);  // REQUIRES: mu_ held

  const unsigned workers_wanted_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // a task was queued, or stop_
  std::condition_variable done_cv_;  // a task finished
  std::deque<Task> queue_;
  std::vector<std::thread> workers_;
  bool stop_ = false;
};

}  // namespace promdir::reader

#endif  // PROMDIR_LIB_SRC_READER_EXECUTOR_H_
