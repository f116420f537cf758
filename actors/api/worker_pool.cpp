// worker_pool: the API's blocking handlers run here, never on gateway I/O threads.
#include "api/detail/worker_pool.hpp"

#include <utility>

namespace rideshard::api::detail {

worker_pool::worker_pool(std::size_t threads, std::size_t max_queued) : max_queued_(max_queued) {
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

worker_pool::~worker_pool() {
  std::deque<task> left;
  {
    std::lock_guard<std::mutex> lock{mu_};
    stopping_ = true;
    left.swap(queue_);
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  for (auto& t : left)
    if (t.cancel) t.cancel();
}

bool worker_pool::submit(task t) {
  {
    std::lock_guard<std::mutex> lock{mu_};
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(std::move(t));
  }
  cv_.notify_one();
  return true;
}

void worker_pool::loop() {
  for (;;) {
    task t;
    {
      std::unique_lock<std::mutex> lock{mu_};
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      t = std::move(queue_.front());
      queue_.pop_front();
    }
    t.run();
  }
}

}  // namespace rideshard::api::detail
