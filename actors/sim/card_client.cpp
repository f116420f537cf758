// card_client: a one-shot async HTTP/1.1 POST over Beast (connect, write, read)
// with one deadline for the whole exchange.
#include "sim/card_client.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace rideshard::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string sandbox_card_number(std::uint64_t n) {
  std::string digits = "424242";
  std::string body = std::to_string(n % 1'000'000'000);
  digits += std::string(9 - body.size(), '0') + body;
  // Luhn: double every second digit from the right, counting the check digit as first.
  int sum = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    int d = digits[digits.size() - 1 - i] - '0';
    if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  digits += static_cast<char>('0' + (10 - sum % 10) % 10);
  return digits;
}

namespace {

int current_year() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  return utc.tm_year + 1900;
}

/// One POST in flight; owned by its own handlers.
class card_post : public std::enable_shared_from_this<card_post> {
 public:
  card_post(net::io_context& ioc, std::function<void(unsigned)> done)
      : stream_(ioc), done_(std::move(done)) {}

  void start(net::ip::tcp::endpoint ep, const std::string& token, std::string body) {
    req_ = {http::verb::post, "/api/payments/methods", 11};
    req_.set(http::field::host, ep.address().to_string() + ":" + std::to_string(ep.port()));
    req_.set(http::field::authorization, "Bearer " + token);
    req_.set(http::field::content_type, "application/json");
    req_.body() = std::move(body);
    req_.prepare_payload();
    stream_.expires_after(std::chrono::seconds(10));
    stream_.async_connect(ep, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish(0);
      http::async_write(self->stream_, self->req_, [self](beast::error_code wec, std::size_t) {
        if (wec) return self->finish(0);
        http::async_read(self->stream_, self->buf_, self->res_,
                         [self](beast::error_code rec, std::size_t) {
                           self->finish(rec ? 0 : self->res_.result_int());
                         });
      });
    });
  }

 private:
  void finish(unsigned status) {
    beast::error_code ignored;
    stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    // The request held the card number: overwrite it before the memory goes back.
    std::fill(req_.body().begin(), req_.body().end(), '\0');
    if (auto done = std::move(done_)) done(status);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::function<void(unsigned)> done_;
};

}  // namespace

void add_card(net::io_context& ioc, net::ip::tcp::endpoint ep, const std::string& token,
              const std::string& number, std::function<void(unsigned status)> done) {
  std::string body = R"({"number":")" + number + R"(","exp_month":12,"exp_year":)" +
                     std::to_string(current_year() + 4) + R"(,"cvc":"123"})";
  std::make_shared<card_post>(ioc, std::move(done))->start(ep, token, std::move(body));
}

}  // namespace rideshard::sim
