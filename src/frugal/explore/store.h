// The results store: one SQLite file per sweep (WAL, one transaction per point), holding
// every point's configuration and status and the Record of each measured one. A file that
// is not such a store, or one written by a newer frugal, is refused and left untouched.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

struct sqlite3;

namespace frugal::explore {

inline constexpr int kStoreSchemaVersion = 1;

// A point's outcome: ok, or failed with where and why.
struct PointRow {
  std::string key;
  nlohmann::json spec;  // Point::to_json()
  std::string status;   // "ok" | "failed"
  std::string stage;    // failing stage: model, transform, bench, eval, store ("" when ok)
  int exit_code = 0;    // of the failing child; -1 when it was killed by a signal
  int signal = 0;       // the signal that ended it (9 after a time-out)
  bool timed_out = false;
  std::string error;              // one line: why it failed
  std::string stderr_tail;        // last few KiB of the failing child's stderr
  std::string started, finished;  // UTC ISO-8601
  double wall_s = 0;
};

// Values the report and the Pareto analysis use, taken from the Record when it is stored
// (null where the Record has no such figure).
struct RecordRow {
  std::string key;
  nlohmann::json record;
  nlohmann::json spec;
  std::optional<double> top1, latency_p50_ms, latency_p90_ms, samples_per_s, joules_per_inference,
      model_bytes, peak_rss;
  std::string energy_kind, energy_source;
  // Pipelines (Record what.stages / what.devices / what.partition; absent in older Records):
  // stages 1 and empty names for everything else. `estimate`: the latency and throughput
  // were predicted (frugal pipeline --simulate), not measured.
  int64_t stages = 1;
  std::string devices, partition;
  bool estimate = false;
};

// Extracts the report's columns from a Record (docs/record.md).
RecordRow summarize_record(const std::string& key, const nlohmann::json& record,
                           const nlohmann::json& spec);

class Store {
 public:
  enum class Mode { read_only, read_write };
  // read_write creates the file when absent (atomically: it appears whole or not at all)
  // and holds an exclusive run lock until destroyed: a second writer is refused with one
  // line naming the owner's pid and host. Throws UserError naming the path when the file
  // is not a frugal store (an empty file included), is corrupt, has a newer schema, or
  // cannot be written; a refused file is left as it was (no -wal/-shm beside it).
  static Store open(const std::string& path, Mode mode);
  Store(Store&& other) noexcept;
  Store& operator=(Store&&) = delete;
  ~Store();

  // Records a point's outcome and (when ok) its Record in one transaction: after it
  // returns, the row survives a SIGKILL of this process.
  void put(const PointRow& point, const std::optional<nlohmann::json>& record);

  std::set<std::string> ok_keys() const;
  std::vector<PointRow> points() const;
  std::vector<RecordRow> records() const;  // joined with their points' specs, by key
  std::optional<nlohmann::json> record(const std::string& key) const;
  const std::string& path() const { return path_; }

 private:
  Store(sqlite3* db, std::string path, int lock_fd)
      : db_(db), path_(std::move(path)), lock_fd_(lock_fd) {}
  sqlite3* db_ = nullptr;
  std::string path_;
  int lock_fd_ = -1;  // read_write: the descriptor holding the exclusive run lock
};

// Copies every point of `inputs` into `output` (created, or an existing store); for a key
// present more than once, an ok outcome wins over a failed one, else the later input wins.
// Returns the number of points written.
size_t merge_stores(const std::vector<std::string>& inputs, const std::string& output);

}  // namespace frugal::explore
