// ride_gate: at the WebSocket boundary, refuses a rider's ride_request with a
// typed no_payment_method error when the rider has no usable payment method
// ([payments] require_payment_method). Everything else goes to the node as is;
// the node's rider and trip actors are unchanged.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

#include "gateway/handlers.hpp"
#include "gateway/metrics.hpp"
#include "node/dispatch_node.hpp"

namespace rideshard::payments {
class payment_service;
}

namespace rideshard::api {

/// A ws_handler in front of the node. It learns each rider connection's rider
/// from its hello (verifying the token like the node does) and checks
/// payment_service::has_usable_method on each ride_request. Thread-safe; never
/// blocks (one short lock, no PSP or disk I/O). Keeps references to `inner`,
/// `payments` and `stats` (they must outlive it).
class ride_gate final : public gateway::ws_handler {
 public:
  ride_gate(gateway::ws_handler& inner, node::token_verifier verify,
            const payments::payment_service& payments, gateway::metrics& stats,
            std::function<std::int64_t()> now_ms);

  void on_open(const gateway::connection_ptr& c) override;
  void on_message(const gateway::connection_ptr& c, schemas::client_message msg) override;
  void on_close(const gateway::connection_ptr& c) override;

 private:
  gateway::ws_handler& inner_;
  node::token_verifier verify_;
  const payments::payment_service& payments_;
  gateway::metrics& stats_;
  std::function<std::int64_t()> now_ms_;
  std::mutex mu_;
  std::map<std::uint64_t, rider_id> riders_;  ///< connection id -> its rider (after hello)
};

/// The typed refusal both boundaries (WebSocket and POST /api/trips) answer.
inline constexpr const char* no_payment_method_message =
    "add a payment method (POST /api/payments/methods) before requesting a ride";

}  // namespace rideshard::api
