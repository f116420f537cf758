// CPU time readings for the load program: the node's (from /proc/<pid>/stat),
// this process's (getrusage) and the whole machine's busy time (/proc/stat).
#pragma once

#include <sys/types.h>

#include <chrono>

namespace rideshard::load {

/// One reading; differences of two give CPU % over the interval between them.
struct cpu_sample {
  std::chrono::steady_clock::time_point at;
  double node_s = 0;          ///< the node's user+system seconds
  double self_s = 0;          ///< this process's user+system seconds
  double machine_busy_s = 0;  ///< all CPUs, non-idle seconds
  double load1 = 0;           ///< 1-minute load average
  double node_wait_s = 0;     ///< the node's threads: seconds runnable but waiting for a CPU

  static cpu_sample take(pid_t node);
};

/// CPU % (100 = one core) of the node, this process and the machine between a and b.
struct cpu_usage {
  double node_pct = 0, self_pct = 0, machine_pct = 0;
  double node_wait_pct = 0;  ///< run-queue wait of the node's threads (100 = one thread always)
};
cpu_usage usage_between(const cpu_sample& a, const cpu_sample& b);

}  // namespace rideshard::load
