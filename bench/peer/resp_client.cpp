// resp_client: RESP2 encoding/parsing and the pipelined Redis connection.
#include "peer/resp_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <charconv>
#include <chrono>
#include <cstring>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

namespace rideshard::peer {

namespace net = boost::asio;

void append_resp_command(std::string& out, const std::vector<std::string_view>& args) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (auto a : args) {
    out += '$';
    out += std::to_string(a.size());
    out += "\r\n";
    out.append(a.data(), a.size());
    out += "\r\n";
  }
}

namespace {

// The line at p (without \r\n) and the bytes it takes, or nullopt if incomplete.
std::optional<std::pair<std::string_view, std::size_t>> line_at(const char* p, std::size_t n) {
  const void* cr = std::memchr(p, '\r', n);
  if (cr == nullptr) return std::nullopt;
  const auto len = static_cast<std::size_t>(static_cast<const char*>(cr) - p);
  if (len + 1 >= n) return std::nullopt;
  return std::make_pair(std::string_view(p, len), len + 2);
}

bool to_int(std::string_view s, std::int64_t& v) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Parses one value; `keep` collects bulk strings of a top-level array.
// Returns consumed bytes, 0 if incomplete, -1 if malformed.
long parse_value(const char* p, std::size_t n, resp_reply& out, bool top) {
  if (n < 3) return 0;
  auto line = line_at(p + 1, n - 1);
  if (!line) return 0;
  const std::size_t head = 1 + line->second;
  std::int64_t v = 0;
  switch (p[0]) {
    case '+':
    case '-':
      if (top) out.text = std::string(line->first);
      return static_cast<long>(head);
    case ':':
      if (!to_int(line->first, v)) return -1;
      if (top) out.integer = v;
      return static_cast<long>(head);
    case '$': {
      if (!to_int(line->first, v)) return -1;
      if (v < 0) return static_cast<long>(head);  // null bulk string
      const auto need = head + static_cast<std::size_t>(v) + 2;
      if (n < need) return 0;
      if (top)
        out.text.assign(p + head, static_cast<std::size_t>(v));
      else
        out.elements.emplace_back(p + head, static_cast<std::size_t>(v));
      return static_cast<long>(need);
    }
    case '*': {
      if (!to_int(line->first, v)) return -1;
      std::size_t used = head;
      for (std::int64_t i = 0; i < v; ++i) {
        const long m = parse_value(p + used, n - used, out, false);
        if (m <= 0) return m;
        used += static_cast<std::size_t>(m);
      }
      return static_cast<long>(used);
    }
    default:
      return -1;
  }
}

}  // namespace

std::optional<std::size_t> parse_resp(const char* data, std::size_t size, resp_reply& out) {
  out.type = size > 0 ? data[0] : 0;
  out.text.clear();
  out.elements.clear();
  out.integer = 0;
  const long n = parse_value(data, size, out, true);
  if (n < 0) return std::nullopt;
  return static_cast<std::size_t>(n);
}

bool resp_connection::connect(const net::ip::tcp::endpoint& ep) {
  boost::system::error_code ec;
  socket_.connect(ep, ec);
  if (ec) return false;
  socket_.set_option(net::ip::tcp::no_delay(true), ec);
  do_read();
  return true;
}

void resp_connection::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

void resp_connection::write_requests(std::size_t first, std::size_t last) {
  for (std::size_t i = first; i < last; ++i) queued_ += work_[i].bytes;
  if (!write_busy_) do_write();
}

void resp_connection::do_write() {
  if (queued_.empty()) return;
  writing_.swap(queued_);
  queued_.clear();
  write_busy_ = true;
  auto self = std::static_pointer_cast<resp_connection>(shared_from_this());
  net::async_write(socket_, net::buffer(writing_),
                   [self](boost::system::error_code ec, std::size_t) {
                     self->write_busy_ = false;
                     if (ec) return self->fail("redis write: " + ec.message());
                     self->do_write();
                   });
}

void resp_connection::do_read() {
  if (in_used_ == in_.size()) in_.resize(in_.size() * 2);
  auto self = std::static_pointer_cast<resp_connection>(shared_from_this());
  socket_.async_read_some(net::buffer(in_.data() + in_used_, in_.size() - in_used_),
                          [self](boost::system::error_code ec, std::size_t n) {
                            if (ec) {
                              if (ec != net::error::operation_aborted)
                                self->fail("redis read: " + ec.message());
                              return;
                            }
                            self->in_used_ += n;
                            self->consume();
                            if (!self->failed()) self->do_read();
                          });
}

void resp_connection::consume() {
  std::size_t pos = 0;
  resp_reply reply;
  while (pos < in_used_) {
    auto used = parse_resp(in_.data() + pos, in_used_ - pos, reply);
    if (!used) return fail("redis: malformed reply");
    if (*used == 0) break;
    pos += *used;
    const std::uint64_t id = oldest_in_flight();
    const wire_request* req = request_by_id(id);
    if (results != nullptr && reply.type == '*' && req != nullptr &&
        req->first_query + replies_seen_ < results->size()) {
      auto& ids = (*results)[req->first_query + replies_seen_];
      ids.clear();
      for (const auto& e : reply.elements) ids.push_back(std::strtoull(e.c_str(), nullptr, 10));
    }
    replies_ok_ = replies_ok_ && reply.type != '-';
    if (req != nullptr && ++replies_seen_ < req->replies) continue;
    const bool ok = replies_ok_;
    replies_seen_ = 0;
    replies_ok_ = true;
    on_reply(id, ok);
  }
  if (pos > 0) {
    std::memmove(in_.data(), in_.data() + pos, in_used_ - pos);
    in_used_ -= pos;
  }
}

std::optional<resp_reply> resp_call(const net::ip::tcp::endpoint& ep,
                                    const std::vector<std::string_view>& args) {
  net::io_context ioc;
  net::ip::tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(ep, ec);
  if (ec) return std::nullopt;
  timeval tv{30, 0};  // a hung server must not hang the benchmark
  setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string cmd;
  append_resp_command(cmd, args);
  net::write(s, net::buffer(cmd), ec);
  if (ec) return std::nullopt;
  std::string buf;
  resp_reply reply;
  // Bounded: at most 4096 reads (replies here are small).
  for (int i = 0; i < 4096; ++i) {
    char chunk[4096];
    const std::size_t n = s.read_some(net::buffer(chunk), ec);
    if (ec) return std::nullopt;
    buf.append(chunk, n);
    auto used = parse_resp(buf.data(), buf.size(), reply);
    if (!used) return std::nullopt;
    if (*used > 0) return reply;
  }
  return std::nullopt;
}

}  // namespace rideshard::peer
