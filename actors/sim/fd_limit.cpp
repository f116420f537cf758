// raise_fd_limit: setrlimit(RLIMIT_NOFILE), first past the hard limit, then up to it.
#include "sim/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>

namespace rideshard::sim {

std::uint64_t raise_fd_limit(std::uint64_t want) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
    rlimit raised = lim;
    raised.rlim_cur = want;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) raised.rlim_max = want;
    // Past the hard limit needs privilege (and fs.nr_open); otherwise settle for the hard limit.
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0 && lim.rlim_max != RLIM_INFINITY) {
      raised.rlim_max = lim.rlim_max;
      raised.rlim_cur = std::min<rlim_t>(want, lim.rlim_max);
      setrlimit(RLIMIT_NOFILE, &raised);
    }
  }
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(lim.rlim_cur);
}

}  // namespace rideshard::sim
