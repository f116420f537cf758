// Shard groups: every node maps the same trip id or shard cell to the same
// group, spread evenly; a new trip's id can be drawn inside a given group.
#include <doctest/doctest.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "rideshard/engine/ids.hpp"
#include "rideshard/engine/shard_group.hpp"

using namespace rideshard;

TEST_CASE("an id's shard group is stable, in range and spread evenly") {
  // Fixed values: a node of another build must agree (the hash is part of the
  // cluster's contract, like the partition count of rideshard.shard-groups.v1).
  CHECK(shard_group_of(std::uint64_t{1}, 12) == 1);
  CHECK(shard_group_of(std::uint64_t{42}, 12) == 2);
  CHECK(shard_group_of(std::uint64_t{1'800'000'000'000}, 12) == 8);
  CHECK(shard_group_of(std::size_t{0}, std::uint64_t{99}, 16) == 8);
  CHECK(shard_group_of(std::size_t{1}, std::uint64_t{99}, 16) == 12);
  CHECK(shard_group_of(std::uint64_t{42}, 0) == 0);
  CHECK(shard_group_of(std::uint64_t{42}, -3) == 0);
  CHECK(shard_group_of(std::uint64_t{42}, 1) == 0);
  const int groups = 12;
  std::vector<int> count(groups, 0);
  // Snowflake-like consecutive ids (one node, one millisecond) must not all land together.
  std::int64_t now = 1'800'000'000'000;
  id_generator ids(7, [&] { return now; });
  for (int i = 0; i < 12000; ++i) {
    const int g = shard_group_of(ids.next(), groups);
    REQUIRE(g >= 0);
    REQUIRE(g < groups);
    ++count[g];
    if (i % 500 == 0) ++now;
  }
  for (int c : count) {
    CHECK(c > 800);  // 1000 expected each
    CHECK(c < 1200);
  }
}

TEST_CASE("a shard cell's group depends on region and cell, and is in range") {
  const int groups = 16;
  std::vector<int> count(groups, 0);
  for (std::uint64_t cell = 0; cell < 1600; ++cell) {
    const int g = shard_group_of(std::size_t{0}, cell * 4096 + 17, groups);
    REQUIRE(g >= 0);
    REQUIRE(g < groups);
    CHECK(g == shard_group_of(std::size_t{0}, cell * 4096 + 17, groups));
    ++count[g];
  }
  for (int c : count) CHECK(c > 50);  // 100 expected each
  int differ = 0;
  for (std::uint64_t cell = 0; cell < 100; ++cell)
    differ += shard_group_of(std::size_t{0}, cell, groups) !=
              shard_group_of(std::size_t{1}, cell, groups);
  CHECK(differ > 50);  // another region's same cell is mostly another group
  CHECK(shard_group_of(std::size_t{3}, 99, 0) == 0);
}

TEST_CASE("id_in_shard_group draws the next ids until one falls in the group") {
  std::uint64_t next = 1000;
  auto draw = [&] { return next++; };
  for (int g = 0; g < 12; ++g) {
    const auto before = next;
    const auto id = id_in_shard_group(g, 12, draw);
    CHECK(shard_group_of(id, 12) == g);
    CHECK(id >= before);
    CHECK(id == next - 1);  // no id past the one returned was drawn
    for (auto skipped = before; skipped < id; ++skipped) CHECK(shard_group_of(skipped, 12) != g);
  }
  // Not clustered, or a group out of range: the first id, unchanged.
  for (const auto& [group, count] : {std::pair{0, 0}, std::pair{12, 12}, std::pair{-1, 12}}) {
    const auto first = next;
    CHECK(id_in_shard_group(group, count, draw) == first);
    CHECK(next == first + 1);
  }
}
