// ride_gate: the payment-method check for WebSocket ride requests.
#include "api/ride_gate.hpp"

#include <utility>

#include "auth/subject.hpp"
#include "payments/payment_service.hpp"

namespace rideshard::api {

ride_gate::ride_gate(gateway::ws_handler& inner, node::token_verifier verify,
                     const payments::payment_service& payments, gateway::metrics& stats,
                     std::function<std::int64_t()> now_ms)
    : inner_(inner),
      verify_(std::move(verify)),
      payments_(payments),
      stats_(stats),
      now_ms_(std::move(now_ms)) {}

void ride_gate::on_open(const gateway::connection_ptr& c) { inner_.on_open(c); }

void ride_gate::on_close(const gateway::connection_ptr& c) {
  {
    std::lock_guard lock(mu_);
    riders_.erase(c->id());
  }
  inner_.on_close(c);
}

void ride_gate::on_message(const gateway::connection_ptr& c, schemas::client_message msg) {
  if (c->endpoint() == gateway::endpoint::rider) {
    if (const auto* h = std::get_if<schemas::hello>(&msg.body)) {
      // The node verifies too and answers; here only the rider's id is learnt.
      if (auto who = verify_(h->token); who && who->role == schemas::role::rider) {
        if (auto rider = auth::parse_rider_subject(who->subject)) {
          std::lock_guard lock(mu_);
          riders_[c->id()] = *rider;
        }
      }
    } else if (std::holds_alternative<schemas::ride_request>(msg.body)) {
      std::optional<rider_id> rider;
      {
        std::lock_guard lock(mu_);
        if (auto it = riders_.find(c->id()); it != riders_.end()) rider = it->second;
      }
      // Before hello the node refuses the frame itself (unauthenticated).
      if (rider && !payments_.has_usable_method(*rider)) {
        stats_.error(errc::no_payment_method);
        c->send(schemas::server_message{
            0, msg.seq, now_ms_(),
            schemas::error_reply{errc::no_payment_method, no_payment_method_message, msg.seq}});
        return;
      }
    }
  }
  inner_.on_message(c, std::move(msg));
}

}  // namespace rideshard::api
