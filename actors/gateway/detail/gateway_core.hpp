// Private to the gateway: the state every session shares (io_contexts, config,
// handlers, metrics, the registry of live sessions used by drain and stop).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/handlers.hpp"
#include "gateway/listener.hpp"
#include "gateway/metrics.hpp"
#include "rideshard/schemas/codec.hpp"

namespace rideshard::gateway::detail {

/// What drain and stop can ask of any session. Both post to the session's
/// I/O thread (its io_context), so they may be called from any thread.
class session_base {
 public:
  virtual ~session_base() = default;
  /// Finish in-flight work, then close (WebSocket: close frame going_away).
  virtual void drain() = 0;
  /// Close the socket now.
  virtual void abort() = 0;
  /// The account behind this session lost its tokens: close at once with a
  /// typed reason (WebSocket: close 1008 `reason`). HTTP sessions: nothing.
  virtual void revoke(std::string /*reason*/) {}
};

/// Live sessions by id, and authenticated WebSocket sessions by subject (so an
/// account's sessions can be closed at once). Thread-safe.
class session_registry {
 public:
  void add(std::uint64_t id, std::weak_ptr<session_base> s);
  void remove(std::uint64_t id);
  /// Session `id` is authenticated as `subject` (the handler welcomed it).
  void bind_subject(std::uint64_t id, const std::string& subject);
  /// Calls revoke(reason) on every live session of `subject`; returns how many.
  std::size_t revoke_subject(const std::string& subject, const std::string& reason);
  std::size_t size() const;
  /// Calls drain() or abort() on every live session.
  void drain_all();
  void abort_all();
  /// Waits until no session is left or `deadline`; true if none is left.
  bool wait_empty(std::chrono::steady_clock::time_point deadline);

 private:
  std::vector<std::shared_ptr<session_base>> snapshot() const;

  mutable std::mutex mutex_;
  std::condition_variable empty_;
  std::unordered_map<std::uint64_t, std::weak_ptr<session_base>> sessions_;
  std::unordered_map<std::string, std::unordered_set<std::uint64_t>> by_subject_;
  std::unordered_map<std::uint64_t, std::string> subject_of_;
};

/// Shared by the listener and every session; sessions hold it by shared_ptr so
/// the io_context outlives the last socket, whoever drops it last.
struct gateway_core {
  gateway_core(const gateway_config& c, ws_handler& w, http_handler& h, metrics& m)
      : config(c), ws(w), http(h), stats(m) {
    limits.max_frame_bytes = c.max_frame_bytes;
    admin_limits.max_frame_bytes = c.admin_max_frame_bytes;
    for (int i = 0; i < std::max(c.io_threads, 1); ++i)
      iocs.push_back(std::make_unique<boost::asio::io_context>(1));
  }

  /// The io_context of the next accepted connection (round robin).
  boost::asio::io_context& next_context() {
    return *iocs[next_ioc.fetch_add(1, std::memory_order_relaxed) % iocs.size()];
  }

  /// One io_context per I/O thread, each run by that thread alone (concurrency
  /// hint 1): a connection's reads, the frames posted to it and its writes'
  /// completions all run on one thread, with no hand-off (and wake-up) between
  /// I/O threads as one shared io_context makes. The listener runs on the first.
  std::vector<std::unique_ptr<boost::asio::io_context>> iocs;
  std::atomic<std::size_t> next_ioc{0};
  /// Set when the gateway serves TLS; every session's stream uses it.
  std::unique_ptr<boost::asio::ssl::context> tls;
  const gateway_config config;
  schemas::codec_limits limits;
  schemas::codec_limits admin_limits = schemas::admin_frame_limits;  ///< /v1/admin frames
  ws_handler& ws;
  http_handler& http;
  metrics& stats;
  session_registry sessions;
  std::atomic<std::uint64_t> next_id{1};
  /// Set by drain: HTTP responses carry Connection: close; new upgrades refused.
  std::atomic<bool> draining{false};
};

/// The hard limit on a WebSocket message: frames up to max_frame_bytes are
/// decoded, frames up to this are answered with frame_too_large and the session
/// kept; a frame beyond is answered with frame_too_large, then the session is
/// closed (1009 too_big) and the rest of the frame is dropped unread.
inline std::size_t hard_frame_limit(const gateway_config& c, endpoint ep) noexcept {
  const std::size_t max = ep == endpoint::admin ? c.admin_max_frame_bytes : c.max_frame_bytes;
  return max * 2 + 1024;
}

}  // namespace rideshard::gateway::detail
