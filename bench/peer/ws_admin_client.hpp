// The rideshard side of the load generator: one /v1/admin WebSocket connection
// (binary FlatBuffers frames via the schemas codec), pipelined by seq/reply_to.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "peer/fleet_data.hpp"
#include "peer/load_driver.hpp"

namespace rideshard::peer {

/// One admin connection. Replies are matched by reply_to (the request's seq =
/// wire_request::id), so out-of-order answers are fine. Single-threaded.
class ws_admin_connection final : public pipelined_connection {
 public:
  explicit ws_admin_connection(boost::asio::io_context& ioc) : ws_(ioc) {}
  /// Connects, upgrades to /v1/admin, sends hello{token} and waits for welcome
  /// (blocking, before any phase). Returns an error message on failure.
  [[nodiscard]] std::optional<std::string> connect(const boost::asio::ip::tcp::endpoint& ep,
                                                   const std::string& token);
  void close();

 protected:
  void write_requests(std::size_t first, std::size_t last) override;

 private:
  void do_write();
  void do_read();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer in_;
  std::vector<std::size_t> queue_;  ///< indexes into work_ waiting to be written
  std::size_t queue_head_ = 0;
  bool write_busy_ = false;
};

/// Encodes fleet_positions frames of `batch` samples each (seq = id).
std::vector<wire_request> encode_fleet_frames(const std::vector<driver_fix>& drivers,
                                              std::size_t first, std::size_t last,
                                              std::size_t batch, std::uint64_t& next_id,
                                              std::int64_t at_ms);

/// Encodes nearby_batch frames of `batch` queries each (radius, k fixed).
std::vector<wire_request> encode_nearby_frames(const std::vector<lat_lng>& queries,
                                               std::size_t first, std::size_t last,
                                               std::size_t batch, double radius_m, std::uint32_t k,
                                               std::uint64_t& next_id);

}  // namespace rideshard::peer
