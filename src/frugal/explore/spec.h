// A sweep spec: the models, transform pipelines, backends, precisions, formats, threads,
// batch sizes, scenarios and pipeline stages/devices/partition methods to measure, read from YAML
// (docs/sweep.md). The grid is the product of the axes, narrowed by `exclude`, widened by
// `include`; an entry of the models/transforms/backends lists may override the other axes' lists
// and the settings for the points under it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace frugal::explore {

// Knobs of one point that are not axes of the grid (they do not enter its key).
struct Settings {
  std::string power;          // bench --power; empty: bench's default
  double duration_s = 0;      // bench --duration; 0: bench's default
  int64_t min_queries = 0;    // bench --min-queries; 0: bench's default
  double timeout_s = 600;     // the child is killed (SIGKILL) after this
  int64_t memory_mib = 8192;  // RLIMIT_AS of the child; 0: unlimited
  std::string calibration;    // --calibration for int8 points; empty: random:16 (speed only)
  std::vector<std::string> bench_args;  // passed to bench as they are
  std::vector<std::string> eval_args;   // passed to eval as they are
};

struct ModelEntry {
  std::string label;  // how the grid and the report name it
  std::string zoo;    // a zoo name, or
  std::string file;   // an ONNX file (absolute, or relative to the spec's folder)
  std::string data;   // eval --data spec; empty: no accuracy
  int64_t limit = 0;  // eval --limit; 0: the whole set
};

// A transform is a chain of child commands, each mapping a model to a model:
// `frugal STEP... IN -o OUT` (or with {in} / {out} placeholders in STEP).
struct TransformEntry {
  std::string label;               // "none" for the model as it is
  std::vector<std::string> steps;  // empty for none
};

// A training point (`train:` entries): `frugal train` on the model and its data set with
// this schedule and the point's number formats (Point::format, a train --format policy),
// instead of bench and eval. Numbers are kept as written so that keys stay stable.
struct TrainSettings {
  std::string accumulator = "fp32";  // the ACC axis as written (fp32: the sgemm path)
  std::string rounding = "nearest";  // the rounding axis as written
  std::string rounding_spec;         // train --rounding (default=nearest, ...)
  int64_t epochs = 1;
  std::string optimizer;                   // empty: train's default (sgd)
  std::string lr, momentum, weight_decay;  // empty: train's defaults
  int64_t seed = 0;
  std::vector<std::string> args;  // passed to train as they are
  // "e1 n3200 sgd lr=0.05 s0": the schedule part of the key (batch and threads are axes).
  std::string schedule(int64_t limit) const;
};

struct Point {
  ModelEntry model;
  TransformEntry transform;
  std::string backend;    // --backend (a preference list such as "cpu,ref")
  std::string precision;  // --precision
  std::string format;     // --format (emu backend); empty: none
  int64_t threads = 1;
  int64_t batch = 1;
  std::string scenario;  // bench --scenario
  // A pipeline point (`frugal pipeline` instead of bench) when `devices` is set: the
  // model cut into `stages` segments by the `partition` method over the devices preset
  // or file. Its key grows by these three only then, so older keys stay as they were.
  int64_t stages = 1;
  std::string devices;
  std::string partition;
  Settings settings;
  // Set for a training point: model.data is its data set, model.limit its sample limit,
  // precision the format label as written (bf16), format the resolved policy, scenario
  // "train", backend "train".
  std::optional<TrainSettings> train;

  bool pipelined() const { return !devices.empty(); }
  // Identifies the configuration (axes only): resume, shards and merge go by it.
  std::string key() const;
  nlohmann::json to_json() const;
};

struct SweepSpec {
  std::string name;
  std::string origin;         // file name for messages
  std::vector<Point> points;  // the grid, in a stable order, without duplicates
};

// Parses YAML text. `origin` names the file in messages ("FILE:LINE:COL: reason"); `base_dir`
// resolves relative model paths. Throws UserError on an unknown key, a type error, an
// unknown name in include/exclude, or an empty grid.
SweepSpec parse_sweep_spec(const std::string& yaml_text, const std::string& origin,
                           const std::string& base_dir);
SweepSpec load_sweep_spec(const std::string& path);

// The deterministic I-th of N slices (0-based): points whose key hash is I modulo N.
std::vector<Point> shard_points(const std::vector<Point>& points, int index, int count);
// "I/N" (1-based I, as on the command line) -> {I-1, N}; UserError naming --shard.
std::pair<int, int> parse_shard(const std::string& text);

}  // namespace frugal::explore
