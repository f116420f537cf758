// Helpers shared by the persistence benchmarks: medians and percentiles, a temp
// directory, a Kafka broker, and the JSON result file under <build>/bench/results/.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace rideshard::bench {

/// Median of `v` (by value: sorts a copy). 0 for an empty vector.
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// The q-quantile (0..1, nearest rank) of `sorted`, which must be sorted.
inline double quantile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)];
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// A directory under $TMPDIR (or /tmp), removed at scope exit.
class scratch_dir {
 public:
  explicit scratch_dir(const char* what) {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base && *base ? base : "/tmp") + "/rideshard-" + what + "-XXXXXX";
    if (::mkdtemp(tmpl.data())) path_ = tmpl;
  }
  ~scratch_dir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  bool ok() const { return !path_.empty(); }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// A broker from tests/system/kafka/kafka.sh for the life of the object.
class kafka_broker {
 public:
  explicit kafka_broker(std::string workdir) : dir_(std::move(workdir)) {
    const std::string cmd = script() + " start " + dir_;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return;
    char line[256];
    while (std::fgets(line, sizeof line, p)) {
      std::string l(line);
      if (l.rfind("bootstrap=", 0) == 0) bootstrap_ = l.substr(10, l.find_last_not_of("\r\n") - 9);
    }
    const int status = ::pclose(p);
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  }
  ~kafka_broker() { (void)std::system((script() + " stop " + dir_ + " >/dev/null").c_str()); }
  kafka_broker(const kafka_broker&) = delete;
  kafka_broker& operator=(const kafka_broker&) = delete;
  /// kafka.sh's: 0 up, 77 no jars (offline), else failed.
  int exit_code() const { return exit_code_; }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  static std::string script() { return RIDESHARD_SOURCE_DIR "/tests/system/kafka/kafka.sh"; }
  std::string dir_, bootstrap_;
  int exit_code_ = 1;
};

/// For main(): true when `k` (started in dir.sub("kafka")) is up; otherwise says
/// why and sets main's exit status: 0 skipped (the Kafka jars cannot be fetched,
/// offline), 1 failed.
inline bool kafka_up(const kafka_broker& k, const scratch_dir& dir, int& status) {
  if (k.exit_code() == 77) {
    std::printf("skipped: the Kafka jars cannot be fetched (offline?); see kafka.sh fetch\n");
    status = 0;
    return false;
  }
  if (k.exit_code() != 0 || k.bootstrap().empty()) {
    std::fprintf(stderr, "broker did not start; log in %s\n", dir.sub("kafka").c_str());
    status = 1;
    return false;
  }
  return true;
}

/// Writes `json` to <results dir>/<name>.json (RIDESHARD_BENCH_RESULTS, else the
/// build's bench/results) and says where.
inline void write_result(const std::string& name, const std::string& json) {
  const char* env = std::getenv("RIDESHARD_BENCH_RESULTS");
  const std::string dir = env && *env ? env : RIDESHARD_BENCH_RESULTS_DIR;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::string path = dir + "/" + name + ".json";
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fputs(json.c_str(), f);
    std::fputc('\n', f);
    std::fclose(f);
    std::printf("results: %s\n", path.c_str());
  } else {
    std::fprintf(stderr, "cannot write %s\n", path.c_str());
  }
}

/// "[1.5, 2, 3]" for JSON.
inline std::string json_array(const std::vector<double>& v) {
  std::string out = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.6g", i ? ", " : "", v[i]);
    out += buf;
  }
  return out + "]";
}

/// Value of "--name=value" in argv, or `fallback`.
inline long arg_long(int argc, char** argv, const std::string& name, long fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]).rfind(prefix, 0) == 0) return std::atol(argv[i] + prefix.size());
  return fallback;
}

/// The disk's floor in the same run: append 4 KiB + fdatasync, `n` times, one
/// caller (what one WAL sync costs at best); returns sorted latencies in ms.
inline std::vector<double> fdatasync_floor(const std::string& path, int n) {
  std::vector<double> out;
  const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd < 0) return out;
  const std::string block(4096, 'x');
  for (int i = 0; i < n; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    if (::write(fd, block.data(), block.size()) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(fd) != 0)
      break;
    out.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  ::close(fd);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rideshard::bench
