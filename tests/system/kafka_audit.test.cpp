// System test against a real broker (ctest kafka.audit, under
// tests/system/kafka/with_kafka.sh): the audit entries of admin actions made on
// the built node are read back from Kafka — rideshard.admin-audit.v1, keyed by
// the actor — by an independent consumer, and match what GET /api/admin/audit
// answers field for field. Without a broker in the environment the test fails.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "http_call.hpp"
#include "kafka_consumer.hpp"
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
