// A minimal Redis (RESP2) client for the benchmark: command encoding, an
// incremental reply parser, and a pipelined Asio connection.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "peer/load_driver.hpp"

namespace rideshard::peer {

/// Appends one RESP command (an array of bulk strings) to `out`.
void append_resp_command(std::string& out, const std::vector<std::string_view>& args);

/// One parsed reply. Arrays of bulk strings (GEOSEARCH) keep their elements.
struct resp_reply {
  char type = 0;  ///< '+', '-', ':', '$', '*'
  std::string text;
  std::int64_t integer = 0;
  std::vector<std::string> elements;
};

/// Parses one reply from [data, data+size). Returns bytes consumed, 0 when the
/// reply is incomplete, or nothing when the bytes are not RESP.
std::optional<std::size_t> parse_resp(const char* data, std::size_t size, resp_reply& out);

/// A pipelined Redis connection. Replies are matched to requests in order; a
/// request of several pipelined commands is answered by its last reply.
/// Single-threaded on its io_context.
class resp_connection final : public pipelined_connection {
 public:
  explicit resp_connection(boost::asio::io_context& ioc) : socket_(ioc) {}
  /// Connects (blocking, before any phase) and starts the read loop.
  [[nodiscard]] bool connect(const boost::asio::ip::tcp::endpoint& ep);
  void close();

 protected:
  void write_requests(std::size_t first, std::size_t last) override;

 private:
  void do_write();
  void do_read();
  void consume();

  boost::asio::ip::tcp::socket socket_;
  std::string writing_, queued_;
  bool write_busy_ = false;
  std::vector<char> in_ = std::vector<char>(1 << 16);
  std::size_t in_used_ = 0;
  std::uint32_t replies_seen_ = 0;  ///< of the oldest request in flight
  bool replies_ok_ = true;          ///< no error reply among them so far
};

/// Runs one command synchronously on a fresh connection (set-up and checks:
/// PING, FLUSHALL, MEMORY USAGE...). Nothing on any error.
std::optional<resp_reply> resp_call(const boost::asio::ip::tcp::endpoint& ep,
                                    const std::vector<std::string_view>& args);

}  // namespace rideshard::peer
