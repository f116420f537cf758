// Helpers for system tests of shard ownership (a real broker, several
// `rideshard serve` processes with [cluster] shard_groups): the node config,
// what /health says a node serves, a bounded wait for the groups to split.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "cluster_nodes.hpp"
#include "http_call.hpp"

namespace rideshard::system_test {

/// single-node.toml plus [cluster] with shard ownership (mutual TLS certificates
/// from make_certs in dir/certs), written to dir/node-<id>.toml; `extra` is
/// appended to the [cluster] section.
inline std::string write_shard_config(const std::string& dir, int id, unsigned short basp,
                                      const std::vector<unsigned short>& seeds, int shard_groups,
                                      const std::string& extra = {}) {
  std::string config = node_config_text(id);
  const std::string certs = dir + "/certs/";
  const std::string name = "node-" + std::to_string(id);
  std::string seed_list;
  for (auto s : seeds) seed_list += (seed_list.empty() ? "\"" : ", \"") + address(s) + "\"";
  config += "\n[cluster]\nlisten = \"" + address(basp) + "\"\nseeds = [" + seed_list +
            "]\nheartbeat_interval_ms = 200\nconnection_timeout_ms = 1200\nretry_max_ms = 1000\n" +
            "tls_cert = \"" + certs + name + ".pem\"\ntls_key = \"" + certs + name +
            ".key\"\ntls_ca = \"" + certs +
            "ca.pem\"\nshard_groups = " + std::to_string(shard_groups) +
            "\nownership_session_timeout_ms = 6000\n" + extra;
  const std::string path = dir + "/" + name + ".toml";
  std::ofstream(path) << config;
  return path;
}

/// checks.cluster.served_groups of a node's /health (empty if it did not answer).
inline std::set<int> served_groups(unsigned short http_port) {
  namespace http = boost::beast::http;
  auto r = http_call(http_port, http::verb::get, "/health", {}, {}, std::chrono::seconds(5));
  std::set<int> out;
  if (r.status < 0 || r.body.is_discarded()) return out;
  const auto& c = r.body["checks"]["cluster"];
  if (!c.contains("served_groups")) return out;
  for (const auto& g : c["served_groups"]) out.insert(g.get<int>());
  return out;
}

inline std::string show_groups(const std::set<int>& s) {
  std::string out = "{";
  for (int g : s) out += std::to_string(g) + " ";
  return out + "}";
}

/// True when the nodes on `ports` each serve some shard group, no group twice,
/// and together all `shard_groups`.
inline bool groups_split(const std::vector<unsigned short>& ports, int shard_groups) {
  std::set<int> all;
  std::size_t total = 0;
  for (auto p : ports) {
    const auto s = served_groups(p);
    if (s.empty()) return false;
    total += s.size();
    all.insert(s.begin(), s.end());
  }
  return total == all.size() && all.size() == static_cast<std::size_t>(shard_groups);
}

/// "node i: {..}" for each port, for failure messages.
inline std::string show_split(const std::vector<unsigned short>& ports) {
  std::string out;
  for (std::size_t i = 0; i < ports.size(); ++i)
    out += "node " + std::to_string(i + 1) + ": " + show_groups(served_groups(ports[i])) + " ";
  return out;
}

}  // namespace rideshard::system_test
