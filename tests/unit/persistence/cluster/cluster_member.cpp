// A cluster member as its own process, for kafka.cluster_failover: a
// shard_ownership member that opens a changelog_writer for each shard group it is
// assigned (fencing the previous owner) and drops it on revocation. Commands on
// stdin, one per line; answers on stdout, one per line:
//   write <id>  -> "ok <group>" / "fenced <group>" / "error <group> <message>" for
//                  every owned shard group (trip id = id * 100 + group), then "done"
// Unprompted: "assigned <group>", "revoked <group> <lost 0|1>". EOF on stdin: exit.
// Usage: cluster_member <bootstrap> <shard-groups topic> <group> <changelog topic>
//                       <transactional id prefix> <shard groups> [keep-on-lost]
// keep-on-lost: a lost revocation keeps the writers (a node that did not act on
// it), so only Kafka's fencing can refuse its later writes.
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>

#include "rideshard/persistence/shard_ownership.hpp"
#include "rideshard/persistence/trip_changelog.hpp"
#include "trip_fixture.hpp"

using namespace rideshard;
using namespace rideshard::persistence;

namespace {

std::mutex mu;  // guards writers and stdout
std::map<int, std::unique_ptr<changelog_writer>> writers;

void say(const std::string& line) {
  std::fputs((line + "\n").c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7 && argc != 8) return std::fprintf(stderr, "usage: see cluster_member.cpp\n"), 2;
  const bool keep_on_lost = argc == 8 && std::string(argv[7]) == "keep-on-lost";
  changelog_options log;
  log.bootstrap = argv[1];
  log.topic = argv[4];
  log.transactional_id_prefix = argv[5];
  ownership_options own;
  own.bootstrap = argv[1];
  own.topic = argv[2];
  own.group = argv[3];
  own.member = "cluster-member";
  own.shard_groups = std::stoi(argv[6]);
  ownership_listener listener{[&](const std::vector<int>& groups) {
                                std::lock_guard lock(mu);
                                for (int g : groups) {
                                  auto w = changelog_writer::open(log, g);
                                  if (!w) {
                                    say("error " + std::to_string(g) + " " + w.err().message);
                                    continue;
                                  }
                                  writers[g] = std::move(*w);
                                  say("assigned " + std::to_string(g));
                                }
                              },
                              [&](const std::vector<int>& groups, bool lost) {
                                std::lock_guard lock(mu);
                                for (int g : groups) {
                                  if (!(lost && keep_on_lost)) writers.erase(g);
                                  say("revoked " + std::to_string(g) + (lost ? " 1" : " 0"));
                                }
                              }};
  auto member = shard_ownership::start(own, listener);
  if (!member) return std::fprintf(stderr, "start: %s\n", member.err().message.c_str()), 1;
  std::string cmd;
  std::uint64_t id = 0;
  while (std::cin >> cmd >> id) {
    std::lock_guard lock(mu);
    for (auto& [g, w] : writers) {
      auto r = w->write(test::trip_batch(id * 100 + static_cast<std::uint64_t>(g)));
      const auto group = std::to_string(g);
      if (r)
        say("ok " + group);
      else if (r.code() == errc::fenced)
        say("fenced " + group);
      else
        say("error " + group + " " + r.err().message);
    }
    say("done");
  }
  (*member)->stop();
  return 0;
}
