#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "explore/explore_testing.h"
#include "frugal/core/error.h"
#include "frugal/explore/store.h"

using frugal::UserError;
using namespace frugal::explore;
using namespace frugal::explore::testing;

namespace {

nlohmann::json record_with(double top1, double p50) {
  return {{"schema", "frugal.record/1"},
          {"what", {{"model", "m.onnx"}}},
          {"results",
           {{"latency", {{"p50_ms", p50}, {"p90_ms", p50 * 1.5}, {"duration_s", 2.0}}},
            {"throughput", {{"samples_per_s", 1000.0 / p50}}},
            {"memory", {{"peak_rss", 1e6}, {"weight_bytes", 4000}}},
            {"energy", {{"kind", "estimated"}, {"source", "model"}, {"joules", 3.0}}},
            {"accuracy", {{"top1", top1}}}}},
          {"where", {{"cpu_model", "test"}}}};
}

PointRow row(const std::string& key, const std::string& status) {
  PointRow p;
  p.key = key;
  p.spec = {
      {"key", key}, {"model", {{"label", "m"}}}, {"backend", "cpu"}, {"threads", 2}, {"batch", 1}};
  p.status = status;
  if (status != "ok") p.stage = "bench", p.error = "exit 1: boom", p.exit_code = 1;
  return p;
}

std::string open_error(const std::string& path, Store::Mode mode) {
  try {
    Store::open(path, mode);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(opened)";
}

}  // namespace

TEST(Store, RoundTripAndExtractedColumns) {
  std::string dir = scratch_dir("store_rt");
  std::string db = dir + "/r.sqlite";
  {
    Store s = Store::open(db, Store::Mode::read_write);
    s.put(row("a", "ok"), record_with(0.9, 2.0));
    s.put(row("b", "failed"), std::nullopt);
  }
  Store s = Store::open(db, Store::Mode::read_only);
  EXPECT_EQ(s.ok_keys(), std::set<std::string>{"a"});
  auto pts = s.points();
  ASSERT_EQ(pts.size(), 2u);
  EXPECT_EQ(pts[1].error, "exit 1: boom");
  EXPECT_EQ(pts[1].stage, "bench");
  auto recs = s.records();
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_DOUBLE_EQ(*recs[0].top1, 0.9);
  EXPECT_DOUBLE_EQ(*recs[0].latency_p50_ms, 2.0);
  EXPECT_DOUBLE_EQ(*recs[0].model_bytes, 4000);
  // No joules_per_inference in this Record: 3 J over 500 samples/s x 2 s = 1000 samples.
  EXPECT_DOUBLE_EQ(*recs[0].joules_per_inference, 0.003);
  EXPECT_EQ(recs[0].energy_kind, "estimated");
  // The SQL columns are filled for people who query the file directly.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(raw, "SELECT threads, top1, backend FROM records", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 2);
  EXPECT_DOUBLE_EQ(sqlite3_column_double(st, 1), 0.9);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 2)), "cpu");
  sqlite3_finalize(st);
  sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(raw);
  std::filesystem::remove_all(dir);
}

TEST(Store, AFailedRerunNeverReplacesAMeasuredPoint) {
  std::string dir = scratch_dir("store_keep");
  Store s = Store::open(dir + "/r.sqlite", Store::Mode::read_write);
  s.put(row("a", "ok"), record_with(0.9, 2.0));
  s.put(row("a", "failed"), std::nullopt);
  EXPECT_EQ(s.ok_keys().size(), 1u);
  EXPECT_TRUE(s.record("a").has_value());
  s.put(row("b", "failed"), std::nullopt);
  s.put(row("b", "ok"), record_with(0.5, 1.0));  // a later success replaces a failure
  EXPECT_EQ(s.ok_keys(), (std::set<std::string>{"a", "b"}));
  std::filesystem::remove_all(dir);
}

