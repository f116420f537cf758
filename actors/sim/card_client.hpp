// The rider app's card step: a sandbox test card added through the node's HTTP
// API (POST /api/payments/methods, the call a rider app makes), so simulated
// rides are held and captured at the PSP like real ones. The number goes only
// into that request body: never logged, printed or kept.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace rideshard::sim {

/// A sandbox test card number for simulated rider `n`: Visa, 16 digits in the
/// 424242 range (Stripe's test-card prefix), Luhn-valid, distinct per `n` below
/// 10^9 so riders do not share a card (the fraud desk's shared_card rule flags
/// a card on several accounts). Never one of the sandbox's declining cards.
std::string sandbox_card_number(std::uint64_t n);

/// Adds `number` (expiring in December four years from now, CVC 123) as a card
/// of the rider whose bearer `token` is given, with a POST to `ep`. Calls
/// `done` once on `ioc`'s thread with the HTTP status (201: added), or 0 when
/// no answer came (connection refused, 10 s timeout).
void add_card(boost::asio::io_context& ioc, boost::asio::ip::tcp::endpoint ep,
              const std::string& token, const std::string& number,
              std::function<void(unsigned status)> done);

}  // namespace rideshard::sim
