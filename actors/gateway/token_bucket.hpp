// A token bucket: the per-connection frame rate limit. Time is passed in, so
// tests drive it with a fake clock.
#pragma once

#include <algorithm>
#include <chrono>

namespace rideshard::gateway {

/// Allows `burst` events at once and `rate_per_s` on average. A rate of 0
/// never refills. Not thread-safe (one per session, used on its strand).
class token_bucket {
 public:
  using clock = std::chrono::steady_clock;

  token_bucket(double rate_per_s, double burst, clock::time_point now) noexcept
      : rate_(std::max(rate_per_s, 0.0)),
        burst_(std::max(burst, 1.0)),
        tokens_(burst_),
        last_(now) {}

  /// Takes one token if available at `now`; false means the event is over the limit.
  [[nodiscard]] bool try_take(clock::time_point now) noexcept {
    if (now > last_) {
      const double elapsed = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  double tokens() const noexcept { return tokens_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  clock::time_point last_;
};

}  // namespace rideshard::gateway
