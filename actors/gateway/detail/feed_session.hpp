// Private to the gateway: the admin console's live feed on /v1/console. The
// upgrade is accepted only when the http_handler answers the feed route
// (gateway_config::console_feed_route) with 200 for the upgrade's credentials;
// then, every console_feed_interval, the session asks the handler again with
// the same credentials and sends the answer's body as one text frame. A browser
// that reads slowly skips ticks (one frame in flight at most, nothing queues);
// an answer other than 200 (the session expired or was revoked) closes the
// socket with 1008 and the answer's status. Everything runs on the connection's I/O thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "gateway/detail/flex_stream.hpp"
#include "gateway/detail/gateway_core.hpp"

namespace rideshard::gateway::detail {

class feed_session final : public session_base, public std::enable_shared_from_this<feed_session> {
 public:
  /// `probe` is the feed request (GET console_feed_route with the upgrade's
  /// credentials); `first` the body of the answer that let the upgrade through.
  feed_session(std::shared_ptr<gateway_core> core, flex_stream&& stream, http_request probe,
               std::string first);
  ~feed_session() override;

  /// Registers the session and answers the upgrade request. Call once.
  void run(boost::beast::http::request<boost::beast::http::string_body> req);

  void drain() override;
  void abort() override;
  void revoke(std::string reason) override;

 private:
  void on_accept(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void arm_timer();
  void ask();
  void on_answer(http_response r);
  void write(std::string text);
  void on_write(boost::beast::error_code ec, std::size_t bytes);
  void begin_close(boost::beast::websocket::close_reason reason, std::string_view metric_reason);
  void do_close();
  void abort_socket();
  void finish();

  // core_ first: it owns the io_context, so it is destroyed after the socket.
  std::shared_ptr<gateway_core> core_;
  boost::asio::any_io_executor ex_;
  boost::beast::websocket::stream<flex_stream> ws_;
  boost::beast::flat_buffer buffer_;
  boost::asio::steady_timer tick_timer_;
  boost::asio::steady_timer close_timer_;
  const std::uint64_t id_;
  const http_request probe_;
  std::string out_;  ///< the frame being written (Beast references it)
  boost::beast::websocket::close_reason close_reason_;
  bool accepted_ = false;
  bool asking_ = false;
  bool writing_ = false;
  bool close_started_ = false;
  bool finished_ = false;
};

}  // namespace rideshard::gateway::detail
