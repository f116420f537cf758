// ws_admin_client: Beast WebSocket client for /v1/admin and the frame encoders.
#include "peer/ws_admin_client.hpp"

#include <algorithm>
#include <chrono>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "rideshard/schemas/codec.hpp"

namespace rideshard::peer {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

std::optional<std::string> ws_admin_connection::connect(const net::ip::tcp::endpoint& ep,
                                                        const std::string& token) {
  beast::error_code ec;
  auto& tcp = beast::get_lowest_layer(ws_);
  tcp.expires_after(std::chrono::seconds(10));
  tcp.socket().connect(ep, ec);
  if (ec) return "connect: " + ec.message();
  tcp.socket().set_option(net::ip::tcp::no_delay(true), ec);
  ws_.handshake(ep.address().to_string() + ":" + std::to_string(ep.port()), "/v1/admin", ec);
  if (ec) return "handshake /v1/admin: " + ec.message();
  ws_.binary(true);
  ws_.read_message_max(8 * 1024 * 1024);
  schemas::client_message hello{1, schemas::hello{token, "geo_peer/1", false}};
  const auto frame = schemas::encode_client_binary(hello);
  ws_.write(net::buffer(frame), ec);
  if (ec) return "hello: " + ec.message();
  beast::flat_buffer buf;
  ws_.read(buf, ec);
  tcp.expires_never();
  if (ec) return "welcome: " + ec.message();
  auto reply = schemas::decode_server_binary(static_cast<const std::uint8_t*>(buf.data().data()),
                                             buf.size());
  if (!reply) return "welcome: undecodable frame: " + reply.err().message;
  if (const auto* e = std::get_if<schemas::error_reply>(&reply->body))
    return "hello refused: " + std::string(to_string(e->code)) + ": " + e->message;
  if (!std::holds_alternative<schemas::welcome>(reply->body))
    return "expected welcome, got " + std::string(schemas::kind_name(reply->body));
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::seconds(5);
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  do_read();
  return std::nullopt;
}

void ws_admin_connection::close() {
  beast::error_code ec;
  beast::get_lowest_layer(ws_).socket().close(ec);
}

void ws_admin_connection::write_requests(std::size_t first, std::size_t last) {
  for (std::size_t i = first; i < last; ++i) queue_.push_back(i);
  if (!write_busy_) do_write();
}

void ws_admin_connection::do_write() {
  if (queue_head_ == queue_.size()) {
    queue_.clear();
    queue_head_ = 0;
    return;
  }
  write_busy_ = true;
  const auto& bytes = work_[queue_[queue_head_++]].bytes;
  auto self = std::static_pointer_cast<ws_admin_connection>(shared_from_this());
  ws_.async_write(net::buffer(bytes), [self](beast::error_code ec, std::size_t) {
    self->write_busy_ = false;
    if (ec) return self->fail("rideshard write: " + ec.message());
    self->do_write();
  });
}

void ws_admin_connection::do_read() {
  auto self = std::static_pointer_cast<ws_admin_connection>(shared_from_this());
  ws_.async_read(in_, [self](beast::error_code ec, std::size_t) {
    if (ec) {
      if (ec != net::error::operation_aborted) self->fail("rideshard read: " + ec.message());
      return;
    }
    auto msg = schemas::decode_server_binary(
        static_cast<const std::uint8_t*>(self->in_.data().data()), self->in_.size());
    self->in_.consume(self->in_.size());
    if (!msg) return self->fail("rideshard: undecodable frame: " + msg.err().message);
    bool ok = !std::holds_alternative<schemas::error_reply>(msg->body);
    if (const auto* a = std::get_if<schemas::ack>(&msg->body)) {
      const auto* req = self->request_by_id(msg->reply_to);
      if (req != nullptr && a->accepted != req->items) ok = false;  // skipped samples
    }
    if (const auto* nr = std::get_if<schemas::nearby_results>(&msg->body);
        nr != nullptr && self->results != nullptr) {
      if (const auto* req = self->request_by_id(msg->reply_to); req != nullptr) {
        for (std::size_t j = 0; j < nr->results.size() && j < req->items; ++j) {
          auto& ids = (*self->results)[req->first_query + j];
          ids.clear();
          for (auto d : nr->results[j].drivers) ids.push_back(d.value);
          if (nr->results[j].code != errc::ok) ok = false;
        }
      }
    }
    if (msg->reply_to != 0) self->on_reply(msg->reply_to, ok);
    if (!self->failed()) self->do_read();
  });
}

std::vector<wire_request> encode_fleet_frames(const std::vector<driver_fix>& drivers,
                                              std::size_t first, std::size_t last,
                                              std::size_t batch, std::uint64_t& next_id,
                                              std::int64_t at_ms) {
  std::vector<wire_request> out;
  batch = std::max<std::size_t>(1, batch);
  for (std::size_t i = first; i < last; i += batch) {
    schemas::fleet_positions fp;
    const std::size_t end = std::min(last, i + batch);
    fp.samples.reserve(end - i);
    for (std::size_t j = i; j < end; ++j)
      fp.samples.push_back({driver_id{drivers[j].id}, drivers[j].pos, at_ms});
    wire_request r;
    r.id = next_id++;
    r.items = static_cast<std::uint32_t>(end - i);
    const auto frame = schemas::encode_client_binary({r.id, std::move(fp)});
    r.bytes.assign(frame.begin(), frame.end());
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<wire_request> encode_nearby_frames(const std::vector<lat_lng>& queries,
                                               std::size_t first, std::size_t last,
                                               std::size_t batch, double radius_m, std::uint32_t k,
                                               std::uint64_t& next_id) {
  std::vector<wire_request> out;
  batch = std::max<std::size_t>(1, batch);
  for (std::size_t i = first; i < last; i += batch) {
    schemas::nearby_batch nb;
    const std::size_t end = std::min(last, i + batch);
    for (std::size_t j = i; j < end; ++j) nb.queries.push_back({queries[j], radius_m, k});
    wire_request r;
    r.id = next_id++;
    r.items = static_cast<std::uint32_t>(end - i);
    r.first_query = static_cast<std::uint32_t>(i);
    const auto frame = schemas::encode_client_binary({r.id, std::move(nb)});
    r.bytes.assign(frame.begin(), frame.end());
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace rideshard::peer
