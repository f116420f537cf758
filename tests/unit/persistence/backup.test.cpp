// Backups: Checkpoint and BackupEngine copies restore into a new directory and
// read back everything committed before the copy, and nothing after it.
#include <doctest/doctest.h>

#include "rideshard/persistence/store.hpp"
#include "store_support.hpp"
#include "temp_dir.hpp"

using namespace rideshard;
using namespace rideshard::persistence;
using rideshard::test::open_store;

namespace {

void commit_n(store& s, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t n = from; n <= to; ++n) {
    write_batch b;
    b.put_entity(entity_kind::trip, n, n, {std::uint8_t(n)});
    b.append_journal(trip_id{n}, 1, {std::uint8_t(n)});
    b.add_event({"backup.topic", std::to_string(n), "{}", {}});
    REQUIRE(s.commit(b).ok());
  }
}

void check_holds(const std::string& path, std::uint64_t count) {
  auto s = open_store(path);
  auto trips = s->load_entities(entity_kind::trip);
  REQUIRE(trips.ok());
  REQUIRE(trips->size() == count);
  for (std::uint64_t n = 1; n <= count; ++n) {
    CHECK(trips->at(n - 1).value == std::vector<std::uint8_t>{std::uint8_t(n)});
    CHECK(s->journal_after(trip_id{n}, 0)->size() == 1);
  }
  CHECK(s->read_outbox(0, 1000)->size() == count);
  CHECK(s->next_outbox_sequence() == count + 1);
}

}  // namespace

TEST_CASE("checkpoint, restore into a new directory, read back") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_n(*s, 1, 50);
  REQUIRE(s->checkpoint(dir.sub("cp")).ok());
  commit_n(*s, 51, 60);  // after the checkpoint: not in it
  CHECK(s->checkpoint(dir.sub("cp")).code() == errc::storage_error);  // exists already
  REQUIRE(store::restore_checkpoint(dir.sub("cp"), dir.sub("restored")).ok());
  CHECK(store::restore_checkpoint(dir.sub("cp"), dir.sub("restored")).code() ==
        errc::invalid_argument);
  CHECK(store::restore_checkpoint(dir.sub("nothing"), dir.sub("x")).code() ==
        errc::invalid_argument);
  check_holds(dir.sub("restored"), 50);
  s.reset();
  check_holds(dir.sub("db"), 60);
}

TEST_CASE("incremental backups, restore the latest") {
  test::temp_dir dir;
  auto s = open_store(dir.sub("db"));
  commit_n(*s, 1, 20);
  REQUIRE(s->backup(dir.sub("backups")).ok());
  commit_n(*s, 21, 30);
  REQUIRE(s->backup(dir.sub("backups")).ok());
  commit_n(*s, 31, 35);
  REQUIRE(store::restore_backup(dir.sub("backups"), dir.sub("restored")).ok());
  check_holds(dir.sub("restored"), 30);
  CHECK(store::restore_backup(dir.sub("no-backups"), dir.sub("r2")).code() == errc::storage_error);
}
