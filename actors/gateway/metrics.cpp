// metrics: prometheus-cpp core families behind a small, template-free facade.
#include "gateway/metrics.hpp"

#include <array>
#include <string>
#include <utility>
#include <variant>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace rideshard::gateway {

std::string_view to_string(endpoint e) noexcept {
  switch (e) {
    case endpoint::driver:
      return "driver";
    case endpoint::rider:
      return "rider";
    case endpoint::admin:
      return "admin";
  }
  return "unknown";
}

namespace {

constexpr std::size_t client_kinds = std::variant_size_v<schemas::client_body>;
constexpr std::size_t server_kinds = std::variant_size_v<schemas::server_body>;

// Kind names by variant index, from the codec's own kind_name().
template <class Body, std::size_t... I>
std::array<std::string_view, sizeof...(I)> kind_names(std::index_sequence<I...>) {
  return {schemas::kind_name(Body{std::in_place_index<I>})...};
}

}  // namespace

struct metrics::impl {
  std::shared_ptr<prometheus::Registry> registry;
  prometheus::Family<prometheus::Gauge>* connections;
  prometheus::Family<prometheus::Counter>* frames_in;
  prometheus::Family<prometheus::Counter>* frames_out;
  prometheus::Family<prometheus::Counter>* errors;
  prometheus::Family<prometheus::Counter>* closes;
  prometheus::Family<prometheus::Counter>* http_requests;
  prometheus::Family<prometheus::Histogram>* request_to_offer_family;
  prometheus::Family<prometheus::Gauge>* trips;
  prometheus::Family<prometheus::Gauge>* queue_depth;
  prometheus::Family<prometheus::Counter>* outbox_dropped;
  prometheus::Family<prometheus::Counter>* security;
  prometheus::Family<prometheus::Counter>* payments;
  prometheus::Family<prometheus::Counter>* payment_amounts;
  prometheus::Family<prometheus::Counter>* console_ticks;
  prometheus::Gauge* payment_success_ratio = nullptr;
  prometheus::Gauge* revenue_per_ride = nullptr;
  prometheus::Gauge* driver_utilization = nullptr;
  prometheus::Histogram* request_to_offer = nullptr;
  // Hot-path series resolved once (Family::Add takes a lock and hashes labels).
  std::array<prometheus::Counter*, client_kinds> frames_in_by_index{};
  std::array<prometheus::Counter*, server_kinds> frames_out_by_index{};

