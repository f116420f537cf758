// ws_client: connect → handshake → read loop, with a single-writer send queue.
#include "sim/ws_client.hpp"

#include <chrono>

#include <boost/beast/websocket.hpp>

#include "rideshard/schemas/codec.hpp"

namespace rideshard::sim {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

ws_client::ws_client(net::io_context& ioc, net::ip::tcp::endpoint ep, std::string path, bool binary,
                     std::size_t max_outbox, sim_stats& stats)
    : ioc_(ioc),
      stats_(stats),
      ws_(ioc),
      ep_(ep),
      path_(std::move(path)),
      binary_(binary),
      max_outbox_(max_outbox) {}

void ws_client::start() {
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(ws_).async_connect(
      ep_, [self = shared_from_this()](beast::error_code ec) {
        if (ec || self->closing_) {
          if (ec) ++self->stats_.connect_failures;
          return self->finish();
        }
        self->ws_.async_handshake(self->ep_.address().to_string(), self->path_,
                                  [self](beast::error_code hec) {
                                    if (hec) {
                                      ++self->stats_.connect_failures;
                                      return self->finish();
                                    }
                                    beast::get_lowest_layer(self->ws_).expires_never();
                                    websocket::stream_base::timeout t{};
                                    t.handshake_timeout = std::chrono::seconds(5);
                                    t.idle_timeout = websocket::stream_base::none();
                                    t.keep_alive_pings = false;
                                    self->ws_.set_option(t);
                                    self->ws_.binary(self->binary_);
                                    self->open_ = true;
                                    ++self->stats_.connects;
                                    self->on_open();
                                    self->do_read();
                                    if (self->closing_) self->do_close();
                                  });
      });
}

void ws_client::send(schemas::client_body body) {
  if (!open_ || closing_) return;
  if (outbox_.size() >= max_outbox_) {
    ++stats_.outbox_drops;
    return;
  }
  schemas::client_message m{++seq_, std::move(body)};
  if (binary_) {
    auto buf = schemas::encode_client_binary(m);
    outbox_.emplace_back(reinterpret_cast<const char*>(buf.data()), buf.size());
  } else {
    auto text = schemas::encode_client_json(m);
    if (!text) return stats_.error(text.code());
    outbox_.push_back(std::move(*text));
  }
  if (!writing_) do_write();
}

void ws_client::do_write() {
  writing_ = true;
  ws_.async_write(net::buffer(outbox_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                    self->writing_ = false;
                    self->outbox_.pop_front();
                    if (ec) {
                      self->outbox_.clear();
                      return;  // the read loop sees the failure and finishes
                    }
                    ++self->stats_.frames_sent;
                    if (!self->outbox_.empty())
                      self->do_write();
                    else if (self->closing_)
                      self->do_close();
                  });
}

void ws_client::do_read() {
  ws_.async_read(in_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec) return self->finish();
    ++self->stats_.frames_received;
    const auto* data = static_cast<const std::uint8_t*>(self->in_.data().data());
    const auto size = self->in_.size();
    auto m = self->ws_.got_binary() ? schemas::decode_server_binary(data, size)
                                    : schemas::decode_server_json(std::string_view(
                                          reinterpret_cast<const char*>(data), size));
    self->in_.consume(size);
    if (!m)
      self->stats_.error(m.code());
    else
      self->on_message(*m);
    self->do_read();
  });
}

void ws_client::close() {
  if (closing_) return;
  closing_ = true;
  if (!open_) {
    // Still connecting: cancel the socket; the pending handler finishes.
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().cancel(ec);
    return;
  }
  if (!writing_) do_close();
}

void ws_client::do_close() {
  if (closed_ || !open_) return;
  closed_ = true;
  outbox_.clear();
  // Bounded: the lowest layer's timer aborts a peer that never answers the close.
  beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(3));
  ws_.async_close(websocket::close_code::normal, [self = shared_from_this()](beast::error_code) {});
}

void ws_client::finish() {
  if (finished_) return;
  finished_ = true;
  const bool was_open = open_;
  open_ = false;
  if (was_open) ++stats_.disconnects;
  on_closed(was_open);
}

}  // namespace rideshard::sim