TEST(Store, RefusesCorruptAndForeignFilesWithoutTouchingThem) {
  std::string dir = scratch_dir("store_bad");
  std::string text = dir + "/notes.sqlite";
  write_file(text, "these are my notes, not a database\n");
  EXPECT_EQ(open_error(text, Store::Mode::read_write),
            text +
                ": not a frugal results store (not an SQLite database, or corrupt); refused, left "
                "as it is");
  EXPECT_EQ(read_file(text), "these are my notes, not a database\n");

  // A real store with its pages overwritten in the middle.
  std::string db = dir + "/c.sqlite";
  {
    Store s = Store::open(db, Store::Mode::read_write);
    for (int i = 0; i < 50; ++i)
      s.put(row("k" + std::to_string(i), "ok"), record_with(0.5, 1.0 + i));
  }
  // Fold the WAL into the main file so that the damage below is what SQLite reads.
  sqlite3* raw = nullptr;
  sqlite3_open(db.c_str(), &raw);
  sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE", nullptr, nullptr,
               nullptr);
  sqlite3_close(raw);
  std::string bytes = read_file(db);
  ASSERT_GT(bytes.size(), 8192u);
  for (size_t i = 4096 + 100; i < bytes.size(); i += 7) bytes[i] = static_cast<char>(0xA5);
  write_file(db, bytes);
  std::string err = open_error(db, Store::Mode::read_write);
  EXPECT_NE(err.find(db + ": corrupt"), std::string::npos) << err;
  EXPECT_NE(err.find("refused, left as it is"), std::string::npos) << err;
  EXPECT_EQ(read_file(db), bytes);
  std::filesystem::remove_all(dir);
}

