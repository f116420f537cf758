// A blocking WebSocket app client for the system tests: binary FlatBuffers or
// JSON text frames, every read bounded (10 s), typed expectations.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "rideshard/schemas/codec.hpp"

namespace rideshard::system_test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using namespace rideshard::schemas;

/// One app connection; `binary` picks FlatBuffers frames, else JSON text.
struct app_client {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  bool binary;
  std::uint64_t seq = 0;

  app_client(unsigned short port, const std::string& path, bool bin) : binary(bin) {
    tcp::resolver resolver(ioc);
    net::connect(ws.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    ws.handshake("127.0.0.1", path);
    ws.binary(binary);
  }

  std::uint64_t send(client_body body) {
    client_message m{++seq, std::move(body)};
    if (binary) {
      auto buf = encode_client_binary(m);
      ws.write(net::buffer(buf));
    } else {
      auto text = encode_client_json(m);
      REQUIRE(text.ok());
      ws.write(net::buffer(*text));
    }
    return m.seq;
  }

  /// Reads one frame; a frame that takes longer than 10 s fails the test.
  beast::error_code read_frame(beast::flat_buffer& buf) {
    beast::error_code ec;
    bool done = false;
    ws.async_read(buf, [&](beast::error_code e, std::size_t) {
      ec = e;
      done = true;
    });
    ioc.restart();
    ioc.run_for(std::chrono::seconds(10));
    if (!done) {
      ws.next_layer().cancel();
      ioc.restart();
      ioc.run();
      FAIL("no frame within 10 s");
    }
    return ec;
  }

  server_message read() {
    beast::flat_buffer buf;
    const auto ec = read_frame(buf);
    REQUIRE_MESSAGE(!ec, ec.message());
    const auto* data = static_cast<const std::uint8_t*>(buf.data().data());
    auto m =
        ws.got_binary()
            ? decode_server_binary(data, buf.size())
            : decode_server_json(std::string_view(reinterpret_cast<const char*>(data), buf.size()));
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.err().message));
    CHECK(ws.got_binary() == binary);  // answers come in the client's own format
    return *m;
  }

  /// Reads until a T arrives (bounded); fails on an error_reply.
  template <class T>
  T expect(const std::function<bool(const T&)>& want = nullptr) {
    for (int i = 0; i < 200; ++i) {
      server_message m = read();
      if (auto* e = std::get_if<error_reply>(&m.body))
        FAIL("unexpected error_reply ", to_string(e->code), ": ", e->message);
      if (auto* t = std::get_if<T>(&m.body))
        if (!want || want(*t)) return *t;
    }
    FAIL("no expected message within 200 frames");
    return T{};
  }
};

}  // namespace rideshard::system_test
