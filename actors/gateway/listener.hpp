// The Beast gateway: one port serving HTTP and WebSocket (/v1/driver,
// /v1/rider, /v1/admin; /v1/console, the admin console's live feed) on its own
// io_context threads, with graceful drain.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/handlers.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::gateway {

class metrics;
namespace detail {
struct gateway_core;
class listener;
}  // namespace detail

/// Limits and addresses of one gateway. Plain value.
struct gateway_config {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  ///< 0 = an ephemeral port
  int io_threads = 1;
  std::size_t max_frame_bytes = 64 * 1024;   ///< WebSocket message; beyond: frame_too_large
  std::size_t max_queue_frames = 256;        ///< per-session outbound queue; beyond: close
  std::size_t max_body_bytes = 1024 * 1024;  ///< HTTP request body; beyond: 413
  std::chrono::milliseconds handshake_timeout{5000};  ///< also HTTP request read, close
  std::chrono::milliseconds idle_timeout{60000};      ///< WebSocket, keep-alive pings at half
  double rate_per_s = 50;                             ///< per-connection frame rate (0: no refill)
  double burst = 100;                                 ///< token bucket size
  /// /v1/admin (trusted bulk feeds: fleet_positions, nearby_batch) gets its own
  /// frame size and rate; its codec limits are schemas::admin_frame_limits.
  std::size_t admin_max_frame_bytes = 1024 * 1024;
  double admin_rate_per_s = 2000;
  double admin_burst = 4000;
  /// Browser origins ("https://console.example.com", scheme://host[:port], compared
  /// case-insensitively) allowed to open WebSockets. A browser always sends Origin:
  /// an upgrade with an Origin not listed is refused 403 `forbidden` (cross-site
  /// WebSocket hijacking), unless it is the node's own (this listener's scheme and
  /// the request's Host: a page the node served). No Origin header: allowed.
  std::vector<std::string> allowed_origins;
  /// TLS for HTTP and WebSocket (HTTPS / wss://): PEM certificate chain and
  /// private key files. Both set: every connection is TLS (1.2+); both empty:
  /// plain text. One set without the other is bad_config.
  std::string tls_cert_file;
  std::string tls_key_file;
  /// The admin console's live feed (/v1/console, WebSocket): the upgrade goes
  /// through only if the http_handler answers GET console_feed_route with 200 for
  /// the upgrade's credentials (cookie or Authorization); then that answer's body
  /// is pushed as a text frame every console_feed_interval.
  std::string console_feed_route = "/api/admin/feed";
  std::chrono::milliseconds console_feed_interval{1000};
};

/// Owns the listening socket, the io_context and its threads. Handlers and
/// metrics passed to start() must outlive stop(). start/stop_accepting/drain/
/// stop are called from one controlling thread, never from a gateway I/O thread.
class gateway {
 public:
  gateway();
  ~gateway();  ///< stop()
  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;

  /// Binds, listens and starts the I/O threads. Returns the bound port.
  /// Errors: invalid_argument (bad address, already started), bad_config (TLS
  /// files unreadable or not matching), unavailable (bind/listen).
  [[nodiscard]] result<std::uint16_t> start(const gateway_config& config, ws_handler& ws,
                                            http_handler& http, metrics& stats);

  /// Closes the listening socket; live sessions continue. Idempotent.
  void stop_accepting();

  /// Stops accepting, sends a close frame (going_away) to every WebSocket session
  /// after its queued frames, closes idle HTTP keep-alive connections and lets
  /// in-flight HTTP requests finish with Connection: close. Waits until every
  /// session has ended or `deadline`; true if all ended.
  bool drain(std::chrono::steady_clock::time_point deadline);

  /// Closes every socket, waits (bounded) for sessions to report on_close, then
  /// stops and joins the I/O threads. Idempotent.
  void stop();

  /// Closes every live WebSocket session authenticated as `subject` (close code
  /// 1008, `reason`), dropping frames not yet sent; returns how many. Thread-safe;
  /// any thread (also not a gateway I/O thread). Used when an account is
  /// suspended or deleted.
  std::size_t close_subject(const std::string& subject, const std::string& reason);

  /// Live HTTP and WebSocket sessions (thread-safe).
  std::size_t session_count() const;
  std::uint16_t port() const noexcept { return port_; }
  /// True when started with TLS (tls_cert_file and tls_key_file).
  bool tls() const noexcept;

 private:
  std::shared_ptr<detail::gateway_core> core_;
  std::shared_ptr<detail::listener> listener_;
  std::vector<std::thread> threads_;
  std::uint16_t port_ = 0;
};

}  // namespace rideshard::gateway
