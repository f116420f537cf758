// Raising the open-file limit: 10,000 WebSocket connections need more than the
// usual 1,024 descriptors, on the simulator's side and on the node's.
#pragma once

#include <cstdint>

namespace rideshard::sim {

/// Raises RLIMIT_NOFILE's soft limit to at least `want` descriptors: up to the
/// hard limit, and past it when the process may (root/CAP_SYS_RESOURCE). Never
/// lowers a limit. Returns the soft limit in force afterwards. Children started
/// later inherit it. Thread-safe (one system call), but call it at start-up.
std::uint64_t raise_fd_limit(std::uint64_t want);

}  // namespace rideshard::sim