  explicit impl(std::shared_ptr<prometheus::Registry> r) : registry(std::move(r)) {
    auto& reg = *registry;
    connections = &prometheus::BuildGauge()
                       .Name("rideshard_connections")
                       .Help("Open WebSocket sessions by endpoint")
                       .Register(reg);
    frames_in = &prometheus::BuildCounter()
                     .Name("rideshard_frames_in_total")
                     .Help("Decoded client frames by message kind")
                     .Register(reg);
    frames_out = &prometheus::BuildCounter()
                      .Name("rideshard_frames_out_total")
                      .Help("Server frames written by message kind")
                      .Register(reg);
    errors = &prometheus::BuildCounter()
                  .Name("rideshard_errors_total")
                  .Help("Typed errors by code")
                  .Register(reg);
    closes = &prometheus::BuildCounter()
                  .Name("rideshard_connection_closes_total")
                  .Help("Connections closed by the server, by reason")
                  .Register(reg);
    http_requests = &prometheus::BuildCounter()
                         .Name("rideshard_http_requests_total")
                         .Help("HTTP requests by route and status")
                         .Register(reg);
    request_to_offer_family = &prometheus::BuildHistogram()
                                   .Name("rideshard_request_to_offer_seconds")
                                   .Help("Ride request frame in to first offer frame out")
                                   .Register(reg);
    trips = &prometheus::BuildGauge().Name("rideshard_trips").Help("Trips by state").Register(reg);
    queue_depth = &prometheus::BuildGauge()
                       .Name("rideshard_queue_depth")
                       .Help("Items waiting in a named queue")
                       .Register(reg);
    outbox_dropped = &prometheus::BuildCounter()
                          .Name("rideshard_outbox_dropped_total")
                          .Help("Analytics events dropped by the embedded default's retention")
                          .Register(reg);
    security = &prometheus::BuildCounter()
                    .Name("rideshard_security_events_total")
                    .Help("Refusals that protect accounts and sessions, by event")
                    .Register(reg);
    payments = &prometheus::BuildCounter()
                    .Name("rideshard_payments_total")
                    .Help(
                        "Payment service outcomes by event (authorized, declined, failed, "
                        "psp_unavailable, captured, voided, refunded, method_added, ...)")
                    .Register(reg);
    payment_amounts = &prometheus::BuildCounter()
                           .Name("rideshard_payment_amount_minor_total")
                           .Help("Money moved by payment event, in minor units")
                           .Register(reg);
    console_ticks = &prometheus::BuildCounter()
                         .Name("rideshard_console_feed_ticks_total")
                         .Help(
                             "Console feed ticks by outcome (sent, skipped: the browser or "
                             "the handler was still busy with the previous one)")
                         .Register(reg);
    payment_success_ratio =
        &prometheus::BuildGauge()
             .Name("rideshard_payment_success_ratio")
             .Help("Authorizations that succeeded / those answered (authorized, declined, failed)")
             .Register(reg)
             .Add({});
    revenue_per_ride =
        &prometheus::BuildGauge()
             .Name("rideshard_revenue_per_ride_minor")
             .Help(
                 "(Captured - refunded) / captured payments, in minor units: what a paid ride "
                 "brings in gross of the driver's share")
             .Register(reg)
             .Add({});
    driver_utilization =
        &prometheus::BuildGauge()
             .Name("rideshard_driver_utilization_ratio")
             .Help(
                 "Trips with a driver (accepted, driver_arrived, in_progress) / connected "
                 "drivers, at the last scrape")
             .Register(reg)
             .Add({});
    request_to_offer = &request_to_offer_family->Add(
        {}, prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                                    0.1, 0.25, 0.5, 1, 2.5, 5});
    const auto in_names =
        kind_names<schemas::client_body>(std::make_index_sequence<client_kinds>{});
    for (std::size_t i = 0; i < client_kinds; ++i) {
      frames_in_by_index[i] = &frames_in->Add({{"type", std::string(in_names[i])}});
    }
    const auto out_names =
        kind_names<schemas::server_body>(std::make_index_sequence<server_kinds>{});
    for (std::size_t i = 0; i < server_kinds; ++i) {
      frames_out_by_index[i] = &frames_out->Add({{"type", std::string(out_names[i])}});
    }
  }
};

metrics::metrics() : metrics(std::make_shared<prometheus::Registry>()) {}
metrics::metrics(std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_unique<impl>(std::move(registry))) {}
metrics::~metrics() = default;

prometheus::Registry& metrics::registry() noexcept { return *impl_->registry; }

void metrics::connection_opened(endpoint e) {
  impl_->connections->Add({{"endpoint", std::string(to_string(e))}}).Increment();
}
void metrics::connection_closed(endpoint e) {
  impl_->connections->Add({{"endpoint", std::string(to_string(e))}}).Decrement();
}

void metrics::frame_in(const schemas::client_body& body) {
  if (!body.valueless_by_exception()) impl_->frames_in_by_index[body.index()]->Increment();
}
void metrics::frame_out(const schemas::server_body& body) {
  if (!body.valueless_by_exception()) impl_->frames_out_by_index[body.index()]->Increment();
}
void metrics::frame_out(std::string_view kind) {
  impl_->frames_out->Add({{"type", std::string(kind)}}).Increment();
}

void metrics::error(errc code) {
  impl_->errors->Add({{"code", std::string(to_string(code))}}).Increment();
}
void metrics::connection_closed_by_server(std::string_view reason) {
  impl_->closes->Add({{"reason", std::string(reason)}}).Increment();
}
void metrics::http_request(std::string_view route, int status) {
  impl_->http_requests->Add({{"route", std::string(route)}, {"status", std::to_string(status)}})
      .Increment();
}
void metrics::observe_request_to_offer(std::chrono::nanoseconds latency) {
  impl_->request_to_offer->Observe(std::chrono::duration<double>(latency).count());
}
void metrics::set_trips(trip_state state, double count) {
  impl_->trips->Add({{"state", std::string(to_string(state))}}).Set(count);
}
void metrics::set_queue_depth(std::string_view queue, double depth) {
  impl_->queue_depth->Add({{"queue", std::string(queue)}}).Set(depth);
}
void metrics::add_queue_depth(std::string_view queue, double delta) {
  impl_->queue_depth->Add({{"queue", std::string(queue)}}).Increment(delta);
}
void metrics::outbox_dropped(std::string_view reason, double events) {
  impl_->outbox_dropped->Add({{"reason", std::string(reason)}}).Increment(events);
}

