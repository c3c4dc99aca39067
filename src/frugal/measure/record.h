// Record (schema frugal.record/1, docs/record.md): one measured configuration as JSON:
// what was measured, the results, and where. `frugal bench --json` and `frugal eval
// --json` print one; the sweep store keeps the same fields.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/measure/eval.h"
#include "frugal/measure/session_bench.h"
#include "frugal/measure/sysinfo.h"

namespace frugal::measure {

inline constexpr const char* kRecordSchema = "frugal.record/1";

struct RecordWhat {
  std::string model;         // path or zoo name as given
  std::string model_digest;  // SHA-256 of the model file's bytes (sha256.h)
  std::vector<std::string> transforms;
  std::vector<std::string> backends;  // preference order
  std::string precision = "fp32";
  std::string sparse = "off";  // --sparse of the cpu backend (off, auto, force[:FORMAT])
  nlohmann::json formats = nlohmann::json::object();  // {"W": ..., "A": ...}
  int threads = 1;
  std::string pinning = "none";  // or the CPU list
  int64_t batch = 1;
  std::string scenario;  // bench scenario, "eval" for eval
  int stages = 1;
  std::string devices;    // pipelines: the devices preset or file; empty: none (null)
  std::string partition;  // pipelines: how the model was cut (params, optimal, manifest...)
  std::string data;       // eval --data spec
};
nlohmann::json to_json(const RecordWhat& what);

// Library versions frugal was built against / runs with: oneDNN (dnnl_version() at run
// time), protobuf and ONNX (their headers).
nlohmann::json library_versions();
// UTC "2026-11-22T02:23:58Z".
std::string utc_iso8601(std::time_t t);
// The machine, frugal's version and revision, libraries and the start time.
nlohmann::json record_where(const SystemInfo& system, std::time_t started);

// A latency summary (seconds) as results.latency's fields in milliseconds (count, min_ms,
// ..., p999_ms).
nlohmann::json latency_json(const Summary& s);
nlohmann::json bench_results_json(const SessionBenchResult& r);
// Adds results.memory.encoded_bytes (and encoded_without_huffman_bytes): the model's weights
// as compress would store them (compress/weight_encoding.h: sparse indices, codebooks,
// Huffman streams, int8/int4 values), an additive field that older Records lack.
void add_encoded_size(nlohmann::json& results, const ir::Graph& model);
nlohmann::json eval_results_json(const EvalResult& r);

// A session's fallbacks (runtime::Session::fallbacks: steps its first backend declined),
// as the records' additive "fallbacks" field: [{node, op, backend, reason, macs,
// macs_share}], most MACs first.
nlohmann::json fallbacks_json(const std::vector<runtime::Fallback>& fallbacks);

nlohmann::json make_record(const RecordWhat& what, nlohmann::json results, nlohmann::json where);

// Checks a Record's required fields and types (schema, what.model, what.model_digest,
// results, where.cpu_model, ...): the list of problems, empty when valid.
std::vector<std::string> record_problems(const nlohmann::json& record);

}  // namespace frugal::measure
