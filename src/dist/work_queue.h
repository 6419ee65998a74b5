// A process group's background thread: runs collectives one at a time in call order; Work handles wait for them.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "kiln/dist/process_group.h"

namespace kiln::dist {

/// A Work finished by the queue's thread.
class QueuedWork : public Work {
 public:
  void wait() override;
  bool is_completed() override;
  /// Called once by the queue's thread; error is null on success.
  void finish(std::exception_ptr error);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
};

/// One thread running queued jobs in order, so every rank issues its collectives in the order they were called.
class WorkQueue {
 public:
  WorkQueue();
  /// Runs the jobs still queued, then joins the thread (each job is bounded by the group's timeout).
  ~WorkQueue();
  /// Queues job; its exception, if any, is rethrown by the returned Work's wait().
  std::shared_ptr<Work> enqueue(std::function<void()> job);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::function<void()>, std::shared_ptr<QueuedWork>>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace kiln::dist
