// frugal bench, frugal eval and the compress pipeline's context as library calls that
// return what the CLI prints with --json: the Record (docs/record.md). `frugal bench`,
// `frugal eval`, the Python module and the sweep's child processes (which run those
// commands) all build their Records here, so a Record is assembled in one place.
#pragma once

#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/compress/pipeline.h"
#include "frugal/measure/compress_data.h"
#include "frugal/measure/engine.h"
#include "frugal/measure/eval.h"
#include "frugal/measure/power_select.h"
#include "frugal/measure/record.h"
#include "frugal/measure/session_bench.h"
#include "frugal/train/data/dataset.h"

namespace frugal::measure {

// The model a workflow measures: its graph (null: loaded from the file `origin`, the load
// counted in the bench's init time), its name in the Record, and the SHA-256 of its ONNX
// bytes (empty: the digest of the file `origin`).
struct ModelSource {
  std::shared_ptr<const ir::Graph> graph;
  std::string origin;
  std::string digest;
};

// The Record's `what` for a session built from `engine`: model, digest, backends,
// precision, sparse, formats, threads, and the graph passes that changed the model
// ("pass:NAME") in transforms.
RecordWhat record_what(const ModelSource& model, const EngineOptions& engine,
                       const runtime::SessionOptions& options, const runtime::Session& session);

// `frugal bench`'s options beyond the engine's (the CLI flag in each comment).
struct BenchSettings {
  std::string scenario = "single-stream";  // --scenario
  double duration_s = 5.0;                 // --duration
  int64_t min_queries = 64;                // --min-queries
  double max_duration_s = 150.0;           // --max-duration
  double warmup_s = 0.5;                   // --warmup
  double qps = 0;                          // --qps
  double latency_bound_ms = 0;             // --latency-bound
  bool find_qps = false;                   // --find-qps
  std::string pin;                         // --pin: CPU list ("": none)
  bool profile = false;                    // --profile
  std::string power = "none";              // --power (power_select.h)
  std::string power_map;                   // --power-map
  std::string power_calibration;           // --power-calibration
  bool power_markers = false;              // --power-markers
  double idle_s = 2.0;                     // --idle-seconds
};

// A bench in stages, so that a caller can say what will run before it runs: the
// constructor checks the settings (UserError naming the option), pins the process, chooses
// the power meter and compiles the session; run() measures; record() is the Record.
class BenchRun {
 public:
  BenchRun(ModelSource model, const EngineOptions& engine, const BenchSettings& settings);

  runtime::Session& session() { return *session_; }
  const runtime::Session& session() const { return *session_; }
  const runtime::SessionOptions& options() const { return options_; }
  const BenchOptions& bench_options() const { return bench_; }
  const PowerChoice& power() const { return power_; }
  const std::string& pinning() const { return pinning_; }  // "none" or the CPU list
  const SystemInfo& system() const { return system_; }
  // Seconds to load (when loaded here) and compile the model.
  double init_s() const { return init_s_; }

  // Runs the scenario on `inputs` (make_inputs); `progress` as BenchOptions::progress.
  SessionBenchResult run(const std::vector<Tensor>& inputs,
                         std::function<void(const BenchProgress&)> progress = {});
  nlohmann::json record(const SessionBenchResult& result) const;

 private:
  ModelSource model_;
  EngineOptions engine_;
  BenchSettings settings_;
  BenchOptions bench_;
  PowerChoice power_;
  std::string pinning_ = "none";
  std::time_t started_ = 0;
  SystemInfo system_;
  runtime::SessionOptions options_;
  std::unique_ptr<runtime::Session> session_;
  double init_s_ = 0;
};

// `frugal eval`'s options beyond the engine's.
struct EvalSettings {
  std::string data;                 // --data: the data-set spec
  train::DataOptions data_options;  // preprocessing; the sample shape and classes come from
                                    // the model
  int64_t limit = 0;                // --limit (0: all)
  std::string reference;            // --reference: a model file ("": none)
  std::function<void(int64_t, int64_t)> progress;  // EvalOptions::progress
};

struct EvalRun {
  EvalResult result;
  runtime::SessionOptions options;
  nlohmann::json record;
};

// Accuracy over a labelled data set, and agreement with a reference model that runs in
// float32 on the same backends and batch.
EvalRun run_eval(const ModelSource& model, const EngineOptions& engine,
                 const EvalSettings& settings);

// The context `frugal compress` and frugal.compress run the compress pipeline in: its
// float32 runs use the engine's options, except that a pipeline that quantizes calibrates
// and scores on the cpu backend (where its int8 layers run); scorer and calibration from
// `data` (compress_data.h).
compress::PipelineContext compress_context(const ir::Graph& model, const std::string& origin,
                                           const EngineOptions& engine, bool quantizes,
                                           const CompressData& data);

// A sweep point's Record from its children's: the eval Record's accuracy and data joined
// to the bench Record, and the transform steps that made the model put before the graph
// passes the bench's session ran in what.transforms.
void add_accuracy(nlohmann::json& bench_record, const nlohmann::json& eval_record);
void add_transform_steps(nlohmann::json& record, const std::vector<std::string>& steps);

}  // namespace frugal::measure
