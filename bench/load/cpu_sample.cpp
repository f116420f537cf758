// cpu_sample: /proc/<pid>/stat, getrusage(RUSAGE_SELF), /proc/stat, /proc/loadavg.
#include "cpu_sample.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace rideshard::load {

namespace {

double ticks_to_s(double ticks) { return ticks / static_cast<double>(sysconf(_SC_CLK_TCK)); }

double process_cpu_s(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = all.rfind(')');
  if (close == std::string::npos) return 0;
  // After "(comm)": state is field 3; utime and stime are fields 14 and 15.
  std::istringstream rest(all.substr(close + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
  }
  return ticks_to_s(utime + stime);
}

double read_machine_busy_s() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double v[8] = {};
  in >> cpu;
  for (double& x : v) in >> x;
  const double total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  return ticks_to_s(total - v[3] - v[4]);  // minus idle and iowait
}

/// Sum over the node's threads of /proc/<pid>/task/<tid>/schedstat's second field
/// (ns spent on a run queue waiting for a CPU); needs schedstats, else 0.
double run_queue_wait_s(pid_t pid) {
  std::error_code ec;
  double ns = 0;
  for (const auto& t :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "schedstat");
    double run = 0, wait = 0;
    if (in >> run >> wait) ns += wait;
  }
  return ns / 1e9;
}

}  // namespace

cpu_sample cpu_sample::take(pid_t node) {
  cpu_sample s;
  s.at = std::chrono::steady_clock::now();
  s.node_s = process_cpu_s(node);
  s.node_wait_s = run_queue_wait_s(node);
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  s.self_s = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
             static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  s.machine_busy_s = read_machine_busy_s();
  std::ifstream("/proc/loadavg") >> s.load1;
  return s;
}

cpu_usage usage_between(const cpu_sample& a, const cpu_sample& b) {
  const double dt = std::chrono::duration<double>(b.at - a.at).count();
  if (dt <= 0) return {};
  return {100 * (b.node_s - a.node_s) / dt, 100 * (b.self_s - a.self_s) / dt,
          100 * (b.machine_busy_s - a.machine_busy_s) / dt,
          100 * (b.node_wait_s - a.node_wait_s) / dt};
}

}  // namespace rideshard::load
