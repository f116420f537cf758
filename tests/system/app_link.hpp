// One driver or rider app connection for system tests that run many apps on one
// io_context (one thread): reads every frame asynchronously into a callback and
// queues writes (one in flight, as Beast requires).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "rideshard/schemas/codec.hpp"

namespace rideshard::system_test {

/// Not thread-safe: every call and callback runs on the io_context's one thread.
class app_link : public std::enable_shared_from_this<app_link> {
 public:
  using frame_handler = std::function<void(const schemas::server_message&)>;
  using close_handler = std::function<void(const std::string& why)>;

  /// Connects and handshakes synchronously (the io_context must not be running
  /// elsewhere), then reads until the connection ends; `on_close` runs once.
  static std::shared_ptr<app_link> open(boost::asio::io_context& ioc, unsigned short port,
                                        const std::string& path, bool binary,
                                        frame_handler on_frame, close_handler on_close) {
    auto link = std::shared_ptr<app_link>(new app_link(ioc, binary));
    link->on_frame_ = std::move(on_frame);
    link->on_close_ = std::move(on_close);
    boost::asio::ip::tcp::resolver resolver(ioc);
    boost::beast::error_code ec;
    boost::asio::connect(link->ws_.next_layer(),
                         resolver.resolve("127.0.0.1", std::to_string(port)), ec);
    if (!ec) link->ws_.handshake("127.0.0.1", path, ec);
    if (ec) {
      link->closed_ = true;
      return link;
    }
    link->ws_.binary(binary);
    link->read_next();
    return link;
  }

  bool closed() const { return closed_; }
  bool binary() const { return binary_; }

  /// Queues one frame; returns its seq (0 when the connection is gone).
  std::uint64_t send(schemas::client_body body) {
    if (closed_) return 0;
    schemas::client_message m{++seq_, std::move(body)};
    if (binary_) {
      auto buf = schemas::encode_client_binary(m);
      queue_.emplace_back(reinterpret_cast<const char*>(buf.data()), buf.size());
    } else {
      auto text = schemas::encode_client_json(m);
      if (!text.ok()) return 0;
      queue_.push_back(*text);
    }
    if (queue_.size() == 1) write_next();
    return m.seq;
  }

  /// Drops the connection without a close handshake (like an app that dies).
  void abort() {
    boost::beast::error_code ec;
    ws_.next_layer().close(ec);
    finish("aborted by the test");
  }

 private:
  app_link(boost::asio::io_context& ioc, bool binary) : ws_(ioc), binary_(binary) {}

  void read_next() {
    ws_.async_read(buf_, [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
      if (ec) return self->finish(ec.message());
      const auto* data = static_cast<const std::uint8_t*>(self->buf_.data().data());
      auto m = self->ws_.got_binary()
                   ? schemas::decode_server_binary(data, self->buf_.size())
                   : schemas::decode_server_json(
                         std::string_view(reinterpret_cast<const char*>(data), self->buf_.size()));
      self->buf_.consume(self->buf_.size());
      if (!m.ok()) return self->finish("undecodable frame: " + m.err().message);
      if (self->on_frame_) self->on_frame_(*m);
      if (!self->closed_) self->read_next();
    });
  }

  void write_next() {
    ws_.binary(binary_);
    ws_.async_write(boost::asio::buffer(queue_.front()),
                    [self = shared_from_this()](boost::beast::error_code ec, std::size_t) {
                      if (ec) return self->finish(ec.message());
                      self->queue_.pop_front();
                      if (!self->queue_.empty() && !self->closed_) self->write_next();
                    });
  }

  void finish(const std::string& why) {
    if (closed_) return;
    closed_ = true;  // queue_ stays: a failed write may still reference its front
    if (on_close_) on_close_(why);
  }

  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  bool binary_;
  bool closed_ = false;
  std::uint64_t seq_ = 0;
  boost::beast::flat_buffer buf_;
  std::deque<std::string> queue_;
  frame_handler on_frame_;
  close_handler on_close_;
};

}  // namespace rideshard::system_test
