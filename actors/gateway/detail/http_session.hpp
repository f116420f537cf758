// Private to the gateway: one plain HTTP connection (keep-alive). Serves
// /metrics, hands WebSocket upgrades to ws_session and every other request to
// the http_handler. Everything runs on the connection's I/O thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "gateway/detail/flex_stream.hpp"
#include "gateway/detail/gateway_core.hpp"

namespace rideshard::gateway::detail {

class http_session final : public session_base, public std::enable_shared_from_this<http_session> {
 public:
  http_session(std::shared_ptr<gateway_core> core, boost::asio::ip::tcp::socket&& socket);
  ~http_session() override;

  /// Registers the session and reads the first request. Call once.
  void run();

  void drain() override;
  void abort() override;

 private:
  using response = boost::beast::http::response<boost::beast::http::string_body>;
  using request = boost::beast::http::request<boost::beast::http::string_body>;

  void on_handshake(boost::beast::error_code ec);
  void do_read();
  void on_read(boost::beast::error_code ec, std::size_t bytes);
  void handle_request();
  /// Authorization, Cookie and the peer's address of a request, as the handler sees them.
  http_request credentials(const request& req);
  void upgrade_console();
  /// Hands req to the HTTP handler; `then` runs on this session's executor with
  /// its answer, exactly once whatever the handler does. A handler that throws
  /// gets a 500 on `route`.
  void ask_handler(http_request req, std::string route,
                   std::function<void(const std::shared_ptr<http_session>&, http_response)> then);
  void respond(http_response r, std::string route);
  void send_error(int status, std::string_view code, std::string_view message, std::string route,
                  bool close);
  void send(response res, std::string route);
  void on_write(bool close, boost::beast::error_code ec, std::size_t bytes);
  void do_close();

  std::shared_ptr<gateway_core> core_;
  boost::asio::any_io_executor ex_;
  flex_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<response> in_flight_;
  const std::uint64_t id_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool reading_ = false;
  bool upgraded_ = false;
};

/// The metrics route label of a handler's response: its route template, or
/// "unmatched" when it names none (or an implausible one). Never the raw path,
/// so the label set is bounded by the handler's route table.
std::string route_label(const http_response& r);

/// Whether a WebSocket upgrade may proceed, given its Origin header (nullopt:
/// no header, so not a browser), this node's own origin ("http://" or
/// "https://" + the request's Host; empty without a Host) and the allowlist.
/// Allowed: no header; the node's own origin (a page it served, such as the
/// console); an allowlisted origin. Compared case-insensitively. An empty
/// header, or any other origin, is refused.
bool origin_allowed(std::optional<std::string_view> origin, std::string_view own_origin,
                    const std::vector<std::string>& allowed);

/// {"error":{"code":"...","message":"..."}} with JSON string escaping.
std::string json_error_body(std::string_view code, std::string_view message);

}  // namespace rideshard::gateway::detail