TEST(Store, RefusesANewerSchemaWithoutTouchingIt) {
  std::string dir = scratch_dir("store_newer");
  std::string db = dir + "/n.sqlite";
  { Store::open(db, Store::Mode::read_write); }
  sqlite3* raw = nullptr;
  sqlite3_open(db.c_str(), &raw);
  sqlite3_exec(raw, "UPDATE schema_version SET version=99; PRAGMA wal_checkpoint(TRUNCATE)",
               nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  std::string before = read_file(db);
  EXPECT_EQ(open_error(db, Store::Mode::read_write),
            db + ": written by a newer frugal (store schema 99, this frugal reads up to 1); "
                 "refused, left as it is");
  EXPECT_EQ(open_error(db, Store::Mode::read_only), open_error(db, Store::Mode::read_write));
  EXPECT_EQ(read_file(db), before);
  std::filesystem::remove_all(dir);
}

TEST(Store, ClearMessagesForPathsItCannotUse) {
  std::string dir = scratch_dir("store_paths");
  EXPECT_EQ(open_error(dir + "/none.sqlite", Store::Mode::read_only),
            dir + "/none.sqlite: no such file");
  EXPECT_EQ(open_error(dir + "/no/such/x.sqlite", Store::Mode::read_write),
            dir + "/no/such/x.sqlite: cannot create: no such directory " + dir + "/no/such");
  EXPECT_EQ(open_error(dir, Store::Mode::read_write),
            dir + ": is a directory, not a results store");
  // A read-only directory (run as nobody when we are root, who may write anywhere).
  std::string ro = dir + "/ro";
  std::filesystem::create_directories(ro);
  chmod(dir.c_str(), 0755);
  chmod(ro.c_str(), 0555);
  pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    std::string e = open_error(ro + "/x.sqlite", Store::Mode::read_write);
    _exit(e == ro + "/x.sqlite: cannot create: Permission denied (read-only directory or file "
                    "system?)"
              ? 0
              : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  EXPECT_FALSE(std::filesystem::exists(ro + "/x.sqlite"));
  std::filesystem::remove_all(dir);
}

TEST(Store, MergeKeepsOkOverFailedAndLaterOverEarlier) {
  std::string dir = scratch_dir("store_merge");
  {
    Store a = Store::open(dir + "/a.sqlite", Store::Mode::read_write);
    a.put(row("x", "ok"), record_with(0.9, 1.0));
    a.put(row("y", "failed"), std::nullopt);
    a.put(row("z", "ok"), record_with(0.1, 1.0));
    Store b = Store::open(dir + "/b.sqlite", Store::Mode::read_write);
    b.put(row("x", "failed"), std::nullopt);
    b.put(row("y", "ok"), record_with(0.8, 2.0));
    b.put(row("z", "ok"), record_with(0.2, 1.0));
    b.put(row("w", "ok"), record_with(0.7, 3.0));
  }
  EXPECT_EQ(merge_stores({dir + "/a.sqlite", dir + "/b.sqlite"}, dir + "/c.sqlite"), 7u);
  Store c = Store::open(dir + "/c.sqlite", Store::Mode::read_only);
  EXPECT_EQ(c.ok_keys(), (std::set<std::string>{"w", "x", "y", "z"}));
  EXPECT_DOUBLE_EQ(c.record("x")->at("results").at("accuracy").at("top1").get<double>(), 0.9);
  EXPECT_DOUBLE_EQ(c.record("z")->at("results").at("accuracy").at("top1").get<double>(), 0.2);
  EXPECT_THROW(merge_stores({dir + "/a.sqlite"}, dir + "/a.sqlite"), UserError);
  std::filesystem::remove_all(dir);
}

TEST(Store, ModelBytesAreTheEncodedSizeWhereTheRecordHasIt) {
  std::string db = scratch_dir("store_encoded") + "/r.sqlite";
  {
    Store s = Store::open(db, Store::Mode::read_write);
    nlohmann::json with = record_with(0.9, 2.0);
    with["results"]["memory"]["encoded_bytes"] = 150;
    s.put(row("new", "ok"), with);
    s.put(row("old", "ok"), record_with(0.8, 2.0));  // a Record from before encoded_bytes
  }
  std::map<std::string, double> bytes;
  for (const auto& r : Store::open(db, Store::Mode::read_only).records())
    bytes[r.key] = *r.model_bytes;
  EXPECT_DOUBLE_EQ(bytes["new"], 150);
  EXPECT_DOUBLE_EQ(bytes["old"], 4000);
}

// Issue 24: two sweeps on one store measured every point twice, contaminating each other.
TEST(Store, ASecondWriterIsRefusedNamingTheOwner) {
  std::string dir = scratch_dir("store_lock");
  std::string db = dir + "/r.sqlite";
  {
    Store first = Store::open(db, Store::Mode::read_write);
    const std::string err = open_error(db, Store::Mode::read_write);
    EXPECT_NE(err.find(db + ": in use by another frugal (pid " + std::to_string(::getpid())),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find('\n'), std::string::npos);
    // Readers (frugal report) are never blocked.
    EXPECT_EQ(open_error(db, Store::Mode::read_only), "(opened)");
    first.put(row("a", "ok"), record_with(0.9, 2.0));
  }
  // Released with the first writer (also when a process dies: the kernel drops flocks).
  Store again = Store::open(db, Store::Mode::read_write);
  EXPECT_EQ(again.ok_keys().size(), 1u);
  std::filesystem::remove_all(dir);
}

TEST(Store, CreationIsAtomicAndAnEmptyFileIsNotTakenOver) {
  std::string dir = scratch_dir("store_empty");
  std::string empty = dir + "/zero.sqlite";
  write_file(empty, "");
  EXPECT_EQ(open_error(empty, Store::Mode::read_write),
            empty + ": empty file, not a frugal results store; refused, left as it is");
  EXPECT_EQ(read_file(empty), "");
  // A new store leaves no temporary beside it.
  { Store::open(dir + "/new.sqlite", Store::Mode::read_write); }
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".creating-"), std::string::npos) << e.path();
  std::filesystem::remove_all(dir);
}

TEST(Store, RefusingLeavesNoWalOrShmBehind) {
  std::string dir = scratch_dir("store_trace");
  std::string db = dir + "/w.sqlite";
  {
    Store s = Store::open(db, Store::Mode::read_write);
    s.put(row("a", "ok"), record_with(0.9, 2.0));
  }
  sqlite3* raw = nullptr;
  sqlite3_open(db.c_str(), &raw);
  sqlite3_exec(raw, "PRAGMA wal_checkpoint(TRUNCATE); DROP TABLE schema_version", nullptr, nullptr,
               nullptr);
  sqlite3_close(raw);
  std::filesystem::remove(db + "-wal");
  std::filesystem::remove(db + "-shm");
  const std::string err = open_error(db, Store::Mode::read_write);
  EXPECT_NE(err.find("not a frugal results store"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(db + "-wal"));
  EXPECT_FALSE(std::filesystem::exists(db + "-shm"));
  std::filesystem::remove_all(dir);
}
