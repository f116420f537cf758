// read_cluster_config: [cluster] -> node::cluster_options.
#include "app/cluster_config.hpp"

#include <cstdlib>
#include <string>

#include "rideshard/engine/shard_group.hpp"

namespace rideshard::app {
namespace {

// "host:port" with a non-empty host and a port in 0..65535 (0 only where allowed).
bool valid_address(const std::string& a, bool port_zero_ok, std::string& host,
                   std::uint16_t& port) {
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == a.size()) return false;
  char* end = nullptr;
  const long p = std::strtol(a.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < (port_zero_ok ? 0 : 1) || p > 65535) return false;
  host = a.substr(0, colon);
  port = static_cast<std::uint16_t>(p);
  return true;
}

}  // namespace

result<node::cluster_options> read_cluster_config(
    const toml::table& doc, const std::function<std::string(const std::string&)>& path) {
  node::cluster_options o;
  const auto* c = doc["cluster"].as_table();
  if (c == nullptr) return o;
  o.enabled = true;
  const auto bad = [](const std::string& what) {
    return error{errc::bad_config, "[cluster] " + what};
  };
  const std::string listen = (*c)["listen"].value_or(std::string());
  if (!valid_address(listen, true, o.host, o.port))
    return bad("listen must be host:port (this node's BASP address), got '" + listen + "'");
  if (const auto* seeds = (*c)["seeds"].as_array()) {
    for (const auto& v : *seeds) {
      auto s = v.value<std::string>();
      std::string host;
      std::uint16_t port = 0;
      if (!s || !valid_address(*s, false, host, port))
        return bad("seeds must be \"host:port\" strings");
      o.seeds.push_back(*s);
    }
  } else if (c->contains("seeds")) {
    return bad("seeds must be an array of \"host:port\" strings");
  }
  const auto ms = [&](const char* key, std::chrono::milliseconds def) {
    return std::chrono::milliseconds((*c)[key].value_or(std::int64_t{def.count()}));
  };
  o.heartbeat_interval = ms("heartbeat_interval_ms", o.heartbeat_interval);
  o.connection_timeout = ms("connection_timeout_ms", o.connection_timeout);
  o.retry_max = ms("retry_max_ms", o.retry_max);
  if (o.heartbeat_interval.count() < 10) return bad("heartbeat_interval_ms must be >= 10");
  if (o.connection_timeout < 2 * o.heartbeat_interval)
    return bad("connection_timeout_ms must be at least twice heartbeat_interval_ms");
  if (o.retry_max < o.retry_min) return bad("retry_max_ms must be >= 200");
  // Shard ownership (used only with [kafka] bootstrap; serve.cpp decides).
  o.shard_groups = (*c)["shard_groups"].value_or(12);
  if (o.shard_groups < 0 || o.shard_groups > max_shard_groups)
    return bad("shard_groups must be 0.." + std::to_string(max_shard_groups));
  o.ownership_session_timeout = ms("ownership_session_timeout_ms", o.ownership_session_timeout);
  o.restore_timeout = ms("restore_timeout_ms", o.restore_timeout);
  o.handoff_wait = ms("handoff_wait_ms", o.handoff_wait);
  if (o.handoff_wait.count() < 0 || o.handoff_wait.count() > 60000)
    return bad("handoff_wait_ms must be 0..60000");
  if (o.ownership_session_timeout.count() < 1000)
    return bad("ownership_session_timeout_ms must be >= 1000");
  if (o.restore_timeout.count() < 1000) return bad("restore_timeout_ms must be >= 1000");
  o.tls_cert = path((*c)["tls_cert"].value_or(std::string()));
  o.tls_key = path((*c)["tls_key"].value_or(std::string()));
  o.tls_ca = path((*c)["tls_ca"].value_or(std::string()));
  return o;
}

}  // namespace rideshard::app