void metrics::console_feed_open(double delta) {
  impl_->connections->Add({{"endpoint", "console"}}).Increment(delta);
}

void metrics::console_feed_tick(bool sent) {
  impl_->console_ticks->Add({{"outcome", sent ? "sent" : "skipped"}}).Increment();
}

double metrics::console_feed_ticks(bool sent) const {
  return impl_->console_ticks->Add({{"outcome", sent ? "sent" : "skipped"}}).Value();
}

void metrics::security_event(std::string_view event) {
  impl_->security->Add({{"event", std::string(event)}}).Increment();
}

void metrics::payment_event(std::string_view event, double amount_minor) {
  impl_->payments->Add({{"event", std::string(event)}}).Increment();
  if (amount_minor > 0)
    impl_->payment_amounts->Add({{"event", std::string(event)}}).Increment(amount_minor);
  if (event == "authorized" || event == "declined" || event == "failed") {
    const double ok = payment_events("authorized");
    const double answered = ok + payment_events("declined") + payment_events("failed");
    impl_->payment_success_ratio->Set(answered > 0 ? ok / answered : 0);
  }
  if (event == "captured" || event == "refunded") {
    const double rides = payment_events("captured");
    auto amount = [this](const char* e) {
      return impl_->payment_amounts->Add({{"event", std::string(e)}}).Value();
    };
    const double net = amount("captured") - amount("refunded");
    impl_->revenue_per_ride->Set(rides > 0 ? net / rides : 0);
  }
}

namespace {
// Trips with a driver (accepted, driver_arrived, in_progress) / connected drivers.
double metrics_driver_utilization(prometheus::Family<prometheus::Gauge>& trips,
                                  prometheus::Family<prometheus::Gauge>& connections) {
  double busy = 0;
  for (auto s : {trip_state::accepted, trip_state::driver_arrived, trip_state::in_progress})
    busy += trips.Add({{"state", std::string(to_string(s))}}).Value();
  const double drivers =
      connections.Add({{"endpoint", std::string(to_string(endpoint::driver))}}).Value();
  return drivers > 0 ? busy / drivers : 0;
}
}  // namespace

double metrics::payment_events(std::string_view event) const {
  return impl_->payments->Add({{"event", std::string(event)}}).Value();
}

double metrics::payment_success_ratio() const { return impl_->payment_success_ratio->Value(); }

double metrics::security_events(std::string_view event) const {
  return impl_->security->Add({{"event", std::string(event)}}).Value();
}

double metrics::errors(errc code) const {
  return impl_->errors->Add({{"code", std::string(to_string(code))}}).Value();
}
double metrics::frames_in(std::string_view kind) const {
  return impl_->frames_in->Add({{"type", std::string(kind)}}).Value();
}
double metrics::frames_out(std::string_view kind) const {
  return impl_->frames_out->Add({{"type", std::string(kind)}}).Value();
}
double metrics::connections(endpoint e) const {
  return impl_->connections->Add({{"endpoint", std::string(to_string(e))}}).Value();
}
double metrics::closes_by_server(std::string_view reason) const {
  return impl_->closes->Add({{"reason", std::string(reason)}}).Value();
}
double metrics::outbox_dropped(std::string_view reason) const {
  return impl_->outbox_dropped->Add({{"reason", std::string(reason)}}).Value();
}

double metrics::queue_depth(std::string_view queue) const {
  return impl_->queue_depth->Add({{"queue", std::string(queue)}}).Value();
}

double metrics::request_to_offer_quantile(double q) const {
  // Bucket resolution: the upper bound of the first bucket holding the q-th sample.
  const auto m = impl_->request_to_offer->Collect();
  const auto& h = m.histogram;
  if (h.sample_count == 0) return -1;
  const double want = q * static_cast<double>(h.sample_count);
  for (const auto& b : h.bucket)
    if (static_cast<double>(b.cumulative_count) >= want) return b.upper_bound;
  return h.bucket.empty() ? -1 : h.bucket.back().upper_bound;
}

std::string metrics::render_text() const {
  // Derived at scrape time: no cost on the transition and connection paths.
  impl_->driver_utilization->Set(metrics_driver_utilization(*impl_->trips, *impl_->connections));
  return prometheus::TextSerializer{}.Serialize(impl_->registry->Collect());
}

}  // namespace rideshard::gateway
