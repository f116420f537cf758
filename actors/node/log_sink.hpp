// The node's spdlog logger (internal to node/*.cpp): logfmt lines on stderr,
// "<utc time> level=<l> <key=value>...". Never log per location update.
#pragma once

#include <spdlog/spdlog.h>

namespace rideshard::node {

/// The process-wide node logger; thread-safe, created on first use.
spdlog::logger& logger();

}  // namespace rideshard::node
