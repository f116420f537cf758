// servers: redis-server and `rideshard serve` as child processes of the bench.
#include "peer/servers.hpp"

#include <cstdlib>
#include <random>
#include <regex>
#include <thread>

#include "peer/resp_client.hpp"

namespace rideshard::peer {

namespace {
namespace net = boost::asio;
using std::chrono::milliseconds;
}  // namespace

std::optional<std::string> start_redis(const server_paths& paths, redis_server& out) {
  // A free port can be taken between pick and bind: retry a few times.
  for (int attempt = 0; attempt < 5; ++attempt) {
    const std::uint16_t port = pick_free_port();
    if (port == 0) return std::string("no free loopback port");
    const std::string log = paths.scratch_dir + "/redis.log";
    auto err = child_process::spawn(
        {paths.redis_bin, "--bind", "127.0.0.1", "--port", std::to_string(port), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no", "--logfile", log,
         "--dir", paths.scratch_dir},
        paths.scratch_dir + "/redis.stderr", out.process);
    if (err) return "redis-server: " + *err;
    out.endpoint = net::ip::tcp::endpoint(net::ip::make_address("127.0.0.1"), port);
    // Bounded readiness wait: 200 x 50 ms.
    for (int i = 0; i < 200 && out.process.running(); ++i) {
      auto pong = resp_call(out.endpoint, {"PING"});
      if (pong && pong->text == "PONG") return std::nullopt;
      std::this_thread::sleep_for(milliseconds(50));
    }
    out.process.stop();
  }
  return std::string("redis-server did not start (see its log in the scratch dir)");
}

std::optional<std::string> start_rideshard(const server_paths& paths, int instance,
                                           rideshard_server& out) {
  const std::string data = paths.scratch_dir + "/node-" + std::to_string(instance);
  auto err = child_process::spawn(
      {paths.rideshard_bin, "serve", "--config", paths.node_config, "--listen", "127.0.0.1:0",
       "--data-dir", data, "--log-level", "warn"},
      paths.scratch_dir + "/node-" + std::to_string(instance) + ".log", out.process);
  if (err) return "rideshard serve: " + *err;
  auto line = out.process.wait_for_line("listening on", milliseconds(30000));
  if (!line) {
    out.process.stop();
    return "rideshard serve printed no 'listening on' line within 30 s (log: " + data + ".log)";
  }
  static const std::regex port_re(R"(http://([0-9.]+):([0-9]+))");
  std::smatch m;
  if (!std::regex_search(*line, m, port_re)) {
    out.process.stop();
    return "cannot parse the start-up line: " + *line;
  }
  out.endpoint = net::ip::tcp::endpoint(net::ip::make_address(m[1].str()),
                                        static_cast<std::uint16_t>(std::stoi(m[2].str())));
  return std::nullopt;
}

std::optional<std::string> mint_admin_token(const server_paths& paths, std::string& token) {
  std::random_device rd;
  std::string secret;
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int i = 0; i < 48; ++i) secret += alphabet[rd() % (sizeof alphabet - 1)];
  setenv("RIDESHARD_JWT_SECRET", secret.c_str(), 1);
  // `rideshard serve` (started later with this environment) needs a card-vault key.
  setenv("RIDESHARD_VAULT_KEY", "0c0c0c0c0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c",
         1);
  auto text = run_capture(
      {paths.rideshard_bin, "token", "--role", "admin", "--sub", "a-1", "--ttl", "86400"},
      milliseconds(10000));
  if (!text) return std::string("`rideshard token --role admin --sub a-1` failed");
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (text->empty()) return std::string("`rideshard token` printed nothing");
  token = *text;
  return std::nullopt;
}

std::string redis_version(const server_paths& paths) {
  auto text = run_capture({paths.redis_bin, "--version"}, milliseconds(5000));
  if (!text) return "unknown";
  static const std::regex v_re(R"(v=([0-9.]+))");
  std::smatch m;
  if (std::regex_search(*text, m, v_re)) return m[1].str();
  return "unknown";
}

}  // namespace rideshard::peer
