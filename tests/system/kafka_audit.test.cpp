// System test against a real broker (ctest kafka.audit, under
// tests/system/kafka/with_kafka.sh): the audit entries of admin actions made on
// the built node are read back from Kafka — rideshard.admin-audit.v1, keyed by
// the actor — by an independent consumer, and match what GET /api/admin/audit
// answers field for field. And the console's audit is the cluster's: a second
// node sharing the broker lists an action made on the first (read back from the
// topic), with the node it was made on. Without a broker the test fails.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "http_call.hpp"
#include "kafka_consumer.hpp"
#include "node_config.hpp"
#include "node_process.hpp"
#include "test_tokens.hpp"

using namespace rideshard;
using namespace rideshard::system_test;
namespace http = boost::beast::http;

namespace {

constexpr const char* test_secret = "kafka-audit-system-test-secret-0123456789abcdef";

}  // namespace

TEST_CASE("admin actions are read back from rideshard.admin-audit.v1 as the API lists them") {
  const char* bootstrap = std::getenv("RIDESHARD_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(bootstrap != nullptr,
                  "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set (run under "
                  "tests/system/kafka/with_kafka.sh)");
  node_process node(test_secret, node_process::fresh_data_dir(), {},
                    {"--kafka-bootstrap", bootstrap});
  const std::string admin = mint_token(test_secret, "ops-kafka", auth::role::admin);
  for (const char* what : {"pause-dispatch", "resume-dispatch", "freeze-surge", "unfreeze-surge"})
    REQUIRE(
        http_call(node.port, http::verb::post, std::string("/api/admin/regions/nyc/") + what, admin)
            .status == 200);
  auto listed = http_call(node.port, http::verb::get, "/api/admin/audit?limit=500", admin);
  REQUIRE(listed.status == 200);
  REQUIRE(listed.body["entries"].size() == 4);

  // The relay publishes the outbox: wait (bounded) until it is empty with the broker up.
  nlohmann::json health;
  for (int i = 0; i < 600; ++i) {
    health = http_call(node.port, http::verb::get, "/health").body;
    if (health["checks"]["outbox"]["depth"] == 0 && health["status"] == "healthy") break;
    usleep(100'000);  // polling the node's gauge: nothing to block on from outside
  }
  INFO(health.dump());
  REQUIRE(health["checks"]["outbox"]["depth"] == 0);

  std::map<std::string, nlohmann::json> by_event;
  for (const auto& e : consume_all(bootstrap, "rideshard.admin-audit.v1")) {
    CHECK(e.key == "ops-kafka");  // keyed by the actor
    by_event[e.event_id] = nlohmann::json::parse(e.payload);
  }
  CHECK(by_event.size() == 4);  // no more, no fewer (duplicates share an event_id)
  for (const auto& entry : listed.body["entries"]) {
    const std::string id = "audit-" + entry["id"].get<std::string>();
    REQUIRE_MESSAGE(by_event.count(id) == 1, id, " not on the topic");
    const auto& ev = by_event[id];
    CHECK(ev["actor"] == entry["actor"]);
    CHECK(ev["action"] == entry["action"]);
    CHECK(ev["target"] == "nyc");
    CHECK(ev["from"] == entry["from"]);
    CHECK(ev["status"] == 200);
    CHECK(ev["occurred_at_ms"] == entry["at_ms"]);
  }
  CHECK(node.terminate() == 0);
}

TEST_CASE("a node's audit answer is the cluster's: another node's action, from the topic") {
  const char* bootstrap = std::getenv("RIDESHARD_KAFKA_BOOTSTRAP");
  REQUIRE_MESSAGE(bootstrap != nullptr, "no broker: RIDESHARD_KAFKA_BOOTSTRAP is not set");
  const std::string dir1 = node_process::fresh_data_dir();
  const std::string dir2 = node_process::fresh_data_dir();
  node_process one(test_secret, dir1, {}, {"--kafka-bootstrap", bootstrap});
  node_process two(test_secret, dir2, {}, {"--kafka-bootstrap", bootstrap},
                   write_node_config(dir2 + ".toml", {{"\nid = 1\n", "\nid = 2\n"}}));
  const std::string admin = mint_token(test_secret, "ops-on-two", auth::role::admin);
  for (const char* what : {"freeze-surge", "unfreeze-surge"})
    REQUIRE(
        http_call(two.port, http::verb::post, std::string("/api/admin/regions/nyc/") + what, admin)
            .status == 200);
  // Node two lists them at once (its own store), node one once they have gone
  // through Kafka: poll node one's answer (bounded), nothing to block on from outside.
  auto made_on_two = [&](unsigned short port) {
    auto r = http_call(port, http::verb::get, "/api/admin/audit?limit=50", admin);
    REQUIRE(r.status == 200);
    CHECK(r.body["scope"] == "cluster");
    std::vector<nlohmann::json> out;
    for (const auto& e : r.body["entries"])
      if (e["actor"] == "ops-on-two") out.push_back(e);
    return std::make_pair(r.body, out);
  };
  CHECK(made_on_two(two.port).second.size() == 2);
  std::pair<nlohmann::json, std::vector<nlohmann::json>> seen;
  for (int i = 0; i < 600; ++i) {
    seen = made_on_two(one.port);
    if (seen.second.size() == 2) break;
    usleep(100'000);
  }
  INFO(seen.first.dump());
  REQUIRE(seen.second.size() == 2);
  CHECK(seen.second[0]["action"] == "POST /api/admin/regions/{id}/unfreeze-surge");
  CHECK(seen.second[1]["action"] == "POST /api/admin/regions/{id}/freeze-surge");
  for (const auto& e : seen.second) {
    CHECK(e["node"] == 2);
    CHECK(e["target"] == "nyc");
  }
  const std::string source = seen.first["source"];
  CHECK(source.find("rideshard.admin-audit.v1") != std::string::npos);
  CHECK(source.find("every node") != std::string::npos);
  CHECK(one.terminate() == 0);
  CHECK(two.terminate() == 0);
  std::remove((dir2 + ".toml").c_str());
}
