// payment_service's part in the GDPR endpoints: what a person's export lists
// (their payments) and what their erasure removes (their cards).
#include "payments/payment_service.hpp"
#include "rideshard/persistence/write_batch.hpp"

namespace rideshard::payments {

std::vector<payment_record> payment_service::payments_of(rider_id rider, driver_id driver) const {
  std::vector<payment_record> out;
  if (rider.valid() == driver.valid()) return out;
  std::lock_guard lock(mu_);
  for (const auto& [id, p] : payments_)
    if (rider.valid() ? p.rider == rider : p.driver == driver) out.push_back(p);
  return out;
}

result<std::size_t> payment_service::forget_methods(rider_id rider) {
  std::vector<method_record> gone;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, m] : methods_)
      if (m.rider == rider) gone.push_back(m);
  }
  if (gone.empty()) return std::size_t{0};
  // The cards first: a crash before the records go leaves methods whose card is
  // gone (a payment with one is refused no_payment_method), never a card whose
  // record was forgotten.
  for (const auto& m : gone)
    if (auto ok = vault_.erase(m.token); !ok) return ok.err();
  persistence::write_batch b;
  for (const auto& m : gone) b.erase_entity(persistence::entity_kind::payment_method, m.id);
  if (auto c = store_.commit(b); !c) return c.err();
  {
    std::lock_guard lock(mu_);
    for (const auto& m : gone) methods_.erase(m.id);
  }
  return gone.size();
}

}  // namespace rideshard::payments
