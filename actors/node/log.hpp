// Structured (logfmt) logs of the node: trip transitions and refused messages.
// This header is spdlog-free so callers (serve.cpp) need no spdlog defines.
#pragma once

#include <string_view>

namespace rideshard::node {

/// Sets the node log level: trace, debug, info, warn, error, critical or off.
/// Returns false (level unchanged) for an unknown name. Thread-safe. Before any
/// call the level is $RIDESHARD_LOG_LEVEL, else warn (quiet in tests).
bool set_log_level(std::string_view level);

}  // namespace rideshard::node
