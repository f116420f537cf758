// The node logger: one stderr sink, UTC timestamps, level from set_log_level()
// or $RIDESHARD_LOG_LEVEL.
#include "node/log.hpp"

#include <cstdlib>
#include <memory>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>

#include "node/log_sink.hpp"

namespace rideshard::node {
namespace {

bool parse_level(std::string_view name, spdlog::level::level_enum& out) {
  auto l = spdlog::level::from_str(std::string(name));
  // from_str maps unknown names to off; accept "off" only when asked for.
  if (l == spdlog::level::off && name != "off") return false;
  out = l;
  return true;
}

std::shared_ptr<spdlog::logger> make_logger() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto l = std::make_shared<spdlog::logger>("node", std::move(sink));
  l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  auto level = spdlog::level::warn;
  if (const char* env = std::getenv("RIDESHARD_LOG_LEVEL"); env != nullptr && *env != '\0')
    parse_level(env, level);
  l->set_level(level);
  l->flush_on(spdlog::level::warn);
  return l;
}

}  // namespace

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = make_logger();
  return *instance;
}

bool set_log_level(std::string_view level) {
  spdlog::level::level_enum l{};
  if (!parse_level(level, l)) return false;
  logger().set_level(l);
  return true;
}

}  // namespace rideshard::node
