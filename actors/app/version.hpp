// The release version `rideshard version`, /health and cluster heartbeats report.
#pragma once

namespace rideshard::app {

inline constexpr const char* rideshard_version = "0.1.0";

}  // namespace rideshard::app
