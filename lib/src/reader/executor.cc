#include "lib/src/reader/executor.h"

#include <algorithm>

namespace promdir::reader {

Executor::Executor(unsigned threads)
    : workers_wanted_(threads > 1 ? threads - 1 : 0) {}

Executor::~Executor() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

size_t Executor::workers_started() const {
  std::lock_guard<std::mutex> l(mu_);
  return workers_.size();
}

void Executor::WorkerLoop() {
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    work_cv_.wait(l, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    Task task = std::move(queue_.front());
    queue_.pop_front();
    l.unlock();
    task.fn();
    l.lock();
    Finish(task.group);
  }
}

void Executor::Finish(Group* group) {
  if (--group->pending_ == 0) done_cv_.notify_all();
}

void Executor::Group::Spawn(std::function<void()> fn) {
  Executor* e = executor_;
  if (e->workers_wanted_ == 0) {
    fn();
    return;
  }
  {
    std::lock_guard<std::mutex> l(e->mu_);
    // Workers start with the first task: a collector that is never
    // scraped, or scrapes few files, holds no idle thread.
    if (e->workers_.size() < e->workers_wanted_) {
      e->workers_.emplace_back([e] { e->WorkerLoop(); });
    }
    e->queue_.push_back(Task{std::move(fn), this});
    ++pending_;
  }
  e->work_cv_.notify_one();
}

void Executor::Group::Wait() {
  Executor* e = executor_;
  std::unique_lock<std::mutex> l(e->mu_);
  while (pending_ > 0) {
    auto mine = std::find_if(e->queue_.begin(), e->queue_.end(),
                             [&](const Task& t) { return t.group == this; });
    if (mine == e->queue_.end()) {
      e->done_cv_.wait(l);
      continue;
    }
    Task task = std::move(*mine);
    e->queue_.erase(mine);
    l.unlock();
    task.fn();
    l.lock();
    e->Finish(this);
  }
}

void Executor::ForEachThread(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  Group group(this);
  for (size_t t = 1; t < n; ++t) group.Spawn([&fn, t] { fn(t); });
  fn(0);
  group.Wait();
}

}  // namespace promdir::reader
