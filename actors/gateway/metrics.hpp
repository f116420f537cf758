// The node's Prometheus metrics: one facade over a prometheus::Registry that the
// gateway and the actors both update, and that GET /metrics renders as text.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/handlers.hpp"
#include "rideshard/engine/errc.hpp"
#include "rideshard/engine/trip.hpp"
#include "rideshard/schemas/messages.hpp"

namespace prometheus {
class Registry;
}

namespace rideshard::gateway {

/// The label value of an endpoint: "driver", "rider" or "admin".
std::string_view to_string(endpoint e) noexcept;

/// Counters, gauges and histograms of one node. Thread-safe: every method may be
/// called from any thread (prometheus-cpp core metrics are atomic). Owns its
/// registry unless one is passed in; not copyable.
///
/// Metric names (all prefixed rideshard_):
///   connections{endpoint}                 gauge, open WebSocket sessions (endpoint
///                                         "console": the admin console's live feeds)
///   console_feed_ticks_total{outcome}     console feed ticks: sent, skipped (busy)
///   frames_in_total{type}                 decoded client frames by message kind
///   frames_out_total{type}                server frames written by message kind
///   errors_total{code}                    typed errors by errc name
///   connection_closes_total{reason}       server-initiated closes by reason
///   http_requests_total{route,status}     HTTP requests by route and status
///   request_to_offer_seconds              histogram, ride request in -> offer out
///   trips{state}                          gauge, trips by state
///   queue_depth{queue}                    gauge, items waiting in a named queue
///   outbox_dropped_total{reason}          analytics events dropped by the embedded
///                                         retention ("age", "size"), journal ("journal_backlog")
///   security_events_total{event}          login_throttled_account, login_throttled_address,
///                                         origin_refused
///   payments_total{event}                 payment service outcomes
///   (payments::payment_options::observe) payment_amount_minor_total{event}     minor units moved
///   per outcome (captured, refunded, ...) payment_success_ratio                 gauge, authorized
///   / (authorized + declined + failed)
class metrics {
 public:
  metrics();
  explicit metrics(std::shared_ptr<prometheus::Registry> registry);
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// The underlying registry, for families the node adds itself.
  prometheus::Registry& registry() noexcept;

  void connection_opened(endpoint e);
  void connection_closed(endpoint e);
  void frame_in(const schemas::client_body& body);
  void frame_out(const schemas::server_body& body);
  /// By kind name (schemas::kind_name); slower than the body overloads.
  void frame_out(std::string_view kind);
  void error(errc code);
  /// reason: a short snake_case word ("slow_consumer", "frame_too_large", ...).
  void connection_closed_by_server(std::string_view reason);
  /// route: a bounded set of names (templated paths, never raw ids).
  void http_request(std::string_view route, int status);
  void observe_request_to_offer(std::chrono::nanoseconds latency);
  void set_trips(trip_state state, double count);
  void set_queue_depth(std::string_view queue, double depth);
  void add_queue_depth(std::string_view queue, double delta);
  /// reason: "age" or "size" (store::drop_analytics).
  void outbox_dropped(std::string_view reason, double events);
  /// event: a fixed snake_case name (see the list above), never client text.
  void security_event(std::string_view event);
  /// An admin console feed (/v1/console) opened (+1) or ended (-1).
  void console_feed_open(double delta);
  /// A console feed tick: a frame sent, or skipped while the last one was busy.
  void console_feed_tick(bool sent);
  double console_feed_ticks(bool sent) const;

  /// A payment service event (a fixed name, see payments::payment_options::observe).
  void payment_event(std::string_view event, double amount_minor);

  /// Current values of a counter/gauge, for tests and /health (0 if never set).
  double errors(errc code) const;
  double frames_in(std::string_view kind) const;
  double frames_out(std::string_view kind) const;
  double connections(endpoint e) const;
  double closes_by_server(std::string_view reason) const;
  double outbox_dropped(std::string_view reason) const;
  double security_events(std::string_view event) const;
  double queue_depth(std::string_view queue) const;
  /// The q-quantile (0..1) of request_to_offer_seconds at bucket resolution:
  /// the upper bound of the bucket that holds it (+Inf past the last bound);
  /// -1 before any sample.
  double request_to_offer_quantile(double q) const;
  double payment_events(std::string_view event) const;
  double payment_success_ratio() const;

  /// Prometheus text exposition format 0.0.4 of every registered family.
  std::string render_text() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace rideshard::gateway
