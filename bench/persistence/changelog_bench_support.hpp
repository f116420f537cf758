// Shared by the changelog benches: the changelog topic and shard group 0's writer.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "rideshard/persistence/outbox_relay.hpp"
#include "rideshard/persistence/trip_changelog.hpp"

namespace rideshard::bench {

/// Creates "bench.trip-changelog" (one partition, configured as cluster_topics()
/// makes it) and `extra`, fills `o` and opens shard group 0's writer; nullptr
/// after saying why.
inline std::unique_ptr<persistence::changelog_writer> open_bench_changelog(
    persistence::changelog_options& o, const std::string& bootstrap,
    std::vector<persistence::topic_spec> extra = {}) {
  o.bootstrap = bootstrap;
  o.topic = "bench.trip-changelog";
  auto spec = persistence::cluster_topics(1).at(1);
  spec.name = o.topic;
  extra.push_back(spec);
  if (auto c = persistence::create_topics(bootstrap, extra, std::chrono::seconds(30)); !c) {
    std::fprintf(stderr, "create topics: %s\n", c.err().message.c_str());
    return nullptr;
  }
  auto w = persistence::changelog_writer::open(o, 0);
  if (!w) {
    std::fprintf(stderr, "open writer: %s\n", w.err().message.c_str());
    return nullptr;
  }
  return std::move(*w);
}

}  // namespace rideshard::bench
