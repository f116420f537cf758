// worker_pool: a few threads that run the API's blocking handlers (argon2
// hashing, synchronous node queries, backups) off the gateway's I/O threads.
// Private to actors/api.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rideshard::api::detail {

/// A fixed pool with a bounded queue. Thread-safe. The destructor runs no more
/// tasks: queued ones get `cancel()` (so every request is still answered).
class worker_pool {
 public:
  struct task {
    std::function<void()> run;
    std::function<void()> cancel;
  };
  worker_pool(std::size_t threads, std::size_t max_queued);
  ~worker_pool();
  worker_pool(const worker_pool&) = delete;
  worker_pool& operator=(const worker_pool&) = delete;

  /// False when the queue is full (the caller answers 503 itself).
  bool submit(task t);

 private:
  void loop();
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<task> queue_;
  std::size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace rideshard::api::detail
