// [cluster] of the node config: this node's BASP address, its seeds, the
// heartbeat and timeout, and the mutual-TLS files (cluster-config/three-node/).
#pragma once

#include <functional>
#include <string>

#include <toml++/toml.h>

#include "node/cluster_options.hpp"
#include "rideshard/engine/result.hpp"

namespace rideshard::app {

/// Reads [cluster] of `doc`; no section: a disabled (single-node) cluster_options.
/// `path` resolves a path relative to the config file. Errors: bad_config
/// (malformed address, seed or duration). Missing TLS files are not an error
/// here: dispatch_node refuses them with cluster_tls_required.
[[nodiscard]] result<node::cluster_options> read_cluster_config(
    const toml::table& doc, const std::function<std::string(const std::string&)>& path);

}  // namespace rideshard::app
