// Private to the gateway: the options every server-side WebSocket session sets
// before it accepts the upgrade (ws_session, feed_session).
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "gateway/listener.hpp"

namespace rideshard::gateway::detail {

/// The config's handshake and idle timeouts with keep-alive pings (they replace
/// the TCP stream's own timeout) and the Server header on the upgrade's answer.
template <class Stream>
void set_server_options(boost::beast::websocket::stream<Stream>& ws, const gateway_config& cfg) {
  namespace websocket = boost::beast::websocket;
  boost::beast::get_lowest_layer(ws).expires_never();
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = cfg.handshake_timeout;
  timeouts.idle_timeout = cfg.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws.set_option(timeouts);
  ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(boost::beast::http::field::server, "rideshard");
  }));
}

}  // namespace rideshard::gateway::detail
