// stripe_psp against the real stripe-mock: every request the adapter sends is
// accepted by Stripe's published API shape (stripe-mock validates each parameter
// against the OpenAPI spec and refuses unknown ones), every POST carries the
// Idempotency-Key derived from the transfer id (stripe-mock echoes it back), and
// transport failures are psp_unavailable.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "payments/stripe_psp.hpp"
#include "rideshard/engine/ride_money.hpp"
#include "stripe_mock.hpp"

using namespace rideshard;
using namespace rideshard::payments;

namespace {

stripe_options options(std::uint16_t port, std::string key = "sk_test_123") {
  stripe_options o;
  o.port = port;
  o.secret_key = std::move(key);
  o.timeout = std::chrono::seconds(10);
  return o;
}

// A loopback port nothing listens on (bound, then closed).
std::uint16_t closed_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("the adapter's calls are accepted by stripe-mock, each with its Idempotency-Key") {
  test::stripe_mock mock;
  stripe_psp psp(options(mock.port()));
  const std::string hold = to_string(make_transfer_id(money_domain::payment, 77, money_code::hold));
  const std::string capture =
      to_string(make_transfer_id(money_domain::payment, 77, money_code::capture));
  const std::string release =
      to_string(make_transfer_id(money_domain::payment, 78, money_code::release));
  const std::string refund =
      to_string(make_transfer_id(money_domain::payment, 77, money_code::refund, 1));

  const persistence::vaulted_card card{"4242424242424242", 12, 2031};
  authorize_request req;
  req.idempotency_key = hold;
  req.amount = 1250;
  req.card = &card;
  auto in = psp.authorize(req);
  REQUIRE_MESSAGE(in.ok(), in.err().message);
  CHECK(in->id.rfind("pi_", 0) == 0);
  CHECK(in->amount == 1250);  // stripe-mock reflects the amount it was sent

  auto cap = psp.capture(in->id, 1000, capture);
  REQUIRE_MESSAGE(cap.ok(), cap.err().message);
  CHECK(cap->id == in->id);
  auto voided = psp.cancel("pi_other", release);
  REQUIRE_MESSAGE(voided.ok(), voided.err().message);
  auto re = psp.refund(in->id, 400, refund);
  REQUIRE_MESSAGE(re.ok(), re.err().message);
  CHECK(re->id.rfind("re_", 0) == 0);
  CHECK(re->amount == 400);
  auto got = psp.retrieve(in->id);
  REQUIRE_MESSAGE(got.ok(), got.err().message);
  CHECK(got->id == in->id);

  const auto calls = psp.calls();
  REQUIRE(calls.size() == 6);
  const char* targets[] = {"/v1/payment_methods",
                           "/v1/payment_intents",
                           nullptr,  // capture: checked below
                           "/v1/payment_intents/pi_other/cancel",
                           "/v1/refunds",
                           nullptr};
  const std::string keys[] = {hold + "-pm", hold, capture, release, refund, ""};
  for (std::size_t i = 0; i < calls.size(); ++i) {
    CAPTURE(i);
    CHECK(calls[i].status == 200);
    if (targets[i] != nullptr) CHECK(calls[i].target == targets[i]);
    CHECK(calls[i].idempotency_key == keys[i]);
    if (i < 5) {
      CHECK(calls[i].method == "POST");
      CHECK(calls[i].echoed_key == keys[i]);  // the header reached the server
    }
  }
  CHECK(calls[2].target == "/v1/payment_intents/" + in->id + "/capture");
  CHECK(calls[5].method == "GET");
}

TEST_CASE("stripe-mock refuses a bad API key: bad_config, never a retry") {
  test::stripe_mock mock;
  stripe_psp psp(options(mock.port(), ""));
  auto r = psp.capture("pi_123", 100, "tr-1-2");
  CHECK(r.code() == errc::bad_config);
  REQUIRE(psp.calls().size() == 1);
  CHECK(psp.calls()[0].status == 401);
}

TEST_CASE("no answer is psp_unavailable: the outcome is unknown, retry with the same key") {
  stripe_psp psp(options(closed_port()));
  auto r = psp.capture("pi_123", 100, "tr-1-2");
  CHECK(r.code() == errc::psp_unavailable);
  CHECK(r.err().message.find("same key") != std::string::npos);
  CHECK(psp.calls().at(0).status == 0);
  CHECK(psp.capture("pi/../x", 100, "k").code() == errc::invalid_argument);
  CHECK(psp.calls().size() == 1);  // refused before any request
}

TEST_CASE("form encoding escapes what a form needs escaped") {
  CHECK(form_encode({{"card[number]", "4242"}, {"a", "b c&d=e"}}) ==
        "card%5Bnumber%5D=4242&a=b%20c%26d%3De");
}
