// Validation of the node's CAF scheduler settings (scheduler_options.hpp).
#include "node/scheduler_options.hpp"

namespace rideshard::node {

result<void> validate(const scheduler_options& s) {
  if (s.aggressive_steal_interval == 0 || s.moderate_steal_interval == 0 ||
      s.relaxed_steal_interval == 0)
    return error{errc::bad_config, "[scheduler] steal intervals must be >= 1"};
  if (s.moderate_sleep.count() < 0)
    return error{errc::bad_config, "[scheduler] moderate_sleep_us must be >= 0"};
  if (s.relaxed_sleep.count() <= 0)
    return error{errc::bad_config, "[scheduler] relaxed_sleep_us must be > 0"};
  return {};
}

namespace {
scheduler_options& current() {
  static scheduler_options s;
  return s;
}
}  // namespace

result<void> set_process_scheduler(const scheduler_options& s) {
  if (auto ok = validate(s); !ok) return ok;
  current() = s;
  return {};
}

scheduler_options process_scheduler() { return current(); }

}  // namespace rideshard::node
