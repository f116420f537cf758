// Private to the gateway: one connection's byte stream, plain TCP or TLS
// (OpenSSL via Beast's ssl_stream), chosen per listener. Sessions, Beast's HTTP
// parser and websocket::stream use it like any AsyncStream; next_layer() is the
// TCP stream underneath (timeouts, close) in both modes.
#pragma once

#include <memory>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace rideshard::gateway::detail {

class flex_stream {
 public:
  using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  using executor_type = boost::beast::tcp_stream::executor_type;

  /// TLS when `tls` is set (the handshake is the owner's job), plain TCP otherwise.
  flex_stream(boost::asio::ip::tcp::socket&& socket, boost::asio::ssl::context* tls)
      : plain_(tls ? boost::beast::tcp_stream(socket.get_executor())
                   : boost::beast::tcp_stream(std::move(socket))) {
    if (tls) tls_ = std::make_unique<tls_stream>(std::move(socket), *tls);
  }
  flex_stream(flex_stream&&) = default;

  bool is_tls() const noexcept { return tls_ != nullptr; }
  tls_stream& tls() { return *tls_; }

  /// The TCP stream (timeouts, close, peer address) in both modes.
  boost::beast::tcp_stream& next_layer() noexcept { return tls_ ? tls_->next_layer() : plain_; }
  const boost::beast::tcp_stream& next_layer() const noexcept {
    return tls_ ? tls_->next_layer() : plain_;
  }
  executor_type get_executor() noexcept { return next_layer().get_executor(); }

  template <class MutableBufferSequence, class ReadHandler>
  auto async_read_some(const MutableBufferSequence& buffers, ReadHandler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<ReadHandler>(handler));
    return plain_.async_read_some(buffers, std::forward<ReadHandler>(handler));
  }

  template <class ConstBufferSequence, class WriteHandler>
  auto async_write_some(const ConstBufferSequence& buffers, WriteHandler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<WriteHandler>(handler));
    return plain_.async_write_some(buffers, std::forward<WriteHandler>(handler));
  }

  // websocket::stream's close handshake tears the transport down through these.
  friend void teardown(boost::beast::role_type role, flex_stream& s,
                       boost::system::error_code& ec) {
    using boost::beast::websocket::teardown;
    if (s.tls_)
      teardown(role, *s.tls_, ec);
    else
      teardown(role, s.plain_, ec);
  }
  template <class TeardownHandler>
  friend void async_teardown(boost::beast::role_type role, flex_stream& s,
                             TeardownHandler&& handler) {
    using boost::beast::websocket::async_teardown;
    if (s.tls_)
      async_teardown(role, *s.tls_, std::forward<TeardownHandler>(handler));
    else
      async_teardown(role, s.plain_, std::forward<TeardownHandler>(handler));
  }

 private:
  boost::beast::tcp_stream plain_;  ///< the connection in plain mode; unused with TLS
  std::unique_ptr<tls_stream> tls_;
};

}  // namespace rideshard::gateway::detail
